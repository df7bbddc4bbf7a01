// Scalar reference activation conversion (vec_dot_type, spec §4.1-4.4) and the dot product of one
// weight row with converted activations (spec §4.5: exact integer inner sums, float accumulation).
#include <cstddef>
#include <cstring>

#include "kernels/ref/ref.hpp"
#include "kernels/ref/ref_common.hpp"

namespace omni::kernels::ref {
namespace {
using namespace detail;

// The f32 scale of a Q8_K block, read by bytes: blocks are packed, so d may be misaligned.
float q8k_scale(const BlockQ8_K* b) {
  float f;
  std::memcpy(&f, reinterpret_cast<const uint8_t*>(b) + offsetof(BlockQ8_K, d), sizeof f);
  return f;
}

// f32 / f16 / bf16: f32 products summed in double (as ggml's scalar path), 4 running sums.
template <typename T, typename ToF32>
float dot_float(const T* x, const T* y, int64_t n, ToF32 to_f32) {
  double s[4] = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int k = 0; k < 4; ++k) s[k] += double(to_f32(x[i + k]) * to_f32(y[i + k]));
  for (; i < n; ++i) s[0] += double(to_f32(x[i]) * to_f32(y[i]));
  return float((s[0] + s[1]) + (s[2] + s[3]));
}

float dot_q4_0(const BlockQ4_0* x, const BlockQ8_0* y, int64_t nb) {
  float acc = 0.0f;
  uint8_t q[32];
  for (int64_t i = 0; i < nb; ++i) {
    unpack_nibbles32(x[i].qs, q);
    int sumi = 0;
    for (int e = 0; e < 32; ++e) sumi += (int(q[e]) - 8) * y[i].qs[e];
    acc += (float(sumi) * fp16_to_f32(x[i].d)) * fp16_to_f32(y[i].d);
  }
  return acc;
}
float dot_q4_1(const BlockQ4_1* x, const BlockQ8_1* y, int64_t nb) {
  float acc = 0.0f;
  uint8_t q[32];
  for (int64_t i = 0; i < nb; ++i) {
    unpack_nibbles32(x[i].qs, q);
    int sumi = 0;
    for (int e = 0; e < 32; ++e) sumi += int(q[e]) * y[i].qs[e];
    acc += (fp16_to_f32(x[i].d) * fp16_to_f32(y[i].d)) * float(sumi) + fp16_to_f32(x[i].m) * fp16_to_f32(y[i].s);
  }
  return acc;
}
float dot_q5_0(const BlockQ5_0* x, const BlockQ8_0* y, int64_t nb) {
  float acc = 0.0f;
  uint8_t q[32];
  for (int64_t i = 0; i < nb; ++i) {
    unpack_q5(x[i].qs, x[i].qh, q);
    int sumi = 0;
    for (int e = 0; e < 32; ++e) sumi += (int(q[e]) - 16) * y[i].qs[e];
    acc += (fp16_to_f32(x[i].d) * fp16_to_f32(y[i].d)) * float(sumi);
  }
  return acc;
}
float dot_q5_1(const BlockQ5_1* x, const BlockQ8_1* y, int64_t nb) {
  float acc = 0.0f;
  uint8_t q[32];
  for (int64_t i = 0; i < nb; ++i) {
    unpack_q5(x[i].qs, x[i].qh, q);
    int sumi = 0;
    for (int e = 0; e < 32; ++e) sumi += int(q[e]) * y[i].qs[e];
    acc += (fp16_to_f32(x[i].d) * fp16_to_f32(y[i].d)) * float(sumi) + fp16_to_f32(x[i].m) * fp16_to_f32(y[i].s);
  }
  return acc;
}
float dot_q8_0(const BlockQ8_0* x, const BlockQ8_0* y, int64_t nb) {
  float acc = 0.0f;
  for (int64_t i = 0; i < nb; ++i) {
    int sumi = 0;
    for (int e = 0; e < 32; ++e) sumi += int(x[i].qs[e]) * y[i].qs[e];
    acc += float(sumi) * (fp16_to_f32(x[i].d) * fp16_to_f32(y[i].d));
  }
  return acc;
}
float dot_iq4_nl(const BlockIQ4_NL* x, const BlockQ8_0* y, int64_t nb) {
  float acc = 0.0f;
  uint8_t q[32];
  for (int64_t i = 0; i < nb; ++i) {
    unpack_nibbles32(x[i].qs, q);
    int sumi = 0;
    for (int e = 0; e < 32; ++e) sumi += int(kIQ4NLValues[q[e]]) * y[i].qs[e];
    acc += (fp16_to_f32(y[i].d) * fp16_to_f32(x[i].d)) * float(sumi);
  }
  return acc;
}
// Sum over sub-blocks of len elements of scale_j * (sum of q * a); q and a are int8.
template <int kLen, typename Scale>
int scaled_isum(const int8_t* q, const int8_t* a, int n_sub, Scale scale_of) {
  int isum = 0;
  for (int j = 0; j < n_sub; ++j) {
    int s = 0;
    for (int e = 0; e < kLen; ++e) s += int(q[kLen * j + e]) * int(a[kLen * j + e]);
    isum += scale_of(j) * s;
  }
  return isum;
}

float dot_q2_k(const BlockQ2_K* x, const BlockQ8_K* y, int64_t nb) {
  float acc = 0.0f;
  int8_t q[256];
  for (int64_t i = 0; i < nb; ++i) {
    unpack_q2_k(x[i], q);
    const int isum = scaled_isum<16>(q, y[i].qs, 16, [&](int j) { return x[i].scales[j] & 0x0F; });
    int summs = 0;
    for (int j = 0; j < 16; ++j) summs += (x[i].scales[j] >> 4) * y[i].bsums[j];
    const float dy = q8k_scale(y + i);
    acc += (dy * fp16_to_f32(x[i].d)) * float(isum) - (dy * fp16_to_f32(x[i].dmin)) * float(summs);
  }
  return acc;
}
float dot_q3_k(const BlockQ3_K* x, const BlockQ8_K* y, int64_t nb) {
  float acc = 0.0f;
  int8_t sc[16], q[256];
  for (int64_t i = 0; i < nb; ++i) {
    q3k_scales(x[i].scales, sc);
    unpack_q3_k(x[i], q);
    const int isum = scaled_isum<16>(q, y[i].qs, 16, [&](int j) { return int(sc[j]); });
    acc += (fp16_to_f32(x[i].d) * q8k_scale(y + i)) * float(isum);
  }
  return acc;
}
// Q4_K and Q5_K share the scale/min structure; only the unpacking differs.
template <typename Block, void (*Unpack)(const Block&, int8_t*)>
float dot_q45_k(const Block* x, const BlockQ8_K* y, int64_t nb) {
  float acc = 0.0f;
  int8_t q[256];
  for (int64_t i = 0; i < nb; ++i) {
    Unpack(x[i], q);
    uint8_t sc[8], m[8];
    for (int j = 0; j < 8; ++j) get_scale_min_k4(j, x[i].scales, sc[j], m[j]);
    const int isum = scaled_isum<32>(q, y[i].qs, 8, [&](int j) { return int(sc[j]); });
    int summs = 0;
    for (int j = 0; j < 8; ++j) summs += m[j] * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
    const float dy = q8k_scale(y + i);
    acc += (fp16_to_f32(x[i].d) * dy) * float(isum) - (fp16_to_f32(x[i].dmin) * dy) * float(summs);
  }
  return acc;
}
float dot_q6_k(const BlockQ6_K* x, const BlockQ8_K* y, int64_t nb) {
  float acc = 0.0f;
  int8_t q[256];
  for (int64_t i = 0; i < nb; ++i) {
    unpack_q6_k(x[i], q);
    const int isum = scaled_isum<16>(q, y[i].qs, 16, [&](int j) { return int(x[i].scales[j]); });
    acc += (fp16_to_f32(x[i].d) * q8k_scale(y + i)) * float(isum);
  }
  return acc;
}
float dot_iq4_xs(const BlockIQ4_XS* x, const BlockQ8_K* y, int64_t nb) {
  float acc = 0.0f;
  uint8_t q[32];
  for (int64_t i = 0; i < nb; ++i) {
    const float dd = fp16_to_f32(x[i].d) * q8k_scale(y + i);
    for (int ib = 0; ib < 8; ++ib) {
      unpack_nibbles32(x[i].qs + 16 * ib, q);
      int sumi = 0;
      for (int t = 0; t < 32; ++t) sumi += int(kIQ4NLValues[q[t]]) * y[i].qs[32 * ib + t];
      acc += (dd * float(iq4xs_ls(x[i], ib) - 32)) * float(sumi);
    }
  }
  return acc;
}

}  // namespace

DType vec_dot_type(DType t) {
  switch (t) {
    case DType::f32: return DType::f32;
    case DType::f16: return DType::f16;
    case DType::bf16: return DType::bf16;
    case DType::q4_0: case DType::q5_0: case DType::q8_0: case DType::iq4_nl: return DType::q8_0;
    case DType::q4_1: case DType::q5_1: return DType::q8_1;
    case DType::q2_k: case DType::q3_k: case DType::q4_k: case DType::q5_k: case DType::q6_k:
    case DType::iq4_xs:
      return DType::q8_k;
    default: unsupported(t, "vec_dot_type");
  }
}

void convert_activations(DType weight_type, const float* src, void* dst, int64_t n) {
  checked_blocks(weight_type, n, "convert_activations");  // the weight's blocks bound the row length
  // Activations are stored in the weight's vec_dot type with the same rules as any row of that type.
  quantize_row(vec_dot_type(weight_type), src, dst, n);
}

float vec_dot(DType t, int64_t n, const void* w, const void* a) {
  vec_dot_type(t);  // rejects types without a dot kernel
  const int64_t nb = checked_blocks(t, n, "vec_dot");
  switch (t) {
    case DType::f32: return dot_float(static_cast<const float*>(w), static_cast<const float*>(a), n, [](float v) { return v; });
    case DType::f16: return dot_float(static_cast<const uint16_t*>(w), static_cast<const uint16_t*>(a), n, fp16_to_f32);
    case DType::bf16: return dot_float(static_cast<const uint16_t*>(w), static_cast<const uint16_t*>(a), n, bf16_to_f32);
    case DType::q4_0: return dot_q4_0(static_cast<const BlockQ4_0*>(w), static_cast<const BlockQ8_0*>(a), nb);
    case DType::q4_1: return dot_q4_1(static_cast<const BlockQ4_1*>(w), static_cast<const BlockQ8_1*>(a), nb);
    case DType::q5_0: return dot_q5_0(static_cast<const BlockQ5_0*>(w), static_cast<const BlockQ8_0*>(a), nb);
    case DType::q5_1: return dot_q5_1(static_cast<const BlockQ5_1*>(w), static_cast<const BlockQ8_1*>(a), nb);
    case DType::q8_0: return dot_q8_0(static_cast<const BlockQ8_0*>(w), static_cast<const BlockQ8_0*>(a), nb);
    case DType::iq4_nl: return dot_iq4_nl(static_cast<const BlockIQ4_NL*>(w), static_cast<const BlockQ8_0*>(a), nb);
    case DType::q2_k: return dot_q2_k(static_cast<const BlockQ2_K*>(w), static_cast<const BlockQ8_K*>(a), nb);
    case DType::q3_k: return dot_q3_k(static_cast<const BlockQ3_K*>(w), static_cast<const BlockQ8_K*>(a), nb);
    case DType::q4_k: return dot_q45_k<BlockQ4_K, unpack_q4_k>(static_cast<const BlockQ4_K*>(w), static_cast<const BlockQ8_K*>(a), nb);
    case DType::q5_k: return dot_q45_k<BlockQ5_K, unpack_q5_k>(static_cast<const BlockQ5_K*>(w), static_cast<const BlockQ8_K*>(a), nb);
    case DType::q6_k: return dot_q6_k(static_cast<const BlockQ6_K*>(w), static_cast<const BlockQ8_K*>(a), nb);
    case DType::iq4_xs: return dot_iq4_xs(static_cast<const BlockIQ4_XS*>(w), static_cast<const BlockQ8_K*>(a), nb);
    default: unsupported(t, "vec_dot");
  }
}

}  // namespace omni::kernels::ref
