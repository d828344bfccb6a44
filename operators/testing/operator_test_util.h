// The scaffolding every operator test shares: an AlertEmitter that keeps
// what it is given, an OperatorDriver that feeds events with explicit
// watermarks (stamping ids and source coordinates as the pipeline would),
// and the country codes and fixed instants tests write events with.
//
// Example:
//   OperatorDriver d([](const OperatorContext& c) {
//     return MakeForeignOriginSurge({}, c);
//   });
//   d.Step(absl::Minutes(1), posts, [&](const Post& p, absl::Time t) {
//     Event e;  // the test's own fields
//     e.created_at = t;
//     d.Observe(e);
//   });
//   EXPECT_THAT(d.alerts(), IsEmpty());
//
// Test-only (library vigia::operators_testing); single-threaded.
#ifndef VIGIA_OPERATORS_TESTING_OPERATOR_TEST_UTIL_H_
#define VIGIA_OPERATORS_TESTING_OPERATOR_TEST_UTIL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "operators/operator.h"
#include "pipeline/core/alert.h"
#include "pipeline/core/event.h"
#include "pipeline/core/types.h"

namespace vigia {

inline constexpr CountryCode kBY = CountryCode::FromChars('B', 'Y');
inline constexpr CountryCode kCN = CountryCode::FromChars('C', 'N');
inline constexpr CountryCode kDE = CountryCode::FromChars('D', 'E');
inline constexpr CountryCode kFR = CountryCode::FromChars('F', 'R');
inline constexpr CountryCode kMD = CountryCode::FromChars('M', 'D');
inline constexpr CountryCode kRO = CountryCode::FromChars('R', 'O');
inline constexpr CountryCode kRU = CountryCode::FromChars('R', 'U');
inline constexpr CountryCode kUA = CountryCode::FromChars('U', 'A');
inline constexpr CountryCode kUS = CountryCode::FromChars('U', 'S');

// A minute boundary, 2026-11-18T11:07:00Z, that operator tests start at.
inline const absl::Time kTestStart =
    absl::FromUnixSeconds(1'795'000'020 / 60 * 60);

// Keeps every alert emitted, in order.
class AlertCollector final : public AlertEmitter {
 public:
  void Emit(Alert alert) override { alerts.push_back(std::move(alert)); }
  std::vector<Alert> alerts;
};

// How an OperatorDriver stamps events and builds the operator's context.
struct DriverOptions {
  std::string config_hash = "cfg-1234";
  std::string source = "feed.ndjson";  // SourceRef::source of every event
  std::string id_prefix = "e";         // ids are prefix + line: e1, e2, ...
  absl::Time start = kTestStart;       // now() before the first step
  int max_samples = 4;
  int top_n = 3;
};

// The context an operator under test is built with.
OperatorContext TestOperatorContext(const DriverOptions& options = {});

// Owns one operator and feeds it as the pipeline would, on explicit
// watermarks: Observe() numbers events like lines of one file, Step()
// spreads a batch of events over a step of event time and then moves the
// watermark to the step's end.
class OperatorDriver {
 public:
  using Factory =
      std::function<std::unique_ptr<Operator>(const OperatorContext&)>;

  explicit OperatorDriver(const Factory& make, DriverOptions options = {});

  // Observes `event` stamped with the next id (`id_prefix` + line) and the
  // source coordinates (`source`, line). The event's other strings must
  // outlive the call only.
  void Observe(Event event);
  // The same, stamped as line `line` of the source: runs fed different
  // parts of one stream (split by target) then give each record the same
  // id and position. Later Observe() calls number on from `line`.
  void Observe(Event event, int64_t line);

  // Calls send(item, t) for each item, at times spread evenly over
  // [now(), now() + step), then sets now() to the step's end and moves the
  // watermark there.
  template <typename T, typename Send>
  void Step(absl::Duration step, const std::vector<T>& items, Send&& send) {
    const absl::Time start = now_;
    for (size_t i = 0; i < items.size(); ++i) {
      send(items[i], start + step * static_cast<double>(i) /
                                 static_cast<double>(items.size()));
    }
    now_ = start + step;
    Watermark(now_);
  }

  // Tells the operator event time is complete up to `t`.
  void Watermark(absl::Time t) { op_->AdvanceWatermark(t, out_); }

  Operator& op() { return *op_; }
  const Operator& op() const { return *op_; }
  const std::vector<Alert>& alerts() const { return out_.alerts; }
  AlertEmitter& emitter() { return out_; }
  absl::Time now() const { return now_; }
  void set_now(absl::Time t) { now_ = t; }
  // Events observed so far (the last event's line).
  int64_t line() const { return line_; }
  // Numbers the next event `line` + 1: drivers fed different shares of
  // one feed (a detector's state split by target) then stamp each event
  // as one driver fed all of it would.
  void set_line(int64_t line) { line_ = line; }

 private:
  const DriverOptions options_;
  std::unique_ptr<Operator> op_;
  AlertCollector out_;
  absl::Time now_;
  int64_t line_ = 0;
};

// The operator's state as SaveState() writes it (a snapshot section's
// payload), and restored into a freshly built operator of the same options
// at the operator's own state_version().
std::string SaveOperatorState(const Operator& op);
absl::Status RestoreOperatorState(std::string_view state, Operator& op);

// Views of `strings`, for the Event spans (urls, hashtags, languages),
// which do not own. `strings` must outlive the views.
std::vector<std::string_view> Views(const std::vector<std::string>& strings);

// Each alert as what must not depend on the order events arrive in within
// a watermark step: "id state window_end observed expected score" (the
// evidence samples and their lines follow the arrival order).
std::vector<std::string> AlertOutcomes(const std::vector<Alert>& alerts);

// Each alert's (severity, state), to check the escalation ladder an
// episode climbs: EXPECT_THAT(SeverityStates(a), ElementsAre(...)).
std::vector<std::pair<Severity, AlertState>> SeverityStates(
    const std::vector<Alert>& alerts);

// Sends `events` (each with its event time `t`, in time order) in steps of
// four hours, moving the watermark to each step's end. With `ahead_first`
// each step's later two hours arrive before its earlier two, as when one
// Kafka partition is read ahead of another in a backlog: a key is first
// seen after its older events.
template <typename Timed, typename SendFn, typename WatermarkFn>
void SendInFourHourSteps(const std::vector<Timed>& events, absl::Time start,
                         bool ahead_first, SendFn send, WatermarkFn watermark) {
  if (events.empty()) return;
  for (absl::Time from = start; from <= events.back().t;
       from += absl::Hours(4)) {
    const absl::Time mid = from + absl::Hours(2), to = from + absl::Hours(4);
    for (int half : {0, 1}) {
      const bool later = ahead_first ? half == 0 : half == 1;
      for (const Timed& x : events) {
        if (x.t >= (later ? mid : from) && x.t < (later ? to : mid)) send(x);
      }
    }
    watermark(to);
  }
}

}  // namespace vigia

#endif  // VIGIA_OPERATORS_TESTING_OPERATOR_TEST_UTIL_H_
