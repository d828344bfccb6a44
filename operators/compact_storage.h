// compact_storage: containers for the per-key records detectors hold by the
// hundred thousand, where a record's size, not its speed, is what bounds the
// state (docs/performance.md).
//
// - ChunkedVector<T> is a growable array of records in fixed-size chunks:
//   indices are stable, growing never moves a record, and at most one chunk
//   is allocated beyond what is used (a std::vector holds up to twice its
//   size, and briefly three times while it grows).
// - SourceTable interns the (source, partition) of a SourceRef into a 32-bit
//   number, so a record keeps 4 bytes instead of a 24-byte view and
//   partition; there are as many entries as sources (files and Kafka topic
//   partitions), not records.
// - PackedStrings holds a few strings in one heap block behind one pointer:
//   8 bytes, against 32 per std::string plus their lengths.
// - SharedPackedStrings is the same block with a reference count, for
//   strings that several records hold (one post held by several keys).
// - CompactId holds an id string in 16 bytes, inline for ids of up to 15
//   bytes and for numeric ids of up to 30 digits.
//
// Values of one thread; not thread-safe.
#ifndef VIGIA_OPERATORS_COMPACT_STORAGE_H_
#define VIGIA_OPERATORS_COMPACT_STORAGE_H_

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "operators/snapshot.h"
#include "pipeline/core/types.h"

namespace vigia {

// A vector of default-constructed records, grown one record at a time, in
// chunks of kChunkSize (a power of two) records.
//
// Example:
//   ChunkedVector<Account> accounts;
//   Account& a = accounts.emplace_back();  // index accounts.size() - 1
//   accounts[i].id = ...;                  // references stay valid
template <typename T, size_t kChunkSize = 1024>
class ChunkedVector {
  static_assert(kChunkSize > 0 && (kChunkSize & (kChunkSize - 1)) == 0,
                "kChunkSize must be a power of two");

 public:
  ChunkedVector() = default;
  ChunkedVector(ChunkedVector&&) = default;
  ChunkedVector& operator=(ChunkedVector&&) = default;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Records allocated, used or not: size() rounded up to a whole chunk.
  size_t capacity() const { return chunks_.size() * kChunkSize; }

  // REQUIRES: i < size().
  T& operator[](size_t i) { return chunks_[i / kChunkSize][i % kChunkSize]; }
  const T& operator[](size_t i) const {
    return chunks_[i / kChunkSize][i % kChunkSize];
  }

  // Appends a default-constructed record and returns it. Records of a new
  // chunk are constructed with it, so this never moves or copies one.
  T& emplace_back() {
    if (size_ == capacity()) {
      chunks_.push_back(std::make_unique<T[]>(kChunkSize));
    }
    return (*this)[size_++];
  }

 private:
  std::vector<std::unique_ptr<T[]>> chunks_;
  size_t size_ = 0;
};

// Interned (source, partition) pairs of SourceRef.
//
// Example:
//   const uint32_t s = table.Intern(event.source);  // stored in a record
//   SourceRef r = table.Get(s, position);           // when quoting it
class SourceTable {
 public:
  // Returns the number of (source.source, source.partition), equal for equal
  // text and partition. REQUIRES: source.source outlives the table (as
  // SourceRef promises: it views a string of the reader).
  uint32_t Intern(const SourceRef& source) {
    // Records come from a handful of sources, mostly the same as the last.
    // Compared with the last name looked up, not the entry's: one name may
    // reach the table through two strings (the pipeline's copy of a source
    // it held back, then the reader's), and the entry keeps the first.
    if (last_ < entries_.size() && last_name_ == source.source.data() &&
        last_size_ == source.source.size() &&
        entries_[last_].second == source.partition) {
      return last_;
    }
    auto [it, added] =
        index_.try_emplace(Entry(source.source, source.partition),
                           static_cast<uint32_t>(entries_.size()));
    if (added) entries_.emplace_back(source.source, source.partition);
    last_ = it->second;
    last_name_ = source.source.data();
    last_size_ = source.source.size();
    return last_;
  }

  // The SourceRef of an interned number, at `position`. REQUIRES: `index`
  // was returned by Intern().
  SourceRef Get(uint32_t index, int64_t position) const {
    const Entry& e = entries_[index];
    return SourceRef{e.first, e.second, position};
  }

  size_t size() const { return entries_.size(); }

  // Snapshots (operators/snapshot.h): the (source, partition) pairs in
  // number order. Restore() fills an empty table; its names view
  // InternSourceName's copies.
  void Save(SnapshotWriter& w) const {
    w.U64(entries_.size());
    for (const Entry& e : entries_) {
      w.Str(e.first);
      w.I32(e.second);
    }
  }
  void Restore(SnapshotReader& r) {
    const size_t n = r.Count(2);
    for (size_t i = 0; i < n && r.ok(); ++i) {
      const std::string_view name = InternSourceName(r.StrView());
      const int32_t partition = r.I32();
      if (r.ok() && Intern(SourceRef{name, partition, 0}) != i) {
        r.Fail("source appears twice");
      }
    }
  }

 private:
  using Entry = std::pair<std::string_view, int32_t>;
  std::vector<Entry> entries_;
  absl::flat_hash_map<Entry, uint32_t> index_;
  uint32_t last_ = ~uint32_t{0};
  const char* last_name_ = nullptr;
  size_t last_size_ = 0;
};

namespace compact_storage_internal {

inline size_t VarintSize(size_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
inline char* PutVarint(char* w, size_t v) {
  while (v >= 0x80) {
    *w++ = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  *w++ = static_cast<char>(v);
  return w;
}
inline size_t GetVarint(const char** r) {
  size_t v = 0;
  int shift = 0;
  for (;;) {
    const auto b = static_cast<unsigned char>(*(*r)++);
    v |= static_cast<size_t>(b & 0x7f) << shift;
    if (b < 0x80) return v;
    shift += 7;
  }
}

// Bytes to pack `parts`: the count and lengths as varints, then the bytes.
inline size_t PackedSize(std::span<const std::string_view> parts) {
  size_t bytes = VarintSize(parts.size());
  for (std::string_view s : parts) bytes += VarintSize(s.size()) + s.size();
  return bytes;
}
// Packs `parts` at `w`, which has PackedSize(parts) bytes.
inline void Pack(std::span<const std::string_view> parts, char* w) {
  w = PutVarint(w, parts.size());
  for (std::string_view s : parts) w = PutVarint(w, s.size());
  for (std::string_view s : parts) {
    if (!s.empty()) std::memcpy(w, s.data(), s.size());
    w += s.size();
  }
}
inline size_t PackedCount(const char* r) { return GetVarint(&r); }
// The i-th string packed at `r`. REQUIRES: i < PackedCount(r).
inline std::string_view PackedAt(const char* r, size_t i) {
  const size_t n = GetVarint(&r);
  size_t offset = 0;
  size_t size = 0;
  for (size_t k = 0; k < n; ++k) {
    const size_t len = GetVarint(&r);
    if (k < i) offset += len;
    if (k == i) size = len;
  }
  return std::string_view(r + offset, size);
}

}  // namespace compact_storage_internal

// A few strings (fixed at construction) in one heap block: the number of
// strings and their lengths as base-128 varints, then their bytes. Empty
// (no block) when default-constructed. Move-only.
//
// Example:
//   PackedStrings p({post_id, account_id, url});
//   std::string_view account = p[1];
class PackedStrings {
 public:
  PackedStrings() = default;
  explicit PackedStrings(std::initializer_list<std::string_view> parts) {
    const std::span<const std::string_view> all(parts.begin(), parts.size());
    data_ = std::make_unique_for_overwrite<char[]>(
        compact_storage_internal::PackedSize(all));
    compact_storage_internal::Pack(all, data_.get());
  }
  PackedStrings(PackedStrings&&) = default;
  PackedStrings& operator=(PackedStrings&&) = default;

  // True when default-constructed (or moved from): no strings, no block.
  bool empty() const { return data_ == nullptr; }
  size_t count() const {
    return data_ == nullptr
               ? 0
               : compact_storage_internal::PackedCount(data_.get());
  }
  // The i-th string. REQUIRES: i < count().
  std::string_view operator[](size_t i) const {
    return compact_storage_internal::PackedAt(data_.get(), i);
  }

 private:
  std::unique_ptr<char[]> data_;
};

// PackedStrings whose block several holders share: the block starts with a
// reference count and is freed with its last holder. Share() is the only
// copy; moves take the holder's reference. Not thread-safe (the count is a
// plain integer), like the records that hold it.
//
// Example:
//   SharedPackedStrings post(parts);         // one block
//   url_member.text = post.Share();          // the same block, 2 holders
//   text_member.text = std::move(post);
class SharedPackedStrings {
 public:
  SharedPackedStrings() = default;
  explicit SharedPackedStrings(std::span<const std::string_view> parts) {
    block_ = new char[sizeof(uint32_t) +
                      compact_storage_internal::PackedSize(parts)];
    const uint32_t refs = 1;
    std::memcpy(block_, &refs, sizeof(refs));
    compact_storage_internal::Pack(parts, block_ + sizeof(uint32_t));
  }
  ~SharedPackedStrings() { Release(); }
  SharedPackedStrings(SharedPackedStrings&& o) noexcept
      : block_(std::exchange(o.block_, nullptr)) {}
  SharedPackedStrings& operator=(SharedPackedStrings&& o) noexcept {
    if (this != &o) {
      Release();
      block_ = std::exchange(o.block_, nullptr);
    }
    return *this;
  }
  SharedPackedStrings(const SharedPackedStrings&) = delete;
  SharedPackedStrings& operator=(const SharedPackedStrings&) = delete;

  // Another holder of the same block (empty when this is).
  SharedPackedStrings Share() const {
    SharedPackedStrings s;
    if (block_ != nullptr) {
      set_refs(refs() + 1);
      s.block_ = block_;
    }
    return s;
  }

  // True when default-constructed (or moved from): no strings, no block.
  bool empty() const { return block_ == nullptr; }
  size_t count() const {
    return block_ == nullptr ? 0
                             : compact_storage_internal::PackedCount(
                                   block_ + sizeof(uint32_t));
  }
  // The i-th string. REQUIRES: i < count().
  std::string_view operator[](size_t i) const {
    return compact_storage_internal::PackedAt(block_ + sizeof(uint32_t), i);
  }
  // Holders of the block (0 when empty).
  uint32_t refs() const {
    if (block_ == nullptr) return 0;
    uint32_t n;
    std::memcpy(&n, block_, sizeof(n));
    return n;
  }

 private:
  void set_refs(uint32_t n) const { std::memcpy(block_, &n, sizeof(n)); }
  void Release() {
    if (block_ == nullptr) return;
    const uint32_t n = refs();
    if (n == 1) {
      delete[] block_;
    } else {
      set_refs(n - 1);
    }
    block_ = nullptr;
  }

  char* block_ = nullptr;
};

// An id string (an account's, a post's) in 16 bytes with no heap block for
// the ids feeds carry: up to 15 bytes inline as they are, an id of 16 to 30
// decimal digits (platforms' numeric ids are 18-20 digits) inline two digits
// a byte, anything else in a heap block. The form is a function of the
// string, so two ids are equal exactly when their forms are; a record
// holding two ids saves 16 bytes against two 24-byte inline strings and
// keeps platform ids inline where those held only 23 bytes.
//
// Example:
//   CompactId id;
//   id.assign("1790000000000000042");    // 19 digits: inline, 10 bytes
//   CompactId::Scratch s;
//   std::string_view v = id.view(s);   // valid while s and id are
class CompactId {
 public:
  static constexpr size_t kInline = 15;
  static constexpr size_t kMaxDigits = 2 * kInline;
  // Where view() writes an id kept as digits (whole words: 32 bytes).
  using Scratch = char[32];

  CompactId() = default;
  ~CompactId() { FreeHeap(); }
  CompactId(CompactId&& o) noexcept { Take(o); }
  CompactId& operator=(CompactId&& o) noexcept {
    if (this != &o) {
      FreeHeap();
      Take(o);
    }
    return *this;
  }
  CompactId(const CompactId&) = delete;
  CompactId& operator=(const CompactId&) = delete;

  void assign(std::string_view s) {
    if (s.size() <= kInline) {
      FreeHeap();
      std::memcpy(bytes_, s.data(), s.size());
      tag_ = static_cast<uint8_t>(s.size());
      return;
    }
    char packed[kInline];
    if (s.size() <= kMaxDigits && PackDigits(s, packed)) {
      FreeHeap();
      std::memcpy(bytes_, packed, kInline);
      tag_ = static_cast<uint8_t>(s.size());
      return;
    }
    Heap h = is_heap() ? heap() : Heap{nullptr, 0, 0};
    if (h.capacity < s.size()) {
      FreeHeap();
      h = Heap{new char[s.size()], 0, ClipCapacity(s.size())};
    }
    std::memcpy(h.data, s.data(), s.size());
    h.size = static_cast<uint32_t>(s.size());
    std::memcpy(bytes_, &h, kHeapBytes);
    tag_ = kHeapTag;
  }
  void clear() { FreeHeap(); }
  bool empty() const { return tag_ == 0; }
  size_t size() const { return is_heap() ? heap().size : tag_; }

  // The id; its bytes are in `scratch` when it is kept as digits.
  std::string_view view(Scratch& scratch) const {
    if (is_heap()) {
      const Heap h = heap();
      return std::string_view(h.data, h.size);
    }
    if (tag_ <= kInline) return std::string_view(bytes_, tag_);
    UnpackDigits(bytes_, scratch);
    return std::string_view(scratch, tag_);
  }
  std::string str() const {
    Scratch scratch;
    return std::string(view(scratch));
  }
  bool operator==(std::string_view s) const {
    if (is_heap()) {
      const Heap h = heap();
      return s.size() == h.size && std::memcmp(s.data(), h.data, h.size) == 0;
    }
    if (s.size() != tag_) return false;
    if (tag_ <= kInline) return std::memcmp(s.data(), bytes_, tag_) == 0;
    char packed[kInline];
    return PackDigits(s, packed) && std::memcmp(packed, bytes_, kInline) == 0;
  }

 private:
  // Unaligned in bytes_, so that the id is 16 bytes of 1-byte alignment.
  struct Heap {
    char* data;
    uint32_t size;
    uint16_t capacity;  // what the block holds, capped: reused up to this
  };
  // The bytes of a Heap that are kept (not its tail padding).
  static constexpr size_t kHeapBytes = offsetof(Heap, capacity) + 2;
  static_assert(kHeapBytes <= kInline);
  static constexpr uint8_t kHeapTag = 0xff;

  // Digit i of `s` in nibble i of `out` (low nibble first), the nibbles
  // past s.size() 0; false when `s` is not all decimal digits. Eight bytes
  // at a time: this runs on every post posting_clock counts.
  // REQUIRES: s.size() <= kMaxDigits.
  static bool PackDigits(std::string_view s, char (&out)[kInline]) {
    static_assert(std::endian::native == std::endian::little);
    constexpr uint64_t kHigh = 0xF0F0F0F0F0F0F0F0;
    constexpr uint64_t kThrees = 0x3030303030303030;
    char padded[32];
    std::memset(padded, '0', sizeof(padded));
    std::memcpy(padded, s.data(), s.size());
    uint64_t bad = 0;
    char packed[16];
    for (int w = 0; w < 4; ++w) {
      uint64_t x;
      std::memcpy(&x, padded + 8 * w, 8);
      // Each byte 0x30-0x39: high nibble 3, and still 3 once 6 is added.
      bad |= ((x & kHigh) ^ kThrees) |
             (((x + 0x0606060606060606) & kHigh) ^ kThrees);
      uint64_t d = x & 0x0F0F0F0F0F0F0F0F;
      d = (d | (d >> 4)) & 0x00FF00FF00FF00FF;
      d = (d | (d >> 8)) & 0x0000FFFF0000FFFF;
      d = (d | (d >> 16)) & 0x00000000FFFFFFFF;
      const uint32_t four = static_cast<uint32_t>(d);
      std::memcpy(packed + 4 * w, &four, sizeof(four));
    }
    if (bad != 0) return false;
    std::memcpy(out, packed, kInline);
    return true;
  }
  // The inverse of PackDigits: 32 digits, of which the id's are the first.
  static void UnpackDigits(const char* packed, Scratch& out) {
    char p[16] = {};
    std::memcpy(p, packed, kInline);
    for (int w = 0; w < 4; ++w) {
      uint32_t four;
      std::memcpy(&four, p + 4 * w, sizeof(four));
      uint64_t d = four;
      d = (d | (d << 16)) & 0x0000FFFF0000FFFF;
      d = (d | (d << 8)) & 0x00FF00FF00FF00FF;
      d = (d & 0x000F000F000F000F) | ((d & 0x00F000F000F000F0) << 4);
      d |= 0x3030303030303030;
      std::memcpy(out + 8 * w, &d, sizeof(d));
    }
  }
  static uint16_t ClipCapacity(size_t n) {
    return static_cast<uint16_t>(std::min<size_t>(n, 0xffff));
  }
  bool is_heap() const { return tag_ == kHeapTag; }
  Heap heap() const {
    Heap h;
    std::memcpy(&h, bytes_, kHeapBytes);
    return h;
  }
  void FreeHeap() {
    if (is_heap()) delete[] heap().data;
    tag_ = 0;
  }
  void Take(CompactId& o) {
    std::memcpy(bytes_, o.bytes_, kInline);
    tag_ = o.tag_;
    o.tag_ = 0;
  }

  char bytes_[kInline] = {};
  // 0-15: that many bytes inline; 16-30: that many digits inline; kHeapTag.
  uint8_t tag_ = 0;
};
static_assert(sizeof(CompactId) == 16 && alignof(CompactId) == 1);

}  // namespace vigia

#endif  // VIGIA_OPERATORS_COMPACT_STORAGE_H_
