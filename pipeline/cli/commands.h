// The subcommands of the `vigia` binary. Each is a spec (its flags and help)
// and a function run with the parsed flags; the functions are in one source
// file per command.
#ifndef VIGIA_PIPELINE_CLI_COMMANDS_H_
#define VIGIA_PIPELINE_CLI_COMMANDS_H_

#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pipeline/cli/flags.h"
#include "pipeline/config.h"

namespace vigia::cli {

struct Command {
  CommandSpec spec;
  std::function<absl::Status(const ParsedFlags&)> run;
};

std::vector<Command> AllCommands();
const char* VersionString();
// The git commit vigia was configured from ("unknown" outside a clone).
const char* CommitString();

// The exit status for a command's error: 2 when the command could not start
// with what it was given (a bad flag or config, an input that is missing,
// unreadable or a directory, an output that is an input), 1 when it failed
// while running (input that turned out damaged, a sink that failed). Before,
// a missing file exited 2 and an unreadable one 1.
int ExitCodeFor(const absl::Status& status);

// Loads --config if given, else the defaults.
absl::StatusOr<Config> LoadConfigFlag(const ParsedFlags& flags);

Command ReplayCommand();
Command GenCommand();
Command ConfigCommand();
Command BacktestCommand();
Command RunCommand();
Command DemoCommand();
Command MockKafkaCommand();
Command DrillCommand();
Command ExplainCommand();
Command EvidenceCommand();
Command VerifyCommand();
Command CampaignsCommand();
Command ReportCommand();
Command ImportCommand();

}  // namespace vigia::cli

#endif  // VIGIA_PIPELINE_CLI_COMMANDS_H_
