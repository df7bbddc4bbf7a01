// The Qwen2-VL / Qwen2.5-VL vision tower: two temporal patch-conv slices, 2x2-block patch order,
// 2-D NeoX RoPE (y on the first quarter of pairs, x on the second), window attention over 4x4
// merged cells with full attention every n_wa_pattern-th layer (2.5), RMSNorm + SwiGLU (2.5) or
// LayerNorm + quick-GELU (2), and the 2x2 merger (ln_q -> concat 4 -> linear -> GELU -> linear).
#include <cmath>
#include <numeric>

#include "models/mmproj.hpp"
#include "models/vision_ops.hpp"

namespace omni::models {
namespace {

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define QWEN_MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define QWEN_MULTIVERSION
#endif

// cos / sin of every sequence position's rotation angles, [n_pos][head_dim/2], computed once per
// image: pair k < head_dim/4 turns by the patch row y, the next head_dim/4 by the column x, each
// with theta_j = 10000^(-j / (head_dim/4)).
struct Rope2D {
  int half = 0;
  std::vector<float> cos, sin;
};

Rope2D rope_tables(const std::vector<float>& pos_y, const std::vector<float>& pos_x, int head_dim) {
  Rope2D r;
  r.half = head_dim / 2;
  const int quarter = head_dim / 4;
  std::vector<double> inv(static_cast<size_t>(quarter));
  for (int j = 0; j < quarter; ++j) inv[size_t(j)] = double(float(std::pow(10000.0, -double(j) / quarter)));
  r.cos.resize(pos_y.size() * size_t(r.half));
  r.sin.resize(r.cos.size());
  for (size_t t = 0; t < pos_y.size(); ++t)
    for (int k = 0; k < r.half; ++k) {
      const float p = k < quarter ? pos_y[t] : pos_x[t];
      const double ang = double(p) * inv[size_t(k % quarter)];
      r.cos[t * size_t(r.half) + size_t(k)] = float(std::cos(ang));
      r.sin[t * size_t(r.half) + size_t(k)] = float(std::sin(ang));
    }
  return r;
}

// Rotates [n_pos, n_head*head_dim] in place: pairs (k, k + head_dim/2) by the position's angles.
QWEN_MULTIVERSION void rope_2d(float* qk, int64_t n_pos, int n_head, int head_dim, const void* ctx) {
  const auto& rope = *static_cast<const Rope2D*>(ctx);
  const int half = head_dim / 2;
  for (int64_t t = 0; t < n_pos; ++t) {
    const float* c = &rope.cos[size_t(t) * size_t(half)];
    const float* s = &rope.sin[size_t(t) * size_t(half)];
    for (int h = 0; h < n_head; ++h) {
      float* v = qk + (t * n_head + h) * head_dim;
      for (int k = 0; k < half; ++k) {
        const float a = v[k], b = v[k + half];
        v[k] = a * c[k] - b * s[k];
        v[k + half] = a * s[k] + b * c[k];
      }
    }
  }
}

}  // namespace

VisionEmbedding encode_qwen2vl(const VisionModel& m, ThreadPool& pool, const vision::PixelImage& px) {
  const auto& hp = m.hparams();
  const int E = hp.n_embd, P = hp.patch_size;
  const int pw = px.width / P, ph = px.height / P, mw = pw / 2, mh = ph / 2;
  const int64_t n_pos = int64_t(pw) * ph;

  // Patch embedding (two temporal slices of one still frame), raster order [n_pos, E].
  std::vector<float> raster = patch_embed(m, m.patch_w, pool, px);
  const std::vector<float> second = patch_embed(m, m.patch_w1, pool, px);
  for (size_t i = 0; i < raster.size(); ++i) raster[i] += second[i];

  // Sequence order: merged tokens (2x2 patch groups), windows of 4x4 merged cells for Qwen2.5,
  // each window row-major inside; merged_order[g] = merged raster index of group g.
  const bool windowed = hp.projector == ProjectorType::qwen25vl && hp.n_wa_pattern > 0;
  const int win = windowed ? 4 : std::max(mw, mh);
  std::vector<int64_t> merged_order, window_starts;
  for (int wy = 0; wy < mh; wy += win)
    for (int wx = 0; wx < mw; wx += win) {
      window_starts.push_back(int64_t(merged_order.size()) * 4);
      for (int y = wy; y < std::min(wy + win, mh); ++y)
        for (int x = wx; x < std::min(wx + win, mw); ++x) merged_order.push_back(int64_t(y) * mw + x);
    }
  std::vector<float> x(size_t(n_pos) * E);
  std::vector<float> pos_y(static_cast<size_t>(n_pos)), pos_x(static_cast<size_t>(n_pos));
  for (size_t g = 0; g < merged_order.size(); ++g) {
    const int my = int(merged_order[g] / mw), mx = int(merged_order[g] % mw);
    for (int sub = 0; sub < 4; ++sub) {  // (0,0) (0,1) (1,0) (1,1)
      const int py = my * 2 + sub / 2, pxx = mx * 2 + sub % 2;
      const size_t seq = g * 4 + size_t(sub);
      std::copy_n(&raster[(size_t(py) * pw + pxx) * E], E, &x[seq * E]);
      pos_y[seq] = float(py);
      pos_x[seq] = float(pxx);
    }
  }
  const Rope2D rope = rope_tables(pos_y, pos_x, E / hp.n_head);

  BlockOptions full;
  full.rms_norm = hp.projector == ProjectorType::qwen25vl;
  full.rope = rope_2d;
  full.rope_ctx = &rope;
  BlockScratch scratch;
  full.scratch = &scratch;
  BlockOptions windowed_opt = full;
  windowed_opt.window_starts = window_starts;
  for (int il = 0; il < hp.n_layer; ++il) {
    const bool full_attention = !windowed || (il + 1) % hp.n_wa_pattern == 0;
    vision_block(m, m.layers[size_t(il)], pool, x, n_pos, full_attention ? full : windowed_opt);
  }

  // Merger: ln_q per patch, then each group of 4 patches is one 4E vector.
  if (full.rms_norm) vops::rms_norm(pool, x.data(), n_pos, E, m.post_ln_w.f32.data(), hp.eps, x.data());
  else
    vops::layer_norm(pool, x.data(), n_pos, E, m.post_ln_w.f32.data(), m.post_ln_b ? m.post_ln_b.f32.data() : nullptr,
                     hp.eps, x.data());
  const int64_t n_merged = n_pos / 4;
  const int64_t mid = m.mm0_w.info->ne[1];
  std::vector<float> h(size_t(n_merged * mid));
  vops::linear(pool, *m.mm0_w.info, m.mm0_b.f32.data(), x.data(), n_merged, h.data());
  vops::activate(pool, vops::Activation::gelu_erf, h.data(), int64_t(h.size()));
  const int D = hp.n_embd_out;
  std::vector<float> y(size_t(n_merged) * D);
  vops::linear(pool, *m.mm2_w.info, m.mm2_b.f32.data(), h.data(), n_merged, y.data());

  VisionEmbedding out;  // back to raster order over the merged grid
  out.n_tokens = int(n_merged);
  out.grid_x = mw;
  out.grid_y = mh;
  out.data.resize(y.size());
  for (size_t g = 0; g < merged_order.size(); ++g)
    std::copy_n(&y[g * D], D, &out.data[size_t(merged_order[g]) * D]);
  return out;
}

}  // namespace omni::models
