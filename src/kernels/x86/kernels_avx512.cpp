// AVX-512 (F/BW/VL/VNNI/BF16) kernels: the 256-bit set with VNNI int8 dot products, 512-bit
// matrix-vector kernels for the hot types, the f32 GEMM micro-kernel and VNNI quantized GEMM tiles.
#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <utility>

#include "core/dtype.hpp"
#include "kernels/x86/kernel_table.hpp"

namespace omni::kernels {
namespace avx512 {

#define OMNI_VNNI256 1
#include "kernels/x86/simd256.inc"
#undef OMNI_VNNI256

using VF = __m512;
constexpr int VW = 16;
static inline VF vload(const float* p) { return _mm512_loadu_ps(p); }
static inline VF vfma(VF a, VF b, VF c) { return _mm512_fmadd_ps(a, b, c); }
static inline VF vzero() { return _mm512_setzero_ps(); }
static inline float vhsum(VF v) { return _mm512_reduce_add_ps(v); }
#define GEMM_R 4
#define GEMM_T 6
#include "kernels/x86/gemm_f32.inc"
#undef GEMM_R
#undef GEMM_T

}  // namespace avx512

void fill_table_avx512(KernelTable& t) {
  t.isa = Isa::avx512;
  t.name = "avx512_vnni";
  avx512::fill_256(t);
  t.gemm_f32 = avx512::gemm_f32;
  t.gemm_rows = 4;
  t.gemm_max_tok = 6;
}

}  // namespace omni::kernels
