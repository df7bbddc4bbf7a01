// BatchScheduler: the queue, admission, step assembly (decode rows first, then prompt chunks), the
// per-sequence generation loop (the same checks in the same order as Session::generate), and
// SeqStream, the hand-off of streamed output to the submitting thread.
#include "runtime/batch_scheduler.hpp"

#include <algorithm>
#include <cstring>

#include "omni/error.hpp"
#include "runtime/generation_text.hpp"

namespace omni::runtime {

DecodeKernels parse_decode_kernels(const std::string& name) {
  if (name == "gemm") return DecodeKernels::gemm;
  if (name == "matvec") return DecodeKernels::matvec;
  if (name == "mixed") return DecodeKernels::mixed;
  fail(ErrorCode::invalid_argument, "unknown decode kernels '", name, "' (gemm, matvec or mixed)");
}

const char* decode_kernels_name(DecodeKernels k) {
  switch (k) {
    case DecodeKernels::gemm: return "gemm";
    case DecodeKernels::matvec: return "matvec";
    case DecodeKernels::mixed: return "mixed";
  }
  return "?";
}

namespace {
using Clock = std::chrono::steady_clock;
double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}
constexpr int kMinPrefill = 16;  // prompt inputs per step even when many sequences are decoding
}  // namespace

// ---------------------------------------------------------------- SeqStream

bool SeqStream::next(SeqEvent& ev) {
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [&] { return !events_.empty() || done_; });
  if (events_.empty()) return false;
  ev = std::move(events_.front());
  events_.pop_front();
  return true;
}

GenerateResult SeqStream::result() {
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [&] { return done_; });
  if (error_) std::rethrow_exception(error_);
  return result_;
}

bool SeqStream::finished() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return done_;
}

void SeqStream::push(int32_t token, std::string text) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    events_.push_back(SeqEvent{token, std::move(text)});
  }
  cv_.notify_all();
}

void SeqStream::finish(GenerateResult r, std::exception_ptr error) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    result_ = std::move(r);
    error_ = std::move(error);
    done_ = true;
  }
  cv_.notify_all();
}

// ---------------------------------------------------------------- a sequence

struct BatchScheduler::Seq {
  Seq(SeqRequest r, const Model& m, KvBlockPool& pool, std::shared_ptr<SeqStream> o)
      : req(std::move(r)), out(std::move(o)), kv(pool), sampler(req.params, m.n_vocab()),
        text(m.tokenizer(), req.params.stop) {}
  bool cancelled() const { return out->cancel_.load() || (req.cancel && req.cancel->load()); }

  SeqRequest req;
  std::shared_ptr<SeqStream> out;
  KvSequence kv;
  Sampler sampler;
  GenerationText text;
  GenerateResult res;
  bool planes = false;    // positions are t, h, w planes
  bool shareable = false; // token ids at consecutive positions: its prompt KV can be shared
  bool hold = false;      // took a prefix another sequence writes in this step: reads on next step
  int planned = 0;        // prompt inputs in this step
  bool primed = false;    // the sampler has seen the prompt
  bool decoding = false;  // the prompt is read; next_token is the next input
  bool done = false;
  int n_fed = 0, n_embd_fed = 0;  // prompt inputs and embedding rows evaluated so far
  int n_past = 0, next_pos = 0;
  int32_t next_token = -1;
  std::vector<int32_t> pos, hw;  // this step's RoPE positions
  Clock::time_point t_admit, t_first;
};

// ---------------------------------------------------------------- BatchScheduler

namespace {
BatchOptions normalized(BatchOptions o, const Model& m) {
  if (o.max_seqs <= 0) fail(ErrorCode::invalid_argument, "batch scheduler: max_seqs must be positive, got ", o.max_seqs);
  if (o.n_ctx <= 0) o.n_ctx = std::max(1, std::min(m.n_ctx_train(), 4096));
  if (o.n_ctx > (1 << 20)) fail(ErrorCode::invalid_argument, "context length ", o.n_ctx, " is too large (max 1048576)");
  if (o.step_tokens <= 0) fail(ErrorCode::invalid_argument, "batch scheduler: step_tokens must be positive, got ", o.step_tokens);
  if (o.block_tokens <= 0) fail(ErrorCode::invalid_argument, "KV block of ", o.block_tokens, " tokens");
  if (o.n_blocks <= 0) o.n_blocks = o.max_seqs * ((o.n_ctx + o.block_tokens - 1) / o.block_tokens);
  o.max_queue = std::max(0, o.max_queue);
  if (o.max_seqs == 1) o.kernels = DecodeKernels::mixed;  // never two in a step: nothing to be invariant to
  return o;
}
const Model& need(const std::shared_ptr<const Model>& m) {
  if (!m) fail(ErrorCode::invalid_argument, "batch scheduler: no model");
  return *m;
}
}  // namespace

BatchScheduler::BatchScheduler(std::shared_ptr<const Model> model, const BatchOptions& options, ThreadPool* pool)
    : model_(std::move(model)),
      opt_(normalized(options, need(model_))),
      own_pool_(pool ? nullptr : std::make_unique<ThreadPool>(opt_.n_threads)),
      pool_(pool ? pool : own_pool_.get()),
      kv_(model_->hparams(), opt_.n_blocks, opt_.block_tokens, opt_.kv_type) {
  const int rows = std::max(opt_.step_tokens, opt_.max_seqs + kMinPrefill) + 1;  // + the padding row
  ws_ = std::make_unique<models::LlamaWorkspace>(model_->hparams(), rows, opt_.n_ctx, pool_->n_threads());
  logits_.assign(size_t(opt_.max_seqs + 1) * size_t(model_->n_vocab()), 0.0f);
  sample_buf_.assign(size_t(model_->n_vocab()), 0.0f);
  const auto& eog = model_->tokenizer().end_of_generation_tokens();
  end_tokens_.assign(eog.begin(), eog.end());
  thread_ = std::thread([this] { loop(); });
}

BatchScheduler::~BatchScheduler() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::shared_ptr<SeqStream> BatchScheduler::submit(SeqRequest r) {
  const Model& m = *model_;
  const int n = int(r.inputs.size());
  if (n == 0) fail(ErrorCode::invalid_argument, "the prompt is empty");
  size_t n_rows = 0;
  for (int32_t t : r.inputs) {
    if (t >= m.n_vocab()) fail(ErrorCode::invalid_argument, "token id ", t, " is outside the vocabulary (", m.n_vocab(), ")");
    n_rows += t < 0;
  }
  if (r.embd.size() != n_rows * size_t(m.n_embd()))
    fail(ErrorCode::invalid_argument, "the prompt has ", n_rows, " embedding inputs but ", r.embd.size(),
         " embedding values were given (", m.n_embd(), " per row)");
  const bool planes = r.positions.size() == 3 * size_t(n) && m.hparams().mrope;
  if (!r.positions.empty() && r.positions.size() != size_t(n) && !planes)
    fail(ErrorCode::invalid_argument, "positions has ", r.positions.size(), " entries for ", n, " inputs");
  if (n > opt_.n_ctx)
    fail(ErrorCode::too_large, "the prompt of ", n, " inputs does not fit in the context of ", opt_.n_ctx, " tokens");
  if (kv_.blocks_for(std::min(n + 1, opt_.n_ctx)) > kv_.n_blocks())
    fail(ErrorCode::too_large, "the prompt of ", n, " inputs does not fit in the KV cache (", kv_.n_blocks(), " blocks of ",
         kv_.block_tokens(), " tokens)");
  auto out = std::make_shared<SeqStream>();
  auto seq = std::make_unique<Seq>(std::move(r), m, kv_, out);
  seq->planes = planes;
  seq->shareable = n_rows == 0 && seq->req.positions.empty();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stop_) fail(ErrorCode::cancelled, "the batch scheduler is stopping");
    // Full: more waiting than max_queue beyond the sequences that are about to free up.
    const int free_seqs = std::max(0, opt_.max_seqs - n_active_.load());
    if (int(queue_.size()) >= opt_.max_queue + free_seqs)
      fail(ErrorCode::busy, "all ", opt_.max_seqs, " sequences are busy and ", queue_.size(),
           " requests are waiting; retry shortly");
    queue_.push_back(std::move(seq));
    n_queued_.store(int(queue_.size()));
  }
  wake_.notify_all();
  return out;
}

GenerateResult BatchScheduler::generate(SeqRequest request, const OnToken& on_token) {
  auto s = submit(std::move(request));
  SeqEvent ev;
  bool listening = true;
  while (s->next(ev))
    if (listening && on_token && !on_token(ev.token, ev.text)) {
      listening = false;
      s->cancel();
    }
  return s->result();
}

BatchScheduler::Stats BatchScheduler::stats() const {
  Stats st;
  st.queued = n_queued_.load();
  st.active = n_active_.load();
  st.kv_blocks = kv_.n_blocks();
  st.kv_blocks_used = kv_.n_used();
  st.steps = steps_.load();
  st.step_inputs = step_inputs_.load();
  st.shared_tokens = shared_tokens_.load();
  return st;
}

void BatchScheduler::loop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (stop_) break;
      admit_locked();
      if (active_.empty()) {
        wake_.wait_for(lock, std::chrono::milliseconds(20));
        continue;
      }
    }
    step();
  }
  for (auto& s : active_) end(*s, FinishReason::cancelled);
  active_.clear();
  n_active_.store(0);
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& s : queue_) end(*s, FinishReason::cancelled);
  queue_.clear();
  n_queued_.store(0);
}

// Drops waiting requests that were cancelled or ran out of time, then admits from the front of the
// queue while there are free sequences and KV blocks for the prompt (reserved now, so a prompt's
// KV counts as used from admission on).
void BatchScheduler::admit_locked() {
  const auto now = Clock::now();
  for (auto it = queue_.begin(); it != queue_.end();) {
    Seq& s = **it;
    if (s.cancelled() || now > s.req.deadline) {
      end(s, s.cancelled() ? FinishReason::cancelled : FinishReason::timeout);
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
  while (!queue_.empty() && int(active_.size()) < opt_.max_seqs) {
    Seq& s = *queue_.front();
    if (!s.kv.reserve(std::min(int(s.req.inputs.size()) + 1, opt_.n_ctx))) break;  // wait for blocks
    s.t_admit = now;
    active_.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  n_queued_.store(int(queue_.size()));
  n_active_.store(int(active_.size()));
}

void BatchScheduler::step() {
  const auto now = Clock::now();
  const int E = model_->n_embd();
  for (auto& sp : active_) {
    if (sp->cancelled()) end(*sp, FinishReason::cancelled);
    else if (now > sp->req.deadline) end(*sp, FinishReason::timeout);
  }
  auto drop_done = [&] {
    active_.erase(std::remove_if(active_.begin(), active_.end(), [](const std::unique_ptr<Seq>& s) { return s->done; }),
                  active_.end());
    n_active_.store(int(active_.size()));
  };
  drop_done();
  if (active_.empty()) return;

  // One input for every decoding sequence, then prompt chunks in admission order.
  std::vector<models::LlamaSeqInput> parts;
  std::vector<Seq*> owners;
  int n_decode = 0;
  for (auto& sp : active_) {
    Seq& s = *sp;
    if (!s.decoding) continue;
    if (!s.kv.reserve(s.n_past + 1)) { end(s, FinishReason::context); continue; }
    s.pos.assign(1, s.next_pos);
    models::LlamaSeqInput in;
    in.n_tokens = 1;
    in.tokens = &s.next_token;
    in.pos = s.pos.data();
    in.first_slot = s.n_past;
    in.blocks = s.kv.blocks().data();
    in.logits = true;
    in.decode = opt_.kernels == DecodeKernels::matvec;
    parts.push_back(in);
    owners.push_back(&s);
    ++n_decode;
  }
  int budget = std::max(opt_.step_tokens - n_decode, kMinPrefill);
  for (auto& sp : active_) sp->planned = 0;
  copies_.clear();
  for (size_t k = 0; k < active_.size(); ++k) {
    Seq& s = *active_[k];
    if (s.decoding || s.done || budget <= 0) continue;
    if (!s.primed) {  // the sampler's penalties see the prompt, as in Session::generate
      if (!start_prompt(s, k)) continue;  // waits for a sequence reading the same prefix
      for (int32_t id : s.req.inputs)
        if (id >= 0) s.sampler.accept(id);
      s.sampler.set_end_tokens(end_tokens_);
      s.primed = true;
    }
    if (s.hold) {  // its shared prefix is being written in this step
      s.hold = false;
      continue;
    }
    const int N = int(s.req.inputs.size()), a = s.n_fed, n = std::min(N - a, budget);
    s.pos.resize(size_t(n));
    s.hw.resize(s.planes ? 2 * size_t(n) : 0);
    for (int i = 0; i < n; ++i) {
      s.pos[size_t(i)] = s.req.positions.empty() ? s.next_pos + i : s.req.positions[size_t(a + i)];
      if (s.planes) {
        s.hw[size_t(i)] = s.req.positions[size_t(N + a + i)];
        s.hw[size_t(n + i)] = s.req.positions[size_t(2 * N + a + i)];
      }
    }
    models::LlamaSeqInput in;
    in.n_tokens = n;
    in.tokens = s.req.inputs.data() + a;
    in.embd = s.req.embd.empty() ? nullptr : s.req.embd.data() + size_t(s.n_embd_fed) * size_t(E);
    in.pos = s.pos.data();
    in.pos_hw = s.planes ? s.hw.data() : nullptr;
    in.first_slot = s.n_past;
    in.blocks = s.kv.blocks().data();
    in.logits = a + n == N;
    parts.push_back(in);
    owners.push_back(&s);
    s.planned = n;
    budget -= n;
  }
  if (parts.empty()) { drop_done(); return; }

  try {
    model_->decoder().forward_multi(*pool_, kv_.storage(), *ws_, parts.data(), int(parts.size()), logits_.data(),
                                    opt_.kernels != DecodeKernels::mixed);
  } catch (...) {
    const auto error = std::current_exception();
    for (const auto& c : copies_) kv_.release(c.src);
    copies_.clear();
    for (auto& sp : active_) end(*sp, FinishReason::cancelled, error);  // shared prefixes may be unwritten
    drop_done();
    return;
  }
  steps_++;
  for (const auto& c : copies_) {  // the last partial block of shared prefixes, now written
    kv_.storage().copy_slots(c.dst, c.src, c.n_slots);
    kv_.release(c.src);
  }
  copies_.clear();
  size_t j = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    Seq& s = *owners[i];
    const models::LlamaSeqInput& in = parts[i];
    const int last = in.n_tokens - 1;
    step_inputs_ += uint64_t(in.n_tokens);
    for (int k = 0; k < in.n_tokens; ++k) s.n_embd_fed += in.tokens[k] < 0;
    s.n_past += in.n_tokens;
    if (!s.decoding) s.n_fed += in.n_tokens;
    // The next position follows the last input's (for M-RoPE, the largest of its t, h, w).
    s.next_pos = (in.pos_hw ? std::max({in.pos[last], in.pos_hw[last], in.pos_hw[in.n_tokens + last]}) : in.pos[last]) + 1;
    if (in.logits) on_logits(s, logits_.data() + j++ * size_t(model_->n_vocab()));
  }
  drop_done();
}

// Before a sequence reads its prompt: when another live sequence has computed (or computes in
// this step) the KV of the same leading tokens, take it, whole blocks shared and the rows of a last
// partial block copied, and start after it. The KV of a position depends only on the tokens up to
// it, so this changes no result. A sequence that takes rows written in this step reads its own
// inputs from the next step on (hold). When an earlier sequence is still reading a longer common
// prefix, wait for it (false). The last prompt input is always computed, for the logits.
bool BatchScheduler::start_prompt(Seq& s, size_t index) {
  if (!opt_.share_prefixes || !s.shareable) return true;
  const std::vector<int32_t>& p = s.req.inputs;
  const int limit = int(p.size()) - 1;
  int best = 0;
  Seq* donor = nullptr;
  for (size_t j = 0; j < active_.size(); ++j) {
    Seq& d = *active_[j];
    if (&d == &s || d.done || !d.shareable || !d.primed) continue;
    const std::vector<int32_t>& q = d.req.inputs;
    const int lim = std::min(limit, int(q.size()));
    int common = 0;
    while (common < lim && p[size_t(common)] == q[size_t(common)]) ++common;
    const int written = d.n_fed + d.planned;  // prompt slots d holds after this step
    if (j < index && !d.decoding && common > written) return false;  // it reads more of it later
    if (std::min(common, written) > best) {
      best = std::min(common, written);
      donor = &d;
    }
  }
  if (!donor) return true;
  const int bt = kv_.block_tokens(), full = best / bt, rest = best % bt;
  s.kv.release();  // what admission reserved; the shared blocks take the place of the first ones
  s.kv.share(std::vector<int32_t>(donor->kv.blocks().begin(), donor->kv.blocks().begin() + full));
  if (!s.kv.reserve(std::min(int(p.size()) + 1, opt_.n_ctx))) fail(ErrorCode::internal, "KV blocks vanished while sharing");
  s.hold = best > donor->n_fed;
  if (rest > 0) {
    const int src = donor->kv.blocks()[size_t(full)], dst = s.kv.blocks()[size_t(full)];
    if (s.hold) {  // copied once this step has written it; kept alive until then
      kv_.retain(src);
      copies_.push_back({dst, src, rest});
    } else {
      kv_.storage().copy_slots(dst, src, rest);
    }
  }
  s.n_fed = s.n_past = s.next_pos = best;
  shared_tokens_ += uint64_t(best);
  return true;
}

// One turn of the generation loop for a sequence whose last input's logits are ready: the same
// checks in the same order as Session::generate.
void BatchScheduler::on_logits(Seq& s, const float* logits) {
  if (!s.decoding) {
    s.t_first = Clock::now();
    s.res.prompt_ms = ms_between(s.t_admit, s.t_first);
    s.decoding = true;
  }
  try {
    const SamplingParams& p = s.req.params;
    if (p.max_tokens > 0 && int(s.res.tokens.size()) >= p.max_tokens) return end(s, FinishReason::length);
    std::memcpy(sample_buf_.data(), logits, sizeof(float) * sample_buf_.size());
    const int id = s.sampler.sample(sample_buf_.data(), s.req.constraint.get());
    s.res.tokens.push_back(id);
    if (model_->tokenizer().is_end_of_generation(id) && !p.ignore_eos) return end(s, FinishReason::stop);
    s.sampler.accept(id, s.req.constraint.get());
    s.out->push(id, s.text.push(id));
    if (s.text.stopped()) return end(s, FinishReason::stop);
    if (s.n_past >= opt_.n_ctx) return end(s, FinishReason::context);
    // (Session::generate evaluates the last token before it notices; nothing needs its logits.)
    if (p.max_tokens > 0 && int(s.res.tokens.size()) >= p.max_tokens) return end(s, FinishReason::length);
    s.next_token = id;
  } catch (...) {
    end(s, FinishReason::stop, std::current_exception());
  }
}

// Ends a sequence: the held-back text, the result, and its KV blocks back to the pool.
void BatchScheduler::end(Seq& s, FinishReason reason, std::exception_ptr error) {
  if (s.done) return;
  s.done = true;
  if (!error) {
    std::string rest = s.text.finish();
    if (!rest.empty()) s.out->push(-1, std::move(rest));
  }
  s.kv.release();
  s.res.text = s.text.text();
  s.res.finish = reason;
  s.res.n_prompt = int(s.req.inputs.size());
  s.res.generate_ms = s.decoding ? ms_between(s.t_first, Clock::now()) : 0;
  s.out->finish(std::move(s.res), std::move(error));
}

}  // namespace omni::runtime
