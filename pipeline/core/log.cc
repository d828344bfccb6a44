#include "pipeline/core/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace vigia {
namespace {

LogLevel LevelFromEnv() {
  const char* env = std::getenv("VIGIA_LOG_LEVEL");
  if (env == nullptr) return LogLevel::kINFO;
  if (std::strcmp(env, "debug") == 0) return LogLevel::kDEBUG;
  if (std::strcmp(env, "warning") == 0) return LogLevel::kWARNING;
  if (std::strcmp(env, "error") == 0) return LogLevel::kERROR;
  return LogLevel::kINFO;
}

std::atomic<LogLevel>& MinLevel() {
  static std::atomic<LogLevel> level{LevelFromEnv()};
  return level;
}

constexpr const char* kLevelNames[] = {"D", "I", "W", "E"};

}  // namespace

void SetMinLogLevel(LogLevel level) { MinLevel().store(level); }
LogLevel MinLogLevel() { return MinLevel().load(std::memory_order_relaxed); }

LogMessage::LogMessage(LogLevel level, const char* file, int line)
    : level_(level) {
  const char* base = std::strrchr(file, '/');
  // Log lines carry wall time: they are for people, never for decisions.
  stream_ << kLevelNames[static_cast<int>(level)]
          << absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                              absl::UTCTimeZone())
          << " " << (base ? base + 1 : file) << ":" << line << "] ";
}

LogMessage::~LogMessage() {
  stream_ << '\n';
  const std::string s = stream_.str();
  ssize_t ignored = ::write(STDERR_FILENO, s.data(), s.size());
  (void)ignored;
}

}  // namespace vigia
