// Microbenchmarks for the baseline scorer: the per-hop, per-key work every
// count detector does when a hop closes (Assess, then Learn).

#include "benchmark/benchmark.h"
#include "operators/scorer.h"

namespace vigia {
namespace {

void BM_AssessAndLearn(benchmark::State& state) {
  const absl::Duration hop = absl::Minutes(5);
  Scorer scorer(ScoringOptions{}, hop);
  BaselineState key;
  absl::Time end = absl::FromUnixSeconds(1778284800);
  double count = 40;
  for (auto _ : state) {
    const Assessment a = scorer.Assess(key, end, 12, count * 12);
    scorer.Learn(key, end, count, a);
    benchmark::DoNotOptimize(a);
    end += hop;
    count = count < 60 ? count + 1 : 30;  // a little movement
  }
}
BENCHMARK(BM_AssessAndLearn);

void BM_Judge(benchmark::State& state) {
  Scorer scorer(ScoringOptions{}, absl::Hours(1));
  double observed = 10;
  for (auto _ : state) {
    benchmark::DoNotOptimize(scorer.Judge(12.5, observed, 1.7, true));
    observed = observed < 90 ? observed + 1 : 10;
  }
}
BENCHMARK(BM_Judge);

}  // namespace
}  // namespace vigia
