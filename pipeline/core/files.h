// Files the commands write: never one they read, and never half-written.
//
// A command names its inputs and outputs (flag and path) and calls
// CheckOutputsAreNotInputs() before it opens anything: an output that is an
// input under another name (the same path, a hard link, or a symlink to it)
// or another output is refused, since opening it for writing would truncate
// the archive it is about to read. Outputs are then written under
// PartialPath() and renamed into place by CommitPartial() once complete
// (StageOutput() and Commit() leave devices such as /dev/null alone), so
// a failed run never leaves a truncated file under the name a reader
// expects. Stateless; safe from any thread.
//
// Example:
//   RETURN_IF_ERROR(CheckOutputsAreNotInputs({{"--input", in}},
//                                            {{"--alerts", out}}));
//   const StagedOutput staged = StageOutput(out);
//   Write(staged.write_path);
//   RETURN_IF_ERROR(Commit(staged));
#ifndef VIGIA_PIPELINE_CORE_FILES_H_
#define VIGIA_PIPELINE_CORE_FILES_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace vigia {

// A path a command was given, and the flag that gave it ("--input").
struct NamedPath {
  std::string flag;
  std::string path;
};

// Returns InvalidArgument naming both flags when an output is the same file
// as an input or as another output: compared by device and inode when the
// file exists (so hard links and symlinks are caught), by normalised path
// otherwise. Empty paths and "-" (standard input or output) are skipped,
// and so are inputs that do not exist (nothing there to overwrite).
absl::Status CheckOutputsAreNotInputs(const std::vector<NamedPath>& inputs,
                                      const std::vector<NamedPath>& outputs);

// The name an output is written under until it is complete: `path` +
// ".partial".
std::string PartialPath(const std::string& path);

// Renames PartialPath(path) to `path`, replacing any file there (a symlink
// at `path` is replaced, not followed). Errors name both paths.
absl::Status CommitPartial(const std::string& path);

// Reads the whole file at `path`, refusing one larger than `max_bytes`
// (reading stops there, so /dev/zero or a huge file costs at most that
// much). `what` names the file in errors ("config", "state media domains
// file"): the open error's code with "cannot open <what> <path>", or
// InvalidArgument "<what> <path> is larger than <max_bytes> bytes".
absl::StatusOr<std::string> ReadFileToString(const std::string& path,
                                             size_t max_bytes,
                                             std::string_view what);

// An output and where it is written while the command runs.
struct StagedOutput {
  std::string path;        // the name it ends up under
  std::string write_path;  // PartialPath(path), or `path` itself
};

// Stages a regular file (existing or not) under PartialPath(). "-" (stdout),
// an empty path and anything that exists but is not a regular file
// (/dev/null, a FIFO, a terminal) are written in place: a rename would
// replace the device or pipe with a regular file.
StagedOutput StageOutput(const std::string& path);

// Moves a staged output into place (CommitPartial); nothing for one written
// in place.
absl::Status Commit(const StagedOutput& output);

}  // namespace vigia

#endif  // VIGIA_PIPELINE_CORE_FILES_H_
