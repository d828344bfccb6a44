#include "pipeline/core/files.h"

#include <errno.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "pipeline/core/strings.h"

namespace vigia {
namespace {

// What identifies a file: device and inode when it exists (stat follows
// symlinks, so a link and its target agree), else its normalised absolute
// path.
struct Identity {
  bool exists = false;
  dev_t dev = 0;
  ino_t ino = 0;
  std::string path;

  bool SameAs(const Identity& o) const {
    if (exists && o.exists) return dev == o.dev && ino == o.ino;
    return !exists && !o.exists && path == o.path;
  }
};

Identity IdentityOf(const std::string& path) {
  Identity id;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    id.exists = true;
    id.dev = st.st_dev;
    id.ino = st.st_ino;
    return id;
  }
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(path, ec);
  id.path = (ec ? std::filesystem::path(path) : p).lexically_normal().string();
  return id;
}

bool IsStream(const std::string& path) { return path.empty() || path == "-"; }

absl::Status Same(const NamedPath& a, const NamedPath& b, bool input) {
  return absl::InvalidArgumentError(absl::StrCat(
      a.flag, " ", a.path, " is the same file as ", b.flag, " ", b.path,
      input ? ": refusing to overwrite an input"
            : ": two outputs cannot share a file"));
}

}  // namespace

absl::Status CheckOutputsAreNotInputs(const std::vector<NamedPath>& inputs,
                                      const std::vector<NamedPath>& outputs) {
  // An input that does not exist (a bundled scenario's name) cannot be
  // overwritten; the command reports it when it opens it.
  std::vector<std::optional<Identity>> in_ids;
  for (const NamedPath& in : inputs) {
    std::optional<Identity> id;
    if (!IsStream(in.path)) id = IdentityOf(in.path);
    if (id && !id->exists) id.reset();
    in_ids.push_back(id);
  }
  std::vector<std::optional<Identity>> out_ids;
  for (size_t o = 0; o < outputs.size(); ++o) {
    if (IsStream(outputs[o].path)) {
      out_ids.emplace_back();
      continue;
    }
    const Identity id = IdentityOf(outputs[o].path);
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (in_ids[i] && id.SameAs(*in_ids[i])) {
        return Same(outputs[o], inputs[i], true);
      }
    }
    for (size_t k = 0; k < o; ++k) {
      if (out_ids[k] && id.SameAs(*out_ids[k])) {
        return Same(outputs[o], outputs[k], false);
      }
    }
    out_ids.emplace_back(id);
  }
  return absl::OkStatus();
}

std::string PartialPath(const std::string& path) {
  return absl::StrCat(path, ".partial");
}

absl::Status CommitPartial(const std::string& path) {
  const std::string partial = PartialPath(path);
  if (std::rename(partial.c_str(), path.c_str()) != 0) {
    return absl::ErrnoToStatus(
        errno, absl::StrCat("cannot rename ", partial, " to ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path,
                                             size_t max_bytes,
                                             std::string_view what) {
  std::FILE* file = std::fopen(path.c_str(), "rbe");
  if (file == nullptr) {
    return absl::ErrnoToStatus(
        errno, absl::StrCat("cannot open ", ToAbsl(what), " ", path));
  }
  std::string text;
  char buf[64 << 10];
  size_t n;
  // One byte past the limit tells a file of exactly max_bytes from a larger
  // one.
  while (text.size() <= max_bytes &&
         (n = std::fread(buf, 1,
                         std::min(sizeof(buf), max_bytes + 1 - text.size()),
                         file)) > 0) {
    text.append(buf, n);
  }
  const bool failed = std::ferror(file) != 0;
  const int err = errno;
  std::fclose(file);
  if (failed) {
    return absl::ErrnoToStatus(
        err != 0 ? err : EIO,
        absl::StrCat("cannot read ", ToAbsl(what), " ", path));
  }
  if (text.size() > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        ToAbsl(what), " ", path, " is larger than ", max_bytes, " bytes"));
  }
  return text;
}

StagedOutput StageOutput(const std::string& path) {
  StagedOutput out{path, path};
  if (IsStream(path)) return out;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) return out;
  out.write_path = PartialPath(path);
  return out;
}

absl::Status Commit(const StagedOutput& output) {
  if (output.write_path == output.path) return absl::OkStatus();
  return CommitPartial(output.path);
}

}  // namespace vigia
