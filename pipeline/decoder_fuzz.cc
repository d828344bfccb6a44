// Fuzz target for the feed decoder: any bytes must decode or be rejected
// with a reason, without crashing, hanging or breaking the Event contract.
// Built as a libFuzzer binary with VIGIA_LIBFUZZER, and otherwise linked
// with tests/fuzz_replay_main.cc to replay the seed corpus in ctest.
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "pipeline/core/country.h"
#include "pipeline/decoder.h"

namespace {

using vigia::Decoder;
using vigia::Event;
using vigia::RejectReason;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

bool IsValidUtf8(std::string_view s) {
  return simdjson::validate_utf8(s.data(), s.size());
}

bool AllValidUtf8(std::span<const std::string_view> items) {
  for (std::string_view s : items) {
    if (!IsValidUtf8(s)) return false;
  }
  return true;
}

// What must hold for every accepted record.
void CheckEvent(const Event& e) {
  Check(!e.id.empty() && !e.platform.empty());
  Check(e.target.known() && vigia::ParseCountry(e.target.str()) == e.target);
  Check(!e.account_country.known() ||
        vigia::ParseCountry(e.account_country.str()) == e.account_country);
  Check(!e.payer_country.known() ||
        vigia::ParseCountry(e.payer_country.str()) == e.payer_country);
  for (std::string_view s :
       {e.id, e.platform, e.account_id, e.lang, e.text, e.repost_of, e.page_id,
        e.payer_name, e.disclaimer}) {
    Check(IsValidUtf8(s));
  }
  Check(AllValidUtf8(e.urls) && AllValidUtf8(e.hashtags) &&
        AllValidUtf8(e.languages));
  if (e.is_post()) {
    Check(!e.account_id.empty());
    Check(e.followers >= -1);
    Check(e.page_id.empty() && e.payer_name.empty() && e.languages.empty());
  } else {
    Check(!e.page_id.empty() && !e.payer_name.empty());
    Check(e.account_id.empty() && e.urls.empty() && e.hashtags.empty());
  }
  for (const vigia::Range& r : {e.spend, e.impressions}) {
    Check(r.known() ? (r.lower >= 0 && r.lower <= r.upper)
                    : (r.lower != r.lower && r.upper != r.upper));
  }
  Check(e.source.source == "fuzz");
}

void CheckDetail(const Decoder& decoder) {
  const std::string_view detail = decoder.detail();
  if (decoder.reason() == RejectReason::kNone) {
    Check(detail.empty());
    return;
  }
  Check(!detail.empty() && detail.size() <= 256);
  Check(detail.find('\n') == std::string_view::npos);
  Check(IsValidUtf8(detail));
  Check(vigia::RejectReasonName(decoder.reason()) != "unknown");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Decoder* const decoder = new Decoder(vigia::DecoderOptions{});
  static const vigia::SourceRef source{"fuzz", -1, 1};

  // Parse in place from a buffer padded exactly as the contract requires,
  // so that AddressSanitizer sees any read beyond the padding.
  const size_t capacity = size + Decoder::padding();
  std::unique_ptr<char[]> buffer(new char[capacity]);
  if (size > 0) std::memcpy(buffer.get(), data, size);
  std::memset(buffer.get() + size, 0, Decoder::padding());
  const std::string_view input(buffer.get(), size);

  const RejectReason reason = decoder->Decode(input, capacity, source);
  Check(reason == decoder->reason());
  CheckDetail(*decoder);
  std::string id;
  if (reason == RejectReason::kNone) {
    CheckEvent(decoder->event());
    id = std::string(decoder->event().id);
  }

  // The copying path must agree with the in-place one.
  const std::string detail(decoder->detail());
  Check(decoder->DecodeUnpadded(input, source) == reason);
  Check(decoder->detail() == detail);
  if (reason == RejectReason::kNone) Check(decoder->event().id == id);
  return 0;
}
