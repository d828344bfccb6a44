#include "pipeline/sinks.h"

#include <errno.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "pipeline/core/json_writer.h"
#include "pipeline/core/log.h"
#include "pipeline/core/strings.h"
#include "pipeline/core/time.h"
#include "simdjson.h"

namespace vigia {
namespace {

// Returns `s` with every byte that is not part of a well-formed UTF-8
// sequence replaced by U+FFFD. Only metadata (detail, file names) goes
// through here: JsonWriter requires UTF-8, and a dead letter must stay
// valid JSON whatever the decoder quoted or the file was called.
std::string ScrubUtf8(std::string_view s) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    uint32_t min = 0;
    if (b0 < 0x80) {
      len = 1;
    } else if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = 2, min = 0x80;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      len = 3, min = 0x800;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      len = 4, min = 0x10000;
    }
    bool ok = len > 0 && i + len <= s.size();
    uint32_t cp = len == 1 ? b0 : b0 & (0x7F >> len);
    for (size_t k = 1; ok && k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (b & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and values past U+10FFFF are not
    // UTF-8 either.
    if (ok && len > 1 &&
        (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) {
      ok = false;
    }
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out.append(kReplacement);
      ++i;
    }
  }
  return out;
}

void SafeField(JsonWriter& w, std::string_view key, std::string_view value) {
  if (simdjson::validate_utf8(value.data(), value.size())) {
    w.Field(key, value);
  } else {
    w.Field(key, ScrubUtf8(value));
  }
}

// One JSON line per record to a stdio stream. Errors are sticky: after the
// first failure every call returns it, so a full disk is reported on every
// write rather than lines silently going missing.
class NdjsonFile {
 public:
  NdjsonFile(std::FILE* file, std::string path, bool owned)
      : file_(file), path_(std::move(path)), owned_(owned) {}
  ~NdjsonFile() {
    if (!owned_) {
      std::fflush(file_);
      return;
    }
    if (std::fclose(file_) != 0 && status_.ok()) {
      VIGIA_LOG(ERROR) << "closing " << path_ << ": " << std::strerror(errno);
    }
  }
  NdjsonFile(const NdjsonFile&) = delete;
  NdjsonFile& operator=(const NdjsonFile&) = delete;

  static absl::StatusOr<std::unique_ptr<NdjsonFile>> Open(
      const std::string& path) {
    if (path == "-") {
      return std::make_unique<NdjsonFile>(stdout, "<stdout>", false);
    }
    std::FILE* file = std::fopen(path.c_str(), "we");
    if (file == nullptr) {
      return absl::ErrnoToStatus(errno, absl::StrCat("cannot open ", path));
    }
    return std::make_unique<NdjsonFile>(file, path, true);
  }

  absl::Status WriteLine(std::string_view json) {
    if (!status_.ok()) return status_;
    errno = 0;
    if (std::fwrite(json.data(), 1, json.size(), file_) != json.size() ||
        std::fputc('\n', file_) == EOF) {
      return Fail();
    }
    return absl::OkStatus();
  }

  absl::Status Flush() {
    if (!status_.ok()) return status_;
    errno = 0;
    if (std::fflush(file_) != 0) return Fail();
    return absl::OkStatus();
  }

 private:
  absl::Status Fail() {
    // stdio sets errno on a failed write; EIO covers a library that does not.
    const int err = errno != 0 ? errno : EIO;
    status_ = absl::ErrnoToStatus(err, absl::StrCat("writing ", path_));
    return status_;
  }

  std::FILE* file_;
  std::string path_;
  bool owned_;
  absl::Status status_;
};

class NdjsonAlertSink final : public AlertSink {
 public:
  explicit NdjsonAlertSink(std::unique_ptr<NdjsonFile> file)
      : file_(std::move(file)) {}
  absl::Status Write(const Alert& alert) override {
    return file_->WriteLine(AlertToJson(alert));
  }
  absl::Status Flush() override { return file_->Flush(); }

 private:
  std::unique_ptr<NdjsonFile> file_;
};

class NdjsonDeadLetterSink final : public DeadLetterSink {
 public:
  explicit NdjsonDeadLetterSink(std::unique_ptr<NdjsonFile> file)
      : file_(std::move(file)) {}
  absl::Status Write(const DeadLetter& letter) override {
    return file_->WriteLine(DeadLetterToJson(letter));
  }
  absl::Status Flush() override { return file_->Flush(); }

 private:
  std::unique_ptr<NdjsonFile> file_;
};

}  // namespace

std::string DeadLetterToJson(const DeadLetter& letter) {
  JsonWriter w;
  w.BeginObject();
  SafeField(w, "reason", letter.reason);
  SafeField(w, "detail", letter.detail);
  w.Key("source");
  w.BeginObject();
  if (letter.source.is_kafka()) {
    SafeField(w, "topic", letter.source.source);
    w.Field("partition", static_cast<int64_t>(letter.source.partition));
    w.Field("offset", letter.source.position);
  } else {
    SafeField(w, "file", letter.source.source);
    w.Field("line", letter.source.position);
  }
  w.EndObject();
  // The original bytes must survive unchanged for a later replay or an
  // audit, so invalid UTF-8 is carried as base64 rather than repaired.
  if (simdjson::validate_utf8(letter.bytes.data(), letter.bytes.size())) {
    w.Field("raw", letter.bytes);
  } else {
    w.Field("raw_base64", absl::Base64Escape(ToAbsl(letter.bytes)));
  }
  w.EndObject();
  return w.Release();
}

absl::StatusOr<std::unique_ptr<AlertSink>> OpenNdjsonAlertSink(
    const std::string& path) {
  absl::StatusOr<std::unique_ptr<NdjsonFile>> file = NdjsonFile::Open(path);
  if (!file.ok()) return file.status();
  return std::unique_ptr<AlertSink>(
      std::make_unique<NdjsonAlertSink>(*std::move(file)));
}

absl::StatusOr<std::unique_ptr<DeadLetterSink>> OpenNdjsonDeadLetterSink(
    const std::string& path) {
  absl::StatusOr<std::unique_ptr<NdjsonFile>> file = NdjsonFile::Open(path);
  if (!file.ok()) return file.status();
  return std::unique_ptr<DeadLetterSink>(
      std::make_unique<NdjsonDeadLetterSink>(*std::move(file)));
}

absl::Status TeeAlertSink::Write(const Alert& alert) {
  for (AlertSink* sink : sinks_) {
    if (absl::Status s = sink->Write(alert); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status TeeAlertSink::Flush() {
  for (AlertSink* sink : sinks_) {
    if (absl::Status s = sink->Flush(); !s.ok()) return s;
  }
  return absl::OkStatus();
}

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

}  // namespace vigia
