#include "pipeline/cli/commands.h"

#include <unistd.h>

#include <cstdio>

#include "pipeline/config.h"

namespace vigia::cli {

const char* VersionString() { return VIGIA_VERSION; }
const char* CommitString() { return VIGIA_COMMIT; }

int ExitCodeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return 0;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
      return 2;
    default:
      return 1;
  }
}

absl::StatusOr<Config> LoadConfigFlag(const ParsedFlags& flags) {
  // Flags > environment > file > defaults: the VIGIA_ variables apply over
  // the file here, and each command's flags over the result.
  return LoadConfigWithEnvironment(
      flags.has("config") ? flags.get("config") : std::string(),
      VigiaEnvironment(environ));
}

Command ConfigCommand() {
  Command c;
  c.spec = {"config",
            "validate a config file and print every effective setting",
            "Prints the canonical form of the effective configuration (the "
            "defaults when no\nfile is given) and its hash, the config_hash "
            "stamped on every alert.",
            {{"config", "FILE", "YAML config file to validate"}}};
  c.run = [](const ParsedFlags& flags) -> absl::Status {
    absl::StatusOr<Config> config = LoadConfigFlag(flags);
    if (!config.ok()) return config.status();
    std::fputs(CanonicalConfig(*config).c_str(), stdout);
    std::printf("# config_hash = %s\n", config->hash().c_str());
    std::printf("# connections (not part of config_hash; secrets redacted)\n");
    std::fputs(CanonicalConnections(*config).c_str(), stdout);
    return absl::OkStatus();
  };
  return c;
}

std::vector<Command> AllCommands() {
  return {DemoCommand(),      RunCommand(),      ReplayCommand(),
          ExplainCommand(),   EvidenceCommand(), VerifyCommand(),
          CampaignsCommand(), ImportCommand(),   GenCommand(),
          BacktestCommand(),  ConfigCommand(),   MockKafkaCommand(),
          DrillCommand(),     ReportCommand()};
}

}  // namespace vigia::cli
