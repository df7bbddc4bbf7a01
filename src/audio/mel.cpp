// Log-mel spectrogram: a mixed radix-2 / odd-length DFT on 400-sample frames (float32 with a
// sin/cos table), power spectrum, mel projection accumulated in double, Whisper's normalisation.
#include "audio/mel.hpp"

#include <algorithm>
#include <cmath>

#include "omni/error.hpp"

namespace omni::audio {
namespace {

constexpr int kNBins = kNFft / 2 + 1;  // 201

struct Twiddles {
  float cos_t[kNFft];
  float sin_t[kNFft];
  Twiddles() {
    for (int i = 0; i < kNFft; ++i) {
      const double a = 2.0 * M_PI * i / kNFft;
      cos_t[i] = float(std::cos(a));
      sin_t[i] = float(std::sin(a));
    }
  }
};

// Complex spectrum (interleaved re, im) of n real inputs; n divides 400. scratch holds >= 4n floats
// at every recursion level (the total use is below 8 * 400).
void fft_real(const float* in, int n, float* out, const Twiddles& tw, float* scratch) {
  const int step = kNFft / n;
  if (n % 2 == 1) {
    for (int k = 0; k < n; ++k) {
      float re = 0, im = 0;
      for (int j = 0; j < n; ++j) {
        const int idx = ((j * k) % n) * step;
        re += in[j] * tw.cos_t[idx];
        im -= in[j] * tw.sin_t[idx];
      }
      out[2 * k] = re;
      out[2 * k + 1] = im;
    }
    return;
  }
  const int h = n / 2;
  float* even = scratch;
  float* odd = scratch + h;
  float* even_out = scratch + n;
  float* odd_out = scratch + 2 * n;
  for (int i = 0; i < h; ++i) {
    even[i] = in[2 * i];
    odd[i] = in[2 * i + 1];
  }
  fft_real(even, h, even_out, tw, scratch + 3 * n);
  fft_real(odd, h, odd_out, tw, scratch + 3 * n);
  for (int k = 0; k < h; ++k) {
    const float c = tw.cos_t[k * step], s = -tw.sin_t[k * step];
    const float ore = odd_out[2 * k], oim = odd_out[2 * k + 1];
    const float tre = c * ore - s * oim, tim = c * oim + s * ore;
    out[2 * k] = even_out[2 * k] + tre;
    out[2 * k + 1] = even_out[2 * k + 1] + tim;
    out[2 * (k + h)] = even_out[2 * k] - tre;
    out[2 * (k + h) + 1] = even_out[2 * k + 1] - tim;
  }
}

}  // namespace

MelSpectrogram log_mel_spectrogram(const float* samples, int64_t n, const float* filters, int n_mel,
                                   ThreadPool& pool) {
  if (n_mel <= 0 || n_mel > 512) fail(ErrorCode::invalid_argument, "log-mel: bad number of mel bands ", n_mel);
  if (n < 0 || n > int64_t(1) << 34) fail(ErrorCode::too_large, "log-mel: ", n, " samples is too many");
  const Twiddles tw;
  const int64_t pad_len = n + kChunkSamples + kNFft;
  std::vector<float> padded(size_t(pad_len), 0.0f);
  std::copy(samples, samples + n, padded.begin() + kNFft / 2);
  const int64_t r = std::min<int64_t>(kNFft / 2, std::max<int64_t>(0, n - 1));
  for (int64_t k = 1; k <= r; ++k) padded[size_t(kNFft / 2 - k)] = samples[k];

  MelSpectrogram mel;
  mel.n_mel = n_mel;
  mel.n_len = int((n + kChunkSamples) / kHop);
  mel.n_len_org = int(1 + (n + kNFft / 2 - kNFft) / kHop);
  mel.data.assign(size_t(n_mel) * size_t(mel.n_len), 0.0f);
  float hann[kNFft];
  for (int j = 0; j < kNFft; ++j) hann[j] = 0.5f * (1.0f - std::cos(2.0f * float(M_PI) * float(j) / kNFft));
  const int64_t last_nonzero = (n + kNFft / 2) / kHop;
  const int n_len = mel.n_len;

  pool.parallel_for(n_len, 32, [&](int64_t b, int64_t e, int) {
    std::vector<float> frame(kNFft), spec(2 * kNFft), scratch(8 * kNFft), power(kNBins);
    for (int64_t i = b; i < e; ++i) {
      if (i > last_nonzero) {
        for (int m = 0; m < n_mel; ++m) mel.data[size_t(m) * n_len + size_t(i)] = -10.0f;
        continue;
      }
      const float* src = padded.data() + i * kHop;
      for (int j = 0; j < kNFft; ++j) frame[j] = hann[j] * src[j];
      fft_real(frame.data(), kNFft, spec.data(), tw, scratch.data());
      for (int k = 0; k < kNBins; ++k) power[k] = spec[2 * k] * spec[2 * k] + spec[2 * k + 1] * spec[2 * k + 1];
      for (int m = 0; m < n_mel; ++m) {
        const float* f = filters + size_t(m) * kNBins;
        double sum = 0;
        for (int k = 0; k < kNBins; ++k) sum += double(f[k]) * double(power[k]);
        mel.data[size_t(m) * n_len + size_t(i)] = float(std::log10(std::max(sum, 1e-10)));
      }
    }
  });
  float mx = -1e30f;
  for (float v : mel.data) mx = std::max(mx, v);
  const float floor_v = mx - 8.0f;
  for (float& v : mel.data) v = (std::max(v, floor_v) + 4.0f) / 4.0f;
  return mel;
}

void mel_window(const MelSpectrogram& mel, int offset, std::vector<float>& out) {
  out.assign(size_t(mel.n_mel) * kChunkFrames, 0.0f);
  for (int m = 0; m < mel.n_mel; ++m)
    for (int t = 0; t < kChunkFrames; ++t) {
      const int f = offset + t;
      if (f >= 0 && f < mel.n_len) out[size_t(m) * kChunkFrames + t] = mel.at(m, f);
    }
}

}  // namespace omni::audio
