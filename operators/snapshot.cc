#include "operators/snapshot.h"

#include <array>
#include <limits>
#include <memory>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "operators/operator.h"
#include "pipeline/core/status_macros.h"
#include "pipeline/core/strings.h"

namespace vigia {
namespace {

constexpr std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

// Codes for the infinite times: absl::ToUnixMicros saturates at these for
// the infinite times and no feed's dates come near them.
constexpr int64_t kPastCode = std::numeric_limits<int64_t>::min();
constexpr int64_t kFutureCode = std::numeric_limits<int64_t>::max();

}  // namespace

uint32_t Crc32c(std::string_view data, uint32_t crc) {
  crc = ~crc;
  for (unsigned char b : data) crc = kCrcTable[(crc ^ b) & 0xff] ^ (crc >> 8);
  return ~crc;
}

void SnapshotWriter::U64(uint64_t v) {
  while (v >= 0x80) {
    out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out_.push_back(static_cast<char>(v));
}

void SnapshotWriter::F32(float v) {
  uint32_t u;
  std::memcpy(&u, &v, 4);
  for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>(u >> (8 * i)));
}

void SnapshotWriter::F64(double v) {
  uint64_t u;
  std::memcpy(&u, &v, 8);
  for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>(u >> (8 * i)));
}

void SnapshotWriter::Time(absl::Time t) {
  if (t == absl::InfinitePast()) {
    I64(kPastCode);
  } else if (t == absl::InfiniteFuture()) {
    I64(kFutureCode);
  } else {
    I64(absl::ToUnixMicros(t));
  }
}

void SnapshotWriter::BeginSection(std::string_view name, uint32_t version) {
  Str(name);
  U32(version);
  section_length_at_ = out_.size();
  out_.append(8, '\0');
}

void SnapshotWriter::EndSection() {
  const uint64_t n = out_.size() - section_length_at_ - 8;
  for (int i = 0; i < 8; ++i) {
    out_[section_length_at_ + i] = static_cast<char>(n >> (8 * i));
  }
}

bool SnapshotReader::Need(size_t n) {
  if (!status_.ok()) return false;
  if (remaining() < n) {
    Fail(
        absl::StrCat("truncated: needs ", n, " bytes, ", remaining(), " left"));
    return false;
  }
  return true;
}

void SnapshotReader::Fail(std::string_view why) {
  if (!status_.ok()) return;
  status_ = absl::DataLossError(absl::StrCat("snapshot ", what_, " at byte ",
                                             offset(), ": ", ToAbsl(why)));
}

uint64_t SnapshotReader::U64() {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (!Need(1)) return 0;
    const auto b = static_cast<unsigned char>(data_[pos_++]);
    if (shift == 63 && b > 1) break;
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (b < 0x80) return v;
  }
  Fail("malformed varint");
  return 0;
}

uint32_t SnapshotReader::U32() {
  const uint64_t v = U64();
  if (v > std::numeric_limits<uint32_t>::max()) {
    Fail("value out of range for 32 bits");
    return 0;
  }
  return static_cast<uint32_t>(v);
}

int32_t SnapshotReader::I32() {
  const int64_t v = I64();
  if (v < std::numeric_limits<int32_t>::min() ||
      v > std::numeric_limits<int32_t>::max()) {
    Fail("value out of range for 32 bits");
    return 0;
  }
  return static_cast<int32_t>(v);
}

bool SnapshotReader::Bool() {
  if (!Need(1)) return false;
  const auto b = static_cast<unsigned char>(data_[pos_]);
  if (b > 1) {
    Fail("malformed boolean");
    return false;
  }
  ++pos_;
  return b == 1;
}

float SnapshotReader::F32() {
  if (!Need(4)) return 0;
  uint32_t u = 0;
  for (int i = 0; i < 4; ++i) {
    u |= uint32_t{static_cast<unsigned char>(data_[pos_ + i])} << (8 * i);
  }
  pos_ += 4;
  float v;
  std::memcpy(&v, &u, 4);
  return v;
}

double SnapshotReader::F64() {
  if (!Need(8)) return 0;
  uint64_t u = 0;
  for (int i = 0; i < 8; ++i) {
    u |= uint64_t{static_cast<unsigned char>(data_[pos_ + i])} << (8 * i);
  }
  pos_ += 8;
  double v;
  std::memcpy(&v, &u, 8);
  return v;
}

std::string_view SnapshotReader::StrView() { return Bytes(U64()); }

uint64_t SnapshotReader::Fixed64() {
  if (!Need(8)) return 0;
  uint64_t u = 0;
  for (int i = 0; i < 8; ++i) {
    u |= uint64_t{static_cast<unsigned char>(data_[pos_ + i])} << (8 * i);
  }
  pos_ += 8;
  return u;
}

std::string_view SnapshotReader::Bytes(size_t n) {
  // Never a null view: callers may memcpy from it.
  if (!Need(n)) return std::string_view("", 0);
  std::string_view s = data_.substr(pos_, n);
  pos_ += n;
  return s;
}

std::string SnapshotReader::Str() { return std::string(StrView()); }

absl::Time SnapshotReader::Time() {
  const int64_t us = I64();
  if (us == kPastCode) return absl::InfinitePast();
  if (us == kFutureCode) return absl::InfiniteFuture();
  return absl::FromUnixMicros(us);
}

size_t SnapshotReader::Count(size_t min_bytes) {
  const uint64_t n = U64();
  if (!ok()) return 0;
  if (min_bytes > 0 && n > remaining() / min_bytes) {
    Fail(
        absl::StrCat("count ", n, " exceeds the ", remaining(), " bytes left"));
    return 0;
  }
  return static_cast<size_t>(n);
}

int64_t SnapshotReader::Int(int64_t lo, int64_t hi, std::string_view field) {
  const int64_t v = I64();
  if (!ok()) return lo;
  if (v < lo || v > hi) {
    Fail(absl::StrCat(ToAbsl(field), " ", v, " out of range [", lo, ", ", hi,
                      "]"));
    return lo;
  }
  return v;
}

absl::Status SnapshotReader::Finish() {
  if (ok() && remaining() != 0) {
    Fail(absl::StrCat(remaining(), " trailing bytes"));
  }
  return status_;
}

const SnapshotSection* ParsedSnapshot::Find(std::string_view name) const {
  for (const SnapshotSection& s : sections) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

void BeginSnapshot(SnapshotWriter& w, std::string_view config_hash) {
  w.bytes().append(kSnapshotMagic);
  w.U32(kSnapshotFormatVersion);
  w.Str(config_hash);
}

std::string FinishSnapshot(SnapshotWriter& w) {
  w.Str("");  // end marker
  const uint32_t crc = Crc32c(w.bytes());
  for (int i = 0; i < 4; ++i) {
    w.bytes().push_back(static_cast<char>(crc >> (8 * i)));
  }
  return std::move(w.bytes());
}

absl::StatusOr<ParsedSnapshot> ParseSnapshot(std::string_view bytes) {
  if (bytes.size() < kSnapshotMagic.size() ||
      bytes.substr(0, kSnapshotMagic.size()) != kSnapshotMagic) {
    return absl::DataLossError(
        "not a vigia snapshot (no VIGIASNP magic at byte 0)");
  }
  if (bytes.size() < kSnapshotMagic.size() + 4 + 2) {
    return absl::DataLossError(
        absl::StrCat("snapshot truncated: ", bytes.size(),
                     " bytes, no room for a checksum"));
  }
  const std::string_view body = bytes.substr(0, bytes.size() - 4);
  uint32_t stored = 0;
  for (int i = 0; i < 4; ++i) {
    stored |= uint32_t{static_cast<unsigned char>(bytes[body.size() + i])}
              << (8 * i);
  }
  // The header is read before the checksum is judged, so a snapshot of a
  // newer format says so instead of "corrupt".
  SnapshotReader r(body.substr(kSnapshotMagic.size()), kSnapshotMagic.size(),
                   "header");
  ParsedSnapshot out;
  out.format_version = r.U32();
  if (r.ok() && out.format_version > kSnapshotFormatVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("snapshot format version ", out.format_version,
                     " is newer than this vigia reads (",
                     kSnapshotFormatVersion, "): written by a newer vigia"));
  }
  if (r.ok() && out.format_version == 0) r.Fail("format version 0");
  const uint32_t crc = Crc32c(body);
  if (crc != stored) {
    return absl::DataLossError(absl::StrCat(
        "snapshot checksum mismatch over bytes [0, ", body.size(), "): stored ",
        stored, ", computed ", crc, " (corrupt or truncated file)"));
  }
  out.config_hash = r.Str();
  while (r.ok()) {
    const size_t at = r.offset();
    std::string_view name = r.StrView();
    if (!r.ok()) break;
    if (name.empty()) break;  // end marker
    SnapshotSection s;
    s.name = name;
    s.format_version = out.format_version;
    s.version = r.U32();
    const uint64_t len = r.Fixed64();
    if (!r.ok()) break;
    if (len > r.remaining()) {
      r.Fail(absl::StrCat("section ", ToAbsl(name), " (named at byte ", at,
                          ") claims ", len, " bytes, ", r.remaining(),
                          " left"));
      break;
    }
    s.offset = r.offset();
    s.payload = r.Bytes(len);
    if (out.Find(s.name) != nullptr) {
      r.Fail(absl::StrCat("section ", ToAbsl(name), " appears twice"));
      break;
    }
    out.sections.push_back(s);
  }
  VIGIA_RETURN_IF_ERROR(r.Finish());
  return out;
}

SnapshotReader SectionReader(const SnapshotSection& section) {
  SnapshotReader r(section.payload, section.offset,
                   absl::StrCat("section ", ToAbsl(section.name)));
  r.set_format_version(section.format_version);
  return r;
}

absl::Status CheckSectionVersion(const SnapshotSection& section,
                                 uint32_t max_version) {
  if (section.version == 0 || section.version > max_version) {
    return absl::FailedPreconditionError(absl::StrCat(
        "snapshot section ", ToAbsl(section.name), " (byte ", section.offset,
        ") has format version ", section.version, "; this vigia reads 1 to ",
        max_version,
        (section.version > max_version ? ": written by a newer vigia" : "")));
  }
  return absl::OkStatus();
}

absl::Status Operator::RestoreState(SnapshotReader& r, uint32_t version) {
  (void)r;
  (void)version;
  return absl::UnimplementedError(
      absl::StrCat("detector ", ToAbsl(name()), " cannot restore a snapshot"));
}

absl::Status Operator::Absorb(Operator& other) {
  (void)other;
  return absl::UnimplementedError(absl::StrCat(
      "detector ", ToAbsl(name()), " cannot merge state from two snapshots"));
}

std::string_view InternSourceName(std::string_view name) {
  static absl::Mutex mu(absl::kConstInit);
  // Nodes never move, so the views stay valid as the set grows.
  static auto* names = new std::set<std::string, std::less<>>();
  absl::MutexLock lock(&mu);
  return *names->emplace(name).first;
}

}  // namespace vigia
