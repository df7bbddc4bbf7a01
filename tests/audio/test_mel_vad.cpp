// Golden tests: log-mel of jfk.wav against OpenAI's reference, Silero VAD probabilities and segments
// against whisper.cpp's, and the streaming VAD against the batch one.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "audio/decode.hpp"
#include "audio/mel.hpp"
#include "core/npy.hpp"
#include "formats/whisper_ggml.hpp"
#include "models/silero_vad.hpp"
#include "omni/error.hpp"

using namespace omni;

namespace {
const std::string kData = OMNI_TEST_DATA;
}

TEST(Mel, MatchesOpenAIReferenceOnJfk) {
  const auto samples = audio::decode_audio_file(kData + "/audio/jfk.wav");
  ASSERT_EQ(samples.size(), 176000u);
  const auto wf = whisper_ggml::read_whisper_file(kData + "/models/whisper-tiny-header-only.ggml.bin");
  ThreadPool pool(2);
  const auto mel = audio::log_mel_spectrogram(samples.data(), int64_t(samples.size()), wf.mel_filters.data(), 80, pool);
  EXPECT_EQ(mel.n_len, (176000 + 480000) / 160);
  EXPECT_EQ(mel.n_len_org, 1099);
  const NpyArray ref = read_npy(kData + "/whisper/jfk_mel.npy");
  ASSERT_EQ(ref.shape, (std::vector<int64_t>{80, 3000}));
  double max_diff = 0;
  for (int m = 0; m < 80; ++m)
    for (int t = 0; t < 3000; ++t)
      max_diff = std::max(max_diff, double(std::fabs(mel.at(m, t) - ref.data[size_t(m) * 3000 + t])));
  EXPECT_LE(max_diff, 1e-3);
  std::vector<float> win;
  audio::mel_window(mel, 4000, win);  // past n_len: zero-filled
  EXPECT_EQ(win[99], mel.at(0, 4099));
  EXPECT_EQ(win[100], 0.0f);
}

TEST(Vad, ProbabilitiesAndSegmentsMatchWhisperCpp) {
  const auto samples = audio::decode_audio_file(kData + "/audio/jfk.wav");
  vad::SileroVad model(kData + "/models/silero-vad-v6.2.0.ggml.bin");
  const auto probs = model.probabilities(samples.data(), samples.size());
  const auto ref = read_f32_file(kData + "/vad/jfk_probs.f32");
  ASSERT_EQ(ref.size(), 344u);
  ASSERT_EQ(probs.size(), ref.size());
  double max_diff = 0;
  for (size_t i = 0; i < ref.size(); ++i) max_diff = std::max(max_diff, double(std::fabs(probs[i] - ref[i])));
  EXPECT_LE(max_diff, 1e-3);
  const auto segs = vad::speech_segments(probs);
  const double expect[4][2] = {{0.32, 2.27}, {3.27, 4.41}, {5.38, 7.68}, {8.16, 10.62}};
  ASSERT_EQ(segs.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(segs[size_t(i)].start, expect[i][0], 0.0101);
    EXPECT_NEAR(segs[size_t(i)].end, expect[i][1], 0.0101);
  }
  // Non-default parameters from the spec (§4.4): threshold 0.6, min silence 300 ms, max speech 2 s.
  vad::VadParams p;
  p.threshold = 0.6f;
  p.min_silence_duration_ms = 300;
  p.max_speech_duration_s = 2;
  const auto segs2 = vad::speech_segments(ref, p);
  ASSERT_EQ(segs2.size(), 4u);
  EXPECT_NEAR(segs2[0].end, 2.30, 0.0001);
  EXPECT_NEAR(segs2[3].end, 11.01, 0.0001);
}

TEST(Vad, StreamingMatchesBatchAndReportsEvents) {
  const auto samples = audio::decode_audio_file(kData + "/audio/jfk.wav");
  vad::SileroVad model(kData + "/models/silero-vad-v6.2.0.ggml.bin");
  const auto batch = model.probabilities(samples.data(), samples.size());
  vad::StreamingVad stream(model);
  std::vector<vad::VadEvent> events;
  for (size_t off = 0; off < samples.size(); off += 777) {
    const size_t n = std::min<size_t>(777, samples.size() - off);
    auto ev = stream.push(samples.data() + off, n);
    events.insert(events.end(), ev.begin(), ev.end());
  }
  auto ev = stream.flush();
  events.insert(events.end(), ev.begin(), ev.end());
  ASSERT_EQ(stream.probabilities().size(), samples.size() / 512);
  for (size_t i = 0; i < stream.probabilities().size(); ++i) EXPECT_NEAR(stream.probabilities()[i], batch[i], 1e-6);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events.front().type, vad::VadEventType::speech_started);
  EXPECT_NEAR(events.front().time_s, 0.35, 0.1);  // first speech in jfk.wav is at ~0.35 s
  EXPECT_EQ(events.back().type, vad::VadEventType::speech_stopped);
  for (size_t i = 0; i < events.size(); ++i)
    EXPECT_EQ(events[i].type, i % 2 == 0 ? vad::VadEventType::speech_started : vad::VadEventType::speech_stopped);
}

TEST(Vad, TruncatedModelFileIsAClearError) {
  std::ifstream in(kData + "/models/silero-vad-v6.2.0.ggml.bin", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  const std::string path = "truncated-vad.bin";
  std::ofstream(path, std::ios::binary).write(bytes.data(), long(bytes.size() / 2));
  try {
    vad::SileroVad m(path);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_file);
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
}
