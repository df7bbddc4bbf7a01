// runtime::BatchScheduler: continuous batching. Requests wait in a bounded queue; a scheduler thread
// admits them as sequences (KV blocks from one shared pool), and every step runs one forward pass
// over all of them: one input per decoding sequence plus chunks of the prompts still being read,
// so a long prompt does not stall the others. A prompt that begins like one another live sequence
// has already read shares that sequence's KV blocks instead of recomputing them. Each sequence
// samples with its own sampler, constraint and stop strings; its output streams to the submitter
// through a SeqStream. Cancellation and deadlines are checked every step; an ended sequence's
// blocks go back at once. A request's output does not depend on what else runs (bit for bit).
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/thread_pool.hpp"
#include "runtime/kv_pool.hpp"
#include "runtime/model.hpp"
#include "runtime/sampling.hpp"
#include "runtime/session.hpp"

namespace omni::runtime {

// Which kernels the rows of a step take (omni serve --decode-kernels).
enum class DecodeKernels {
  gemm,    // every row the GEMM kernels: a request's output is independent of what else runs
  matvec,  // decoding rows the matrix-vector kernel, prompt rows the GEMM: also independent, and a
           // lone stream decodes at full speed (several streams at once are slower than with gemm)
  mixed,   // a lone row the matrix-vector kernel, several the GEMM: fast either way, but a request's
           // output may differ by rounding with what else runs
};
// "gemm" | "matvec" | "mixed" (invalid_argument otherwise); and back.
DecodeKernels parse_decode_kernels(const std::string& name);
const char* decode_kernels_name(DecodeKernels k);

struct BatchOptions {
  int max_seqs = 4;       // sequences decoded together
  int n_ctx = 4096;       // most slots of one sequence (prompt + output)
  int block_tokens = 16;  // KV block size in tokens (divides 256)
  int n_blocks = 0;       // KV pool size; 0: enough for max_seqs full contexts
  int step_tokens = 64;   // most inputs per step: one per decoding sequence, the rest prompt chunks
  int max_queue = 64;     // requests waiting for a sequence beyond which submit() refuses (busy)
  int n_threads = 0;      // threads of the scheduler's own pool when none is given; 0: all cores
  DType kv_type = DType::f16;
  bool share_prefixes = true;   // reuse the KV of a prompt prefix another live sequence has read
  DecodeKernels kernels = DecodeKernels::gemm;  // mixed when max_seqs is 1 (nothing to be invariant to)
};

struct SeqRequest {
  std::vector<int32_t> inputs;     // prompt token ids; an entry < 0 takes the next row of embd
  std::vector<float> embd;         // [count of entries < 0, n_embd] (vision rows)
  std::vector<int32_t> positions;  // empty (consecutive), one per input, or t, h, w planes (M-RoPE)
  SamplingParams params;
  std::shared_ptr<TokenConstraint> constraint;      // may be null
  std::shared_ptr<const std::atomic<bool>> cancel;  // may be null; polled every step
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

// A piece of streamed output: the token (-1 for the final flush) and the text that became final.
struct SeqEvent {
  int32_t token = -1;
  std::string text;
};

// The submitter's end of a sequence.
class SeqStream {
 public:
  // Waits for the next piece: true with `ev` filled, false once the sequence has ended.
  bool next(SeqEvent& ev);
  // Waits for the end; the outcome, or the error the sequence ended with (rethrown).
  GenerateResult result();
  void cancel() { cancel_.store(true); }  // ends it at the next step (FinishReason::cancelled)
  bool finished() const;

 private:
  friend class BatchScheduler;
  void push(int32_t token, std::string text);
  void finish(GenerateResult r, std::exception_ptr error);

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<SeqEvent> events_;
  bool done_ = false;
  GenerateResult result_;
  std::exception_ptr error_;
  std::atomic<bool> cancel_{false};
};

class BatchScheduler {
 public:
  // pool: shared compute pool (may be null: the scheduler creates one with options.n_threads).
  BatchScheduler(std::shared_ptr<const Model> model, const BatchOptions& options = {}, ThreadPool* pool = nullptr);
  ~BatchScheduler();  // what is still queued or running ends as cancelled
  BatchScheduler(const BatchScheduler&) = delete;
  BatchScheduler& operator=(const BatchScheduler&) = delete;

  // Queues a request. Throws omni::Error: invalid_argument (bad ids, embedding rows or positions),
  // too_large (the prompt does not fit a sequence), busy (the queue is full).
  std::shared_ptr<SeqStream> submit(SeqRequest request);
  // submit(), then on_token on this thread for every piece (returning false cancels), then the
  // result (what Session::generate returns for the same request).
  GenerateResult generate(SeqRequest request, const OnToken& on_token = nullptr);

  struct Stats {
    int queued = 0, active = 0, kv_blocks_used = 0, kv_blocks = 0;
    uint64_t steps = 0, step_inputs = 0;  // forward passes, and inputs over all of them
    uint64_t shared_tokens = 0;           // prompt inputs taken from another sequence's KV
  };
  Stats stats() const;
  int queue_depth() const { return n_queued_.load(); }
  double kv_use() const { return kv_.use(); }
  int n_ctx() const { return opt_.n_ctx; }
  const BatchOptions& options() const { return opt_; }
  const Model& model() const { return *model_; }
  ThreadPool& pool() { return *pool_; }

 private:
  struct Seq;
  void loop();
  void step();
  void admit_locked();
  bool start_prompt(Seq& s, size_t index);
  void on_logits(Seq& s, const float* logits);
  void end(Seq& s, FinishReason reason, std::exception_ptr error = nullptr);

  std::shared_ptr<const Model> model_;
  BatchOptions opt_;
  std::unique_ptr<ThreadPool> own_pool_;
  ThreadPool* pool_ = nullptr;
  KvBlockPool kv_;
  std::unique_ptr<models::LlamaWorkspace> ws_;
  std::vector<float> logits_, sample_buf_;
  struct Copy { int dst, src, n_slots; };
  std::vector<Copy> copies_;  // shared partial blocks to copy after this step's forward pass
  std::vector<int> end_tokens_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::unique_ptr<Seq>> queue_;  // guarded by mutex_
  std::vector<std::unique_ptr<Seq>> active_;  // the scheduler thread's only
  std::atomic<int> n_queued_{0}, n_active_{0};
  std::atomic<uint64_t> steps_{0}, step_inputs_{0}, shared_tokens_{0};
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace omni::runtime
