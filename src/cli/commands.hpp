// The `omni` subcommands. Each lives in its own src/cli/cmd_*.cpp, exports a CommandSpec (for
// --help and parsing) and a run function; main.cpp dispatches by name from kCommands.
#pragma once
#include <vector>

#include "cli/args.hpp"

namespace omni::cli {

struct Command {
  const CommandSpec* spec;
  int (*run)(const Args& args);
};

// Registered commands, in the order `omni --help` lists them (defined in commands.cpp).
const std::vector<Command>& all_commands();

}  // namespace omni::cli
