// Weighted scale searches for the K-quant and IQ4 reference quantizers: candidate scales, least
// squares refits, and assign/refit (Lloyd) iterations that never increase the weighted error.
#pragma GCC optimize("fp-contract=off")
#include "kernels/ref/ref_quant_search.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/ref/ref_common.hpp"

namespace omni::kernels::ref::detail {
namespace {
constexpr int kMaxN = 256;
constexpr int kAssignIters = 8;
}  // namespace

float fit_symmetric(int n, int lo, int hi, const float* x, const float* w, int8_t* L, int nsteps) {
  float amax = 0, max = 0;
  for (int i = 0; i < n; ++i)
    if (std::fabs(x[i]) > amax) { amax = std::fabs(x[i]); max = x[i]; }
  if (!(amax > 1e-30f)) {
    std::memset(L, 0, size_t(n));
    return 0.0f;
  }
  int8_t tmp[kMaxN];
  double best = std::numeric_limits<double>::infinity();  // -(sum wxl)^2 / sum wl^2
  float best_d = 0;
  auto evaluate = [&](float iscale) {
    double sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearest_int(iscale * x[i]), lo, hi);
      tmp[i] = int8_t(l);
      sumlx += double(w[i]) * x[i] * l;
      suml2 += double(w[i]) * l * l;
    }
    if (suml2 <= 0) return false;
    const double err = -sumlx * sumlx / suml2;
    if (err < best) {
      best = err;
      best_d = float(sumlx / suml2);
      std::memcpy(L, tmp, size_t(n));
      return true;
    }
    return false;
  };
  for (int k = -nsteps; k <= nsteps; ++k) evaluate((float(lo) - 0.1f * float(k)) / max);
  if (best_d == 0.0f) {  // all weights zero: plain rounding
    const float d = -max / float(lo);
    for (int i = 0; i < n; ++i) L[i] = int8_t(std::clamp(nearest_int(x[i] / d), lo, hi));
    return d;
  }
  for (int it = 0; it < kAssignIters && best_d != 0.0f; ++it)
    if (!evaluate(1.0f / best_d)) break;
  return best_d;
}

float fit_scale_min(int n, int nmax, const float* x, const float* w, uint8_t* L, float* m_out, float rmin,
                    float rdelta, int nstep) {
  float min = x[0], max = x[0];
  for (int i = 1; i < n; ++i) { min = std::min(min, x[i]); max = std::max(max, x[i]); }
  if (min > 0) min = 0;
  if (!(max > min)) {
    std::memset(L, 0, size_t(n));
    *m_out = -min;
    return 0.0f;
  }
  double sum_w = 0, sum_x = 0;
  for (int i = 0; i < n; ++i) { sum_w += w[i]; sum_x += double(w[i]) * x[i]; }
  uint8_t tmp[kMaxN];
  double best = std::numeric_limits<double>::infinity();
  float best_d = 0, best_min = min;  // y = d*L + best_min (best_min <= 0)
  // Fits (d, mn) for the quants in tmp and keeps them when the weighted error improves.
  auto fit_and_keep = [&]() {
    double sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      sum_l += double(w[i]) * tmp[i];
      sum_l2 += double(w[i]) * tmp[i] * tmp[i];
      sum_xl += double(w[i]) * tmp[i] * x[i];
    }
    const double D = sum_w * sum_l2 - sum_l * sum_l;
    if (!(D > 0)) return false;
    double d = (sum_w * sum_xl - sum_x * sum_l) / D;
    double mn = (sum_l2 * sum_x - sum_l * sum_xl) / D;
    if (mn > 0) { mn = 0; d = sum_xl / sum_l2; }
    if (!(d > 0)) return false;
    const float df = float(d), mf = float(mn);
    double err = 0;
    for (int i = 0; i < n; ++i) {
      const double diff = double(df * float(tmp[i]) + mf) - x[i];
      err += w[i] * diff * diff;
    }
    if (err < best) {
      best = err;
      best_d = df;
      best_min = mf;
      std::memcpy(L, tmp, size_t(n));
      return true;
    }
    return false;
  };
  auto assign = [&](float iscale, float mn) {
    for (int i = 0; i < n; ++i) tmp[i] = uint8_t(std::clamp(nearest_int(iscale * (x[i] - mn)), 0, nmax));
  };
  assign(float(nmax) / (max - min), min);
  fit_and_keep();
  for (int k = 0; k <= nstep; ++k) {
    assign((rmin + rdelta * float(k) + float(nmax)) / (max - min), min);
    fit_and_keep();
  }
  if (best_d == 0.0f) {  // degenerate weights: plain min/max rounding
    best_d = (max - min) / float(nmax);
    best_min = min;
    assign(1.0f / best_d, min);
    std::memcpy(L, tmp, size_t(n));
  }
  for (int it = 0; it < kAssignIters; ++it) {
    assign(1.0f / best_d, best_min);
    if (!fit_and_keep()) break;
  }
  *m_out = -best_min;
  return best_d;
}

namespace {
// floor_index[i + 128]: the largest codebook index whose value is <= i (0 below the first).
constexpr auto kFloorIndex = [] {
  std::array<uint8_t, 256> t{};
  for (int i = -128; i < 128; ++i) {
    int j = 0;
    while (j < 15 && kIQ4NLValues[j + 1] <= i) ++j;
    t[size_t(i + 128)] = uint8_t(j);
  }
  return t;
}();
}  // namespace

int nearest_codebook(float v) {
  if (!(v > kIQ4NLValues[0])) return 0;  // also NaN
  if (!(v < kIQ4NLValues[15])) return 15;
  const int lo = kFloorIndex[size_t(int(std::floor(v)) + 128)];
  // v lies in [K[lo], K[lo+1]); ties go to the lower entry.
  return float(kIQ4NLValues[lo + 1]) - v < v - float(kIQ4NLValues[lo]) ? lo + 1 : lo;
}

float fit_codebook(int n, const float* x, const float* w, uint8_t* idx, int ntry) {
  float amax = 0, max = 0;
  for (int i = 0; i < n; ++i)
    if (std::fabs(x[i]) > amax) { amax = std::fabs(x[i]); max = x[i]; }
  if (!(amax > 1e-30f)) {
    for (int i = 0; i < n; ++i) idx[i] = 8;  // K[8] = 1, times d = 0
    return 0.0f;
  }
  uint8_t tmp[kMaxN];
  double best = std::numeric_limits<double>::infinity();
  float best_d = 0;
  auto evaluate = [&](float id) {
    double sumqx = 0, sumq2 = 0;
    for (int i = 0; i < n; ++i) {
      tmp[i] = uint8_t(nearest_codebook(id * x[i]));
      const double q = kIQ4NLValues[tmp[i]];
      sumqx += double(w[i]) * q * x[i];
      sumq2 += double(w[i]) * q * q;
    }
    if (sumq2 <= 0) return false;
    const double err = -sumqx * sumqx / sumq2;
    if (err < best) {
      best = err;
      best_d = float(sumqx / sumq2);
      std::memcpy(idx, tmp, size_t(n));
      return true;
    }
    return false;
  };
  // Map the largest element near either end of the (asymmetric) codebook.
  for (int k = -ntry; k <= ntry; ++k) {
    evaluate((float(kIQ4NLValues[0]) + float(k)) / max);
    evaluate((float(kIQ4NLValues[15]) + float(k)) / max);
  }
  if (best_d == 0.0f) {
    best_d = max / float(kIQ4NLValues[0]);
    for (int i = 0; i < n; ++i) idx[i] = uint8_t(nearest_codebook(x[i] / best_d));
    return best_d;
  }
  for (int it = 0; it < kAssignIters && best_d != 0.0f; ++it)
    if (!evaluate(1.0f / best_d)) break;
  return best_d;
}

}  // namespace omni::kernels::ref::detail
