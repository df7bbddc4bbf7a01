// Internals shared by whisper.cpp (graph) and whisper_transcribe.cpp (decoding loop): cache
// structures and small numeric helpers. Not part of the public API.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/thread_pool.hpp"
#include "models/whisper.hpp"

namespace omni::whisper {

struct EncoderOutput {
  int64_t n_ctx = 0;
  std::vector<std::vector<float>> k, v;  // per decoder layer: [n_ctx, n_text_state]
};

struct DecoderState {
  int n_past = 0;
  int64_t row = 0;                       // n_text_state
  std::vector<std::vector<float>> k, v;  // per layer: [n_text_ctx, n_text_state]
  void copy_from(const DecoderState& o) {  // copies only the filled positions
    n_past = o.n_past;
    for (size_t l = 0; l < k.size(); ++l) {
      std::copy_n(o.k[l].data(), size_t(o.n_past * row), k[l].data());
      std::copy_n(o.v[l].data(), size_t(o.n_past * row), v[l].data());
    }
  }
};

void layer_norm(const float* x, int64_t n_rows, int64_t n, const LayerNorm& ln, float* y, ThreadPool& pool);
void gelu_inplace(float* x, int64_t n, ThreadPool& pool);
void linear(const Linear& l, const float* x, int64_t n_rows, float* y, ThreadPool& pool);
void softmax_row(float* s, int64_t n);

}  // namespace omni::whisper
