// AVX-512 VNNI matrix x vector kernels for Q2_K, Q3_K and IQ4_XS (against Q8_K activations), in the
// design of matvec_avx512.cpp: four weight rows per pass (spread_rows), the activation row prepared
// once per call in the order the weights unpack to, and per-row vector accumulators (a row's result
// does not depend on which rows it is grouped with).
//
// Q2_K / Q3_K: one 64-byte load of qs holds the four 2-bit planes of both 128-element halves; plane s
// (bits 2s..2s+1) is one zmm whose 128-bit lanes are the 16-element sub-blocks 2s, 2s+1, 8+2s, 9+2s.
// The prepared activation has the matching x for each plane. vpdpbusd gives per-lane sums of four
// products (|sum| < 2^15), so two planes are packed to i16 (vpackssdw) and one
// vpdpwssd applies both sub-block scales exactly.
// IQ4_XS: the codebook (+128, unsigned) through vpshufb, vpdpbusd started from -128 * (the lane's sum
// of x) (prepared), low and high nibbles of a 32-element sub-block in the same i32 lanes, then one
// vpmulld by the sub-block scales.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/dtype.hpp"
#include "kernels/x86/kernel_table.hpp"

namespace omni::kernels {
namespace avx512_lowbit {
namespace {

#include "kernels/x86/matvec_q8fam.inc"

// The f16 at p + r * s of R (<= 4) rows, times dy, to out[0..R) (then read back with broadcast loads).
template <int R>
inline void row_scales(const uint8_t* p, size_t s, float dy, float* out) {
  uint64_t v = 0;
  for (int r = 0; r < R; ++r) v |= uint64_t(ld16(p + size_t(r) * s)) << (16 * r);
  _mm_store_ps(out, _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi64_si128(int64_t(v))), _mm_set1_ps(dy)));
}
// The (d, dmin) f16 pairs at p + r * s of R (<= 4) rows, times dy, to out[0..2R).
template <int R>
inline void row_scale_pairs(const uint8_t* p, size_t s, float dy, float* out) {
  uint64_t v[2] = {0, 0};
  for (int r = 0; r < R; ++r) v[r / 2] |= uint64_t(ld32(p + size_t(r) * s)) << (32 * (r % 2));
  const __m128i h = _mm_insert_epi64(_mm_cvtsi64_si128(int64_t(v[0])), int64_t(v[1]), 1);
  _mm256_store_ps(out, _mm256_mul_ps(_mm256_cvtph_ps(h), _mm256_set1_ps(dy)));
}

// ---- Q2_K / Q3_K -----------------------------------------------------------------------------
// Prepared super-block (320 bytes): X_s (s = 0..3) = {x[32s..32s+32), x[128+32s..128+32s+32)} as
// 4 zmm, then the 16 bsums times kBsumMul (i16) or, for kBsumMul = 0, their low bytes (unsigned)
// and high bytes (signed), then dy (f32).
constexpr size_t kPStride = 320;
size_t plane_prep_bytes(int64_t k) { return size_t(k / 256) * kPStride; }
template <int kBsumMul>
void plane_prep(const void* conv, int64_t k, void* dst) {
  const auto* a = static_cast<const uint8_t*>(conv);
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t i = 0; i < k / 256; ++i, out += kPStride, a += sizeof(BlockQ8_K)) {
    const uint8_t* qs = a + offsetof(BlockQ8_K, qs);
    for (int s = 0; s < 4; ++s) {
      std::memcpy(out + 64 * s, qs + 32 * s, 32);
      std::memcpy(out + 64 * s + 32, qs + 128 + 32 * s, 32);
    }
    int16_t bs[16];
    std::memcpy(bs, a + offsetof(BlockQ8_K, bsums), 32);
    if constexpr (kBsumMul == 0) {  // Q2_K: bsums = lo + 256 * hi, lo (unsigned) and hi (signed) bytes
      for (int j = 0; j < 16; ++j) out[256 + j] = uint8_t(bs[j] & 0xFF), out[272 + j] = uint8_t(bs[j] >> 8);
    } else {
      for (int16_t& b : bs) b = int16_t(kBsumMul * b);
      std::memcpy(out + 256, bs, 32);
    }
    std::memcpy(out + 288, a + offsetof(BlockQ8_K, d), 4);
  }
}

// vpshufb controls spreading the 16 sub-block scale bytes over the i16 lanes of a packed plane
// pair: in 128-bit lane j, i16 lanes 0..3 belong to sub-block idx(a, j) and 4..7 to idx(b, j),
// idx(s, j) = 8 * (j / 2) + 2s + j % 2 (Q2_K: bytes zero-extended to i16).
#define OMNI_ZX(a, b) a, -128, a, -128, a, -128, a, -128, b, -128, b, -128, b, -128, b, -128
alignas(64) constexpr int8_t kZx[2][64] = {{OMNI_ZX(0, 2), OMNI_ZX(1, 3), OMNI_ZX(8, 10), OMNI_ZX(9, 11)},
                                           {OMNI_ZX(4, 6), OMNI_ZX(5, 7), OMNI_ZX(12, 14), OMNI_ZX(13, 15)}};
// vpermw indices (Q3_K, scales as 16 i16): the same pairs.
#define OMNI_W(a, b) a, a, a, a, b, b, b, b
alignas(64) constexpr int16_t kPerm[2][32] = {{OMNI_W(0, 2), OMNI_W(1, 3), OMNI_W(8, 10), OMNI_W(9, 11)},
                                              {OMNI_W(4, 6), OMNI_W(5, 7), OMNI_W(12, 14), OMNI_W(13, 15)}};
#undef OMNI_W
#undef OMNI_ZX

// Packed pair of planes: vpackssdw of the two planes' vpdpbusd sums, so in 128-bit lane j the i16
// lanes 0..3 hold plane a's sums and 4..7 plane b's. Each sum has four products of a weight 0..7 and
// an activation -128..127: exact in i16 (no saturation).
inline __m512i plane_pair(__m512i wa, __m512i xa, __m512i wb, __m512i xb) {
  const __m512i z = _mm512_setzero_si512();
  return _mm512_packs_epi32(_mm512_dpbusd_epi32(z, wa, xa), _mm512_dpbusd_epi32(z, wb, xb));
}

// Q2_K: sum_j d * s_j * (q . x)_j - dmin * m_j * bsums_j. The mins of all R rows share one zmm (row
// r in 128-bit lane r): m_j * bsums_j = m_j * lo_j + 256 * m_j * hi_j with two vpdpbusd.
template <int R>
void q2k_rows(int64_t nsb, const uint8_t* w, size_t ws, const uint8_t* prep, float* y, int64_t ys) {
  constexpr size_t kB = sizeof(BlockQ2_K);
  const __m512i m3 = _mm512_set1_epi8(3), m4 = _mm512_set1_epi8(0x0F);
  const __m512i c01 = _mm512_load_si512(kZx[0]), c23 = _mm512_load_si512(kZx[1]);
  const __m512i midx = _mm512_setr_epi32(1, 1, 1, 1, 3, 3, 3, 3, 5, 5, 5, 5, 7, 7, 7, 7);
  __m512 facc[R], macc = _mm512_setzero_ps();
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) facc[r] = _mm512_setzero_ps();
  alignas(32) float dd_next[8];
  if (nsb > 0) {
    float dy;
    std::memcpy(&dy, prep + 288, 4);
    row_scale_pairs<R>(w + offsetof(BlockQ2_K, d), ws, dy, dd_next);
  }
  for (int64_t i = 0; i < nsb; ++i) {
    const uint8_t* ap = prep + size_t(i) * kPStride;
    const uint8_t* wi = w + size_t(i) * kB;
    const __m512i x0 = _mm512_load_si512(ap), x1 = _mm512_load_si512(ap + 64);
    const __m512i x2 = _mm512_load_si512(ap + 128), x3 = _mm512_load_si512(ap + 192);
    // (d, dmin) * dy of each row, computed one super-block ahead (off the critical path).
    alignas(32) float dd[8];
    std::memcpy(dd, dd_next, sizeof(dd));
    if (i + 1 < nsb) {
      float dy;
      std::memcpy(&dy, ap + kPStride + 288, 4);
      row_scale_pairs<R>(wi + kB + offsetof(BlockQ2_K, d), ws, dy, dd_next);
    }
    asm volatile("" : : "r"(dd) : "memory");  // read back with broadcast loads (not shuffles)
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const uint8_t* bp = wi + size_t(r) * ws;
      const __m512i sc = _mm512_and_si512(_mm512_broadcast_i32x4(loadu128(bp)), m4);
      const __m512i q = _mm512_loadu_si512(bp + offsetof(BlockQ2_K, qs));
      const __m512i p0 = _mm512_and_si512(q, m3), p1 = _mm512_and_si512(_mm512_srli_epi16(q, 2), m3);
      const __m512i p2 = _mm512_and_si512(_mm512_srli_epi16(q, 4), m3), p3 = _mm512_and_si512(_mm512_srli_epi16(q, 6), m3);
      const __m512i t01 = plane_pair(p0, x0, p1, x1), t23 = plane_pair(p2, x2, p3, x3);
      const __m512i isum = _mm512_dpwssd_epi32(_mm512_madd_epi16(t01, _mm512_shuffle_epi8(sc, c01)), t23,
                                               _mm512_shuffle_epi8(sc, c23));
      facc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(dd[2 * r]), facc[r]);
    }
    __m512i sm = _mm512_zextsi128_si512(loadu128(wi));
    if constexpr (R > 1) sm = _mm512_inserti32x4(sm, loadu128(wi + ws), 1);
    if constexpr (R > 2) sm = _mm512_inserti32x4(sm, loadu128(wi + 2 * ws), 2);
    if constexpr (R > 3) sm = _mm512_inserti32x4(sm, loadu128(wi + 3 * ws), 3);
    const __m512i mins = _mm512_and_si512(_mm512_srli_epi16(sm, 4), m4);
    const __m512i blo = _mm512_broadcast_i32x4(_mm_load_si128(reinterpret_cast<const __m128i*>(ap + 256)));
    const __m512i bhi = _mm512_broadcast_i32x4(_mm_load_si128(reinterpret_cast<const __m128i*>(ap + 272)));
    const __m512i mhi = _mm512_slli_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), mins, bhi), 8);
    const __m512i mi = _mm512_dpbusd_epi32(mhi, blo, mins);
    const __m512 f = _mm512_permutexvar_ps(midx, _mm512_castps256_ps512(_mm256_load_ps(dd)));  // dmin * dy per lane
    macc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(mi), f, macc);
  }
  // Row r's mins from lanes 4r..4r+3 to lanes 0..3: the same lanes whichever rows it was grouped with.
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    const __m512 m = _mm512_permutexvar_ps(_mm512_add_epi32(_mm512_setr_epi32(0, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
                                                            _mm512_set1_epi32(4 * r)), macc);
    facc[r] = _mm512_mask_sub_ps(facc[r], 0xF, facc[r], m);
  }
  store_sums<R>(facc, y, ys);
}

// The 16 Q3_K scales s_j - 32 as signed bytes, decoded in vector registers from the 16 bytes that end
// a block (the 12 scale bytes are bytes 2..13), one block per 128-bit lane: low 4 bits of s_j in byte
// j (j < 8) or the high nibble of byte j - 8; high 2 bits in bits 2m..2m+1 of byte 8 + j % 4, m = j / 4.
inline __m512i q3k_scale_bytes(__m512i v) {
  const __m512i a = _mm512_shuffle_epi8(v, _mm512_broadcast_i32x4(_mm_setr_epi8(2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5, 6, 7, 8, 9)));
  const __m512i lo = _mm512_and_si512(_mm512_srlv_epi16(a, _mm512_broadcast_i32x4(_mm_setr_epi16(0, 0, 0, 0, 4, 4, 4, 4))),
                                      _mm512_set1_epi8(0x0F));
  const __m512i b = _mm512_shuffle_epi8(v, _mm512_broadcast_i32x4(_mm_setr_epi8(10, 11, 12, 13, 10, 11, 12, 13, 10, 11, 12, 13, 10, 11, 12, 13)));
  const __m512i h = _mm512_rolv_epi32(b, _mm512_broadcast_i32x4(_mm_setr_epi32(4, 2, 0, 30)));  // bits 2m..2m+1 to 4..5
  return _mm512_sub_epi8(_mm512_ternarylogic_epi32(lo, h, _mm512_set1_epi8(0x30), 0xF8), _mm512_set1_epi8(32));  // lo | (h & 0x30)
}

// Q3_K: unsigned weights u = low 2 bits + 4 * hmask bit (0..7); the -4 comes back through the
// bsums (prepared as -4 * bsums): + sum_j s_j * (-4 * bsums_j). The hmask bits of plane s become
// 4 or 0 by a vpshufb of the 4 bits a byte holds (kHbit[s][i] = 4 * bit s of i).
#define OMNI_HB(s) {0, ((1 >> s) & 1) * 4, ((2 >> s) & 1) * 4, ((3 >> s) & 1) * 4, ((4 >> s) & 1) * 4, ((5 >> s) & 1) * 4, \
  ((6 >> s) & 1) * 4, ((7 >> s) & 1) * 4, ((8 >> s) & 1) * 4, ((9 >> s) & 1) * 4, ((10 >> s) & 1) * 4, ((11 >> s) & 1) * 4, \
  ((12 >> s) & 1) * 4, ((13 >> s) & 1) * 4, ((14 >> s) & 1) * 4, ((15 >> s) & 1) * 4}
alignas(16) constexpr int8_t kHbit[4][16] = {OMNI_HB(0), OMNI_HB(1), OMNI_HB(2), OMNI_HB(3)};
#undef OMNI_HB
inline __m512i hbit_table(int s) {
  return _mm512_broadcast_i32x4(_mm_load_si128(reinterpret_cast<const __m128i*>(kHbit[s])));
}

template <int R>
void q3k_rows(int64_t nsb, const uint8_t* w, size_t ws, const uint8_t* prep, float* y, int64_t ys) {
  constexpr size_t kB = sizeof(BlockQ3_K);
  const __m512i m3 = _mm512_set1_epi8(3), m4 = _mm512_set1_epi8(0x0F);
  const __m512i hb0 = hbit_table(0), hb1 = hbit_table(1), hb2 = hbit_table(2), hb3 = hbit_table(3);
  const __m512i c01 = _mm512_load_si512(kPerm[0]), c23 = _mm512_load_si512(kPerm[1]);
  const __m512i c01h = _mm512_add_epi16(c01, _mm512_set1_epi16(16)), c23h = _mm512_add_epi16(c23, _mm512_set1_epi16(16));
  // hmask bit 4h+s of byte l belongs to element 128h+32s+l: the upper half (h = 1) shifted by 4.
  const __m512i hshift = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(4), 1);
  __m512 facc[R];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) facc[r] = _mm512_setzero_ps();
  for (int64_t i = 0; i < nsb; ++i) {
    const uint8_t* ap = prep + size_t(i) * kPStride;
    const __m512i x0 = _mm512_load_si512(ap), x1 = _mm512_load_si512(ap + 64);
    const __m512i x2 = _mm512_load_si512(ap + 128), x3 = _mm512_load_si512(ap + 192);
    const __m256i bs = _mm256_load_si256(reinterpret_cast<const __m256i*>(ap + 256));
    float dy;
    std::memcpy(&dy, ap + 288, 4);
    alignas(16) float dd[4];  // d * dy of each row
    row_scales<R>(w + size_t(i) * kB + offsetof(BlockQ3_K, d), ws, dy, dd);
    asm volatile("" : : "r"(dd) : "memory");  // read back with broadcast loads (not shuffles)
    // Scales of the R rows decoded together (row r in 128-bit lane r), widened to i16 two rows per
    // zmm, with their bsums corrections (row 2p + h in i32 lanes 8h..8h+7 of corr[p]).
    const uint8_t* wi = w + size_t(i) * kB;
    __m512i raw = _mm512_zextsi128_si512(loadu128(wi + kB - 16));
    if constexpr (R > 1) raw = _mm512_inserti32x4(raw, loadu128(wi + ws + kB - 16), 1);
    if constexpr (R > 2) raw = _mm512_inserti32x4(raw, loadu128(wi + 2 * ws + kB - 16), 2);
    if constexpr (R > 3) raw = _mm512_inserti32x4(raw, loadu128(wi + 3 * ws + kB - 16), 3);
    const __m512i sc8 = q3k_scale_bytes(raw);
    const __m512i bs2 = _mm512_broadcast_i64x4(bs);
    __m512i sc16[2], corr[2];
    sc16[0] = _mm512_cvtepi8_epi16(_mm512_castsi512_si256(sc8));
    corr[0] = _mm512_madd_epi16(sc16[0], bs2);
    if constexpr (R > 2) {
      sc16[1] = _mm512_cvtepi8_epi16(_mm512_extracti64x4_epi64(sc8, 1));
      corr[1] = _mm512_madd_epi16(sc16[1], bs2);
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const uint8_t* bp = wi + size_t(r) * ws;
      const __m512i sc = sc16[r / 2];
      // this row's correction in i32 lanes 0..7 (the same lanes whichever rows it is grouped with)
      const __m512i start = r % 2 ? _mm512_maskz_shuffle_i64x2(0x0F, corr[r / 2], corr[r / 2], 0xEE)
                                  : _mm512_maskz_mov_epi64(0x0F, corr[r / 2]);
      const __m512i i01 = r % 2 ? c01h : c01, i23 = r % 2 ? c23h : c23;
      const __m512i q = _mm512_loadu_si512(bp + offsetof(BlockQ3_K, qs));
      const __m512i hm = _mm512_and_si512(_mm512_srlv_epi16(_mm512_broadcast_i64x4(loadu256(bp)), hshift), m4);
      // (q >> 2s) & 3 | hbit(s): vpternlogd (A & C) | B
      const __m512i p0 = _mm512_ternarylogic_epi32(q, _mm512_shuffle_epi8(hb0, hm), m3, 0xEC);
      const __m512i p1 = _mm512_ternarylogic_epi32(_mm512_srli_epi16(q, 2), _mm512_shuffle_epi8(hb1, hm), m3, 0xEC);
      const __m512i p2 = _mm512_ternarylogic_epi32(_mm512_srli_epi16(q, 4), _mm512_shuffle_epi8(hb2, hm), m3, 0xEC);
      const __m512i p3 = _mm512_ternarylogic_epi32(_mm512_srli_epi16(q, 6), _mm512_shuffle_epi8(hb3, hm), m3, 0xEC);
      const __m512i t01 = plane_pair(p0, x0, p1, x1), t23 = plane_pair(p2, x2, p3, x3);
      const __m512i isum = _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(start, t01, _mm512_permutexvar_epi16(i01, sc)), t23,
                                               _mm512_permutexvar_epi16(i23, sc));
      facc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(dd[r]), facc[r]);
    }
  }
  store_sums<R>(facc, y, ys);
}

// ---- IQ4_XS ----------------------------------------------------------------------------------
// Prepared super-block (448 bytes): for c = 0, 1 (sub-blocks 4c..4c+3, one per 128-bit lane) the
// x of the low nibbles (elements 0..15 of each sub-block) and of the high nibbles (16..31), 4 zmm;
// then z_c = -128 * (each i32 lane's sum of x over both), 2 zmm; then dy (f32).
constexpr size_t kXStride = 448;
size_t iq4xs_prep_bytes(int64_t k) { return size_t(k / 256) * kXStride; }
void iq4xs_prep(const void* conv, int64_t k, void* dst) {
  const auto* a = static_cast<const uint8_t*>(conv);
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t i = 0; i < k / 256; ++i, out += kXStride, a += sizeof(BlockQ8_K)) {
    const uint8_t* qs = a + offsetof(BlockQ8_K, qs);
    for (int c = 0; c < 2; ++c) {
      uint8_t* xc = out + 128 * c;
      for (int j = 0; j < 4; ++j) {
        std::memcpy(xc + 16 * j, qs + 32 * (4 * c + j), 16);
        std::memcpy(xc + 64 + 16 * j, qs + 32 * (4 * c + j) + 16, 16);
      }
      int32_t z[16];
      for (int t = 0; t < 16; ++t) {
        int s = 0;
        for (int b = 0; b < 4; ++b) s += int8_t(xc[4 * t + b]) + int8_t(xc[64 + 4 * t + b]);
        z[t] = -128 * s;
      }
      std::memcpy(out + 256 + 64 * c, z, 64);
    }
    std::memcpy(out + 384, a + offsetof(BlockQ8_K, d), 4);
  }
}

// The 8 IQ4_XS sub-block scales ls (0..63, biased by 32) as the bytes of a u64 (general
// registers: nibbles of scales_l and bit pairs of scales_h spread to bytes).
inline uint64_t iq4xs_scale_bytes(const uint8_t* blk) {
  uint64_t lo = ld32(blk + offsetof(BlockIQ4_XS, scales_l));
  lo = (lo | lo << 16) & 0x0000FFFF0000FFFFull;
  lo = (lo | lo << 8) & 0x00FF00FF00FF00FFull;
  lo = (lo | lo << 4) & 0x0F0F0F0F0F0F0F0Full;
  uint64_t hi = ld16(blk + offsetof(BlockIQ4_XS, scales_h));
  hi = (hi | hi << 24) & 0x000000FF000000FFull;
  hi = (hi | hi << 12) & 0x000F000F000F000Full;
  hi = (hi | hi << 6) & 0x0303030303030303ull;
  return lo | hi << 4;
}

template <int R>
void iq4xs_rows(int64_t nsb, const uint8_t* w, size_t ws, const uint8_t* prep, float* y, int64_t ys) {
  constexpr size_t kB = sizeof(BlockIQ4_XS);
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  // IQ4_NL codebook + 128 (1..241)
  const __m512i tab = _mm512_broadcast_i32x4(
      _mm_setr_epi8(1, 24, 45, 63, 79, 93, 106, 118, -127, -115, -103, -90, -75, -59, -39, -15));
  const __m512i idx0 = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
  const __m512i idx1 = _mm512_add_epi32(idx0, _mm512_set1_epi32(4));
  __m512 facc[R];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) facc[r] = _mm512_setzero_ps();
  for (int64_t i = 0; i < nsb; ++i) {
    const uint8_t* ap = prep + size_t(i) * kXStride;
    const __m512i xl0 = _mm512_load_si512(ap), xh0 = _mm512_load_si512(ap + 64);
    const __m512i xl1 = _mm512_load_si512(ap + 128), xh1 = _mm512_load_si512(ap + 192);
    const __m512i z0 = _mm512_load_si512(ap + 256), z1 = _mm512_load_si512(ap + 320);
    float dy;
    std::memcpy(&dy, ap + 384, 4);
    alignas(16) float dd[4];  // d * dy of each row
    row_scales<R>(w + size_t(i) * kB + offsetof(BlockIQ4_XS, d), ws, dy, dd);
    asm volatile("" : : "r"(dd) : "memory");  // read back with broadcast loads (not shuffles)
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const uint8_t* bp = w + size_t(r) * ws + size_t(i) * kB;
      const __m512i q0 = _mm512_loadu_si512(bp + offsetof(BlockIQ4_XS, qs));
      const __m512i q1 = _mm512_loadu_si512(bp + offsetof(BlockIQ4_XS, qs) + 64);
      const __m512i l0 = _mm512_shuffle_epi8(tab, _mm512_and_si512(q0, m4));
      const __m512i h0 = _mm512_shuffle_epi8(tab, _mm512_and_si512(_mm512_srli_epi16(q0, 4), m4));
      const __m512i l1 = _mm512_shuffle_epi8(tab, _mm512_and_si512(q1, m4));
      const __m512i h1 = _mm512_shuffle_epi8(tab, _mm512_and_si512(_mm512_srli_epi16(q1, 4), m4));
      const __m512i d0 = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(z0, l0, xl0), h0, xh0);
      const __m512i d1 = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(z1, l1, xl1), h1, xh1);
      const __m128i ls = _mm_cvtsi64_si128(int64_t(iq4xs_scale_bytes(bp)));
      const __m512i sc = _mm512_cvtepi8_epi32(_mm_sub_epi8(ls, _mm_set1_epi8(32)));
      const __m512i isum = _mm512_add_epi32(_mm512_mullo_epi32(d0, _mm512_permutexvar_epi32(idx0, sc)),
                                            _mm512_mullo_epi32(d1, _mm512_permutexvar_epi32(idx1, sc)));
      facc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(dd[r]), facc[r]);
    }
  }
  store_sums<R>(facc, y, ys);
}

template <void (*Rows4)(int64_t, const uint8_t*, size_t, const uint8_t*, float*, int64_t),
          void (*Rows1)(int64_t, const uint8_t*, size_t, const uint8_t*, float*, int64_t)>
void lowbit_matvec(int64_t k, const void* vw, size_t ws, int64_t n_rows, const void* prep, float* y) {
  const auto* w = static_cast<const uint8_t*>(vw);
  const auto* p = static_cast<const uint8_t*>(prep);
  const int64_t nsb = k / 256;
  spread_rows(
      n_rows, [&](int64_t i, int64_t q) { Rows4(nsb, w + size_t(i) * ws, size_t(q) * ws, p, y + i, q); },
      [&](int64_t r) { Rows1(nsb, w + size_t(r) * ws, ws, p, y + r, 1); });
}

}  // namespace
}  // namespace avx512_lowbit

void fill_matvec_lowbit_avx512(KernelTable& t) {
  using namespace avx512_lowbit;
  auto set = [&t](DType d, size_t (*bytes)(int64_t), void (*prep)(const void*, int64_t, void*), MatvecFn fn) {
    t.matvec[uint32_t(d)] = fn;
    t.matvec_prep[uint32_t(d)] = MatvecPrep{bytes, prep};
  };
  set(DType::q2_k, plane_prep_bytes, plane_prep<0>, lowbit_matvec<q2k_rows<4>, q2k_rows<1>>);
  set(DType::q3_k, plane_prep_bytes, plane_prep<-4>, lowbit_matvec<q3k_rows<4>, q3k_rows<1>>);
  set(DType::iq4_xs, iq4xs_prep_bytes, iq4xs_prep, lowbit_matvec<iq4xs_rows<4>, iq4xs_rows<1>>);
}

}  // namespace omni::kernels
