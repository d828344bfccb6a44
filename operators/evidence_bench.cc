// Microbenchmarks for the evidence sketches: Space-Saving top-k updates
// (every counted event updates three of them) with a realistic skew, and
// the reach sketch every counted post updates (a hash of its account and,
// while the account's hash is among the 65 smallest, an insertion).

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "operators/evidence.h"

namespace vigia {
namespace {

// Zipf-like draws over `distinct` values, fixed seed.
std::vector<std::string> Skewed(int n, int distinct) {
  std::mt19937_64 rng(20260509);
  std::vector<double> weights;
  for (int k = 1; k <= distinct; ++k) weights.push_back(1.0 / (k + 5));
  std::discrete_distribution<int> pick(weights.begin(), weights.end());
  std::vector<std::string> v;
  v.reserve(n);
  for (int i = 0; i < n; ++i) v.push_back("acct-" + std::to_string(pick(rng)));
  return v;
}

void BM_TopKAdd(benchmark::State& state) {
  const std::vector<std::string> values =
      Skewed(1 << 14, static_cast<int>(state.range(0)));
  TopK top(20);  // 4 * top_n, the detectors' default
  size_t i = 0;
  for (auto _ : state) top.Add(values[i++ & ((1 << 14) - 1)]);
  benchmark::DoNotOptimize(top.min_count());
}
BENCHMARK(BM_TopKAdd)->Arg(10)->Arg(1000)->Arg(100000);

void BM_TopKTop(benchmark::State& state) {
  const std::vector<std::string> values = Skewed(1 << 14, 1000);
  TopK top(20);
  for (const std::string& v : values) top.Add(v);
  for (auto _ : state) benchmark::DoNotOptimize(top.Top(5));
}
BENCHMARK(BM_TopKTop);

// One post into the reach sketch of a bucket that sees `range(0)` distinct
// accounts (a fresh sketch every 4,096 posts, as buckets are per hop).
void BM_ReachSketchAdd(benchmark::State& state) {
  const std::vector<std::string> accounts =
      Skewed(1 << 14, static_cast<int>(state.range(0)));
  std::vector<Event> events(accounts.size());
  for (size_t i = 0; i < accounts.size(); ++i) {
    events[i].kind = FeedKind::kPost;
    events[i].account_id = accounts[i];
    events[i].followers = static_cast<int64_t>(i % 5000);
  }
  ReachSketch sketch;
  size_t i = 0;
  for (auto _ : state) {
    if ((i & 4095) == 0) sketch = ReachSketch();
    sketch.Add(events[i++ & ((1 << 14) - 1)]);
  }
  benchmark::ClobberMemory();
}
BENCHMARK(BM_ReachSketchAdd)->Arg(10)->Arg(1000)->Arg(100000);

}  // namespace
}  // namespace vigia
