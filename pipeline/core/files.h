// Files the commands write: never one they read, and never half-written.
//
// A command names its inputs and outputs (flag and path) and calls
// CheckOutputsAreNotInputs() before it opens anything: an output that is an
// input under another name (the same path, a hard link, or a symlink to it)
// or another output is refused, since opening it for writing would truncate
// the archive it is about to read. Outputs are then written under
// PartialPath() and renamed into place by CommitPartial() once complete, so
// a failed run never leaves a truncated file under the name a reader
// expects. Stateless; safe from any thread.
//
// Example:
//   RETURN_IF_ERROR(CheckOutputsAreNotInputs({{"--input", in}},
//                                            {{"--alerts", out}}));
//   Write(PartialPath(out));
//   RETURN_IF_ERROR(CommitPartial(out));
#ifndef VIGIA_PIPELINE_CORE_FILES_H_
#define VIGIA_PIPELINE_CORE_FILES_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

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

}  // namespace vigia

#endif  // VIGIA_PIPELINE_CORE_FILES_H_
