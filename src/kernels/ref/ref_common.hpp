// Small helpers shared by the scalar reference kernels (argument checks, rounding, field access).
// Internal to src/kernels/ref; not part of the public kernel API.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/dtype.hpp"
#include "core/fp16.hpp"
#include "omni/error.hpp"

namespace omni::kernels::ref::detail {

// Throws unless n is a non-negative multiple of t's block size; returns the number of blocks.
inline int64_t checked_blocks(DType t, int64_t n, const char* where) {
  const int64_t bs = block_size(t);
  if (n < 0 || n % bs != 0)
    fail(ErrorCode::invalid_argument, where, ": row length ", n, " is not a multiple of the ",
         dtype_name(t), " block size ", bs);
  return n / bs;
}

[[noreturn]] inline void unsupported(DType t, const char* where) {
  const auto tr = dtype_traits(static_cast<uint32_t>(t));
  fail(ErrorCode::unsupported, where, ": tensor type ",
       tr && tr->name ? tr->name : "(invalid id)", " (id ", static_cast<uint32_t>(t), ") is not supported");
}

// Round half to even under the default rounding mode (ggml's nearest_int, for |v| <= 2^22).
inline int nearest_int(float v) {
  float val = v + 12582912.f;
  int i;
  std::memcpy(&i, &val, sizeof(int));
  return (i & 0x007fffff) - 0x00400000;
}

// (int8_t)v / (uint8_t)v as ggml's quantizers write it, compiled for x86 (cvttss2si, then the low
// byte): identical for in-range values, and defined (0) for NaN and out-of-range values.
inline uint8_t trunc_low_byte(float v) {
  if (!(v > -2147483648.0f && v < 2147483648.0f)) return 0;
  return uint8_t(uint32_t(int32_t(v)));
}
inline int8_t trunc_i8(float v) { return int8_t(trunc_low_byte(v)); }

inline uint32_t load_u32(const uint8_t* p) { uint32_t v; std::memcpy(&v, p, 4); return v; }

// 6-bit (scale, min) pair j of a Q4_K / Q5_K 12-byte scales array (spec §3.8).
inline void get_scale_min_k4(int j, const uint8_t* s, uint8_t& sc, uint8_t& m) {
  if (j < 4) {
    sc = s[j] & 63;
    m = s[j + 4] & 63;
  } else {
    sc = uint8_t((s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4));
    m = uint8_t((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
  }
}

// The 16 signed 6-bit Q3_K scales (spec §3.10), -32..31.
inline void q3k_scales(const uint8_t* S, int8_t out[16]) {
  for (int j = 0; j < 16; ++j) {
    const int lo = j < 8 ? (S[j] & 0x0F) : (S[j - 8] >> 4);
    const int hi = (S[8 + (j % 4)] >> (2 * (j / 4))) & 3;
    out[j] = int8_t((lo | (hi << 4)) - 32);
  }
}

// The 6-bit IQ4_XS sub-block scale ls for sub-block ib (0..63, biased by 32).
inline int iq4xs_ls(const BlockIQ4_XS& b, int ib) {
  return ((b.scales_l[ib / 2] >> (4 * (ib % 2))) & 0x0F) | (((b.scales_h >> (2 * ib)) & 3) << 4);
}

// Integer quants of one block, in element order (spec §3); used by dequantize and vec_dot.
// q4_0: q-8; q4_1: q; q5_0: q-16; q5_1: q; iq4_nl: codebook value.
inline void unpack_nibbles32(const uint8_t* qs, uint8_t out[32]) {
  for (int e = 0; e < 16; ++e) { out[e] = qs[e] & 0x0F; out[e + 16] = qs[e] >> 4; }
}
inline void unpack_q5(const uint8_t* qs, const uint8_t* qh_bytes, uint8_t out[32]) {
  const uint32_t qh = load_u32(qh_bytes);
  for (int e = 0; e < 16; ++e) {
    out[e] = uint8_t((qs[e] & 0x0F) | (((qh >> e) & 1) << 4));
    out[e + 16] = uint8_t((qs[e] >> 4) | (((qh >> (e + 16)) & 1) << 4));
  }
}
// Integer quants of one 256-element K block in element order (spec §3.8-3.13).
// Q2_K: 0..3 from the 2-bit planes.
inline void unpack_q2_k(const BlockQ2_K& b, int8_t q[256]) {
  for (int h = 0; h < 2; ++h)
    for (int s = 0; s < 4; ++s)
      for (int l = 0; l < 32; ++l) q[128 * h + 32 * s + l] = int8_t((b.qs[32 * h + l] >> (2 * s)) & 3);
}
// Q3_K: -4..3 (low bits from the planes; a clear hmask bit subtracts 4).
inline void unpack_q3_k(const BlockQ3_K& b, int8_t q[256]) {
  for (int h = 0; h < 2; ++h)
    for (int s = 0; s < 4; ++s)
      for (int l = 0; l < 32; ++l) {
        const int lo = (b.qs[32 * h + l] >> (2 * s)) & 3;
        const int hb = (b.hmask[l] >> (4 * h + s)) & 1;
        q[128 * h + 32 * s + l] = int8_t(lo - (hb ? 0 : 4));
      }
}
// Q4_K: 0..15.
inline void unpack_q4_k(const BlockQ4_K& b, int8_t q[256]) {
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l) {
      q[64 * c + l] = int8_t(b.qs[32 * c + l] & 0x0F);
      q[64 * c + 32 + l] = int8_t(b.qs[32 * c + l] >> 4);
    }
}
// Q5_K: 0..31.
inline void unpack_q5_k(const BlockQ5_K& b, int8_t q[256]) {
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l) {
      q[64 * c + l] = int8_t((b.qs[32 * c + l] & 0x0F) | (((b.qh[l] >> (2 * c)) & 1) << 4));
      q[64 * c + 32 + l] = int8_t((b.qs[32 * c + l] >> 4) | (((b.qh[l] >> (2 * c + 1)) & 1) << 4));
    }
}
// Q6_K: -32..31.
inline void unpack_q6_k(const BlockQ6_K& b, int8_t q[256]) {
  for (int h = 0; h < 2; ++h)
    for (int l = 0; l < 32; ++l) {
      const uint8_t* ql = b.ql + 64 * h;
      const uint8_t qh = b.qh[32 * h + l];
      q[128 * h + l] = int8_t(((ql[l] & 0x0F) | ((qh & 3) << 4)) - 32);
      q[128 * h + 32 + l] = int8_t(((ql[32 + l] & 0x0F) | (((qh >> 2) & 3) << 4)) - 32);
      q[128 * h + 64 + l] = int8_t(((ql[l] >> 4) | (((qh >> 4) & 3) << 4)) - 32);
      q[128 * h + 96 + l] = int8_t(((ql[32 + l] >> 4) | (((qh >> 6) & 3) << 4)) - 32);
    }
}

// K-quant and IQ4 weight quantizers (ref_quantize_k.cpp, ref_quantize_iq4.cpp); nb = number of blocks.
void quantize_q2_k(const float* x, BlockQ2_K* y, int64_t nb);
void quantize_q3_k(const float* x, BlockQ3_K* y, int64_t nb);
void quantize_q4_k(const float* x, BlockQ4_K* y, int64_t nb);
void quantize_q5_k(const float* x, BlockQ5_K* y, int64_t nb);
void quantize_q6_k(const float* x, BlockQ6_K* y, int64_t nb);
void quantize_iq4_nl(const float* x, BlockIQ4_NL* y, int64_t nb);
void quantize_iq4_xs(const float* x, BlockIQ4_XS* y, int64_t nb);
// Activation quantizers (spec §4.2-4.4, reference variants); also the Q8_0 weight quantizer.
void quantize_q8_0(const float* x, BlockQ8_0* y, int64_t nb);
void quantize_q8_1(const float* x, BlockQ8_1* y, int64_t nb);
void quantize_q8_k(const float* x, BlockQ8_K* y, int64_t nb);

}  // namespace omni::kernels::ref::detail
