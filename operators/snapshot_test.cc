#include "operators/snapshot.h"

#include <cstdint>
#include <limits>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vigia {
namespace {

using ::testing::HasSubstr;

TEST(Crc32c, MatchesTheStandardCheckValue) {
  // The CRC-32C check value of "123456789" (RFC 3720, appendix B.4).
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c("6789", Crc32c("12345")), 0xE3069283u);
}

TEST(Snapshot, PrimitivesRoundTripAtTheirExtremes) {
  SnapshotWriter w;
  const int64_t min64 = std::numeric_limits<int64_t>::min();
  const int64_t max64 = std::numeric_limits<int64_t>::max();
  w.U64(0);
  w.U64(std::numeric_limits<uint64_t>::max());
  w.I64(min64);
  w.I64(max64);
  w.I64(-1);
  w.I32(std::numeric_limits<int32_t>::min());
  w.Bool(true);
  w.F32(-0.5f);
  w.F64(1e300);
  w.Str("");
  w.Str(std::string(300, 'x'));
  w.Time(absl::InfinitePast());
  w.Time(absl::InfiniteFuture());
  w.Time(absl::FromUnixMicros(-1));
  w.Duration(absl::Minutes(5));
  SnapshotReader r(w.bytes(), 0, "test");
  EXPECT_EQ(r.U64(), 0u);
  EXPECT_EQ(r.U64(), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(r.I64(), min64);
  EXPECT_EQ(r.I64(), max64);
  EXPECT_EQ(r.I64(), -1);
  EXPECT_EQ(r.I32(), std::numeric_limits<int32_t>::min());
  EXPECT_TRUE(r.Bool());
  EXPECT_EQ(r.F32(), -0.5f);
  EXPECT_EQ(r.F64(), 1e300);
  EXPECT_EQ(r.Str(), "");
  EXPECT_EQ(r.Str(), std::string(300, 'x'));
  EXPECT_EQ(r.Time(), absl::InfinitePast());
  EXPECT_EQ(r.Time(), absl::InfiniteFuture());
  EXPECT_EQ(r.Time(), absl::FromUnixMicros(-1));
  EXPECT_EQ(r.Duration(), absl::Minutes(5));
  EXPECT_TRUE(r.Finish().ok()) << r.status();
}

TEST(Snapshot, TheFirstErrorStaysAndNamesWhatAndWhere) {
  SnapshotWriter w;
  w.U32(7);
  w.Str("abc");
  SnapshotReader r(w.bytes(), 100, "section foo");
  EXPECT_EQ(r.U32(), 7u);
  EXPECT_EQ(r.Count(10), 0u);  // 3 elements of 10 bytes: not in 3 bytes
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(r.status().message(), HasSubstr("section foo at byte 102"));
  EXPECT_THAT(r.status().message(), HasSubstr("count 3"));
  // Later reads return zeros and keep the first error.
  EXPECT_EQ(r.U64(), 0u);
  EXPECT_THAT(r.Finish().message(), HasSubstr("count 3"));
}

TEST(Snapshot, MalformedValuesAreRefused) {
  {
    const std::string eleven(11, '\xff');  // a varint that never ends
    SnapshotReader r(eleven, 0, "t");
    r.U64();
    EXPECT_THAT(r.status().message(), HasSubstr("malformed varint"));
  }
  {
    SnapshotWriter w;
    w.U64(uint64_t{1} << 40);
    SnapshotReader r(w.bytes(), 0, "t");
    r.U32();
    EXPECT_THAT(r.status().message(), HasSubstr("32 bits"));
  }
  {
    const std::string two = "\x02";
    SnapshotReader r(two, 0, "t");
    r.Bool();
    EXPECT_THAT(r.status().message(), HasSubstr("boolean"));
  }
  {
    SnapshotWriter w;
    w.I64(12);
    SnapshotReader r(w.bytes(), 0, "t");
    r.Int(0, 10, "rung");
    EXPECT_THAT(r.status().message(), HasSubstr("rung 12 out of range"));
  }
  {
    SnapshotWriter w;
    w.Str("abcdef");
    std::string cut = w.bytes().substr(0, 4);
    SnapshotReader r(cut, 0, "t");
    r.Str();
    EXPECT_THAT(r.status().message(), HasSubstr("truncated"));
  }
}

TEST(Snapshot, SectionsFrameAndParse) {
  SnapshotWriter w;
  BeginSnapshot(w, "hash");
  w.BeginSection("one", 1);
  w.U64(42);
  w.EndSection();
  w.BeginSection("two", 3);
  w.EndSection();
  const std::string bytes = FinishSnapshot(w);
  absl::StatusOr<ParsedSnapshot> p = ParseSnapshot(bytes);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->config_hash, "hash");
  ASSERT_EQ(p->sections.size(), 2u);
  const SnapshotSection* one = p->Find("one");
  ASSERT_NE(one, nullptr);
  SnapshotReader r = SectionReader(*one);
  EXPECT_EQ(r.U64(), 42u);
  EXPECT_TRUE(r.Finish().ok());
  EXPECT_TRUE(CheckSectionVersion(*p->Find("two"), 3).ok());
  const absl::Status newer = CheckSectionVersion(*p->Find("two"), 2);
  EXPECT_EQ(newer.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(newer.message(), HasSubstr("section two"));
  EXPECT_THAT(newer.message(), HasSubstr("newer"));
  EXPECT_EQ(p->Find("three"), nullptr);
}

TEST(Snapshot, ARepeatedSectionIsRefused) {
  SnapshotWriter w;
  BeginSnapshot(w, "hash");
  for (int i = 0; i < 2; ++i) {
    w.BeginSection("one", 1);
    w.EndSection();
  }
  const absl::StatusOr<ParsedSnapshot> p = ParseSnapshot(FinishSnapshot(w));
  EXPECT_THAT(p.status().message(), HasSubstr("appears twice"));
}

TEST(Snapshot, InternedSourceNamesAreStable) {
  const std::string_view a = InternSourceName("feed.ndjson");
  for (int i = 0; i < 1000; ++i) InternSourceName(std::to_string(i));
  EXPECT_EQ(InternSourceName("feed.ndjson").data(), a.data());
  EXPECT_EQ(a, "feed.ndjson");
}

}  // namespace
}  // namespace vigia
