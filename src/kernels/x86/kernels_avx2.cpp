// AVX2 + FMA + F16C kernels (compiled with those flags only; chosen at run time by dispatch.cpp).
#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <utility>

#include "core/dtype.hpp"
#include "kernels/x86/kernel_table.hpp"

namespace omni::kernels {
namespace avx2 {

#include "kernels/x86/simd256.inc"
#include "kernels/x86/simd256_lowbit.inc"

using VF = __m256;
constexpr int VW = 8;
static inline VF vload(const float* p) { return _mm256_loadu_ps(p); }
static inline VF vfma(VF a, VF b, VF c) { return _mm256_fmadd_ps(a, b, c); }
static inline VF vzero() { return _mm256_setzero_ps(); }
static inline float vhsum(VF v) { return hsum_ps(v); }
#define GEMM_R 3
#define GEMM_T 4
#include "kernels/x86/gemm_f32.inc"
#undef GEMM_R
#undef GEMM_T

}  // namespace avx2

void fill_table_avx2(KernelTable& t) {
  t.isa = Isa::avx2;
  t.name = "avx2";
  avx2::fill_256(t);
  avx2::fill_256_lowbit(t);
  t.gemm_f32 = avx2::gemm_f32;
  t.gemm_rows = 3;
  t.gemm_max_tok = 4;
}

}  // namespace omni::kernels
