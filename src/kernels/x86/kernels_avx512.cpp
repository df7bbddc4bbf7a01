// AVX-512 (F/BW/VL/VNNI/BF16) kernels: the 256-bit set with VNNI int8 dot products, 512-bit
// vec_dot for Q4_K/Q5_K/Q6_K, the f32 GEMM micro-kernel and VNNI quantized GEMM tiles (the
// matrix x vector kernels are in matvec_avx512*.cpp).
#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <type_traits>
#include <utility>

#include "core/dtype.hpp"
#include "kernels/x86/kernel_table.hpp"

namespace omni::kernels {
namespace avx512 {

#define OMNI_VNNI256 1
#include "kernels/x86/simd256.inc"
#include "kernels/x86/simd256_lowbit.inc"
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



// ---- 512-bit matrix-vector kernels -------------------------------------------------------
// Q4_K . Q8_K: scales/mins decoded with integer ops; per 64 elements one maddubs (nibbles x
// activations, i16 pairs) and one vpdpwssd with the two sub-block scales.
template <class B>  // BlockQ4_K, or BlockQ5_K (adds the 5th bits from qh)
static float dot_k4_512(int64_t n, const void* vw, const void* va) {
  constexpr bool kQ5 = std::is_same_v<B, BlockQ5_K>;
  const auto* w = static_cast<const B*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  // vpermw indices: lanes 0..15 -> scale 2c, lanes 16..31 -> scale 2c+1
  __m512i idx[4];
  for (int c = 0; c < 4; ++c)
    idx[c] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16(int16_t(2 * c))), _mm256_set1_epi16(int16_t(2 * c + 1)), 1);
  __m512 acc = _mm512_setzero_ps();
  __m256 macc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / 256; ++i) {
    uint32_t u[3];
    std::memcpy(u, w[i].scales, 12);
    const uint32_t s_lo = u[0] & 0x3f3f3f3fu, m_lo = u[1] & 0x3f3f3f3fu;
    const uint32_t s_hi = (u[2] & 0x0f0f0f0fu) | ((u[0] >> 2) & 0x30303030u);
    const uint32_t m_hi = ((u[2] >> 4) & 0x0f0f0f0fu) | ((u[1] >> 2) & 0x30303030u);
    const __m128i sc8 = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, int(s_hi), int(s_lo)));  // 8 x i16
    const __m128i m8 = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, int(m_hi), int(m_lo)));
    // mins: sum_j m_j * (bsums[2j] + bsums[2j+1]) via madd with m duplicated per pair
    const __m256i mdup = _mm256_set_m128i(_mm_unpackhi_epi16(m8, m8), _mm_unpacklo_epi16(m8, m8));
    const __m256i mp = _mm256_madd_epi16(loadu256(a[i].bsums), mdup);
    const float dy = a[i].d;
    macc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mp), _mm256_set1_ps(h2f(w[i].dmin) * dy), macc);
    const __m512i sc512 = _mm512_castsi128_si512(sc8);
    __m512i isum = _mm512_setzero_si512();
    for (int c = 0; c < 4; ++c) {
      const __m256i q = loadu256(w[i].qs + 32 * c);
      __m512i qv = _mm512_and_si512(_mm512_inserti64x4(_mm512_castsi256_si512(q), _mm256_srli_epi16(q, 4), 1), m4);
      if constexpr (kQ5) {  // bit 2c (low half) / 2c+1 (high half) of qh[l] -> +16
        const __m512i hb = _mm512_broadcast_i64x4(loadu256(w[i].qh));
        const __m512i sh = _mm512_inserti64x4(_mm512_set1_epi16(int16_t(2 * c)), _mm256_set1_epi16(int16_t(2 * c + 1)), 1);
        qv = _mm512_or_si512(qv, _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(hb, sh), _mm512_set1_epi8(1)), 4));
      }
      const __m512i p = _mm512_maddubs_epi16(qv, _mm512_loadu_si512(a[i].qs + 64 * c));
      isum = _mm512_dpwssd_epi32(isum, p, _mm512_permutexvar_epi16(idx[c], sc512));
    }
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(h2f(w[i].d) * dy), acc);
  }
  return _mm512_reduce_add_ps(acc) - hsum_ps(macc);
}


// Q6_K . Q8_K: each 128-element half is two zmm (quarters 0|1 and 2|3) built from one 64-byte ql
// load and the 32 qh bytes; scales expanded with vpermw; the -32 offset applied through bsums.
static float dot_q6_k_512(int64_t n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ6_K*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
  const __m512i shl01 = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);  // quarters 0 | 1
  const __m512i shr23 = _mm512_inserti64x4(_mm512_set1_epi16(0), _mm256_set1_epi16(2), 1);  // quarters 2 | 3
  // vpermw indices: lane l (2 elements) of step s of half h uses scale 8h + 4s + l / 8
  __m512i sidx[4];
  for (int st = 0; st < 4; ++st) {
    alignas(64) int16_t idx[32];
    for (int l = 0; l < 32; ++l) idx[l] = int16_t(4 * st + l / 8);
    sidx[st] = _mm512_load_si512(idx);
  }
  __m512 acc = _mm512_setzero_ps();
  __m256 cacc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / 256; ++i) {
    const __m256i sc16 = _mm256_cvtepi8_epi16(loadu128(w[i].scales));
    const __m512i sc512 = _mm512_castsi256_si512(sc16);
    const __m256i corr = _mm256_madd_epi16(sc16, loadu256(a[i].bsums));  // sum s_j * bsums_j (8 lanes)
    const float dd = h2f(w[i].d) * a[i].d;
    cacc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(corr), _mm256_set1_ps(32.0f * dd), cacc);
    __m512i isum = _mm512_setzero_si512();
    for (int h = 0; h < 2; ++h) {
      const __m512i l = _mm512_loadu_si512(w[i].ql + 64 * h);
      const __m512i hb = _mm512_broadcast_i64x4(loadu256(w[i].qh + 32 * h));
      const __m512i q01 = _mm512_or_si512(_mm512_and_si512(l, m4), _mm512_and_si512(_mm512_sllv_epi16(hb, shl01), m30));
      const __m512i q23 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4),
                                          _mm512_and_si512(_mm512_srlv_epi16(hb, shr23), m30));
      const __m512i p01 = _mm512_maddubs_epi16(q01, _mm512_loadu_si512(a[i].qs + 128 * h));
      const __m512i p23 = _mm512_maddubs_epi16(q23, _mm512_loadu_si512(a[i].qs + 128 * h + 64));
      isum = _mm512_dpwssd_epi32(isum, p01, _mm512_permutexvar_epi16(sidx[2 * h], sc512));
      isum = _mm512_dpwssd_epi32(isum, p23, _mm512_permutexvar_epi16(sidx[2 * h + 1], sc512));
    }
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(dd), acc);
  }
  return _mm512_reduce_add_ps(acc) - hsum_ps(cacc);
}

// ---- quantized GEMM (VNNI) ---------------------------------------------------------------
// Q8_0-family: activations packed per token as P = ceil(nb/2) block pairs: qs [P][64] (zero
// padded), then meta [P][4] = {da0, da1, corr0, corr1} with corr = -offset * sum(qs) (int32 bits),
// offset = 128 for q8_0 weights (made unsigned by xor 0x80) or 8 for q4_0 (nibbles 0..15).
static size_t q8fam_packed_bytes(int64_t k) { return size_t((k / 32 + 1) / 2) * 80; }
static size_t q8fam_scratch_bytes(int64_t k) { return 4 * size_t((k / 32 + 1) / 2) * 128; }
template <int Offset>
static void q8fam_pack(const void* conv, int64_t k, void* dst) {
  const auto* a = static_cast<const BlockQ8_0*>(conv);
  const int64_t nb = k / 32, P = (nb + 1) / 2;
  auto* qs = static_cast<int8_t*>(dst);
  auto* meta = reinterpret_cast<float*>(static_cast<uint8_t*>(dst) + P * 64);
  for (int64_t b = 0; b < 2 * P; ++b) {
    float da = 0.0f;
    int32_t corr = 0;
    if (b < nb) {
      std::memcpy(qs + 32 * b, a[b].qs, 32);
      int sum = 0;
      for (int e = 0; e < 32; ++e) sum += a[b].qs[e];
      da = h2f(a[b].d);
      corr = -Offset * sum;
    } else {
      std::memset(qs + 32 * b, 0, 32);
    }
    meta[4 * (b / 2) + (b % 2)] = da;
    std::memcpy(&meta[4 * (b / 2) + 2 + (b % 2)], &corr, 4);
  }
}
struct LoadQ8_0 {
  static constexpr size_t kBlock = sizeof(BlockQ8_0);
  static inline void load(const uint8_t* row, int64_t b, bool two, __m512i& wv, __m512& dw) {
    const auto* W = reinterpret_cast<const BlockQ8_0*>(row);
    const __m256i w0 = loadu256(W[b].qs), w1 = two ? loadu256(W[b + 1].qs) : _mm256_setzero_si256();
    wv = _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(w0), w1, 1), _mm512_set1_epi8(char(0x80)));
    dw = _mm512_insertf32x8(_mm512_set1_ps(h2f(W[b].d)), _mm256_set1_ps(two ? h2f(W[b + 1].d) : 0.0f), 1);
  }
};
struct LoadQ4_0 {
  static inline void load(const uint8_t* row, int64_t b, bool two, __m512i& wv, __m512& dw) {
    const auto* W = reinterpret_cast<const BlockQ4_0*>(row);
    const __m128i q0 = loadu128(W[b].qs), q1 = two ? loadu128(W[b + 1].qs) : _mm_setzero_si128();
    const __m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_broadcastsi128_si256(q0)),
                                         _mm256_broadcastsi128_si256(q1), 1);
    const __m512i shifts = _mm512_set_epi64(0x0004000400040004, 0x0004000400040004, 0, 0, 0x0004000400040004,
                                            0x0004000400040004, 0, 0);
    wv = _mm512_and_si512(_mm512_srlv_epi16(v, shifts), _mm512_set1_epi8(0x0F));
    dw = _mm512_insertf32x8(_mm512_set1_ps(h2f(W[b].d)), _mm256_set1_ps(two ? h2f(W[b + 1].d) : 0.0f), 1);
  }
};
struct LoadQ5_0 {
  static inline void load(const uint8_t* row, int64_t b, bool two, __m512i& wv, __m512& dw) {
    const auto* W = reinterpret_cast<const BlockQ5_0*>(row);
    const __m256i q0 = q5_bytes(W[b].qs, W[b].qh);
    const __m256i q1 = two ? q5_bytes(W[b + 1].qs, W[b + 1].qh) : _mm256_setzero_si256();
    wv = _mm512_inserti64x4(_mm512_castsi256_si512(q0), q1, 1);
    dw = _mm512_insertf32x8(_mm512_set1_ps(h2f(W[b].d)), _mm256_set1_ps(two ? h2f(W[b + 1].d) : 0.0f), 1);
  }
};
// Unpack the rows of a tile once: per row and block pair {weight bytes (64), scales (16 f32)}.
template <class L>
static void q8fam_prep(const uint8_t* w, size_t ws, int n_rows, int64_t nb, uint8_t* prep) {
  const int64_t P = (nb + 1) / 2;
  for (int r = 0; r < n_rows; ++r)
    for (int64_t p = 0; p < P; ++p) {
      __m512i wv;
      __m512 dw;
      L::load(w + r * ws, 2 * p, 2 * p + 1 < nb, wv, dw);
      uint8_t* out = prep + (r * P + p) * 128;
      _mm512_store_si512(out, wv);
      _mm512_store_ps(reinterpret_cast<float*>(out + 64), dw);
    }
}
template <int R, int T>
static void q8fam_kernel(int64_t nb, const uint8_t* prep, const uint8_t* ap, size_t as, float* y, int64_t ldy) {
  const int64_t P = (nb + 1) / 2;
  __m512 facc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) facc[r][t] = _mm512_setzero_ps();
  const __m512i idx_d = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
  const __m512i idx_c = _mm512_setr_epi32(2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0);
  for (int64_t p = 0; p < P; ++p) {
    __m512i wv[R];
    __m512 dw[R];
    for (int r = 0; r < R; ++r) {
      wv[r] = _mm512_load_si512(prep + (r * P + p) * 128);
      dw[r] = _mm512_load_ps(reinterpret_cast<const float*>(prep + (r * P + p) * 128 + 64));
    }
    for (int t = 0; t < T; ++t) {
      const uint8_t* at = ap + t * as;
      const __m512i av = _mm512_loadu_si512(at + 64 * p);
      const __m128i meta = loadu128(at + P * 64 + 16 * p);
      const __m512 da = _mm512_permutexvar_ps(idx_d, _mm512_castps128_ps512(_mm_castsi128_ps(meta)));
      const __m512i c = _mm512_maskz_permutexvar_epi32(0x0101, idx_c, _mm512_castsi128_si512(meta));
      for (int r = 0; r < R; ++r) {
        const __m512i acc = _mm512_dpbusd_epi32(c, wv[r], av);
        facc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), _mm512_mul_ps(dw[r], da), facc[r][t]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) y[t * ldy + r] = _mm512_reduce_add_ps(facc[r][t]);
}

// Q4_K: tokens packed per super-block as {qs[256], bv[16] = dy*bsums (f32), dy}, 384 bytes; the
// rows of a tile are unpacked once into scratch per super-block as {4 x 32 i16 scale vectors,
// mv[16] = -dmin*m_(g/2), d}, 384 bytes.
constexpr size_t kQ4KStride = 384;
static size_t q4k_packed_bytes(int64_t k) { return size_t(k / 256) * kQ4KStride; }
constexpr size_t kPrepStride = 640;  // per row and super-block: scales 256, mv 64, d (64), weight bytes 256
static size_t q4k_scratch_bytes(int64_t k) { return 4 * size_t(k / 256) * kPrepStride; }
static void q4k_pack(const void* conv, int64_t k, void* dst) {
  const auto* a = static_cast<const BlockQ8_K*>(conv);
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t i = 0; i < k / 256; ++i, out += kQ4KStride) {
    std::memcpy(out, a[i].qs, 256);
    float bv[16];
    for (int g = 0; g < 16; ++g) bv[g] = a[i].d * float(a[i].bsums[g]);
    std::memcpy(out + 256, bv, 64);
    std::memcpy(out + 320, &a[i].d, 4);
  }
}
// Per-row unpacking for the K-quant GEMM: scale vectors (i16, one lane per pair of elements of a
// 64-element step), the f32 correction vector mv (lane g pairs with activation bsums[g]) and d.
template <class B>
static void kmin_prep_row(const B* W, int64_t nsb, uint8_t* out) {  // Q4_K, Q5_K: 8 (sc, m) pairs
  for (int64_t i = 0; i < nsb; ++i, out += kPrepStride) {
    int16_t sv[4][32];
    float mv[16];
    const float dmin = h2f(W[i].dmin), d = h2f(W[i].d);
    for (int j = 0; j < 8; ++j) {
      int sc, m;
      scale_min_k4(j, W[i].scales, sc, m);
      for (int e = 0; e < 16; ++e) sv[j / 2][16 * (j % 2) + e] = int16_t(sc);
      mv[2 * j] = mv[2 * j + 1] = -dmin * float(m);
    }
    std::memcpy(out, sv, 256);
    std::memcpy(out + 256, mv, 64);
    std::memcpy(out + 320, &d, 4);
  }
}
static void q6k_prep_row(const BlockQ6_K* W, int64_t nsb, uint8_t* out) {  // 16 signed scales, -32 offset
  for (int64_t i = 0; i < nsb; ++i, out += kPrepStride) {
    int16_t sv[4][32];
    float mv[16];
    const float d = h2f(W[i].d);
    for (int g = 0; g < 16; ++g) {
      for (int e = 0; e < 8; ++e) sv[g / 4][8 * (g % 4) + e] = int16_t(W[i].scales[g]);
      mv[g] = -32.0f * d * float(W[i].scales[g]);  // -32 * s_g * bsums[g] * d * dy
    }
    std::memcpy(out, sv, 256);
    std::memcpy(out + 256, mv, 64);
    std::memcpy(out + 320, &d, 4);
  }
}
// Weight bytes (unsigned) of 64-element step c (0..3) of super-block i, in activation order.
struct StepQ4K {
  static inline __m512i load(const uint8_t* row, int64_t i, int c) {
    const __m256i q = loadu256(reinterpret_cast<const BlockQ4_K*>(row)[i].qs + 32 * c);
    return _mm512_and_si512(_mm512_inserti64x4(_mm512_castsi256_si512(q), _mm256_srli_epi16(q, 4), 1),
                            _mm512_set1_epi8(0x0F));
  }
};
struct StepQ5K {
  static inline __m512i load(const uint8_t* row, int64_t i, int c) {
    const BlockQ5_K& b = reinterpret_cast<const BlockQ5_K*>(row)[i];
    const __m256i q = loadu256(b.qs + 32 * c), qh = loadu256(b.qh), m4 = _mm256_set1_epi8(0x0F);
    const __m256i one = _mm256_set1_epi8(1);
    const __m256i h0 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * c)), one), 4);
    const __m256i h1 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * c + 1)), one), 4);
    const __m256i lo = _mm256_or_si256(_mm256_and_si256(q, m4), h0);
    const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), h1);
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
  }
};
struct StepQ6K {
  static inline __m512i load(const uint8_t* row, int64_t i, int c) {
    const BlockQ6_K& b = reinterpret_cast<const BlockQ6_K*>(row)[i];
    const int h = c >> 1, s = c & 1;
    const __m256i l0 = loadu256(b.ql + 64 * h), l1 = loadu256(b.ql + 64 * h + 32), hb = loadu256(b.qh + 32 * h);
    const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
    const __m128i sh = _mm_cvtsi32_si128(4 * s), sh2 = _mm_cvtsi32_si128(4 * s + 2);
    const __m256i qa = _mm256_or_si256(_mm256_and_si256(_mm256_srl_epi16(l0, sh), m4),
                                       _mm256_and_si256(_mm256_slli_epi16(_mm256_srl_epi16(hb, sh), 4), m30));
    const __m256i qb = _mm256_or_si256(_mm256_and_si256(_mm256_srl_epi16(l1, sh), m4),
                                       _mm256_and_si256(_mm256_slli_epi16(_mm256_srl_epi16(hb, sh2), 4), m30));
    return _mm512_inserti64x4(_mm512_castsi256_si512(qa), qb, 1);
  }
};
// The K-quant micro-kernel on prepared rows (weights unpacked to bytes, scales to i16 vectors).
template <int R, int T>
static void kquant_kernel(int64_t nsb, const uint8_t* w, size_t ws, const uint8_t* prep, const uint8_t* ap, size_t as,
                          float* y, int64_t ldy) {
  __m512 facc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) facc[r][t] = _mm512_setzero_ps();
  for (int64_t i = 0; i < nsb; ++i) {
    __m512i iacc[R][T];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) iacc[r][t] = _mm512_setzero_si512();
    for (int c = 0; c < 4; ++c) {
      __m512i wv[R];
      for (int r = 0; r < R; ++r) wv[r] = _mm512_load_si512(prep + (r * nsb + i) * kPrepStride + 384 + 64 * c);
      for (int t = 0; t < T; ++t) {
        const __m512i av = _mm512_loadu_si512(ap + t * as + i * kQ4KStride + 64 * c);
        for (int r = 0; r < R; ++r) {
          const __m512i sc = _mm512_load_si512(prep + (r * nsb + i) * kPrepStride + 64 * c);
          iacc[r][t] = _mm512_dpwssd_epi32(iacc[r][t], _mm512_maddubs_epi16(wv[r], av), sc);
        }
      }
    }
    for (int r = 0; r < R; ++r) {
      const uint8_t* pr = prep + (r * nsb + i) * kPrepStride;
      const __m512 mv = _mm512_load_ps(reinterpret_cast<const float*>(pr + 256));
      float d;
      std::memcpy(&d, pr + 320, 4);
      for (int t = 0; t < T; ++t) {
        const uint8_t* at = ap + t * as + i * kQ4KStride;
        float dy;
        std::memcpy(&dy, at + 320, 4);
        const __m512 bv = _mm512_loadu_ps(reinterpret_cast<const float*>(at + 256));
        facc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(iacc[r][t]), _mm512_set1_ps(d * dy),
                                     _mm512_fmadd_ps(mv, bv, facc[r][t]));
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) y[t * ldy + r] = _mm512_reduce_add_ps(facc[r][t]);
}

// Tile drivers: n_rows (<= 4) weight rows against every token, 4 tokens at a time.
template <class F>
static inline void for_token_groups(int n_rows, int n_tok, F&& call) {
  for (int t0 = 0; t0 < n_tok; t0 += 4) call(t0, n_rows, n_tok - t0 < 4 ? n_tok - t0 : 4);
}
#define OMNI_RT_SWITCH(KERNEL, nr, nt, ...)                                                   \
  switch ((nr) * 8 + (nt)) {                                                                 \
    case 9: KERNEL<1, 1>(__VA_ARGS__); break;   case 10: KERNEL<1, 2>(__VA_ARGS__); break;   \
    case 11: KERNEL<1, 3>(__VA_ARGS__); break;  case 12: KERNEL<1, 4>(__VA_ARGS__); break;   \
    case 17: KERNEL<2, 1>(__VA_ARGS__); break;  case 18: KERNEL<2, 2>(__VA_ARGS__); break;   \
    case 19: KERNEL<2, 3>(__VA_ARGS__); break;  case 20: KERNEL<2, 4>(__VA_ARGS__); break;   \
    case 25: KERNEL<3, 1>(__VA_ARGS__); break;  case 26: KERNEL<3, 2>(__VA_ARGS__); break;   \
    case 27: KERNEL<3, 3>(__VA_ARGS__); break;  case 28: KERNEL<3, 4>(__VA_ARGS__); break;   \
    case 33: KERNEL<4, 1>(__VA_ARGS__); break;  case 34: KERNEL<4, 2>(__VA_ARGS__); break;   \
    case 35: KERNEL<4, 3>(__VA_ARGS__); break;  default: KERNEL<4, 4>(__VA_ARGS__); break;   \
  }
static void tile_q8_0(int64_t k, const void* w, size_t ws, int n_rows, const void* packed, size_t ps, int n_tok,
                      float* y, int64_t ldy, void* scratch) {
  const auto* pb = static_cast<const uint8_t*>(packed);
  auto* prep = static_cast<uint8_t*>(scratch);
  q8fam_prep<LoadQ8_0>(static_cast<const uint8_t*>(w), ws, n_rows, k / 32, prep);
  for_token_groups(n_rows, n_tok, [&](int t0, int nr, int nt) {
    OMNI_RT_SWITCH(q8fam_kernel, nr, nt, k / 32, prep, pb + size_t(t0) * ps, ps, y + t0 * ldy, ldy)
  });
}
static void tile_q4_0(int64_t k, const void* w, size_t ws, int n_rows, const void* packed, size_t ps, int n_tok,
                      float* y, int64_t ldy, void* scratch) {
  const auto* pb = static_cast<const uint8_t*>(packed);
  auto* prep = static_cast<uint8_t*>(scratch);
  q8fam_prep<LoadQ4_0>(static_cast<const uint8_t*>(w), ws, n_rows, k / 32, prep);
  for_token_groups(n_rows, n_tok, [&](int t0, int nr, int nt) {
    OMNI_RT_SWITCH(q8fam_kernel, nr, nt, k / 32, prep, pb + size_t(t0) * ps, ps, y + t0 * ldy, ldy)
  });
}
static void tile_q5_0(int64_t k, const void* w, size_t ws, int n_rows, const void* packed, size_t ps, int n_tok,
                      float* y, int64_t ldy, void* scratch) {
  const auto* pb = static_cast<const uint8_t*>(packed);
  auto* prep = static_cast<uint8_t*>(scratch);
  q8fam_prep<LoadQ5_0>(static_cast<const uint8_t*>(w), ws, n_rows, k / 32, prep);
  for_token_groups(n_rows, n_tok, [&](int t0, int nr, int nt) {
    OMNI_RT_SWITCH(q8fam_kernel, nr, nt, k / 32, prep, pb + size_t(t0) * ps, ps, y + t0 * ldy, ldy)
  });
}
#define OMNI_KQUANT_TILE(NAME, BLOCK, PREP, STEP, KERNEL)\
  static void NAME(int64_t k, const void* w, size_t ws, int n_rows, const void* packed, size_t ps, int n_tok,   \
                   float* y, int64_t ldy, void* scratch) {                                                       \
    const auto* wb = static_cast<const uint8_t*>(w);                                                             \
    const auto* pb = static_cast<const uint8_t*>(packed);                                                        \
    auto* prep = static_cast<uint8_t*>(scratch);                                                                 \
    const int64_t nsb = k / 256;                                                                                 \
    for (int r = 0; r < n_rows; ++r) {                                                                           \
      uint8_t* pr = prep + size_t(r * nsb) * kPrepStride;                                                        \
      PREP(reinterpret_cast<const BLOCK*>(wb + r * ws), nsb, pr);                                                \
      for (int64_t i = 0; i < nsb; ++i)                                                                          \
        for (int c = 0; c < 4; ++c)                                                                              \
          _mm512_store_si512(pr + i * kPrepStride + 384 + 64 * c, STEP::load(wb + r * ws, i, c));                \
    }                                                                                                            \
    for_token_groups(n_rows, n_tok, [&](int t0, int nr, int nt) {                                                \
      OMNI_RT_SWITCH(KERNEL, nr, nt, nsb, wb, ws, prep, pb + size_t(t0) * ps, ps, y + t0 * ldy, ldy)             \
    });                                                                                                          \
  }
OMNI_KQUANT_TILE(tile_q4_k, BlockQ4_K, kmin_prep_row<BlockQ4_K>, StepQ4K, kquant_kernel)
OMNI_KQUANT_TILE(tile_q5_k, BlockQ5_K, kmin_prep_row<BlockQ5_K>, StepQ5K, kquant_kernel)
OMNI_KQUANT_TILE(tile_q6_k, BlockQ6_K, q6k_prep_row, StepQ6K, kquant_kernel)
#undef OMNI_KQUANT_TILE
#undef OMNI_RT_SWITCH

}  // namespace avx512

void fill_table_avx512(KernelTable& t) {
  t.isa = Isa::avx512;
  t.name = "avx512_vnni";
  avx512::fill_256(t);
  avx512::fill_256_lowbit(t);
  t.gemm_f32 = avx512::gemm_f32;
  t.gemm_rows = 4;
  t.gemm_max_tok = 6;
  t.vec_dot[uint32_t(DType::q4_k)] = avx512::dot_k4_512<BlockQ4_K>;
  t.vec_dot[uint32_t(DType::q5_k)] = avx512::dot_k4_512<BlockQ5_K>;
  t.vec_dot[uint32_t(DType::q6_k)] = avx512::dot_q6_k_512;
  fill_gemm_q_avx512(t);
  fill_matvec_avx512(t, __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("gfni"));
}

void fill_gemm_q_avx512(KernelTable& t) {
  using namespace avx512;
  GemmQ& q8 = t.gemm_q[uint32_t(DType::q8_0)];
  q8.packed_bytes = q8fam_packed_bytes;
  q8.scratch_bytes = q8fam_scratch_bytes;
  q8.pack = q8fam_pack<128>;
  q8.tile = tile_q8_0;
  GemmQ& q4 = t.gemm_q[uint32_t(DType::q4_0)];
  q4.packed_bytes = q8fam_packed_bytes;
  q4.scratch_bytes = q8fam_scratch_bytes;
  q4.pack = q8fam_pack<8>;
  q4.tile = tile_q4_0;
  GemmQ& q5 = t.gemm_q[uint32_t(DType::q5_0)];
  q5.packed_bytes = q8fam_packed_bytes;
  q5.scratch_bytes = q8fam_scratch_bytes;
  q5.pack = q8fam_pack<16>;
  q5.tile = tile_q5_0;
  const DType ktypes[] = {DType::q4_k, DType::q5_k, DType::q6_k};
  for (DType kt : ktypes) {
    GemmQ& g = t.gemm_q[uint32_t(kt)];
    g.packed_bytes = q4k_packed_bytes;
    g.scratch_bytes = q4k_scratch_bytes;
    g.pack = q4k_pack;
    g.tile = kt == DType::q4_k ? tile_q4_k : kt == DType::q5_k ? tile_q5_k : tile_q6_k;
  }
}

}  // namespace omni::kernels
