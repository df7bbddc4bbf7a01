// CLI tests for the audio commands: `omni vad --json`, `omni transcribe` (json/srt/vtt, --logits-out
// against the golden logits), `omni speak`, `omni make-model --arch whisper`, and their errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "audio/decode.hpp"
#include "core/npy.hpp"
#include "models/whisper.hpp"

using namespace omni;

namespace {
const std::string kData = OMNI_TEST_DATA;
const std::string kCli = OMNI_CLI;

struct Result {
  int status;
  std::string out;
};

// stderr goes to a file named after the running test (ctest may run tests in parallel).
std::string stderr_path() {
  return std::string("cli-stderr-") + ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".txt";
}

Result run(const std::string& args) {
  const std::string cmd = kCli + " " + args + " 2>" + stderr_path();
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

std::string stderr_text() {
  std::ifstream f(stderr_path());
  return std::string((std::istreambuf_iterator<char>(f)), {});
}
}  // namespace

TEST(CliAudio, VadJson) {
  const auto r = run("vad --vad " + kData + "/models/silero-vad-v6.2.0.ggml.bin " + kData + "/audio/jfk.wav --json");
  ASSERT_EQ(r.status, 0) << stderr_text();
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["probs"].size(), 344u);
  const double expect[4][2] = {{0.32, 2.27}, {3.27, 4.41}, {5.38, 7.68}, {8.16, 10.62}};
  ASSERT_EQ(j["segments"].size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(j["segments"][i]["start"].get<double>(), expect[i][0], 0.0101);
    EXPECT_NEAR(j["segments"][i]["end"].get<double>(), expect[i][1], 0.0101);
  }
}

TEST(CliAudio, TranscribeLogitsOutAndFormats) {
  const std::string model = kData + "/whisper/mini-random.ggml.bin", wav = kData + "/audio/jfk.wav";
  auto r = run("transcribe -m " + model + " " + wav + " --no-timestamps --no-fallback --max-tokens 16 -f json --logits-out cli-logits.f32");
  ASSERT_EQ(r.status, 0) << stderr_text();
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["language"], "en");
  EXPECT_NEAR(j["duration"].get<double>(), 11.0, 1e-6);
  const auto got = read_f32_file("cli-logits.f32");
  const auto ref = read_f32_file(kData + "/whisper/logits_after_prompt.f32");
  ASSERT_EQ(got.size(), ref.size());
  double max_diff = 0;
  for (size_t i = 0; i < ref.size(); ++i) max_diff = std::max(max_diff, double(std::fabs(got[i] - ref[i])));
  EXPECT_LE(max_diff, 5e-3);
  r = run("transcribe -m " + model + " " + wav + " --no-fallback -f vtt --threads 2 --max-tokens 16");
  ASSERT_EQ(r.status, 0) << stderr_text();
  EXPECT_EQ(r.out.rfind("WEBVTT\n\n", 0), 0u) << r.out;
  r = run("transcribe -m " + model + " " + wav + " --no-fallback -f srt --beam 2 --max-tokens 16 --prompt \"So my fellow\"");
  ASSERT_EQ(r.status, 0) << stderr_text();
  if (!r.out.empty()) {
    EXPECT_EQ(r.out.rfind("1\n00:00:", 0), 0u) << r.out;
    EXPECT_NE(r.out.find(" --> "), std::string::npos);
  }
}

TEST(CliAudio, SpeakWritesDecodableWav) {
  auto r = run("speak \"Hello from the omni runtime.\" -o cli-speak.wav");
  ASSERT_EQ(r.status, 0) << stderr_text();
  const auto s = audio::decode_audio_file("cli-speak.wav");
  EXPECT_GT(s.size(), 8000u);
  r = run("speak \"你好\" -v zh --rate 120 --pitch 60 -o cli-speak-zh.wav");
  ASSERT_EQ(r.status, 0) << stderr_text();
  r = run("speak hello --rate 5000 -o x.wav");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(stderr_text().find("rate"), std::string::npos);
}

TEST(CliAudio, MakeModelWhisperAndErrors) {
  auto r = run("make-model --arch whisper --shape mini --type q5_0 --header " + kData +
               "/models/whisper-tiny-header-only.ggml.bin -o cli-mini.bin");
  ASSERT_EQ(r.status, 0) << stderr_text();
  whisper::Model m("cli-mini.bin");
  EXPECT_EQ(m.weight_type(), DType::q5_0);
  EXPECT_EQ(m.hparams().n_text_layer, 2);
  r = run("make-model --arch whisper --shape enormous -o x.bin");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(stderr_text().find("enormous"), std::string::npos);
  r = run("transcribe -m does-not-exist.bin " + kData + "/audio/jfk.wav");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(stderr_text().find("does-not-exist.bin"), std::string::npos);
  std::ofstream("cli-empty.wav").close();
  r = run("vad --vad " + kData + "/models/silero-vad-v6.2.0.ggml.bin cli-empty.wav");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(stderr_text().find("empty"), std::string::npos) << stderr_text();
}
