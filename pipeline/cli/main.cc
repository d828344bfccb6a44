// vigia: one binary for every mode. Each subcommand declares its flags
// (flags.h) and prints its own --help.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "pipeline/cli/commands.h"
#include "pipeline/cli/flags.h"

namespace vigia::cli {
namespace {

constexpr char kOverview[] =
    "vigia: a streaming influence-signal monitor for election-integrity "
    "operations.\n"
    "It reads post and ad feeds, detects surges of foreign-origin activity in "
    "event-time\n"
    "windows, and raises alerts that carry their evidence.\n";

void PrintUsage(const std::vector<Command>& commands, FILE* out) {
  std::fprintf(out, "%s\nusage: vigia COMMAND [flags]\n\ncommands:\n",
               kOverview);
  for (const Command& c : commands) {
    std::fprintf(out, "  %-12s %s\n", c.spec.name.c_str(),
                 c.spec.summary.c_str());
  }
  std::fprintf(out, "\n'vigia COMMAND --help' describes a command.\n");
}

int Main(int argc, char** argv) {
  const std::vector<Command> commands = AllCommands();
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 ||
      std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "help") == 0) {
    PrintUsage(commands, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (std::strcmp(argv[1], "--version") == 0) {
    std::printf("vigia %s (commit %s)\n", VersionString(), CommitString());
    return 0;
  }
  for (const Command& c : commands) {
    if (c.spec.name != argv[1]) continue;
    absl::StatusOr<ParsedFlags> flags = ParseFlags(c.spec, argc - 2, argv + 2);
    if (!flags.ok()) {
      std::fprintf(stderr, "%s\n",
                   std::string(flags.status().message()).c_str());
      return 2;
    }
    if (flags->help) {
      std::fputs(CommandHelp(c.spec).c_str(), stdout);
      return 0;
    }
    absl::Status s = c.run(*flags);
    if (!s.ok()) {
      std::fprintf(stderr, "vigia %s: %s\n", c.spec.name.c_str(),
                   std::string(s.message()).c_str());
      return ExitCodeFor(s);
    }
    return 0;
  }
  std::fprintf(stderr, "vigia: unknown command \"%s\"\n\n", argv[1]);
  PrintUsage(commands, stderr);
  return 2;
}

}  // namespace
}  // namespace vigia::cli

int main(int argc, char** argv) { return vigia::cli::Main(argc, argv); }
