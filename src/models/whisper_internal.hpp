// Internals shared by whisper.cpp (graph) and whisper_transcribe.cpp (decoding loop): small
// numeric helpers. Not part of the public API.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/thread_pool.hpp"
#include "models/whisper.hpp"

namespace omni::whisper {

void layer_norm(const float* x, int64_t n_rows, int64_t n, const LayerNorm& ln, float* y, ThreadPool& pool);
void gelu_inplace(float* x, int64_t n, ThreadPool& pool);
void linear(const Linear& l, const float* x, int64_t n_rows, float* y, ThreadPool& pool);
void softmax_row(float* s, int64_t n);

}  // namespace omni::whisper
