// Matrix multiplication driver: matrix-vector for one token (activation converted and prepared
// once, output rows split across the pool; also for several tokens on request, each group of rows
// serving every token) and a tiled GEMM for batches (quantized micro-kernels
// where the ISA has them, otherwise weight tiles dequantized to f32 and an f32 register-blocked
// micro-kernel). Scratch memory is per thread and grow-only: no allocation on the decode path.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>

#include "core/thread_pool.hpp"
#include "kernels/kernels.hpp"
#include "kernels/ref/ref.hpp"
#include "kernels/x86/kernel_table.hpp"
#include "omni/error.hpp"

namespace omni::kernels {
namespace {

// Scalar f32 micro-kernel: C[t][r] += A[r] . B[t] over k.
void gemm_f32_scalar(int64_t k, const float* a, int64_t lda, int n_rows, const float* b, int64_t ldb, int n_tok,
                     float* c, int64_t ldc) {
  for (int t = 0; t < n_tok; ++t)
    for (int r = 0; r < n_rows; ++r) {
      const float* ar = a + r * lda;
      const float* bt = b + t * ldb;
      float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      int64_t i = 0;
      for (; i + 4 <= k; i += 4) {
        s0 += ar[i] * bt[i];
        s1 += ar[i + 1] * bt[i + 1];
        s2 += ar[i + 2] * bt[i + 2];
        s3 += ar[i + 3] * bt[i + 3];
      }
      for (; i < k; ++i) s0 += ar[i] * bt[i];
      c[t * ldc + r] += (s0 + s1) + (s2 + s3);
    }
}

constexpr int64_t kRowBlock = 32;   // weight rows dequantized per task in the f32 GEMM path
constexpr int64_t kKChunk = 1024;   // k elements per pass (keeps the micro-kernel operands in L1)
constexpr int64_t kQRowBlock = 16;  // weight rows per task in the quantized GEMM path
constexpr size_t kQTokenBytes = 192 << 10;  // packed activation bytes per token block (L2-resident)

// A grow-only, 64-byte aligned buffer of the calling thread. Slots: 0 converted activations,
// 1 prepared / packed activations (or f32 activations), 2 per-task scratch inside pool jobs.
// Buffers live as long as their thread (pool workers and callers are long-lived).
uint8_t* thread_scratch(int slot, size_t bytes) {
  struct Buffer {
    std::unique_ptr<uint8_t[]> data;
    size_t capacity = 0;
  };
  thread_local Buffer buffers[3];
  Buffer& b = buffers[slot];
  if (b.capacity < bytes) {
    const size_t cap = std::max(bytes, b.capacity + b.capacity / 2);
    b.data.reset(new uint8_t[cap + 64]);
    b.capacity = cap;
  }
  const auto addr = reinterpret_cast<uintptr_t>(b.data.get());
  return b.data.get() + (64 - addr % 64) % 64;
}

void check_args(DType wt, int64_t n_out, int64_t k, int64_t n_tokens) {
  const auto tr = dtype_traits(static_cast<uint32_t>(wt));
  if (!tr || !tr->supported) fail(ErrorCode::unsupported, "matmul: weight type id ", uint32_t(wt), " is not supported");
  if (n_out < 0 || n_tokens < 0 || k < 0) fail(ErrorCode::invalid_argument, "matmul: negative dimension");
  if (k % tr->block_size != 0)
    fail(ErrorCode::invalid_argument, "matmul: k = ", k, " is not a multiple of the ", tr->name, " block size ",
         tr->block_size);
}

}  // namespace

void matmul_with(const KernelTable& kt, ThreadPool& pool, DType wt, const void* w, int64_t n_out, int64_t k,
                 const float* x, int64_t n_tokens, float* y, MatmulPath path) {
  check_args(wt, n_out, k, n_tokens);
  if (n_out == 0 || n_tokens == 0) return;
  if (k == 0) {
    std::fill(y, y + n_out * n_tokens, 0.0f);
    return;
  }
  const auto wid = static_cast<uint32_t>(wt);
  const size_t w_row = row_bytes(wt, k);
  const auto* wb = static_cast<const uint8_t*>(w);
  const DType vt = ref::vec_dot_type(wt);
  const size_t a_row = row_bytes(vt, k);

  // Activations converted once: [n_tokens] rows of a_row bytes.
  uint8_t* const act = thread_scratch(0, a_row * size_t(n_tokens));
  if (n_tokens == 1) {
    convert_activations_with(kt, wt, x, act, k);
  } else {
    pool.parallel_for(n_tokens, 1, [&](int64_t b, int64_t e, int) {
      for (int64_t t = b; t < e; ++t) convert_activations_with(kt, wt, x + t * k, act + t * a_row, k);
    });
  }

  if (path == MatmulPath::matvec || (n_tokens == 1 && path == MatmulPath::automatic)) {
    // Matrix x vector: stream every weight row once. One contiguous run of rows per thread
    // (measured on 2 SMT threads: 8 smaller chunks lose ~15% of the bandwidth to stream restarts
    // and end-of-call imbalance), in whole groups of kRowGroup rows, at least ~16 KiB of weights;
    // a late worker's run is taken by the threads that are there (parallel_for is dynamic). With
    // several tokens, each group of rows runs against every token while it is in cache; a row's
    // result does not depend on its group, so every token gets the bits of a one-token call.
    const VecDotFn vd = kt.vec_dot[wid];
    const MatvecFn mv = kt.matvec[wid];
    const MatvecPrep& mp = kt.matvec_prep[wid];
    const uint8_t* a = act;
    size_t a_stride = a_row;
    if (mv && mp.prep) {
      a_stride = (mp.bytes(k) + 63) / 64 * 64;  // each prepared row 64-byte aligned
      uint8_t* prepared = thread_scratch(1, a_stride * size_t(n_tokens));
      for (int64_t t = 0; t < n_tokens; ++t) mp.prep(act + t * a_row, k, prepared + size_t(t) * a_stride);
      a = prepared;
    }
    constexpr int64_t kRowGroup = 8;
    const int64_t n_groups = (n_out + kRowGroup - 1) / kRowGroup;
    const int64_t grain = std::max<int64_t>({int64_t(1), int64_t((16 << 10) / std::max<size_t>(1, w_row * kRowGroup)),
                                             (n_groups + pool.n_threads() - 1) / pool.n_threads()});
    auto rows = [&](int64_t b, int64_t e, const uint8_t* at, float* yt) {
      if (mv) {
        mv(k, wb + size_t(b) * w_row, w_row, e - b, at, yt + b);
      } else if (vd) {
        for (int64_t o = b; o < e; ++o) yt[o] = vd(k, wb + size_t(o) * w_row, at);
      } else {
        for (int64_t o = b; o < e; ++o) yt[o] = ref::vec_dot(wt, k, wb + size_t(o) * w_row, at);
      }
    };
    pool.parallel_for(n_groups, grain, [&](int64_t gb, int64_t ge, int) {
      if (n_tokens == 1) {
        rows(gb * kRowGroup, std::min(n_out, ge * kRowGroup), a, y);
        return;
      }
      // Row runs of about 24 KiB of weights (L1) serve every token in turn.
      const int64_t run = std::max<int64_t>(1, int64_t((24 << 10) / std::max<size_t>(1, w_row * kRowGroup))) * kRowGroup;
      const int64_t r_end = std::min(n_out, ge * kRowGroup);
      for (int64_t b = gb * kRowGroup; b < r_end; b += run)
        for (int64_t t = 0; t < n_tokens; ++t)
          rows(b, std::min(r_end, b + run), a + size_t(t) * a_stride, y + t * n_out);
    });
    return;
  }

  if (const GemmQ& gq = kt.gemm_q[wid]; gq.tile) {
    // Quantized tiles: tokens packed once; each task owns kQRowBlock weight rows, and each group of
    // 4 rows runs against every token (weights stay in L1, packed tokens stream from L2).
    const size_t p_row = gq.packed_bytes(k);
    uint8_t* const packed = thread_scratch(1, p_row * size_t(n_tokens));
    pool.parallel_for(n_tokens, 1, [&](int64_t b, int64_t e, int) {
      for (int64_t t = b; t < e; ++t) gq.pack(act + t * a_row, k, packed + size_t(t) * p_row);
    });
    const size_t s_bytes = gq.scratch_bytes(k);
    const int64_t n_tasks = (n_out + kQRowBlock - 1) / kQRowBlock;
    // Tokens in blocks whose packed activations stay in L2 while the task's rows walk over them.
    const int64_t tok_block = std::max<int64_t>(4, int64_t(kQTokenBytes / p_row) / 4 * 4);
    pool.parallel_for(n_tasks, 1, [&](int64_t tb, int64_t te, int) {
      void* sp = thread_scratch(2, s_bytes);
      for (int64_t task = tb; task < te; ++task) {
        const int64_t r0 = task * kQRowBlock, r1 = std::min(n_out, r0 + kQRowBlock);
        for (int64_t t0 = 0; t0 < n_tokens; t0 += tok_block) {
          const int nt = int(std::min<int64_t>(tok_block, n_tokens - t0));
          for (int64_t r = r0; r < r1; r += 4) {
            const int nr = int(std::min<int64_t>(4, r1 - r));
            gq.tile(k, wb + size_t(r) * w_row, w_row, nr, packed + size_t(t0) * p_row, p_row, nt,
                    y + t0 * n_out + r, n_out, sp);
          }
        }
      }
    });
    return;
  }

  // f32 path: activations dequantized back to f32 once ([n_tokens, k]); each task dequantizes
  // kRowBlock weight rows into a per-thread scratch tile and runs the register-blocked kernel.
  const float* xs = x;
  if (vt != DType::f32) {
    auto* xf = reinterpret_cast<float*>(thread_scratch(1, sizeof(float) * size_t(n_tokens) * size_t(k)));
    pool.parallel_for(n_tokens, 1, [&](int64_t b, int64_t e, int) {
      for (int64_t t = b; t < e; ++t) dequantize_row_with(kt, vt, act + t * a_row, xf + t * k, k);
    });
    xs = xf;
  }
  const GemmF32Fn gf = kt.gemm_f32 ? kt.gemm_f32 : gemm_f32_scalar;
  const int R = kt.gemm_f32 ? kt.gemm_rows : 4, T = kt.gemm_f32 ? kt.gemm_max_tok : 4;
  const int64_t n_tasks = (n_out + kRowBlock - 1) / kRowBlock;
  pool.parallel_for(n_tasks, 1, [&](int64_t tb, int64_t te, int) {
    float* const wf = wt != DType::f32 ? reinterpret_cast<float*>(thread_scratch(2, sizeof(float) * size_t(kRowBlock) * size_t(k)))
                                       : nullptr;
    for (int64_t task = tb; task < te; ++task) {
      const int64_t r0 = task * kRowBlock, r1 = std::min(n_out, r0 + kRowBlock);
      const float* a;
      if (wt == DType::f32) {
        a = reinterpret_cast<const float*>(wb + size_t(r0) * w_row);
      } else {
        for (int64_t r = r0; r < r1; ++r) dequantize_row_with(kt, wt, wb + size_t(r) * w_row, wf + (r - r0) * k, k);
        a = wf;
      }
      for (int64_t t = 0; t < n_tokens; ++t) std::fill(y + t * n_out + r0, y + t * n_out + r1, 0.0f);
      for (int64_t k0 = 0; k0 < k; k0 += kKChunk) {
        const int64_t kc = std::min(kKChunk, k - k0);
        for (int64_t t0 = 0; t0 < n_tokens; t0 += T) {
          const int nt = int(std::min<int64_t>(T, n_tokens - t0));
          for (int64_t r = r0; r < r1; r += R) {
            const int nr = int(std::min<int64_t>(R, r1 - r));
            gf(kc, a + (r - r0) * k + k0, k, nr, xs + t0 * k + k0, k, nt, y + t0 * n_out + r, n_out);
          }
        }
      }
    }
  });
}

}  // namespace omni::kernels
