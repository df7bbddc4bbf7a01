// Log-mel spectrogram exactly as OpenAI Whisper computes it for transcription (30 s of zero padding,
// periodic Hann 400, hop 160, reflect-centred STFT, log10 clamp, max-8 floor, (x+4)/4).
#pragma once
#include <cstdint>
#include <vector>

#include "core/thread_pool.hpp"

namespace omni::audio {

constexpr int kNFft = 400;
constexpr int kHop = 160;
constexpr int kChunkSamples = 480000;  // 30 s at 16 kHz
constexpr int kChunkFrames = 3000;

struct MelSpectrogram {
  int n_mel = 0;
  int n_len = 0;      // frames including the 30 s padding: (n + 480000) / 160
  int n_len_org = 0;  // frames that hold real audio: 1 + (n - 200) / 160
  std::vector<float> data;  // [n_mel, n_len]
  float at(int band, int frame) const { return data[size_t(band) * size_t(n_len) + size_t(frame)]; }
};

// filters: [n_mel, 201] mel filter bank (from the model file). samples: 16 kHz mono.
MelSpectrogram log_mel_spectrogram(const float* samples, int64_t n, const float* filters, int n_mel,
                                   ThreadPool& pool);

// Copies 3000 frames starting at `offset` into out [n_mel, 3000]; frames past n_len are 0 (pad_or_trim).
void mel_window(const MelSpectrogram& mel, int offset, std::vector<float>& out);

}  // namespace omni::audio
