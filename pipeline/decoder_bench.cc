// Microbenchmarks for the decoder: one post and one ad from the feed
// contract's examples, decoded in place (padded, as replay does) and from
// an unpadded buffer (as Kafka payloads are).

#include <string>

#include "benchmark/benchmark.h"
#include "pipeline/decoder.h"

namespace vigia {
namespace {

constexpr char kPost[] =
    R"({"id":"p-912001","platform":"x","created_at":"2026-11-01T12:00:00.250Z",)"
    R"("account":{"id":"ru_net_0007","created_at":"2026-10-30T08:00:00+02:00",)"
    R"("country":"RU","state_affiliated":true,"followers":1234},)"
    R"("target":"MD","lang":"ro","text":"Votați mâine pentru pace și )"
    R"(neutralitate, nu lăsați pe alții să decidă în locul vostru! )"
    R"(Diaspora decide viitorul Moldovei.",)"
    R"("urls":["https://news.example/politics/2026/11/01/vote-418233"],)"
    R"("hashtags":["alegeri","moldova"],"repost_of":"p-911870"})";

constexpr char kAd[] =
    R"({"id":"ad-9","platform":"meta","created_at":"2026-11-02T09:30:00Z",)"
    R"("page_id":"page-3","payer":{"name":"Acme Media SRL","country":"RU"},)"
    R"("target":"MD","currency":"EUR","spend":{"lower":100,"upper":499.5},)"
    R"("impressions":{"lower":1000,"upper":5000},"languages":["ro","ru"],)"
    R"("disclaimer":"Paid for by Acme Media SRL"})";

void Padded(benchmark::State& state, const char* json) {
  std::string buffer(json);
  const size_t size = buffer.size();
  buffer.append(Decoder::padding(), ' ');
  Decoder decoder{DecoderOptions{}};
  const SourceRef source{"bench", -1, 1};
  for (auto _ : state) {
    if (decoder.Decode(std::string_view(buffer.data(), size), buffer.size(),
                       source) != RejectReason::kNone) {
      state.SkipWithError("rejected");
      break;
    }
    benchmark::DoNotOptimize(decoder.event().created_at);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(size));
}

void BM_DecodePost(benchmark::State& state) { Padded(state, kPost); }
BENCHMARK(BM_DecodePost);

void BM_DecodeAd(benchmark::State& state) { Padded(state, kAd); }
BENCHMARK(BM_DecodeAd);

void BM_DecodePostUnpadded(benchmark::State& state) {
  const std::string payload(kPost);
  Decoder decoder{DecoderOptions{}};
  const SourceRef source{"vigia.posts", 0, 1};
  for (auto _ : state) {
    if (decoder.DecodeUnpadded(payload, source) != RejectReason::kNone) {
      state.SkipWithError("rejected");
      break;
    }
    benchmark::DoNotOptimize(decoder.event().created_at);
  }
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(payload.size()));
}
BENCHMARK(BM_DecodePostUnpadded);

}  // namespace
}  // namespace vigia
