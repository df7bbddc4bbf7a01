// Tests of the scalar reference activation conversions (spec §4.2-4.4) and dot kernels (§4.5):
// vec_dot against a float64 dot of the dequantized operands, activation-format invariants, and
// rejection of bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/dtype.hpp"
#include "core/fp16.hpp"
#include "kernels/ref/ref.hpp"
#include "omni/error.hpp"

namespace {
using omni::DType;
namespace ref = omni::kernels::ref;

const DType kWeightTypes[] = {DType::f32,  DType::f16,  DType::bf16, DType::q4_0,   DType::q4_1,  DType::q5_0,
                              DType::q5_1, DType::q8_0, DType::q2_k, DType::q3_k,   DType::q4_k,  DType::q5_k,
                              DType::q6_k, DType::iq4_nl, DType::iq4_xs};

std::vector<float> random_floats(std::mt19937& rng, int64_t n, float scale) {
  std::normal_distribution<float> nd(0.0f, scale);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = nd(rng);
  return v;
}

void put_f16(uint8_t* p, float v) { const uint16_t h = omni::f32_to_fp16(v); std::memcpy(p, &h, 2); }

// A weight row of random bytes with every f16 scale field replaced by a finite random value, so
// that every quant bit pattern is exercised independently of our quantizers.
std::vector<uint8_t> random_weight_row(std::mt19937& rng, DType t, int64_t n) {
  const size_t rb = omni::row_bytes(t, n);
  std::vector<uint8_t> b(rb);
  if (t == DType::f32 || t == DType::f16 || t == DType::bf16) {
    const auto x = random_floats(rng, n, 1.0f);
    ref::quantize_row(t, x.data(), b.data(), n);
    return b;
  }
  for (auto& c : b) c = uint8_t(rng());
  std::uniform_real_distribution<float> ud(-0.05f, 0.05f);
  const size_t bs = omni::traits(t).type_size;
  for (size_t off = 0; off < rb; off += bs) {
    uint8_t* p = b.data() + off;
    switch (t) {
      case DType::q4_1: case DType::q5_1: put_f16(p, ud(rng)); put_f16(p + 2, ud(rng)); break;
      case DType::q2_k: put_f16(p + 80, ud(rng)); put_f16(p + 82, ud(rng)); break;
      case DType::q3_k: put_f16(p + 108, ud(rng)); break;
      case DType::q4_k: case DType::q5_k: put_f16(p, ud(rng)); put_f16(p + 2, ud(rng)); break;
      case DType::q6_k: put_f16(p + 208, ud(rng)); break;
      default: put_f16(p, ud(rng)); break;  // q4_0 q5_0 q8_0 iq4_nl iq4_xs: d first
    }
  }
  return b;
}

float f16_at(const uint8_t* p) { uint16_t h; std::memcpy(&h, p, 2); return omni::fp16_to_f32(h); }

TEST(RefDot, VecDotMatchesFloat64DotOfDequantizedOperands) {
  std::mt19937 rng(1234);
  for (DType t : kWeightTypes) {
    SCOPED_TRACE(omni::dtype_name(t));
    const int64_t bs = omni::block_size(t);
    const DType vt = ref::vec_dot_type(t);
    const std::vector<int64_t> lens = bs == 1 ? std::vector<int64_t>{1, 7, 33, 255, 513}
                                              : std::vector<int64_t>{bs, 3 * bs, 7 * bs, 13 * bs};
    for (int64_t n : lens) {
      for (int rep = 0; rep < 4; ++rep) {
        const auto w = random_weight_row(rng, t, n);
        const auto x = random_floats(rng, n, rep == 3 ? 100.0f : 1.0f);
        std::vector<uint8_t> act(omni::row_bytes(vt, n));
        ref::convert_activations(t, x.data(), act.data(), n);
        std::vector<float> wf(static_cast<size_t>(n)), af(static_cast<size_t>(n));
        ref::dequantize_row(t, w.data(), wf.data(), n);
        ref::dequantize_row(vt, act.data(), af.data(), n);
        double expect = 0, mag = 0;
        for (int64_t i = 0; i < n; ++i) {
          expect += double(wf[size_t(i)]) * af[size_t(i)];
          mag += std::fabs(double(wf[size_t(i)]) * af[size_t(i)]);
        }
        if (vt == DType::q8_1) {
          // The min term uses the activation's stored s = fp16(d * sum q) instead of sum(d16 * q).
          const size_t wbs = omni::traits(t).type_size;
          const auto* a = reinterpret_cast<const omni::BlockQ8_1*>(act.data());
          for (int64_t b = 0; b < n / 32; ++b) {
            const double m = f16_at(w.data() + b * wbs + 2);
            const double dy = omni::fp16_to_f32(a[b].d), s = omni::fp16_to_f32(a[b].s);
            double suma = 0;
            for (int e = 0; e < 32; ++e) suma += a[b].qs[e];
            expect += m * s - m * dy * suma;
            mag += std::fabs(m * s);
          }
        }
        const double got = ref::vec_dot(t, n, w.data(), act.data());
        EXPECT_NEAR(got, expect, 1e-5 * mag + 1e-30) << "n=" << n << " rep=" << rep;
      }
    }
  }
}

TEST(RefDot, Q8KActivationInvariants) {
  std::mt19937 rng(7);
  const int64_t n = 3 * 256;
  for (int rep = 0; rep < 20; ++rep) {
    auto x = random_floats(rng, n, rep % 2 ? 0.01f : 10.0f);
    std::vector<omni::BlockQ8_K> b(3);
    ref::convert_activations(DType::q4_k, x.data(), b.data(), n);
    for (int i = 0; i < 3; ++i) {
      const float* xb = x.data() + 256 * i;
      int amax_i = 0;
      for (int e = 1; e < 256; ++e) if (std::fabs(xb[e]) > std::fabs(xb[amax_i])) amax_i = e;
      EXPECT_EQ(b[i].qs[amax_i], -127);                            // max element maps to -127
      EXPECT_EQ(std::signbit(b[i].d), !std::signbit(xb[amax_i]));  // d has the opposite sign
      EXPECT_NEAR(b[i].d, -xb[amax_i] / 127.0f, 1e-6f * std::fabs(xb[amax_i]));
      for (int g = 0; g < 16; ++g) {
        int s = 0;
        for (int e = 0; e < 16; ++e) s += b[i].qs[16 * g + e];
        EXPECT_EQ(b[i].bsums[g], s);
      }
      for (int e = 0; e < 256; ++e) EXPECT_LE(std::fabs(b[i].d * b[i].qs[e] - xb[e]), 0.5001f * std::fabs(b[i].d));
    }
  }
}

TEST(RefDot, Q8KHandComputedTiesAndZeros) {
  std::vector<float> x(512, 0.0f);
  x[0] = 127.0f;  // max positive: iscale = -1, d = -1
  x[1] = 2.5f;    // -2.5 rounds half to even -> -2
  x[2] = -3.5f;   // 3.5 -> 4
  x[3] = 0.5f;    // -0.5 -> -0 -> 0
  // second block: all zeros -> d = 0, qs = 0, bsums = 0
  std::vector<omni::BlockQ8_K> b(2);
  std::memset(b.data(), 0x55, sizeof(omni::BlockQ8_K) * 2);
  ref::convert_activations(DType::q6_k, x.data(), b.data(), 512);
  EXPECT_EQ(b[0].d, -1.0f);
  EXPECT_EQ(b[0].qs[0], -127);
  EXPECT_EQ(b[0].qs[1], -2);
  EXPECT_EQ(b[0].qs[2], 4);
  EXPECT_EQ(b[0].qs[3], 0);
  EXPECT_EQ(b[0].bsums[0], -127 - 2 + 4);
  EXPECT_EQ(b[1].d, 0.0f);
  for (int e = 0; e < 256; ++e) ASSERT_EQ(b[1].qs[e], 0);
  for (int g = 0; g < 16; ++g) ASSERT_EQ(b[1].bsums[g], 0);
}

TEST(RefDot, Q8_0HandComputedRoundsHalfAwayFromZero) {
  std::vector<float> x(32, 0.0f);
  x[5] = -127.0f;  // amax 127: d = 1, id = 1
  x[0] = 2.5f;     // -> 3 (away from zero)
  x[1] = -2.5f;    // -> -3
  x[2] = 0.49f;    // -> 0
  omni::BlockQ8_0 b;
  ref::convert_activations(DType::q4_0, x.data(), &b, 32);
  EXPECT_EQ(omni::fp16_to_f32(b.d), 1.0f);
  EXPECT_EQ(b.qs[5], -127);
  EXPECT_EQ(b.qs[0], 3);
  EXPECT_EQ(b.qs[1], -3);
  EXPECT_EQ(b.qs[2], 0);
  omni::BlockQ8_1 c;
  ref::convert_activations(DType::q5_1, x.data(), &c, 32);
  EXPECT_EQ(c.qs[0], 3);
  EXPECT_EQ(omni::fp16_to_f32(c.s), float(-127 + 3 - 3));  // s = d * sum(q)
}

TEST(RefDot, Q8_0ActivationInvariants) {
  std::mt19937 rng(9);
  const auto x = random_floats(rng, 32 * 50, 3.0f);
  std::vector<omni::BlockQ8_0> b(50);
  ref::convert_activations(DType::iq4_nl, x.data(), b.data(), 32 * 50);
  for (int i = 0; i < 50; ++i) {
    float amax = 0;
    for (int e = 0; e < 32; ++e) amax = std::max(amax, std::fabs(x[size_t(32 * i + e)]));
    const float d = omni::fp16_to_f32(b[size_t(i)].d);
    EXPECT_NEAR(d, amax / 127.0f, amax / 127.0f * 1e-3f);
    int maxq = 0;
    for (int e = 0; e < 32; ++e) {
      maxq = std::max(maxq, std::abs(int(b[size_t(i)].qs[e])));
      EXPECT_LE(std::fabs(d * b[size_t(i)].qs[e] - x[size_t(32 * i + e)]), 0.5f * d + 2e-3f * amax);
    }
    EXPECT_EQ(maxq, 127);
  }
}

TEST(RefDot, FloatActivationsUseSpecRounding) {
  const float x[4] = {1.0f + 1.0f / 4096.0f, -3.14159f, 65520.0f, 1e-8f};
  uint16_t h[4];
  ref::convert_activations(DType::f16, x, h, 4);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(h[i], omni::f32_to_fp16(x[i]));
  EXPECT_EQ(h[0], 0x3C00);  // tie to even
  EXPECT_EQ(h[2], 0x7C00);  // rounds to inf
  ref::convert_activations(DType::bf16, x, h, 4);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(h[i], omni::f32_to_bf16(x[i]));
  float f[4];
  ref::convert_activations(DType::f32, x, f, 4);
  EXPECT_EQ(std::memcmp(f, x, sizeof x), 0);
}

TEST(RefDot, Q8KAndQ8_1Dequantize) {
  omni::BlockQ8_K b{};
  b.d = -0.25f;
  for (int e = 0; e < 256; ++e) b.qs[e] = int8_t(e - 128);
  std::vector<float> y(256);
  ref::dequantize_row(DType::q8_k, &b, y.data(), 256);
  for (int e = 0; e < 256; ++e) EXPECT_EQ(y[size_t(e)], -0.25f * float(e - 128));
}

template <typename F>
void expect_error(F&& f, omni::ErrorCode code, const char* text) {
  try {
    f();
    ADD_FAILURE() << "no error thrown";
  } catch (const omni::Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
  }
}

TEST(RefDot, BadInputThrows) {
  std::vector<uint8_t> buf(4096);
  std::vector<float> f(1024);
  using omni::ErrorCode;
  expect_error([&] { ref::dequantize_row(DType::iq2_xxs, buf.data(), f.data(), 256); }, ErrorCode::unsupported, "iq2_xxs");
  expect_error([&] { ref::quantize_row(DType::iq3_s, f.data(), buf.data(), 256); }, ErrorCode::unsupported, "iq3_s");
  expect_error([&] { ref::quantize_row(DType::tq1_0, f.data(), buf.data(), 256); }, ErrorCode::unsupported, "tq1_0");
  expect_error([&] { ref::vec_dot_type(DType::q8_k); }, ErrorCode::unsupported, "q8_k");
  expect_error([&] { ref::vec_dot(DType::q8_1, 32, buf.data(), buf.data()); }, ErrorCode::unsupported, "q8_1");
  expect_error([&] { ref::convert_activations(DType::mxfp4, f.data(), buf.data(), 32); }, ErrorCode::unsupported, "mxfp4");
  expect_error([&] { ref::dequantize_row(static_cast<DType>(4), buf.data(), f.data(), 32); }, ErrorCode::unsupported, "id 4");
  expect_error([&] { ref::dequantize_row(static_cast<DType>(99), buf.data(), f.data(), 32); }, ErrorCode::unsupported, "id 99");
  expect_error([&] { ref::dequantize_row(DType::q4_0, buf.data(), f.data(), 33); }, ErrorCode::invalid_argument, "q4_0");
  expect_error([&] { ref::quantize_row(DType::q4_k, f.data(), buf.data(), 128); }, ErrorCode::invalid_argument, "q4_k");
  expect_error([&] { ref::convert_activations(DType::q6_k, f.data(), buf.data(), 300); }, ErrorCode::invalid_argument, "300");
  expect_error([&] { ref::vec_dot(DType::iq4_xs, 100, buf.data(), buf.data()); }, ErrorCode::invalid_argument, "iq4_xs");
  expect_error([&] { ref::dequantize_row(DType::q8_0, buf.data(), f.data(), -32); }, ErrorCode::invalid_argument, "-32");
}

}  // namespace
