// Audio input: decode WAV / FLAC / OGG / MP3 (libsndfile) or raw PCM16 to float samples, mix to mono
// and resample to 16 kHz (libsoxr), with limits on size and duration; and PCM16 WAV output.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace omni::audio {

constexpr int kSampleRate = 16000;  // what every model of this layer consumes

struct AudioLimits {
  size_t max_bytes = size_t(1) << 30;   // encoded input size
  double max_seconds = 4.0 * 3600.0;    // decoded duration
};

struct DecodedAudio {
  std::vector<float> samples;  // mono, [-1, 1]
  int sample_rate = 0;
};

// Decodes any container libsndfile reads (WAV PCM/float, FLAC, OGG/Vorbis/Opus, MP3) without
// resampling: channels are averaged to mono. Throws omni::Error (invalid_file, unsupported, too_large).
DecodedAudio decode_audio_native(const void* data, size_t n_bytes, const AudioLimits& limits = {},
                                 const std::string& what = "audio");

// Decodes and resamples to 16 kHz mono.
std::vector<float> decode_audio(const void* data, size_t n_bytes, const AudioLimits& limits = {},
                                const std::string& what = "audio");
std::vector<float> decode_audio(const std::vector<uint8_t>& bytes, const AudioLimits& limits = {});
std::vector<float> decode_audio_file(const std::string& path, const AudioLimits& limits = {});

// Raw interleaved little-endian signed 16-bit PCM at `sample_rate` with `channels`, to 16 kHz mono.
std::vector<float> decode_pcm16(const void* data, size_t n_bytes, int sample_rate, int channels,
                                const AudioLimits& limits = {});

// Resamples mono float audio (libsoxr, high quality). Returns the input unchanged when rates match.
std::vector<float> resample(const std::vector<float>& in, int in_rate, int out_rate);

// Encodes mono float samples as a 16-bit PCM WAV file (clipped to [-1, 1]).
std::vector<uint8_t> encode_wav_pcm16(const float* samples, size_t n, int sample_rate);
std::vector<uint8_t> encode_wav_pcm16(const std::vector<int16_t>& samples, int sample_rate);

// Reads a whole file with a size limit (not_found / io / too_large errors).
std::vector<uint8_t> read_file_bytes(const std::string& path, size_t max_bytes);

}  // namespace omni::audio
