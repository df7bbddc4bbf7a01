// Random-weight Whisper models in whisper.cpp's legacy ggml format, built on the real header
// (mel filters, vocabulary) of a header-only file: for tests and benchmarks of every model size.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.hpp"

namespace omni::whisper {

struct WhisperShape {
  std::string name;
  int n_state, n_head, n_audio_layer, n_text_layer, n_mels, n_vocab;
};

// mini (64-wide, 2+2 layers), tiny, base, small, medium, large-v3, turbo (and .en variants).
// Throws on unknown.
WhisperShape whisper_shape(const std::string& name);
std::vector<std::string> whisper_shape_names();

// Writes a random model with `shape` and weight type `type` (f32, f16, q8_0, q5_0, q5_1, q4_0, q4_1)
// to `path`, taking mel filters (when the band count matches) and the vocabulary from `header_path`.
void write_random_whisper(const std::string& path, const std::string& header_path, const WhisperShape& shape,
                          DType type, uint64_t seed);

// Slaney-style mel filter bank (librosa defaults, as OpenAI's mel_filters.npz): [n_mels, 201].
std::vector<float> slaney_mel_filters(int n_mels, int sample_rate = 16000, int n_fft = 400);

}  // namespace omni::whisper
