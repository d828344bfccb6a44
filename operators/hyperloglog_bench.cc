// Microbenchmarks for the HyperLogLog sketch: adding values (the per-event
// cost in detectors that count distinct accounts) and estimating.

#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "operators/hyperloglog.h"

namespace vigia {
namespace {

std::vector<std::string> Accounts(int n) {
  std::vector<std::string> v;
  v.reserve(n);
  for (int i = 0; i < n; ++i) v.push_back("acct-" + std::to_string(i * 7919));
  return v;
}

void BM_HyperLogLogAdd(benchmark::State& state) {
  const std::vector<std::string> accounts = Accounts(4096);
  HyperLogLog hll;
  size_t i = 0;
  for (auto _ : state) {
    hll.Add(accounts[i++ & 4095]);
  }
  benchmark::DoNotOptimize(hll.Estimate());
}
BENCHMARK(BM_HyperLogLogAdd);

void BM_HyperLogLogEstimate(benchmark::State& state) {
  const std::vector<std::string> accounts = Accounts(100000);
  HyperLogLog hll;
  for (const std::string& a : accounts) hll.Add(a);
  for (auto _ : state) benchmark::DoNotOptimize(hll.Estimate());
}
BENCHMARK(BM_HyperLogLogEstimate);

}  // namespace
}  // namespace vigia
