// Snapshots: the versioned binary format detector state is written in, so a
// restarted pipeline (or a replay started from a file) continues where
// another stopped: no warm-up, no second `firing` for an open episode.
//
// A snapshot is
//   magic "VIGIASNP" | format version (varint) | config hash (string)
//   | sections... | end marker (empty name) | CRC32C of everything before
//   (4 bytes, little endian)
// and a section is
//   name (string) | version (varint) | payload length (8 bytes LE) | payload.
// Each detector writes one section named after it, with its own version, in
// its .cc (Operator::SaveState / RestoreState); the pipeline and the replay
// add their own. Numbers are varints (signed ones zigzag), floating point is
// raw IEEE (4 or 8 bytes LE), strings are length-prefixed. Section payloads
// are length-prefixed, so a reader knows where each detector's bytes end.
//
// Reading never trusts the bytes: every read is bounds-checked, element
// counts are checked against the bytes left before anything is allocated,
// and the first problem is kept as a sticky error naming the section and the
// byte offset (SnapshotReader::status()). Later reads then return zeros, so
// restore code reads straight through and checks once at the end. A reader
// that ends a section with bytes left over also fails: a section is either
// understood completely or refused.
//
// Writers and readers are used on one thread; no shared state.
#ifndef VIGIA_OPERATORS_SNAPSHOT_H_
#define VIGIA_OPERATORS_SNAPSHOT_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace vigia {

// CRC32C (Castagnoli) of `data`, continuing from `crc` (0 to start).
uint32_t Crc32c(std::string_view data, uint32_t crc = 0);

// Appends primitives to a growing byte string.
class SnapshotWriter {
 public:
  void U64(uint64_t v);
  void I64(int64_t v) {
    U64((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }
  void U32(uint32_t v) { U64(v); }
  void I32(int32_t v) { I64(v); }
  void Bool(bool v) { out_.push_back(v ? 1 : 0); }
  void F32(float v);
  void F64(double v);
  void Fixed64(uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>(v >> (8 * i)));
  }
  // Raw bytes, no length: the reader knows how many.
  void Bytes(std::string_view b) { out_.append(b); }
  void Str(std::string_view s) {
    U64(s.size());
    out_.append(s);
  }
  // Microseconds since the epoch; the infinite times get their own codes.
  void Time(absl::Time t);
  void Duration(absl::Duration d) { I64(absl::ToInt64Microseconds(d)); }

  // A section: everything written until EndSection() is its payload.
  // Sections do not nest.
  void BeginSection(std::string_view name, uint32_t version);
  void EndSection();

  size_t size() const { return out_.size(); }
  std::string& bytes() { return out_; }

 private:
  std::string out_;
  size_t section_length_at_ = 0;
};

inline constexpr std::string_view kSnapshotMagic = "VIGIASNP";
// 2: BucketEvidence carries a ReachSketch (operators/evidence.h); a section
// of a version 1 snapshot restores with empty reach.
inline constexpr uint32_t kSnapshotFormatVersion = 2;

// Reads primitives from bytes it does not own, keeping the first error.
class SnapshotReader {
 public:
  // `base` is the offset of data[0] in the whole snapshot, for messages;
  // `what` names the part being read ("detector foreign_share").
  SnapshotReader(std::string_view data, size_t base, std::string what)
      : data_(data), base_(base), what_(std::move(what)) {}

  uint64_t U64();
  int64_t I64() {
    const uint64_t u = U64();
    return static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
  }
  uint32_t U32();
  int32_t I32();
  bool Bool();
  float F32();
  double F64();
  std::string Str();
  std::string_view StrView();
  uint64_t Fixed64();
  // The next `n` bytes as they are.
  std::string_view Bytes(size_t n);
  absl::Time Time();
  absl::Duration Duration() { return absl::Microseconds(I64()); }

  // A count of elements that take at least `min_bytes` each: refused (0)
  // when the bytes left cannot hold them, so a corrupt count never makes a
  // restore allocate gigabytes.
  size_t Count(size_t min_bytes = 1);
  // An integer in [lo, hi]; anything else fails with `field` named.
  int64_t Int(int64_t lo, int64_t hi, std::string_view field);

  // Records an error at the current offset (the first one wins).
  void Fail(std::string_view why);
  bool ok() const { return status_.ok(); }
  // The first error, or DataLoss/FailedPrecondition naming the section and
  // offset; OK while nothing failed.
  const absl::Status& status() const { return status_; }
  // OK when the data was read to its last byte without error; fails with
  // "trailing bytes" otherwise.
  absl::Status Finish();

  size_t offset() const { return base_ + pos_; }
  size_t remaining() const { return data_.size() - pos_; }

  // The format version of the snapshot being read (SectionReader sets it),
  // for shared pieces whose layout changed with it; the current one for a
  // reader made directly.
  uint32_t format_version() const { return format_version_; }
  void set_format_version(uint32_t v) { format_version_ = v; }

 private:
  bool Need(size_t n);

  std::string_view data_;
  size_t pos_ = 0;
  size_t base_;
  std::string what_;
  absl::Status status_;
  uint32_t format_version_ = kSnapshotFormatVersion;
};

// A parsed snapshot: the header, and the sections in file order. Views into
// the bytes passed to ParseSnapshot, which must outlive it.
struct SnapshotSection {
  std::string_view name;
  uint32_t version = 0;
  std::string_view payload;
  size_t offset = 0;  // of the payload in the snapshot
  uint32_t format_version = kSnapshotFormatVersion;  // the snapshot's
};
struct ParsedSnapshot {
  uint32_t format_version = 0;
  std::string config_hash;
  std::vector<SnapshotSection> sections;

  // The section called `name`, or nullptr.
  const SnapshotSection* Find(std::string_view name) const;
};

// Starts a snapshot (magic, format version, config hash) in `w`.
void BeginSnapshot(SnapshotWriter& w, std::string_view config_hash);
// Ends it: the end marker and the checksum. Returns the bytes.
std::string FinishSnapshot(SnapshotWriter& w);

// Checks magic, format version, checksum and framing. DataLoss for
// truncated or corrupt bytes, FailedPrecondition for a snapshot of a newer
// format; every message says at which byte.
absl::StatusOr<ParsedSnapshot> ParseSnapshot(std::string_view bytes);

// A reader over one section's payload, and a check of its version:
// FailedPrecondition (naming the section) when it is newer than
// `max_version`, the newest this build reads.
SnapshotReader SectionReader(const SnapshotSection& section);
absl::Status CheckSectionVersion(const SnapshotSection& section,
                                 uint32_t max_version);

// Restored evidence quotes sources by name (SourceRef::source views a string
// that outlives the pipeline). Returns a view of an interned copy of `name`
// that lives for the rest of the process; a handful of distinct names (files,
// topics), so never freed. Thread-safe.
std::string_view InternSourceName(std::string_view name);

}  // namespace vigia

#endif  // VIGIA_OPERATORS_SNAPSHOT_H_
