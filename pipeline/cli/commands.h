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

// Loads --config if given, else the defaults.
absl::StatusOr<Config> LoadConfigFlag(const ParsedFlags& flags);

Command ReplayCommand();
Command GenCommand();
Command ConfigCommand();
Command BacktestCommand();
Command RunCommand();
Command DemoCommand();
Command MockKafkaCommand();
Command ExplainCommand();

}  // namespace vigia::cli

#endif  // VIGIA_PIPELINE_CLI_COMMANDS_H_
