#include "operators/compact_storage.h"

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace vigia {
namespace {

TEST(ChunkedVector, KeepsRecordsInPlaceAsItGrows) {
  ChunkedVector<std::string, 4> v;
  EXPECT_TRUE(v.empty());
  std::vector<const std::string*> where;
  for (int i = 0; i < 10; ++i) {
    std::string& s = v.emplace_back();
    EXPECT_TRUE(s.empty());
    s = "record " + std::to_string(i);
    where.push_back(&s);
  }
  ASSERT_EQ(v.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(v[i], "record " + std::to_string(i));
    EXPECT_EQ(&v[i], where[i]) << "record " << i << " moved";
  }
}

TEST(ChunkedVector, AllocatesAtMostOneChunkBeyondItsSize) {
  ChunkedVector<int64_t, 8> v;
  EXPECT_EQ(v.capacity(), 0u);
  v.emplace_back();
  EXPECT_EQ(v.capacity(), 8u);
  for (int i = 1; i < 8; ++i) v.emplace_back();
  EXPECT_EQ(v.capacity(), 8u);
  v.emplace_back();
  EXPECT_EQ(v.capacity(), 16u);
  const ChunkedVector<int64_t, 8>& c = v;
  EXPECT_EQ(c[8], 0);
}

TEST(SourceTable, GivesEqualSourcesOneNumber) {
  SourceTable t;
  const std::string posts = "vigia.posts";
  const std::string posts_copy = "vigia.posts";  // same text, other bytes
  const std::string file = "feed.ndjson";
  const uint32_t p0 = t.Intern(SourceRef{posts, 0, 10});
  const uint32_t p1 = t.Intern(SourceRef{posts, 1, 11});
  const uint32_t f = t.Intern(SourceRef{file, -1, 12});
  EXPECT_NE(p0, p1);
  EXPECT_NE(p0, f);
  EXPECT_NE(p1, f);
  EXPECT_EQ(t.Intern(SourceRef{posts, 0, 99}), p0);
  EXPECT_EQ(t.Intern(SourceRef{posts_copy, 0, 99}), p0);
  EXPECT_EQ(t.Intern(SourceRef{posts, 1, 5}), p1);
  EXPECT_EQ(t.size(), 3u);
  // Runs from the copy (the pipeline's held records, then the reader's),
  // then from another source on the same partition, then back.
  EXPECT_EQ(t.Intern(SourceRef{posts_copy, 1, 6}), p1);
  EXPECT_EQ(t.Intern(SourceRef{posts_copy, 1, 7}), p1);
  EXPECT_EQ(t.Intern(SourceRef{posts_copy, 0, 8}), p0);
  EXPECT_EQ(t.Intern(SourceRef{file, -1, 9}), f);
  EXPECT_EQ(t.Intern(SourceRef{posts_copy, 0, 10}), p0);
  EXPECT_EQ(t.size(), 3u);

  const SourceRef r = t.Get(p1, 42);
  EXPECT_EQ(r.source, "vigia.posts");
  EXPECT_EQ(r.partition, 1);
  EXPECT_EQ(r.position, 42);
  const SourceRef g = t.Get(f, 7);
  EXPECT_EQ(g.source, "feed.ndjson");
  EXPECT_EQ(g.partition, -1);
  EXPECT_EQ(g.position, 7);
}

TEST(PackedStrings, HoldsItsStringsInOrder) {
  const PackedStrings p({"post-1", "", "https://example.org/a"});
  ASSERT_FALSE(p.empty());
  ASSERT_EQ(p.count(), 3u);
  EXPECT_EQ(p[0], "post-1");
  EXPECT_EQ(p[1], "");
  EXPECT_EQ(p[2], "https://example.org/a");
}

TEST(PackedStrings, IsEmptyWhenDefaultOrMovedFrom) {
  PackedStrings p;
  EXPECT_TRUE(p.empty());
  EXPECT_EQ(p.count(), 0u);
  PackedStrings q({"x"});
  p = std::move(q);
  EXPECT_EQ(p.count(), 1u);
  EXPECT_EQ(p[0], "x");
  EXPECT_TRUE(q.empty());  // NOLINT(bugprone-use-after-move): documented
}

TEST(SharedPackedStrings, HoldersShareOneBlockFreedWithTheLast) {
  const std::string_view parts[] = {"post-1", "acct-1", "",
                                    "https://a.example"};
  auto first = std::make_unique<SharedPackedStrings>(parts);
  ASSERT_EQ(first->count(), 4u);
  EXPECT_EQ(first->refs(), 1u);
  SharedPackedStrings second = first->Share();
  SharedPackedStrings third = second.Share();
  EXPECT_EQ(first->refs(), 3u);
  EXPECT_EQ(&(*first)[1][0], &second[1][0]);  // one block, not copies
  first.reset();
  EXPECT_EQ(second.refs(), 2u);
  EXPECT_EQ(second[0], "post-1");
  EXPECT_EQ(second[2], "");
  EXPECT_EQ(third[3], "https://a.example");
  SharedPackedStrings moved = std::move(second);
  EXPECT_TRUE(second.empty());  // NOLINT(bugprone-use-after-move): documented
  EXPECT_EQ(second.count(), 0u);
  EXPECT_EQ(moved.refs(), 2u);
  moved = SharedPackedStrings();  // releases its reference
  EXPECT_EQ(third.refs(), 1u);
  EXPECT_EQ(third[1], "acct-1");
  EXPECT_TRUE(SharedPackedStrings().Share().empty());
}

// Lengths of 128 bytes and more take more than one varint byte; strings may
// hold any byte, NUL included.
TEST(PackedStrings, KeepsLongStringsAndAnyBytes) {
  std::mt19937 rng(7);
  SCOPED_TRACE("seed 7");
  for (int round = 0; round < 200; ++round) {
    std::vector<std::string> parts(1 + rng() % 4);
    for (std::string& s : parts) {
      const size_t n = rng() % 3 == 0 ? rng() % 20000 : rng() % 200;
      for (size_t i = 0; i < n; ++i) s.push_back(static_cast<char>(rng()));
    }
    std::vector<std::string_view> views(parts.begin(), parts.end());
    PackedStrings p;
    switch (views.size()) {
      case 1:
        p = PackedStrings({views[0]});
        break;
      case 2:
        p = PackedStrings({views[0], views[1]});
        break;
      case 3:
        p = PackedStrings({views[0], views[1], views[2]});
        break;
      default:
        p = PackedStrings({views[0], views[1], views[2], views[3]});
        break;
    }
    ASSERT_EQ(p.count(), parts.size());
    for (size_t i = 0; i < parts.size(); ++i) {
      EXPECT_EQ(p[i], parts[i]) << "round " << round << " part " << i;
    }
  }
}

// Each form (bytes inline, digits inline, heap) gives back the id it was
// given, equals exactly the ids equal to it, and survives reassignment
// from one form to another and moves.
TEST(CompactId, HoldsEveryFormAndComparesByValue) {
  const std::vector<std::string> ids = {
      "",
      "k-1",
      "acct-000000123",
      "123456789012345",                  // 15 digits: bytes inline
      "1234567890123456",                 // 16 digits: digits inline
      "0000000000000000009",              // leading zeros kept
      "1790000000000000042",              // a platform id
      "999999999999999999999999999999",   // 30 digits: the most inline
      "9999999999999999999999999999999",  // 31 digits: heap
      "123456789012345x",                 // 16 bytes, not all digits: heap
      std::string("12345678901234567\0", 18),
      std::string(70000, 'z'),  // longer than the capacity field counts
  };
  CompactId::Scratch scratch;
  CompactId reused;
  for (const std::string& s : ids) {
    SCOPED_TRACE(s.substr(0, 40));
    CompactId id;
    id.assign(s);
    EXPECT_EQ(id.view(scratch), s);
    EXPECT_EQ(id.str(), s);
    EXPECT_EQ(id.size(), s.size());
    EXPECT_EQ(id.empty(), s.empty());
    for (const std::string& other : ids) {
      EXPECT_EQ(id == other, s == other) << other.substr(0, 40);
    }
    // The last form held by `reused` is any other one.
    reused.assign(s);
    EXPECT_EQ(reused.str(), s);
    CompactId moved(std::move(id));
    EXPECT_EQ(moved.str(), s);
    EXPECT_TRUE(id.empty());  // NOLINT(bugprone-use-after-move)
    id = std::move(moved);
    EXPECT_EQ(id.str(), s);
    id.clear();
    EXPECT_TRUE(id.empty());
    EXPECT_TRUE(id == "");
  }
  // A heap id reassigned a shorter id that needs the heap reuses it.
  reused.assign(std::string(40, 'a'));
  reused.assign(std::string(35, 'b'));
  EXPECT_EQ(reused.str(), std::string(35, 'b'));
  reused.assign(std::string(45, 'c'));
  EXPECT_EQ(reused.str(), std::string(45, 'c'));
}

// Random ids near the forms' limits, in digits and not.
TEST(CompactId, GivesBackRandomIds) {
  std::mt19937 rng(11);
  SCOPED_TRACE("seed 11");
  CompactId id;
  CompactId::Scratch scratch;
  for (int round = 0; round < 5000; ++round) {
    std::string s(rng() % 40, '0');
    const bool digits = rng() % 2 == 0;
    for (char& c : s) {
      c = digits ? static_cast<char>('0' + rng() % 10)
                 : static_cast<char>(rng());
    }
    id.assign(s);
    ASSERT_EQ(id.view(scratch), s) << "round " << round;
    ASSERT_TRUE(id == s) << "round " << round;
    if (!s.empty()) {
      std::string t = s;
      t.back() = t.back() == '1' ? '2' : '1';
      ASSERT_FALSE(id == t) << "round " << round;
      ASSERT_FALSE(id == s.substr(1)) << "round " << round;
    }
  }
}

// Ids of digits but one byte next to the digits ('/', ':', ...) at each
// position are not taken for digits.
TEST(CompactId, TellsDigitsFromTheirNeighbours) {
  CompactId id;
  CompactId::Scratch scratch;
  for (size_t n = CompactId::kInline + 1; n <= CompactId::kMaxDigits; ++n) {
    for (size_t at = 0; at < n; ++at) {
      for (char c : {'/', ':', '?', '@', '\x80', '\xb0', '\xb9', '\0'}) {
        std::string s(n, '7');
        s[at] = c;
        id.assign(s);
        ASSERT_EQ(id.view(scratch), s) << n << " " << at << " " << int{c};
        std::string digits(n, '7');
        ASSERT_FALSE(id == digits) << n << " " << at << " " << int{c};
        CompactId d;
        d.assign(digits);
        ASSERT_FALSE(d == s) << n << " " << at << " " << int{c};
      }
    }
  }
}

}  // namespace
}  // namespace vigia
