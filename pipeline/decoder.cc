#include "pipeline/decoder.h"

#include <simdjson.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <type_traits>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "pipeline/core/country.h"
#include "pipeline/core/strings.h"
#include "pipeline/core/time.h"

namespace vigia {
namespace {

namespace od = simdjson::ondemand;

// Quoted input in a detail is cut to this many bytes: a dead letter already
// carries the whole record, the detail only has to point at the problem.
constexpr size_t kMaxQuoted = 40;
// Unknown fields are walked to prove they are JSON (On-Demand's skip does not
// check what it skips); the walk is recursive, so its depth is bounded.
constexpr int kMaxDepth = 64;
// The parser's first allocation; it grows by powers of two up to the limit.
constexpr size_t kInitialCapacity = 64 * 1024;

// What a value is, judged from its raw token. Scalars are checked in full
// here, because On-Demand reports a bad literal ("tru") or a bad number
// ("1.") as a type or number error, which would misname the problem.
enum class Token : uint8_t {
  kObject,
  kArray,
  kString,
  kNumber,
  kTrue,
  kFalse,
  kNull,
  kInvalid,
};

std::string_view TokenName(Token t) {
  switch (t) {
    case Token::kObject:
      return "object";
    case Token::kArray:
      return "array";
    case Token::kString:
      return "string";
    case Token::kNumber:
      return "number";
    case Token::kTrue:
    case Token::kFalse:
      return "boolean";
    case Token::kNull:
      return "null";
    case Token::kInvalid:
      break;
  }
  return "invalid value";
}

bool IsJsonSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// raw_json_token() includes the whitespace up to the next token.
std::string_view TrimToken(std::string_view raw) {
  while (!raw.empty() && IsJsonSpace(raw.back())) raw.remove_suffix(1);
  return raw;
}

// RFC 8259 number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
bool IsJsonNumber(std::string_view s) {
  size_t i = 0;
  const auto digit = [&s](size_t k) {
    return k < s.size() && s[k] >= '0' && s[k] <= '9';
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (!digit(i)) return false;
  if (s[i] == '0') {
    ++i;
  } else {
    while (digit(i)) ++i;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digit(i)) return false;
    while (digit(i)) ++i;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digit(i)) return false;
    while (digit(i)) ++i;
  }
  return i == s.size();
}

Token Classify(std::string_view raw) {
  const std::string_view token = TrimToken(raw);
  if (token.empty()) return Token::kInvalid;
  switch (token[0]) {
    case '{':
      return Token::kObject;
    case '[':
      return Token::kArray;
    case '"':
      return Token::kString;
    case 't':
      return token == "true" ? Token::kTrue : Token::kInvalid;
    case 'f':
      return token == "false" ? Token::kFalse : Token::kInvalid;
    case 'n':
      return token == "null" ? Token::kNull : Token::kInvalid;
    default:
      return IsJsonNumber(token) ? Token::kNumber : Token::kInvalid;
  }
}

// True unless `doc`, whose first byte says it is a `type` scalar, is not
// one (a misspelt literal, a malformed number or string). Arrays and objects
// are not checked here.
bool IsValidScalar(od::document& doc, od::json_type type) {
  switch (type) {
    case od::json_type::boolean: {
      bool b;
      return doc.get_bool().get(b) == simdjson::SUCCESS;
    }
    case od::json_type::null: {
      bool is_null = false;
      return doc.is_null().get(is_null) == simdjson::SUCCESS && is_null;
    }
    case od::json_type::number: {
      od::number n;
      return doc.get_number().get(n) == simdjson::SUCCESS;
    }
    case od::json_type::string: {
      std::string_view s;
      return doc.get_string().get(s) == simdjson::SUCCESS;
    }
    default:
      return true;
  }
}

std::string_view JsonTypeArticle(od::json_type type) {
  switch (type) {
    case od::json_type::array:
      return "an array";
    case od::json_type::object:
      return "an object";
    case od::json_type::number:
      return "a number";
    case od::json_type::string:
      return "a string";
    case od::json_type::boolean:
      return "a boolean";
    case od::json_type::null:
      return "null";
  }
  return "not an object";
}

// Where a field sits in the record, for details: "account.id", "urls[3]".
struct Path {
  std::string_view parent;
  std::string_view name;
  int64_t index = -1;
};

// A value to show in quotes, capped.
struct Quoted {
  std::string_view text;
};
// A number token to show as is, capped.
struct Capped {
  std::string_view text;
};

void AppendCapped(std::string* out, std::string_view text, bool quote) {
  size_t n = text.size();
  const bool cut = n > kMaxQuoted;
  if (cut) {
    n = kMaxQuoted;
    // Back off to a UTF-8 character boundary.
    while (n > 0 && (static_cast<uint8_t>(text[n]) & 0xC0) == 0x80) --n;
  }
  if (quote) out->push_back('"');
  for (size_t i = 0; i < n; ++i) {
    const char c = text[i];
    if (quote && (c == '"' || c == '\\')) out->push_back('\\');
    out->push_back(c);
  }
  if (cut) out->append("...");
  if (quote) out->push_back('"');
}

void AppendPart(std::string* out, std::string_view s) { out->append(s); }
void AppendPart(std::string* out, const char* s) { out->append(s); }
void AppendPart(std::string* out, const Quoted& q) {
  AppendCapped(out, q.text, /*quote=*/true);
}
void AppendPart(std::string* out, const Capped& c) {
  AppendCapped(out, c.text, /*quote=*/false);
}
void AppendPart(std::string* out, const Path& p) {
  if (!p.parent.empty()) {
    out->append(p.parent);
    out->push_back('.');
  }
  AppendCapped(out, p.name, /*quote=*/false);
  if (p.index >= 0) absl::StrAppend(out, "[", p.index, "]");
}
void AppendPart(std::string* out, int64_t n) { absl::StrAppend(out, n); }
void AppendPart(std::string* out, uint64_t n) { absl::StrAppend(out, n); }
void AppendPart(std::string* out, double d) { absl::StrAppend(out, d); }

// Length of the valid UTF-8 character starting at s[i], or 0.
size_t Utf8CharLength(std::string_view s, size_t i) {
  const uint8_t lead = static_cast<uint8_t>(s[i]);
  const size_t n = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
  if (i + n > s.size()) return 0;
  return simdjson::validate_utf8(s.data() + i, n) ? n : 0;
}

// Details go into logs and JSON dead letters: keep them one line of valid
// UTF-8 whatever the input held (time errors quote the raw text).
void MakeOneLine(std::string* s) {
  size_t i = 0;
  while (i < s->size()) {
    const uint8_t c = static_cast<uint8_t>((*s)[i]);
    if (c < 0x20 || c == 0x7F) {
      (*s)[i++] = '?';
      continue;
    }
    const size_t n = Utf8CharLength(*s, i);
    if (n == 0) {
      (*s)[i++] = '?';
    } else {
      i += n;
    }
  }
}

// Bits for the fields of one object, to find duplicates and required fields.
enum TopField : uint32_t {
  kId,
  kPlatform,
  kCreatedAt,
  kTarget,
  kAccount,
  kLang,
  kText,
  kUrls,
  kHashtags,
  kRepostOf,
  kPageId,
  kPayer,
  kCurrency,
  kSpend,
  kImpressions,
  kLanguages,
  kDisclaimer,
  kReposts,
  kUnknownField,
};

struct FieldName {
  std::string_view name;
  TopField field;
};

constexpr FieldName kTopFields[] = {
    {"id", kId},
    {"platform", kPlatform},
    {"created_at", kCreatedAt},
    {"target", kTarget},
    {"account", kAccount},
    {"lang", kLang},
    {"text", kText},
    {"urls", kUrls},
    {"hashtags", kHashtags},
    {"repost_of", kRepostOf},
    {"page_id", kPageId},
    {"payer", kPayer},
    {"currency", kCurrency},
    {"spend", kSpend},
    {"impressions", kImpressions},
    {"languages", kLanguages},
    {"disclaimer", kDisclaimer},
    {"reposts", kReposts},
};

// Whether `key`, already known to have N - 1 bytes, spells `name`. At run
// time a memcmp of constant size, which compiles to a word compare or two:
// the byte loop was 6% of the decoder's instructions.
template <size_t N>
constexpr bool Spells(std::string_view key, const char (&name)[N]) {
  if (!std::is_constant_evaluated()) {
    return std::memcmp(key.data(), name, N - 1) == 0;
  }
  for (size_t i = 0; i + 1 < N; ++i) {
    if (key[i] != name[i]) return false;
  }
  return true;
}

// kTopFields' lookup, by length first: it runs for every field of every
// record, and a walk of the table (a length test and often a memcmp call per
// name) was about 5% of replay's instructions.
constexpr TopField LookupTopField(std::string_view key) {
  switch (key.size()) {
    case 2:
      if (Spells(key, "id")) return kId;
      break;
    case 4:
      if (Spells(key, "text")) return kText;
      if (Spells(key, "urls")) return kUrls;
      if (Spells(key, "lang")) return kLang;
      break;
    case 5:
      if (Spells(key, "payer")) return kPayer;
      if (Spells(key, "spend")) return kSpend;
      break;
    case 6:
      if (Spells(key, "target")) return kTarget;
      break;
    case 7:
      if (Spells(key, "account")) return kAccount;
      if (Spells(key, "page_id")) return kPageId;
      if (Spells(key, "reposts")) return kReposts;
      break;
    case 8:
      if (Spells(key, "platform")) return kPlatform;
      if (Spells(key, "hashtags")) return kHashtags;
      if (Spells(key, "currency")) return kCurrency;
      break;
    case 9:
      if (Spells(key, "repost_of")) return kRepostOf;
      if (Spells(key, "languages")) return kLanguages;
      break;
    case 10:
      if (Spells(key, "created_at")) return kCreatedAt;
      if (Spells(key, "disclaimer")) return kDisclaimer;
      break;
    case 11:
      if (Spells(key, "impressions")) return kImpressions;
      break;
    default:
      break;
  }
  return kUnknownField;
}

// The switch above names every field of the table, and nothing else.
constexpr bool LookupMatchesTable() {
  for (const FieldName& f : kTopFields) {
    if (LookupTopField(f.name) != f.field) return false;
  }
  int found = 0;
  for (uint32_t f = 0; f < kUnknownField; ++f) {
    for (const FieldName& n : kTopFields) found += n.field == f ? 1 : 0;
  }
  return found == kUnknownField && LookupTopField("ids") == kUnknownField &&
         LookupTopField("") == kUnknownField &&
         LookupTopField("Text") == kUnknownField;
}
static_assert(LookupMatchesTable());

constexpr uint32_t Bit(uint32_t field) { return uint32_t{1} << field; }

}  // namespace

std::string_view RejectReasonName(RejectReason reason) {
  switch (reason) {
    case RejectReason::kNone:
      return "none";
    case RejectReason::kMalformedJson:
      return "malformed_json";
    case RejectReason::kInvalidUtf8:
      return "invalid_utf8";
    case RejectReason::kMissingField:
      return "missing_field";
    case RejectReason::kWrongType:
      return "wrong_type";
    case RejectReason::kBadTime:
      return "bad_time";
    case RejectReason::kBadCountry:
      return "bad_country";
    case RejectReason::kBadValue:
      return "bad_value";
    case RejectReason::kOversize:
      return "oversize";
    case RejectReason::kFuture:
      return "future";
  }
  return "unknown";
}

struct Decoder::Impl {
  explicit Impl(const DecoderOptions& opts)
      : limit(std::min<size_t>(opts.max_event_bytes,
                               simdjson::SIMDJSON_MAXSIZE_BYTES)),
        parser(std::max(limit, kInitialCapacity)) {}

  RejectReason Decode(std::string_view input, size_t capacity,
                      const SourceRef& source);
  RejectReason DecodeUnpadded(std::string_view input, const SourceRef& source);

  void Begin(const SourceRef& source);
  RejectReason End(bool ok, const SourceRef& source);
  bool CheckSize(std::string_view input);
  bool Parse(std::string_view input, size_t capacity);
  bool Reserve(size_t size);
  bool Finish();

  // Each reader returns true on success. On failure it has recorded the
  // reason and detail, and the caller returns false at once: the document
  // is abandoned mid-iteration, which On-Demand allows.
  template <typename Handler>
  bool ForEachField(od::object object, const Path& path, Handler&& handle);
  // Inlined into Parse()'s field loop: called for every field of every
  // record, its call and register saves were 3% of the decoder's
  // instructions.
  ABSL_ATTRIBUTE_ALWAYS_INLINE bool ReadTopField(std::string_view key,
                                                 od::value& v);
  bool ReadAccount(od::value& v);
  bool ReadPayer(od::value& v);
  bool ReadRange(od::value& v, const Path& path, const Path& lower_path,
                 const Path& upper_path, Range* out);
  // Nearly every value read here is a string, so it is read first and its
  // token classified only when that fails: get_string() refuses any other
  // token with INCORRECT_TYPE, leaving the value unread, and fails on a
  // string only for a bad escape. The unescaped string lives in the
  // parser's string buffer until the next iterate(), which is exactly the
  // Event's lifetime. Inline, with the failure out of line: the call's
  // register saves for the error paths were 3% of the decoder's
  // instructions.
  bool ReadString(od::value& v, const Path& path, std::string_view want,
                  std::string_view* out, bool* present_out) {
    std::string_view s;
    const simdjson::error_code error = v.get_string().get(s);
    if (ABSL_PREDICT_TRUE(error == simdjson::SUCCESS)) {
      *out = s;
      *present_out = true;
      return true;
    }
    return ReadStringFailed(v, error, path, want, present_out);
  }
  ABSL_ATTRIBUTE_NOINLINE bool ReadStringFailed(od::value& v,
                                                simdjson::error_code error,
                                                const Path& path,
                                                std::string_view want,
                                                bool* present_out);
  bool ReadNonEmpty(od::value& v, const Path& path, std::string_view* out,
                    bool* present);
  bool ReadTime(od::value& v, const Path& path, FeedTimeParser& parser,
                absl::Time* out, bool* present);
  bool ReadCountry(od::value& v, const Path& path, CountryCode* out,
                   bool* present);
  bool ReadBool(od::value& v, const Path& path, Tristate* out);
  bool ReadCount(od::value& v, const Path& path, int64_t* out);
  bool ReadNonNegative(od::value& v, const Path& path, double* out,
                       bool* present);
  bool ReadStringArray(od::value& v, const Path& path,
                       std::vector<std::string_view>* out);
  bool Validate(od::value& v, const Path& path, int depth);
  bool FirstTime(uint32_t* seen, uint32_t field, const Path& path);

  bool WrongType(Token got, const Path& path, std::string_view want);
  // After get_object() failed on `v` with `error` (objects are read first
  // and classified only on failure, as in ReadString(): get_object()
  // refuses any other token with INCORRECT_TYPE and leaves it unread): true
  // for a null, which leaves the field unset, otherwise false with the
  // reason a classification first would have given.
  ABSL_ATTRIBUTE_NOINLINE bool ObjectFailed(od::value& v,
                                            simdjson::error_code error,
                                            const Path& path);
  bool FailJson(simdjson::error_code error, const Path& path);
  template <typename... Parts>
  bool Fail(RejectReason why, const Parts&... parts) {
    reason = why;
    detail.clear();
    (AppendPart(&detail, parts), ...);
    MakeOneLine(&detail);
    return false;
  }

  const size_t limit;  // max_event_bytes, within what simdjson can parse
  od::parser parser;
  // The padded copy DecodeUnpadded parses; grows, never shrinks.
  std::unique_ptr<char[]> buffer;
  size_t buffer_capacity = 0;

  Event event;
  std::vector<std::string_view> urls;
  std::vector<std::string_view> hashtags;
  std::vector<std::string_view> languages;
  // One per time field: a post's time shares its date with the previous
  // post's far more often than with its account's creation time.
  FeedTimeParser created_at_times;
  FeedTimeParser account_created_at_times;
  RejectReason reason = RejectReason::kNone;
  std::string detail;

  // Per record.
  uint32_t seen = 0;     // top-level fields given (null included)
  uint32_t present = 0;  // top-level fields given and not null
  bool has_account_id = false;
  bool has_payer_name = false;
};

void Decoder::Impl::Begin(const SourceRef& source) {
  event = Event{};
  event.source = source;
  urls.clear();
  hashtags.clear();
  languages.clear();
  reason = RejectReason::kNone;
  detail.clear();
  seen = 0;
  present = 0;
  has_account_id = false;
  has_payer_name = false;
}

RejectReason Decoder::Impl::End(bool ok, const SourceRef& source) {
  if (!ok) {
    // Never hand out half a record.
    event = Event{};
    event.source = source;
  }
  return reason;
}

bool Decoder::Impl::CheckSize(std::string_view input) {
  if (input.size() <= limit) return true;
  return Fail(RejectReason::kOversize, "record is ", uint64_t{input.size()},
              " bytes, over the limit of ", uint64_t{limit}, " bytes");
}

RejectReason Decoder::Impl::Decode(std::string_view input, size_t capacity,
                                   const SourceRef& source) {
  if (capacity < input.size() + simdjson::SIMDJSON_PADDING) {
    // A caller that broke the padding contract still gets a correct answer.
    return DecodeUnpadded(input, source);
  }
  Begin(source);
  const bool ok = CheckSize(input) && Parse(input, capacity);
  return End(ok, source);
}

RejectReason Decoder::Impl::DecodeUnpadded(std::string_view input,
                                           const SourceRef& source) {
  Begin(source);
  // Check before copying: an oversize record may be very large.
  if (!CheckSize(input)) return End(false, source);
  const size_t need = input.size() + simdjson::SIMDJSON_PADDING;
  if (need > buffer_capacity) {
    const size_t grown = std::max(need, buffer_capacity * 2);
    buffer = std::make_unique<char[]>(grown);
    buffer_capacity = grown;
  }
  if (!input.empty()) std::memcpy(buffer.get(), input.data(), input.size());
  std::memset(buffer.get() + input.size(), 0, simdjson::SIMDJSON_PADDING);
  return Decode(std::string_view(buffer.get(), input.size()), need, source);
}

bool Decoder::Impl::Reserve(size_t size) {
  if (parser.capacity() >= std::max<size_t>(size, 1)) return true;
  // Grow geometrically so a slowly rising record size reallocates rarely.
  size_t want = std::max(kInitialCapacity, std::bit_ceil(size));
  want = std::max(std::min(want, parser.max_capacity()), size);
  if (const auto error = parser.allocate(want); error) {
    return Fail(RejectReason::kOversize, "cannot allocate parser buffers for ",
                uint64_t{size}, " bytes");
  }
  return true;
}

bool Decoder::Impl::Parse(std::string_view input, size_t capacity) {
  // A UTF-8 byte-order mark carries no content; some Windows tools write it.
  if (input.size() >= 3 && std::memcmp(input.data(), "\xEF\xBB\xBF", 3) == 0) {
    input.remove_prefix(3);
    capacity -= 3;
  }
  if (!Reserve(input.size())) return false;
  // Stage 1 of iterate() validates the UTF-8 of the whole record, skipped
  // fields included, and finds unescaped control characters in strings; the
  // tests pin this down (RejectsInvalidUtf8InAnUnknownField).
  od::document doc;
  if (const auto error =
          parser.iterate(input.data(), input.size(), capacity).get(doc);
      error) {
    return FailJson(error, Path{});
  }
  od::json_type type;
  if (const auto error = doc.type().get(type); error) {
    return FailJson(error, Path{});
  }
  if (type != od::json_type::object) {
    // type() judges by the first byte only: "this is not json" starts like
    // `true` and was reported as a boolean. A scalar is named only when it
    // is one.
    if (!IsValidScalar(doc, type)) {
      return Fail(RejectReason::kMalformedJson,
                  "malformed JSON: the record is not JSON");
    }
    return Fail(RejectReason::kMalformedJson, "malformed JSON: the record is ",
                JsonTypeArticle(type), ", not an object");
  }
  od::object object;
  if (const auto error = doc.get_object().get(object); error) {
    return FailJson(error, Path{});
  }
  if (!ForEachField(object, Path{}, [this](std::string_view key, od::value& v) {
        return ReadTopField(key, v);
      })) {
    return false;
  }
  // simdjson 3.0.1 has no document::at_end(); current_location() reports
  // OUT_OF_BOUNDS exactly when every token has been consumed.
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) {
    return Fail(RejectReason::kMalformedJson,
                "malformed JSON: trailing content after the object");
  }
  return Finish();
}

template <typename Handler>
bool Decoder::Impl::ForEachField(od::object object, const Path& path,
                                 Handler&& handle) {
  for (auto result : object) {
    if (result.error()) return FailJson(result.error(), path);
    od::field& field = result.value_unsafe();
    // Keys are compared unescaped so that "\u0069d" is "id".
    std::string_view key;
    if (const auto error = field.unescaped_key().get(key); error) {
      return FailJson(error, path);
    }
    if (!handle(key, field.value())) return false;
  }
  return true;
}

bool Decoder::Impl::FirstTime(uint32_t* seen_fields, uint32_t field,
                              const Path& path) {
  if (*seen_fields & Bit(field)) {
    // Parsers disagree on which duplicate wins; evidence must not depend on
    // which one a reader happens to use.
    return Fail(RejectReason::kMalformedJson,
                "malformed JSON: duplicate field ", path);
  }
  *seen_fields |= Bit(field);
  return true;
}

inline bool Decoder::Impl::ReadTopField(std::string_view key, od::value& v) {
  const TopField field = LookupTopField(key);
  if (field == kUnknownField) return Validate(v, Path{"", key}, 1);
  const Path path{"", key};
  if (!FirstTime(&seen, field, path)) return false;
  bool given = false;
  bool ok = true;
  switch (field) {
    case kId:
      ok = ReadNonEmpty(v, path, &event.id, &given);
      break;
    case kPlatform:
      ok = ReadNonEmpty(v, path, &event.platform, &given);
      break;
    case kCreatedAt:
      ok = ReadTime(v, path, created_at_times, &event.created_at, &given);
      break;
    case kTarget:
      ok = ReadCountry(v, path, &event.target, &given);
      break;
    case kAccount:
      ok = ReadAccount(v);
      break;
    case kLang:
      ok = ReadString(v, path, "string", &event.lang, &given);
      break;
    case kText:
      ok = ReadString(v, path, "string", &event.text, &given);
      break;
    case kUrls:
      ok = ReadStringArray(v, path, &urls);
      break;
    case kHashtags:
      ok = ReadStringArray(v, path, &hashtags);
      break;
    case kRepostOf:
      ok = ReadString(v, path, "string", &event.repost_of, &given);
      break;
    case kReposts:
      ok = ReadCount(v, path, &event.reposts);
      break;
    case kPageId:
      ok = ReadNonEmpty(v, path, &event.page_id, &given);
      break;
    case kPayer:
      ok = ReadPayer(v);
      break;
    case kCurrency: {
      std::string_view code;
      ok = ReadString(v, path, "string", &code, &given);
      if (ok && given) {
        event.currency = CurrencyCode::FromString(code);
        if (!event.currency.known()) {
          return Fail(RejectReason::kBadValue,
                      "bad value for currency: ", Quoted{code},
                      " is not an ISO 4217 code (three letters A-Z)");
        }
      }
      break;
    }
    case kSpend:
      ok = ReadRange(v, path, Path{"spend", "lower"}, Path{"spend", "upper"},
                     &event.spend);
      break;
    case kImpressions:
      ok = ReadRange(v, path, Path{"impressions", "lower"},
                     Path{"impressions", "upper"}, &event.impressions);
      break;
    case kLanguages:
      ok = ReadStringArray(v, path, &languages);
      break;
    case kDisclaimer:
      ok = ReadString(v, path, "string", &event.disclaimer,
                      &event.has_disclaimer);
      break;
    case kUnknownField:
      break;
  }
  if (given) present |= Bit(field);
  return ok;
}

bool Decoder::Impl::ReadAccount(od::value& v) {
  const Path path{"", "account"};
  od::object object;
  if (const auto error = v.get_object().get(object);
      ABSL_PREDICT_FALSE(error)) {
    return ObjectFailed(v, error, path);
  }
  uint32_t fields = 0;
  enum : uint32_t {
    kAccId,
    kAccCreatedAt,
    kAccCountry,
    kAccState,
    kAccFollowers
  };
  return ForEachField(
      object, path, [&](std::string_view key, od::value& value) {
        const Path sub{"account", key};
        if (key == "id") {
          return FirstTime(&fields, kAccId, sub) &&
                 ReadNonEmpty(value, sub, &event.account_id, &has_account_id);
        }
        if (key == "created_at") {
          bool given = false;
          return FirstTime(&fields, kAccCreatedAt, sub) &&
                 ReadTime(value, sub, account_created_at_times,
                          &event.account_created_at, &given);
        }
        if (key == "country") {
          bool given = false;
          return FirstTime(&fields, kAccCountry, sub) &&
                 ReadCountry(value, sub, &event.account_country, &given);
        }
        if (key == "state_affiliated") {
          return FirstTime(&fields, kAccState, sub) &&
                 ReadBool(value, sub, &event.state_affiliated);
        }
        if (key == "followers") {
          return FirstTime(&fields, kAccFollowers, sub) &&
                 ReadCount(value, sub, &event.followers);
        }
        return Validate(value, sub, 2);
      });
}

bool Decoder::Impl::ReadPayer(od::value& v) {
  const Path path{"", "payer"};
  // "payer": null still marks the record as an ad (the key is what tells
  // the feeds apart); Finish() then reports payer.name missing.
  od::object object;
  if (const auto error = v.get_object().get(object);
      ABSL_PREDICT_FALSE(error)) {
    return ObjectFailed(v, error, path);
  }
  uint32_t fields = 0;
  enum : uint32_t { kPayerName, kPayerCountry };
  return ForEachField(
      object, path, [&](std::string_view key, od::value& value) {
        const Path sub{"payer", key};
        if (key == "name") {
          return FirstTime(&fields, kPayerName, sub) &&
                 ReadNonEmpty(value, sub, &event.payer_name, &has_payer_name);
        }
        if (key == "country") {
          bool given = false;
          return FirstTime(&fields, kPayerCountry, sub) &&
                 ReadCountry(value, sub, &event.payer_country, &given);
        }
        return Validate(value, sub, 2);
      });
}

bool Decoder::Impl::ReadRange(od::value& v, const Path& path,
                              const Path& lower_path, const Path& upper_path,
                              Range* out) {
  od::object object;
  if (const auto error = v.get_object().get(object);
      ABSL_PREDICT_FALSE(error)) {
    return ObjectFailed(v, error, path);
  }
  uint32_t fields = 0;
  double lower = 0, upper = 0;
  bool has_lower = false, has_upper = false;
  if (!ForEachField(object, path, [&](std::string_view key, od::value& value) {
        if (key == "lower") {
          return FirstTime(&fields, 0, lower_path) &&
                 ReadNonNegative(value, lower_path, &lower, &has_lower);
        }
        if (key == "upper") {
          return FirstTime(&fields, 1, upper_path) &&
                 ReadNonNegative(value, upper_path, &upper, &has_upper);
        }
        return Validate(value, Path{path.name, key}, 2);
      })) {
    return false;
  }
  // A single bound is checked but not kept: a range is known only whole.
  if (has_lower && has_upper) {
    if (lower > upper) {
      return Fail(RejectReason::kBadValue, "bad value for ", path, ": lower ",
                  lower, " > upper ", upper);
    }
    out->lower = lower;
    out->upper = upper;
  }
  return true;
}

bool Decoder::Impl::ReadStringFailed(od::value& v, simdjson::error_code error,
                                     const Path& path, std::string_view want,
                                     bool* present_out) {
  if (error != simdjson::INCORRECT_TYPE) return FailJson(error, path);
  const Token token = Classify(v.raw_json_token());
  if (token == Token::kNull) {
    *present_out = false;
    return true;
  }
  if (token != Token::kString) return WrongType(token, path, want);
  return FailJson(error, path);
}

bool Decoder::Impl::ReadNonEmpty(od::value& v, const Path& path,
                                 std::string_view* out, bool* present_out) {
  if (!ReadString(v, path, "string", out, present_out)) return false;
  if (*present_out && out->empty()) {
    return Fail(RejectReason::kBadValue, "bad value for ", path, ": empty");
  }
  return true;
}

bool Decoder::Impl::ReadTime(od::value& v, const Path& path,
                             FeedTimeParser& parser, absl::Time* out,
                             bool* present_out) {
  std::string_view text;
  if (!ReadString(v, path, "string (RFC 3339 time)", &text, present_out)) {
    return false;
  }
  if (!*present_out) return true;
  if (ABSL_PREDICT_TRUE(parser.Parse(text, out))) return true;
  // Parsed again for the reason (Parse() fails exactly where it does): a
  // bad time is rare.
  const absl::Status status = ParseRfc3339(text).status();
  return Fail(RejectReason::kBadTime, "bad time in ", path, ": ",
              FromAbsl(status.message()));
}

bool Decoder::Impl::ReadCountry(od::value& v, const Path& path,
                                CountryCode* out, bool* present_out) {
  std::string_view code;
  if (!ReadString(v, path, "string (country code)", &code, present_out)) {
    return false;
  }
  if (!*present_out) return true;
  *out = ParseCountry(code);
  if (!out->known()) {
    return Fail(RejectReason::kBadCountry, "bad country code in ", path, ": ",
                Quoted{code}, " is not an ISO 3166-1 alpha-2 code");
  }
  return true;
}

bool Decoder::Impl::ReadBool(od::value& v, const Path& path, Tristate* out) {
  // Read first, classified on failure, as in ReadString(): get_bool()
  // accepts exactly the tokens `true` and `false` and leaves others unread.
  if (bool b = false;
      ABSL_PREDICT_TRUE(v.get_bool().get(b) == simdjson::SUCCESS)) {
    *out = b ? Tristate::kYes : Tristate::kNo;
    return true;
  }
  const Token token = Classify(v.raw_json_token());
  switch (token) {
    case Token::kNull:
      return true;
    case Token::kTrue:
      *out = Tristate::kYes;
      return true;
    case Token::kFalse:
      *out = Tristate::kNo;
      return true;
    default:
      return WrongType(token, path, "boolean");
  }
}

bool Decoder::Impl::ReadCount(od::value& v, const Path& path, int64_t* out) {
  // The usual integer first: get_int64() succeeds only on a whole JSON
  // integer literal (no fraction, exponent or leading zero) that fits, and
  // otherwise leaves the value unread for the checks below to name the
  // problem.
  if (int64_t n = 0;
      ABSL_PREDICT_TRUE(v.get_int64().get(n) == simdjson::SUCCESS)) {
    if (n < 0) {
      return Fail(RejectReason::kBadValue, "bad value for ", path,
                  ": negative (", n, ")");
    }
    *out = n;
    return true;
  }
  const std::string_view token = TrimToken(v.raw_json_token());
  const Token kind = Classify(token);
  if (kind == Token::kNull) return true;
  if (kind != Token::kNumber) return WrongType(kind, path, "integer");
  // A loop rather than find_first_of(), which calls memchr on ".eE" for
  // every byte of the token.
  if (std::any_of(token.begin(), token.end(),
                  [](char c) { return c == '.' || c == 'e' || c == 'E'; })) {
    return Fail(RejectReason::kWrongType, "wrong type for ", path,
                ": expected integer, got number ", Quoted{token});
  }
  int64_t n = 0;
  if (const auto error = v.get_int64().get(n); error) {
    // The token is a valid integer literal, so simdjson can only be saying
    // it does not fit in 64 bits.
    return Fail(RejectReason::kBadValue, "bad value for ", path,
                ": integer out of range ", Quoted{token});
  }
  if (n < 0) {
    return Fail(RejectReason::kBadValue, "bad value for ", path, ": negative (",
                n, ")");
  }
  *out = n;
  return true;
}

bool Decoder::Impl::ReadNonNegative(od::value& v, const Path& path, double* out,
                                    bool* present_out) {
  const std::string_view token = TrimToken(v.raw_json_token());
  const Token kind = Classify(token);
  if (kind == Token::kNull) return true;
  if (kind != Token::kNumber) return WrongType(kind, path, "number");
  double d = 0;
  if (const auto error = v.get_double().get(d); error) {
    return Fail(RejectReason::kBadValue, "bad value for ", path,
                ": number out of range ", Quoted{token});
  }
  if (d < 0) {
    return Fail(RejectReason::kBadValue, "bad value for ", path, ": negative (",
                Capped{token}, ")");
  }
  *out = d;
  *present_out = true;
  return true;
}

bool Decoder::Impl::ReadStringArray(od::value& v, const Path& path,
                                    std::vector<std::string_view>* out) {
  // Read first, classified on failure, as in ReadString(): get_array()
  // refuses any other token with INCORRECT_TYPE and leaves it unread.
  od::array array;
  if (const auto error = v.get_array().get(array); ABSL_PREDICT_FALSE(error)) {
    const Token token = Classify(v.raw_json_token());
    if (token == Token::kNull) return true;
    if (token != Token::kArray) {
      return WrongType(token, path, "array of strings");
    }
    return FailJson(error, path);
  }
  int64_t index = 0;
  for (auto result : array) {
    const Path element{path.parent, path.name, index++};
    if (result.error()) return FailJson(result.error(), element);
    od::value& value = result.value_unsafe();
    // Read first, classified on failure, as in ReadString().
    std::string_view s;
    const simdjson::error_code error = value.get_string().get(s);
    if (ABSL_PREDICT_TRUE(error == simdjson::SUCCESS)) {
      out->push_back(s);
      continue;
    }
    if (error != simdjson::INCORRECT_TYPE) return FailJson(error, element);
    const Token kind = Classify(value.raw_json_token());
    if (kind == Token::kInvalid) return WrongType(kind, element, "string");
    if (kind != Token::kString) {
      return Fail(RejectReason::kBadValue, "bad value for ", element,
                  ": expected string, got ", TokenName(kind));
    }
    return FailJson(error, element);
  }
  return true;
}

bool Decoder::Impl::Validate(od::value& v, const Path& path, int depth) {
  if (depth > kMaxDepth) {
    return Fail(RejectReason::kMalformedJson, "malformed JSON in ", path,
                ": nested deeper than ", int64_t{kMaxDepth}, " levels");
  }
  switch (Classify(v.raw_json_token())) {
    case Token::kObject: {
      od::object object;
      if (const auto error = v.get_object().get(object); error) {
        return FailJson(error, path);
      }
      return ForEachField(object, path,
                          [&](std::string_view, od::value& value) {
                            return Validate(value, path, depth + 1);
                          });
    }
    case Token::kArray: {
      od::array array;
      if (const auto error = v.get_array().get(array); error) {
        return FailJson(error, path);
      }
      for (auto result : array) {
        if (result.error()) return FailJson(result.error(), path);
        if (!Validate(result.value_unsafe(), path, depth + 1)) return false;
      }
      return true;
    }
    case Token::kString: {
      // Unescaping is what checks the escapes.
      std::string_view s;
      if (const auto error = v.get_string().get(s); error) {
        return FailJson(error, path);
      }
      return true;
    }
    case Token::kNumber:
    case Token::kTrue:
    case Token::kFalse:
    case Token::kNull:
      // Classify() checked the whole token; the parent skips it.
      return true;
    case Token::kInvalid:
      break;
  }
  return WrongType(Token::kInvalid, path, "");
}

bool Decoder::Impl::Finish() {
  if (!(present & Bit(kId))) {
    return Fail(RejectReason::kMissingField, "missing field id");
  }
  if (!(present & Bit(kPlatform))) {
    return Fail(RejectReason::kMissingField, "missing field platform");
  }
  if (!(present & Bit(kCreatedAt))) {
    return Fail(RejectReason::kMissingField, "missing field created_at");
  }
  // The feeds are told apart by the payer key alone, whatever its value.
  if (seen & Bit(kPayer)) {
    event.kind = FeedKind::kAd;
    if (!(present & Bit(kPageId))) {
      return Fail(RejectReason::kMissingField, "missing field page_id");
    }
    if (!has_payer_name) {
      return Fail(RejectReason::kMissingField, "missing field payer.name");
    }
    // Post fields were checked like any other, but an ad does not carry
    // them.
    event.account_id = {};
    event.account_created_at = absl::InfinitePast();
    event.account_country = CountryCode();
    event.state_affiliated = Tristate::kUnknown;
    event.followers = -1;
    event.reposts = -1;
    event.lang = {};
    event.text = {};
    event.repost_of = {};
    event.languages = languages;
  } else {
    event.kind = FeedKind::kPost;
    if (!has_account_id) {
      return Fail(RejectReason::kMissingField, "missing field account.id");
    }
    event.page_id = {};
    event.payer_name = {};
    event.payer_country = CountryCode();
    event.currency = CurrencyCode();
    event.spend = Range();
    event.impressions = Range();
    event.has_disclaimer = false;
    event.disclaimer = {};
    event.urls = urls;
    event.hashtags = hashtags;
  }
  if (!(present & Bit(kTarget))) {
    return Fail(RejectReason::kMissingField, "missing field target");
  }
  return true;
}

bool Decoder::Impl::ObjectFailed(od::value& v, simdjson::error_code error,
                                 const Path& path) {
  const Token token = Classify(v.raw_json_token());
  if (token == Token::kNull) return true;
  if (token != Token::kObject) return WrongType(token, path, "object");
  return FailJson(error, path);
}

bool Decoder::Impl::WrongType(Token got, const Path& path,
                              std::string_view want) {
  if (got == Token::kInvalid) {
    return Fail(RejectReason::kMalformedJson, "malformed JSON in ", path,
                ": not a JSON value");
  }
  return Fail(RejectReason::kWrongType, "wrong type for ", path, ": expected ",
              want, ", got ", TokenName(got));
}

bool Decoder::Impl::FailJson(simdjson::error_code error, const Path& path) {
  const bool has_path = !path.name.empty();
  switch (error) {
    case simdjson::UTF8_ERROR:
      return Fail(RejectReason::kInvalidUtf8, "invalid UTF-8");
    case simdjson::INCORRECT_TYPE:
      return Fail(RejectReason::kWrongType, "wrong type for ",
                  has_path ? path : Path{"", "the record"});
    case simdjson::NUMBER_ERROR:
    case simdjson::NUMBER_OUT_OF_RANGE:
      return Fail(RejectReason::kBadValue, "bad value for ",
                  has_path ? path : Path{"", "the record"},
                  ": number out of range");
    case simdjson::EMPTY:
      return Fail(RejectReason::kMalformedJson, "malformed JSON: empty record");
    case simdjson::STRING_ERROR:
      return Fail(RejectReason::kMalformedJson, "malformed JSON in ", path,
                  ": bad escape in string");
    default:
      break;
  }
  const std::string_view message = simdjson::error_message(error);
  if (has_path) {
    return Fail(RejectReason::kMalformedJson, "malformed JSON in ", path, ": ",
                message);
  }
  return Fail(RejectReason::kMalformedJson, "malformed JSON: ", message);
}

Decoder::Decoder(const DecoderOptions& options)
    : impl_(std::make_unique<Impl>(options)) {}

Decoder::~Decoder() = default;

size_t Decoder::padding() { return simdjson::SIMDJSON_PADDING; }

RejectReason Decoder::Decode(std::string_view input, size_t capacity,
                             const SourceRef& source) {
  return impl_->Decode(input, capacity, source);
}

RejectReason Decoder::DecodeUnpadded(std::string_view input,
                                     const SourceRef& source) {
  return impl_->DecodeUnpadded(input, source);
}

const Event& Decoder::event() const { return impl_->event; }
RejectReason Decoder::reason() const { return impl_->reason; }
std::string_view Decoder::detail() const { return impl_->detail; }

}  // namespace vigia
