#include "operators/cap_hits.h"

#include <string>

#include "gtest/gtest.h"
#include "operators/snapshot.h"
#include "pipeline/core/types.h"

namespace vigia {
namespace {

const CountryCode kMd = CountryCode::FromChars('M', 'D');
const CountryCode kRo = CountryCode::FromChars('R', 'O');
const CountryCode kUa = CountryCode::FromChars('U', 'A');

bool IsMd(CountryCode c) { return c == kMd; }
bool IsNotMd(CountryCode c) { return c != kMd; }

CapHits Sample() {
  CapHits hits;
  for (int i = 0; i < 3; ++i) hits.Hit(kRo);
  for (int i = 0; i < 2; ++i) hits.Hit(kMd);
  hits.Hit(kUa);
  hits.Hit(CountryCode());  // no known target: the total only
  return hits;
}

TEST(CapHits, ASplitKeepsEachPartsTargetsAndAMergeAddsThemOnce) {
  CapHits a = Sample();
  CapHits b = Sample();
  EXPECT_EQ(a.total(), 7);
  a.RetainTargets(IsMd);
  b.RetainTargets(IsNotMd);
  EXPECT_EQ(a.total(), 2);
  EXPECT_EQ(b.total(), 4);  // RO and UA; the unknown target's hit is gone
  EXPECT_EQ(b.of(kRo), 3);
  a.Absorb(b);
  EXPECT_EQ(a.total(), 6);
  EXPECT_EQ(a.of(kMd), 2);
  EXPECT_EQ(a.of(kRo), 3);
  EXPECT_EQ(a.of(kUa), 1);
  // Merged again with the same split: still once.
  CapHits c = a;
  a.RetainTargets(IsMd);
  c.RetainTargets(IsNotMd);
  a.Absorb(c);
  EXPECT_EQ(a.total(), 6);
}

TEST(CapHits, SavesAndRestoresPerTargetOrTheTotalAlone) {
  const CapHits hits = Sample();
  SnapshotWriter w;
  hits.Save(w, true);
  CapHits back;
  SnapshotReader r(w.bytes(), 0, "cap hits");
  back.Restore(r, true);
  ASSERT_TRUE(r.Finish().ok()) << r.status();
  EXPECT_EQ(back.total(), 7);
  EXPECT_EQ(back.of(kRo), 3);
  SnapshotWriter again;
  back.Save(again, true);
  EXPECT_EQ(again.bytes(), w.bytes());

  // The older sections' total: every hit of no known target, so a split
  // keeps none of them (rather than all of them in every part).
  SnapshotWriter old;
  hits.Save(old, false);
  CapHits total_only;
  SnapshotReader r2(old.bytes(), 0, "cap hits");
  total_only.Restore(r2, false);
  ASSERT_TRUE(r2.Finish().ok());
  EXPECT_EQ(total_only.total(), 7);
  EXPECT_EQ(total_only.of(kRo), 0);
  total_only.RetainTargets(IsNotMd);
  EXPECT_EQ(total_only.total(), 0);
}

TEST(CapHits, RefusesTargetsOutOfOrderOrAboveTheTotal) {
  const auto restore = [](int64_t total, uint32_t first, uint32_t second) {
    SnapshotWriter w;
    w.I64(total);
    w.U64(2);
    w.U32(first);
    w.I64(1);
    w.U32(second);
    w.I64(1);
    CapHits hits;
    SnapshotReader r(w.bytes(), 0, "cap hits");
    hits.Restore(r, true);
    return r.Finish();
  };
  EXPECT_TRUE(restore(2, kMd.packed(), kRo.packed()).ok());
  EXPECT_FALSE(restore(2, kRo.packed(), kMd.packed()).ok());
  EXPECT_FALSE(restore(2, kMd.packed(), kMd.packed()).ok());
  EXPECT_FALSE(restore(1, kMd.packed(), kRo.packed()).ok());
  EXPECT_FALSE(restore(2, kMd.packed(), 0x1234).ok());
  EXPECT_FALSE(restore(-1, kMd.packed(), kRo.packed()).ok());
}

}  // namespace
}  // namespace vigia
