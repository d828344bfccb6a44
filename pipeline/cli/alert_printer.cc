#include "pipeline/cli/alert_printer.h"

#include "absl/strings/str_format.h"
#include "pipeline/core/strings.h"
#include "pipeline/core/time.h"

namespace vigia::cli {

std::string AlertPrinter::Format(const Alert& a) {
  return absl::StrFormat(
      "%s  %-8s %-8s %-22s %s  id=%s", FormatRfc3339(a.window_end),
      a.state == AlertState::kFiring ? "FIRING" : "resolved",
      ToAbsl(SeverityName(a.severity)), a.detector, a.summary, a.id);
}

absl::Status AlertPrinter::Write(const Alert& alert) {
  const std::string line = Format(alert) + "\n";
  if (std::fputs(line.c_str(), out_) < 0) {
    return absl::UnavailableError("cannot print alert");
  }
  return absl::OkStatus();
}

absl::Status AlertPrinter::Flush() {
  return std::fflush(out_) == 0 ? absl::OkStatus()
                                : absl::UnavailableError("cannot flush");
}

}  // namespace vigia::cli
