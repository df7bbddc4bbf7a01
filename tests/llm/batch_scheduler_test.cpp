// Continuous batching, runtime side: BatchScheduler runs concurrent requests exactly as it runs them
// one at a time (seeded sampling, chunked prompts, shared prompt prefixes, stop strings), follows
// the golden greedy reference, takes embedding rows, frees a cancelled sequence's KV blocks at its
// next step, ends sequences past their deadline, and refuses what it cannot take.
#include <gtest/gtest.h>

#include "llm_test_util.hpp"

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "kernels/kernels.hpp"
#include "omni/error.hpp"
#include "runtime/batch_scheduler.hpp"

using namespace omni;
using Clock = std::chrono::steady_clock;

namespace {

std::string data(const std::string& name) { return omni::test::llm_data(name); }

std::vector<int32_t> prompt_of(int n, int seed, int n_vocab) {
  std::vector<int32_t> p;
  for (int i = 0; i < n; ++i) p.push_back(int32_t((seed * 131 + i * 37 + i * i) % (n_vocab - 3)));
  return p;
}

runtime::SamplingParams sampled(uint64_t seed, int max_tokens) {
  runtime::SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0;
  p.seed = seed;
  p.max_tokens = max_tokens;
  p.repeat_penalty = 1.1f;  // the penalty history includes the prompt
  return p;
}

runtime::SeqRequest request(std::vector<int32_t> prompt, runtime::SamplingParams p) {
  runtime::SeqRequest r;
  r.inputs = std::move(prompt);
  r.params = std::move(p);
  return r;
}

struct Outcome {
  std::vector<int32_t> tokens;
  std::string text, streamed;
  runtime::FinishReason finish;
  bool operator==(const Outcome& o) const = default;
};

Outcome run(runtime::BatchScheduler& s, runtime::SeqRequest r) {
  Outcome o;
  auto res = s.generate(std::move(r), [&](int32_t, std::string_view t) { o.streamed += t; return true; });
  o.tokens = res.tokens;
  o.text = res.text;
  o.finish = res.finish;
  return o;
}

TEST(BatchScheduler, ConcurrentRequestsEqualOneAtATime) {
  for (const char* name : {"mini-qwen2-q4_k_m", "mini-llama-q8_0", "mini-qwen3-f16"})
  for (const auto kernels : {runtime::DecodeKernels::gemm, runtime::DecodeKernels::matvec}) {
    SCOPED_TRACE(std::string(name) + " " + runtime::decode_kernels_name(kernels));
    auto model = runtime::Model::load(data(std::string(name) + ".gguf"));
    const int V = model->n_vocab();
    // Small steps, so that long prompts are read in chunks alongside other sequences' decoding.
    runtime::BatchScheduler s(model, {.max_seqs = 6, .n_ctx = 256, .block_tokens = 8, .step_tokens = 24, .n_threads = 2,
                                      .kernels = kernels});
    const int n = 12;
    auto req = [&](int i) {
      auto p = sampled(uint64_t(500 + i), 10 + i % 5);
      if (i % 4 == 1) p.stop = {"e", "a"};
      if (i % 4 == 2) p.ignore_eos = true;
      return request(prompt_of(3 + 9 * (i % 5), i, V), p);
    };
    std::vector<Outcome> alone(n), together(n);
    for (int i = 0; i < n; ++i) alone[size_t(i)] = run(s, req(i));
    const uint64_t steps_before = s.stats().steps;
    std::vector<std::thread> th;
    for (int i = 0; i < n; ++i) th.emplace_back([&, i] { together[size_t(i)] = run(s, req(i)); });
    for (auto& t : th) t.join();
    int distinct = 0;
    size_t total = 0;
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(alone[size_t(i)].tokens, together[size_t(i)].tokens) << "request " << i;
      EXPECT_EQ(alone[size_t(i)].text, together[size_t(i)].text) << "request " << i;
      EXPECT_EQ(alone[size_t(i)].finish, together[size_t(i)].finish) << "request " << i;
      EXPECT_EQ(together[size_t(i)].streamed, together[size_t(i)].text) << "request " << i;
      distinct += i > 0 && alone[size_t(i)].tokens != alone[size_t(i - 1)].tokens;
      total += alone[size_t(i)].tokens.size();
    }
    EXPECT_GT(distinct, 0);
    // Decoding was shared: fewer forward passes than tokens generated.
    EXPECT_LT(s.stats().steps - steps_before, total);
    EXPECT_EQ(s.stats().kv_blocks_used, 0);
  }
}

// Requests whose prompts begin alike share the KV of the common prefix (computed once) and still
// produce exactly what they produce alone; shared blocks go back to the pool with their last user.
TEST(BatchScheduler, SharedPromptPrefixesChangeNothing) {
  auto model = runtime::Model::load(data("mini-qwen2-q4_k_m.gguf"));
  const int V = model->n_vocab();
  runtime::BatchScheduler s(model, {.max_seqs = 8, .n_ctx = 256, .block_tokens = 16, .step_tokens = 64, .n_threads = 2});
  const std::vector<int32_t> base = prompt_of(53, 9, V);
  auto req = [&](int i) {
    std::vector<int32_t> p = base;
    if (i % 3 == 1) p.resize(20 + size_t(i));           // a shorter prompt: a prefix of the others
    if (i % 3 == 2) p[size_t(30 + i)] = int32_t(7 + i);  // diverges inside the third block
    return request(p, sampled(uint64_t(70 + i), 12));
  };
  const int n = 10;
  std::vector<Outcome> alone(n), together(n);
  for (int i = 0; i < n; ++i) alone[size_t(i)] = run(s, req(i));
  EXPECT_EQ(s.stats().shared_tokens, 0u);  // one at a time: nothing live to share with
  std::vector<std::thread> th;
  for (int i = 0; i < n; ++i) th.emplace_back([&, i] { together[size_t(i)] = run(s, req(i)); });
  for (auto& t : th) t.join();
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(alone[size_t(i)].tokens, together[size_t(i)].tokens) << "request " << i;
    EXPECT_EQ(alone[size_t(i)].text, together[size_t(i)].text) << "request " << i;
  }
  EXPECT_GT(s.stats().shared_tokens, 100u);
  EXPECT_EQ(s.stats().kv_blocks_used, 0);
  // Identical prompts at once: the later ones wait for the first to read it, then compute one input.
  const uint64_t shared_before = s.stats().shared_tokens, inputs_before = s.stats().step_inputs;
  std::vector<std::shared_ptr<runtime::SeqStream>> outs;
  for (int i = 0; i < 6; ++i) outs.push_back(s.submit(request(base, sampled(uint64_t(90 + i), 1))));
  for (auto& o : outs) EXPECT_EQ(o->result().tokens.size(), 1u);
  const uint64_t shared = s.stats().shared_tokens - shared_before;
  EXPECT_GE(shared, uint64_t(base.size() - 1));  // at least one sequence reused a whole prompt
  EXPECT_EQ(s.stats().step_inputs - inputs_before, 6 * base.size() - shared);
  EXPECT_EQ(s.stats().kv_blocks_used, 0);
}

// Greedy decoding through the scheduler follows the float64 reference (as Session does in
// golden_test): f32/f16 models every step; others at least 4 steps, diverging only at a near-tie.
TEST(BatchScheduler, GreedyFollowsTheGoldenReference) {
  for (const char* name : {"mini-qwen2-f32", "mini-qwen3-f16", "mini-qwen2-q4_k_m", "mini-llama-q8_0"}) {
    SCOPED_TRACE(name);
    const bool exact = std::string(name).find("f32") != std::string::npos || std::string(name).find("f16") != std::string::npos;
    auto model = runtime::Model::load(data(std::string(name) + ".gguf"));
    std::ifstream f(data(std::string(name) + ".greedy.json"));
    const auto expect = nlohmann::json::parse(f).get<std::vector<int32_t>>();
    runtime::BatchScheduler s(model, {.max_seqs = 2, .n_ctx = 64, .n_threads = 2});
    runtime::SamplingParams p;
    p.temperature = 0;
    p.max_tokens = int(expect.size());
    p.ignore_eos = true;
    // In company: another request decodes alongside.
    auto other = s.submit(request(prompt_of(9, 3, model->n_vocab()), sampled(3, 20)));
    const auto got = s.generate(request({1, 50, 100}, p)).tokens;
    other->result();
    ASSERT_EQ(got.size(), expect.size());
    size_t matched = 0;
    while (matched < got.size() && got[matched] == expect[matched]) ++matched;
    EXPECT_GE(matched, exact ? expect.size() : size_t(4));
  }
}

TEST(BatchScheduler, EmbeddingRowsEqualTokenIds) {
  auto model = runtime::Model::load(data("mini-qwen2-f32.gguf"));
  const auto& emb = model->file().tensor("token_embd.weight");
  const int E = model->n_embd();
  const std::vector<int32_t> prompt = prompt_of(30, 5, model->n_vocab());
  runtime::BatchScheduler s(model, {.max_seqs = 2, .n_ctx = 64, .step_tokens = 20, .n_threads = 2});
  runtime::SeqRequest mixed = request(prompt, sampled(9, 8));
  for (int i : {2, 3, 17, 25}) {  // rows on both sides of a prompt chunk boundary
    const size_t at = mixed.embd.size();
    mixed.embd.resize(at + size_t(E));
    kernels::dequantize_row(emb.type, emb.data + size_t(prompt[size_t(i)]) * row_bytes(emb.type, E), mixed.embd.data() + at, E);
    mixed.inputs[size_t(i)] = runtime::Session::kEmbeddingInput;
  }
  const Outcome a = run(s, request(prompt, sampled(9, 8)));
  const Outcome b = run(s, mixed);
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.text, b.text);
  mixed.embd.pop_back();  // one value short
  EXPECT_THROW(s.submit(mixed), Error);
}

// Stop strings, max_tokens and the end-of-generation token end a sequence as in Session::generate.
TEST(BatchScheduler, FinishesLikeSessionGenerate) {
  auto model = runtime::Model::load(data("mini-qwen2-f32.gguf"));
  runtime::BatchScheduler s(model, {.max_seqs = 2, .n_ctx = 24, .n_threads = 2});
  runtime::Session session(model, {.n_ctx = 24, .n_threads = 2});
  runtime::SamplingParams p;
  p.temperature = 0;
  p.max_tokens = 12;
  p.ignore_eos = true;
  const std::vector<int32_t> prompt = {1, 50, 100};
  const auto ref = session.generate(prompt, p);
  Outcome o = run(s, request(prompt, p));
  EXPECT_EQ(o.tokens, ref.tokens);
  EXPECT_EQ(o.text, ref.text);
  EXPECT_EQ(o.finish, runtime::FinishReason::length);
  ASSERT_GE(ref.text.size(), 4u);
  p.stop = {ref.text.substr(ref.text.size() / 2, 2)};  // a stop string in the middle of the output
  session.reset();
  const auto ref_stop = session.generate(prompt, p);
  o = run(s, request(prompt, p));
  EXPECT_EQ(ref_stop.finish, runtime::FinishReason::stop);
  EXPECT_EQ(o.finish, runtime::FinishReason::stop);
  EXPECT_EQ(o.text, ref_stop.text);
  EXPECT_EQ(o.streamed, ref_stop.text);
  EXPECT_EQ(o.tokens, ref_stop.tokens);
  p.stop.clear();
  p.max_tokens = 100;  // the context (24) ends it
  o = run(s, request(prompt, p));
  EXPECT_EQ(o.finish, runtime::FinishReason::context);
  EXPECT_EQ(o.tokens.size(), size_t(24 - 3 + 1));
}

TEST(BatchScheduler, CancelFreesTheBlocksAtTheNextStep) {
  auto model = runtime::Model::load(data("mini-qwen2-q4_k_m.gguf"));
  runtime::BatchScheduler s(model, {.max_seqs = 2, .n_ctx = 32768, .n_threads = 2});
  auto p = sampled(1, 0);  // no token limit: only cancellation ends it
  p.ignore_eos = true;
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  runtime::SeqRequest r = request(prompt_of(40, 1, model->n_vocab()), p);
  r.cancel = cancel;
  auto out = s.submit(std::move(r));
  runtime::SeqEvent ev;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(out->next(ev));
  EXPECT_GT(s.kv_use(), 0.0);
  EXPECT_GE(s.stats().kv_blocks_used, 3);  // 40 prompt tokens + output in blocks of 16
  const auto t0 = Clock::now();
  cancel->store(true);
  const uint64_t steps_at_cancel = s.stats().steps;
  while (s.stats().kv_blocks_used > 0 && Clock::now() - t0 < std::chrono::seconds(5))
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  EXPECT_EQ(s.stats().kv_blocks_used, 0);
  // Freed at the scheduler's next step: at most the step under way when the flag was set ran.
  EXPECT_LE(s.stats().steps, steps_at_cancel + 1);
  std::printf("[ cancel ] blocks freed %.2f ms after the cancel flag\n", ms);
  while (out->next(ev)) {}
  EXPECT_EQ(out->result().finish, runtime::FinishReason::cancelled);
  // SeqStream::cancel() does the same.
  auto out2 = s.submit(request(prompt_of(10, 2, model->n_vocab()), p));
  ASSERT_TRUE(out2->next(ev));
  out2->cancel();
  EXPECT_EQ(out2->result().finish, runtime::FinishReason::cancelled);
  EXPECT_EQ(s.stats().kv_blocks_used, 0);
}

TEST(BatchScheduler, DeadlineEndsWithTimeout) {
  auto model = runtime::Model::load(data("mini-qwen2-q4_k_m.gguf"));
  runtime::BatchScheduler s(model, {.max_seqs = 1, .n_ctx = 1 << 16, .n_threads = 2});
  auto p = sampled(1, 0);
  p.ignore_eos = true;
  runtime::SeqRequest r = request({1, 2, 3}, p);
  r.deadline = Clock::now() + std::chrono::milliseconds(100);
  runtime::SeqRequest queued = request({4, 5, 6}, p);  // waits behind it, and its deadline passes first
  queued.deadline = Clock::now() + std::chrono::milliseconds(30);
  auto a = s.submit(std::move(r));
  auto b = s.submit(std::move(queued));
  const auto ra = a->result();
  EXPECT_EQ(ra.finish, runtime::FinishReason::timeout);
  EXPECT_GT(ra.tokens.size(), 0u);
  const auto rb = b->result();
  EXPECT_EQ(rb.finish, runtime::FinishReason::timeout);
  EXPECT_EQ(rb.tokens.size(), 0u);
  EXPECT_EQ(s.stats().kv_blocks_used, 0);
  EXPECT_STREQ(runtime::finish_reason_name(ra.finish), "timeout");
}

TEST(BatchScheduler, RefusesWhatItCannotTake) {
  auto model = runtime::Model::load(data("mini-qwen2-q4_k_m.gguf"));
  runtime::BatchScheduler s(model, {.max_seqs = 1, .n_ctx = 4096, .max_queue = 1, .n_threads = 2});
  auto p = sampled(1, 0);
  p.ignore_eos = true;
  auto code_of = [&](runtime::SeqRequest r) {
    try {
      s.submit(std::move(r));
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::internal;  // accepted
  };
  EXPECT_EQ(code_of(request({}, p)), ErrorCode::invalid_argument);
  EXPECT_EQ(code_of(request({1, model->n_vocab()}, p)), ErrorCode::invalid_argument);
  EXPECT_EQ(code_of(request(prompt_of(4097, 1, model->n_vocab()), p)), ErrorCode::too_large);
  runtime::SeqRequest bad_pos = request({1, 2, 3}, p);
  bad_pos.positions = {0, 1};
  EXPECT_EQ(code_of(std::move(bad_pos)), ErrorCode::invalid_argument);
  // One running, one waiting: the queue (1) is full.
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  runtime::SeqRequest ra = request({1, 2, 3}, p), rb = request({1, 2, 4}, p);
  ra.cancel = rb.cancel = cancel;
  auto a = s.submit(std::move(ra));
  runtime::SeqEvent ev;
  ASSERT_TRUE(a->next(ev));  // running
  auto b = s.submit(std::move(rb));
  EXPECT_EQ(s.queue_depth(), 1);
  EXPECT_EQ(code_of(request({1, 2, 5}, p)), ErrorCode::busy);
  cancel->store(true);
  EXPECT_EQ(a->result().finish, runtime::FinishReason::cancelled);
  EXPECT_EQ(b->result().finish, runtime::FinishReason::cancelled);
  EXPECT_EQ(s.queue_depth(), 0);
  EXPECT_EQ(s.stats().kv_blocks_used, 0);
  // Free again: a request runs.
  p.max_tokens = 5;
  EXPECT_EQ(s.generate(request({1, 2, 6}, p)).tokens.size(), 5u);
}

TEST(BatchScheduler, StoppingCancelsWhatIsLeft) {
  auto model = runtime::Model::load(data("mini-qwen2-q4_k_m.gguf"));
  std::shared_ptr<runtime::SeqStream> a, b;
  {
    runtime::BatchScheduler s(model, {.max_seqs = 1, .n_ctx = 1 << 16, .n_threads = 2});
    auto p = sampled(1, 0);
    p.ignore_eos = true;
    a = s.submit(request({1, 2, 3}, p));
    b = s.submit(request({1, 2, 3}, p));
    runtime::SeqEvent ev;
    ASSERT_TRUE(a->next(ev));
  }
  EXPECT_EQ(a->result().finish, runtime::FinishReason::cancelled);
  EXPECT_EQ(b->result().finish, runtime::FinishReason::cancelled);
}

}  // namespace
