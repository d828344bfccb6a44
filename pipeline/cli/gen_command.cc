// `vigia gen`: writes a synthetic feed from a scenario.
#include "pipeline/cli/commands.h"

namespace vigia::cli {

Command GenCommand() {
  Command c;
  c.spec = {"gen", "write a synthetic feed from a scenario", "", {}};
  c.run = [](const ParsedFlags&) -> absl::Status {
    return absl::UnimplementedError("gen: not yet wired");
  };
  return c;
}

}  // namespace vigia::cli
