// The kernel API every model uses: dequantize / quantize rows of any block format, dot products of
// a weight row with activations converted to the weight's vec_dot type, and matrix multiplication
// (matrix x vector for decode, tiled GEMM for batches). Implementations: src/kernels/ref (scalar
// reference for everything), src/kernels/x86 (AVX2 / AVX-512, chosen at run time by CPU detection).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/dtype.hpp"
#include "core/thread_pool.hpp"

namespace omni::kernels {

// --- block conversions -------------------------------------------------------------------
// Dequantize n elements (a multiple of the block size) of type t to float32.
void dequantize_row(DType t, const void* src, float* dst, int64_t n);
// Quantize n floats to type t with the reference quantizer (writes row_bytes(t, n) bytes).
// Supported targets: f32 f16 bf16 q4_0 q4_1 q5_0 q5_1 q8_0 q2_k q3_k q4_k q5_k q6_k iq4_nl iq4_xs.
void quantize_row(DType t, const float* src, void* dst, int64_t n);

// --- activations and dot products --------------------------------------------------------
// The format activations are converted to before a dot product with weights of type t
// (f32->f32, f16->f16, bf16->bf16, q4_0/q5_0/q8_0/iq4_nl->q8_0, q4_1/q5_1->q8_1, K/iq4_xs->q8_k).
DType vec_dot_type(DType weight_type);
// Convert n activations to vec_dot_type(weight_type) (bytes: row_bytes(vec_dot_type, n)).
void convert_activations(DType weight_type, const float* src, void* dst, int64_t n);
// Dot product of one weight row (type t, n elements) with activations already converted.
float vec_dot(DType t, int64_t n, const void* weight_row, const void* converted_activations);

// --- matrix multiplication ---------------------------------------------------------------
// y[t][o] = sum_k W[o][k] * x[t][k] for t < n_tokens, o < n_out.
// W: n_out rows of k elements of type wt, row stride row_bytes(wt, k), contiguous.
// x: [n_tokens, k] float32 row-major; y: [n_tokens, n_out] float32 row-major (ldy = n_out).
// n_tokens == 1 takes the matrix-vector path; larger batches the tiled GEMM path.
void matmul(ThreadPool& pool, DType wt, const void* w, int64_t n_out, int64_t k,
            const float* x, int64_t n_tokens, float* y);
// The same product always through the batched (GEMM) kernels, n_tokens == 1 included: a token's
// result is then bit-identical whatever the batch size (the matrix-vector path sums in another
// order).
void matmul_batched(ThreadPool& pool, DType wt, const void* w, int64_t n_out, int64_t k,
                    const float* x, int64_t n_tokens, float* y);
// The same product with the matrix-vector kernel for every token: the weights stream from memory
// once (each group of rows serves every token while it is in cache), and each token's outputs are
// bit-identical to a one-token matmul. For a few decoding sequences at once.
void matmul_each_token(ThreadPool& pool, DType wt, const void* w, int64_t n_out, int64_t k,
                       const float* x, int64_t n_tokens, float* y);

// Which instruction set the dispatcher chose ("avx512_vnni", "avx512", "avx2", "scalar").
std::string active_isa();

}  // namespace omni::kernels
