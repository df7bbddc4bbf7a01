// Scalar reference implementations of every kernel (the ground truth the SIMD kernels are tested
// against). Same contracts as kernels.hpp; no threading, no intrinsics.
#pragma once
#include <cstdint>

#include "core/dtype.hpp"

namespace omni::kernels::ref {

void dequantize_row(DType t, const void* src, float* dst, int64_t n);
void quantize_row(DType t, const float* src, void* dst, int64_t n);
DType vec_dot_type(DType weight_type);
void convert_activations(DType weight_type, const float* src, void* dst, int64_t n);
float vec_dot(DType t, int64_t n, const void* weight_row, const void* converted_activations);

}  // namespace omni::kernels::ref
