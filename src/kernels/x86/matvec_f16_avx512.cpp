// AVX-512 matrix x vector kernels for F16 and BF16 weights: four rows at once against one
// activation row (F16: the f16-rounded activations widened to f32 once per call, then one
// vcvtph2ps + FMA per 16 weights; BF16: vdpbf16ps on the bf16 activations, 32 weights per
// instruction). Products are those of the reference (f16/bf16 values multiplied in f32); only the
// summation order differs. Rows of any length (masked tails), any 2-byte alignment.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "core/dtype.hpp"
#include "kernels/x86/kernel_table.hpp"

namespace omni::kernels {
namespace avx512_matvec_f16 {
namespace {

// Sums of the 16 lanes of each of R (<= 4) vectors, to y[0], y[ys], ...
template <int R>
inline void store_sums(const __m512* v, float* y, int64_t ys) {
  __m256 h[4];
  for (int r = 0; r < 4; ++r)
    h[r] = r < R ? _mm256_add_ps(_mm512_castps512_ps256(v[r]), _mm512_extractf32x8_ps(v[r], 1)) : _mm256_setzero_ps();
  const __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(h[0], h[1]), _mm256_hadd_ps(h[2], h[3]));
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
  alignas(16) float tmp[4];
  _mm_store_ps(tmp, s);
  for (int r = 0; r < R; ++r) y[r * ys] = tmp[r];
}

// F16: the prepared activation is the converted (f16) row widened to f32.
size_t f16_prep_bytes(int64_t k) { return size_t(k) * 4; }
void f16_prep(const void* conv, int64_t k, void* dst) {
  const auto* h = static_cast<const uint16_t*>(conv);
  auto* f = static_cast<float*>(dst);
  int64_t i = 0;
  for (; i + 16 <= k; i += 16) _mm512_store_ps(f + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(h + i))));
  for (; i < k; ++i) f[i] = _cvtsh_ss(h[i]);
}

template <int R>
void f16_rows(int64_t k, const uint8_t* w, size_t ws, const float* a, float* y, int64_t ys) {
  __m512 acc[R][2];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= k; i += 32) {
    const __m512 a0 = _mm512_loadu_ps(a + i), a1 = _mm512_loadu_ps(a + i + 16);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const auto* wr = reinterpret_cast<const __m256i*>(w + size_t(r) * ws + size_t(i) * 2);
      acc[r][0] = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256(wr)), a0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256(wr + 1)), a1, acc[r][1]);
    }
  }
  for (; i < k; i += 16) {
    const __mmask16 m = k - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (k - i)) - 1);
    const __m512 a0 = _mm512_maskz_loadu_ps(m, a + i);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m256i wv = _mm256_maskz_loadu_epi16(m, w + size_t(r) * ws + size_t(i) * 2);
      acc[r][0] = _mm512_fmadd_ps(_mm512_cvtph_ps(wv), a0, acc[r][0]);
    }
  }
  __m512 total[R];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) total[r] = _mm512_add_ps(acc[r][0], acc[r][1]);
  store_sums<R>(total, y, ys);
}

// BF16: pairs of bf16 products accumulated in f32 by vdpbf16ps, against the bf16 activation.
template <int R>
void bf16_rows(int64_t k, const uint8_t* w, size_t ws, const uint16_t* a, float* y, int64_t ys) {
  __m512 acc[R][2];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 64 <= k; i += 64) {
    const __m512bh a0 = (__m512bh)_mm512_loadu_si512(a + i), a1 = (__m512bh)_mm512_loadu_si512(a + i + 32);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const uint8_t* wr = w + size_t(r) * ws + size_t(i) * 2;
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], (__m512bh)_mm512_loadu_si512(wr), a0);
      acc[r][1] = _mm512_dpbf16_ps(acc[r][1], (__m512bh)_mm512_loadu_si512(wr + 64), a1);
    }
  }
  for (; i < k; i += 32) {
    const __mmask32 m = k - i >= 32 ? __mmask32(0xFFFFFFFFu) : __mmask32((1u << (k - i)) - 1);
    const __m512bh a0 = (__m512bh)_mm512_maskz_loadu_epi16(m, a + i);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m512i wv = _mm512_maskz_loadu_epi16(m, w + size_t(r) * ws + size_t(i) * 2);
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], (__m512bh)wv, a0);
    }
  }
  __m512 total[R];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) total[r] = _mm512_add_ps(acc[r][0], acc[r][1]);
  store_sums<R>(total, y, ys);
}

// Rows i, i+q, i+2q, i+3q together (q = n_rows / 4): four sequential streams, which the hardware
// prefetchers follow (four neighbouring rows interleaved they do not), then the leftover rows.
template <class A, void (*Rows1)(int64_t, const uint8_t*, size_t, const A*, float*, int64_t),
          void (*Rows4)(int64_t, const uint8_t*, size_t, const A*, float*, int64_t)>
void matvec(int64_t k, const void* vw, size_t ws, int64_t n_rows, const void* act, float* y) {
  const auto* w = static_cast<const uint8_t*>(vw);
  const auto* a = static_cast<const A*>(act);
  const int64_t q = n_rows / 4;
  for (int64_t i = 0; i < q; ++i) Rows4(k, w + size_t(i) * ws, size_t(q) * ws, a, y + i, q);
  for (int64_t r = 4 * q; r < n_rows; ++r) Rows1(k, w + size_t(r) * ws, ws, a, y + r, 1);
}

}  // namespace
}  // namespace avx512_matvec_f16

void fill_matvec_f16_avx512(KernelTable& t) {
  using namespace avx512_matvec_f16;
  t.matvec[uint32_t(DType::f16)] = matvec<float, f16_rows<1>, f16_rows<4>>;
  t.matvec_prep[uint32_t(DType::f16)] = MatvecPrep{f16_prep_bytes, f16_prep};
  t.matvec[uint32_t(DType::bf16)] = matvec<uint16_t, bf16_rows<1>, bf16_rows<4>>;
}

}  // namespace omni::kernels
