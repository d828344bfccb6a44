// A small command-line parser for vigia's subcommands: `--name value`,
// `--name=value` and boolean `--name`. Each command declares its flags, so
// a typo is an error that names the flag instead of being ignored.
// Not thread-safe; used once at start-up.
#ifndef VIGIA_PIPELINE_CLI_FLAGS_H_
#define VIGIA_PIPELINE_CLI_FLAGS_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace vigia::cli {

struct FlagSpec {
  std::string name;   // without the leading dashes
  std::string value;  // placeholder shown in help ("FILE"); empty = boolean
  std::string help;
  bool required = false;
};

struct CommandSpec {
  std::string name;
  std::string summary;      // one line
  std::string description;  // a paragraph for --help
  std::vector<FlagSpec> flags;
  // The flag one bare argument sets (`vigia verify DIR` sets --dir), or
  // empty when the command takes none. The flag must be in `flags`.
  std::string positional = {};
};

class ParsedFlags {
 public:
  bool has(std::string_view name) const;
  // Returns the value of a flag, or `fallback` when absent.
  std::string get(std::string_view name, std::string fallback = "") const;
  // Returns the value as an integer, or an error naming the flag.
  absl::StatusOr<int64_t> GetInt(std::string_view name, int64_t fallback) const;
  absl::StatusOr<double> GetDouble(std::string_view name,
                                   double fallback) const;
  bool help = false;

 private:
  friend absl::StatusOr<ParsedFlags> ParseFlags(const CommandSpec&, int,
                                                char**);
  std::map<std::string, std::string, std::less<>> values_;
};

// Parses argv[first..argc) against `spec`. `--help` sets help and skips the
// required-flag check.
absl::StatusOr<ParsedFlags> ParseFlags(const CommandSpec& spec, int argc,
                                       char** argv);

// Returns the --help text of a command.
std::string CommandHelp(const CommandSpec& spec);

}  // namespace vigia::cli

#endif  // VIGIA_PIPELINE_CLI_FLAGS_H_
