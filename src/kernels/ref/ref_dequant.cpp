// Scalar reference dequantization of every supported ggml block format to float32, bit-exact with
// ggml's dequantize_row_* (spec ggml-blocks-and-gguf.md §3).
#include <cstring>

#include "kernels/ref/ref.hpp"
#include "kernels/ref/ref_common.hpp"

namespace omni::kernels::ref {
namespace {
using namespace detail;

void deq_q4_0(const BlockQ4_0* b, float* y, int64_t nb) {
  uint8_t q[32];
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const float d = fp16_to_f32(b[i].d);
    unpack_nibbles32(b[i].qs, q);
    for (int e = 0; e < 32; ++e) y[e] = float(int(q[e]) - 8) * d;
  }
}
void deq_q4_1(const BlockQ4_1* b, float* y, int64_t nb) {
  uint8_t q[32];
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const float d = fp16_to_f32(b[i].d), m = fp16_to_f32(b[i].m);
    unpack_nibbles32(b[i].qs, q);
    for (int e = 0; e < 32; ++e) y[e] = float(q[e]) * d + m;
  }
}
void deq_q5_0(const BlockQ5_0* b, float* y, int64_t nb) {
  uint8_t q[32];
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const float d = fp16_to_f32(b[i].d);
    unpack_q5(b[i].qs, b[i].qh, q);
    for (int e = 0; e < 32; ++e) y[e] = float(int(q[e]) - 16) * d;
  }
}
void deq_q5_1(const BlockQ5_1* b, float* y, int64_t nb) {
  uint8_t q[32];
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const float d = fp16_to_f32(b[i].d), m = fp16_to_f32(b[i].m);
    unpack_q5(b[i].qs, b[i].qh, q);
    for (int e = 0; e < 32; ++e) y[e] = float(q[e]) * d + m;
  }
}
void deq_q8_0(const BlockQ8_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const float d = fp16_to_f32(b[i].d);
    for (int e = 0; e < 32; ++e) y[e] = float(b[i].qs[e]) * d;
  }
}
void deq_q8_1(const BlockQ8_1* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const float d = fp16_to_f32(b[i].d);
    for (int e = 0; e < 32; ++e) y[e] = float(b[i].qs[e]) * d;
  }
}
void deq_q2_k(const BlockQ2_K* b, float* y, int64_t nb) {
  int8_t q[256];
  for (int64_t i = 0; i < nb; ++i, y += 256) {
    const float d = fp16_to_f32(b[i].d), dmin = fp16_to_f32(b[i].dmin);
    unpack_q2_k(b[i], q);
    for (int j = 0; j < 16; ++j) {
      const float dl = d * float(b[i].scales[j] & 0x0F), ml = dmin * float(b[i].scales[j] >> 4);
      for (int e = 16 * j; e < 16 * j + 16; ++e) y[e] = dl * float(q[e]) - ml;
    }
  }
}
void deq_q3_k(const BlockQ3_K* b, float* y, int64_t nb) {
  int8_t sc[16], q[256];
  for (int64_t i = 0; i < nb; ++i, y += 256) {
    const float d = fp16_to_f32(b[i].d);
    q3k_scales(b[i].scales, sc);
    unpack_q3_k(b[i], q);
    for (int j = 0; j < 16; ++j) {
      const float dl = d * float(sc[j]);
      for (int e = 16 * j; e < 16 * j + 16; ++e) y[e] = dl * float(q[e]);
    }
  }
}
void deq_q4_k(const BlockQ4_K* b, float* y, int64_t nb) {
  int8_t q[256];
  for (int64_t i = 0; i < nb; ++i, y += 256) {
    const float d = fp16_to_f32(b[i].d), dmin = fp16_to_f32(b[i].dmin);
    unpack_q4_k(b[i], q);
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      get_scale_min_k4(j, b[i].scales, sc, m);
      const float dl = d * float(sc), ml = dmin * float(m);
      for (int e = 32 * j; e < 32 * j + 32; ++e) y[e] = dl * float(q[e]) - ml;
    }
  }
}
void deq_q5_k(const BlockQ5_K* b, float* y, int64_t nb) {
  int8_t q[256];
  for (int64_t i = 0; i < nb; ++i, y += 256) {
    const float d = fp16_to_f32(b[i].d), dmin = fp16_to_f32(b[i].dmin);
    unpack_q5_k(b[i], q);
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      get_scale_min_k4(j, b[i].scales, sc, m);
      const float dl = d * float(sc), ml = dmin * float(m);
      for (int e = 32 * j; e < 32 * j + 32; ++e) y[e] = dl * float(q[e]) - ml;
    }
  }
}
void deq_q6_k(const BlockQ6_K* b, float* y, int64_t nb) {
  int8_t q[256];
  for (int64_t i = 0; i < nb; ++i, y += 256) {
    const float d = fp16_to_f32(b[i].d);
    unpack_q6_k(b[i], q);
    for (int j = 0; j < 16; ++j) {
      const float dl = d * float(b[i].scales[j]);
      for (int e = 16 * j; e < 16 * j + 16; ++e) y[e] = dl * float(q[e]);
    }
  }
}
void deq_q8_k(const BlockQ8_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += 256) {
    float d;
    std::memcpy(&d, &b[i].d, 4);
    for (int e = 0; e < 256; ++e) y[e] = d * float(b[i].qs[e]);
  }
}
void deq_iq4_nl(const BlockIQ4_NL* b, float* y, int64_t nb) {
  uint8_t q[32];
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const float d = fp16_to_f32(b[i].d);
    unpack_nibbles32(b[i].qs, q);
    for (int e = 0; e < 32; ++e) y[e] = d * float(kIQ4NLValues[q[e]]);
  }
}
void deq_iq4_xs(const BlockIQ4_XS* b, float* y, int64_t nb) {
  uint8_t q[32];
  for (int64_t i = 0; i < nb; ++i, y += 256) {
    const float d = fp16_to_f32(b[i].d);
    for (int ib = 0; ib < 8; ++ib) {
      const float dl = d * float(iq4xs_ls(b[i], ib) - 32);
      unpack_nibbles32(b[i].qs + 16 * ib, q);
      for (int t = 0; t < 32; ++t) y[32 * ib + t] = dl * float(kIQ4NLValues[q[t]]);
    }
  }
}

}  // namespace

void dequantize_row(DType t, const void* src, float* dst, int64_t n) {
  constexpr const char* where = "dequantize_row";
  switch (t) {
    case DType::f32: case DType::f16: case DType::bf16: case DType::q4_0: case DType::q4_1:
    case DType::q5_0: case DType::q5_1: case DType::q8_0: case DType::q8_1: case DType::q2_k:
    case DType::q3_k: case DType::q4_k: case DType::q5_k: case DType::q6_k: case DType::q8_k:
    case DType::iq4_nl: case DType::iq4_xs:
      break;
    default: unsupported(t, where);
  }
  const int64_t nb = checked_blocks(t, n, where);
  switch (t) {
    case DType::f32: if (n) std::memcpy(dst, src, size_t(n) * 4); return;
    case DType::f16: {
      const auto* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_f32(h[i]);
      return;
    }
    case DType::bf16: {
      const auto* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(h[i]);
      return;
    }
    case DType::q4_0: return deq_q4_0(static_cast<const BlockQ4_0*>(src), dst, nb);
    case DType::q4_1: return deq_q4_1(static_cast<const BlockQ4_1*>(src), dst, nb);
    case DType::q5_0: return deq_q5_0(static_cast<const BlockQ5_0*>(src), dst, nb);
    case DType::q5_1: return deq_q5_1(static_cast<const BlockQ5_1*>(src), dst, nb);
    case DType::q8_0: return deq_q8_0(static_cast<const BlockQ8_0*>(src), dst, nb);
    case DType::q8_1: return deq_q8_1(static_cast<const BlockQ8_1*>(src), dst, nb);
    case DType::q2_k: return deq_q2_k(static_cast<const BlockQ2_K*>(src), dst, nb);
    case DType::q3_k: return deq_q3_k(static_cast<const BlockQ3_K*>(src), dst, nb);
    case DType::q4_k: return deq_q4_k(static_cast<const BlockQ4_K*>(src), dst, nb);
    case DType::q5_k: return deq_q5_k(static_cast<const BlockQ5_K*>(src), dst, nb);
    case DType::q6_k: return deq_q6_k(static_cast<const BlockQ6_K*>(src), dst, nb);
    case DType::q8_k: return deq_q8_k(static_cast<const BlockQ8_K*>(src), dst, nb);
    case DType::iq4_nl: return deq_iq4_nl(static_cast<const BlockIQ4_NL*>(src), dst, nb);
    case DType::iq4_xs: return deq_iq4_xs(static_cast<const BlockIQ4_XS*>(src), dst, nb);
    default: unsupported(t, where);
  }
}

}  // namespace omni::kernels::ref
