// Scalar reference weight quantizers: the simple 32-element formats exactly as ggml's
// quantize_row_*_ref (spec §3.18), f16/bf16 by §5, and the dispatch for every target type.
// fp-contract off: the quantizer formulas must round each operation as ggml's reference does.
#pragma GCC optimize("fp-contract=off")
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "kernels/ref/ref.hpp"
#include "kernels/ref/ref_common.hpp"

namespace omni::kernels::ref {
namespace detail {

// Signed value of the first max-magnitude element of x[0..n) (strict >, ties keep the earliest).
static float first_absmax(const float* x, int n, float* amax_out) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < n; ++j) {
    if (amax < std::fabs(x[j])) { amax = std::fabs(x[j]); max = x[j]; }
  }
  if (amax_out) *amax_out = amax;
  return max;
}

static void quantize_q4_0(const float* x, BlockQ4_0* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 32) {
    const float max = first_absmax(x, 32, nullptr);
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = f32_to_fp16(d);
    for (int j = 0; j < 16; ++j) {
      const int q0 = std::min(15, int(trunc_i8(x[j] * id + 8.5f)));
      const int q1 = std::min(15, int(trunc_i8(x[j + 16] * id + 8.5f)));
      y[i].qs[j] = uint8_t(q0 | (q1 << 4));
    }
  }
}

static void quantize_q4_1(const float* x, BlockQ4_1* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 32) {
    float min = FLT_MAX, max = -FLT_MAX;
    for (int j = 0; j < 32; ++j) { if (x[j] < min) min = x[j]; if (x[j] > max) max = x[j]; }
    const float d = (max - min) / 15.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = f32_to_fp16(d);
    y[i].m = f32_to_fp16(min);
    for (int j = 0; j < 16; ++j) {
      const int q0 = std::min(15, int(trunc_i8((x[j] - min) * id + 0.5f)));
      const int q1 = std::min(15, int(trunc_i8((x[j + 16] - min) * id + 0.5f)));
      y[i].qs[j] = uint8_t(q0 | (q1 << 4));
    }
  }
}

static void quantize_q5_0(const float* x, BlockQ5_0* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 32) {
    const float max = first_absmax(x, 32, nullptr);
    const float d = max / -16.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = f32_to_fp16(d);
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
      const int q0 = std::min(31, int(trunc_i8(x[j] * id + 16.5f)));
      const int q1 = std::min(31, int(trunc_i8(x[j + 16] * id + 16.5f)));
      y[i].qs[j] = uint8_t((q0 & 0x0F) | ((q1 & 0x0F) << 4));
      qh |= uint32_t((q0 >> 4) & 1) << j;
      qh |= uint32_t((q1 >> 4) & 1) << (j + 16);
    }
    std::memcpy(y[i].qh, &qh, 4);
  }
}

static void quantize_q5_1(const float* x, BlockQ5_1* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 32) {
    float min = FLT_MAX, max = -FLT_MAX;
    for (int j = 0; j < 32; ++j) { if (x[j] < min) min = x[j]; if (x[j] > max) max = x[j]; }
    const float d = (max - min) / 31.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = f32_to_fp16(d);
    y[i].m = f32_to_fp16(min);
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
      const int q0 = int(trunc_low_byte((x[j] - min) * id + 0.5f));
      const int q1 = int(trunc_low_byte((x[j + 16] - min) * id + 0.5f));
      y[i].qs[j] = uint8_t((q0 & 0x0F) | ((q1 & 0x0F) << 4));
      qh |= uint32_t((q0 >> 4) & 1) << j;
      qh |= uint32_t((q1 >> 4) & 1) << (j + 16);
    }
    std::memcpy(y[i].qh, &qh, 4);
  }
}

// Q8_0 reference variant (spec §4.2): d = amax/127, id = 1/d, roundf (half away from zero).
void quantize_q8_0(const float* x, BlockQ8_0* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 32) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = f32_to_fp16(d);
    for (int j = 0; j < 32; ++j) y[i].qs[j] = trunc_i8(std::roundf(x[j] * id));
  }
}

// Q8_1 (spec §4.3): as Q8_0 plus s = fp16(d_f32 * sum of the stored quants).
void quantize_q8_1(const float* x, BlockQ8_1* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 32) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = f32_to_fp16(d);
    int sum = 0;
    for (int j = 0; j < 32; ++j) {
      y[i].qs[j] = trunc_i8(std::roundf(x[j] * id));
      sum += y[i].qs[j];
    }
    y[i].s = f32_to_fp16(float(sum) * d);
  }
}

// Q8_K (spec §4.4): iscale = -127/max (signed), RNE, upper clamp 127, bsums, d = 1/iscale as f32.
void quantize_q8_k(const float* x, BlockQ8_K* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 256) {
    float amax = 0.0f;
    const float max = first_absmax(x, 256, &amax);
    if (amax == 0.0f) {
      std::memset(&y[i], 0, sizeof(BlockQ8_K));
      continue;
    }
    const float iscale = -127.0f / max;
    for (int j = 0; j < 256; ++j) y[i].qs[j] = int8_t(std::min(127, nearest_int(iscale * x[j])));
    for (int g = 0; g < 16; ++g) {
      int sum = 0;
      for (int t = 0; t < 16; ++t) sum += y[i].qs[16 * g + t];
      y[i].bsums[g] = int16_t(sum);
    }
    const float d = 1.0f / iscale;
    std::memcpy(&y[i].d, &d, 4);
  }
}

}  // namespace detail

void quantize_row(DType t, const float* src, void* dst, int64_t n) {
  using namespace detail;
  constexpr const char* where = "quantize_row";
  switch (t) {
    case DType::f32: case DType::f16: case DType::bf16: case DType::q4_0: case DType::q4_1:
    case DType::q5_0: case DType::q5_1: case DType::q8_0: case DType::q8_1: case DType::q8_k:
    case DType::q2_k: case DType::q3_k: case DType::q4_k: case DType::q5_k: case DType::q6_k:
    case DType::iq4_nl: case DType::iq4_xs:
      break;
    default: unsupported(t, where);
  }
  const int64_t nb = checked_blocks(t, n, where);
  switch (t) {
    case DType::f32: if (n) std::memcpy(dst, src, size_t(n) * 4); return;
    case DType::f16: {
      auto* h = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) h[i] = f32_to_fp16(src[i]);
      return;
    }
    case DType::bf16: {
      auto* h = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) h[i] = f32_to_bf16(src[i]);
      return;
    }
    case DType::q4_0: return quantize_q4_0(src, static_cast<BlockQ4_0*>(dst), nb);
    case DType::q4_1: return quantize_q4_1(src, static_cast<BlockQ4_1*>(dst), nb);
    case DType::q5_0: return quantize_q5_0(src, static_cast<BlockQ5_0*>(dst), nb);
    case DType::q5_1: return quantize_q5_1(src, static_cast<BlockQ5_1*>(dst), nb);
    case DType::q8_0: return quantize_q8_0(src, static_cast<BlockQ8_0*>(dst), nb);
    case DType::q8_1: return quantize_q8_1(src, static_cast<BlockQ8_1*>(dst), nb);
    case DType::q8_k: return quantize_q8_k(src, static_cast<BlockQ8_K*>(dst), nb);
    case DType::q2_k: return quantize_q2_k(src, static_cast<BlockQ2_K*>(dst), nb);
    case DType::q3_k: return quantize_q3_k(src, static_cast<BlockQ3_K*>(dst), nb);
    case DType::q4_k: return quantize_q4_k(src, static_cast<BlockQ4_K*>(dst), nb);
    case DType::q5_k: return quantize_q5_k(src, static_cast<BlockQ5_K*>(dst), nb);
    case DType::q6_k: return quantize_q6_k(src, static_cast<BlockQ6_K*>(dst), nb);
    case DType::iq4_nl: return quantize_iq4_nl(src, static_cast<BlockIQ4_NL*>(dst), nb);
    case DType::iq4_xs: return quantize_iq4_xs(src, static_cast<BlockIQ4_XS*>(dst), nb);
    default: unsupported(t, where);
  }
}

}  // namespace omni::kernels::ref
