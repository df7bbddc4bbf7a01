// runtime::Session: batching inputs through the decoder, the KV cache bookkeeping, context
// shifting, and the generation loop (sampling, stop strings, UTF-8-safe streaming).
#include "runtime/session.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "omni/error.hpp"
#include "runtime/generation_text.hpp"

namespace omni::runtime {

namespace {
double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::stop: return "stop";
    case FinishReason::length: return "length";
    case FinishReason::context: return "context";
    case FinishReason::cancelled: return "cancelled";
    case FinishReason::timeout: return "timeout";
  }
  return "?";
}

Session::Session(std::shared_ptr<const Model> model, const SessionOptions& options, ThreadPool* pool)
    : model_(std::move(model)), opt_(options) {
  if (!model_) fail(ErrorCode::invalid_argument, "session: no model");
  const auto& hp = model_->hparams();
  n_ctx_ = opt_.n_ctx > 0 ? opt_.n_ctx : std::min(hp.n_ctx_train, 4096);
  if (n_ctx_ <= 0) n_ctx_ = 4096;
  if (n_ctx_ > (1 << 20)) fail(ErrorCode::invalid_argument, "context length ", n_ctx_, " is too large (max 1048576)");
  if (opt_.n_batch <= 0) fail(ErrorCode::invalid_argument, "batch size must be positive, got ", opt_.n_batch);
  opt_.n_batch = std::min(opt_.n_batch, n_ctx_);
  if (pool) {
    pool_ = pool;
  } else {
    own_pool_ = std::make_unique<ThreadPool>(opt_.n_threads);
    pool_ = own_pool_.get();
  }
  cache_ = std::make_unique<models::LlamaKvCache>(hp, n_ctx_, opt_.kv_type);
  ws_ = std::make_unique<models::LlamaWorkspace>(hp, opt_.n_batch, n_ctx_, pool_->n_threads());
  logits_.assign(size_t(hp.n_vocab), 0.0f);
  sample_buf_.assign(size_t(hp.n_vocab), 0.0f);
  history_.reserve(size_t(n_ctx_));
  positions_.reserve(size_t(n_ctx_));
}

Session::~Session() = default;

size_t Session::kv_cache_bytes() const { return cache_->bytes(); }

void Session::reset() { truncate(0); }

void Session::truncate(int n_keep) {
  n_keep = std::clamp(n_keep, 0, n_past());
  history_.resize(size_t(n_keep));
  positions_.resize(size_t(n_keep));
}

void Session::run_batches(std::span<const int32_t> tokens, const float* embd, std::span<const int32_t> positions,
                          float* all_logits) {
  const int n = int(tokens.size());
  if (n == 0) fail(ErrorCode::invalid_argument, "nothing to evaluate: the input is empty");
  if (n_past() + n > n_ctx_)
    fail(ErrorCode::too_large, "input of ", n, " tokens does not fit in the context: ", n_past(), " of ", n_ctx_,
         " positions are used (raise --ctx or shorten the prompt)");
  // positions: empty, one per input, or (M-RoPE models) three planes t, h, w of n each.
  const bool planes = positions.size() == 3 * tokens.size() && model_->hparams().mrope;
  if (!positions.empty() && positions.size() != tokens.size() && !planes)
    fail(ErrorCode::invalid_argument, "positions has ", positions.size(), " entries for ", n, " inputs",
         model_->hparams().mrope ? " (give n or 3n: t, h, w planes)" : "");
  const int n_vocab = model_->n_vocab();
  int next_pos = positions_.empty() ? 0 : positions_.back() + 1;
  std::vector<int32_t>& pos_chunk = pos_scratch_;
  const float* embd_next = embd;
  for (int done = 0; done < n;) {
    const int m = std::min(opt_.n_batch, n - done);
    pos_chunk.resize(size_t(m));
    for (int i = 0; i < m; ++i) pos_chunk[size_t(i)] = positions.empty() ? next_pos + i : positions[size_t(done + i)];
    std::vector<int32_t> hw;  // M-RoPE h and w planes of this chunk
    if (planes) {
      hw.resize(size_t(2 * m));
      for (int i = 0; i < m; ++i) {
        hw[size_t(i)] = positions[size_t(n + done + i)];
        hw[size_t(m + i)] = positions[size_t(2 * n + done + i)];
      }
    }
    models::LlamaBatch b;
    b.n_tokens = m;
    b.tokens = tokens.data() + done;
    b.embd = embd_next;
    b.pos = pos_chunk.data();
    b.pos_hw = planes ? hw.data() : nullptr;
    b.first_slot = n_past();
    b.all_logits = all_logits != nullptr;
    float* out = all_logits ? all_logits + size_t(done) * size_t(n_vocab) : logits_.data();
    model_->decoder().forward(*pool_, *cache_, *ws_, b, out);
    int n_embd_rows = 0;
    for (int i = 0; i < m; ++i) {
      history_.push_back(tokens[size_t(done + i)] < 0 ? -1 : tokens[size_t(done + i)]);
      // The scalar position: max(t, h, w), so text after an image resumes at pos0 + max(nx, ny).
      positions_.push_back(planes ? std::max({pos_chunk[size_t(i)], hw[size_t(i)], hw[size_t(m + i)]}) : pos_chunk[size_t(i)]);
      if (tokens[size_t(done + i)] < 0) ++n_embd_rows;
    }
    if (embd_next) embd_next += size_t(n_embd_rows) * size_t(model_->n_embd());
    next_pos = positions_.back() + 1;
    done += m;
  }
  if (all_logits) std::memcpy(logits_.data(), all_logits + size_t(n - 1) * size_t(n_vocab), sizeof(float) * size_t(n_vocab));
}

const float* Session::eval(std::span<const int32_t> tokens) {
  for (int32_t t : tokens)
    if (t < 0 || t >= model_->n_vocab())
      fail(ErrorCode::invalid_argument, "token id ", t, " is outside the vocabulary (", model_->n_vocab(), ")");
  run_batches(tokens, nullptr, {}, nullptr);
  return logits_.data();
}

std::vector<float> Session::eval_all(std::span<const int32_t> tokens) {
  for (int32_t t : tokens)
    if (t < 0 || t >= model_->n_vocab())
      fail(ErrorCode::invalid_argument, "token id ", t, " is outside the vocabulary (", model_->n_vocab(), ")");
  std::vector<float> out(tokens.size() * size_t(model_->n_vocab()));
  run_batches(tokens, nullptr, {}, out.data());
  return out;
}

const float* Session::eval_mixed(std::span<const int32_t> tokens, const float* embd, std::span<const int32_t> positions) {
  for (int32_t t : tokens) {
    if (t >= model_->n_vocab()) fail(ErrorCode::invalid_argument, "token id ", t, " is outside the vocabulary (", model_->n_vocab(), ")");
    if (t < 0 && !embd) fail(ErrorCode::invalid_argument, "eval_mixed: an embedding input without embedding rows");
  }
  run_batches(tokens, embd, positions, nullptr);
  return logits_.data();
}

// Drops the older half of the history after the first n_keep tokens and re-evaluates the rest
// (positions restart consecutively, so the cache is rebuilt rather than re-rotated).
void Session::shift_context() {
  const int n_keep = std::clamp(opt_.n_keep, 0, n_past());
  const int n_discard = (n_past() - n_keep) / 2;
  if (n_discard <= 0) fail(ErrorCode::too_large, "context of ", n_ctx_, " tokens is full and cannot be shifted");
  if (std::find(history_.begin(), history_.end(), -1) != history_.end())
    fail(ErrorCode::too_large, "context is full and holds embedding inputs, which cannot be shifted");
  std::vector<int32_t> kept(history_.begin(), history_.begin() + n_keep);
  kept.insert(kept.end(), history_.begin() + n_keep + n_discard, history_.end());
  truncate(0);
  eval(kept);
}

GenerateResult Session::generate(std::span<const int32_t> prompt, const SamplingParams& params,
                                 TokenConstraint* constraint, const OnToken& on_token,
                                 const std::atomic<bool>* cancel) {
  GenerateResult r;
  const auto t0 = std::chrono::steady_clock::now();
  if (!prompt.empty()) eval(prompt);
  else if (history_.empty()) fail(ErrorCode::invalid_argument, "generate: empty prompt and empty session");
  r.n_prompt = int(prompt.size());
  r.prompt_ms = ms_since(t0);
  const auto t1 = std::chrono::steady_clock::now();

  const text::Tokenizer& tok = model_->tokenizer();
  Sampler sampler(params, model_->n_vocab());
  sampler.set_end_tokens(std::vector<int>(tok.end_of_generation_tokens().begin(), tok.end_of_generation_tokens().end()));
  for (int32_t id : history_)
    if (id >= 0) sampler.accept(id);
  GenerationText out_text(tok, params.stop);

  for (;;) {
    if (cancel && cancel->load()) { r.finish = FinishReason::cancelled; break; }
    if (params.max_tokens > 0 && int(r.tokens.size()) >= params.max_tokens) { r.finish = FinishReason::length; break; }
    std::memcpy(sample_buf_.data(), logits_.data(), sizeof(float) * logits_.size());
    const int id = sampler.sample(sample_buf_.data(), constraint);
    r.tokens.push_back(id);
    if (tok.is_end_of_generation(id) && !params.ignore_eos) { r.finish = FinishReason::stop; break; }
    sampler.accept(id, constraint);
    const std::string out = out_text.push(id);
    if (on_token && !on_token(id, out)) { r.finish = FinishReason::cancelled; break; }
    if (out_text.stopped()) { r.finish = FinishReason::stop; break; }
    if (n_past() >= n_ctx_) {
      if (!opt_.context_shift) { r.finish = FinishReason::context; break; }
      shift_context();
    }
    const int32_t one[1] = {id};
    eval(std::span<const int32_t>(one, 1));
  }
  const std::string rest = out_text.finish();
  if (on_token && !rest.empty()) on_token(-1, rest);
  r.text = out_text.text();
  r.generate_ms = ms_since(t1);
  return r;
}

}  // namespace omni::runtime
