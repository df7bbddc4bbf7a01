// llama / qwen2 / qwen3 decoder: loading and validating GGUF weights, RoPE (pairwise or NeoX, with
// rope_freqs, linear and YaRN scaling), grouped-query attention over the KV cache, SwiGLU FFN.
#include "models/llama.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "formats/gguf.hpp"
#include "kernels/kernels.hpp"
#include "models/llama_ops.hpp"
#include "omni/error.hpp"

namespace omni::models {

namespace {

std::vector<float> to_f32(const gguf::TensorInfo& t) {
  std::vector<float> v(size_t(t.n_elements()));
  kernels::dequantize_row(t.type, t.data, v.data(), t.n_elements());
  return v;
}

std::string shape_of(std::initializer_list<int64_t> s) {
  std::string r = "[";
  for (int64_t x : s) r += (r.size() > 1 ? ", " : "") + std::to_string(x);
  return r + "]";
}

// Finds a tensor and checks its shape (ne[0] first); required tensors throw when missing.
const gguf::TensorInfo* get_tensor(const gguf::File& f, const std::string& name,
                                   std::initializer_list<int64_t> shape, bool required) {
  const gguf::TensorInfo* t = f.find_tensor(name);
  if (!t) {
    if (required) fail(ErrorCode::not_found, f.path(), ": missing tensor '", name, "' (expected shape ", shape_of(shape), ")");
    return nullptr;
  }
  bool ok = t->n_dims <= int(shape.size()) || t->n_dims == 0;
  int i = 0;
  for (int64_t d : shape) ok = ok && t->ne[i++] == d;
  for (; i < 4; ++i) ok = ok && t->ne[i] == 1;
  if (!ok) fail(ErrorCode::invalid_file, f.path(), ": tensor '", name, "' has shape ", t->shape_string(), ", expected ", shape_of(shape));
  const auto tr = dtype_traits(uint32_t(t->type));
  if (!tr || !tr->supported) fail(ErrorCode::unsupported, f.path(), ": tensor '", name, "' has unsupported type ", tr && tr->name ? tr->name : "?");
  if (t->ne[0] % block_size(t->type) != 0)
    fail(ErrorCode::invalid_file, f.path(), ": tensor '", name, "' row of ", t->ne[0], " is not a multiple of the ", dtype_name(t->type), " block");
  return t;
}

LlamaWeight weight(const gguf::File& f, const std::string& name, int64_t n_in, int64_t n_out, bool required = true) {
  const gguf::TensorInfo* t = get_tensor(f, name, {n_in, n_out}, required);
  if (!t) return {};
  return LlamaWeight{t->data, t->type, n_in, n_out};
}

std::vector<float> vec(const gguf::File& f, const std::string& name, int64_t n, bool required = true) {
  const gguf::TensorInfo* t = get_tensor(f, name, {n}, required);
  return t ? to_f32(*t) : std::vector<float>();
}

}  // namespace

// ---------------------------------------------------------------- KV cache and workspace

LlamaKvCache::LlamaKvCache(const LlamaHParams& hp, int n_ctx, DType type)
    : n_ctx_(n_ctx), n_head_kv_(hp.n_head_kv), type_(type), row_(row_bytes(type, hp.head_dim)) {
  if (type != DType::f16 && type != DType::f32) fail(ErrorCode::unsupported, "KV cache type ", dtype_name(type), " (use f16 or f32)");
  if (n_ctx <= 0) fail(ErrorCode::invalid_argument, "context length must be positive, got ", n_ctx);
  const size_t n = size_t(hp.n_layer) * size_t(hp.n_head_kv) * size_t(n_ctx) * row_;
  k_.assign(n, 0);
  v_.assign(n, 0);
}

LlamaWorkspace::LlamaWorkspace(const LlamaHParams& hp, int n_batch, int n_ctx, int n_threads)
    : n_batch_(n_batch), n_ctx_(n_ctx), n_threads_(n_threads) {
  const size_t nb = size_t(n_batch), hd = size_t(hp.head_dim);
  x.resize(nb * hp.n_embd);
  xn.resize(nb * hp.n_embd);
  out_in.resize(nb * hp.n_embd);
  q.resize(nb * hp.n_head * hd);
  attn.resize(nb * hp.n_head * hd);
  k.resize(nb * hp.n_head_kv * hd);
  v.resize(nb * hp.n_head_kv * hd);
  gate.resize(size_t(std::min(n_batch, kFfnChunk)) * hp.n_ff);
  up.resize(gate.size());
  rope_cos.resize(nb * size_t(std::max(1, hp.n_rot / 2)));
  rope_sin.resize(rope_cos.size());
  const size_t nt = size_t(n_threads), states = size_t(kQueryChunk) * size_t(hp.n_head);
  att_k.resize(nt * kKeyBlock * hd);
  att_v.resize(att_k.size());
  att_kt.resize(att_k.size());
  att_s.resize(nt * kKeyBlock);
  att_m.resize(nt * states);
  att_l.resize(nt * states);
  att_o.resize(nt * states * hd);
}

// ---------------------------------------------------------------- loading

bool LlamaModel::supports_architecture(const std::string& arch) {
  return arch == "llama" || arch == "qwen2" || arch == "qwen3" || arch == "qwen2vl";
}

LlamaModel LlamaModel::load(const gguf::File& f) {
  LlamaModel m;
  LlamaHParams& hp = m.hp_;
  hp.arch = f.get_string("general.architecture", "");
  if (hp.arch.empty()) fail(ErrorCode::invalid_file, f.path(), ": general.architecture is missing");
  if (!supports_architecture(hp.arch))
    fail(ErrorCode::unsupported, f.path(), ": unsupported architecture '", hp.arch, "' (supported: llama, qwen2, qwen3, qwen2vl)");
  const std::string a = hp.arch + ".";
  auto need_int = [&](const std::string& key) {
    const int64_t v = f.get(a + key).as_int(a + key);
    if (v <= 0 || v > (int64_t(1) << 24)) fail(ErrorCode::invalid_file, f.path(), ": ", a + key, " = ", v, " is out of range");
    return int(v);
  };
  hp.n_embd = need_int("embedding_length");
  hp.n_layer = need_int("block_count");
  hp.n_ff = need_int("feed_forward_length");
  hp.n_head = need_int("attention.head_count");
  hp.n_head_kv = f.find(a + "attention.head_count_kv") ? need_int("attention.head_count_kv") : hp.n_head;
  hp.n_ctx_train = f.find(a + "context_length") ? need_int("context_length") : 4096;
  if (hp.n_head % hp.n_head_kv != 0)
    fail(ErrorCode::invalid_file, f.path(), ": head_count ", hp.n_head, " is not a multiple of head_count_kv ", hp.n_head_kv);
  hp.head_dim = f.find(a + "attention.key_length") ? need_int("attention.key_length") : hp.n_embd / hp.n_head;
  if (f.find(a + "attention.value_length") && need_int("attention.value_length") != hp.head_dim)
    fail(ErrorCode::unsupported, f.path(), ": attention.value_length differs from key_length");
  if (hp.head_dim <= 0 || hp.head_dim % 2) fail(ErrorCode::invalid_file, f.path(), ": head dimension ", hp.head_dim, " must be even");
  hp.n_rot = f.find(a + "rope.dimension_count") ? need_int("rope.dimension_count") : hp.head_dim;
  if (hp.n_rot > hp.head_dim || hp.n_rot % 2) fail(ErrorCode::invalid_file, f.path(), ": rope.dimension_count ", hp.n_rot, " is invalid");
  hp.rms_eps = float(f.get_float(a + "attention.layer_norm_rms_epsilon", 1e-6));
  hp.rope_base = float(f.get_float(a + "rope.freq_base", 10000.0));
  hp.rope_neox = hp.arch != "llama";
  if (hp.arch == "qwen2vl") {  // Qwen2-VL / Qwen2.5-VL text model: qwen2 weights + M-RoPE sections
    const std::string key = a + "rope.dimension_sections";
    const auto& sec = f.get(key).as_array(key);
    if (sec.size() < 3 || sec.size() > 4) fail(ErrorCode::invalid_file, f.path(), ": ", key, " must have 3 or 4 values");
    int sum = 0;
    for (size_t i = 0; i < sec.size(); ++i) {
      const int64_t v = sec[i].as_int(key);
      if (v < 0) fail(ErrorCode::invalid_file, f.path(), ": ", key, " has a negative section");
      hp.mrope_sections[i] = int(v);
      sum += int(v);
    }
    if (sum <= 0 || sum > hp.n_rot / 2)
      fail(ErrorCode::invalid_file, f.path(), ": ", key, " sums to ", sum, ", must be 1..", hp.n_rot / 2, " (rotation pairs)");
    hp.mrope = true;
  }
  const std::string scaling = f.get_string(a + "rope.scaling.type", "");
  double factor = f.get_float(a + "rope.scaling.factor", 0.0);
  if (factor == 0.0 && f.find(a + "rope.scale_linear")) factor = f.get_float(a + "rope.scale_linear", 1.0);
  if (scaling == "linear" || (scaling.empty() && factor > 0 && factor != 1.0)) hp.rope_scaling = RopeScaling::linear;
  else if (scaling == "yarn") hp.rope_scaling = RopeScaling::yarn;
  else if (!scaling.empty() && scaling != "none") fail(ErrorCode::unsupported, f.path(), ": unsupported rope.scaling.type '", scaling, "'");
  if (hp.rope_scaling != RopeScaling::none && factor > 0) hp.rope_freq_scale = float(1.0 / factor);
  hp.n_ctx_orig = int(f.get_int(a + "rope.scaling.original_context_length", hp.n_ctx_train));
  if (hp.rope_scaling == RopeScaling::yarn) {
    hp.yarn_ext_factor = 1.0f;
    hp.yarn_attn_factor = float(f.get_float(a + "rope.scaling.attn_factor", 1.0));
    hp.yarn_beta_fast = float(f.get_float(a + "rope.scaling.yarn_beta_fast", 32.0));
    hp.yarn_beta_slow = float(f.get_float(a + "rope.scaling.yarn_beta_slow", 1.0));
  }

  const gguf::Value& toks = f.get("tokenizer.ggml.tokens");
  hp.n_vocab = int(toks.as_array("tokenizer.ggml.tokens").size());
  const gguf::TensorInfo* emb = f.find_tensor("token_embd.weight");
  if (!emb) fail(ErrorCode::not_found, f.path(), ": missing tensor 'token_embd.weight'");
  if (emb->ne[0] == hp.n_embd && emb->ne[1] != hp.n_vocab)
    fail(ErrorCode::invalid_file, f.path(), ": vocabulary has ", hp.n_vocab, " tokens but token_embd.weight has ",
         emb->ne[1], " rows ", emb->shape_string());
  const int64_t E = hp.n_embd, V = hp.n_vocab, HD = int64_t(hp.n_head) * hp.head_dim,
                KD = int64_t(hp.n_head_kv) * hp.head_dim, FF = hp.n_ff;
  m.tok_embd_ = weight(f, "token_embd.weight", E, V);
  m.output_norm_ = vec(f, "output_norm.weight", E);
  m.output_ = weight(f, "output.weight", E, V, false);
  if (!m.output_.data) m.output_ = m.tok_embd_;  // tied embedding
  m.rope_freqs_ = vec(f, "rope_freqs.weight", hp.n_rot / 2, false);
  m.layers_.resize(size_t(hp.n_layer));
  for (int i = 0; i < hp.n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    LlamaLayer& L = m.layers_[size_t(i)];
    L.attn_norm = vec(f, p + "attn_norm.weight", E);
    L.wq = weight(f, p + "attn_q.weight", E, HD);
    L.wk = weight(f, p + "attn_k.weight", E, KD);
    L.wv = weight(f, p + "attn_v.weight", E, KD);
    L.wo = weight(f, p + "attn_output.weight", HD, E);
    const bool qwen2 = hp.arch == "qwen2" || hp.arch == "qwen2vl";
    L.bq = vec(f, p + "attn_q.bias", HD, qwen2);
    L.bk = vec(f, p + "attn_k.bias", KD, qwen2);
    L.bv = vec(f, p + "attn_v.bias", KD, qwen2);
    const bool qwen3 = hp.arch == "qwen3";
    L.q_norm = vec(f, p + "attn_q_norm.weight", hp.head_dim, qwen3);
    L.k_norm = vec(f, p + "attn_k_norm.weight", hp.head_dim, qwen3);
    L.ffn_norm = vec(f, p + "ffn_norm.weight", E);
    L.w_gate = weight(f, p + "ffn_gate.weight", E, FF);
    L.w_up = weight(f, p + "ffn_up.weight", E, FF);
    L.w_down = weight(f, p + "ffn_down.weight", FF, E);
  }
  return m;
}

size_t LlamaModel::weight_bytes_per_token() const {
  size_t n = output_.bytes();
  for (const LlamaLayer& L : layers_)
    n += L.wq.bytes() + L.wk.bytes() + L.wv.bytes() + L.wo.bytes() + L.w_gate.bytes() + L.w_up.bytes() + L.w_down.bytes();
  return n;
}

// ---------------------------------------------------------------- forward pass

void LlamaModel::rope_tables(LlamaWorkspace& ws, const LlamaBatch& b) const {
  const int half = hp_.n_rot / 2;
  const double base = hp_.rope_base;
  const double freq_scale = hp_.rope_freq_scale;
  double corr_lo = 0, corr_hi = 0;
  if (hp_.yarn_ext_factor != 0.0f) {
    auto corr_dim = [&](double n_rot) {
      return hp_.n_rot * std::log(hp_.n_ctx_orig / (n_rot * 2 * M_PI)) / (2 * std::log(base));
    };
    corr_lo = std::max(0.0, std::floor(corr_dim(hp_.yarn_beta_fast)));
    corr_hi = std::min(double(hp_.n_rot - 1), std::ceil(corr_dim(hp_.yarn_beta_slow)));
  }
  const int sec_sum = hp_.mrope_sections[0] + hp_.mrope_sections[1] + hp_.mrope_sections[2] + hp_.mrope_sections[3];
  for (int t = 0; t < b.n_tokens; ++t) {
    const double pos_t = b.pos ? b.pos[t] : b.first_slot + t;
    for (int i = 0; i < half; ++i) {
      double pos = pos_t;
      if (hp_.mrope) {  // the plane of pair i's section: t, h, w, then the extra plane (always 0)
        const int k = i % sec_sum, s0 = hp_.mrope_sections[0], s1 = s0 + hp_.mrope_sections[1],
                  s2 = s1 + hp_.mrope_sections[2];
        if (k >= s2) pos = 0;
        else if (k >= s1) pos = b.pos_hw ? b.pos_hw[b.n_tokens + t] : pos_t;
        else if (k >= s0) pos = b.pos_hw ? b.pos_hw[t] : pos_t;
      }
      double theta_extrap = pos * std::pow(base, -2.0 * i / hp_.n_rot);
      if (!rope_freqs_.empty()) theta_extrap /= rope_freqs_[size_t(i)];
      double theta = freq_scale * theta_extrap;
      double mscale = hp_.yarn_attn_factor;
      if (hp_.yarn_ext_factor != 0.0f) {
        const double y = (i - corr_lo) / std::max(0.001, corr_hi - corr_lo);
        const double ramp = (1.0 - std::min(1.0, std::max(0.0, y))) * hp_.yarn_ext_factor;
        theta = theta * (1 - ramp) + theta_extrap * ramp;
        mscale *= 1.0 + 0.1 * std::log(1.0 / freq_scale);
      }
      ws.rope_cos[size_t(t) * half + i] = float(std::cos(theta) * mscale);
      ws.rope_sin[size_t(t) * half + i] = float(std::sin(theta) * mscale);
    }
  }
}

void LlamaModel::attention(ThreadPool& pool, LlamaKvCache& cache, LlamaWorkspace& ws, int layer, int n_tokens,
                           int first_slot) const {
  const int hd = hp_.head_dim, H = hp_.n_head, HKV = hp_.n_head_kv, group = H / HKV;
  const float scale = 1.0f / std::sqrt(float(hd));
  const DType kv_type = cache.type();
  // Tasks: (kv head, chunk of queries). Keys/values are converted to f32 a block at a time and
  // folded in with an online softmax, so scratch stays small whatever the context length.
  constexpr int KB = LlamaWorkspace::kKeyBlock, chunk = LlamaWorkspace::kQueryChunk;
  const int n_chunks = (n_tokens + chunk - 1) / chunk;
  const int64_t n_tasks = int64_t(HKV) * n_chunks;
  auto run_tasks = [&](int64_t begin, int64_t end, int thread) {
    AttnTask at(ws, thread, hd, H, group);
    for (int64_t task = begin; task < end; ++task) {
      const int kvh = int(task / n_chunks);
      const int t0 = int(task % n_chunks) * chunk;
      const int t1 = std::min(n_tokens, t0 + chunk);
      const int n_kv = first_slot + t1;  // keys visible to the last query of the chunk
      at.begin(kvh, t0, t1);
      for (int b0 = 0; b0 < n_kv; b0 += KB) {
        const int nb = std::min(KB, n_kv - b0);
        kernels::dequantize_row(kv_type, cache.k(layer, kvh, b0), at.kf, int64_t(nb) * hd);
        kernels::dequantize_row(kv_type, cache.v(layer, kvh, b0), at.vf, int64_t(nb) * hd);
        at.fold(ws.q.data(), first_slot, b0, nb, scale);
      }
      at.finish(ws.attn.data());
    }
  };
  // Short contexts are cheaper on the calling thread than a pool dispatch.
  const int64_t work = int64_t(n_tokens) * (first_slot + n_tokens) * H * hd;
  if (work < 65536) run_tasks(0, n_tasks, 0);
  else pool.parallel_for(n_tasks, 1, run_tasks);
}

void LlamaModel::embed_inputs(const int32_t* tokens, const float* embd, int n, float* x) const {
  const int E = hp_.n_embd;
  const size_t emb_row_bytes = row_bytes(tok_embd_.type, E);
  int embd_row = 0;
  for (int t = 0; t < n; ++t) {
    float* xt = x + size_t(t) * E;
    const int32_t id = tokens[t];
    if (id < 0) {
      if (!embd) fail(ErrorCode::invalid_argument, "forward: input ", t, " asks for an embedding row but none were given");
      std::memcpy(xt, embd + size_t(embd_row++) * E, sizeof(float) * size_t(E));
    } else {
      if (id >= hp_.n_vocab) fail(ErrorCode::invalid_argument, "token id ", id, " is outside the vocabulary (", hp_.n_vocab, ")");
      kernels::dequantize_row(tok_embd_.type, static_cast<const uint8_t*>(tok_embd_.data) + size_t(id) * emb_row_bytes, xt, E);
    }
  }
}

void LlamaModel::forward(ThreadPool& pool, LlamaKvCache& cache, LlamaWorkspace& ws, const LlamaBatch& b,
                         float* logits) const {
  const int T = b.n_tokens, E = hp_.n_embd, hd = hp_.head_dim, H = hp_.n_head, HKV = hp_.n_head_kv, FF = hp_.n_ff;
  if (T <= 0) fail(ErrorCode::invalid_argument, "forward: empty batch");
  if (T > ws.n_batch()) fail(ErrorCode::internal, "forward: batch of ", T, " exceeds the workspace (", ws.n_batch(), ")");
  if (b.first_slot < 0 || b.first_slot + T > cache.n_ctx() || b.first_slot + T > ws.n_ctx_)
    fail(ErrorCode::too_large, "forward: slots ", b.first_slot, "..", b.first_slot + T, " exceed the context of ", cache.n_ctx());

  embed_inputs(b.tokens, b.embd, T, ws.x.data());  // [T, E]
  rope_tables(ws, b);
  const int half = hp_.n_rot / 2;

  for (int l = 0; l < hp_.n_layer; ++l) {
    const LlamaLayer& L = layers_[size_t(l)];
    for (int t = 0; t < T; ++t) rms_norm(ws.x.data() + size_t(t) * E, L.attn_norm.data(), ws.xn.data() + size_t(t) * E, E, hp_.rms_eps);
    kernels::matmul(pool, L.wq.type, L.wq.data, L.wq.n_out, E, ws.xn.data(), T, ws.q.data());
    kernels::matmul(pool, L.wk.type, L.wk.data, L.wk.n_out, E, ws.xn.data(), T, ws.k.data());
    kernels::matmul(pool, L.wv.type, L.wv.data, L.wv.n_out, E, ws.xn.data(), T, ws.v.data());
    add_bias(ws.q.data(), L.bq, T);
    add_bias(ws.k.data(), L.bk, T);
    add_bias(ws.v.data(), L.bv, T);
    for (int t = 0; t < T; ++t) {
      const float* c = ws.rope_cos.data() + size_t(t) * half;
      const float* s = ws.rope_sin.data() + size_t(t) * half;
      for (int h = 0; h < H; ++h) {
        float* q = ws.q.data() + (size_t(t) * H + h) * hd;
        if (!L.q_norm.empty()) rms_norm(q, L.q_norm.data(), q, hd, hp_.rms_eps);
        apply_rope(q, c, s, hp_.n_rot, hp_.rope_neox);
      }
      for (int h = 0; h < HKV; ++h) {
        float* k = ws.k.data() + (size_t(t) * HKV + h) * hd;
        if (!L.k_norm.empty()) rms_norm(k, L.k_norm.data(), k, hd, hp_.rms_eps);
        apply_rope(k, c, s, hp_.n_rot, hp_.rope_neox);
        const int slot = b.first_slot + t;
        kernels::quantize_row(cache.type(), k, cache.k(l, h, slot), hd);
        kernels::quantize_row(cache.type(), ws.v.data() + (size_t(t) * HKV + h) * hd, cache.v(l, h, slot), hd);
      }
    }
    attention(pool, cache, ws, l, T, b.first_slot);
    kernels::matmul(pool, L.wo.type, L.wo.data, E, L.wo.n_in, ws.attn.data(), T, ws.out_in.data());
    for (size_t i = 0; i < size_t(T) * E; ++i) ws.x[i] += ws.out_in[i];

    for (int t = 0; t < T; ++t) rms_norm(ws.x.data() + size_t(t) * E, L.ffn_norm.data(), ws.xn.data() + size_t(t) * E, E, hp_.rms_eps);
    // FFN in chunks of tokens: keeps the [tokens, n_ff] scratch small for long prompt batches.
    for (int c0 = 0; c0 < T; c0 += LlamaWorkspace::kFfnChunk) {
      const int nc = std::min(LlamaWorkspace::kFfnChunk, T - c0);
      const float* xin = ws.xn.data() + size_t(c0) * E;
      kernels::matmul(pool, L.w_gate.type, L.w_gate.data, FF, E, xin, nc, ws.gate.data());
      kernels::matmul(pool, L.w_up.type, L.w_up.data, FF, E, xin, nc, ws.up.data());
      const int64_t n_act = int64_t(nc) * FF;
      if (n_act < 65536) swiglu(ws.gate.data(), ws.up.data(), n_act);
      else pool.parallel_for(n_act, 16384, [&](int64_t i0, int64_t i1, int) { swiglu(ws.gate.data() + i0, ws.up.data() + i0, i1 - i0); });
      kernels::matmul(pool, L.w_down.type, L.w_down.data, E, FF, ws.gate.data(), nc, ws.out_in.data() + size_t(c0) * E);
    }
    for (size_t i = 0; i < size_t(T) * E; ++i) ws.x[i] += ws.out_in[i];
  }

  const int first_out = b.all_logits ? 0 : T - 1;
  const int n_out = T - first_out;
  for (int t = first_out; t < T; ++t)
    rms_norm(ws.x.data() + size_t(t) * E, output_norm_.data(), ws.xn.data() + size_t(t - first_out) * E, E, hp_.rms_eps);
  kernels::matmul(pool, output_.type, output_.data, hp_.n_vocab, E, ws.xn.data(), n_out, logits);
}

}  // namespace omni::models
