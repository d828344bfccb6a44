// Decodes one feed record (a Kafka message or an NDJSON line) into an Event,
// or says exactly why it cannot. The contract is docs/feeds.md.
//
// A Decoder owns one long-lived simdjson On-Demand parser and reusable
// scratch buffers, so decoding allocates nothing per event in steady state.
// It is not thread-safe: use one per thread. The Event it returns views the
// decoder's buffers and the input, and is valid until the next Decode call.
//
// Example:
//   Decoder decoder(DecoderOptions{});
//   if (decoder.DecodeUnpadded(bytes, source) == RejectReason::kNone) {
//     Use(decoder.event());
//   } else {
//     DeadLetter(decoder.reason(), decoder.detail());
//   }
#ifndef VIGIA_PIPELINE_DECODER_H_
#define VIGIA_PIPELINE_DECODER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "pipeline/core/event.h"
#include "pipeline/core/types.h"

namespace vigia {

// Why a record was rejected. Names (RejectReasonName) appear in dead letters
// and as metric label values, so they are stable and few.
enum class RejectReason : uint8_t {
  kNone = 0,
  kMalformedJson,  // not JSON, truncated, trailing content, not an object
  kInvalidUtf8,    // bytes that are not UTF-8
  kMissingField,   // a required field is absent
  kWrongType,      // a field has the wrong JSON type
  kBadTime,        // a time is not RFC 3339 with a zone
  kBadCountry,     // a country code is not ISO 3166-1 alpha-2
  kBadValue,       // a value is out of its domain (empty id, bad currency,
                   // negative or inverted range, ...)
  kOversize,       // larger than DecoderOptions::max_event_bytes
  kFuture,         // event time too far ahead (set by the pipeline, never
                   // by the decoder: WatermarkTracker::LeadBound)
};
inline constexpr int kNumRejectReasons = 10;  // including kNone
std::string_view RejectReasonName(RejectReason reason);

struct DecoderOptions {
  // Records larger than this are rejected as oversize before parsing.
  size_t max_event_bytes = 1 << 20;
};

class Decoder {
 public:
  explicit Decoder(const DecoderOptions& options);
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Bytes that must be readable (any value) past the end of the input given
  // to Decode(); equals SIMDJSON_PADDING.
  static size_t padding();

  // Decodes `input`. REQUIRES: `capacity` >= input.size() + padding() bytes
  // are readable from input.data(). Returns kNone on success, and then
  // event() is valid until the next call; otherwise returns the reason and
  // detail() describes the problem in one line.
  RejectReason Decode(std::string_view input, size_t capacity,
                      const SourceRef& source);

  // As Decode(), for input without padding (Kafka payloads): copies it into
  // a reusable padded buffer first.
  RejectReason DecodeUnpadded(std::string_view input, const SourceRef& source);

  const Event& event() const;
  RejectReason reason() const;
  std::string_view detail() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigia

#endif  // VIGIA_PIPELINE_DECODER_H_
