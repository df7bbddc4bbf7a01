// `omni version`: prints the version and the kernel instruction set chosen for this CPU.
#include <iostream>

#include "cli/commands.hpp"
#include "kernels/kernels.hpp"

namespace omni::cli {

extern const CommandSpec k_version_spec = {
    "version", "omni version", "Print Omni's version and the CPU kernels in use.", "", {}, 0, 0};

int run_version(const Args&) {
  std::cout << "omni " << OMNI_VERSION << " (kernels: " << kernels::active_isa() << ")\n";
  return 0;
}

}  // namespace omni::cli
