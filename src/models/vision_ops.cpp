// Float32 building blocks of the vision towers (see vision_ops.hpp). The hot loops are portable C++
// (GCC vector extensions and plain loops the compiler vectorises), compiled for AVX-512, AVX2 and
// baseline x86-64 and picked at load time by GCC's function multi-versioning; no ISA intrinsics.
#include "models/vision_ops.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

#include "kernels/kernels.hpp"
#include "omni/error.hpp"

namespace omni::models::vops {
namespace {

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VOPS_MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VOPS_MULTIVERSION
#endif
#define VOPS_INLINE [[gnu::always_inline]] inline

// 16 floats; on narrower instruction sets GCC splits the operations into 8- or 4-lane ones.
typedef float vfloat __attribute__((vector_size(64)));
constexpr int kLanes = 16;

VOPS_INLINE void vload(vfloat& v, const float* p) { std::memcpy(&v, p, sizeof v); }
VOPS_INLINE void vstore(float* p, const vfloat& v) { std::memcpy(p, &v, sizeof v); }

typedef int32_t vint __attribute__((vector_size(64)));

// exp(x) on 16 lanes, x clamped to [-87, 88]: 2^n · e^r with n = round(x / ln 2) and |r| <= ln(2)/2,
// e^r by its degree-6 Taylor polynomial (relative error < 2e-7). Written with vector extensions so
// that it is vectorised on every instruction set (and gives the same bits for every lane).
VOPS_INLINE void vexp(vfloat& x) {
  const vfloat lo = vfloat{} - 87.0f, hi = vfloat{} + 88.0f;
  x = x < lo ? lo : x;
  x = x > hi ? hi : x;
  const vfloat t = x * 1.4426950408889634f;
  const vfloat n = (t + 12582912.0f) - 12582912.0f;  // round to nearest (1.5 * 2^23 trick)
  const vfloat r = (t - n) * 0.6931471805599453f;
  vfloat p = vfloat{} + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const vint bits = (__builtin_convertvector(n, vint) + 127) << 23;
  vfloat scale;
  std::memcpy(&scale, &bits, sizeof scale);
  x = p * scale;
}

// erf(z) by Abramowitz & Stegun 7.1.26 (absolute error < 1.5e-7).
VOPS_INLINE void verf(vfloat& z) {
  vint zb;
  std::memcpy(&zb, &z, sizeof zb);
  const vint sign = zb & int32_t(0x80000000u);
  const vint ab = zb & 0x7fffffff;
  vfloat a;
  std::memcpy(&a, &ab, sizeof a);
  const vfloat t = 1.0f / (1.0f + 0.3275911f * a);
  vfloat p = vfloat{} + 1.061405429f;
  p = p * t - 1.453152027f;
  p = p * t + 1.421413741f;
  p = p * t - 0.284496736f;
  p = p * t + 0.254829592f;
  vfloat e = -(a * a);
  vexp(e);
  const vfloat y = 1.0f - p * t * e;
  vint yb;
  std::memcpy(&yb, &y, sizeof yb);
  yb |= sign;
  std::memcpy(&z, &yb, sizeof z);
}

// act(x); the three sigmoid-shaped ones as x · sigmoid(c(x)): 0.5(1 + tanh(u)) = sigmoid(2u).
template <Activation A>
VOPS_INLINE void vact(vfloat& x) {
  vfloat e;
  if constexpr (A == Activation::gelu_erf) {
    e = x * 0.70710678118654752f;
    verf(e);
    x = 0.5f * x * (1.0f + e);
    return;
  } else if constexpr (A == Activation::gelu_tanh) {
    e = -1.5957691216057308f * (x + 0.044715f * x * x * x);  // -2 · sqrt(2/pi) · (x + 0.044715 x^3)
  } else if constexpr (A == Activation::gelu_quick) {
    e = -1.702f * x;
  } else {
    e = -x;
  }
  vexp(e);
  x = x / (1.0f + e);
}

// Calls f(vector) on x[0 .. n) 16 floats at a time; a partial last vector is padded with zeros.
template <typename F>
VOPS_INLINE void for_vectors(float* x, int64_t n, F&& f) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    vfloat v;
    vload(v, x + i);
    f(v, i);
    vstore(x + i, v);
  }
  if (i < n) {
    float buf[kLanes] = {};
    std::memcpy(buf, x + i, sizeof(float) * size_t(n - i));
    vfloat v;
    vload(v, buf);
    f(v, i);
    vstore(buf, v);
    std::memcpy(x + i, buf, sizeof(float) * size_t(n - i));
  }
}

template <Activation A>
VOPS_MULTIVERSION void act_span(float* x, int64_t n) {
  for_vectors(x, n, [](vfloat& v, int64_t) __attribute__((always_inline)) { vact<A>(v); });
}
template <Activation A>
VOPS_MULTIVERSION void act_mul_span(float* g, const float* u, int64_t n) {
  for_vectors(g, n, [u, n](vfloat& v, int64_t i) __attribute__((always_inline)) {
    vact<A>(v);
    float ub[kLanes] = {};
    std::memcpy(ub, u + i, sizeof(float) * size_t(std::min<int64_t>(kLanes, n - i)));
    vfloat uv;
    vload(uv, ub);
    v *= uv;
  });
}
VOPS_MULTIVERSION void add_span(float* x, const float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

// Reductions over 16 independent lanes (vectorised without reassociating a single sum).
VOPS_INLINE float sum_lanes(const float* a, int64_t n) {
  float acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += a[i + l];
  float s = 0;
  for (; i < n; ++i) s += a[i];
  for (int l = 0; l < kLanes; ++l) s += acc[l];
  return s;
}
VOPS_INLINE float sum_sq_dev_lanes(const float* a, int64_t n, float mean) {
  float acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += (a[i + l] - mean) * (a[i + l] - mean);
  float s = 0;
  for (; i < n; ++i) s += (a[i] - mean) * (a[i] - mean);
  for (int l = 0; l < kLanes; ++l) s += acc[l];
  return s;
}
VOPS_INLINE float max_lanes(const float* a, int64_t n) {
  vfloat acc = vfloat{} - INFINITY;
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    vfloat v;
    vload(v, a + i);
    acc = v > acc ? v : acc;
  }
  float m = -INFINITY;
  for (; i < n; ++i) m = m > a[i] ? m : a[i];
  for (int l = 0; l < kLanes; ++l) m = m > acc[l] ? m : acc[l];
  return m;
}

VOPS_MULTIVERSION void layer_norm_rows(const float* x, int64_t n, int64_t width, const float* w, const float* b,
                                       float eps, float* out) {
  for (int64_t t = 0; t < n; ++t) {
    const float* r = x + t * width;
    float* o = out + t * width;
    const float mean = sum_lanes(r, width) / float(width);
    const float var = sum_sq_dev_lanes(r, width, mean) / float(width);
    const float inv = 1.0f / std::sqrt(var + eps);
    if (w && b)
      for (int64_t i = 0; i < width; ++i) o[i] = (r[i] - mean) * inv * w[i] + b[i];
    else if (w)
      for (int64_t i = 0; i < width; ++i) o[i] = (r[i] - mean) * inv * w[i];
    else if (b)
      for (int64_t i = 0; i < width; ++i) o[i] = (r[i] - mean) * inv + b[i];
    else
      for (int64_t i = 0; i < width; ++i) o[i] = (r[i] - mean) * inv;
  }
}

VOPS_MULTIVERSION void rms_norm_rows(const float* x, int64_t n, int64_t width, const float* w, float eps, float* out) {
  for (int64_t t = 0; t < n; ++t) {
    const float* r = x + t * width;
    float* o = out + t * width;
    const float inv = 1.0f / std::sqrt(sum_sq_dev_lanes(r, width, 0.0f) / float(width) + eps);
    if (w)
      for (int64_t i = 0; i < width; ++i) o[i] = r[i] * inv * w[i];
    else
      for (int64_t i = 0; i < width; ++i) o[i] = r[i] * inv;
  }
}

VOPS_MULTIVERSION void add_bias_rows(float* y, int64_t n, int64_t n_out, const float* bias) {
  for (int64_t t = 0; t < n; ++t)
    for (int64_t o = 0; o < n_out; ++o) y[t * n_out + o] += bias[o];
}

// Element-wise work in chunks of at least this many floats per task.
constexpr int64_t kElemGrain = 16384;

// Rows per task so that a task covers about kElemGrain floats.
int64_t row_grain(int64_t width) { return std::max<int64_t>(1, kElemGrain / std::max<int64_t>(1, width)); }

// ---------------------------------------------------------------------------------------------
// Attention. K is packed once per call transposed per head (kt[h][d][p], row stride ldk, zero
// padded so that whole tiles of kKTile keys can be read) and V per head with head_dim padded to
// whole vectors (vp[h][p][dhp]). A task is (window, head, block of kQBlock queries): S = Q Kᵀ
// into per-thread scratch, softmax rows (unnormalised, sums kept), O = P V scaled by 1/sum.

constexpr int kQBlock = 16;  // queries per task
constexpr int kRows = 4;     // queries per micro-tile
constexpr int kKTile = 64;   // keys per Q Kᵀ micro-tile (4 vectors)
constexpr int kMaxPvVecs = 5;  // output vectors per P V micro-tile (head_dim 80 in one pass)

struct AttnLayout {
  int64_t n_pos = 0, width = 0, ldk = 0;
  int n_head = 0, dh = 0, dhp = 0;
  float scale = 1.0f;
};

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// S[r][j0 .. j0+64) = q_r · k_j for kRows query rows (pointers) against one key tile of kt.
VOPS_INLINE void qk_tile(const float* const* qrow, const float* kt, int64_t ldk, int dh, float* s, int64_t lds) {
  vfloat acc[kRows][4] = {};
  for (int d = 0; d < dh; ++d) {
    vfloat kv[4];
    for (int c = 0; c < 4; ++c) vload(kv[c], kt + d * ldk + c * kLanes);
    for (int r = 0; r < kRows; ++r) {
      const float qv = qrow[r][d];
      for (int c = 0; c < 4; ++c) acc[r][c] += kv[c] * qv;
    }
  }
  for (int r = 0; r < kRows; ++r)
    for (int c = 0; c < 4; ++c) vstore(s + r * lds + c * kLanes, acc[r][c]);
}

// o[r][0 .. NV*16) = sum_j p[r][j] · v[j][0 .. NV*16) for kRows rows of P (stride lds).
template <int NV>
VOPS_INLINE void pv_tile(const float* p, int64_t lds, const float* v, int64_t ldv, int64_t len, float* o, int ldo) {
  vfloat acc[kRows][NV] = {};
  for (int64_t j = 0; j < len; ++j) {
    vfloat vv[NV];
    for (int c = 0; c < NV; ++c) vload(vv[c], v + j * ldv + c * kLanes);
    for (int r = 0; r < kRows; ++r) {
      const float pr = p[r * lds + j];
      for (int c = 0; c < NV; ++c) acc[r][c] += vv[c] * pr;
    }
  }
  for (int r = 0; r < kRows; ++r)
    for (int c = 0; c < NV; ++c) vstore(o + r * ldo + c * kLanes, acc[r][c]);
}

// One task: queries [w0 + i0, w0 + i0 + n_rows) of head h attend to keys [w0, w0 + len).
// scratch holds kQBlock * round_up(len, kKTile) floats.
VOPS_MULTIVERSION void attention_block(const AttnLayout& L, const float* q, const float* kt_head, const float* vp_head,
                                       int h, int64_t w0, int64_t len, int64_t i0, int n_rows, float* scratch,
                                       float* out) {
  const int64_t lds = round_up(len, kKTile);
  const int n_rows_padded = int(round_up(n_rows, kRows));
  const float* qrow[kQBlock];
  for (int r = 0; r < kQBlock; ++r)  // padding rows repeat the last query; their results are dropped
    qrow[r] = q + (w0 + i0 + std::min(r, n_rows - 1)) * L.width + int64_t(h) * L.dh;

  for (int64_t j0 = 0; j0 < len; j0 += kKTile)
    for (int r0 = 0; r0 < n_rows_padded; r0 += kRows)
      qk_tile(qrow + r0, kt_head + w0 + j0, L.ldk, L.dh, scratch + r0 * lds + j0, lds);

  float inv_sum[kQBlock];
  for (int r = 0; r < n_rows_padded; ++r) {
    float* s = scratch + r * lds;
    const float mx = max_lanes(s, len) * L.scale;
    vfloat sum{};
    for_vectors(s, len, [&](vfloat& v, int64_t j) __attribute__((always_inline)) {
      v = v * L.scale - mx;
      vexp(v);
      if (j + kLanes > len)  // zero the lanes past the row
        for (int l = int(len - j); l < kLanes; ++l) v[l] = 0.0f;
      sum += v;
    });
    float total = 0;
    for (int l = 0; l < kLanes; ++l) total += sum[l];
    inv_sum[r] = 1.0f / total;
  }

  alignas(64) float o[kRows * kMaxPvVecs * kLanes];
  const int ldo = kMaxPvVecs * kLanes;
  for (int r0 = 0; r0 < n_rows_padded; r0 += kRows) {
    const float* p = scratch + r0 * lds;
    for (int c0 = 0; c0 < L.dhp; c0 += kMaxPvVecs * kLanes) {
      const int nv = std::min(kMaxPvVecs, (L.dhp - c0) / kLanes);
      const float* v = vp_head + w0 * L.dhp + c0;
      switch (nv) {
        case 1: pv_tile<1>(p, lds, v, L.dhp, len, o, ldo); break;
        case 2: pv_tile<2>(p, lds, v, L.dhp, len, o, ldo); break;
        case 3: pv_tile<3>(p, lds, v, L.dhp, len, o, ldo); break;
        case 4: pv_tile<4>(p, lds, v, L.dhp, len, o, ldo); break;
        default: pv_tile<5>(p, lds, v, L.dhp, len, o, ldo); break;
      }
      const int ncol = std::min(nv * kLanes, L.dh - c0);
      for (int r = 0; r < kRows && r0 + r < n_rows; ++r) {
        float* dst = out + (w0 + i0 + r0 + r) * L.width + int64_t(h) * L.dh + c0;
        const float inv = inv_sum[r0 + r];
        for (int c = 0; c < ncol; ++c) dst[c] = o[r * ldo + c] * inv;
      }
    }
  }
}

// kt[h][d][p] = k[p][h*dh + d] and vp[h][p][0..dh) = v[p][h*dh ..] for the positions [p0, p1).
VOPS_MULTIVERSION void pack_kv(const AttnLayout& L, const float* k, const float* v, int h, int64_t p0, int64_t p1,
                               float* kt, float* vp) {
  float* kth = kt + int64_t(h) * L.dh * L.ldk;
  float* vph = vp + int64_t(h) * L.n_pos * L.dhp;
  constexpr int64_t kB = 16;
  for (int64_t pb = p0; pb < p1; pb += kB) {
    const int64_t pe = std::min(p1, pb + kB);
    for (int d = 0; d < L.dh; ++d)
      for (int64_t p = pb; p < pe; ++p) kth[d * L.ldk + p] = k[p * L.width + int64_t(h) * L.dh + d];
  }
  for (int64_t p = p0; p < p1; ++p) {
    std::memcpy(vph + p * L.dhp, v + p * L.width + int64_t(h) * L.dh, sizeof(float) * size_t(L.dh));
    std::fill(vph + p * L.dhp + L.dh, vph + (p + 1) * L.dhp, 0.0f);
  }
}

}  // namespace

void linear(ThreadPool& pool, const gguf::TensorInfo& w, const float* bias, const float* x, int64_t n, float* y) {
  const int64_t k = w.ne[0], n_out = w.ne[1];
  kernels::matmul(pool, w.type, w.data, n_out, k, x, n, y);
  if (bias)
    pool.parallel_for(n, row_grain(n_out), [&](int64_t b, int64_t e, int) {
      add_bias_rows(y + b * n_out, e - b, n_out, bias);
    });
}

void layer_norm(ThreadPool& pool, const float* x, int64_t n, int64_t width, const float* w, const float* b, float eps,
                float* out) {
  pool.parallel_for(n, row_grain(width), [&](int64_t rb, int64_t re, int) {
    layer_norm_rows(x + rb * width, re - rb, width, w, b, eps, out + rb * width);
  });
}

void rms_norm(ThreadPool& pool, const float* x, int64_t n, int64_t width, const float* w, float eps, float* out) {
  pool.parallel_for(n, row_grain(width), [&](int64_t rb, int64_t re, int) {
    rms_norm_rows(x + rb * width, re - rb, width, w, eps, out + rb * width);
  });
}

void activate(ThreadPool& pool, Activation act, float* x, int64_t n) {
  pool.parallel_for(n, kElemGrain, [&](int64_t b, int64_t e, int) {
    switch (act) {
      case Activation::gelu_tanh: act_span<Activation::gelu_tanh>(x + b, e - b); break;
      case Activation::gelu_erf: act_span<Activation::gelu_erf>(x + b, e - b); break;
      case Activation::gelu_quick: act_span<Activation::gelu_quick>(x + b, e - b); break;
      case Activation::silu: act_span<Activation::silu>(x + b, e - b); break;
    }
  });
}

void activate_mul(ThreadPool& pool, Activation act, float* gate, const float* up, int64_t n) {
  pool.parallel_for(n, kElemGrain, [&](int64_t b, int64_t e, int) {
    switch (act) {
      case Activation::gelu_tanh: act_mul_span<Activation::gelu_tanh>(gate + b, up + b, e - b); break;
      case Activation::gelu_erf: act_mul_span<Activation::gelu_erf>(gate + b, up + b, e - b); break;
      case Activation::gelu_quick: act_mul_span<Activation::gelu_quick>(gate + b, up + b, e - b); break;
      case Activation::silu: act_mul_span<Activation::silu>(gate + b, up + b, e - b); break;
    }
  });
}

void add(ThreadPool& pool, float* x, const float* y, int64_t n) {
  pool.parallel_for(n, kElemGrain, [&](int64_t b, int64_t e, int) { add_span(x + b, y + b, e - b); });
}

void attention(ThreadPool& pool, const float* q, const float* k, const float* v, int64_t n_pos, int n_head,
               int head_dim, float* out, const std::vector<int64_t>& window_starts, std::vector<float>* scratch) {
  if (n_pos <= 0 || n_head <= 0 || head_dim <= 0) return;
  AttnLayout L;
  L.n_pos = n_pos;
  L.n_head = n_head;
  L.dh = head_dim;
  L.dhp = int(round_up(head_dim, kLanes));
  L.width = int64_t(n_head) * head_dim;
  L.ldk = n_pos + kKTile;  // the last tile of a window may read up to kKTile - 1 keys past it
  L.scale = 1.0f / std::sqrt(float(head_dim));

  std::vector<int64_t> bounds = window_starts.empty() ? std::vector<int64_t>{0} : window_starts;
  bounds.push_back(n_pos);
  struct Task {
    int64_t w0, len, i0;
    int h, n_rows;
  };
  std::vector<Task> tasks;
  int64_t max_len = 0;
  for (size_t w = 0; w + 1 < bounds.size(); ++w) {
    const int64_t w0 = bounds[w], len = bounds[w + 1] - w0;
    if (w0 < 0 || len <= 0 || bounds[w + 1] > n_pos) continue;
    max_len = std::max(max_len, len);
    for (int h = 0; h < n_head; ++h)
      for (int64_t i0 = 0; i0 < len; i0 += kQBlock)
        tasks.push_back({w0, len, i0, h, int(std::min<int64_t>(kQBlock, len - i0))});
  }

  // One buffer: packed K, packed V, then a score block per thread (each part 64-byte aligned).
  const size_t kt_size = round_up(int64_t(n_head) * head_dim * L.ldk, kLanes);
  const size_t vp_size = round_up(int64_t(n_head) * n_pos * L.dhp, kLanes);
  const size_t sc_size = round_up(int64_t(kQBlock) * round_up(max_len, kKTile), kLanes);
  const size_t total = kt_size + vp_size + size_t(pool.n_threads()) * sc_size + kLanes;
  std::vector<float> local;
  std::vector<float>& buf = scratch ? *scratch : local;
  if (buf.size() < total) buf.resize(total);
  float* base = buf.data();
  base += (kLanes - (reinterpret_cast<uintptr_t>(base) / sizeof(float)) % kLanes) % kLanes;
  float* kt = base;
  float* vp = kt + kt_size;
  float* scores = vp + vp_size;
  constexpr int64_t kPackBlock = 256;  // positions per packing task
  const int64_t n_pblocks = (n_pos + kPackBlock - 1) / kPackBlock;
  pool.parallel_for(int64_t(n_head) * n_pblocks, 1, [&](int64_t b, int64_t e, int) {
    for (int64_t t = b; t < e; ++t) {
      const int h = int(t / n_pblocks);
      const int64_t p0 = (t % n_pblocks) * kPackBlock;
      pack_kv(L, k, v, h, p0, std::min(n_pos, p0 + kPackBlock), kt, vp);
      if (p0 + kPackBlock >= n_pos)  // zero the padding columns of this head
        for (int d = 0; d < head_dim; ++d)
          std::fill_n(kt + (int64_t(h) * head_dim + d) * L.ldk + n_pos, L.ldk - n_pos, 0.0f);
    }
  });

  std::atomic<size_t> next{0};
  pool.run([&](int thread, int) {
    float* sc = scores + size_t(thread) * sc_size;
    for (size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < tasks.size();) {
      const Task& t = tasks[i];
      attention_block(L, q, kt + int64_t(t.h) * head_dim * L.ldk, vp + int64_t(t.h) * n_pos * L.dhp, t.h, t.w0, t.len,
                      t.i0, t.n_rows, sc, out);
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
