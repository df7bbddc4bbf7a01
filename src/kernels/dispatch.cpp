// Run-time choice of the kernel instruction set (CPU detection once per process, or OMNI_ISA)
// and the public kernel API, forwarding to the chosen SIMD table or the scalar reference.
#include <cstdlib>
#include <cstring>
#include <string>

#include "kernels/kernels.hpp"
#include "kernels/ref/ref.hpp"
#include "kernels/x86/kernel_table.hpp"
#include "omni/error.hpp"

namespace omni::kernels {
namespace {

bool cpu_has_avx2() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
  return false;
#endif
}

bool cpu_has_avx512() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return cpu_has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni") &&
         __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

struct Tables {
  KernelTable scalar, avx2, avx512;
  bool has_avx2 = false, has_avx512 = false;
  Tables() {
    has_avx2 = cpu_has_avx2();
    has_avx512 = cpu_has_avx512();
#if defined(__x86_64__)
    if (has_avx2) fill_table_avx2(avx2);
    if (has_avx512) fill_table_avx512(avx512);
#endif
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

const KernelTable& choose_table() {
  const Tables& t = tables();
  const KernelTable* best = t.has_avx512 ? &t.avx512 : t.has_avx2 ? &t.avx2 : &t.scalar;
  if (const char* env = std::getenv("OMNI_ISA"); env && *env) {
    const std::string v(env);
    if (v == "scalar") return t.scalar;
    if (v == "avx2" && t.has_avx2) return t.avx2;
    if (v == "avx512" && t.has_avx512) return t.avx512;
    // An unsupported or unknown request falls back to the best level this CPU has.
  }
  return *best;
}

bool valid_len(DType t, int64_t n) {
  const auto tr = dtype_traits(static_cast<uint32_t>(t));
  return tr && n >= 0 && n % tr->block_size == 0;
}

}  // namespace

const KernelTable* kernel_table(Isa isa) {
  const Tables& t = tables();
  switch (isa) {
    case Isa::scalar: return &t.scalar;
    case Isa::avx2: return t.has_avx2 ? &t.avx2 : nullptr;
    case Isa::avx512: return t.has_avx512 ? &t.avx512 : nullptr;
  }
  return nullptr;
}

const KernelTable& active_table() {
  static const KernelTable& chosen = choose_table();
  return chosen;
}

std::string active_isa() {
  const KernelTable& kt = active_table();
  return kt.name;
}

void dequantize_row_with(const KernelTable& kt, DType t, const void* src, float* dst, int64_t n) {
  const auto id = static_cast<uint32_t>(t);
  if (id < kDTypeCount && kt.dequant[id] && valid_len(t, n)) return kt.dequant[id](src, dst, n);
  ref::dequantize_row(t, src, dst, n);
}

void convert_activations_with(const KernelTable& kt, DType wt, const float* src, void* dst, int64_t n) {
  const auto id = static_cast<uint32_t>(wt);
  if (id < kDTypeCount && kt.convert[id] && valid_len(wt, n)) return kt.convert[id](src, dst, n);
  ref::convert_activations(wt, src, dst, n);
}

float vec_dot_with(const KernelTable& kt, DType t, int64_t n, const void* w, const void* a) {
  const auto id = static_cast<uint32_t>(t);
  if (id < kDTypeCount && kt.vec_dot[id] && valid_len(t, n)) return kt.vec_dot[id](n, w, a);
  return ref::vec_dot(t, n, w, a);
}

void dequantize_row(DType t, const void* src, float* dst, int64_t n) {
  dequantize_row_with(active_table(), t, src, dst, n);
}
void quantize_row(DType t, const float* src, void* dst, int64_t n) { ref::quantize_row(t, src, dst, n); }
DType vec_dot_type(DType t) { return ref::vec_dot_type(t); }
void convert_activations(DType t, const float* src, void* dst, int64_t n) {
  convert_activations_with(active_table(), t, src, dst, n);
}
float vec_dot(DType t, int64_t n, const void* w, const void* a) { return vec_dot_with(active_table(), t, n, w, a); }

void matmul(ThreadPool& pool, DType wt, const void* w, int64_t n_out, int64_t k, const float* x,
            int64_t n_tokens, float* y) {
  matmul_with(active_table(), pool, wt, w, n_out, k, x, n_tokens, y);
}

void matmul_batched(ThreadPool& pool, DType wt, const void* w, int64_t n_out, int64_t k, const float* x,
                    int64_t n_tokens, float* y) {
  matmul_with(active_table(), pool, wt, w, n_out, k, x, n_tokens, y, MatmulPath::gemm);
}

void matmul_each_token(ThreadPool& pool, DType wt, const void* w, int64_t n_out, int64_t k, const float* x,
                       int64_t n_tokens, float* y) {
  matmul_with(active_table(), pool, wt, w, n_out, k, x, n_tokens, y, MatmulPath::matvec);
}

}  // namespace omni::kernels
