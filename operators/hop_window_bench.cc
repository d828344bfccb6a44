// Microbenchmarks for the hop window: the per-event Add and the per-hop
// Sum/Advance every keyed detector does.

#include <cstdint>

#include "benchmark/benchmark.h"
#include "operators/hop_window.h"

namespace vigia {
namespace {

void BM_HopWindowAdd(benchmark::State& state) {
  HopWindow<> window(12, 0, 64);
  int64_t hop = 0;
  uint32_t n = 0;
  for (auto _ : state) {
    // A few events per hop, some landing one hop late.
    benchmark::DoNotOptimize(window.Add(hop - (n & 1)));
    if ((++n & 7) == 0) {
      benchmark::DoNotOptimize(window.Sum());
      window.Advance();
      ++hop;
    }
  }
}
BENCHMARK(BM_HopWindowAdd);

void BM_HopWindowSumAdvance(benchmark::State& state) {
  HopWindow<> window(static_cast<int>(state.range(0)), 0, 1024);
  for (auto _ : state) {
    window.Add(window.next_hop(), 3);
    benchmark::DoNotOptimize(window.Sum());
    window.Advance();
  }
}
BENCHMARK(BM_HopWindowSumAdvance)->Arg(12)->Arg(288);

}  // namespace
}  // namespace vigia
