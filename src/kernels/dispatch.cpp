// Run-time choice of the kernel instruction set (CPU detection). The kernels helper extends this.
#include <string>

#include "kernels/kernels.hpp"

namespace omni::kernels {

std::string active_isa() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vnni")) return "avx512_vnni";
  if (__builtin_cpu_supports("avx512f")) return "avx512";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "avx2";
  return "scalar";
}

}  // namespace omni::kernels
