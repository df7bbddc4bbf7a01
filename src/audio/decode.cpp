// Audio decoding through libsndfile's virtual I/O (memory buffers), mono mixing, libsoxr resampling,
// and a minimal PCM16 WAV writer.
#include "audio/decode.hpp"

#include <sndfile.h>
#include <soxr.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>

#include "omni/error.hpp"

namespace omni::audio {
namespace {

struct MemoryReader {
  const uint8_t* data;
  sf_count_t size;
  sf_count_t pos;
};

sf_count_t mem_get_filelen(void* user) { return static_cast<MemoryReader*>(user)->size; }
sf_count_t mem_seek(sf_count_t offset, int whence, void* user) {
  auto* m = static_cast<MemoryReader*>(user);
  sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->pos : m->size;
  sf_count_t p = base + offset;
  if (p < 0) p = 0;
  if (p > m->size) p = m->size;
  m->pos = p;
  return p;
}
sf_count_t mem_read(void* ptr, sf_count_t count, void* user) {
  auto* m = static_cast<MemoryReader*>(user);
  const sf_count_t n = std::max<sf_count_t>(0, std::min(count, m->size - m->pos));
  if (n > 0) std::memcpy(ptr, m->data + m->pos, size_t(n));
  m->pos += n;
  return n;
}
sf_count_t mem_write(const void*, sf_count_t, void*) { return 0; }
sf_count_t mem_tell(void* user) { return static_cast<MemoryReader*>(user)->pos; }

constexpr int kMinRate = 1000;
constexpr int kMaxRate = 768000;

void check_rate(int rate, const std::string& what) {
  if (rate < kMinRate || rate > kMaxRate)
    fail(ErrorCode::invalid_file, what, ": sample rate ", rate, " Hz is outside the supported range ", kMinRate,
         "..", kMaxRate, " Hz");
}


// RIFF/WAVE: libsndfile silently shortens a data chunk that runs past the end of the file; a
// truncated upload should be an error instead.
void check_riff_truncation(const uint8_t* p, size_t n, const std::string& what) {
  if (n < 12 || std::memcmp(p, "RIFF", 4) != 0 || std::memcmp(p + 8, "WAVE", 4) != 0) return;
  size_t pos = 12;
  while (pos + 8 <= n) {
    uint32_t len;
    std::memcpy(&len, p + pos + 4, 4);
    if (std::memcmp(p + pos, "data", 4) == 0) {
      if (len != 0xffffffffu && len != 0 && pos + 8 + size_t(len) > n)
        fail(ErrorCode::invalid_file, what, ": truncated WAV: the data chunk declares ", len, " bytes but only ",
             n - pos - 8, " are present");
      return;
    }
    pos += 8 + size_t(len) + (len & 1);
  }
}

}  // namespace

DecodedAudio decode_audio_native(const void* data, size_t n_bytes, const AudioLimits& limits, const std::string& what) {
  if (n_bytes == 0) fail(ErrorCode::invalid_file, what, ": empty input (0 bytes)");
  if (n_bytes > limits.max_bytes)
    fail(ErrorCode::too_large, what, ": ", n_bytes, " bytes is over the limit of ", limits.max_bytes, " bytes");
  check_riff_truncation(static_cast<const uint8_t*>(data), n_bytes, what);
  MemoryReader reader{static_cast<const uint8_t*>(data), sf_count_t(n_bytes), 0};
  SF_VIRTUAL_IO io{mem_get_filelen, mem_seek, mem_read, mem_write, mem_tell};
  SF_INFO info{};
  SNDFILE* f = sf_open_virtual(&io, SFM_READ, &info, &reader);
  if (!f)
    fail(ErrorCode::invalid_file, what, ": not a readable audio file (WAV, FLAC, OGG, MP3): ", sf_strerror(nullptr));
  struct Closer { SNDFILE* f; ~Closer() { sf_close(f); } } closer{f};
  check_rate(info.samplerate, what);
  if (info.channels < 1 || info.channels > 64)
    fail(ErrorCode::invalid_file, what, ": ", info.channels, " channels is not supported (1..64)");
  const double max_frames = limits.max_seconds * info.samplerate;
  if (info.frames > 0 && double(info.frames) > max_frames)
    fail(ErrorCode::too_large, what, ": ", double(info.frames) / info.samplerate, " s is longer than the limit of ",
         limits.max_seconds, " s");
  DecodedAudio out;
  out.sample_rate = info.samplerate;
  const int ch = info.channels;
  std::vector<float> buf(size_t(4096) * size_t(ch));
  for (;;) {
    const sf_count_t got = sf_readf_float(f, buf.data(), 4096);
    if (got <= 0) break;
    for (sf_count_t i = 0; i < got; ++i) {
      float s = 0;
      for (int c = 0; c < ch; ++c) s += buf[size_t(i) * ch + c];
      out.samples.push_back(s / float(ch));
    }
    if (double(out.samples.size()) > max_frames)
      fail(ErrorCode::too_large, what, ": longer than the limit of ", limits.max_seconds, " s");
  }
  if (sf_error(f) != SF_ERR_NO_ERROR)
    fail(ErrorCode::invalid_file, what, ": decoding failed: ", sf_strerror(f));
  if (out.samples.empty()) fail(ErrorCode::invalid_file, what, ": the file holds no audio samples");
  // Truncated WAV: the header promises more frames than the data holds.
  if (info.frames > 0 && sf_count_t(out.samples.size()) < info.frames &&
      (info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_WAV)
    fail(ErrorCode::invalid_file, what, ": truncated: the header declares ", info.frames, " frames but only ",
         out.samples.size(), " are present");
  for (float& s : out.samples)
    if (!std::isfinite(s)) s = 0.0f;
  return out;
}

std::vector<float> resample(const std::vector<float>& in, int in_rate, int out_rate) {
  if (in_rate == out_rate || in.empty()) return in;
  check_rate(in_rate, "resample");
  const size_t n_out = size_t(std::ceil(double(in.size()) * out_rate / in_rate));
  std::vector<float> out(n_out + 16);
  size_t done = 0;
  const soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
  const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  soxr_error_t err = soxr_oneshot(in_rate, out_rate, 1, in.data(), in.size(), nullptr, out.data(), out.size(), &done,
                                  &io, &q, nullptr);
  if (err) fail(ErrorCode::internal, "resampling ", in_rate, " Hz -> ", out_rate, " Hz failed: ", err);
  out.resize(std::min(done, n_out));
  return out;
}

std::vector<float> decode_audio(const void* data, size_t n_bytes, const AudioLimits& limits, const std::string& what) {
  DecodedAudio a = decode_audio_native(data, n_bytes, limits, what);
  return resample(a.samples, a.sample_rate, kSampleRate);
}

std::vector<float> decode_audio(const std::vector<uint8_t>& bytes, const AudioLimits& limits) {
  return decode_audio(bytes.data(), bytes.size(), limits, "audio");
}

std::vector<uint8_t> read_file_bytes(const std::string& path, size_t max_bytes) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) fail(ErrorCode::not_found, path, ": cannot open file");
  const std::streamoff size = f.tellg();
  if (size < 0) fail(ErrorCode::io, path, ": cannot read file size");
  if (size_t(size) > max_bytes)
    fail(ErrorCode::too_large, path, ": ", size, " bytes is over the limit of ", max_bytes, " bytes");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  f.seekg(0);
  if (size > 0 && !f.read(reinterpret_cast<char*>(bytes.data()), size)) fail(ErrorCode::io, path, ": read failed");
  return bytes;
}

std::vector<float> decode_audio_file(const std::string& path, const AudioLimits& limits) {
  const std::vector<uint8_t> bytes = read_file_bytes(path, limits.max_bytes);
  return decode_audio(bytes.data(), bytes.size(), limits, path);
}

std::vector<float> decode_pcm16(const void* data, size_t n_bytes, int sample_rate, int channels,
                                const AudioLimits& limits) {
  check_rate(sample_rate, "raw PCM16");
  if (channels < 1 || channels > 64) fail(ErrorCode::invalid_argument, "raw PCM16: ", channels, " channels (1..64)");
  if (n_bytes > limits.max_bytes) fail(ErrorCode::too_large, "raw PCM16: ", n_bytes, " bytes is over the limit");
  const size_t frame_bytes = size_t(2) * size_t(channels);
  if (n_bytes % frame_bytes != 0)
    fail(ErrorCode::invalid_file, "raw PCM16: ", n_bytes, " bytes is not a whole number of ", channels,
         "-channel 16-bit frames");
  const size_t n_frames = n_bytes / frame_bytes;
  if (double(n_frames) > limits.max_seconds * sample_rate)
    fail(ErrorCode::too_large, "raw PCM16: longer than the limit of ", limits.max_seconds, " s");
  const auto* p = static_cast<const uint8_t*>(data);
  std::vector<float> mono(n_frames);
  for (size_t i = 0; i < n_frames; ++i) {
    float s = 0;
    for (int c = 0; c < channels; ++c) {
      const size_t o = (i * size_t(channels) + size_t(c)) * 2;
      s += float(int16_t(uint16_t(p[o]) | uint16_t(p[o + 1]) << 8)) / 32768.0f;
    }
    mono[i] = s / float(channels);
  }
  return resample(mono, sample_rate, kSampleRate);
}

std::vector<uint8_t> encode_wav_pcm16(const std::vector<int16_t>& pcm, int sample_rate) {
  const uint32_t data_bytes = uint32_t(pcm.size() * 2);
  std::vector<uint8_t> b(44 + size_t(data_bytes));
  uint8_t* p = b.data();
  auto u32 = [&](size_t at, uint32_t v) { for (int i = 0; i < 4; ++i) p[at + size_t(i)] = uint8_t(v >> (8 * i)); };
  auto u16 = [&](size_t at, uint16_t v) { p[at] = uint8_t(v); p[at + 1] = uint8_t(v >> 8); };
  std::memcpy(p, "RIFF", 4);
  u32(4, 36 + data_bytes);
  std::memcpy(p + 8, "WAVEfmt ", 8);
  u32(16, 16);
  u16(20, 1);  // PCM
  u16(22, 1);  // mono
  u32(24, uint32_t(sample_rate));
  u32(28, uint32_t(sample_rate) * 2);
  u16(32, 2);
  u16(34, 16);
  std::memcpy(p + 36, "data", 4);
  u32(40, data_bytes);
  for (size_t i = 0; i < pcm.size(); ++i) u16(44 + 2 * i, uint16_t(pcm[i]));
  return b;
}

std::vector<uint8_t> encode_wav_pcm16(const float* samples, size_t n, int sample_rate) {
  std::vector<int16_t> pcm(n);
  for (size_t i = 0; i < n; ++i) {
    const float v = std::clamp(samples[i], -1.0f, 1.0f);
    pcm[i] = int16_t(std::lrint(v * 32767.0f));
  }
  return encode_wav_pcm16(pcm, sample_rate);
}

}  // namespace omni::audio
