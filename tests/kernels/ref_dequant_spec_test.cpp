// Dequantization of random block bytes checked against a literal, element-by-element transcription
// of the spec's bit maps (ggml-blocks-and-gguf.md §3.2-3.17), written independently of the kernels.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/dtype.hpp"
#include "core/fp16.hpp"
#include "kernels/ref/ref.hpp"

namespace {
using omni::DType;
namespace ref = omni::kernels::ref;

float h2f(const uint8_t* p) { uint16_t h; std::memcpy(&h, p, 2); return omni::fp16_to_f32(h); }
const int8_t K[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

// 6-bit (sc, m) of sub-block j from the 12-byte array S (spec §3.8 "Decoding step by step").
void scale_min(const uint8_t* S, int j, int& sc, int& m) {
  if (j < 4) { sc = S[j] & 63; m = S[j + 4] & 63; return; }
  sc = (S[j + 4] & 0x0F) | ((S[j - 4] >> 6) << 4);
  m = (S[j + 4] >> 4) | ((S[j] >> 6) << 4);
}

// Element e of one block at p, per the spec's formulas.
float spec_element(DType t, const uint8_t* p, int e) {
  switch (t) {
    case DType::q4_0: { const int q = e < 16 ? (p[2 + e] & 15) : (p[2 + e - 16] >> 4); return float(q - 8) * h2f(p); }
    case DType::q4_1: { const int q = e < 16 ? (p[4 + e] & 15) : (p[4 + e - 16] >> 4); return float(q) * h2f(p) + h2f(p + 2); }
    case DType::q5_0: {
      uint32_t qh; std::memcpy(&qh, p + 2, 4);
      const int lo = e < 16 ? (p[6 + e] & 15) : (p[6 + e - 16] >> 4);
      return float((lo | int((qh >> e) & 1) << 4) - 16) * h2f(p);
    }
    case DType::q5_1: {
      uint32_t qh; std::memcpy(&qh, p + 4, 4);
      const int lo = e < 16 ? (p[8 + e] & 15) : (p[8 + e - 16] >> 4);
      return float(lo | int((qh >> e) & 1) << 4) * h2f(p) + h2f(p + 2);
    }
    case DType::q8_0: return float(int8_t(p[2 + e])) * h2f(p);
    case DType::q8_1: return float(int8_t(p[4 + e])) * h2f(p);
    case DType::q2_k: {
      const int j = e / 16, sc = p[j] & 15, mn = p[j] >> 4;
      const int q = (p[16 + 32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
      return (h2f(p + 80) * float(sc)) * float(q) - h2f(p + 82) * float(mn);
    }
    case DType::q3_k: {
      const uint8_t* S = p + 96;
      const int j = e / 16;
      const int lo = j < 8 ? (S[j] & 15) : (S[j - 8] >> 4);
      const int hi = (S[8 + j % 4] >> (2 * (j / 4))) & 3;
      const int s = (lo | hi << 4) - 32;
      const int q2 = (p[32 + 32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
      const int hb = (p[e % 32] >> (e / 32)) & 1;
      return (h2f(p + 108) * float(s)) * float(q2 - (hb ? 0 : 4));
    }
    case DType::q4_k: case DType::q5_k: {
      const int j = e / 32;
      int sc, m;
      scale_min(p + 4, j, sc, m);
      const uint8_t* qs = p + (t == DType::q4_k ? 16 : 48);
      int q = (qs[32 * (e / 64) + e % 32] >> (4 * (j % 2))) & 15;
      if (t == DType::q5_k) q += 16 * ((p[16 + e % 32] >> j) & 1);
      return (h2f(p) * float(sc)) * float(q) - h2f(p + 2) * float(m);
    }
    case DType::q6_k: {
      const int h = e / 128, g = (e % 128) / 32, l = e % 32;
      const uint8_t b = p[64 * h + 32 * (g % 2) + l];
      const int lo = g < 2 ? (b & 15) : (b >> 4);
      const int hi = (p[128 + 32 * h + l] >> (2 * g)) & 3;
      return (h2f(p + 208) * float(int8_t(p[192 + e / 16]))) * float((lo | hi << 4) - 32);
    }
    case DType::q8_k: { float d; std::memcpy(&d, p, 4); return d * float(int8_t(p[4 + e])); }
    case DType::iq4_nl: { const int idx = e < 16 ? (p[2 + e] & 15) : (p[2 + e - 16] >> 4); return h2f(p) * float(K[idx]); }
    case DType::iq4_xs: {
      const int ib = e / 32, tt = e % 32;
      uint16_t sh; std::memcpy(&sh, p + 2, 2);
      const int ls = ((p[4 + ib / 2] >> (4 * (ib % 2))) & 15) | (((sh >> (2 * ib)) & 3) << 4);
      const int idx = tt < 16 ? (p[8 + 16 * ib + tt] & 15) : (p[8 + 16 * ib + tt - 16] >> 4);
      return (h2f(p) * float(ls - 32)) * float(K[idx]);
    }
    default: return NAN;
  }
}

bool same_bits(float a, float b) { return (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, 4) == 0; }

TEST(RefDequantSpec, RandomBlocksMatchTheSpecBitMaps) {
  std::mt19937 rng(2024);
  for (DType t : {DType::q4_0, DType::q4_1, DType::q5_0, DType::q5_1, DType::q8_0, DType::q8_1, DType::q2_k,
                  DType::q3_k, DType::q4_k, DType::q5_k, DType::q6_k, DType::q8_k, DType::iq4_nl, DType::iq4_xs}) {
    SCOPED_TRACE(omni::dtype_name(t));
    const int bs = int(omni::block_size(t));
    const size_t ts = omni::traits(t).type_size;
    const int nblocks = 200;  // random bytes, including NaN/inf/subnormal scales
    std::vector<uint8_t> q(ts * nblocks);
    for (auto& c : q) c = uint8_t(rng());
    std::vector<float> got(size_t(bs) * nblocks);
    ref::dequantize_row(t, q.data(), got.data(), int64_t(got.size()));
    int64_t bad = 0;
    for (int b = 0; b < nblocks; ++b)
      for (int e = 0; e < bs; ++e)
        if (!same_bits(got[size_t(b * bs + e)], spec_element(t, q.data() + b * ts, e))) ++bad;
    EXPECT_EQ(bad, 0);
  }
}

TEST(RefDequantSpec, FloatTypesAreExactConversions) {
  std::mt19937 rng(11);
  std::vector<uint16_t> h(4096);
  for (auto& v : h) v = uint16_t(rng());
  std::vector<float> y(h.size());
  ref::dequantize_row(DType::f16, h.data(), y.data(), int64_t(h.size()));
  for (size_t i = 0; i < h.size(); ++i) ASSERT_TRUE(same_bits(y[i], omni::fp16_to_f32(h[i])));
  ref::dequantize_row(DType::bf16, h.data(), y.data(), int64_t(h.size()));
  for (size_t i = 0; i < h.size(); ++i) {
    const uint32_t u = uint32_t(h[i]) << 16;
    float f; std::memcpy(&f, &u, 4);
    ASSERT_TRUE(same_bits(y[i], f));
  }
}

}  // namespace
