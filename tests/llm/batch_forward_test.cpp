// Continuous batching, model side: the multi-sequence forward pass over KV blocks gives every
// sequence exactly (bit for bit) the logits it gets alone, whatever shares the step and however its
// prompt is chunked; it agrees with Session (the contiguous-cache path) within the path tolerance;
// M-RoPE planes work as in Session; and the KV block pool allocates, frees, reuses and runs out.
#include <gtest/gtest.h>

#include "llm_test_util.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <unistd.h>

#include "formats/gguf.hpp"
#include "kernels/kernels.hpp"
#include "models/llm_random.hpp"
#include "omni/error.hpp"
#include "runtime/kv_pool.hpp"
#include "runtime/session.hpp"

using namespace omni;

namespace {

using omni::test::max_abs;
using omni::test::max_diff;

std::string data(const std::string& name) { return omni::test::llm_data(name); }

int argmax(const float* x, int n) { return int(std::max_element(x, x + n) - x); }

// A prompt of n ids spread over the vocabulary, different for each seed.
std::vector<int32_t> prompt_of(int n, int seed, int n_vocab) {
  std::vector<int32_t> p;
  for (int i = 0; i < n; ++i) p.push_back(int32_t((seed * 131 + i * 37 + i * i) % (n_vocab - 3)));
  return p;
}

// Drives forward_multi by hand: each sequence reads its prompt in chunks of `chunk` inputs, then
// decodes greedily; every logits row it gets is recorded.
struct Driver {
  struct Seq {
    std::vector<int32_t> prompt;
    int chunk = 0;  // prompt inputs per step (0: all at once)
    int n_decode = 0;
    std::unique_ptr<runtime::KvSequence> kv;
    int fed = 0, decoded = 0, n_past = 0;
    int32_t next = -1;
    std::vector<std::vector<float>> logits;
    bool done() const { return fed == int(prompt.size()) && decoded >= n_decode; }
  };

  Driver(std::shared_ptr<const runtime::Model> m, int block_tokens, int n_batch = 64)
      : model(std::move(m)), pool(2), kv(model->hparams(), 256, block_tokens),
        ws(model->hparams(), n_batch, 1024, pool.n_threads()) {}

  void add(std::vector<int32_t> prompt, int chunk, int n_decode) {
    auto s = std::make_unique<Seq>();
    s->prompt = std::move(prompt);
    s->chunk = chunk;
    s->n_decode = n_decode;
    s->kv = std::make_unique<runtime::KvSequence>(kv);
    seqs.push_back(std::move(s));
  }

  // Steps until every sequence is done; returns the number of steps.
  int run() {
    const int V = model->n_vocab();
    int steps = 0;
    for (;;) {
      std::vector<models::LlamaSeqInput> in;
      std::vector<Seq*> who;
      for (auto& sp : seqs) {
        Seq& s = *sp;
        if (s.done()) continue;
        models::LlamaSeqInput x;
        x.first_slot = s.n_past;
        if (s.fed < int(s.prompt.size())) {
          const int left = int(s.prompt.size()) - s.fed;
          x.n_tokens = s.chunk > 0 ? std::min(s.chunk, left) : left;
          x.tokens = s.prompt.data() + s.fed;
          x.logits = x.n_tokens == left;
        } else {
          x.n_tokens = 1;
          x.tokens = &s.next;
          x.logits = true;
        }
        EXPECT_TRUE(s.kv->reserve(s.n_past + x.n_tokens));
        x.blocks = s.kv->blocks().data();
        in.push_back(x);
        who.push_back(&s);
      }
      if (in.empty()) return steps;
      std::vector<float> logits((in.size() + 1) * size_t(V));
      model->decoder().forward_multi(pool, kv.storage(), ws, in.data(), int(in.size()), logits.data(), batch_invariant);
      ++steps;
      size_t j = 0;
      for (size_t i = 0; i < in.size(); ++i) {
        Seq& s = *who[i];
        s.n_past += in[i].n_tokens;
        if (s.fed < int(s.prompt.size())) s.fed += in[i].n_tokens;
        else ++s.decoded;
        if (in[i].logits) {
          const float* l = logits.data() + j++ * size_t(V);
          s.logits.emplace_back(l, l + V);
          s.next = argmax(l, V);
        }
      }
    }
  }

  std::shared_ptr<const runtime::Model> model;
  bool batch_invariant = true;
  ThreadPool pool;
  runtime::KvBlockPool kv;
  models::LlamaWorkspace ws;
  std::vector<std::unique_ptr<Seq>> seqs;
};

bool bit_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

class BatchForward : public ::testing::TestWithParam<std::string> {};

TEST_P(BatchForward, SequenceInABatchIsBitIdenticalToAlone) {
  auto model = runtime::Model::load(data(GetParam() + ".gguf"));
  const int V = model->n_vocab();
  const std::vector<std::vector<int32_t>> prompts = {prompt_of(21, 1, V), prompt_of(7, 2, V), prompt_of(40, 3, V),
                                                     prompt_of(1, 4, V)};
  const int n_decode = 6;
  // Alone: the whole prompt in one step, then single-row steps.
  std::vector<std::vector<std::vector<float>>> alone;
  for (const auto& p : prompts) {
    Driver d(model, 16);
    d.add(p, 0, n_decode);
    d.run();
    alone.push_back(d.seqs[0]->logits);
    ASSERT_EQ(alone.back().size(), size_t(n_decode + 1));
  }
  // Together, with small blocks (slots scattered over the pool) and prompts read in chunks of
  // different sizes, so that steps mix prompt chunks with decode rows of other sequences.
  Driver d(model, 4);
  const int chunks[] = {5, 3, 11, 1};
  for (size_t i = 0; i < prompts.size(); ++i) d.add(prompts[i], chunks[i], n_decode);
  const int steps = d.run();
  EXPECT_LT(steps, 20);  // steps are shared (alone it would take 4 + 3 + 7 + 1 + 4 * 6 steps)
  for (size_t i = 0; i < prompts.size(); ++i) {
    ASSERT_EQ(d.seqs[i]->logits.size(), alone[i].size()) << "sequence " << i;
    for (size_t k = 0; k < alone[i].size(); ++k)
      EXPECT_TRUE(bit_equal(d.seqs[i]->logits[k], alone[i][k])) << "sequence " << i << ", output " << k;
  }
}

// Batch and single-token paths round activations through different kernels (see session_test);
// with bf16 weights the matrix-vector kernel's bf16 dot products (vdpbf16ps) drift further.
double path_tolerance(const std::string& model) {
  if (model.find("bf16") != std::string::npos) return 6e-2;
  if (model.find("f32") != std::string::npos || model.find("f16") != std::string::npos) return 1e-4;
  return 2e-2;
}

TEST_P(BatchForward, AgreesWithSession) {
  auto model = runtime::Model::load(data(GetParam() + ".gguf"));
  const int V = model->n_vocab();
  const std::vector<int32_t> prompt = prompt_of(13, 7, V);
  Driver d(model, 16);
  d.add(prompt, 0, 8);
  d.add(prompt_of(5, 8, V), 2, 8);  // company
  d.run();
  runtime::Session s(model, {.n_ctx = 64, .n_threads = 2});
  const float* l = s.eval(prompt);
  const auto& got = d.seqs[0]->logits;
  for (size_t k = 0; k < got.size(); ++k) {
    const double scale = max_abs(l, size_t(V));
    EXPECT_LE(max_diff(got[k].data(), l, size_t(V)), path_tolerance(GetParam()) * scale) << "output " << k;
    // Follow the batch's greedy choice so both stay on the same path.
    const int32_t next = argmax(got[k].data(), V);
    if (path_tolerance(GetParam()) < 1e-3) {
      EXPECT_EQ(next, argmax(l, V)) << "greedy step " << k;
    }
    l = s.eval(std::span<const int32_t>(&next, 1));
  }
}

// Without batch invariance a lone sequence takes Session's kernels: then it is Session, bit for bit
// (same attention, same matrix-vector steps, same prompt GEMM).
TEST_P(BatchForward, LoneSequenceWithSessionKernelsIsSessionBitForBit) {
  auto model = runtime::Model::load(data(GetParam() + ".gguf"));
  const int V = model->n_vocab();
  const std::vector<int32_t> prompt = prompt_of(13, 7, V);
  Driver d(model, 4);
  d.batch_invariant = false;
  d.add(prompt, 0, 6);
  d.run();
  runtime::Session s(model, {.n_ctx = 64, .n_threads = 2});
  const float* l = s.eval(prompt);
  for (const auto& got : d.seqs[0]->logits) {
    EXPECT_TRUE(bit_equal(got, std::vector<float>(l, l + V)));
    const int32_t next = argmax(got.data(), V);
    l = s.eval(std::span<const int32_t>(&next, 1));
  }
}

INSTANTIATE_TEST_SUITE_P(Models, BatchForward,
                         ::testing::Values("mini-qwen2-f32", "mini-qwen3-f16", "mini-llama-bf16", "mini-llama-q8_0",
                                           "mini-qwen2-q4_0", "mini-qwen2-q4_k_m"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& ch : n) if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

// Past 256 keys attention folds several key blocks, each gathered from many KV blocks.
TEST(BatchForwardLong, LongPromptAcrossKeyBlocksMatchesSession) {
  auto model = runtime::Model::load(data("mini-qwen2-f32.gguf"));
  const int V = model->n_vocab();
  const std::vector<int32_t> prompt = prompt_of(300, 11, V);
  Driver d(model, 8, 128);
  d.add(prompt, 97, 3);
  d.add(prompt_of(30, 12, V), 7, 40);
  d.run();
  runtime::Session s(model, {.n_ctx = 512, .n_threads = 2});
  const float* l = s.eval(prompt);
  EXPECT_LE(max_diff(d.seqs[0]->logits[0].data(), l, size_t(V)), 1e-4 * max_abs(l, size_t(V)));
  Driver alone(model, 16, 512);
  alone.add(prompt, 0, 3);
  alone.run();
  for (size_t k = 0; k < alone.seqs[0]->logits.size(); ++k)
    EXPECT_TRUE(bit_equal(d.seqs[0]->logits[k], alone.seqs[0]->logits[k])) << "output " << k;
}

TEST(BatchForwardLong, BadInputsAreRefused) {
  auto model = runtime::Model::load(data("mini-qwen2-f32.gguf"));
  Driver d(model, 16, 8);
  runtime::KvSequence kv(d.kv);
  ASSERT_TRUE(kv.reserve(16));
  std::vector<float> logits(2 * size_t(model->n_vocab()));
  std::vector<int32_t> toks(8, 3);
  models::LlamaSeqInput in;
  in.n_tokens = 8;  // the workspace holds 7 inputs plus the padding row
  in.tokens = toks.data();
  in.blocks = kv.blocks().data();
  in.logits = true;
  EXPECT_THROW(model->decoder().forward_multi(d.pool, d.kv.storage(), d.ws, &in, 1, logits.data()), Error);
  in.n_tokens = 2;
  toks[1] = model->n_vocab();  // outside the vocabulary
  EXPECT_THROW(model->decoder().forward_multi(d.pool, d.kv.storage(), d.ws, &in, 1, logits.data()), Error);
  toks[1] = -1;  // an embedding row, but none given
  EXPECT_THROW(model->decoder().forward_multi(d.pool, d.kv.storage(), d.ws, &in, 1, logits.data()), Error);
  EXPECT_THROW(model->decoder().forward_multi(d.pool, d.kv.storage(), d.ws, &in, 0, logits.data()), Error);
  EXPECT_THROW(runtime::KvBlockPool(model->hparams(), 4, 24), Error);  // 24 does not divide 256
  EXPECT_THROW(runtime::KvBlockPool(model->hparams(), 0, 16), Error);
}

// M-RoPE (qwen2vl): positions given as t, h, w planes give what Session::eval_mixed gives.
TEST(BatchForwardLong, MropePlanesMatchSession) {
  const std::string dir = (std::filesystem::temp_directory_path() / ("omni_batch_" + std::to_string(::getpid()))).string();
  std::filesystem::create_directories(dir);
  const std::string q2 = dir + "/qwen2.gguf", vl = dir + "/qwen2vl.gguf";
  {
    models::RandomLlmOptions o;
    o.arch = "qwen2";
    o.shape = models::parse_llm_dims("n_embd=96,n_layer=2,n_head=4,n_head_kv=2,n_ff=128,n_vocab=600");
    o.seed = 5;
    ThreadPool pool(2);
    models::write_random_llm(q2, o, pool);
    const auto src = gguf::File::open(q2);
    gguf::Writer w;
    for (const auto& [key, value] : src.metadata())
      w.set(key.rfind("qwen2.", 0) == 0 ? "qwen2vl." + key.substr(6) : key, value);
    w.set("general.architecture", gguf::Value::of_string("qwen2vl"));
    w.set("qwen2vl.rope.dimension_sections", gguf::Value::of_i32s({4, 4, 4, 0}));
    for (const auto& t : src.tensors())
      w.add_tensor(t.name, t.type, std::vector<int64_t>(t.ne, t.ne + std::max(1, t.n_dims)), t.data, t.n_bytes);
    w.write(vl);
  }
  auto model = runtime::Model::load(vl);
  const int V = model->n_vocab();
  // 10 inputs: 3 text, a 2 x 2 "image" at t = 3, then text resuming at 3 + 2 = 5.
  const std::vector<int32_t> tokens = {5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
  const std::vector<int32_t> planes = {0, 1, 2, 3, 3, 3, 3, 5, 6, 7,    // t
                                       0, 1, 2, 3, 3, 4, 4, 5, 6, 7,    // h
                                       0, 1, 2, 3, 4, 3, 4, 5, 6, 7};   // w
  runtime::Session s(model, {.n_ctx = 64, .n_threads = 2});
  const float* l = s.eval_mixed(tokens, nullptr, planes);
  std::vector<float> want(l, l + V);

  Driver d(model, 4);
  runtime::KvSequence kv(d.kv);
  ASSERT_TRUE(kv.reserve(10));
  std::vector<int32_t> pos(planes.begin(), planes.begin() + 10), hw(planes.begin() + 10, planes.end());
  models::LlamaSeqInput in;
  in.n_tokens = 10;
  in.tokens = tokens.data();
  in.pos = pos.data();
  in.pos_hw = hw.data();
  in.blocks = kv.blocks().data();
  in.logits = true;
  std::vector<float> got(2 * size_t(V));
  model->decoder().forward_multi(d.pool, d.kv.storage(), d.ws, &in, 1, got.data());
  EXPECT_LE(max_diff(got.data(), want.data(), size_t(V)), 1e-4 * max_abs(want.data(), size_t(V)));
  std::filesystem::remove_all(dir);
}

TEST(KvBlockPool, AllocateReleaseReuseAndExhaustion) {
  auto model = runtime::Model::load(data("mini-qwen2-f32.gguf"));
  const auto& hp = model->hparams();
  runtime::KvBlockPool pool(hp, 4, 16);
  EXPECT_EQ(pool.n_blocks(), 4);
  EXPECT_EQ(pool.n_free(), 4);
  EXPECT_EQ(pool.blocks_for(0), 0);
  EXPECT_EQ(pool.blocks_for(16), 1);
  EXPECT_EQ(pool.blocks_for(17), 2);
  EXPECT_EQ(pool.bytes(), size_t(4) * 2 * hp.n_layer * hp.n_head_kv * 16 * hp.head_dim * 2);  // f16 K and V
  {
    runtime::KvSequence a(pool), b(pool);
    EXPECT_TRUE(a.reserve(20));  // two blocks
    EXPECT_EQ(a.capacity(), 32);
    EXPECT_TRUE(a.reserve(32));  // already covered: nothing new
    EXPECT_EQ(pool.n_used(), 2);
    EXPECT_FALSE(b.reserve(48));  // three needed, two free: all or nothing
    EXPECT_EQ(b.capacity(), 0);
    EXPECT_EQ(pool.n_free(), 2);
    EXPECT_TRUE(b.reserve(17));
    EXPECT_EQ(pool.n_free(), 0);
    EXPECT_DOUBLE_EQ(pool.use(), 1.0);
    try {
      pool.allocate();
      ADD_FAILURE() << "an exhausted pool gave a block";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::busy);
      EXPECT_NE(std::string(e.what()).find("4 blocks of 16 tokens"), std::string::npos) << e.what();
    }
    // Blocks of a sequence are distinct, and the two sequences share none.
    std::vector<int32_t> all = a.blocks();
    all.insert(all.end(), b.blocks().begin(), b.blocks().end());
    std::sort(all.begin(), all.end());
    EXPECT_EQ(std::unique(all.begin(), all.end()) - all.begin(), 4);
    const std::vector<int32_t> a_blocks = a.blocks();
    a.release();
    EXPECT_EQ(pool.n_free(), 2);
    // Released blocks are reused, the sequence's first block first.
    EXPECT_EQ(pool.allocate(), a_blocks[0]);
    EXPECT_EQ(pool.allocate(), a_blocks[1]);
    pool.release(a_blocks[0]);
    pool.release(a_blocks[1]);
    EXPECT_THROW(pool.release(a_blocks[1]), Error);  // twice
    EXPECT_THROW(pool.release(99), Error);
  }  // b gives its blocks back when destroyed
  EXPECT_EQ(pool.n_free(), 4);
  EXPECT_DOUBLE_EQ(pool.use(), 0.0);
}

TEST(KvBlockPool, SharedBlocksLiveUntilTheirLastUser) {
  auto model = runtime::Model::load(data("mini-qwen2-f32.gguf"));
  runtime::KvBlockPool pool(model->hparams(), 6, 16);
  runtime::KvSequence a(pool);
  ASSERT_TRUE(a.reserve(40));  // three blocks
  {
    runtime::KvSequence b(pool);
    b.share({a.blocks()[0], a.blocks()[1]});
    EXPECT_THROW(b.share({a.blocks()[2]}), Error);  // only an empty table takes shared blocks
    EXPECT_EQ(pool.users(a.blocks()[0]), 2);
    EXPECT_EQ(pool.n_used(), 3);
    ASSERT_TRUE(b.reserve(50));  // the shared two, then two of its own
    EXPECT_EQ(b.blocks()[0], a.blocks()[0]);
    EXPECT_EQ(pool.n_used(), 5);
    // A partial block is copied, not shared: slots 0..4 of a's third block into b's third.
    uint8_t* src = pool.storage().k(a.blocks()[2], 1, 0, 3);
    src[0] = 0x5a;
    pool.storage().copy_slots(b.blocks()[2], a.blocks()[2], 5);
    EXPECT_EQ(pool.storage().k(b.blocks()[2], 1, 0, 3)[0], 0x5a);
    a.release();  // a leaves first: the shared blocks stay with b
    EXPECT_EQ(pool.n_used(), 4);
    EXPECT_EQ(pool.users(b.blocks()[0]), 1);
  }
  EXPECT_EQ(pool.n_used(), 0);
  EXPECT_THROW(pool.retain(0), Error);  // not in use
}

}  // namespace
