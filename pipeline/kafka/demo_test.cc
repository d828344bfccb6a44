#include "pipeline/kafka/demo.h"

#include <sstream>

#include "gtest/gtest.h"

namespace vigia {
namespace {

TEST(HumanAlertSink, PrintsOneLineAPersonCanRead) {
  std::ostringstream out;
  HumanAlertSink sink(out);
  Alert a;
  a.id = "abc123";
  a.detector = "foreign_origin_surge";
  a.severity = Severity::kCritical;
  a.target = CountryCode::FromString("MD");
  a.origin = CountryCode::FromString("RU");
  a.window_start = absl::FromUnixSeconds(1778428800);
  a.window_end = a.window_start + absl::Minutes(10);
  a.summary = "142 posts vs 21.3 expected";
  ASSERT_TRUE(sink.Write(a).ok());
  EXPECT_EQ(out.str(),
            "FIRING   critical foreign_origin_surge MD<-RU window "
            "2026-05-10T16:00:00.000Z .. 2026-05-10T16:10:00.000Z: 142 posts "
            "vs 21.3 expected [abc123]\n");
}

}  // namespace
}  // namespace vigia
