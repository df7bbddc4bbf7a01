// The table of `omni` subcommands. To add one: write src/cli/cmd_NAME.cpp defining
// `extern const CommandSpec kNameSpec` and `int run_name(const Args&)`, then add a line here.
#include "cli/commands.hpp"

namespace omni::cli {

#define OMNI_COMMAND(id)              \
  extern const CommandSpec k_##id##_spec; \
  int run_##id(const Args& args);

OMNI_COMMAND(version)
OMNI_COMMAND(embed_image)
OMNI_COMMAND(bench_vision)

#undef OMNI_COMMAND

const std::vector<Command>& all_commands() {
  static const std::vector<Command> commands = {
      {&k_version_spec, run_version},
      {&k_embed_image_spec, run_embed_image},
      {&k_bench_vision_spec, run_bench_vision},
  };
  return commands;
}

}  // namespace omni::cli
