// Microbenchmarks for coordinated_sharing's per-post text work: normalising
// a post's text (done for every post with text) and fingerprinting it.

#include <string>

#include "benchmark/benchmark.h"
#include "operators/coordinated_sharing.h"

namespace vigia {
namespace {

constexpr char kRomanian[] =
    "Votați mâine pentru PACE și neutralitate!!! Nu lăsați pe alții să "
    "decidă în locul vostru 🗳️ https://news.example/a/1 @prieten "
    "«Diaspora decide» viitorul Moldovei.";
constexpr char kAscii[] =
    "Breaking: turnout in the capital is up 12% since noon, officials say. "
    "Full story at https://news.example/a/2 #election";

void BM_NormalizePostText(benchmark::State& state, const char* text) {
  std::string out;
  const std::string_view input(text);
  for (auto _ : state) {
    NormalizePostTextTo(input, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(input.size()));
}
BENCHMARK_CAPTURE(BM_NormalizePostText, romanian, kRomanian);
BENCHMARK_CAPTURE(BM_NormalizePostText, ascii, kAscii);

}  // namespace
}  // namespace vigia
