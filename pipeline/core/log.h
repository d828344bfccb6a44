// A minimal leveled logger writing one line per message to stderr.
//
// Abseil 20220623 (Debian 12) has no absl/log, so vigia carries this small
// one. Thread-safe: each message is formatted privately and written with a
// single write(2). Never log secrets: Kafka settings are redacted by the
// caller (see pipeline/kafka) before they reach a log line.
//
// Example:
//   VIGIA_LOG(WARNING) << "broker down: " << addr;
#ifndef VIGIA_PIPELINE_CORE_LOG_H_
#define VIGIA_PIPELINE_CORE_LOG_H_

#include <sstream>

namespace vigia {

enum class LogLevel { kDEBUG = 0, kINFO = 1, kWARNING = 2, kERROR = 3 };

// Messages below this level are discarded. Default kINFO; VIGIA_LOG_LEVEL
// in the environment (debug, info, warning, error) overrides it at start-up.
void SetMinLogLevel(LogLevel level);
LogLevel MinLogLevel();

class LogMessage {
 public:
  LogMessage(LogLevel level, const char* file, int line);
  ~LogMessage();
  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

}  // namespace vigia

#define VIGIA_LOG(level)                                                 \
  if (::vigia::LogLevel::k##level < ::vigia::MinLogLevel()) {            \
  } else                                                                 \
    ::vigia::LogMessage(::vigia::LogLevel::k##level, __FILE__, __LINE__) \
        .stream()

#endif  // VIGIA_PIPELINE_CORE_LOG_H_
