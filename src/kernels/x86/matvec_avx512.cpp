// AVX-512 VNNI matrix x vector kernels for decode (one token): several weight rows at once against
// one activation row prepared once per call and laid out so that the weights unpack with few
// instructions; every row keeps its own vector accumulators (no per-block horizontal sums), so a
// row's result does not depend on which rows it was grouped with.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/dtype.hpp"
#include "kernels/x86/kernel_table.hpp"

namespace omni::kernels {
namespace avx512_matvec {
namespace {

#include "kernels/x86/matvec_q8fam.inc"

// ---- Q8_0-family formats (see matvec_q8fam.inc) ----------------------------------------------
// Without VBMI: a quad's quants are gathered with vinserti32x4 (matvec_avx512vbmi.cpp has the
// byte-permute versions of the 4/5-bit types).
template <int B, int M, int QS, int Offset, bool Codebook>
struct FmtNibbles {
  static constexpr int kBytes = B, kUnit = 4, kM = M, kOffset = Offset;
  static constexpr bool kMin = M >= 0;
  static inline __m512i table() {  // IQ4_NL codebook + 128 (0..241), looked up with vpshufb
    return _mm512_broadcast_i32x4(_mm_setr_epi8(1, 24, 45, 63, 79, 93, 106, 118, -127, -115, -103, -90, -75, -59, -39, -15));
  }
  static inline __m512i unit(const uint8_t* blk, const uint8_t* ap) {
    __m512i hi;
    __m512i lo = nibble_quad<B>(blk + QS, hi);
    if constexpr (Codebook) {
      lo = _mm512_shuffle_epi8(table(), lo);
      hi = _mm512_shuffle_epi8(table(), hi);
    }
    return quad_dot<FmtNibbles>(lo, hi, ap);
  }
  static inline __m256i single(const uint8_t* blk) {
    const __m256i v = nibble_single(blk + QS);
    return Codebook ? _mm256_shuffle_epi8(_mm512_castsi512_si256(table()), v) : v;
  }
};
using FmtQ4_0 = FmtNibbles<18, -1, 2, 8, false>;
using FmtQ4_1 = FmtNibbles<20, 2, 4, 0, false>;
using FmtIQ4_NL = FmtNibbles<18, -1, 2, 128, true>;

// Q5_0 / Q5_1: the 5th bits become byte masks in general registers.
template <int B, int M, int QH, int QS, int Offset>
struct FmtQ5 {
  static constexpr int kBytes = B, kUnit = 4, kM = M, kOffset = Offset;
  static constexpr bool kMin = M >= 0;
  static inline __m512i unit(const uint8_t* blk, const uint8_t* ap) {
    __m512i hi;
    __m512i lo = nibble_quad<B>(blk + QS, hi);
    const uint8_t* qh = blk + QH;
    const uint64_t h0 = ld32(qh), h1 = ld32(qh + B), h2 = ld32(qh + 2 * B), h3 = ld32(qh + 3 * B);
    const __mmask64 klo = (h0 & 0xFFFF) | (h1 & 0xFFFF) << 16 | (h2 & 0xFFFF) << 32 | h3 << 48;
    const __mmask64 khi = h0 >> 16 | (h1 >> 16) << 16 | (h2 >> 16) << 32 | (h3 >> 16) << 48;
    const __m512i h = _mm512_set1_epi8(16);
    lo = _mm512_mask_add_epi8(lo, klo, lo, h);
    hi = _mm512_mask_add_epi8(hi, khi, hi, h);
    return quad_dot<FmtQ5>(lo, hi, ap);
  }
  static inline __m256i single(const uint8_t* blk) {
    const __m256i v = nibble_single(blk + QS);
    return _mm256_mask_add_epi8(v, __mmask32(ld32(blk + QH)), v, _mm256_set1_epi8(16));
  }
};
using FmtQ5_0 = FmtQ5<22, -1, 2, 6, 16>;
using FmtQ5_1 = FmtQ5<24, 2, 4, 8, 0>;

// Q8_0: pairs of blocks (one zmm of quants); weights made unsigned by xor 0x80 (offset 128).
struct FmtQ8_0 {
  static constexpr int kBytes = 34, kUnit = 2, kM = -1, kOffset = 128;
  static constexpr bool kMin = false;
  static inline __m512i unit(const uint8_t* blk, const uint8_t* ap) {
    const __m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(loadu256(blk + 2)), loadu256(blk + kBytes + 2), 1);
    return _mm512_dpbusd_epi32(_mm512_load_si512(ap + 64), _mm512_xor_si512(v, _mm512_set1_epi8(char(0x80))),
                               _mm512_load_si512(ap));
  }
  static inline __m256i single(const uint8_t* blk) {
    return _mm256_xor_si256(loadu256(blk + 2), _mm256_set1_epi8(char(0x80)));
  }
};

// ---- Q4_K / Q5_K against Q8_K ----------------------------------------------------------------
// Per super-block the prepared activation holds the 256 quants with the 32-element sub-blocks in
// the order 0,2,1,3,4,6,5,7 (so one 64-byte load of qs gives sub-blocks {0,2} in its low nibbles
// and {1,3} in its high nibbles), the 8 sums bsums[2j] + bsums[2j+1] (i16) and dy.
constexpr size_t kKStride = 320;
size_t kquant_prep_bytes(int64_t k) { return size_t(k / 256) * kKStride; }
void kquant_prep(const void* conv, int64_t k, void* dst) {
  const auto* a = static_cast<const BlockQ8_K*>(conv);
  auto* out = static_cast<uint8_t*>(dst);
  static constexpr int kOrder[8] = {0, 2, 1, 3, 4, 6, 5, 7};
  for (int64_t i = 0; i < k / 256; ++i, out += kKStride) {
    const auto* blk = reinterpret_cast<const uint8_t*>(a + i);
    for (int c = 0; c < 8; ++c) std::memcpy(out + 32 * c, blk + offsetof(BlockQ8_K, qs) + 32 * kOrder[c], 32);
    int16_t bs[16], bs8[8];
    std::memcpy(bs, blk + offsetof(BlockQ8_K, bsums), 32);
    for (int j = 0; j < 8; ++j) bs8[j] = int16_t(bs[2 * j] + bs[2 * j + 1]);
    std::memcpy(out + 256, bs8, 16);
    std::memcpy(out + 272, blk + offsetof(BlockQ8_K, d), 4);
  }
}

// pshufb controls turning the 16 bytes {sc0..sc7, m0..m7} (in every 128-bit lane) into the i16
// scale vector of a maddubs product: 128-bit lanes 0,1 hold one sub-block, lanes 2,3 another.
#define OMNI_S8(x) x, -128, x, -128, x, -128, x, -128, x, -128, x, -128, x, -128, x, -128
#define OMNI_CTRL(a, b) {OMNI_S8(a), OMNI_S8(a), OMNI_S8(b), OMNI_S8(b)}
alignas(64) constexpr int8_t kCtrl[4][64] = {OMNI_CTRL(0, 2), OMNI_CTRL(1, 3), OMNI_CTRL(4, 6), OMNI_CTRL(5, 7)};
#undef OMNI_CTRL
#undef OMNI_S8
alignas(16) constexpr uint32_t kScaleMask1[4] = {0x3f3f3f3fu, 0x0f0f0f0fu, 0x3f3f3f3fu, 0x0f0f0f0fu};
alignas(16) constexpr uint32_t kScaleMask2[4] = {0, 0x30303030u, 0, 0x30303030u};

// {sc0..sc7, m0..m7} of a Q4_K/Q5_K block from its first 16 bytes v (d|dmin, then the 12 scale
// bytes as words u0 u1 u2), decoded in vector registers.
inline __m128i k4_scales_mins(__m128i v) {
  const __m128i p = _mm_srlv_epi32(_mm_shuffle_epi32(v, _MM_SHUFFLE(3, 2, 3, 1)), _mm_setr_epi32(0, 0, 0, 4));
  const __m128i q = _mm_srli_epi32(_mm_shuffle_epi32(v, _MM_SHUFFLE(2, 2, 1, 1)), 2);  // u0 u0 u1 u1, >> 2
  const __m128i lo = _mm_and_si128(p, _mm_load_si128(reinterpret_cast<const __m128i*>(kScaleMask1)));
  return _mm_ternarylogic_epi32(lo, q, _mm_load_si128(reinterpret_cast<const __m128i*>(kScaleMask2)), 0xF8);
}

template <bool kQ5, int R>
void kquant_rows(int64_t nsb, const uint8_t* w, size_t ws, const uint8_t* prep, float* y, int64_t ys) {
  constexpr size_t kB = kQ5 ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
  constexpr size_t kQs = kQ5 ? offsetof(BlockQ5_K, qs) : offsetof(BlockQ4_K, qs);
  const __m512i m4 = _mm512_set1_epi8(0x0F), m16 = _mm512_set1_epi8(16);
  const __m512i c0 = _mm512_load_si512(kCtrl[0]), c1 = _mm512_load_si512(kCtrl[1]);
  const __m512i c2 = _mm512_load_si512(kCtrl[2]), c3 = _mm512_load_si512(kCtrl[3]);
  const __m128i cm = _mm_setr_epi8(8, -128, 9, -128, 10, -128, 11, -128, 12, -128, 13, -128, 14, -128, 15, -128);
  // 5th-bit shifts: sub-blocks {0,2} bits 0,2 -> 4; {1,3} bits 1,3; {4,6} bits 4,6; {5,7} bits 5,7.
  const __m512i sl0 = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
  const __m512i sl1 = _mm512_inserti64x4(_mm512_set1_epi16(3), _mm256_set1_epi16(1), 1);
  const __m512i sr2 = _mm512_inserti64x4(_mm512_set1_epi16(0), _mm256_set1_epi16(2), 1);
  const __m512i sr3 = _mm512_inserti64x4(_mm512_set1_epi16(1), _mm256_set1_epi16(3), 1);
  __m512 facc[R];
  __m128 macc[R];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) facc[r] = _mm512_setzero_ps(), macc[r] = _mm_setzero_ps();
  for (int64_t i = 0; i < nsb; ++i) {
    const uint8_t* ap = prep + size_t(i) * kKStride;
    const __m512i x0 = _mm512_load_si512(ap), x1 = _mm512_load_si512(ap + 64);
    const __m512i x2 = _mm512_load_si512(ap + 128), x3 = _mm512_load_si512(ap + 192);
    const __m128i bs8 = _mm_load_si128(reinterpret_cast<const __m128i*>(ap + 256));
    const __m128 vdy = _mm_broadcast_ss(reinterpret_cast<const float*>(ap + 272));
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const uint8_t* bp = w + size_t(r) * ws + size_t(i) * kB;
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bp));
      const __m128i sm = k4_scales_mins(v);
      const __m512i smb = _mm512_broadcast_i32x4(sm);
      const __m512i q01 = _mm512_loadu_si512(bp + kQs), q23 = _mm512_loadu_si512(bp + kQs + 64);
      __m512i w0 = _mm512_and_si512(q01, m4), w1 = _mm512_and_si512(_mm512_srli_epi16(q01, 4), m4);
      __m512i w2 = _mm512_and_si512(q23, m4), w3 = _mm512_and_si512(_mm512_srli_epi16(q23, 4), m4);
      if constexpr (kQ5) {
        const __m512i hb = _mm512_broadcast_i64x4(loadu256(bp + offsetof(BlockQ5_K, qh)));
        w0 = _mm512_ternarylogic_epi32(w0, _mm512_sllv_epi16(hb, sl0), m16, 0xF8);  // w | (h & 16)
        w1 = _mm512_ternarylogic_epi32(w1, _mm512_sllv_epi16(hb, sl1), m16, 0xF8);
        w2 = _mm512_ternarylogic_epi32(w2, _mm512_srlv_epi16(hb, sr2), m16, 0xF8);
        w3 = _mm512_ternarylogic_epi32(w3, _mm512_srlv_epi16(hb, sr3), m16, 0xF8);
      }
      // maddubs: pairs of products (<= 2*31*127) as i16, then scaled and summed pairwise to i32.
      __m512i isum = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_maddubs_epi16(w0, x0), _mm512_shuffle_epi8(smb, c0));
      isum = _mm512_dpwssd_epi32(isum, _mm512_maddubs_epi16(w1, x1), _mm512_shuffle_epi8(smb, c1));
      isum = _mm512_dpwssd_epi32(isum, _mm512_maddubs_epi16(w2, x2), _mm512_shuffle_epi8(smb, c2));
      isum = _mm512_dpwssd_epi32(isum, _mm512_maddubs_epi16(w3, x3), _mm512_shuffle_epi8(smb, c3));
      const __m128i mi = _mm_madd_epi16(_mm_shuffle_epi8(sm, cm), bs8);
      const __m128 f = _mm_mul_ps(_mm_cvtph_ps(v), vdy);  // lanes 0, 1: d*dy, dmin*dy
      facc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_broadcastss_ps(f), facc[r]);
      macc[r] = _mm_fmadd_ps(_mm_cvtepi32_ps(mi), _mm_permute_ps(f, 0x55), macc[r]);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) facc[r] = _mm512_mask_sub_ps(facc[r], 0xF, facc[r], _mm512_castps128_ps512(macc[r]));
  store_sums<R>(facc, y, ys);
}

template <bool kQ5>
void kquant_matvec(int64_t k, const void* vw, size_t ws, int64_t n_rows, const void* prep, float* y) {
  const auto* w = static_cast<const uint8_t*>(vw);
  const auto* p = static_cast<const uint8_t*>(prep);
  const int64_t nsb = k / 256;
  spread_rows(
      n_rows, [&](int64_t i, int64_t q) { kquant_rows<kQ5, 4>(nsb, w + size_t(i) * ws, size_t(q) * ws, p, y + i, q); },
      [&](int64_t r) { kquant_rows<kQ5, 1>(nsb, w + size_t(r) * ws, ws, p, y + r, 1); });
}

}  // namespace
}  // namespace avx512_matvec

void fill_matvec_avx512(KernelTable& t, bool vbmi) {
  using namespace avx512_matvec;
  auto set = [&t](DType d, size_t (*bytes)(int64_t), void (*prep)(const void*, int64_t, void*), MatvecFn fn) {
    t.matvec[uint32_t(d)] = fn;
    t.matvec_prep[uint32_t(d)] = MatvecPrep{bytes, prep};
  };
  set(DType::q4_0, prep_bytes<FmtQ4_0>, prep<FmtQ4_0>, matvec<FmtQ4_0>);
  set(DType::q4_1, prep_bytes<FmtQ4_1>, prep<FmtQ4_1>, matvec<FmtQ4_1>);
  set(DType::iq4_nl, prep_bytes<FmtIQ4_NL>, prep<FmtIQ4_NL>, matvec<FmtIQ4_NL>);
  set(DType::q5_0, prep_bytes<FmtQ5_0>, prep<FmtQ5_0>, matvec<FmtQ5_0>);
  set(DType::q5_1, prep_bytes<FmtQ5_1>, prep<FmtQ5_1>, matvec<FmtQ5_1>);
  set(DType::q8_0, prep_bytes<FmtQ8_0>, prep<FmtQ8_0>, matvec<FmtQ8_0>);
  if (vbmi) fill_matvec_avx512vbmi(t);  // q5_0 / q5_1 with byte permutes
  set(DType::q4_k, kquant_prep_bytes, kquant_prep, kquant_matvec<false>);
  set(DType::q5_k, kquant_prep_bytes, kquant_prep, kquant_matvec<true>);
  fill_matvec_lowbit_avx512(t);
  fill_matvec_f16_avx512(t);
}

}  // namespace omni::kernels
