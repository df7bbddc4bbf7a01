// Inner loops shared by the llama forward passes (llama.cpp: one sequence over a contiguous KV cache;
// llama_batch.cpp: many sequences over KV blocks): exp, RMS norm, RoPE, online-softmax attention
// blocks, SwiGLU. Internal to src/models; every includer gets its own copy (anonymous namespace).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "models/llama.hpp"

namespace omni::models {
namespace {

// Hot loops of attention and the FFN are compiled for several x86 levels and chosen at load time
// by the compiler's function multi-versioning (portable C++, no intrinsics).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define OMNI_MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define OMNI_MULTIVERSION
#endif

// exp(x) for x <= 88: 2^(x log2 e) split into an integer power (exponent bits) and a degree-6
// polynomial on [-0.5, 0.5] (relative error ~2e-7). Branch-free, so loops over it vectorise.
[[gnu::always_inline]] inline float exp_approx(float x) {
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  const float t = x * 1.44269504089f;
  const float r = (t + 12582912.0f) - 12582912.0f;  // round to nearest integer
  const float f = t - r;
  float p = 1.5403530e-4f;
  p = p * f + 1.3333558e-3f;
  p = p * f + 9.6181291e-3f;
  p = p * f + 5.5504109e-2f;
  p = p * f + 2.4022651e-1f;
  p = p * f + 6.9314718e-1f;
  p = p * f + 1.0f;
  const int32_t e = (int32_t(r) + 127) << 23;
  float scale;
  std::memcpy(&scale, &e, 4);
  return p * scale;
}

// Dot product with independent partial sums so the compiler can vectorise it.
[[gnu::always_inline]] inline float dot(const float* a, const float* b, int n) {
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) s[j] += a[i + j] * b[i + j];
  float r = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  for (; i < n; ++i) r += a[i] * b[i];
  return r;
}

inline void rms_norm(const float* x, const float* w, float* out, int n, float eps) {
  double ss = 0;
  for (int i = 0; i < n; ++i) ss += double(x[i]) * x[i];
  const float scale = float(1.0 / std::sqrt(ss / n + eps));
  for (int i = 0; i < n; ++i) out[i] = x[i] * scale * w[i];
}

// Rotates one head vector in place with the token's cos/sin table.
inline void apply_rope(float* x, const float* c, const float* s, int n_rot, bool neox) {
  const int half = n_rot / 2;
  if (neox) {
    for (int i = 0; i < half; ++i) {
      const float a = x[i], b = x[i + half];
      x[i] = a * c[i] - b * s[i];
      x[i + half] = a * s[i] + b * c[i];
    }
  } else {
    for (int i = 0; i < half; ++i) {
      const float a = x[2 * i], b = x[2 * i + 1];
      x[2 * i] = a * c[i] - b * s[i];
      x[2 * i + 1] = a * s[i] + b * c[i];
    }
  }
}

// Folds a block of keys (transposed: kt[d * KB + j]) and values [n, hd] into one query's
// online-softmax state (running max m, sum l, output o). Scores accumulate along the keys, so
// the inner loops vectorise without horizontal sums.
OMNI_MULTIVERSION void attend_block(const float* q, const float* kt, const float* vf, int n, int hd, float scale,
                                    float* sc, float& m, float& l, float* o) {
  constexpr int KB = LlamaWorkspace::kKeyBlock;
  for (int j = 0; j < n; ++j) sc[j] = 0.0f;
  int d = 0;
  for (; d + 4 <= hd; d += 4) {  // four key rows per pass: a quarter of the loads/stores of sc
    const float q0 = q[d] * scale, q1 = q[d + 1] * scale, q2 = q[d + 2] * scale, q3 = q[d + 3] * scale;
    const float *k0 = kt + size_t(d) * KB, *k1 = k0 + KB, *k2 = k1 + KB, *k3 = k2 + KB;
    for (int j = 0; j < n; ++j) sc[j] += (q0 * k0[j] + q1 * k1[j]) + (q2 * k2[j] + q3 * k3[j]);
  }
  for (; d < hd; ++d) {
    const float qd = q[d] * scale;
    const float* kr = kt + size_t(d) * KB;
    for (int j = 0; j < n; ++j) sc[j] += qd * kr[j];
  }
  float mx = m;
  for (int j = 0; j < n; ++j) mx = sc[j] > mx ? sc[j] : mx;
  const float rescale = m == -INFINITY ? 0.0f : exp_approx(m - mx);
  for (int e = 0; e < hd; ++e) o[e] *= rescale;
  float sum = 0;
  for (int j = 0; j < n; ++j) {
    sc[j] = exp_approx(sc[j] - mx);
    sum += sc[j];
  }
  int j = 0;
  for (; j + 4 <= n; j += 4) {  // four value rows per pass over o
    const float p0 = sc[j], p1 = sc[j + 1], p2 = sc[j + 2], p3 = sc[j + 3];
    const float *v0 = vf + size_t(j) * hd, *v1 = v0 + hd, *v2 = v1 + hd, *v3 = v2 + hd;
    for (int e = 0; e < hd; ++e) o[e] += (p0 * v0[e] + p1 * v1[e]) + (p2 * v2[e] + p3 * v3[e]);
  }
  for (; j < n; ++j) {
    const float p = sc[j];
    const float* vr = vf + size_t(j) * hd;
    for (int e = 0; e < hd; ++e) o[e] += p * vr[e];
  }
  m = mx;
  l = l * rescale + sum;
}

// kt[d * KB + j] = kf[j * hd + d] for a block of n keys, in 16 x 16 tiles: a tile's 16 source and
// 16 destination cache lines stay in L1 (row by row, every store of a key would touch hd lines
// KB floats apart, and the block does not fit in L1).
OMNI_MULTIVERSION void transpose_keys(const float* kf, float* kt, int n, int hd) {
  constexpr int KB = LlamaWorkspace::kKeyBlock, T = 16;
  for (int j0 = 0; j0 < n; j0 += T) {
    const int j1 = j0 + T < n ? j0 + T : n;
    for (int d0 = 0; d0 < hd; d0 += T) {
      const int d1 = d0 + T < hd ? d0 + T : hd;
      for (int d = d0; d < d1; ++d)
        for (int j = j0; j < j1; ++j) kt[size_t(d) * KB + j] = kf[size_t(j) * hd + d];
    }
  }
}

// One attention task of a thread: a chunk of queries t0..t1 of one KV head group, folded over key
// blocks with an online softmax. The scratch is the thread's slice of the workspace.
struct AttnTask {
  float *kf, *vf, *kt, *sc, *m, *l, *o;
  int hd, H, group, h0, t0, t1;
  AttnTask(LlamaWorkspace& ws, int thread, int hd_, int H_, int group_) : hd(hd_), H(H_), group(group_) {
    const auto s = ws.attn_scratch(thread, hd, H);
    kf = s.kf, vf = s.vf, kt = s.kt, sc = s.sc, m = s.m, l = s.l, o = s.o;
  }
  // Starts queries t0..t1 of KV head kvh (query heads kvh*group ...).
  void begin(int kvh, int t0_, int t1_) {
    h0 = kvh * group, t0 = t0_, t1 = t1_;
    const int n_state = (t1 - t0) * group;
    std::fill(m, m + n_state, -INFINITY);
    std::fill(l, l + n_state, 0.0f);
    std::fill(o, o + size_t(n_state) * hd, 0.0f);
  }
  // Folds the nb keys/values of slots b0.. (rows in kf/vf) into every query; query t sits at slot
  // first + t and sees keys up to it. q: the query rows [t][H][hd] (row t at q + t * H * hd).
  void fold(const float* q, int first, int b0, int nb, float scale) {
    transpose_keys(kf, kt, nb, hd);
    for (int t = t0; t < t1; ++t) {
      const int n_vis = std::min(nb, first + t + 1 - b0);  // causal
      if (n_vis <= 0) continue;
      for (int g = 0; g < group; ++g) {
        const int st = (t - t0) * group + g;
        attend_block(q + (size_t(t) * H + h0 + g) * hd, kt, vf, n_vis, hd, scale, sc, m[st], l[st], o + size_t(st) * hd);
      }
    }
  }
  // Writes the normalised outputs to out rows [t][H][hd] (row t at out + t * H * hd).
  void finish(float* out) const {
    for (int t = t0; t < t1; ++t)
      for (int g = 0; g < group; ++g) {
        const int st = (t - t0) * group + g;
        const float inv = 1.0f / l[st];
        float* dst = out + (size_t(t) * H + h0 + g) * hd;
        const float* os = o + size_t(st) * hd;
        for (int d = 0; d < hd; ++d) dst[d] = os[d] * inv;
      }
  }
};

// gate <- silu(gate) * up over n elements.
OMNI_MULTIVERSION void swiglu(float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) gate[i] = gate[i] / (1.0f + exp_approx(-gate[i])) * up[i];
}

void add_bias(float* y, const std::vector<float>& b, int n_tokens) {
  if (b.empty()) return;
  const size_t n = b.size();
  for (int t = 0; t < n_tokens; ++t)
    for (size_t i = 0; i < n; ++i) y[size_t(t) * n + i] += b[i];
}

}  // namespace
}  // namespace omni::models
