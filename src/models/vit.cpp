// The CLIP / SigLIP vision transformer of the `mlp` (LLaVA) and `idefics3` (SmolVLM) mmproj
// families, with their projectors; plus the pre-norm block and patch embedding that the Qwen
// tower reuses. Hugging Face semantics (class token first, every block, erf-GELU projector).
#include <cmath>

#include "kernels/kernels.hpp"
#include "models/mmproj.hpp"
#include "models/vision_ops.hpp"
#include "omni/error.hpp"

namespace omni::models {

static const float* f32_or_null(const VisionTensor& t) { return t ? t.f32.data() : nullptr; }

std::vector<float> patch_embed(const VisionModel& m, const VisionTensor& w, ThreadPool& pool, const vision::PixelImage& px) {
  const int P = m.hparams().patch_size, E = m.hparams().n_embd;
  const std::vector<float> patches = vops::im2patches(px.planar.data(), px.width, px.height, P);
  const int64_t n = int64_t(patches.size()) / (3 * P * P);
  const int64_t k = 3 * int64_t(P) * P;
  if (k % block_size(w.info->type))
    fail(ErrorCode::unsupported, "patch embedding of type ", dtype_name(w.info->type), " needs rows of a multiple of ",
         block_size(w.info->type), " elements, has ", k);
  std::vector<float> x(size_t(n) * E);
  kernels::matmul(pool, w.info->type, w.info->data, E, k, patches.data(), n, x.data());  // [n, E]
  return x;
}

static vops::Activation ffn_activation(FfnActivation a) {
  switch (a) {
    case FfnActivation::silu: return vops::Activation::silu;
    case FfnActivation::gelu_tanh: return vops::Activation::gelu_tanh;
    case FfnActivation::gelu_quick: break;
  }
  return vops::Activation::gelu_quick;
}

void vision_block(const VisionModel& m, const VisionLayer& L, ThreadPool& pool, std::vector<float>& x, int64_t n_pos,
                  const BlockOptions& opt) {
  const auto& hp = m.hparams();
  const int E = hp.n_embd, H = hp.n_head, Dh = E / H;
  const int64_t n_ff = L.up_w.info->ne[1];
  const size_t n_x = x.size(), n_up = size_t(n_pos * n_ff);
  BlockScratch local;
  BlockScratch& s = opt.scratch ? *opt.scratch : local;
  // Every stage overwrites its output in full: buffers only grow (zero-filled once).
  auto buf = [](std::vector<float>& b, size_t n) {
    if (b.size() < n) b.resize(n);
    return b.data();
  };
  float *h = buf(s.h, n_x), *q = buf(s.q, n_x), *k = buf(s.k, n_x), *v = buf(s.v, n_x), *o = buf(s.o, n_x);
  auto norm = [&](float* out, const VisionTensor& w, const VisionTensor& b) {
    if (opt.rms_norm) vops::rms_norm(pool, x.data(), n_pos, E, f32_or_null(w), hp.eps, out);
    else vops::layer_norm(pool, x.data(), n_pos, E, f32_or_null(w), f32_or_null(b), hp.eps, out);
  };
  norm(h, L.ln1_w, L.ln1_b);
  vops::linear(pool, *L.q_w.info, f32_or_null(L.q_b), h, n_pos, q);
  vops::linear(pool, *L.k_w.info, f32_or_null(L.k_b), h, n_pos, k);
  vops::linear(pool, *L.v_w.info, f32_or_null(L.v_b), h, n_pos, v);
  if (opt.rope) {
    opt.rope(q, n_pos, H, Dh, opt.rope_ctx);
    opt.rope(k, n_pos, H, Dh, opt.rope_ctx);
  }
  vops::attention(pool, q, k, v, n_pos, H, Dh, o, opt.window_starts, &s.attention);
  vops::linear(pool, *L.o_w.info, f32_or_null(L.o_b), o, n_pos, h);
  vops::add(pool, x.data(), h, int64_t(n_x));

  norm(h, L.ln2_w, L.ln2_b);
  float* up = buf(s.up, n_up);
  vops::linear(pool, *L.up_w.info, f32_or_null(L.up_b), h, n_pos, up);
  const vops::Activation act = ffn_activation(hp.act);
  if (L.gate_w) {
    float* gate = buf(s.gate, n_up);
    vops::linear(pool, *L.gate_w.info, f32_or_null(L.gate_b), h, n_pos, gate);
    vops::activate_mul(pool, act, gate, up, int64_t(n_up));  // act(gate) * up
    up = gate;
  } else {
    vops::activate(pool, act, up, int64_t(n_up));
  }
  vops::linear(pool, *L.down_w.info, f32_or_null(L.down_b), up, n_pos, h);
  vops::add(pool, x.data(), h, int64_t(n_x));
}

VisionEmbedding encode_vit(const VisionModel& m, ThreadPool& pool, const vision::PixelImage& px) {
  const auto& hp = m.hparams();
  const int E = hp.n_embd;
  std::vector<float> patches = patch_embed(m, m.patch_w, pool, px);  // [n_p, E]
  const int64_t n_p = int64_t(patches.size()) / E;
  const bool cls = bool(m.class_embd);
  const int64_t n_pos = n_p + (cls ? 1 : 0);
  std::vector<float> x(size_t(n_pos) * E);
  if (cls) std::copy(m.class_embd.f32.begin(), m.class_embd.f32.end(), x.begin());
  std::copy(patches.begin(), patches.end(), x.begin() + (cls ? E : 0));
  for (int64_t t = 0; t < n_pos; ++t)
    for (int e = 0; e < E; ++e) {
      float& v = x[size_t(t * E + e)];
      if (m.patch_b && (!cls || t > 0)) v += m.patch_b.f32[size_t(e)];
      v += m.pos_embd.f32[size_t(t * E + e)];
    }
  if (m.pre_ln_w)
    vops::layer_norm(pool, x.data(), n_pos, E, m.pre_ln_w.f32.data(), f32_or_null(m.pre_ln_b), hp.eps, x.data());
  BlockScratch scratch;
  BlockOptions opt;
  opt.scratch = &scratch;
  for (const auto& L : m.layers) vision_block(m, L, pool, x, n_pos, opt);
  if (m.post_ln_w)
    vops::layer_norm(pool, x.data(), n_pos, E, m.post_ln_w.f32.data(), f32_or_null(m.post_ln_b), hp.eps, x.data());
  if (cls) x.erase(x.begin(), x.begin() + E);  // drop the class token: [n_p, E]

  VisionEmbedding out;
  const int D = hp.n_embd_out;
  if (hp.projector == ProjectorType::idefics3) {
    // Pixel shuffle: token (i, j) of the (g/s)^2 grid gathers rows (i*s+dy, j*s+dx), dy outer, dx, then E.
    const int g = hp.image_size / hp.patch_size, s = hp.scale_factor, n = g / s;
    std::vector<float> feat(size_t(n) * n * s * s * E);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j)
        for (int dy = 0; dy < s; ++dy)
          for (int dx = 0; dx < s; ++dx) {
            const float* src = &x[(size_t(i * s + dy) * g + (j * s + dx)) * E];
            float* dst = &feat[(size_t(i) * n + j) * s * s * E + (size_t(dy) * s + dx) * E];
            std::copy(src, src + E, dst);
          }
    out.n_tokens = n * n;
    out.grid_x = out.grid_y = n;
    out.data.resize(size_t(out.n_tokens) * D);
    vops::linear(pool, *m.mm_fc_w.info, nullptr, feat.data(), out.n_tokens, out.data.data());
    return out;
  }
  // mlp projector: mm.2 · GELU(mm.0 · x + b0) + b2
  const int64_t mid = m.mm0_w.info->ne[1];
  std::vector<float> h(size_t(n_p * mid));
  vops::linear(pool, *m.mm0_w.info, f32_or_null(m.mm0_b), x.data(), n_p, h.data());
  vops::activate(pool, vops::Activation::gelu_erf, h.data(), int64_t(h.size()));
  out.n_tokens = int(n_p);
  out.grid_x = out.grid_y = hp.image_size / hp.patch_size;
  if (!m.mm2_w) {
    out.data = std::move(h);
    return out;
  }
  out.data.resize(size_t(n_p) * D);
  vops::linear(pool, *m.mm2_w.info, f32_or_null(m.mm2_b), h.data(), n_p, out.data.data());
  return out;
}

}  // namespace omni::models
