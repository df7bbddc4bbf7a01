// AVX-512 VBMI + GFNI + VNNI matrix x vector kernels for Q5_0 and Q5_1: a quad of blocks is read as
// two zmm whose quants, 5th bits and scales are gathered with byte/word permutes (vpermt2b,
// vpermt2w) instead of four loads, three inserts and general-register bit twiddling (measured
// ~25% faster). The driver (unit-scale mode) is in matvec_q8fam.inc. Used only when the CPU has
// AVX512_VBMI and GFNI; matvec_avx512.cpp has the fallback.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/dtype.hpp"
#include "kernels/x86/kernel_table.hpp"

namespace omni::kernels {
namespace avx512vbmi_matvec {
namespace {

#include "kernels/x86/matvec_q8fam.inc"

// A quad (4 blocks) is read as two zmm (the second with a masked load: no byte past the quad) and
// its quants gathered with one vpermt2b: output byte 16j + t = qs byte t of block j. Two more
// vpermt2b spread the qh bytes so that output byte 16j + t holds the element's 5th bit at bit t % 8
// (low halves: elements 0..15, high: 16..31).
template <class F>
struct QuadIndex {
  alignas(64) uint8_t qs[64] = {}, qh_lo[64] = {}, qh_hi[64] = {}, bit[64] = {};
  constexpr QuadIndex() {
    for (int i = 0; i < 64; ++i) {
      const int j = i / 16, t = i % 16;
      qs[i] = uint8_t(j * F::kBytes + F::kQs + t);
      qh_lo[i] = uint8_t(j * F::kBytes + F::kQh + t / 8);
      qh_hi[i] = uint8_t(j * F::kBytes + F::kQh + 2 + t / 8);
      bit[i] = uint8_t(1u << (t % 8));
    }
  }
};
template <class F>
inline constexpr QuadIndex<F> kQuadIndex{};

template <int B, int M, int QH, int QS, int Offset>
struct Fmt {
  static constexpr int kBytes = B, kUnit = 4, kM = M, kQh = QH, kQs = QS, kOffset = Offset;
  static constexpr bool kMin = M >= 0;
  static inline __m512i unit(const uint8_t* blk, const uint8_t* ap, __m512& dw, __m512& mw) {
    const QuadIndex<Fmt>& ix = kQuadIndex<Fmt>;
    const __m512i z0 = _mm512_loadu_si512(blk);
    const __m512i z1 = _mm512_maskz_loadu_epi8((uint64_t(1) << (4 * B - 64)) - 1, blk + 64);
    dw = lane_f16(z0, z1, kScaleIndex<Fmt>.d);
    if constexpr (kMin) mw = lane_f16(z0, z1, kScaleIndex<Fmt>.m);
    const __m512i q = _mm512_permutex2var_epi8(z0, _mm512_load_si512(ix.qs), z1);
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    __m512i lo = _mm512_and_si512(q, m4), hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
    {
      // (spread qh byte & the element's bit) has at most one bit set: its parity, computed by
      // gf2p8affineqb with all bits feeding output bit 4, is 16 * the 5th bit.
      const __m512i bit = _mm512_load_si512(ix.bit), parity4 = _mm512_set1_epi64(0x00000000FF000000ll);
      const __m512i h_lo = _mm512_and_si512(_mm512_permutex2var_epi8(z0, _mm512_load_si512(ix.qh_lo), z1), bit);
      const __m512i h_hi = _mm512_and_si512(_mm512_permutex2var_epi8(z0, _mm512_load_si512(ix.qh_hi), z1), bit);
      lo = _mm512_or_si512(lo, _mm512_gf2p8affine_epi64_epi8(h_lo, parity4, 0));
      hi = _mm512_or_si512(hi, _mm512_gf2p8affine_epi64_epi8(h_hi, parity4, 0));
    }
    return quad_dot<Fmt>(lo, hi, ap);
  }
  static inline __m256i single(const uint8_t* blk) {
    const __m256i v = nibble_single(blk + QS);
    return _mm256_mask_add_epi8(v, __mmask32(ld32(blk + QH)), v, _mm256_set1_epi8(16));
  }
};
using FmtQ5_0 = Fmt<22, -1, 2, 6, 16>;
using FmtQ5_1 = Fmt<24, 2, 4, 8, 0>;

template <class F>
void set(KernelTable& t, DType d) {
  t.matvec[uint32_t(d)] = matvec_us<F>;
  t.matvec_prep[uint32_t(d)] = MatvecPrep{prep_bytes_us<F>, prep_us<F>};
}

}  // namespace
}  // namespace avx512vbmi_matvec

void fill_matvec_avx512vbmi(KernelTable& t) {
  using namespace avx512vbmi_matvec;
  set<FmtQ5_0>(t, DType::q5_0);
  set<FmtQ5_1>(t, DType::q5_1);
}

}  // namespace omni::kernels
