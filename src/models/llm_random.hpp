// Random-weight llama / qwen2 / qwen3 GGUF models for tests and benchmarks: llama.cpp's metadata
// keys and tensor names, a synthetic byte-level BPE vocabulary, deterministic weights from a seed,
// any shape and tensor type; huge shapes are streamed to disk and generated in parallel.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.hpp"
#include "core/thread_pool.hpp"

namespace omni::models {

struct LlmShape {
  int64_t n_embd = 64, n_layer = 2, n_head = 4, n_head_kv = 2, n_ff = 160, n_vocab = 512;
  int64_t head_dim = 0;        // 0: n_embd / n_head
  int64_t context_length = 0;  // 0: the architecture's default
  bool tied = true;            // no output.weight: the head reuses token_embd
  float rope_base = 0.0f;      // 0: the architecture's default
  float rms_eps = 0.0f;        // 0: the architecture's default
};

// Named shapes: tiny, qwen2.5-0.5b, qwen2.5-1.5b, llama-3.2-1b, qwen3-0.6b.
std::optional<LlmShape> llm_shape_preset(const std::string& name);
std::vector<std::string> llm_shape_names();
// "n_embd=64,n_layer=2,..." over `base` (keys: n_embd n_layer n_head n_head_kv n_ff n_vocab
// head_dim context_length rope_base rms_eps tied). Throws invalid_argument naming a bad key/value.
LlmShape parse_llm_dims(const std::string& spec, LlmShape base = {});
// Fills defaults for the architecture and checks the shape (throws invalid_argument).
LlmShape resolve_llm_shape(const std::string& arch, LlmShape shape);

// A synthetic GPT-2-style byte-level BPE vocabulary: the 256 byte symbols, tokens made by merging
// frequent pairs of a built-in English/Chinese text, unique filler tokens, then the special
// tokens <|endoftext|> <|im_start|> <|im_end|> as the last three ids.
struct SyntheticVocab {
  std::vector<std::string> tokens;
  std::vector<int32_t> token_types;  // 1 normal, 3 control
  std::vector<std::string> merges;   // "a b", in priority order
  uint32_t bos_id = 0, eos_id = 0, pad_id = 0;
};
// llama3_split: pre-split digits in runs of up to 3 (llama-bpe) instead of single digits (qwen2).
SyntheticVocab build_synthetic_vocab(int64_t n_vocab, bool llama3_split);

struct RandomLlmOptions {
  std::string arch = "qwen2";  // llama | qwen2 | qwen3
  LlmShape shape;              // resolved with resolve_llm_shape
  std::string type = "f32";    // a gguf::quant_target name (f32 f16 bf16 q8_0 ... q4_k_m q5_k_m)
  uint64_t seed = 1;
  std::string name;            // general.name ("" -> "random-<arch>")
  // Called with (bytes done, bytes total) as tensor data is produced (from one thread at a time).
  std::function<void(uint64_t, uint64_t)> progress;
};

// Writes the model to path (streamed; memory stays bounded for any shape). Returns the bytes of
// tensor data written.
uint64_t write_random_llm(const std::string& path, const RandomLlmOptions& opts, ThreadPool& pool);

// The deterministic standard-normal values of row `row` of tensor `tensor_name` (n values).
void random_normal_row(uint64_t seed, const std::string& tensor_name, int64_t row, float* out, int64_t n);

}  // namespace omni::models
