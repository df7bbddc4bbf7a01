// Run-time choice of the kernel instruction set (CPU detection) and the public kernel API.
// For now every entry forwards to the scalar reference; the SIMD work replaces these.
#include <string>
#include <vector>

#include "kernels/kernels.hpp"
#include "kernels/ref/ref.hpp"

namespace omni::kernels {

std::string active_isa() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vnni")) return "avx512_vnni";
  if (__builtin_cpu_supports("avx512f")) return "avx512";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "avx2";
  return "scalar";
}

void dequantize_row(DType t, const void* src, float* dst, int64_t n) { ref::dequantize_row(t, src, dst, n); }
void quantize_row(DType t, const float* src, void* dst, int64_t n) { ref::quantize_row(t, src, dst, n); }
DType vec_dot_type(DType t) { return ref::vec_dot_type(t); }
void convert_activations(DType t, const float* src, void* dst, int64_t n) { ref::convert_activations(t, src, dst, n); }
float vec_dot(DType t, int64_t n, const void* w, const void* a) { return ref::vec_dot(t, n, w, a); }

void matmul(ThreadPool& pool, DType wt, const void* w, int64_t n_out, int64_t k, const float* x,
            int64_t n_tokens, float* y) {
  const size_t w_row = row_bytes(wt, k);
  const DType vt = vec_dot_type(wt);
  const size_t a_row = row_bytes(vt, k);
  std::vector<uint8_t> act(a_row * size_t(n_tokens));
  for (int64_t t = 0; t < n_tokens; ++t) convert_activations(wt, x + t * k, act.data() + t * a_row, k);
  pool.parallel_for(n_out, 16, [&](int64_t b, int64_t e, int) {
    for (int64_t o = b; o < e; ++o)
      for (int64_t t = 0; t < n_tokens; ++t)
        y[t * n_out + o] = vec_dot(wt, k, static_cast<const uint8_t*>(w) + size_t(o) * w_row, act.data() + t * a_row);
  });
}

}  // namespace omni::kernels
