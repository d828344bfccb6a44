#include "operators/compact_storage.h"

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
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

}  // namespace
}  // namespace vigia
