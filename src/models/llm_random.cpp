// Random-weight llama / qwen2 / qwen3 GGUF writer: shapes, llama.cpp metadata, tensor list and the
// streamed, parallel generation + quantization of the weights.
#include "models/llm_random.hpp"

#include <cmath>
#include <cstring>
#include <mutex>

#include "formats/gguf.hpp"
#include "formats/gguf_quant.hpp"
#include "kernels/kernels.hpp"
#include "omni/error.hpp"

namespace omni::models {

namespace {

struct Preset {
  const char* name;
  LlmShape shape;
};

const std::vector<Preset>& presets() {
  static const std::vector<Preset> p = {
      {"tiny", {64, 2, 4, 2, 160, 512, 16, 256, true, 0.0f, 0.0f}},
      {"qwen2.5-0.5b", {896, 24, 14, 2, 4864, 151936, 64, 32768, true, 1000000.0f, 1e-6f}},
      {"qwen2.5-1.5b", {1536, 28, 12, 2, 8960, 151936, 128, 32768, true, 1000000.0f, 1e-6f}},
      {"llama-3.2-1b", {2048, 16, 32, 8, 8192, 128256, 64, 131072, true, 500000.0f, 1e-5f}},
      {"qwen3-0.6b", {1024, 28, 16, 8, 3072, 151936, 128, 40960, true, 1000000.0f, 1e-6f}},
  };
  return p;
}

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// How a tensor's values are drawn: value = mean + scale * normal.
struct TensorPlan {
  std::string name;
  std::vector<int64_t> shape;  // ne[0] first
  DType type;
  float mean, scale;
};

const char* kChatTemplate =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

}  // namespace

std::optional<LlmShape> llm_shape_preset(const std::string& name) {
  for (const auto& p : presets())
    if (name == p.name) return p.shape;
  return std::nullopt;
}

std::vector<std::string> llm_shape_names() {
  std::vector<std::string> n;
  for (const auto& p : presets()) n.push_back(p.name);
  return n;
}

LlmShape parse_llm_dims(const std::string& spec, LlmShape s) {
  bool head_dim_given = false;
  const int64_t old_embd = s.n_embd, old_head = s.n_head;
  size_t pos = 0;
  while (pos < spec.size()) {
    size_t end = spec.find(',', pos);
    if (end == std::string::npos) end = spec.size();
    const std::string item = spec.substr(pos, end - pos);
    pos = end + 1;
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string::npos) fail(ErrorCode::invalid_argument, "--dims: '", item, "' is not KEY=VALUE");
    const std::string key = item.substr(0, eq), val = item.substr(eq + 1);
    char* e = nullptr;
    const double d = std::strtod(val.c_str(), &e);
    if (val.empty() || *e != '\0' || !std::isfinite(d))
      fail(ErrorCode::invalid_argument, "--dims: value of '", key, "' is not a number: '", val, "'");
    auto as_int = [&]() -> int64_t {
      if (d != std::floor(d) || d < 0 || d > 1e12) fail(ErrorCode::invalid_argument, "--dims: ", key, " must be a non-negative integer");
      return int64_t(d);
    };
    if (key == "n_embd") s.n_embd = as_int();
    else if (key == "n_layer") s.n_layer = as_int();
    else if (key == "n_head") s.n_head = as_int();
    else if (key == "n_head_kv") s.n_head_kv = as_int();
    else if (key == "n_ff") s.n_ff = as_int();
    else if (key == "n_vocab") s.n_vocab = as_int();
    else if (key == "head_dim") {
      s.head_dim = as_int();
      head_dim_given = true;
    }
    else if (key == "context_length") s.context_length = as_int();
    else if (key == "rope_base") s.rope_base = float(d);
    else if (key == "rms_eps") s.rms_eps = float(d);
    else if (key == "tied") s.tied = as_int() != 0;
    else
      fail(ErrorCode::invalid_argument, "--dims: unknown key '", key,
           "' (known: n_embd n_layer n_head n_head_kv n_ff n_vocab head_dim context_length rope_base rms_eps tied)");
  }
  // A new width or head count re-derives head_dim unless it was given.
  if (!head_dim_given && (s.n_embd != old_embd || s.n_head != old_head)) s.head_dim = 0;
  return s;
}

LlmShape resolve_llm_shape(const std::string& arch, LlmShape s) {
  if (arch != "llama" && arch != "qwen2" && arch != "qwen3")
    fail(ErrorCode::invalid_argument, "unknown architecture '", arch, "' (llama, qwen2 or qwen3)");
  auto positive = [](const char* what, int64_t v) {
    if (v <= 0) fail(ErrorCode::invalid_argument, what, " must be positive (got ", v, ")");
  };
  positive("n_embd", s.n_embd);
  positive("n_layer", s.n_layer);
  positive("n_head", s.n_head);
  positive("n_head_kv", s.n_head_kv);
  positive("n_ff", s.n_ff);
  if (s.n_head % s.n_head_kv != 0)
    fail(ErrorCode::invalid_argument, "n_head (", s.n_head, ") must be a multiple of n_head_kv (", s.n_head_kv, ")");
  if (s.head_dim == 0) {
    if (s.n_embd % s.n_head != 0)
      fail(ErrorCode::invalid_argument, "n_embd (", s.n_embd, ") is not a multiple of n_head (", s.n_head, "); give head_dim");
    s.head_dim = s.n_embd / s.n_head;
  }
  if (s.head_dim % 2 != 0) fail(ErrorCode::invalid_argument, "head_dim must be even (got ", s.head_dim, ")");
  if (s.n_vocab < 260) fail(ErrorCode::invalid_argument, "n_vocab must be at least 260 (got ", s.n_vocab, ")");
  if (s.context_length == 0) s.context_length = arch == "llama" ? 8192 : 32768;
  if (s.rope_base == 0.0f) s.rope_base = arch == "llama" ? 500000.0f : 1000000.0f;
  if (s.rms_eps == 0.0f) s.rms_eps = arch == "llama" ? 1e-5f : 1e-6f;
  return s;
}

void random_normal_row(uint64_t seed, const std::string& tensor_name, int64_t row, float* out, int64_t n) {
  uint64_t st = seed * 0x2545F4914F6CDD1Dull ^ fnv1a(tensor_name) ^ (uint64_t(row) * 0x9E3779B97F4A7C15ull);
  splitmix64(st);
  for (int64_t i = 0; i < n; i += 2) {
    // Box-Muller on two 53-bit uniforms in (0, 1].
    const double u1 = (double(splitmix64(st) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    const double u2 = double(splitmix64(st) >> 11) * (1.0 / 9007199254740992.0);
    const double r = std::sqrt(-2.0 * std::log(u1));
    out[i] = float(r * std::cos(6.283185307179586 * u2));
    if (i + 1 < n) out[i + 1] = float(r * std::sin(6.283185307179586 * u2));
  }
}

uint64_t write_random_llm(const std::string& path, const RandomLlmOptions& opts, ThreadPool& pool) {
  const std::string& A = opts.arch;
  const LlmShape s = resolve_llm_shape(A, opts.shape);
  const auto target = gguf::quant_target(opts.type);
  if (!target) fail(ErrorCode::invalid_argument, "unknown --type '", opts.type, "'");

  gguf::Writer w;
  using gguf::Value;
  w.set("general.architecture", Value::of_string(A));
  w.set("general.name", Value::of_string(opts.name.empty() ? "random-" + A : opts.name));
  w.set("general.file_type", Value::of_u32(target->file_type));
  if (target->file_type != 0 && target->file_type != 1 && target->file_type != 32)
    w.set("general.quantization_version", Value::of_u32(2));
  w.set(A + ".context_length", Value::of_u32(uint32_t(s.context_length)));
  w.set(A + ".embedding_length", Value::of_u32(uint32_t(s.n_embd)));
  w.set(A + ".block_count", Value::of_u32(uint32_t(s.n_layer)));
  w.set(A + ".feed_forward_length", Value::of_u32(uint32_t(s.n_ff)));
  w.set(A + ".attention.head_count", Value::of_u32(uint32_t(s.n_head)));
  w.set(A + ".attention.head_count_kv", Value::of_u32(uint32_t(s.n_head_kv)));
  w.set(A + ".attention.layer_norm_rms_epsilon", Value::of_f32(s.rms_eps));
  w.set(A + ".rope.freq_base", Value::of_f32(s.rope_base));
  if (A == "qwen3" || s.head_dim * s.n_head != s.n_embd) {
    w.set(A + ".attention.key_length", Value::of_u32(uint32_t(s.head_dim)));
    w.set(A + ".attention.value_length", Value::of_u32(uint32_t(s.head_dim)));
  }
  if (A == "llama") {
    w.set("llama.rope.dimension_count", Value::of_u32(uint32_t(s.head_dim)));
    w.set("llama.vocab_size", Value::of_u32(uint32_t(s.n_vocab)));
  }
  const SyntheticVocab vocab = build_synthetic_vocab(s.n_vocab, A == "llama");
  w.set("tokenizer.ggml.model", Value::of_string("gpt2"));
  w.set("tokenizer.ggml.pre", Value::of_string(A == "llama" ? "llama-bpe" : "qwen2"));
  w.set("tokenizer.ggml.tokens", Value::of_strings(vocab.tokens));
  w.set("tokenizer.ggml.token_type", Value::of_i32s(vocab.token_types));
  w.set("tokenizer.ggml.merges", Value::of_strings(vocab.merges));
  w.set("tokenizer.ggml.bos_token_id", Value::of_u32(vocab.bos_id));
  w.set("tokenizer.ggml.eos_token_id", Value::of_u32(vocab.eos_id));
  w.set("tokenizer.ggml.padding_token_id", Value::of_u32(vocab.pad_id));
  w.set("tokenizer.ggml.add_bos_token", Value::of_bool(false));
  w.set("tokenizer.chat_template", Value::of_string(kChatTemplate));

  // Tensors, in llama.cpp's order.
  const int64_t E = s.n_embd, HD = s.head_dim, QD = s.n_head * HD, KD = s.n_head_kv * HD;
  std::vector<TensorPlan> plan;
  auto mat = [&](const std::string& name, int64_t n_in, int64_t n_out, float scale) {
    const DType t = gguf::tensor_type_for(*target, name, 2, n_in, s.n_layer, !s.tied);
    plan.push_back({name, {n_in, n_out}, t, 0.0f, scale});
  };
  auto vec = [&](const std::string& name, int64_t n, float mean, float scale) {
    plan.push_back({name, {n}, DType::f32, mean, scale});
  };
  mat("token_embd.weight", E, s.n_vocab, 0.05f);
  for (int64_t l = 0; l < s.n_layer; ++l) {
    const std::string p = cat("blk.", l, ".");
    vec(p + "attn_norm.weight", E, 1.0f, 0.02f);
    mat(p + "attn_q.weight", E, QD, 1.0f / std::sqrt(float(E)));
    mat(p + "attn_k.weight", E, KD, 1.0f / std::sqrt(float(E)));
    mat(p + "attn_v.weight", E, KD, 1.0f / std::sqrt(float(E)));
    mat(p + "attn_output.weight", QD, E, 1.0f / std::sqrt(float(QD)));
    if (A == "qwen2") {
      vec(p + "attn_q.bias", QD, 0.0f, 0.02f);
      vec(p + "attn_k.bias", KD, 0.0f, 0.02f);
      vec(p + "attn_v.bias", KD, 0.0f, 0.02f);
    }
    if (A == "qwen3") {
      vec(p + "attn_q_norm.weight", HD, 1.0f, 0.02f);
      vec(p + "attn_k_norm.weight", HD, 1.0f, 0.02f);
    }
    vec(p + "ffn_norm.weight", E, 1.0f, 0.02f);
    mat(p + "ffn_gate.weight", E, s.n_ff, 1.0f / std::sqrt(float(E)));
    mat(p + "ffn_up.weight", E, s.n_ff, 1.0f / std::sqrt(float(E)));
    mat(p + "ffn_down.weight", s.n_ff, E, 1.0f / std::sqrt(float(s.n_ff)));
  }
  vec("output_norm.weight", E, 1.0f, 0.02f);
  if (!s.tied) mat("output.weight", E, s.n_vocab, 1.0f / std::sqrt(float(E)));

  for (const auto& t : plan) w.add_tensor_info(t.name, t.type, t.shape);
  const uint64_t total = w.total_tensor_bytes();
  uint64_t done = 0;
  std::mutex progress_mutex;
  const int n_threads = pool.n_threads();
  std::vector<std::vector<float>> scratch(size_t(std::max(1, n_threads)));
  w.write(path, [&](size_t index, int64_t row0, int64_t n_rows, uint8_t* dst) {
    const TensorPlan& t = plan[index];
    const int64_t n = t.shape[0];
    const size_t rb = row_bytes(t.type, n);
    pool.parallel_for(n_rows, 8, [&](int64_t b, int64_t e, int thread) {
      auto& buf = scratch[size_t(thread)];
      buf.resize(size_t(n));
      for (int64_t r = b; r < e; ++r) {
        random_normal_row(opts.seed, t.name, row0 + r, buf.data(), n);
        for (auto& x : buf) x = t.mean + t.scale * x;
        kernels::quantize_row(t.type, buf.data(), dst + size_t(r) * rb, n);
      }
    });
    done += rb * size_t(n_rows);
    if (opts.progress) {
      std::lock_guard<std::mutex> lock(progress_mutex);
      opts.progress(done, total);
    }
  }, size_t(16) << 20);
  return total;
}

}  // namespace omni::models
