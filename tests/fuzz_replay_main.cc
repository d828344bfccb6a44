// A main() for fuzz targets in ordinary (non-libFuzzer) builds: runs
// LLVMFuzzerTestOneInput once on every file named on the command line, or
// found (recursively) in a directory named there, so that the seed corpus is
// replayed under the sanitizers by ctest and the targets never rot.
//
// Usage: <target> <file or directory>...
// Exits 1 when given no inputs at all (a missing or empty corpus is a setup
// error, not a pass), or when a path cannot be read. A crash in the target
// aborts the process, which ctest reports as a failure.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

bool ReadFile(const fs::path& path, std::vector<uint8_t>* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in),
              std::istreambuf_iterator<char>());
  return !in.bad();
}

// Appends the regular files under `arg` (or `arg` itself), sorted so that
// runs are reproducible. Returns false if `arg` cannot be listed.
bool CollectInputs(const fs::path& arg, std::vector<fs::path>* out) {
  std::error_code error;
  if (fs::is_regular_file(arg, error)) {
    out->push_back(arg);
    return true;
  }
  if (!fs::is_directory(arg, error)) return false;
  std::vector<fs::path> found;
  for (fs::recursive_directory_iterator it(arg, error), end;
       !error && it != end; it.increment(error)) {
    if (it->is_regular_file(error)) found.push_back(it->path());
  }
  if (error) return false;
  std::sort(found.begin(), found.end());
  out->insert(out->end(), found.begin(), found.end());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    if (!CollectInputs(argv[i], &inputs)) {
      std::fprintf(stderr, "%s: cannot read %s\n", argv[0], argv[i]);
      return 1;
    }
  }
  if (inputs.empty()) {
    std::fprintf(stderr, "%s: no inputs; usage: %s <file or directory>...\n",
                 argv[0], argv[0]);
    return 1;
  }
  std::vector<uint8_t> data;
  for (const fs::path& path : inputs) {
    if (!ReadFile(path, &data)) {
      std::fprintf(stderr, "%s: cannot read %s\n", argv[0], path.c_str());
      return 1;
    }
    LLVMFuzzerTestOneInput(data.data(), data.size());
  }
  std::printf("ran %zu inputs\n", inputs.size());
  return 0;
}
