// Building blocks of the vision towers on float32 activations [n_tokens][width]: linear layers on
// any weight type (through kernels::matmul), LayerNorm / RMSNorm, activations, bidirectional
// multi-head attention (optionally restricted to contiguous windows), patch embedding.
// Element-wise work is split over the thread pool and vectorised (portable C++ compiled for several
// x86 levels, chosen at load time); results do not depend on the number of threads.
#pragma once
#include <cstdint>
#include <vector>

#include "core/thread_pool.hpp"
#include "formats/gguf.hpp"

namespace omni::models::vops {

// y[n, n_out] = x[n, k] · Wᵀ (+ bias); W is a GGUF tensor with ne = [k, n_out].
void linear(ThreadPool& pool, const gguf::TensorInfo& w, const float* bias, const float* x, int64_t n,
            float* y);
// out[n, width] = LayerNorm(x) (· w + b when given) / RMSNorm(x) (· w); out may equal x.
void layer_norm(ThreadPool& pool, const float* x, int64_t n, int64_t width, const float* w, const float* b, float eps,
                float* out);
void rms_norm(ThreadPool& pool, const float* x, int64_t n, int64_t width, const float* w, float eps, float* out);

enum class Activation { gelu_tanh, gelu_erf, gelu_quick, silu };
// x[i] = act(x[i]).
void activate(ThreadPool& pool, Activation act, float* x, int64_t n);
// gate[i] = act(gate[i]) * up[i] (gated FFN).
void activate_mul(ThreadPool& pool, Activation act, float* gate, const float* up, int64_t n);
// x[i] += y[i].
void add(ThreadPool& pool, float* x, const float* y, int64_t n);

// Attention over q, k, v [n_pos, n_head * head_dim] -> out [n_pos, n_head * head_dim], scale
// 1/sqrt(head_dim). window_starts (sorted, first 0) splits the positions into contiguous windows
// that attend only within themselves; empty means full attention. scratch (optional) is grown and
// reused for the packed keys/values and the score blocks.
void attention(ThreadPool& pool, const float* q, const float* k, const float* v, int64_t n_pos, int n_head,
               int head_dim, float* out, const std::vector<int64_t>& window_starts = {},
               std::vector<float>* scratch = nullptr);

// Patches of a planar [3][H][W] image in raster order -> rows [n_patches][3*P*P] laid out as the
// conv kernel's ne = [P, P, 3, E] (kx fastest, then ky, then channel).
std::vector<float> im2patches(const float* planar, int width, int height, int patch);

}  // namespace omni::models::vops
