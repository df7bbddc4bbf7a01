// Audio input tests: every container (WAV PCM16/float, FLAC, OGG, MP3, raw PCM16, 44.1 kHz stereo)
// written at run time with libsndfile decodes to the same 16 kHz samples within codec/resampling
// error; bad inputs give clear errors; espeak-ng speech round-trips through decode + VAD.
#include <gtest/gtest.h>
#include <sndfile.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include "audio/decode.hpp"
#include "audio/tts.hpp"
#include "models/silero_vad.hpp"
#include "omni/error.hpp"

using namespace omni;

namespace {
const std::string kData = OMNI_TEST_DATA;

// Writes interleaved float frames with libsndfile; returns false when the format is not available.
bool write_sf(const std::string& path, int format, int rate, int channels, const std::vector<float>& frames) {
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = channels;
  info.format = format;
  if (!sf_format_check(&info)) return false;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  if (!f) return false;
  sf_writef_float(f, frames.data(), sf_count_t(frames.size() / size_t(channels)));
  sf_close(f);
  return true;
}

std::vector<uint8_t> bytes_of(const std::string& path) { return audio::read_file_bytes(path, 1 << 30); }

// Relative RMS error of b against a after the best alignment within +-max_lag samples.
double rel_error(const std::vector<float>& a, const std::vector<float>& b, int max_lag) {
  double best = 1e9;
  for (int lag = -max_lag; lag <= max_lag; ++lag) {
    double err = 0, ref = 0;
    for (size_t i = 4000; i + 4000 < a.size(); ++i) {
      const int64_t j = int64_t(i) + lag;
      if (j < 0 || j >= int64_t(b.size())) continue;
      err += (a[i] - b[size_t(j)]) * (a[i] - b[size_t(j)]);
      ref += a[i] * a[i];
    }
    best = std::min(best, std::sqrt(err / ref));
  }
  return best;
}

template <typename F>
void expect_error(F fn, ErrorCode code, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "expected an error containing '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}
}  // namespace

TEST(Decode, JfkIsSixteenKhzMono) {
  const auto s = audio::decode_audio_file(kData + "/audio/jfk.wav");
  ASSERT_EQ(s.size(), 176000u);
  // the file's first PCM16 sample, read by hand from the data chunk
  const auto raw = bytes_of(kData + "/audio/jfk.wav");
  size_t pos = 12;
  while (pos + 8 < raw.size() && std::memcmp(&raw[pos], "data", 4) != 0) {
    uint32_t len;
    std::memcpy(&len, &raw[pos + 4], 4);
    pos += 8 + len;
  }
  int16_t first;
  std::memcpy(&first, &raw[pos + 8], 2);
  EXPECT_FLOAT_EQ(s[0], float(first) / 32768.0f);
}

TEST(Decode, EveryFormatDecodesToTheSameSamples) {
  const auto ref = audio::decode_audio_file(kData + "/audio/jfk.wav");
  struct Fmt { std::string name; int format; double tol; int lag; };
  const std::vector<Fmt> formats = {
      {"f.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 1e-4, 0},
      {"ff.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 1e-6, 0},
      {"f.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 1e-4, 0},
      {"f.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 0.15, 0},
      {"f.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 0.25, 1200},
  };
  for (const auto& f : formats) {
    ASSERT_TRUE(write_sf(f.name, f.format, 16000, 1, ref)) << f.name << ": libsndfile cannot write this format";
    const auto got = audio::decode_audio_file(f.name);
    EXPECT_NEAR(double(got.size()), double(ref.size()), 2000.0) << f.name;
    EXPECT_LT(rel_error(ref, got, f.lag), f.tol) << f.name;
  }
  // 44.1 kHz stereo (both channels the signal) resamples back to the same 16 kHz samples.
  const auto up = audio::resample(ref, 16000, 44100);
  std::vector<float> stereo;
  for (float v : up) stereo.insert(stereo.end(), {v, v});
  ASSERT_TRUE(write_sf("s44.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 44100, 2, stereo));
  const auto back = audio::decode_audio_file("s44.wav");
  EXPECT_NEAR(double(back.size()), double(ref.size()), 2.0);
  EXPECT_LT(rel_error(ref, back, 0), 0.01);
  // raw PCM16 at 8 kHz stereo
  const auto down = audio::resample(ref, 16000, 8000);
  std::vector<uint8_t> raw;
  for (float v : down)
    for (int c = 0; c < 2; ++c) {
      const int16_t s = int16_t(std::lrint(std::clamp(v, -1.0f, 1.0f) * 32767));
      raw.push_back(uint8_t(s & 0xff));
      raw.push_back(uint8_t((uint16_t(s) >> 8) & 0xff));
    }
  const auto pcm = audio::decode_pcm16(raw.data(), raw.size(), 8000, 2);
  EXPECT_NEAR(double(pcm.size()), double(ref.size()), 2.0);
}

TEST(Decode, BadInputsGiveClearErrors) {
  const auto wav = bytes_of(kData + "/audio/jfk.wav");
  expect_error([] { audio::decode_audio(nullptr, 0); }, ErrorCode::invalid_file, "empty");
  std::vector<uint8_t> cut(wav.begin(), wav.begin() + long(wav.size() / 2));
  expect_error([&] { audio::decode_audio(cut); }, ErrorCode::invalid_file, "truncated");
  std::vector<uint8_t> magic = wav;
  std::memcpy(magic.data(), "JUNK", 4);
  expect_error([&] { audio::decode_audio(magic); }, ErrorCode::invalid_file, "not a readable audio file");
  std::vector<uint8_t> noise(5000);
  for (size_t i = 0; i < noise.size(); ++i) noise[i] = uint8_t(i * 7919 % 251);
  expect_error([&] { audio::decode_audio(noise); }, ErrorCode::invalid_file, "not a readable audio file");
  // absurd sample rate in the fmt chunk (offset 24 in a canonical header)
  std::vector<uint8_t> rate = wav;
  const uint32_t absurd = 2000000000u;
  std::memcpy(&rate[24], &absurd, 4);
  try {
    audio::decode_audio(rate);
    ADD_FAILURE() << "absurd sample rate accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_file) << e.what();
  }
  expect_error([&] { audio::decode_pcm16(wav.data(), 3, 16000, 1); }, ErrorCode::invalid_file, "whole number");
  expect_error([&] { audio::decode_pcm16(wav.data(), 4, 0, 1); }, ErrorCode::invalid_file, "sample rate");
  audio::AudioLimits tight;
  tight.max_seconds = 2.0;
  expect_error([&] { audio::decode_audio(wav.data(), wav.size(), tight); }, ErrorCode::too_large, "limit");
  tight = {};
  tight.max_bytes = 1000;
  expect_error([&] { audio::decode_audio(wav.data(), wav.size(), tight); }, ErrorCode::too_large, "limit");
  expect_error([] { audio::decode_audio_file("/nonexistent/x.wav"); }, ErrorCode::not_found, "x.wav");
}

TEST(Tts, SpeechWithAPauseRoundTripsThroughDecodeAndVad) {
  const auto a = audio::synthesize("Hello there, this is the first part of the sentence.");
  const auto b = audio::synthesize("And after a pause, here is the second part.");
  ASSERT_EQ(a.sample_rate, b.sample_rate);
  const int sr = a.sample_rate;
  std::vector<int16_t> all = a.samples;
  all.insert(all.end(), size_t(sr) * 3 / 2, 0);  // 1.5 s of silence
  all.insert(all.end(), b.samples.begin(), b.samples.end());
  const auto wav = audio::encode_wav_pcm16(all, sr);
  const auto samples = audio::decode_audio(wav);
  const double len_a = double(a.samples.size()) / sr, gap_end = len_a + 1.5;
  EXPECT_NEAR(double(samples.size()) / 16000.0, double(all.size()) / sr, 0.01);
  vad::SileroVad model(kData + "/models/silero-vad-v6.2.0.ggml.bin");
  const auto segs = vad::speech_segments(model.probabilities(samples.data(), samples.size()));
  ASSERT_GE(segs.size(), 2u);
  bool in_a = false, in_b = false;
  for (const auto& s : segs) {
    EXPECT_FALSE(s.start < len_a + 0.75 && s.end > len_a + 0.75) << "speech found in the pause";
    if (s.start < len_a && s.end > 0.3) in_a = true;
    if (s.end > gap_end + 0.3) in_b = true;
  }
  EXPECT_TRUE(in_a);
  EXPECT_TRUE(in_b);
}

TEST(Tts, ChineseVoiceRateAndPitch) {
  audio::TtsOptions zh;
  zh.voice = "zh";
  const auto z = audio::synthesize("你好，世界。", zh);
  EXPECT_GT(z.samples.size(), size_t(z.sample_rate) / 4);
  audio::TtsOptions slow, fast;
  slow.rate_wpm = 100;
  fast.rate_wpm = 350;
  const std::string text = "The quick brown fox jumps over the lazy dog.";
  EXPECT_GT(audio::synthesize(text, slow).samples.size(), audio::synthesize(text, fast).samples.size() * 3 / 2);
  const auto wav = audio::synthesize_wav(text);
  ASSERT_GT(wav.size(), 44u);
  EXPECT_EQ(std::memcmp(wav.data(), "RIFF", 4), 0);
  audio::TtsOptions bad;
  bad.voice = "no-such-voice-xx";
  expect_error([&] { audio::synthesize(text, bad); }, ErrorCode::invalid_argument, "voice");
  bad = {};
  bad.pitch = 300;
  expect_error([&] { audio::synthesize(text, bad); }, ErrorCode::invalid_argument, "pitch");
}
