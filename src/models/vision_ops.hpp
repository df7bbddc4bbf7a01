// Building blocks of the vision towers on float32 activations [n_tokens][width]: linear layers on
// any weight type (through kernels::matmul), LayerNorm / RMSNorm, activations, bidirectional
// multi-head attention (optionally restricted to contiguous windows), patch embedding.
#pragma once
#include <cstdint>
#include <vector>

#include "core/thread_pool.hpp"
#include "formats/gguf.hpp"

namespace omni::models::vops {

// y[n, n_out] = x[n, k] · Wᵀ (+ bias); W is a GGUF tensor with ne = [k, n_out].
void linear(ThreadPool& pool, const gguf::TensorInfo& w, const float* bias, const float* x, int64_t n,
            float* y);
void layer_norm(float* x, int64_t n, int64_t width, const float* w, const float* b, float eps);  // in place
void rms_norm(float* x, int64_t n, int64_t width, const float* w, float eps);                     // in place
void gelu_tanh(float* x, int64_t n);
void gelu_erf(float* x, int64_t n);
void gelu_quick(float* x, int64_t n);
void silu(float* x, int64_t n);

// Attention over q, k, v [n_pos, n_head * head_dim] -> out [n_pos, n_head * head_dim], scale
// 1/sqrt(head_dim). window_starts (sorted, first 0) splits the positions into contiguous windows
// that attend only within themselves; empty means full attention.
void attention(ThreadPool& pool, const float* q, const float* k, const float* v, int64_t n_pos, int n_head,
               int head_dim, float* out, const std::vector<int64_t>& window_starts = {});

// Patches of a planar [3][H][W] image in raster order -> rows [n_patches][3*P*P] laid out as the
// conv kernel's ne = [P, P, 3, E] (kx fastest, then ky, then channel).
std::vector<float> im2patches(const float* planar, int width, int height, int patch);

}  // namespace omni::models::vops
