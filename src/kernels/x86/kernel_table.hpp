// The per-instruction-set kernel table the dispatcher picks once at start-up (internal to
// src/kernels). A null entry means "use the scalar reference" for that type.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/dtype.hpp"

namespace omni::kernels {

enum class Isa { scalar = 0, avx2 = 1, avx512 = 2 };

using DequantFn = void (*)(const void* src, float* dst, int64_t n);
using ConvertFn = void (*)(const float* src, void* dst, int64_t n);
using VecDotFn = float (*)(int64_t n, const void* w, const void* a);
// C[t][r] += sum_{k in [0,k)} A[r][k] * B[t][k] for r < n_rows (<= 4), t < n_tok (<= gemm_max_tok);
// A rows have stride lda floats, B rows ldb floats, C rows ldc floats.
using GemmF32Fn = void (*)(int64_t k, const float* a, int64_t lda, int n_rows, const float* b, int64_t ldb,
                           int n_tok, float* c, int64_t ldc);
// Matrix x vector over n_rows weight rows (w_stride bytes apart) and one activation row; writes
// y[0..n_rows). `act` is the converted activation row, or, when the table has a MatvecPrep for the
// type, the buffer that prep() filled from it (once per call, shared by every thread).
using MatvecFn = void (*)(int64_t k, const void* w, size_t w_stride, int64_t n_rows, const void* act, float* y);
struct MatvecPrep {
  size_t (*bytes)(int64_t k) = nullptr;                                 // size of the prepared row
  void (*prep)(const void* converted, int64_t k, void* dst) = nullptr;  // dst 64-byte aligned
};

// Quantized GEMM (VNNI) on activations converted to vec_dot_type and then packed per token.
struct GemmQ {
  size_t (*packed_bytes)(int64_t k) = nullptr;   // bytes of one packed token
  size_t (*scratch_bytes)(int64_t k) = nullptr;  // per-thread scratch for tile()
  void (*pack)(const void* converted, int64_t k, void* dst) = nullptr;  // one token
  // y[t*ldy + r] = dot(W row r, token t) for r < n_rows (<= 4) and every t < n_tok; W rows are
  // w_stride bytes apart, packed tokens p_stride bytes apart.
  void (*tile)(int64_t k, const void* w, size_t w_stride, int n_rows, const void* packed, size_t p_stride, int n_tok,
               float* y, int64_t ldy, void* scratch) = nullptr;
};

struct KernelTable {
  Isa isa = Isa::scalar;
  const char* name = "scalar";
  DequantFn dequant[kDTypeCount] = {};
  ConvertFn convert[kDTypeCount] = {};  // indexed by the weight type
  VecDotFn vec_dot[kDTypeCount] = {};
  GemmQ gemm_q[kDTypeCount] = {};
  MatvecFn matvec[kDTypeCount] = {};  // optional; otherwise vec_dot per row
  MatvecPrep matvec_prep[kDTypeCount] = {};
  GemmF32Fn gemm_f32 = nullptr;
  int gemm_rows = 4;     // rows per gemm_f32 / gemm_q call at most
  int gemm_max_tok = 4;  // tokens per gemm_f32 call at most
};

// Fill a table with the kernels of one instruction set (defined in the *_avx2 / *_avx512 files).
void fill_table_avx2(KernelTable& t);
void fill_table_avx512(KernelTable& t);
void fill_gemm_q_avx512(KernelTable& t);   // kernels_avx512.cpp
// Matrix x vector kernels (matvec_avx512.cpp); with vbmi (the CPU has AVX512_VBMI and GFNI) the
// q5_0/q5_1 entries come from matvec_avx512vbmi.cpp. Tests fill a copy without to cover both.
void fill_matvec_avx512(KernelTable& t, bool vbmi);
void fill_matvec_avx512vbmi(KernelTable& t);
void fill_matvec_f16_avx512(KernelTable& t);  // matvec_f16_avx512.cpp
void fill_matvec_lowbit_avx512(KernelTable& t);  // Q2_K, Q3_K, IQ4_XS: matvec_lowbit_avx512.cpp

// The table for a given ISA, or nullptr when this CPU cannot run it.
const KernelTable* kernel_table(Isa isa);
// The table chosen for this process (best supported, or OMNI_ISA=scalar|avx2|avx512).
const KernelTable& active_table();

// The public operations, with an explicit table (tests compare ISAs in one process).
void dequantize_row_with(const KernelTable& kt, DType t, const void* src, float* dst, int64_t n);
void convert_activations_with(const KernelTable& kt, DType wt, const float* src, void* dst, int64_t n);
float vec_dot_with(const KernelTable& kt, DType t, int64_t n, const void* w, const void* a);

}  // namespace omni::kernels

namespace omni {
class ThreadPool;
namespace kernels {
// automatic: matrix-vector for one token, GEMM for more; gemm: GEMM for any count
// (kernels::matmul_batched); matvec: the matrix-vector kernel for every token (kernels::matmul_each_token).
enum class MatmulPath { automatic, gemm, matvec };
void matmul_with(const KernelTable& kt, ThreadPool& pool, DType wt, const void* w, int64_t n_out, int64_t k,
                 const float* x, int64_t n_tokens, float* y, MatmulPath path = MatmulPath::automatic);
}
}  // namespace omni
