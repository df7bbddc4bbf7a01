// Run-time ISA dispatch: OMNI_ISA forces a level (checked through the `omni version` binary, since
// the choice is made once per process), and every table fills the hot entries it promises.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <string>

#include "kernels/x86/kernel_table.hpp"

namespace omni::kernels {
namespace {

std::string run_version_with_isa(const std::string& isa) {
  const std::string cmd = "OMNI_ISA=" + isa + " \"" + OMNI_CLI + "\" version 2>&1";
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    std::array<char, 256> buf{};
    while (fgets(buf.data(), int(buf.size()), p)) out += buf.data();
    pclose(p);
  }
  return out;
}

TEST(SimdDispatch, EnvironmentForcesLevel) {
  EXPECT_NE(run_version_with_isa("scalar").find("kernels: scalar"), std::string::npos);
  if (kernel_table(Isa::avx2)) {
    EXPECT_NE(run_version_with_isa("avx2").find("kernels: avx2)"), std::string::npos);
  }
  if (kernel_table(Isa::avx512)) {
    EXPECT_NE(run_version_with_isa("avx512").find("kernels: avx512"), std::string::npos);
  }
}

TEST(SimdDispatch, TablesFillHotEntries) {
  for (Isa isa : {Isa::avx2, Isa::avx512}) {
    const KernelTable* kt = kernel_table(isa);
    if (!kt) continue;
    for (DType t : {DType::f32, DType::f16, DType::bf16, DType::q8_0, DType::q4_0, DType::q4_1, DType::q5_0,
                    DType::q5_1, DType::q2_k, DType::q3_k, DType::q4_k, DType::q5_k, DType::q6_k, DType::iq4_nl,
                    DType::iq4_xs}) {
      EXPECT_NE(kt->vec_dot[uint32_t(t)], nullptr) << kt->name << " " << dtype_name(t);
      if (t != DType::f32) {
        EXPECT_NE(kt->dequant[uint32_t(t)], nullptr) << kt->name << " " << dtype_name(t);
      }
    }
    EXPECT_NE(kt->gemm_f32, nullptr);
  }
  const KernelTable* scalar = kernel_table(Isa::scalar);
  ASSERT_NE(scalar, nullptr);
  EXPECT_EQ(scalar->vec_dot[uint32_t(DType::q4_k)], nullptr);  // scalar means the reference
}

}  // namespace
}  // namespace omni::kernels
