// The llama / qwen2 / qwen3 decoder family: hyper-parameters and weights from GGUF (zero-copy views
// into the mapped file), the KV cache (contiguous, or in blocks shared by many sequences), and the
// forward pass over a batch of tokens or embeddings (one sequence, or many decoded together).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.hpp"
#include "core/thread_pool.hpp"

namespace omni::gguf { class File; }

namespace omni::models {

enum class RopeScaling { none, linear, yarn };

struct LlamaHParams {
  std::string arch;            // "llama", "qwen2", "qwen3" or "qwen2vl" (qwen2 + multimodal RoPE)
  int n_vocab = 0, n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, head_dim = 0, n_ff = 0;
  int n_ctx_train = 0;
  int n_rot = 0;               // rotated dimensions per head (rope.dimension_count)
  float rms_eps = 1e-6f;
  float rope_base = 10000.0f;
  bool rope_neox = false;      // qwen2/qwen3: pairs (i, i + n_rot/2); llama: (2i, 2i+1)
  RopeScaling rope_scaling = RopeScaling::none;
  float rope_freq_scale = 1.0f;  // 1 / scaling factor
  int n_ctx_orig = 0;            // YaRN: original training context
  float yarn_ext_factor = 0.0f, yarn_attn_factor = 1.0f, yarn_beta_fast = 32.0f, yarn_beta_slow = 1.0f;
  // M-RoPE (qwen2vl): rotation pair k takes its position from plane t, h or w by k mod sum(sections):
  // [0, s0) -> t, [s0, s0+s1) -> h, [s0+s1, s0+s1+s2) -> w (frequency index not reset).
  bool mrope = false;
  int mrope_sections[4] = {0, 0, 0, 0};
};

// A 2-D weight [n_out rows of n_in] in the mapping (rows contiguous, row_bytes(type, n_in) each).
struct LlamaWeight {
  const void* data = nullptr;
  DType type = DType::f32;
  int64_t n_in = 0, n_out = 0;
  size_t bytes() const { return row_bytes(type, n_in) * size_t(n_out); }
};

struct LlamaLayer {
  LlamaWeight wq, wk, wv, wo, w_gate, w_up, w_down;
  std::vector<float> attn_norm, ffn_norm;  // [n_embd]
  std::vector<float> bq, bk, bv;           // biases (qwen2; empty when absent)
  std::vector<float> q_norm, k_norm;       // [head_dim] (qwen3; empty when absent)
};

// KV cache: K and V as [n_layer][n_head_kv][n_ctx][head_dim] in `type` (f16 default, or f32),
// so one head's keys for slots [0, n) are contiguous.
class LlamaKvCache {
 public:
  LlamaKvCache(const LlamaHParams& hp, int n_ctx, DType type);
  int n_ctx() const { return n_ctx_; }
  DType type() const { return type_; }
  size_t bytes() const { return k_.size() + v_.size(); }
  uint8_t* k(int layer, int head, int slot) { return k_.data() + offset(layer, head, slot); }
  uint8_t* v(int layer, int head, int slot) { return v_.data() + offset(layer, head, slot); }

 private:
  size_t offset(int layer, int head, int slot) const {
    return ((size_t(layer) * size_t(n_head_kv_) + size_t(head)) * size_t(n_ctx_) + size_t(slot)) * row_;
  }
  int n_ctx_, n_head_kv_;
  DType type_;
  size_t row_;  // bytes of one head_dim row
  std::vector<uint8_t> k_, v_;
};

// Paged KV storage for many sequences: n_blocks blocks of block_tokens slots. A block holds, for
// every layer and KV head, block_tokens rows of head_dim in `type` (K and V in separate arrays:
// [n_blocks][n_layer][n_head_kv][block_tokens][head_dim]), so one head's keys inside a block are
// contiguous. Which blocks a sequence uses is its block table (runtime::KvBlockPool hands them out).
class LlamaKvBlocks {
 public:
  // block_tokens must divide LlamaWorkspace::kKeyBlock (attention gathers whole blocks).
  LlamaKvBlocks(const LlamaHParams& hp, int n_blocks, int block_tokens, DType type);
  int n_blocks() const { return n_blocks_; }
  int block_tokens() const { return block_tokens_; }
  DType type() const { return type_; }
  size_t bytes() const { return k_.size() + v_.size(); }
  size_t bytes_per_block() const { return 2 * block_stride_; }
  uint8_t* k(int block, int layer, int head, int slot) { return k_.data() + offset(block, layer, head, slot); }
  uint8_t* v(int block, int layer, int head, int slot) { return v_.data() + offset(block, layer, head, slot); }
  // Copies slots [0, n_slots) of block src into block dst (every layer and head, K and V).
  void copy_slots(int dst, int src, int n_slots);

 private:
  size_t offset(int block, int layer, int head, int slot) const {
    return size_t(block) * block_stride_ + ((size_t(layer) * size_t(n_head_kv_) + size_t(head)) * size_t(block_tokens_) + size_t(slot)) * row_;
  }
  int n_blocks_, block_tokens_, n_layer_, n_head_kv_;
  DType type_;
  size_t row_, block_stride_;  // bytes of one head_dim row; bytes of one block's K (or V)
  std::vector<uint8_t> k_, v_;
};

// One sequence's share of a multi-sequence forward call: n_tokens inputs occupying its slots
// [first_slot, first_slot + n_tokens); input i attends to the sequence's slots [0, first_slot + i].
// Slot s lives in block blocks[s / block_tokens] at row s % block_tokens.
struct LlamaSeqInput {
  int n_tokens = 0;
  const int32_t* tokens = nullptr;  // [n_tokens]; an entry < 0 takes the next row of embd instead
  const float* embd = nullptr;      // [count of entries < 0, n_embd]
  const int32_t* pos = nullptr;     // [n_tokens] RoPE positions; null: the slot index
  const int32_t* pos_hw = nullptr;  // M-RoPE only: [2][n_tokens] h then w planes; null: h = w = t
  int first_slot = 0;
  const int32_t* blocks = nullptr;  // the sequence's block table, covering slots up to first_slot + n_tokens
  bool logits = false;              // logits of the last input wanted
  // One decoding step's input (n_tokens 1) to run on the matrix-vector kernel when batch_invariant
  // (all other rows take the GEMM kernels then). Decode inputs come before all others in a call.
  bool decode = false;
};

// One forward call: n_tokens inputs occupying KV slots [first_slot, first_slot + n_tokens); input i
// attends to slots [0, first_slot + i].
struct LlamaBatch {
  int n_tokens = 0;
  const int32_t* tokens = nullptr;  // [n_tokens]; an entry < 0 takes the next row of embd instead
  const float* embd = nullptr;      // [count of entries < 0, n_embd] precomputed input embeddings
  const int32_t* pos = nullptr;     // [n_tokens] RoPE positions; null: the slot index
  const int32_t* pos_hw = nullptr;  // M-RoPE only: [2][n_tokens] h then w planes (pos is t); null: h = w = t
  int first_slot = 0;
  bool all_logits = false;          // logits for every input [n_tokens, n_vocab]; else only the last
};

// Scratch buffers of a session, sized once for its batch and context (no allocation per token).
class LlamaWorkspace {
 public:
  LlamaWorkspace(const LlamaHParams& hp, int n_batch, int n_ctx, int n_threads);
  int n_batch() const { return n_batch_; }
  static constexpr int kKeyBlock = 256, kQueryChunk = 16;  // attention: keys per block, queries per task
  static constexpr int kFfnChunk = 128;  // tokens per FFN pass (bounds the [tokens, n_ff] scratch)
  // One thread's slices of the attention scratch below.
  struct AttnScratch {
    float *kf, *vf, *kt, *sc, *m, *l, *o;
  };
  AttnScratch attn_scratch(int thread, int head_dim, int n_head) {
    const size_t kb = size_t(kKeyBlock) * size_t(head_dim), states = size_t(kQueryChunk) * size_t(n_head);
    const size_t t = size_t(thread);
    return {att_k.data() + t * kb, att_v.data() + t * kb, att_kt.data() + t * kb, att_s.data() + t * kKeyBlock,
            att_m.data() + t * states, att_l.data() + t * states, att_o.data() + t * states * size_t(head_dim)};
  }

 private:
  friend class LlamaModel;
  int n_batch_, n_ctx_, n_threads_;
  std::vector<float> x, xn, q, k, v, attn, gate, up, out_in;
  std::vector<float> rope_cos, rope_sin;   // [n_batch, n_rot/2]
  // Attention scratch per thread: a block of keys and values in f32 [kKeyBlock, head_dim] x2
  // (keys also transposed, [head_dim, kKeyBlock]),
  // scores [kKeyBlock], and the online-softmax state of a chunk of queries (max, sum, output).
  std::vector<float> att_k, att_v, att_kt, att_s, att_m, att_l, att_o;
};

class LlamaModel {
 public:
  // Reads hyper-parameters and weights; `file` must outlive the model. Throws omni::Error naming an
  // unknown architecture, a missing tensor, a wrong shape or type, or a vocabulary mismatch.
  static LlamaModel load(const gguf::File& file);
  static bool supports_architecture(const std::string& arch);

  const LlamaHParams& hparams() const { return hp_; }
  // Bytes of weights read for one decoded token (every layer matrix and the output head).
  size_t weight_bytes_per_token() const;

  // Runs the batch, writes its K/V into the cache, and writes logits (see LlamaBatch::all_logits).
  // batch.n_tokens must not exceed ws.n_batch(); slots must fit in the cache.
  void forward(ThreadPool& pool, LlamaKvCache& cache, LlamaWorkspace& ws, const LlamaBatch& batch,
               float* logits) const;

  // Many sequences in one pass: every weight matrix runs once over all their inputs (one GEMM per
  // matrix per step), attention runs per sequence over its own KV blocks. Writes logits [n, n_vocab]
  // for the n sequences with `logits` set, in order.
  // batch_invariant: a sequence's logits are bit-identical whichever other sequences share the
  // call: rows of `decode` inputs take the matrix-vector kernel, each on its own
  // (kernels::matmul_each_token), all other rows the GEMM kernels (kernels::matmul_batched, a lone
  // row too). Otherwise a lone row takes the matrix-vector kernels and several the GEMM: faster
  // for a lone row than GEMM, but a row then rounds differently with the batch size.
  // At most ws.n_batch() - 1 inputs in all.
  void forward_multi(ThreadPool& pool, LlamaKvBlocks& kv, LlamaWorkspace& ws, const LlamaSeqInput* seqs, int n_seqs,
                     float* logits, bool batch_invariant = true) const;

 private:
  void attention(ThreadPool& pool, LlamaKvCache& cache, LlamaWorkspace& ws, int layer, int n_tokens,
                 int first_slot) const;
  void rope_tables(LlamaWorkspace& ws, const LlamaBatch& batch) const;
  // Input rows x[n, n_embd]: token ids look up the embedding table; an id < 0 takes the next row
  // of embd (which must then be given).
  void embed_inputs(const int32_t* tokens, const float* embd, int n, float* x) const;
  void attention_blocks(ThreadPool& pool, LlamaKvBlocks& kv, LlamaWorkspace& ws, int layer, const LlamaSeqInput* seqs,
                        int n_seqs) const;

  LlamaHParams hp_;
  LlamaWeight tok_embd_, output_;
  std::vector<float> output_norm_;
  std::vector<float> rope_freqs_;  // [n_rot/2] divisors (Llama-3.1 rope_freqs), empty when absent
  std::vector<LlamaLayer> layers_;
};

}  // namespace omni::models
