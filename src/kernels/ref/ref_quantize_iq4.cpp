// Scalar reference weight quantizers for IQ4_NL and IQ4_XS: a weighted scale search over the
// non-linear codebook per 32-element block, then (IQ4_XS) 6-bit sub-block scales under an f16 d.
#pragma GCC optimize("fp-contract=off")
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/ref/ref_common.hpp"
#include "kernels/ref/ref_quant_search.hpp"

namespace omni::kernels::ref::detail {
namespace {

constexpr int kNTry = 7;

void pack_nibbles32(const uint8_t* idx, uint8_t* qs) {
  for (int j = 0; j < 16; ++j) qs[j] = uint8_t(idx[j] | (idx[j + 16] << 4));
}

// Weighted error of block x against scale dl, with the best codebook index per element.
double assign_codebook(const float* x, const float* w, float dl, uint8_t* idx) {
  double err = 0;
  const float id = dl != 0 ? 1.0f / dl : 0.0f;
  for (int i = 0; i < 32; ++i) {
    idx[i] = uint8_t(dl != 0 ? nearest_codebook(id * x[i]) : 8);
    const double diff = double(dl * float(kIQ4NLValues[idx[i]])) - x[i];
    err += w[i] * diff * diff;
  }
  return err;
}

// Element weights of the searches. Uniform: the quantizer minimises the plain squared error (the
// searches take weights so that an importance matrix can be plugged in later).
void iq4_weights(int n, float* w) {
  for (int i = 0; i < n; ++i) w[i] = 1.0f;
}

}  // namespace

void quantize_iq4_nl(const float* x, BlockIQ4_NL* y, int64_t nb) {
  float w[32];
  uint8_t idx[32], tmp[32];
  for (int64_t i = 0; i < nb; ++i, x += 32) {
    iq4_weights(32, w);
    const float d = fit_codebook(32, x, w, idx, kNTry);
    // Pick the best of the f16 neighbours of d, re-assigning indices for the rounded scale.
    const uint16_t h0 = f32_to_fp16(d);
    uint16_t best_h = h0;
    double best = std::numeric_limits<double>::infinity();
    for (int dh = -1; dh <= 1; ++dh) {
      const uint16_t h = uint16_t(h0 + dh);
      if ((h & 0x7C00) == 0x7C00 || (dh != 0 && ((h ^ h0) & 0x8000))) continue;
      const double err = assign_codebook(x, w, fp16_to_f32(h), tmp);
      if (err < best) { best = err; best_h = h; std::memcpy(idx, tmp, 32); }
    }
    y[i].d = best_h;
    pack_nibbles32(idx, y[i].qs);
  }
}

void quantize_iq4_xs(const float* x, BlockIQ4_XS* y, int64_t nb) {
  float w[256], scales[8];
  uint8_t idx[256], tmp[32];
  for (int64_t i = 0; i < nb; ++i, x += 256) {
    BlockIQ4_XS& b = y[i];
    iq4_weights(256, w);
    for (int ib = 0; ib < 8; ++ib) scales[ib] = fit_codebook(32, x + 32 * ib, w + 32 * ib, idx + 32 * ib, kNTry);
    float amax = 0, max_scale = 0;
    for (int ib = 0; ib < 8; ++ib)
      if (std::fabs(scales[ib]) > amax) { amax = std::fabs(scales[ib]); max_scale = scales[ib]; }
    std::memset(&b, 0, sizeof b);
    if (amax == 0.0f) continue;  // all zero: d = 0
    b.d = f32_to_fp16(-max_scale / 32.0f);
    const float d = fp16_to_f32(b.d);
    const float id = d != 0 ? 1.0f / d : 0.0f;
    for (int ib = 0; ib < 8; ++ib) {
      const int c0 = std::clamp(nearest_int(id * scales[ib]), -32, 31);
      double best = std::numeric_limits<double>::infinity();
      int best_c = c0;
      for (int c = std::max(-32, c0 - 1); c <= std::min(31, c0 + 1); ++c) {
        const double err = assign_codebook(x + 32 * ib, w + 32 * ib, d * float(c), tmp);
        if (err < best) { best = err; best_c = c; std::memcpy(idx + 32 * ib, tmp, 32); }
      }
      const int ls = best_c + 32;
      b.scales_l[ib / 2] |= uint8_t((ls & 0x0F) << (4 * (ib % 2)));
      b.scales_h = uint16_t(b.scales_h | ((ls >> 4) << (2 * ib)));
      pack_nibbles32(idx + 32 * ib, b.qs + 16 * ib);
    }
  }
}

}  // namespace omni::kernels::ref::detail
