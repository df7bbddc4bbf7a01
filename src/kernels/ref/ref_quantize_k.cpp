// Scalar reference weight quantizers for the K formats (Q2_K..Q6_K): a scale search per sub-block
// (candidate scales around amax/nmax, least-squares refit, assign/refit iterations), then 4/6/8-bit
// codes for the sub-block scales under a few candidate f16 super-scales, each code chosen among
// the rounded one and its neighbours by the resulting squared error.
#pragma GCC optimize("fp-contract=off")
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/ref/ref_common.hpp"
#include "kernels/ref/ref_quant_search.hpp"

namespace omni::kernels::ref::detail {
namespace {

// Super-scale candidates, as factors on the inverse scale that maps the largest sub-block scale to
// the extreme code: small steps around 1, and larger ones that trade clipping the largest
// sub-block for finer codes everywhere else (rows with outliers).
constexpr float kSuperFactors[] = {0.96f, 0.97f, 0.98f, 0.99f, 1.0f,  1.01f, 1.02f, 1.03f, 1.04f, 1.1f,
                                   1.2f,  1.35f, 1.5f,  1.75f, 2.0f,  2.5f,  3.0f,  4.0f};

constexpr float kMinSuperFactors[] = {0.98f, 1.0f, 1.02f, 1.1f};

// Element weights of the searches. Uniform: the quantizers minimise the plain squared error,
// which measured better (round-trip RMSE) than magnitude-weighted variants; the searches take
// weights so that an importance matrix can be plugged in later.
void make_weights(int n, float* w) {
  for (int i = 0; i < n; ++i) w[i] = 1.0f;
}

// Signed value of the element of v[0..n) with the largest magnitude (first one on ties).
float signed_absmax(const float* v, int n) {
  float amax = 0, max = 0;
  for (int i = 0; i < n; ++i)
    if (std::fabs(v[i]) > amax) { amax = std::fabs(v[i]); max = v[i]; }
  return max;
}

// --- scale + min formats (Q2_K, Q4_K, Q5_K) ------------------------------------------------
// n_sub sub-blocks of len elements; sub-block scale/min codes 0..code_max; quants 0..nmax.
// Outputs the super-scales (already f16), the codes and the quants L (row order).
struct MinFormat {
  int n_sub, len, nmax, code_max;  // code_max: 15 (4-bit codes) or 63 (6-bit)
  float rmin, rdelta;
  int nstep;
};

void quantize_scale_min_superblock(const MinFormat& f, const float* x, uint16_t& d16, uint16_t& dmin16,
                                   uint8_t* sc_code, uint8_t* m_code, uint8_t* L) {
  float w[256], scales[16], mins[16];
  for (int j = 0; j < f.n_sub; ++j) {
    make_weights(f.len, w + j * f.len);
    scales[j] = fit_scale_min(f.len, f.nmax, x + j * f.len, w + j * f.len, L + j * f.len, &mins[j], f.rmin,
                              f.rdelta, f.nstep);
  }
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < f.n_sub; ++j) { max_scale = std::max(max_scale, scales[j]); max_min = std::max(max_min, mins[j]); }
  dmin16 = f32_to_fp16(max_min / float(f.code_max));
  const float dmin = fp16_to_f32(dmin16);
  const float inv_min = max_min > 0 ? float(f.code_max) / max_min : 0.0f;
  // Codes and quants of sub-block j for super-scale d: the rounded codes and their neighbours,
  // keeping the pair with the smallest error. Returns that error.
  auto encode_sub = [&](int j, float d, float inv_scale, uint8_t& sc_out, uint8_t& m_out, uint8_t* Lj) {
    const int ls0 = std::clamp(nearest_int(inv_scale * scales[j]), 0, f.code_max);
    const int lm0 = std::clamp(nearest_int(inv_min * mins[j]), 0, f.code_max);
    const float* xb = x + j * f.len;
    const float* wb = w + j * f.len;
    double best = std::numeric_limits<double>::infinity();
    sc_out = uint8_t(ls0);
    m_out = uint8_t(lm0);
    for (int ls = std::max(0, ls0 - 1); ls <= std::min(f.code_max, ls0 + 1); ++ls) {
      for (int lm = std::max(0, lm0 - 1); lm <= std::min(f.code_max, lm0 + 1); ++lm) {
        const float dl = d * float(ls), ml = dmin * float(lm);
        double err = 0;
        for (int i = 0; i < f.len; ++i) {
          const int l = dl > 0 ? std::clamp(nearest_int((xb[i] + ml) / dl), 0, f.nmax) : 0;
          const double diff = double(dl * float(l) - ml) - xb[i];
          err += wb[i] * diff * diff;
        }
        if (err < best) { best = err; sc_out = uint8_t(ls); m_out = uint8_t(lm); }
      }
    }
    const float dl = d * float(sc_out), ml = dmin * float(m_out);
    if (Lj)
      for (int i = 0; i < f.len; ++i) Lj[i] = uint8_t(dl > 0 ? std::clamp(nearest_int((xb[i] + ml) / dl), 0, f.nmax) : 0);
    return best;
  };
  // A few super-scale candidates (fewer than the signed formats: each costs 9 code pairs here).
  d16 = f32_to_fp16(max_scale / float(f.code_max));
  float best_inv_scale = max_scale > 0 ? float(f.code_max) / max_scale : 0.0f;
  if (max_scale > 0) {
    double best_total = std::numeric_limits<double>::infinity();
    for (const float factor : kMinSuperFactors) {
      const float inv_scale = float(f.code_max) * factor / max_scale;
      const uint16_t h = f32_to_fp16(1.0f / inv_scale);
      const float d = fp16_to_f32(h);
      if (!std::isfinite(d) || d == 0.0f) continue;
      double total = 0;
      uint8_t sc, m;
      for (int j = 0; j < f.n_sub && total < best_total; ++j) total += encode_sub(j, d, inv_scale, sc, m, nullptr);
      if (total < best_total) { best_total = total; d16 = h; best_inv_scale = inv_scale; }
    }
  }
  const float d = fp16_to_f32(d16);
  for (int j = 0; j < f.n_sub; ++j) encode_sub(j, d, best_inv_scale, sc_code[j], m_code[j], L + j * f.len);
}

void pack_scale_min_k4(const uint8_t* sc, const uint8_t* m, uint8_t* S) {
  std::memset(S, 0, 12);
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      S[j] = sc[j];
      S[j + 4] = m[j];
    } else {
      S[j + 4] = uint8_t((sc[j] & 0x0F) | ((m[j] & 0x0F) << 4));
      S[j - 4] |= uint8_t((sc[j] >> 4) << 6);
      S[j] |= uint8_t((m[j] >> 4) << 6);
    }
  }
}

// --- signed-scale formats (Q3_K, Q6_K) -----------------------------------------------------
// 16 sub-blocks of 16; quants lo..hi; sub-block scale codes in code_lo..code_hi, the largest
// scale mapping to code_ref (negative). Outputs d (f16), the codes and the quants L.
void quantize_signed_superblock(int lo, int hi, int code_lo, int code_hi, int code_ref, const float* x,
                                uint16_t& d16, int8_t* codes, int8_t* L) {
  float w[256], scales[16];
  for (int j = 0; j < 16; ++j) {
    make_weights(16, w + 16 * j);
    scales[j] = fit_symmetric(16, lo, hi, x + 16 * j, w + 16 * j, L + 16 * j, 9);
  }
  const float max_scale = signed_absmax(scales, 16);
  if (max_scale == 0.0f) {
    d16 = 0;
    std::memset(codes, 0, 16);
    std::memset(L, 0, 256);
    return;
  }
  // Try super-scales around the one that maps the largest sub-block scale to code_ref, choosing
  // each sub-block code among the rounded one and its neighbours; keep the smallest plain
  // squared error over the super-block.
  const float iscale0 = float(code_ref) / max_scale;
  double best_total = std::numeric_limits<double>::infinity();
  int8_t cand_codes[16];
  d16 = 0;  // stays 0 (all codes 0) when no candidate is finite, e.g. for infinite input
  std::memset(codes, 0, 16);
  for (const float factor : kSuperFactors) {
    const float iscale = iscale0 * factor;
    const uint16_t h = f32_to_fp16(1.0f / iscale);
    const float d = fp16_to_f32(h);
    if (!std::isfinite(d) || d == 0.0f) continue;
    double total = 0;
    for (int j = 0; j < 16 && total < best_total; ++j) {
      const int c0 = std::clamp(nearest_int(iscale * scales[j]), code_lo, code_hi);
      const float* xb = x + 16 * j;
      double best = std::numeric_limits<double>::infinity();
      int best_c = c0;
      for (int c = std::max(code_lo, c0 - 1); c <= std::min(code_hi, c0 + 1); ++c) {
        const float dl = d * float(c);
        double err = 0;
        for (int i = 0; i < 16; ++i) {
          const int l = dl != 0 ? std::clamp(nearest_int(xb[i] / dl), lo, hi) : 0;
          const double diff = double(dl * float(l)) - xb[i];
          err += diff * diff;
        }
        if (err < best) { best = err; best_c = c; }
      }
      cand_codes[j] = int8_t(best_c);
      total += best;
    }
    if (total < best_total) {
      best_total = total;
      d16 = h;
      std::memcpy(codes, cand_codes, 16);
    }
  }
  const float d = fp16_to_f32(d16);
  for (int j = 0; j < 16; ++j) {
    const float dl = d * float(codes[j]);
    for (int i = 0; i < 16; ++i)
      L[16 * j + i] = int8_t(dl != 0 ? std::clamp(nearest_int(x[16 * j + i] / dl), lo, hi) : 0);
  }
}

}  // namespace

void quantize_q2_k(const float* x, BlockQ2_K* y, int64_t nb) {
  static constexpr MinFormat kF{16, 16, 3, 15, -0.5f, 0.1f, 15};
  uint8_t L[256], sc[16], m[16];
  for (int64_t i = 0; i < nb; ++i, x += 256) {
    BlockQ2_K& b = y[i];
    uint16_t d16 = 0, dmin16 = 0;  // packed block fields cannot bind to references
    quantize_scale_min_superblock(kF, x, d16, dmin16, sc, m, L);
    b.d = d16;
    b.dmin = dmin16;
    for (int j = 0; j < 16; ++j) b.scales[j] = uint8_t(sc[j] | (m[j] << 4));
    for (int h = 0; h < 2; ++h)
      for (int l = 0; l < 32; ++l)
        b.qs[32 * h + l] = uint8_t(L[128 * h + l] | (L[128 * h + 32 + l] << 2) | (L[128 * h + 64 + l] << 4) |
                                   (L[128 * h + 96 + l] << 6));
  }
}

void quantize_q4_k(const float* x, BlockQ4_K* y, int64_t nb) {
  static constexpr MinFormat kF{8, 32, 15, 63, -1.0f, 0.1f, 20};
  uint8_t L[256], sc[8], m[8];
  for (int64_t i = 0; i < nb; ++i, x += 256) {
    BlockQ4_K& b = y[i];
    uint16_t d16 = 0, dmin16 = 0;  // packed block fields cannot bind to references
    quantize_scale_min_superblock(kF, x, d16, dmin16, sc, m, L);
    b.d = d16;
    b.dmin = dmin16;
    pack_scale_min_k4(sc, m, b.scales);
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l) b.qs[32 * c + l] = uint8_t(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
  }
}

void quantize_q5_k(const float* x, BlockQ5_K* y, int64_t nb) {
  static constexpr MinFormat kF{8, 32, 31, 63, -0.5f, 0.1f, 15};
  uint8_t L[256], sc[8], m[8];
  for (int64_t i = 0; i < nb; ++i, x += 256) {
    BlockQ5_K& b = y[i];
    uint16_t d16 = 0, dmin16 = 0;  // packed block fields cannot bind to references
    quantize_scale_min_superblock(kF, x, d16, dmin16, sc, m, L);
    b.d = d16;
    b.dmin = dmin16;
    pack_scale_min_k4(sc, m, b.scales);
    std::memset(b.qh, 0, 32);
    for (int e = 0; e < 256; ++e)
      if (L[e] > 15) b.qh[e % 32] |= uint8_t(1u << (e / 32));
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l)
        b.qs[32 * c + l] = uint8_t((L[64 * c + l] & 0x0F) | ((L[64 * c + 32 + l] & 0x0F) << 4));
  }
}

void quantize_q3_k(const float* x, BlockQ3_K* y, int64_t nb) {
  int8_t L[256], codes[16];
  for (int64_t i = 0; i < nb; ++i, x += 256) {
    BlockQ3_K& b = y[i];
    uint16_t d16 = 0;  // packed block fields cannot bind to references
    quantize_signed_superblock(-4, 3, -32, 31, -32, x, d16, codes, L);
    b.d = d16;
    std::memset(b.scales, 0, 12);
    for (int j = 0; j < 16; ++j) {
      const int u = codes[j] + 32;
      if (j < 8) b.scales[j] |= uint8_t(u & 0x0F);
      else b.scales[j - 8] |= uint8_t((u & 0x0F) << 4);
      b.scales[8 + j % 4] |= uint8_t((u >> 4) << (2 * (j / 4)));
    }
    std::memset(b.hmask, 0, 32);
    std::memset(b.qs, 0, 64);
    for (int e = 0; e < 256; ++e) {
      const int u = L[e] + 4;  // 0..7; a set high bit means "no -4"
      if (u > 3) b.hmask[e % 32] |= uint8_t(1u << (e / 32));
      b.qs[32 * (e / 128) + e % 32] |= uint8_t((u & 3) << (2 * ((e % 128) / 32)));
    }
  }
}

void quantize_q6_k(const float* x, BlockQ6_K* y, int64_t nb) {
  int8_t L[256], codes[16];
  for (int64_t i = 0; i < nb; ++i, x += 256) {
    BlockQ6_K& b = y[i];
    uint16_t d16 = 0;  // packed block fields cannot bind to references
    quantize_signed_superblock(-32, 31, -128, 127, -128, x, d16, codes, L);
    b.d = d16;
    std::memcpy(b.scales, codes, 16);
    std::memset(b.ql, 0, 128);
    std::memset(b.qh, 0, 64);
    for (int e = 0; e < 256; ++e) {
      const int u = L[e] + 32;  // 0..63
      const int h = e / 128, g = (e % 128) / 32, l = e % 32;
      b.ql[64 * h + 32 * (g % 2) + l] |= uint8_t((u & 0x0F) << (g < 2 ? 0 : 4));
      b.qh[32 * h + l] |= uint8_t((u >> 4) << (2 * g));
    }
  }
}

}  // namespace omni::kernels::ref::detail
