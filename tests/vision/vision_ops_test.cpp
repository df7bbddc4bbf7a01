// The vectorised building blocks of the vision towers against plain double-precision references:
// attention (full and windowed, head sizes that are and are not whole vectors, odd lengths),
// LayerNorm / RMSNorm, the activations, and results independent of the number of threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "core/thread_pool.hpp"
#include "models/vision_ops.hpp"

using namespace omni;
namespace vops = omni::models::vops;

namespace {

std::vector<float> random_vector(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Softmax(q k^T / sqrt(d)) v per head, each window attending within itself, in double.
std::vector<float> attention_reference(const std::vector<float>& q, const std::vector<float>& k,
                                       const std::vector<float>& v, int64_t n_pos, int n_head, int dh,
                                       std::vector<int64_t> bounds) {
  const int64_t width = int64_t(n_head) * dh;
  if (bounds.empty()) bounds = {0};
  bounds.push_back(n_pos);
  std::vector<float> out(q.size());
  for (size_t w = 0; w + 1 < bounds.size(); ++w)
    for (int h = 0; h < n_head; ++h)
      for (int64_t i = bounds[w]; i < bounds[w + 1]; ++i) {
        std::vector<double> s;
        for (int64_t j = bounds[w]; j < bounds[w + 1]; ++j) {
          double d = 0;
          for (int c = 0; c < dh; ++c) d += double(q[i * width + h * dh + c]) * k[j * width + h * dh + c];
          s.push_back(d / std::sqrt(double(dh)));
        }
        const double mx = *std::max_element(s.begin(), s.end());
        double sum = 0;
        for (auto& x : s) sum += (x = std::exp(x - mx));
        for (int c = 0; c < dh; ++c) {
          double o = 0;
          for (size_t j = 0; j < s.size(); ++j) o += s[j] * v[(bounds[w] + int64_t(j)) * width + h * dh + c];
          out[i * width + h * dh + c] = float(o / sum);
        }
      }
  return out;
}

struct AttnCase {
  int64_t n_pos;
  int n_head, head_dim;
  std::vector<int64_t> windows;
};

}  // namespace

TEST(VisionOps, AttentionMatchesReference) {
  const std::vector<AttnCase> cases = {
      {37, 3, 24, {}},             // head_dim not a whole number of vectors, one partial key tile
      {64, 4, 64, {}},             // whole tiles (SigLIP / CLIP head size)
      {200, 2, 80, {}},            // Qwen2.5-VL head size, several key tiles and a partial one
      {130, 2, 80, {0, 64, 100}},  // windows of 64, 36 and 30 positions
      {17, 1, 16, {0, 5, 6}},      // a window of one position
      {21, 5, 8, {0, 7, 14}},      // tiny heads
      {96, 2, 144, {}},            // more than one pass over the output columns
  };
  ThreadPool pool(2);
  for (const auto& c : cases) {
    const size_t n = size_t(c.n_pos) * c.n_head * c.head_dim;
    const auto q = random_vector(n, 1, 2.0f), k = random_vector(n, 2, 2.0f), v = random_vector(n, 3);
    const auto ref = attention_reference(q, k, v, c.n_pos, c.n_head, c.head_dim, c.windows);
    std::vector<float> out(n, NAN);
    vops::attention(pool, q.data(), k.data(), v.data(), c.n_pos, c.n_head, c.head_dim, out.data(), c.windows);
    double max_diff = 0;
    for (size_t i = 0; i < n; ++i) max_diff = std::max(max_diff, std::fabs(double(out[i]) - ref[i]));
    EXPECT_LE(max_diff, 2e-5) << "n_pos " << c.n_pos << " heads " << c.n_head << " head_dim " << c.head_dim;
  }
}

TEST(VisionOps, AttentionIndependentOfThreadsAndReusesScratch) {
  const int64_t n_pos = 150;
  const int n_head = 3, dh = 80;
  const size_t n = size_t(n_pos) * n_head * dh;
  const auto q = random_vector(n, 4, 2.0f), k = random_vector(n, 5, 2.0f), v = random_vector(n, 6);
  const std::vector<int64_t> windows = {0, 64, 128};
  std::vector<float> one(n), two(n), three(n), again(n);
  ThreadPool p1(1), p2(2), p3(3);
  std::vector<float> scratch;
  vops::attention(p1, q.data(), k.data(), v.data(), n_pos, n_head, dh, one.data(), windows);
  vops::attention(p2, q.data(), k.data(), v.data(), n_pos, n_head, dh, two.data(), windows, &scratch);
  vops::attention(p3, q.data(), k.data(), v.data(), n_pos, n_head, dh, three.data(), windows, &scratch);
  vops::attention(p2, q.data(), k.data(), v.data(), n_pos, n_head, dh, again.data(), windows, &scratch);
  EXPECT_EQ(one, two);
  EXPECT_EQ(one, three);
  EXPECT_EQ(one, again);
}

TEST(VisionOps, NormsMatchReference) {
  ThreadPool pool(2);
  for (int64_t width : {37, 64, 1280}) {
    const int64_t rows = 9;
    const auto x = random_vector(size_t(rows * width), 7, 3.0f);
    const auto w = random_vector(size_t(width), 8), b = random_vector(size_t(width), 9);
    for (int variant = 0; variant < 4; ++variant) {
      const float* wp = variant & 1 ? w.data() : nullptr;
      const float* bp = variant & 2 ? b.data() : nullptr;
      std::vector<float> ln(x.size()), rms = x;  // rms in place
      vops::layer_norm(pool, x.data(), rows, width, wp, bp, 1e-6f, ln.data());
      vops::rms_norm(pool, rms.data(), rows, width, wp, 1e-6f, rms.data());
      for (int64_t t = 0; t < rows; ++t) {
        const float* r = &x[size_t(t * width)];
        double mean = 0, var = 0, ss = 0;
        for (int64_t i = 0; i < width; ++i) mean += r[i], ss += double(r[i]) * r[i];
        mean /= double(width);
        for (int64_t i = 0; i < width; ++i) var += (r[i] - mean) * (r[i] - mean);
        const double inv = 1.0 / std::sqrt(var / double(width) + 1e-6);
        const double inv_rms = 1.0 / std::sqrt(ss / double(width) + 1e-6);
        for (int64_t i = 0; i < width; ++i) {
          const double e_ln = (r[i] - mean) * inv * (wp ? wp[i] : 1.0) + (bp ? bp[i] : 0.0);
          const double e_rms = r[i] * inv_rms * (wp ? wp[i] : 1.0);
          ASSERT_NEAR(ln[size_t(t * width + i)], e_ln, 1e-5 * (1 + std::fabs(e_ln))) << width << " " << variant;
          ASSERT_NEAR(rms[size_t(t * width + i)], e_rms, 1e-5 * (1 + std::fabs(e_rms))) << width << " " << variant;
        }
      }
    }
  }
}

TEST(VisionOps, ActivationsMatchReference) {
  std::vector<float> x;
  for (int i = -4000; i <= 4000; ++i) x.push_back(float(i) * 0.005f);  // [-20, 20]
  for (float e : {-1e4f, -100.0f, -88.0f, -50.0f, 50.0f, 88.0f, 100.0f, 1e4f, 1e-30f, -1e-30f, 0.0f}) x.push_back(e);
  x.push_back(0.3f);  // 8012 values: a partial last vector
  auto reference = [](vops::Activation a, double v) {
    switch (a) {
      case vops::Activation::gelu_tanh:
        return 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
      case vops::Activation::gelu_erf: return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
      case vops::Activation::gelu_quick: return v / (1 + std::exp(-1.702 * v));
      case vops::Activation::silu: break;
    }
    return v / (1 + std::exp(-v));
  };
  ThreadPool pool(2);
  const auto up = random_vector(x.size(), 10);
  for (auto a : {vops::Activation::gelu_tanh, vops::Activation::gelu_erf, vops::Activation::gelu_quick,
                 vops::Activation::silu}) {
    std::vector<float> y = x, g = x;
    vops::activate(pool, a, y.data(), int64_t(y.size()));
    vops::activate_mul(pool, a, g.data(), up.data(), int64_t(g.size()));
    for (size_t i = 0; i < x.size(); ++i) {
      const double e = reference(a, x[i]);
      ASSERT_NEAR(y[i], e, 2e-6 * std::max(1.0, std::fabs(e))) << "activation " << int(a) << " at " << x[i];
      ASSERT_NEAR(g[i], e * up[i], 2e-6 * std::max(1.0, std::fabs(e * up[i]))) << "gated " << int(a) << " at " << x[i];
    }
  }
}

TEST(VisionOps, ElementwiseResultsIndependentOfThreads) {
  const auto x = random_vector(100003, 11, 4.0f), y = random_vector(100003, 12);
  ThreadPool p1(1), p3(3);
  std::vector<float> a = x, b = x;
  vops::activate(p1, vops::Activation::gelu_tanh, a.data(), int64_t(a.size()));
  vops::activate(p3, vops::Activation::gelu_tanh, b.data(), int64_t(b.size()));
  EXPECT_EQ(a, b);
  vops::add(p1, a.data(), y.data(), int64_t(a.size()));
  vops::add(p3, b.data(), y.data(), int64_t(b.size()));
  EXPECT_EQ(a, b);
  vops::layer_norm(p1, a.data(), 1000, 100, nullptr, nullptr, 1e-5f, a.data());
  vops::layer_norm(p3, b.data(), 1000, 100, nullptr, nullptr, 1e-5f, b.data());
  EXPECT_EQ(a, b);
}
