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
  int64_t max_len = 0;
  for (size_t w = 0; w + 1 < bounds.size(); ++w) max_len = std::max(max_len, bounds[w + 1] - bounds[w]);
  // Per (window, head): S = Q_h K_hᵀ and O = P V_h as two GEMMs on the kernel path.
  std::vector<float> qh(size_t(max_len * head_dim)), kh(qh.size()), vt(qh.size()), oh(qh.size());
  std::vector<float> scores(size_t(max_len * max_len));
  for (size_t w = 0; w + 1 < bounds.size(); ++w) {
    const int64_t w0 = bounds[w], len = bounds[w + 1] - w0;
    for (int h = 0; h < n_head; ++h) {
      const int64_t off = int64_t(h) * head_dim;
      for (int64_t i = 0; i < len; ++i) {
        const int64_t row = (w0 + i) * width + off;
        std::copy_n(q + row, head_dim, &qh[size_t(i * head_dim)]);
        std::copy_n(k + row, head_dim, &kh[size_t(i * head_dim)]);
        for (int d = 0; d < head_dim; ++d) vt[size_t(d * len + i)] = v[row + d];  // [head_dim, len]
      }
      kernels::matmul(pool, DType::f32, kh.data(), len, head_dim, qh.data(), len, scores.data());  // [len, len]
      pool.parallel_for(len, 16, [&](int64_t b, int64_t e, int) {
        for (int64_t i = b; i < e; ++i) {
          float* r = &scores[size_t(i * len)];
          float mx = -INFINITY;
          for (int64_t j = 0; j < len; ++j) mx = std::max(mx, r[j] * scale);
          double sum = 0;
          for (int64_t j = 0; j < len; ++j) sum += (r[j] = std::exp(r[j] * scale - mx));
          const float inv = float(1.0 / sum);
          for (int64_t j = 0; j < len; ++j) r[j] *= inv;
        }
      });
      kernels::matmul(pool, DType::f32, vt.data(), head_dim, len, scores.data(), len, oh.data());  // [len, head_dim]
      for (int64_t i = 0; i < len; ++i) std::copy_n(&oh[size_t(i * head_dim)], head_dim, out + (w0 + i) * width + off);
    }
  }
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
