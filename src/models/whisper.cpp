// Whisper model: loading whisper.cpp ggml files (every name, shape and type checked), the encoder
// (conv stem, pre-LN blocks, ln_post), cross-attention K/V, and the batched decoder forward pass.
// Numerics follow OpenAI Whisper (erf GELU, q.k scaled by 1/sqrt(d_head), exactly n_audio_ctx keys).
#include "models/whisper.hpp"
#include "models/lane_reductions.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "audio/mel.hpp"
#include "kernels/kernels.hpp"
#include "models/whisper_internal.hpp"
#include "omni/error.hpp"

namespace omni::whisper {

namespace {

const char* const kLanguages[] = {
    "en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar", "sv", "it", "id",
    "hi", "fi", "vi", "he", "uk", "el", "ms", "cs", "ro", "da", "hu", "ta", "no", "th", "ur", "hr", "bg",
    "lt", "la", "mi", "ml", "cy", "sk", "te", "fa", "lv", "bn", "sr", "az", "sl", "kn", "et", "mk", "br",
    "eu", "is", "hy", "ne", "mn", "bs", "kk", "sq", "sw", "gl", "mr", "pa", "si", "km", "sn", "yo", "so",
    "af", "oc", "ka", "be", "tg", "sd", "gu", "am", "yi", "lo", "uz", "fo", "ht", "ps", "tk", "nn", "mt",
    "sa", "lb", "my", "bo", "tl", "mg", "as", "tt", "haw", "ln", "ha", "ba", "jw", "su", "yue"};
constexpr int kNumLanguageCodes = int(sizeof(kLanguages) / sizeof(kLanguages[0]));

}  // namespace

int language_index(const std::string& code) {
  for (int i = 0; i < kNumLanguageCodes; ++i)
    if (code == kLanguages[i]) return i;
  return -1;
}
const char* language_code(int index) { return index >= 0 && index < kNumLanguageCodes ? kLanguages[index] : "?"; }

// ---------------------------------------------------------------------------------------------
// shared numeric helpers (whisper_internal.hpp)

// Hot loops are compiled for several instruction sets (GCC picks one at load time through ifunc);
// the code itself stays portable C++ that the compiler vectorises.
#define OMNI_MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))

#define OMNI_INLINE __attribute__((always_inline)) inline
// exp(x) for x <= 0 (softmax after max subtraction) to ~2 ulp: 2^n * p(r), branch-free.
OMNI_INLINE float fast_exp(float x) {
  x = std::max(x, -87.0f);
  const float t = x * 1.44269504088896341f;
  const float n = std::nearbyint(t);
  const float r = (t - n) * 0.69314718055994531f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t e = (int32_t(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &e, 4);
  return p * scale;
}

// Reductions with 16 independent lanes (models/lane_reductions.hpp).
OMNI_INLINE float sum_lanes(const float* a, int64_t n) { return models::lanes::sum(a, n); }
OMNI_INLINE float dot_lanes(const float* a, const float* b, int64_t n) { return models::lanes::dot(a, b, n); }
OMNI_INLINE float max_lanes(const float* a, int64_t n) { return models::lanes::max(a, n); }

OMNI_MULTIVERSION void softmax_row(float* s, int64_t n) {
  const float mx = max_lanes(s, n);
  for (int64_t i = 0; i < n; ++i) s[i] = fast_exp(s[i] - mx);
  const float sum = sum_lanes(s, n);
  const float inv = 1.0f / sum;
  for (int64_t i = 0; i < n; ++i) s[i] *= inv;
}

OMNI_MULTIVERSION void attend(const float* q, const float* k, const float* v, int64_t n_keys, int64_t stride,
                              int64_t hd, float scale, float* scores, float* out) {
  for (int64_t j = 0; j < n_keys; ++j) {
    scores[j] = dot_lanes(q, k + j * stride, hd) * scale;
  }
  softmax_row(scores, n_keys);
  for (int64_t c = 0; c < hd; ++c) out[c] = 0.0f;
  for (int64_t j = 0; j < n_keys; ++j) {
    const float* vr = v + j * stride;
    const float p = scores[j];
    for (int64_t c = 0; c < hd; ++c) out[c] += p * vr[c];
  }
}

OMNI_MULTIVERSION static void layer_norm_row(const float* xr, int64_t n, const LayerNorm& ln, float* yr) {
  const float mean = sum_lanes(xr, n) / float(n);
  float acc[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; ++l) acc[l] += (xr[i + l] - mean) * (xr[i + l] - mean);
  float var = 0;
  for (; i < n; ++i) var += (xr[i] - mean) * (xr[i] - mean);
  for (int l = 0; l < 16; ++l) var += acc[l];
  var /= float(n);
  const float inv = 1.0f / std::sqrt(var + 1e-5f);
  for (int64_t i = 0; i < n; ++i) yr[i] = (xr[i] - mean) * inv * ln.g[i] + ln.b[i];
}

void layer_norm(const float* x, int64_t n_rows, int64_t n, const LayerNorm& ln, float* y, ThreadPool& pool) {
  pool.parallel_for(n_rows, 16, [&](int64_t b, int64_t e, int) {
    for (int64_t r = b; r < e; ++r) layer_norm_row(x + r * n, n, ln, y + r * n);
  });
}

// erf-GELU (OpenAI's nn.GELU): erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), vectorisable.
OMNI_MULTIVERSION static void gelu_span(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float z = std::fabs(v) * 0.70710678118654752f;
    const float t = 1.0f / (1.0f + 0.3275911f * z);
    const float poly = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
    const float erf_abs = 1.0f - poly * fast_exp(-z * z);
    const float erf_v = v < 0 ? -erf_abs : erf_abs;
    x[i] = 0.5f * v * (1.0f + erf_v);
  }
}

void gelu_inplace(float* x, int64_t n, ThreadPool& pool) {
  pool.parallel_for(n, 4096, [&](int64_t b, int64_t e, int) { gelu_span(x + b, e - b); });
}

void linear(const Linear& l, const float* x, int64_t n_rows, float* y, ThreadPool& pool) {
  kernels::matmul(pool, l.type, l.w, l.n_out, l.k, x, n_rows, y);
  if (l.b) {
    const float* b = l.b;
    const int64_t n = l.n_out;
    for (int64_t r = 0; r < n_rows; ++r)
      for (int64_t i = 0; i < n; ++i) y[r * n + i] += b[i];
  }
}

// ---------------------------------------------------------------------------------------------
// loading

namespace {

struct Loader {
  const whisper_ggml::WhisperFile& f;
  std::vector<uint8_t>& arena;
  std::vector<std::pair<const whisper_ggml::TensorRecord*, size_t>> placed;
  size_t used = 0;
  int n_loaded = 0;

  const whisper_ggml::TensorRecord& find(const std::string& name, DType type, int64_t ne0, int64_t ne1,
                                         int64_t ne2 = 1) {
    auto it = f.tensors.find(name);
    if (it == f.tensors.end()) fail(ErrorCode::invalid_file, f.file.path(), ": missing tensor '", name, "'");
    const auto& t = it->second;
    if (t.type != type)
      fail(ErrorCode::invalid_file, f.file.path(), ": tensor '", name, "' is ", dtype_name(t.type), ", expected ",
           dtype_name(type));
    if (t.ne[0] != ne0 || t.ne[1] != ne1 || t.ne[2] != ne2 || t.ne[3] != 1)
      fail(ErrorCode::invalid_file, f.file.path(), ": tensor '", name, "' has shape [", t.ne[0], ", ", t.ne[1], ", ",
           t.ne[2], "], expected [", ne0, ", ", ne1, ", ", ne2, "]");
    return t;
  }
  // First pass reserves space; offsets are resolved after the arena is allocated.
  size_t reserve(const whisper_ggml::TensorRecord& t) {
    used = (used + 63) & ~size_t(63);
    const size_t off = used;
    used += t.n_bytes;
    placed.push_back({&t, off});
    ++n_loaded;
    return off;
  }
};

}  // namespace

Model::Model(const std::string& path) : file_(whisper_ggml::read_whisper_file(path)) {
  hp_ = file_.hp;
  wtype_ = whisper_ggml::whisper_ftype_to_dtype(hp_.ftype, path);
  conv_type_ = wtype_ == DType::f32 ? DType::f32 : DType::f16;
  mel_filters_ = file_.mel_filters;
  if (file_.tensors.empty())
    fail(ErrorCode::invalid_file, path, ": the file has a header but no tensors (a header-only test file?)");
  // special tokens
  st_ = SpecialTokens{50256, 50257, 50357, 50358, 50359, 50360, 50361, 50362, 50363, 0, false};
  st_.multilingual = hp_.n_vocab >= 51865;
  st_.n_languages = hp_.n_vocab - 51765 - (st_.multilingual ? 1 : 0);
  if (st_.multilingual) {
    const int dt = st_.n_languages - 98;
    st_.eot++, st_.sot++;
    st_.translate += dt, st_.transcribe += dt, st_.solm += dt, st_.prev += dt, st_.nosp += dt;
    st_.notimestamps += dt, st_.beg += dt;
  }
  vocab_ = file_.vocab;
  n_file_vocab_ = vocab_.size();
  for (int i = int(vocab_.size()); i < hp_.n_vocab; ++i) {
    std::string s;
    if (i > st_.beg) s = "[_TT_" + std::to_string(i - st_.beg) + "]";
    else if (i == st_.eot) s = "[_EOT_]";
    else if (i == st_.sot) s = "[_SOT_]";
    else if (i == st_.translate) s = "[_TRANSLATE_]";
    else if (i == st_.transcribe) s = "[_TRANSCRIBE_]";
    else if (i == st_.solm) s = "[_SOLM_]";
    else if (i == st_.prev) s = "[_PREV_]";
    else if (i == st_.nosp) s = "[_NOSP_]";
    else if (i == st_.notimestamps) s = "[_NOT_]";
    else if (i == st_.beg) s = "[_BEG_]";
    else if (i > st_.sot && i <= st_.sot + st_.n_languages) s = std::string("[_LANG_") + language_code(i - st_.sot - 1) + "]";
    else s = "[_extra_token_" + std::to_string(i) + "]";
    vocab_.push_back(s);
  }

  const int64_t Sa = hp_.n_audio_state, St = hp_.n_text_state, M = hp_.n_mels, V = hp_.n_vocab;
  const int64_t A = hp_.n_audio_ctx, T = hp_.n_text_ctx;
  if (kernels::vec_dot_type(wtype_) != DType::f32 && Sa % block_size(wtype_) != 0)
    fail(ErrorCode::invalid_file, path, ": state size ", Sa, " is not a multiple of the ", dtype_name(wtype_),
         " block size");
  Loader ld{file_, arena_, {}, 0, 0};
  struct Pending { size_t off; const void** w; const float** f; };
  std::vector<Pending> pend;
  auto lin = [&](Linear& l, const std::string& p, int64_t n_in, int64_t n_out, bool bias) {
    l.type = wtype_;
    l.n_out = n_out;
    l.k = n_in;
    pend.push_back({ld.reserve(ld.find(p + ".weight", wtype_, n_in, n_out)), &l.w, nullptr});
    if (bias) pend.push_back({ld.reserve(ld.find(p + ".bias", DType::f32, n_out, 1)), nullptr, &l.b});
  };
  auto vec = [&](const float*& dst, const std::string& name, int64_t ne0, int64_t ne1) {
    pend.push_back({ld.reserve(ld.find(name, DType::f32, ne0, ne1)), nullptr, &dst});
  };
  auto norm = [&](LayerNorm& n, const std::string& p, int64_t S) {
    vec(n.g, p + ".weight", S, 1);
    vec(n.b, p + ".bias", S, 1);
  };
  auto attn = [&](Attention& a, const std::string& p, int64_t S) {
    lin(a.q, p + ".query", S, S, true);
    lin(a.k, p + ".key", S, S, false);
    lin(a.v, p + ".value", S, S, true);
    lin(a.o, p + ".out", S, S, true);
    norm(a.ln, p + "_ln", S);
  };
  auto block = [&](Block& b, const std::string& p, int64_t S, bool cross) {
    attn(b.attn, p + ".attn", S);
    if (cross) attn(b.cross, p + ".cross_attn", S);
    norm(b.mlp_ln, p + ".mlp_ln", S);
    lin(b.mlp0, p + ".mlp.0", S, 4 * S, true);
    lin(b.mlp2, p + ".mlp.2", 4 * S, S, true);
  };
  vec(enc_pos_, "encoder.positional_embedding", Sa, A);
  pend.push_back({ld.reserve(ld.find("encoder.conv1.weight", conv_type_, 3, M, Sa)), &conv1_w_, nullptr});
  pend.push_back({ld.reserve(ld.find("encoder.conv2.weight", conv_type_, 3, Sa, Sa)), &conv2_w_, nullptr});
  vec(conv1_b_, "encoder.conv1.bias", 1, Sa);
  vec(conv2_b_, "encoder.conv2.bias", 1, Sa);
  enc_blocks_.resize(size_t(hp_.n_audio_layer));
  for (int i = 0; i < hp_.n_audio_layer; ++i) block(enc_blocks_[i], "encoder.blocks." + std::to_string(i), Sa, false);
  norm(ln_post_, "encoder.ln_post", Sa);
  pend.push_back({ld.reserve(ld.find("decoder.token_embedding.weight", wtype_, St, V)), &tok_emb_, nullptr});
  vec(dec_pos_, "decoder.positional_embedding", St, T);
  dec_blocks_.resize(size_t(hp_.n_text_layer));
  for (int i = 0; i < hp_.n_text_layer; ++i) block(dec_blocks_[i], "decoder.blocks." + std::to_string(i), St, true);
  norm(dec_ln_, "decoder.ln", St);
  if (ld.n_loaded != int(file_.tensors.size()))
    fail(ErrorCode::invalid_file, path, ": the file has ", file_.tensors.size(), " tensors, the model uses ",
         ld.n_loaded, " (unknown tensor names?)");
  arena_.resize(ld.used + 64);
  uint8_t* base = arena_.data();
  const size_t shift = (64 - reinterpret_cast<uintptr_t>(base) % 64) % 64;
  for (auto& [rec, off] : ld.placed) std::memcpy(base + shift + off, rec->data, rec->n_bytes);
  for (auto& p : pend) {
    if (p.w) *p.w = base + shift + p.off;
    if (p.f) *p.f = reinterpret_cast<const float*>(base + shift + p.off);
  }
  file_.tensors.clear();
  file_.file = MappedFile();  // everything needed is copied
}

Model::~Model() = default;

const std::string& Model::token_text(int id) const {
  static const std::string empty;
  return id >= 0 && id < int(vocab_.size()) ? vocab_[size_t(id)] : empty;
}

std::string Model::size_name() const {
  switch (hp_.n_audio_layer) {
    case 4: return "tiny";
    case 6: return "base";
    case 12: return "small";
    case 24: return "medium";
    case 32: return hp_.n_vocab == 51866 ? "large-v3" : "large";
    default: return "custom";
  }
}

std::unique_ptr<DecoderState> Model::new_state() const {
  auto s = std::make_unique<DecoderState>();
  s->row = hp_.n_text_state;
  const size_t n = size_t(hp_.n_text_ctx) * size_t(hp_.n_text_state);
  s->k.assign(size_t(hp_.n_text_layer), std::vector<float>(n));
  s->v.assign(size_t(hp_.n_text_layer), std::vector<float>(n));
  return s;
}

// ---------------------------------------------------------------------------------------------
// encoder

std::shared_ptr<EncoderOutput> Model::encode(const float* mel, ThreadPool& pool) const {
  const int64_t S = hp_.n_audio_state, M = hp_.n_mels, A = hp_.n_audio_ctx, F = 2 * A;
  const int64_t H = hp_.n_audio_head, hd = S / H;
  // conv1: [M, F] -> [F, S]
  std::vector<float> cols(size_t(F) * size_t(M) * 3);
  pool.parallel_for(F, 64, [&](int64_t b, int64_t e, int) {
    for (int64_t t = b; t < e; ++t)
      for (int64_t ic = 0; ic < M; ++ic)
        for (int k = 0; k < 3; ++k) {
          const int64_t p = t - 1 + k;
          cols[size_t(t * M * 3 + ic * 3 + k)] = (p >= 0 && p < F) ? mel[ic * F + p] : 0.0f;
        }
  });
  std::vector<float> x1(size_t(F) * size_t(S));
  kernels::matmul(pool, conv_type_, conv1_w_, S, M * 3, cols.data(), F, x1.data());
  for (int64_t t = 0; t < F; ++t)
    for (int64_t o = 0; o < S; ++o) x1[size_t(t * S + o)] += conv1_b_[o];
  gelu_inplace(x1.data(), F * S, pool);
  // conv2 (stride 2): [F, S] -> [A, S]
  cols.assign(size_t(A) * size_t(S) * 3, 0.0f);
  pool.parallel_for(A, 32, [&](int64_t b, int64_t e, int) {
    for (int64_t t = b; t < e; ++t)
      for (int k = 0; k < 3; ++k) {
        const int64_t p = 2 * t - 1 + k;
        if (p < 0 || p >= F) continue;
        for (int64_t ic = 0; ic < S; ++ic) cols[size_t(t * S * 3 + ic * 3 + k)] = x1[size_t(p * S + ic)];
      }
  });
  std::vector<float> x(size_t(A) * size_t(S));
  kernels::matmul(pool, conv_type_, conv2_w_, S, S * 3, cols.data(), A, x.data());
  for (int64_t t = 0; t < A; ++t)
    for (int64_t o = 0; o < S; ++o) x[size_t(t * S + o)] += conv2_b_[o];
  gelu_inplace(x.data(), A * S, pool);
  for (int64_t i = 0; i < A * S; ++i) x[size_t(i)] += enc_pos_[i];
  x1.clear();
  cols.clear();

  std::vector<float> h(x.size()), q(x.size()), kk(x.size()), v(x.size()), att(x.size()), tmp(x.size());
  std::vector<float> mlp(size_t(A) * size_t(4 * S));
  std::vector<float> qh(size_t(A * hd)), kh(size_t(A * hd)), vt(size_t(A * hd)), oh(size_t(A * hd));
  std::vector<float> scores(size_t(A) * size_t(A));
  const float scale = 1.0f / std::sqrt(float(hd));
  for (const Block& blk : enc_blocks_) {
    layer_norm(x.data(), A, S, blk.attn.ln, h.data(), pool);
    linear(blk.attn.q, h.data(), A, q.data(), pool);
    linear(blk.attn.k, h.data(), A, kk.data(), pool);
    linear(blk.attn.v, h.data(), A, v.data(), pool);
    for (int64_t hh = 0; hh < H; ++hh) {
      for (int64_t t = 0; t < A; ++t)
        for (int64_t d = 0; d < hd; ++d) {
          qh[size_t(t * hd + d)] = q[size_t(t * S + hh * hd + d)] * scale;
          kh[size_t(t * hd + d)] = kk[size_t(t * S + hh * hd + d)];
          vt[size_t(d * A + t)] = v[size_t(t * S + hh * hd + d)];
        }
      kernels::matmul(pool, DType::f32, kh.data(), A, hd, qh.data(), A, scores.data());  // [A(q), A(k)]
      pool.parallel_for(A, 16, [&](int64_t b, int64_t e, int) {
        for (int64_t t = b; t < e; ++t) softmax_row(scores.data() + t * A, A);
      });
      kernels::matmul(pool, DType::f32, vt.data(), hd, A, scores.data(), A, oh.data());  // [A, hd]
      for (int64_t t = 0; t < A; ++t)
        for (int64_t d = 0; d < hd; ++d) att[size_t(t * S + hh * hd + d)] = oh[size_t(t * hd + d)];
    }
    linear(blk.attn.o, att.data(), A, tmp.data(), pool);
    for (size_t i = 0; i < x.size(); ++i) x[i] += tmp[i];
    layer_norm(x.data(), A, S, blk.mlp_ln, h.data(), pool);
    linear(blk.mlp0, h.data(), A, mlp.data(), pool);
    gelu_inplace(mlp.data(), A * 4 * S, pool);
    linear(blk.mlp2, mlp.data(), A, tmp.data(), pool);
    for (size_t i = 0; i < x.size(); ++i) x[i] += tmp[i];
  }
  layer_norm(x.data(), A, S, ln_post_, h.data(), pool);
  auto out = std::make_shared<EncoderOutput>();
  out->n_ctx = A;
  const int64_t St = hp_.n_text_state;
  out->k.resize(dec_blocks_.size());
  out->v.resize(dec_blocks_.size());
  // stored head-major [H][A][hd]: each head's keys/values are one contiguous stream for the decoder
  const int64_t Ht = hp_.n_text_head, hdt = St / Ht;
  for (size_t l = 0; l < dec_blocks_.size(); ++l) {
    out->k[l].resize(size_t(A * St));
    out->v[l].resize(size_t(A * St));
    for (int kv = 0; kv < 2; ++kv) {
      linear(kv == 0 ? dec_blocks_[l].cross.k : dec_blocks_[l].cross.v, h.data(), A, tmp.data(), pool);
      float* dst = (kv == 0 ? out->k[l] : out->v[l]).data();
      pool.parallel_for(A, 64, [&](int64_t b, int64_t e, int) {
        for (int64_t t = b; t < e; ++t)
          for (int64_t hh = 0; hh < Ht; ++hh)
            std::copy_n(tmp.data() + t * St + hh * hdt, hdt, dst + (hh * A + t) * hdt);
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// decoder

void Model::batch_forward(const EncoderOutput& enc, std::vector<DecoderState*>& states, const std::vector<int>& tokens,
                          const std::vector<int>& state_index, ThreadPool& pool, std::vector<float>& logits,
                          const std::vector<int>& logit_rows) const {
  const int64_t R = int64_t(tokens.size()), S = hp_.n_text_state, H = hp_.n_text_head, hd = S / H;
  const int64_t V = hp_.n_vocab, A = enc.n_ctx;
  std::vector<int> pos(static_cast<size_t>(R));
  {
    std::vector<int> next(states.size());
    for (size_t i = 0; i < states.size(); ++i) next[i] = states[i]->n_past;
    for (int64_t r = 0; r < R; ++r) {
      pos[size_t(r)] = next[size_t(state_index[size_t(r)])]++;
      if (pos[size_t(r)] >= hp_.n_text_ctx)
        fail(ErrorCode::invalid_argument, "whisper decoder: position ", pos[size_t(r)], " is past the text context of ",
             hp_.n_text_ctx);
      if (tokens[size_t(r)] < 0 || tokens[size_t(r)] >= V)
        fail(ErrorCode::invalid_argument, "whisper decoder: token id ", tokens[size_t(r)], " out of range");
    }
  }
  const size_t emb_row = row_bytes(wtype_, S);
  std::vector<float> x(size_t(R * S)), h(size_t(R * S)), q(size_t(R * S)), k(size_t(R * S)), v(size_t(R * S));
  std::vector<float> att(size_t(R * S)), tmp(size_t(R * S)), mlp(size_t(R * 4 * S));
  for (int64_t r = 0; r < R; ++r) {
    kernels::dequantize_row(wtype_, static_cast<const uint8_t*>(tok_emb_) + size_t(tokens[size_t(r)]) * emb_row,
                            x.data() + r * S, S);
    for (int64_t i = 0; i < S; ++i) x[size_t(r * S + i)] += dec_pos_[size_t(pos[size_t(r)]) * S + i];
  }
  const float scale = 1.0f / std::sqrt(float(hd));
  for (size_t l = 0; l < dec_blocks_.size(); ++l) {
    const Block& blk = dec_blocks_[l];
    // self-attention
    layer_norm(x.data(), R, S, blk.attn.ln, h.data(), pool);
    linear(blk.attn.q, h.data(), R, q.data(), pool);
    linear(blk.attn.k, h.data(), R, k.data(), pool);
    linear(blk.attn.v, h.data(), R, v.data(), pool);
    for (int64_t r = 0; r < R; ++r) {
      DecoderState* st = states[size_t(state_index[size_t(r)])];
      std::copy_n(k.data() + r * S, S, st->k[l].data() + size_t(pos[size_t(r)]) * S);
      std::copy_n(v.data() + r * S, S, st->v[l].data() + size_t(pos[size_t(r)]) * S);
    }
    // self-attention over a short history is cheaper inline than a thread hand-off
    int max_pos = 0;
    for (int p : pos) max_pos = std::max(max_pos, p);
    const int64_t self_grain = int64_t(max_pos + 1) * hd * R * H < 65536 ? R * H : 1;
    pool.parallel_for(R * H, self_grain, [&](int64_t b, int64_t e, int) {
      std::vector<float> s(static_cast<size_t>(hp_.n_text_ctx));
      for (int64_t i = b; i < e; ++i) {
        const int64_t r = i / H, hh = i % H;
        const DecoderState* st = states[size_t(state_index[size_t(r)])];
        const int n = pos[size_t(r)] + 1;
        attend(q.data() + r * S + hh * hd, st->k[l].data() + hh * hd, st->v[l].data() + hh * hd, n, S, hd, scale,
               s.data(), att.data() + r * S + hh * hd);
      }
    });
    linear(blk.attn.o, att.data(), R, tmp.data(), pool);
    for (size_t i = 0; i < x.size(); ++i) x[i] += tmp[i];
    // cross-attention
    layer_norm(x.data(), R, S, blk.cross.ln, h.data(), pool);
    linear(blk.cross.q, h.data(), R, q.data(), pool);
    const float* kc = enc.k[l].data();
    const float* vc = enc.v[l].data();
    // head-major order: rows (beams) of one head run back to back while its keys are in cache
    pool.parallel_for(R * H, 1, [&](int64_t b, int64_t e, int) {
      std::vector<float> s(static_cast<size_t>(A));
      for (int64_t i = b; i < e; ++i) {
        const int64_t hh = i / R, r = i % R;
        attend(q.data() + r * S + hh * hd, kc + hh * A * hd, vc + hh * A * hd, A, hd, hd, scale, s.data(),
               att.data() + r * S + hh * hd);
      }
    });
    linear(blk.cross.o, att.data(), R, tmp.data(), pool);
    for (size_t i = 0; i < x.size(); ++i) x[i] += tmp[i];
    // MLP
    layer_norm(x.data(), R, S, blk.mlp_ln, h.data(), pool);
    linear(blk.mlp0, h.data(), R, mlp.data(), pool);
    gelu_inplace(mlp.data(), R * 4 * S, pool);
    linear(blk.mlp2, mlp.data(), R, tmp.data(), pool);
    for (size_t i = 0; i < x.size(); ++i) x[i] += tmp[i];
  }
  for (auto* st : states) (void)st;
  {
    std::vector<int> next(states.size(), 0);
    for (int64_t r = 0; r < R; ++r) next[size_t(state_index[size_t(r)])]++;
    for (size_t i = 0; i < states.size(); ++i) states[i]->n_past += next[i];
  }
  const int64_t n_out = int64_t(logit_rows.size());
  std::vector<float> sel(size_t(n_out * S));
  for (int64_t i = 0; i < n_out; ++i) std::copy_n(x.data() + int64_t(logit_rows[size_t(i)]) * S, S, sel.data() + i * S);
  layer_norm(sel.data(), n_out, S, dec_ln_, h.data(), pool);
  logits.resize(size_t(n_out * V));
  kernels::matmul(pool, wtype_, tok_emb_, V, S, h.data(), n_out, logits.data());
}

std::vector<float> Model::decode(const EncoderOutput& enc, DecoderState& state, const std::vector<int>& tokens,
                                 ThreadPool& pool, bool all_logits) const {
  if (tokens.empty()) fail(ErrorCode::invalid_argument, "whisper decoder: no tokens");
  std::vector<DecoderState*> states = {&state};
  std::vector<int> idx(tokens.size(), 0), rows;
  if (all_logits)
    for (size_t i = 0; i < tokens.size(); ++i) rows.push_back(int(i));
  else
    rows.push_back(int(tokens.size()) - 1);
  std::vector<float> logits;
  batch_forward(enc, states, tokens, idx, pool, logits, rows);
  return logits;
}

std::vector<float> Model::logits_after_prompt(const std::vector<float>& samples, const std::vector<int>& prompt,
                                              ThreadPool& pool) const {
  const audio::MelSpectrogram mel =
      audio::log_mel_spectrogram(samples.data(), int64_t(samples.size()), mel_filters_.data(), hp_.n_mels, pool);
  std::vector<float> window;
  audio::mel_window(mel, 0, window);
  auto enc = encode(window.data(), pool);
  auto st = new_state();
  return decode(*enc, *st, prompt, pool);
}

std::pair<std::string, float> Model::detect_language(const EncoderOutput& enc, ThreadPool& pool) const {
  if (!st_.multilingual) return {"en", 1.0f};
  auto st = new_state();
  const std::vector<float> logits = decode(enc, *st, {st_.sot}, pool);
  const int n = std::min(st_.n_languages, kNumLanguageCodes);
  int best = 0;
  float mx = -INFINITY;
  for (int k = 0; k < n; ++k) mx = std::max(mx, logits[size_t(st_.lang(k))]);
  double sum = 0;
  for (int k = 0; k < n; ++k) sum += std::exp(double(logits[size_t(st_.lang(k))] - mx));
  for (int k = 0; k < n; ++k)
    if (logits[size_t(st_.lang(k))] > logits[size_t(st_.lang(best))]) best = k;
  return {language_code(best), float(std::exp(double(logits[size_t(st_.lang(best))] - mx)) / sum)};
}

}  // namespace omni::whisper
