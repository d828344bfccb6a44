// An alert sink that prints one line per alert for a person at a terminal.
// Used on the pipeline thread only.
#ifndef VIGIA_PIPELINE_CLI_ALERT_PRINTER_H_
#define VIGIA_PIPELINE_CLI_ALERT_PRINTER_H_

#include <cstdio>
#include <string>

#include "pipeline/sinks.h"

namespace vigia::cli {

class AlertPrinter final : public AlertSink {
 public:
  explicit AlertPrinter(FILE* out) : out_(out) {}
  absl::Status Write(const Alert& alert) override;
  absl::Status Flush() override;

  // The line printed for `alert`, without newline.
  static std::string Format(const Alert& alert);

 private:
  FILE* out_;
};

}  // namespace vigia::cli

#endif  // VIGIA_PIPELINE_CLI_ALERT_PRINTER_H_
