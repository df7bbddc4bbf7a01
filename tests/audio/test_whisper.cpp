// Whisper golden test (logits after the prompt on a random-weight model vs the float64 OpenAI
// reference), model-file validation, tokenizer round trip, and transcription invariants.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <numeric>
#include <thread>

#include "audio/decode.hpp"
#include "core/npy.hpp"
#include "models/whisper.hpp"
#include "models/whisper_random.hpp"
#include "omni/error.hpp"

using namespace omni;

namespace {
const std::string kData = OMNI_TEST_DATA;

std::vector<int> top_k(const std::vector<float>& v, size_t k) {
  std::vector<int> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::partial_sort(idx.begin(), idx.begin() + long(k), idx.end(), [&](int a, int b) { return v[size_t(a)] > v[size_t(b)]; });
  idx.resize(k);
  std::sort(idx.begin(), idx.end());
  return idx;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}
}  // namespace

TEST(Whisper, LogitsAfterPromptMatchReference) {
  whisper::Model model(kData + "/whisper/mini-random.ggml.bin");
  EXPECT_EQ(model.tokens().sot, 50258);
  EXPECT_EQ(model.tokens().beg, 50364);
  EXPECT_EQ(model.tokens().eot, 50257);
  const auto samples = audio::decode_audio_file(kData + "/audio/jfk.wav");
  ThreadPool pool(2);
  const auto logits = model.logits_after_prompt(samples, {50258, 50259, 50359, 50363}, pool);
  const auto ref = read_f32_file(kData + "/whisper/logits_after_prompt.f32");
  ASSERT_EQ(logits.size(), ref.size());
  double max_diff = 0;
  for (size_t i = 0; i < ref.size(); ++i) max_diff = std::max(max_diff, double(std::fabs(logits[i] - ref[i])));
  EXPECT_LE(max_diff, 5e-3);
  EXPECT_EQ(top_k(logits, 5), top_k(ref, 5));
}

TEST(Whisper, TranscribeReportsFirstLogitsAndTerminates) {
  whisper::Model model(kData + "/whisper/mini-random.ggml.bin");
  const auto samples = audio::decode_audio_file(kData + "/audio/jfk.wav");
  ThreadPool pool(2);
  whisper::Options opt;
  opt.timestamps = false;
  opt.temperatures = {0.0f};
  opt.max_tokens = 16;
  std::vector<float> first;
  opt.first_prompt_logits = &first;
  const auto t = model.transcribe(samples, opt, pool);
  const auto ref = read_f32_file(kData + "/whisper/logits_after_prompt.f32");
  ASSERT_EQ(first.size(), ref.size());  // same prompt as the golden one: sot en transcribe notimestamps
  double max_diff = 0;
  for (size_t i = 0; i < ref.size(); ++i) max_diff = std::max(max_diff, double(std::fabs(first[i] - ref[i])));
  EXPECT_LE(max_diff, 5e-3);
  EXPECT_EQ(t.language, "en");
  for (const auto& s : t.segments) {
    EXPECT_LE(s.start, s.end);
    EXPECT_LE(s.end, 30.0);
    for (int id : s.tokens) EXPECT_LT(id, model.tokens().eot);
  }
}

TEST(Whisper, BeamSearchAndTimestampsStayWellFormed) {
  whisper::Model model(kData + "/whisper/mini-random.ggml.bin");
  const auto samples = audio::decode_audio_file(kData + "/audio/jfk.wav");
  ThreadPool pool(2);
  whisper::Options opt;
  opt.beam_size = 3;
  opt.temperatures = {0.0f};
  opt.max_tokens = 24;
  const auto t = model.transcribe(samples, opt, pool);
  double prev = 0;
  for (const auto& s : t.segments) {
    EXPECT_GE(s.start, prev - 1e-9);
    EXPECT_LE(s.start, s.end);
    prev = s.start;
  }
}

TEST(Whisper, TokenizerRoundTrips) {
  whisper::Model model(kData + "/whisper/mini-random.ggml.bin");
  const std::string text = " And so my fellow Americans, ask not what your country can do for you.";
  const auto ids = model.tokenize(text);
  std::string back;
  for (int id : ids) back += model.token_text(id);
  EXPECT_EQ(back, text);
  EXPECT_LT(ids.size(), text.size() / 2);  // merges happened
  // " the" is a single token in the GPT-2 / tiktoken vocabulary.
  EXPECT_EQ(model.tokenize(" the").size(), 1u);
}

TEST(Whisper, BadModelFilesGiveClearErrors) {
  const std::string full = read_all(kData + "/whisper/mini-random.ggml.bin");
  struct Case { std::string name; std::string bytes; std::string needle; };
  std::string bad_magic = full.substr(0, 4096);
  bad_magic[0] = 'X';
  const std::vector<Case> cases = {
      {"cut-in-tensors.bin", full.substr(0, full.size() - 1000), "truncated"},
      {"cut-in-header.bin", full.substr(0, 30), "truncated"},
      {"bad-magic.bin", bad_magic, "magic"},
      {"empty.bin", "", "truncated"},
  };
  for (const auto& c : cases) {
    std::ofstream(c.name, std::ios::binary).write(c.bytes.data(), long(c.bytes.size()));
    try {
      whisper::Model m(c.name);
      ADD_FAILURE() << c.name << ": expected an error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(c.needle), std::string::npos) << c.name << ": " << e.what();
    }
  }
  try {
    whisper::Model m(kData + "/models/whisper-tiny-header-only.ggml.bin");
    ADD_FAILURE() << "header-only file accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no tensors"), std::string::npos) << e.what();
  }
}

TEST(WhisperRandom, WrittenModelsLoadAndQuantizedLogitsTrackF16) {
  const std::string header = kData + "/models/whisper-tiny-header-only.ggml.bin";
  const auto shape = whisper::whisper_shape("mini");
  whisper::write_random_whisper("rand-f16.bin", header, shape, DType::f16, 7);
  whisper::write_random_whisper("rand-q8_0.bin", header, shape, DType::q8_0, 7);
  whisper::write_random_whisper("rand-f32.bin", header, shape, DType::f32, 7);
  whisper::Model f16("rand-f16.bin"), q8("rand-q8_0.bin"), f32("rand-f32.bin");
  EXPECT_EQ(f16.hparams().n_audio_state, 64);
  EXPECT_EQ(q8.weight_type(), DType::q8_0);
  EXPECT_EQ(f32.weight_type(), DType::f32);
  EXPECT_EQ(f16.mel_filters(), whisper_ggml::read_whisper_file(header).mel_filters);
  EXPECT_EQ(f16.token_text(50256), "");  // copied vocabulary; 50257+ synthesized
  EXPECT_EQ(f16.token_text(1), "\"");
  const auto samples = audio::decode_audio_file(kData + "/audio/jfk.wav");
  ThreadPool pool(2);
  const std::vector<int> prompt = {50258, 50259, 50359, 50363};
  const auto a = f16.logits_after_prompt(samples, prompt, pool);
  const auto b = q8.logits_after_prompt(samples, prompt, pool);
  const auto c = f32.logits_after_prompt(samples, prompt, pool);
  auto cosine = [](const std::vector<float>& x, const std::vector<float>& y) {
    double xy = 0, xx = 0, yy = 0;
    for (size_t i = 0; i < x.size(); ++i) xy += double(x[i]) * y[i], xx += double(x[i]) * x[i], yy += double(y[i]) * y[i];
    return xy / std::sqrt(xx * yy);
  };
  // Same seed: the three files hold the same random values rounded to their types.
  EXPECT_GT(cosine(a, c), 0.999);
  EXPECT_GT(cosine(b, c), 0.99);
  EXPECT_LT(cosine(b, c), 1.0);  // quantization changed something
  // 128 Slaney bands for large-v3: each row peaks at 2 / bandwidth, rows are ordered by frequency
  const auto fb = whisper::slaney_mel_filters(128);
  ASSERT_EQ(fb.size(), 128u * 201u);
  const auto ref80 = whisper::slaney_mel_filters(80);
  double max_diff = 0;
  for (size_t i = 0; i < ref80.size(); ++i) max_diff = std::max(max_diff, double(std::fabs(ref80[i] - f16.mel_filters()[i])));
  EXPECT_LT(max_diff, 1e-6);  // our Slaney filters reproduce OpenAI's 80-band file filters
  EXPECT_THROW(whisper::whisper_shape("huge"), Error);
}

TEST(Whisper, LongAudioSeeksThroughEveryWindowAndDetectsLanguage) {
  whisper::Model model(kData + "/whisper/mini-random.ggml.bin");
  const auto one = audio::decode_audio_file(kData + "/audio/jfk.wav");
  std::vector<float> samples;
  for (int i = 0; i < 6; ++i) samples.insert(samples.end(), one.begin(), one.end());  // 66 s
  ThreadPool pool(2);
  whisper::Options opt;
  opt.timestamps = false;  // each window then advances a full 30 s: windows at 0, 30 and 60 s
  opt.temperatures = {0.0f};
  opt.language = "auto";
  opt.max_tokens = 8;
  std::vector<double> progress;
  opt.progress = [&](double f) { progress.push_back(f); };
  const auto t = model.transcribe(samples, opt, pool);
  ASSERT_EQ(progress.size(), 4u);  // three windows + the final 1.0
  EXPECT_DOUBLE_EQ(progress[0], 0.0);
  EXPECT_NEAR(progress[1], 3000.0 / 6599.0, 1e-9);  // n_len_org = 1 + (1056000 - 200) / 160
  EXPECT_NEAR(progress[2], 6000.0 / 6599.0, 1e-9);
  EXPECT_DOUBLE_EQ(progress[3], 1.0);
  EXPECT_NE(whisper::language_index(t.language), -1) << t.language;
  EXPECT_NEAR(t.duration_s, 66.0, 1e-9);
  for (const auto& s : t.segments) EXPECT_LE(s.end, 66.0);
  whisper::Options bad;
  bad.language = "xx";
  EXPECT_THROW(model.transcribe(one, bad, pool), Error);
}

TEST(Whisper, CorruptedHeadersNeverCrash) {
  const std::string full = read_all(kData + "/whisper/mini-random.ggml.bin");
  // Corrupt each hparam, the mel/vocab counts and the first tensor record's fields in turn.
  std::vector<size_t> offsets;
  for (size_t o = 4; o < 56; o += 4) offsets.push_back(o);
  offsets.push_back(56 + 80 * 201 * 4);  // vocabulary count
  int errors = 0;
  for (size_t o : offsets)
    for (int32_t v : {-1, 0, 3, 1 << 30}) {
      std::string bytes = full;
      std::memcpy(&bytes[o], &v, 4);
      std::ofstream("corrupt.bin", std::ios::binary).write(bytes.data(), long(bytes.size()));
      try {
        whisper::Model m("corrupt.bin");
      } catch (const Error&) {
        ++errors;
      }
    }
  EXPECT_GE(errors, int(offsets.size()) * 3);  // nearly every corruption is detected
}

TEST(Whisper, PromptConstructionForTranslateAndInitialPrompt) {
  whisper::Model model(kData + "/whisper/mini-random.ggml.bin");
  const auto samples = audio::decode_audio_file(kData + "/audio/jfk.wav");
  ThreadPool pool(2);
  const auto& st = model.tokens();
  auto first_logits = [&](whisper::Options opt) {
    std::vector<float> lg;
    opt.first_prompt_logits = &lg;
    opt.temperatures = {0.0f};
    opt.timestamps = false;
    opt.max_tokens = 1;
    model.transcribe(samples, opt, pool);
    return lg;
  };
  whisper::Options tr;
  tr.translate = true;
  tr.language = "de";
  auto max_diff = [](const std::vector<float>& a, const std::vector<float>& b) {
    EXPECT_EQ(a.size(), b.size());
    double m = 0;
    for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, double(std::fabs(a[i] - b[i])));
    return m;
  };
  const auto de_translate = model.logits_after_prompt(samples, {st.sot, st.lang(2), st.translate, st.notimestamps}, pool);
  EXPECT_LT(max_diff(first_logits(tr), de_translate), 1e-5);
  EXPECT_GT(max_diff(de_translate, read_f32_file(kData + "/whisper/logits_after_prompt.f32")), 1e-2);
  whisper::Options pr;
  pr.initial_prompt = " Americans";
  std::vector<int> prompt = {st.prev};
  for (int id : model.tokenize(" Americans")) prompt.push_back(id);
  prompt.insert(prompt.end(), {st.sot, st.lang(0), st.transcribe, st.notimestamps});
  EXPECT_LT(max_diff(first_logits(pr), model.logits_after_prompt(samples, prompt, pool)), 1e-5);
}

TEST(Whisper, ConcurrentTranscriptionsAgreeWithSequential) {
  whisper::Model model(kData + "/whisper/mini-random.ggml.bin");
  const auto samples = audio::decode_audio_file(kData + "/audio/jfk.wav");
  whisper::Options opt;
  opt.temperatures = {0.0f};
  opt.max_tokens = 6;
  ThreadPool pool(1);
  const auto ref = model.transcribe(samples, opt, pool);
  std::vector<whisper::Transcript> got(3);
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i)
    threads.emplace_back([&, i] {
      ThreadPool own(1);
      got[size_t(i)] = model.transcribe(samples, opt, own);
    });
  for (auto& t : threads) t.join();
  for (const auto& g : got) {
    EXPECT_EQ(g.text, ref.text);
    ASSERT_EQ(g.segments.size(), ref.segments.size());
    for (size_t i = 0; i < g.segments.size(); ++i) EXPECT_EQ(g.segments[i].tokens, ref.segments[i].tokens);
  }
}

// OpenAI's temperature-fallback trigger: repetitive text compresses far better than speech.
TEST(WhisperFallback, CompressionRatioSeparatesRepetitionFromSpeech) {
  std::string looped;
  for (int i = 0; i < 40; ++i) looped += " thank you.";
  const std::string speech =
      " And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country.";
  EXPECT_GT(omni::whisper::compression_ratio(looped), 2.4);
  EXPECT_LT(omni::whisper::compression_ratio(speech), 2.4);
  EXPECT_EQ(omni::whisper::compression_ratio(""), 0.0);
}

// Timestamp tokens of a (random) model may point past the end of the audio: segments stay inside it.
TEST(Whisper, SegmentTimesStayInsideTheAudio) {
  whisper::Model model(kData + "/whisper/mini-random.ggml.bin");
  const auto samples = audio::decode_audio_file(kData + "/audio/jfk.wav");
  const double duration = double(samples.size()) / 16000.0;
  ThreadPool pool(2);
  whisper::Options opt;
  opt.timestamps = true;
  opt.temperatures = {0.0f};
  opt.max_tokens = 24;
  const auto t = model.transcribe(samples, opt, pool);
  for (const auto& s : t.segments) {
    EXPECT_GE(s.start, 0.0);
    EXPECT_LE(s.start, s.end);
    EXPECT_LE(s.end, duration + 0.01) << s.text;
  }
}
