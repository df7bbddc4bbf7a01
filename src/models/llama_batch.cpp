// The llama decoder over many sequences at once (continuous batching): KV cache blocks, and a
// forward pass where every weight matrix runs once over the inputs of all sequences while attention
// runs per sequence over that sequence's own blocks.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/kernels.hpp"
#include "models/llama.hpp"
#include "models/llama_ops.hpp"
#include "omni/error.hpp"

namespace omni::models {

LlamaKvBlocks::LlamaKvBlocks(const LlamaHParams& hp, int n_blocks, int block_tokens, DType type)
    : n_blocks_(n_blocks), block_tokens_(block_tokens), n_layer_(hp.n_layer), n_head_kv_(hp.n_head_kv), type_(type),
      row_(row_bytes(type, hp.head_dim)) {
  if (type != DType::f16 && type != DType::f32) fail(ErrorCode::unsupported, "KV cache type ", dtype_name(type), " (use f16 or f32)");
  if (n_blocks <= 0) fail(ErrorCode::invalid_argument, "KV cache needs at least one block, got ", n_blocks);
  if (block_tokens <= 0 || LlamaWorkspace::kKeyBlock % block_tokens != 0)
    fail(ErrorCode::invalid_argument, "KV block of ", block_tokens, " tokens: must divide ", LlamaWorkspace::kKeyBlock);
  block_stride_ = size_t(hp.n_layer) * size_t(hp.n_head_kv) * size_t(block_tokens) * row_;
  k_.assign(size_t(n_blocks) * block_stride_, 0);
  v_.assign(k_.size(), 0);
}

void LlamaKvBlocks::copy_slots(int dst, int src, int n_slots) {
  if (dst < 0 || src < 0 || dst >= n_blocks_ || src >= n_blocks_ || n_slots < 0 || n_slots > block_tokens_)
    fail(ErrorCode::internal, "KV copy of ", n_slots, " slots from block ", src, " to ", dst);
  for (int l = 0; l < n_layer_; ++l)
    for (int h = 0; h < n_head_kv_; ++h) {
      std::memcpy(k(dst, l, h, 0), k(src, l, h, 0), size_t(n_slots) * row_);
      std::memcpy(v(dst, l, h, 0), v(src, l, h, 0), size_t(n_slots) * row_);
    }
}

namespace {

// y = W x over n rows. Batch-invariant: the first n_dec rows (decoding steps) take the
// matrix-vector kernel for each row, the others the GEMM kernels: either way a row's result does
// not depend on the other rows. Otherwise the default choice (matrix-vector for a lone row).
void mm(ThreadPool& pool, const LlamaWeight& w, int64_t n_out, int64_t n_in, const float* x, int n, float* y,
        bool invariant, int n_dec) {
  if (!invariant) {
    kernels::matmul(pool, w.type, w.data, n_out, n_in, x, n, y);
    return;
  }
  n_dec = std::clamp(n_dec, 0, n);
  if (n_dec > 0) kernels::matmul_each_token(pool, w.type, w.data, n_out, n_in, x, n_dec, y);
  if (n > n_dec)
    kernels::matmul_batched(pool, w.type, w.data, n_out, n_in, x + size_t(n_dec) * size_t(n_in), n - n_dec,
                            y + size_t(n_dec) * size_t(n_out));
}

}  // namespace

void LlamaModel::attention_blocks(ThreadPool& pool, LlamaKvBlocks& kv, LlamaWorkspace& ws, int layer,
                                  const LlamaSeqInput* seqs, int n_seqs) const {
  const int hd = hp_.head_dim, H = hp_.n_head, HKV = hp_.n_head_kv, group = H / HKV;
  const float scale = 1.0f / std::sqrt(float(hd));
  const DType kv_type = kv.type();
  const int bt = kv.block_tokens();
  constexpr int KB = LlamaWorkspace::kKeyBlock, chunk = LlamaWorkspace::kQueryChunk;
  // Tasks: (sequence, kv head, chunk of queries), numbered sequence by sequence. The keys of a
  // block of KB slots are gathered from the sequence's KV blocks, then folded in exactly as the
  // contiguous-cache attention does (same key blocks, same order).
  std::vector<int64_t> task0(size_t(n_seqs) + 1, 0);
  std::vector<int> row0(size_t(n_seqs), 0);
  int64_t work = 0;
  for (int s = 0, row = 0; s < n_seqs; ++s) {
    const int n = seqs[s].n_tokens;
    row0[size_t(s)] = row;
    row += n;
    task0[size_t(s) + 1] = task0[size_t(s)] + int64_t(HKV) * ((n + chunk - 1) / chunk);
    work += int64_t(n) * (seqs[s].first_slot + n) * H * hd;
  }
  auto run_tasks = [&](int64_t begin, int64_t end, int thread) {
    AttnTask at(ws, thread, hd, H, group);
    int s = int(std::upper_bound(task0.begin(), task0.end(), begin) - task0.begin()) - 1;
    for (int64_t task = begin; task < end; ++task) {
      while (task >= task0[size_t(s) + 1]) ++s;
      const LlamaSeqInput& sq = seqs[s];
      const int n_chunks = (sq.n_tokens + chunk - 1) / chunk;
      const int64_t local = task - task0[size_t(s)];
      const int kvh = int(local / n_chunks);
      const int t0 = int(local % n_chunks) * chunk;
      const int t1 = std::min(sq.n_tokens, t0 + chunk);
      const int first = sq.first_slot;
      const int n_kv = first + t1;  // keys visible to the last query of the chunk
      const size_t q_row0 = size_t(row0[size_t(s)]);
      at.begin(kvh, t0, t1);
      for (int b0 = 0; b0 < n_kv; b0 += KB) {
        const int nb = std::min(KB, n_kv - b0);
        for (int j = 0; j < nb;) {  // gather: whole runs of slots inside one KV block
          const int slot = b0 + j, off = slot % bt, n = std::min(bt - off, nb - j);
          const int blk = sq.blocks[slot / bt];
          kernels::dequantize_row(kv_type, kv.k(blk, layer, kvh, off), at.kf + size_t(j) * hd, int64_t(n) * hd);
          kernels::dequantize_row(kv_type, kv.v(blk, layer, kvh, off), at.vf + size_t(j) * hd, int64_t(n) * hd);
          j += n;
        }
        at.fold(ws.q.data() + q_row0 * H * hd, first, b0, nb, scale);
      }
      at.finish(ws.attn.data() + q_row0 * H * hd);
    }
  };
  if (work < 65536) run_tasks(0, task0.back(), 0);
  else pool.parallel_for(task0.back(), 1, run_tasks);
}

void LlamaModel::forward_multi(ThreadPool& pool, LlamaKvBlocks& kv, LlamaWorkspace& ws, const LlamaSeqInput* seqs,
                               int n_seqs, float* logits, bool batch_invariant) const {
  const int E = hp_.n_embd, hd = hp_.head_dim, H = hp_.n_head, HKV = hp_.n_head_kv, FF = hp_.n_ff;
  const int bt = kv.block_tokens();
  if (n_seqs <= 0) fail(ErrorCode::invalid_argument, "forward: no sequences");
  int T = 0, n_out = 0, n_dec = 0;  // n_dec: the leading decode inputs (one row and one logits row each)
  for (int s = 0; s < n_seqs; ++s) {
    const LlamaSeqInput& sq = seqs[s];
    if (sq.n_tokens <= 0) fail(ErrorCode::invalid_argument, "forward: sequence ", s, " has no inputs");
    if (sq.first_slot < 0 || !sq.blocks || !sq.tokens) fail(ErrorCode::invalid_argument, "forward: sequence ", s, " has no slots");
    if (sq.decode) {
      if (n_dec != s || sq.n_tokens != 1 || !sq.logits)
        fail(ErrorCode::invalid_argument, "forward: decode input ", s, " must be one token wanting logits, before all others");
      ++n_dec;
    }
    T += sq.n_tokens;
    n_out += sq.logits ? 1 : 0;
  }
  if (T >= ws.n_batch())
    fail(ErrorCode::internal, "forward: ", T, " inputs exceed the workspace (", ws.n_batch() - 1, " plus one spare row)");

  // Input embeddings [T, E] and RoPE positions (t, and h/w planes for M-RoPE).
  std::vector<int32_t> pos(static_cast<size_t>(T)), hw(2 * static_cast<size_t>(T));
  for (int s = 0, row = 0; s < n_seqs; ++s) {
    const LlamaSeqInput& sq = seqs[s];
    embed_inputs(sq.tokens, sq.embd, sq.n_tokens, ws.x.data() + size_t(row) * E);
    for (int i = 0; i < sq.n_tokens; ++i, ++row) {
      pos[size_t(row)] = sq.pos ? sq.pos[i] : sq.first_slot + i;
      hw[size_t(row)] = sq.pos_hw ? sq.pos_hw[i] : pos[size_t(row)];
      hw[size_t(T + row)] = sq.pos_hw ? sq.pos_hw[sq.n_tokens + i] : pos[size_t(row)];
    }
  }
  LlamaBatch rb;
  rb.n_tokens = T;
  rb.pos = pos.data();
  rb.pos_hw = hp_.mrope ? hw.data() : nullptr;
  rope_tables(ws, rb);
  const int half = hp_.n_rot / 2;

  for (int l = 0; l < hp_.n_layer; ++l) {
    const LlamaLayer& L = layers_[size_t(l)];
    for (int t = 0; t < T; ++t) rms_norm(ws.x.data() + size_t(t) * E, L.attn_norm.data(), ws.xn.data() + size_t(t) * E, E, hp_.rms_eps);
    mm(pool, L.wq, L.wq.n_out, E, ws.xn.data(), T, ws.q.data(), batch_invariant, n_dec);
    mm(pool, L.wk, L.wk.n_out, E, ws.xn.data(), T, ws.k.data(), batch_invariant, n_dec);
    mm(pool, L.wv, L.wv.n_out, E, ws.xn.data(), T, ws.v.data(), batch_invariant, n_dec);
    add_bias(ws.q.data(), L.bq, T);
    add_bias(ws.k.data(), L.bk, T);
    add_bias(ws.v.data(), L.bv, T);
    for (int s = 0, t = 0; s < n_seqs; ++s)
      for (int i = 0; i < seqs[s].n_tokens; ++i, ++t) {
        const float* c = ws.rope_cos.data() + size_t(t) * half;
        const float* sn = ws.rope_sin.data() + size_t(t) * half;
        for (int h = 0; h < H; ++h) {
          float* q = ws.q.data() + (size_t(t) * H + h) * hd;
          if (!L.q_norm.empty()) rms_norm(q, L.q_norm.data(), q, hd, hp_.rms_eps);
          apply_rope(q, c, sn, hp_.n_rot, hp_.rope_neox);
        }
        const int slot = seqs[s].first_slot + i;
        const int blk = seqs[s].blocks[slot / bt], off = slot % bt;
        for (int h = 0; h < HKV; ++h) {
          float* k = ws.k.data() + (size_t(t) * HKV + h) * hd;
          if (!L.k_norm.empty()) rms_norm(k, L.k_norm.data(), k, hd, hp_.rms_eps);
          apply_rope(k, c, sn, hp_.n_rot, hp_.rope_neox);
          kernels::quantize_row(kv.type(), k, kv.k(blk, l, h, off), hd);
          kernels::quantize_row(kv.type(), ws.v.data() + (size_t(t) * HKV + h) * hd, kv.v(blk, l, h, off), hd);
        }
      }
    attention_blocks(pool, kv, ws, l, seqs, n_seqs);
    mm(pool, L.wo, E, L.wo.n_in, ws.attn.data(), T, ws.out_in.data(), batch_invariant, n_dec);
    for (size_t i = 0; i < size_t(T) * E; ++i) ws.x[i] += ws.out_in[i];

    for (int t = 0; t < T; ++t) rms_norm(ws.x.data() + size_t(t) * E, L.ffn_norm.data(), ws.xn.data() + size_t(t) * E, E, hp_.rms_eps);
    for (int c0 = 0; c0 < T; c0 += LlamaWorkspace::kFfnChunk) {
      const int nc = std::min(LlamaWorkspace::kFfnChunk, T - c0);
      float* xin = ws.xn.data() + size_t(c0) * E;
      mm(pool, L.w_gate, FF, E, xin, nc, ws.gate.data(), batch_invariant, n_dec - c0);
      mm(pool, L.w_up, FF, E, xin, nc, ws.up.data(), batch_invariant, n_dec - c0);
      const int64_t n_act = int64_t(nc) * FF;
      if (n_act < 65536) swiglu(ws.gate.data(), ws.up.data(), n_act);
      else pool.parallel_for(n_act, 16384, [&](int64_t i0, int64_t i1, int) { swiglu(ws.gate.data() + i0, ws.up.data() + i0, i1 - i0); });
      mm(pool, L.w_down, E, FF, ws.gate.data(), nc, ws.out_in.data() + size_t(c0) * E, batch_invariant, n_dec - c0);
    }
    for (size_t i = 0; i < size_t(T) * E; ++i) ws.x[i] += ws.out_in[i];
  }

  if (n_out == 0) return;
  for (int s = 0, row = 0, j = 0; s < n_seqs; ++s) {
    row += seqs[s].n_tokens;
    if (seqs[s].logits)
      rms_norm(ws.x.data() + size_t(row - 1) * E, output_norm_.data(), ws.xn.data() + size_t(j++) * E, E, hp_.rms_eps);
  }
  mm(pool, output_, hp_.n_vocab, E, ws.xn.data(), n_out, logits, batch_invariant, n_dec);
}

}  // namespace omni::models
