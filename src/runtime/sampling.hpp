// Token sampling: the parameters of a request, the TokenConstraint interface that grammar / JSON
// schema constrained decoding implements, and the Sampler chain that turns logits into a token.
#pragma once
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace omni::runtime {

// A constraint on which tokens may come next (grammar / JSON schema). For each generated token the
// sampler calls mask(logits) before sampling (setting disallowed logits to -INFINITY), samples, and
// then calls accept(token). End-of-generation tokens (EOS, <|im_end|> ...) are the sampler's job:
// with a constraint they are allowed exactly when is_complete() is true, mask() need not treat
// them, and accept() is never called with one.
class TokenConstraint {
 public:
  virtual ~TokenConstraint() = default;
  virtual void mask(float* logits, int n_vocab) = 0;  // disallow what cannot continue
  virtual void accept(int token) = 0;                 // advance the state; throws if not allowed
  virtual bool is_complete() const = 0;               // output may end here (EOS allowed)
  // Tokens that are the only possible continuation (the session may feed them without sampling).
  virtual std::vector<int> forced_tokens() { return {}; }
};

// What one request asks of the sampler and of the generation loop.
struct SamplingParams {
  float temperature = 0.8f;   // <= 0: greedy (argmax)
  int top_k = 40;             // <= 0: off
  float top_p = 0.95f;        // >= 1: off
  float min_p = 0.05f;        // <= 0: off (relative to the most probable token)
  float repeat_penalty = 1.0f;  // 1: off; divides positive / multiplies negative logits of recent tokens
  int repeat_last_n = 64;     // how many recent tokens the penalties look at (-1: all)
  float presence_penalty = 0.0f;   // subtracted once from every recent token's logit
  float frequency_penalty = 0.0f;  // subtracted per occurrence
  std::map<int, float> logit_bias; // added to the logit of a token (-INFINITY bans it)
  uint64_t seed = 0xC0FFEE;   // RNG seed; the same seed reproduces the same output
  int max_tokens = 256;       // generation stops after this many tokens (<= 0: until context full)
  std::vector<std::string> stop;   // generation stops before any of these strings
  bool ignore_eos = false;    // keep generating past EOS (benchmarks)
};

// The sampler chain: logit bias -> penalties -> constraint mask -> temperature / top-k / top-p /
// min-p -> pick (greedy when temperature <= 0). Holds its RNG and the recent-token history; no
// allocation per call after the first.
class Sampler {
 public:
  Sampler(const SamplingParams& params, int n_vocab);

  // Picks the next token from logits [n_vocab] (modified in place: bias, penalties, mask).
  // constraint may be null. Does not record the token: call accept() with what was chosen.
  int sample(float* logits, TokenConstraint* constraint = nullptr);
  // Records a token in the penalty history (prompt tokens too, if penalties should see them) and
  // advances the constraint when given.
  void accept(int token, TokenConstraint* constraint = nullptr);
  // Forgets the history and re-seeds the RNG (same seed -> same sequence again).
  void reset();
  // End-of-generation token ids (see TokenConstraint): allowed with a constraint only when complete.
  void set_end_tokens(std::vector<int> ids) { end_tokens_ = std::move(ids); }
  bool is_end_token(int id) const;

  const SamplingParams& params() const { return params_; }
  int n_vocab() const { return n_vocab_; }

 private:
  void apply_penalties(float* logits);

  SamplingParams params_;
  int n_vocab_;
  std::mt19937_64 rng_;
  std::vector<int> history_;
  std::vector<int> end_tokens_;
  std::vector<float> end_saved_;                   // scratch: end-token logits before the mask
  std::vector<std::pair<float, int>> candidates_;  // scratch, reused
  std::vector<int> counts_;                        // scratch for penalties, size n_vocab
};

}  // namespace omni::runtime
