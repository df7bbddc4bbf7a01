// Property tests of the scalar reference weight quantizers over synthetic rows: exact zeros,
// constant rows, bounded round-trip error per format, search quantizers beating the trivial ones,
// exact output sizes, and non-finite input handled without crashing.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/dtype.hpp"
#include "kernels/ref/ref.hpp"

namespace {
using omni::DType;
namespace ref = omni::kernels::ref;

struct Case {
  DType t;
  double max_rel_rmse;  // round-trip RMSE / RMS(x) bound on Gaussian rows (a few bits of margin)
};
// Bounds: a b-bit uniform quantizer of a Gaussian block gives roughly 2^-b * 1.5 relative RMSE.
const Case kCases[] = {{DType::f32, 0.0},     {DType::f16, 1e-3},    {DType::bf16, 5e-3},  {DType::q8_0, 0.008},
                       {DType::q6_k, 0.025},  {DType::q5_0, 0.055},  {DType::q5_1, 0.05},  {DType::q5_k, 0.045},
                       {DType::q4_0, 0.11},   {DType::q4_1, 0.10},   {DType::q4_k, 0.09},  {DType::iq4_nl, 0.095},
                       {DType::iq4_xs, 0.095}, {DType::q3_k, 0.18},  {DType::q2_k, 0.34}};

std::vector<float> round_trip(DType t, const std::vector<float>& x) {
  const int64_t n = int64_t(x.size());
  std::vector<uint8_t> q(omni::row_bytes(t, n));
  std::vector<float> y(x.size());
  ref::quantize_row(t, x.data(), q.data(), n);
  ref::dequantize_row(t, q.data(), y.data(), n);
  return y;
}

double rel_rmse(const std::vector<float>& x, const std::vector<float>& y) {
  double e = 0, s = 0;
  for (size_t i = 0; i < x.size(); ++i) { e += (double(x[i]) - y[i]) * (double(x[i]) - y[i]); s += double(x[i]) * x[i]; }
  return std::sqrt(e / s);
}

TEST(RefQuantize, ZeroRowsStayExactlyZero) {
  for (const auto& c : kCases) {
    SCOPED_TRACE(omni::dtype_name(c.t));
    const auto y = round_trip(c.t, std::vector<float>(512, 0.0f));
    for (float v : y) ASSERT_EQ(v, 0.0f);
  }
}

TEST(RefQuantize, ConstantRowsRoundTripClosely) {
  for (const auto& c : kCases) {
    SCOPED_TRACE(omni::dtype_name(c.t));
    for (float v : {0.37f, -2.5f, 1e-3f}) {
      const auto y = round_trip(c.t, std::vector<float>(256, v));
      for (float e : y) ASSERT_NEAR(e, v, std::fabs(v) * 0.07f) << v;
    }
  }
}

TEST(RefQuantize, GaussianRowsWithinPerFormatBounds) {
  std::mt19937 rng(42);
  for (const auto& c : kCases) {
    SCOPED_TRACE(omni::dtype_name(c.t));
    for (float scale : {1e-3f, 1.0f, 300.0f}) {
      std::normal_distribution<float> nd(0.0f, scale);
      std::vector<float> x(4096);
      for (auto& v : x) v = nd(rng);
      const double e = rel_rmse(x, round_trip(c.t, x));
      EXPECT_LE(e, c.max_rel_rmse) << "scale " << scale;
      if (c.t != DType::f32) {
        EXPECT_GT(e, 0.0);  // a lossy format that lost nothing means a bug
      }
    }
  }
}

// The search quantizers must beat the trivial min/max formats of the same or fewer bits.
TEST(RefQuantize, SearchQuantizersBeatTrivialOnes) {
  std::mt19937 rng(5);
  std::student_t_distribution<float> heavy(4.0f);  // heavier tails than a Gaussian, like real weights
  std::vector<float> x(8192);
  for (auto& v : x) v = heavy(rng);
  const double q4_0 = rel_rmse(x, round_trip(DType::q4_0, x));
  const double q5_0 = rel_rmse(x, round_trip(DType::q5_0, x));
  const double q5_1 = rel_rmse(x, round_trip(DType::q5_1, x));
  EXPECT_LT(rel_rmse(x, round_trip(DType::q4_k, x)), q4_0);
  EXPECT_LT(rel_rmse(x, round_trip(DType::iq4_nl, x)), q4_0);
  EXPECT_LT(rel_rmse(x, round_trip(DType::iq4_xs, x)), q4_0);
  EXPECT_LT(rel_rmse(x, round_trip(DType::q5_k, x)), q5_0);
  EXPECT_LT(rel_rmse(x, round_trip(DType::q6_k, x)), q5_1);
  EXPECT_LT(rel_rmse(x, round_trip(DType::q3_k, x)), 2.0 * q4_0);
}

TEST(RefQuantize, WritesExactlyRowBytes) {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd;
  for (const auto& c : kCases) {
    SCOPED_TRACE(omni::dtype_name(c.t));
    const int64_t n = omni::block_size(c.t) == 1 ? 77 : 3 * omni::block_size(c.t);
    std::vector<float> x(static_cast<size_t>(n));
    for (auto& v : x) v = nd(rng);
    const size_t rb = omni::row_bytes(c.t, n);
    std::vector<uint8_t> q(rb + 64, 0xCD);
    ref::quantize_row(c.t, x.data(), q.data(), n);
    for (size_t i = rb; i < q.size(); ++i) ASSERT_EQ(q[i], 0xCD) << "wrote past the row at byte " << i;
    std::vector<float> y(static_cast<size_t>(n) + 16, 7.0f);
    ref::dequantize_row(c.t, q.data(), y.data(), n);
    for (size_t i = size_t(n); i < y.size(); ++i) ASSERT_EQ(y[i], 7.0f);
  }
}

TEST(RefQuantize, NonFiniteInputDoesNotCrash) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  for (const auto& c : kCases) {
    SCOPED_TRACE(omni::dtype_name(c.t));
    for (float bad : {inf, -inf, nan, 1e30f, 1e-40f}) {
      std::vector<float> x(512, 0.5f);
      x[3] = bad;
      x[300] = -bad;
      std::vector<uint8_t> q(omni::row_bytes(c.t, 512));
      ref::quantize_row(c.t, x.data(), q.data(), 512);
      std::vector<float> y(512);
      ref::dequantize_row(c.t, q.data(), y.data(), 512);
      if (bad == 1e-40f) {  // tiny subnormals next to 0.5 are harmless: everything stays finite
        for (float v : y) ASSERT_TRUE(std::isfinite(v));
      }
    }
  }
}

}  // namespace
