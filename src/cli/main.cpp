// `omni`: the command-line entry point; dispatches to the subcommands in commands.cpp and turns
// omni::Error into a message on stderr and a non-zero exit status.
#include <cstring>
#include <iostream>

#include "cli/commands.hpp"
#include "omni/error.hpp"

using namespace omni;
using namespace omni::cli;

static void print_overview() {
  std::cout << "omni " << OMNI_VERSION
            << " - an on-device omni-modal agent runtime: hear, see, understand, act.\n\n"
               "Usage: omni COMMAND [options]   (omni COMMAND --help for details)\n\nCommands:\n";
  for (const auto& c : all_commands()) {
    std::string name = "  " + c.spec->name + "  ";
    if (name.size() < 20) name.append(20 - name.size(), ' ');
    std::cout << name << c.spec->summary << "\n";
  }
}

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    print_overview();
    return argc < 2 ? 1 : 0;
  }
  if (!std::strcmp(argv[1], "--version")) argv[1] = const_cast<char*>("version");
  // Two-word commands ("bench kernels", "episodes export") are registered as "bench kernels".
  const Command* cmd = nullptr;
  int consumed = 2;
  for (const auto& c : all_commands()) {
    if (argc >= 3 && c.spec->name == std::string(argv[1]) + " " + argv[2]) { cmd = &c; consumed = 3; break; }
  }
  if (!cmd)
    for (const auto& c : all_commands())
      if (c.spec->name == argv[1]) { cmd = &c; break; }
  if (!cmd) {
    std::cerr << "omni: unknown command '" << argv[1] << "'. Run 'omni --help' for the list.\n";
    return 2;
  }
  try {
    Args args(*cmd->spec, argc - consumed, argv + consumed);
    if (args.help_requested()) {
      std::cout << format_help(*cmd->spec);
      return 0;
    }
    return cmd->run(args);
  } catch (const Error& e) {
    std::cerr << "omni " << cmd->spec->name << ": error: " << e.what() << "\n";
    return e.code() == ErrorCode::invalid_argument ? 2 : 1;
  } catch (const std::exception& e) {
    std::cerr << "omni " << cmd->spec->name << ": internal error: " << e.what() << "\n";
    return 3;
  }
}
