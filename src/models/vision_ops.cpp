// Float32 building blocks of the vision towers (see vision_ops.hpp).
#include "models/vision_ops.hpp"

#include <algorithm>
#include <cmath>

#include "kernels/kernels.hpp"
#include "omni/error.hpp"

namespace omni::models::vops {

void linear(ThreadPool& pool, const gguf::TensorInfo& w, const float* bias, const float* x, int64_t n, float* y) {
  const int64_t k = w.ne[0], n_out = w.ne[1];
  kernels::matmul(pool, w.type, w.data, n_out, k, x, n, y);
  if (bias)
    for (int64_t t = 0; t < n; ++t)
      for (int64_t o = 0; o < n_out; ++o) y[t * n_out + o] += bias[o];
}

void layer_norm(float* x, int64_t n, int64_t width, const float* w, const float* b, float eps) {
  for (int64_t t = 0; t < n; ++t) {
    float* r = x + t * width;
    double mean = 0, var = 0;
    for (int64_t i = 0; i < width; ++i) mean += r[i];
    mean /= double(width);
    for (int64_t i = 0; i < width; ++i) var += (r[i] - mean) * (r[i] - mean);
    var /= double(width);
    const float inv = float(1.0 / std::sqrt(var + eps));
    for (int64_t i = 0; i < width; ++i) {
      float v = float(r[i] - mean) * inv;
      if (w) v *= w[i];
      if (b) v += b[i];
      r[i] = v;
    }
  }
}

void rms_norm(float* x, int64_t n, int64_t width, const float* w, float eps) {
  for (int64_t t = 0; t < n; ++t) {
    float* r = x + t * width;
    double ss = 0;
    for (int64_t i = 0; i < width; ++i) ss += double(r[i]) * r[i];
    const float inv = float(1.0 / std::sqrt(ss / double(width) + eps));
    for (int64_t i = 0; i < width; ++i) r[i] = r[i] * inv * (w ? w[i] : 1.0f);
  }
}

void gelu_tanh(float* x, int64_t n) {
  constexpr float c = 0.7978845608028654f;  // sqrt(2/pi)
  for (int64_t i = 0; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + std::tanh(c * (x[i] + 0.044715f * x[i] * x[i] * x[i])));
}
void gelu_erf(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f));
}
void gelu_quick(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = x[i] / (1.0f + std::exp(-1.702f * x[i]));
}
void silu(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = x[i] / (1.0f + std::exp(-x[i]));
}

void attention(ThreadPool& pool, const float* q, const float* k, const float* v, int64_t n_pos, int n_head,
               int head_dim, float* out, const std::vector<int64_t>& window_starts) {
  const int64_t width = int64_t(n_head) * head_dim;
  std::vector<int64_t> bounds = window_starts.empty() ? std::vector<int64_t>{0} : window_starts;
  bounds.push_back(n_pos);
  const float scale = 1.0f / std::sqrt(float(head_dim));
  // One task per (head, window); each works on private buffers.
  const int64_t n_win = int64_t(bounds.size()) - 1;
  pool.parallel_for(n_head * n_win, 1, [&](int64_t begin, int64_t end, int) {
    std::vector<float> scores;
    std::vector<float> acc(static_cast<size_t>(head_dim));
    for (int64_t task = begin; task < end; ++task) {
      const int h = int(task / n_win);
      const int64_t w0 = bounds[size_t(task % n_win)], w1 = bounds[size_t(task % n_win) + 1];
      const int64_t len = w1 - w0;
      scores.resize(size_t(len));
      for (int64_t i = w0; i < w1; ++i) {
        const float* qi = q + i * width + int64_t(h) * head_dim;
        float mx = -INFINITY;
        for (int64_t j = 0; j < len; ++j) {
          const float* kj = k + (w0 + j) * width + int64_t(h) * head_dim;
          float s = 0;
          for (int d = 0; d < head_dim; ++d) s += qi[d] * kj[d];
          scores[size_t(j)] = s * scale;
          mx = std::max(mx, scores[size_t(j)]);
        }
        double sum = 0;
        for (int64_t j = 0; j < len; ++j) sum += (scores[size_t(j)] = std::exp(scores[size_t(j)] - mx));
        const float inv = float(1.0 / sum);
        std::fill(acc.begin(), acc.end(), 0.0f);
        for (int64_t j = 0; j < len; ++j) {
          const float p = scores[size_t(j)] * inv;
          const float* vj = v + (w0 + j) * width + int64_t(h) * head_dim;
          for (int d = 0; d < head_dim; ++d) acc[size_t(d)] += p * vj[d];
        }
        std::copy(acc.begin(), acc.end(), out + i * width + int64_t(h) * head_dim);
      }
    }
  });
}

std::vector<float> im2patches(const float* planar, int width, int height, int patch) {
  if (width % patch || height % patch)
    fail(ErrorCode::invalid_argument, "image ", width, "x", height, " is not a multiple of the patch size ", patch);
  const int gx = width / patch, gy = height / patch;
  const int row = 3 * patch * patch;
  std::vector<float> out(size_t(gx) * gy * row);
  const size_t plane = size_t(width) * height;
  for (int py = 0; py < gy; ++py)
    for (int px = 0; px < gx; ++px) {
      float* dst = &out[(size_t(py) * gx + px) * row];
      for (int c = 0; c < 3; ++c)
        for (int ky = 0; ky < patch; ++ky)
          for (int kx = 0; kx < patch; ++kx)
            *dst++ = planar[c * plane + size_t(py * patch + ky) * width + px * patch + kx];
    }
  return out;
}

}  // namespace omni::models::vops
