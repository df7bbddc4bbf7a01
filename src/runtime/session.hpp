// runtime::Session: one conversation's state on a shared Model — KV cache (F16 by default), the
// token history and position, scratch buffers — with evaluation (tokens, or tokens mixed with
// precomputed embedding rows) and the generation loop (sampling, constraints, stop strings,
// streaming, cancellation).
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/thread_pool.hpp"
#include "runtime/model.hpp"
#include "runtime/sampling.hpp"

namespace omni::runtime {

struct SessionOptions {
  int n_ctx = 0;         // context length in tokens; 0: min(model's training context, 4096)
  int n_batch = 512;     // most tokens per forward pass (prompt processing goes through the GEMM path)
  int n_threads = 0;     // threads of the session's own pool when none is given; 0: all cores
  DType kv_type = DType::f16;  // f16 (default) or f32
  // When the context is full during generation: false -> stop with FinishReason::context;
  // true -> drop the older half of the history after the first n_keep tokens and continue.
  bool context_shift = false;
  int n_keep = 0;
};

enum class FinishReason { stop, length, context, cancelled, timeout };
const char* finish_reason_name(FinishReason r);  // "stop", "length", "context", "cancelled", "timeout"

struct GenerateResult {
  std::vector<int32_t> tokens;   // generated tokens (EOS and stop-string tokens included as sampled)
  std::string text;              // generated text, cut before a stop string, without EOS
  FinishReason finish = FinishReason::stop;
  int n_prompt = 0;              // prompt tokens evaluated by this call
  double prompt_ms = 0, generate_ms = 0;
};

// Called for every generated token with the text that became final (may be empty while a UTF-8
// character or a possible stop string is incomplete). Return false to stop (FinishReason::cancelled).
// At the end, text still held back (if any) comes in one last call with token -1.
using OnToken = std::function<bool(int32_t token, std::string_view text)>;

class Session {
 public:
  // pool: shared thread pool (may be null: the session creates one with options.n_threads).
  explicit Session(std::shared_ptr<const Model> model, const SessionOptions& options = {}, ThreadPool* pool = nullptr);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Appends tokens at the current position and returns the logits of the last one [n_vocab]
  // (valid until the next call). Long inputs run in n_batch chunks. Throws omni::Error(too_large)
  // when they do not fit in the context, leaving the session unchanged.
  const float* eval(std::span<const int32_t> tokens);
  // Same, returning the logits of every token: [tokens.size(), n_vocab] row-major.
  std::vector<float> eval_all(std::span<const int32_t> tokens);
  // Mixed input (vision): tokens[i] >= 0 is a token id; tokens[i] < 0 (use kEmbeddingInput) takes
  // the next row of embd [count of negative entries, n_embd]. positions: optional RoPE position
  // per input (empty: consecutive after the last position), or for M-RoPE models (qwen2vl) three
  // planes t, h, w of tokens.size() each; text after such an image resumes at max(t, h, w) + 1.
  static constexpr int32_t kEmbeddingInput = -1;
  const float* eval_mixed(std::span<const int32_t> tokens, const float* embd, std::span<const int32_t> positions = {});

  // Evaluates `prompt` (appended to what the session holds) and generates until EOS (when the
  // constraint, if any, is complete), a stop string, max_tokens, a full context, cancel or
  // on_token returning false. The sampler's penalties see the session history.
  GenerateResult generate(std::span<const int32_t> prompt, const SamplingParams& params,
                          TokenConstraint* constraint = nullptr, const OnToken& on_token = nullptr,
                          const std::atomic<bool>* cancel = nullptr);

  void reset();                 // empties the context (same as truncate(0))
  void truncate(int n_keep);    // keeps the first n_keep tokens (prefix reuse)
  int n_past() const { return int(history_.size()); }
  int n_ctx() const { return n_ctx_; }
  const std::vector<int32_t>& history() const { return history_; }  // ids (-1 for embedding rows)
  const float* last_logits() const { return logits_.data(); }
  const std::vector<int32_t>& positions() const { return positions_; }  // RoPE position of every slot
  const Model& model() const { return *model_; }
  ThreadPool& pool() { return *pool_; }
  size_t kv_cache_bytes() const;

 private:
  void run_batches(std::span<const int32_t> tokens, const float* embd, std::span<const int32_t> positions,
                   float* all_logits);
  void shift_context();

  std::shared_ptr<const Model> model_;
  SessionOptions opt_;
  int n_ctx_ = 0;
  std::unique_ptr<ThreadPool> own_pool_;
  ThreadPool* pool_ = nullptr;
  std::unique_ptr<models::LlamaKvCache> cache_;
  std::unique_ptr<models::LlamaWorkspace> ws_;
  std::vector<int32_t> history_;
  std::vector<int32_t> positions_;  // RoPE position of every slot
  std::vector<float> logits_;       // [n_vocab] of the last evaluated token
  std::vector<float> sample_buf_;   // [n_vocab] copy the sampler may modify
  std::vector<int32_t> pos_scratch_;  // positions of one batch (reused)
};

}  // namespace omni::runtime
