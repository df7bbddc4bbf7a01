// POST /v1/act with "audio": the optional "language" (ISO code or "auto") reaches Whisper, is
// validated (400 naming the field) and comes back with the transcript; the default is detection.
#include <gtest/gtest.h>

#include "api_server.hpp"
#include "multipart.hpp"
#include "audio/decode.hpp"
#include "core/thread_pool.hpp"
#include "models/whisper.hpp"
#include "server/media.hpp"

using namespace omni;
using namespace omni::test;

namespace {

const std::string k_data = OMNI_TEST_DATA;
const std::string k_whisper = k_data + "/whisper/mini-random.ggml.bin";

server::ServeConfig voice_config() {
  server::ServeConfig c;
  c.asr_model = k_whisper;
  c.threads = 2;
  c.dry_run = true;
  return c;
}

// What Whisper itself makes of the audio the server decodes, with the server's options.
whisper::Transcript direct(const std::string& wav, const std::string& language) {
  static whisper::Model model(k_whisper);
  ThreadPool pool(2);
  std::vector<float> samples = audio::decode_audio(wav.data(), wav.size(), audio::AudioLimits{}, "audio");
  whisper::Options o;
  o.language = language;
  o.temperatures = {0.0f};
  return model.transcribe(samples, o, pool);
}

std::string trimmed(const std::string& s) {
  size_t a = s.find_first_not_of(' ');
  return a == std::string::npos ? "" : s.substr(a);
}

}  // namespace

TEST(ActLanguage, AudioIsTranscribedInTheRequestedLanguageOrDetected) {
  ApiServer s(voice_config());
  auto sp = http_request(s.port(), "POST", "/v1/audio/speech", R"({"input":"turn on the kitchen light","voice":"alloy"})");
  ASSERT_EQ(sp.status, 200) << sp.body;
  const std::string audio = server::base64_encode(sp.body);
  whisper::Transcript en = direct(sp.body, "en"), de = direct(sp.body, "de"), detected = direct(sp.body, "auto");
  ASSERT_NE(trimmed(en.text), trimmed(de.text)) << "the random model must tell the languages apart for this test";
  ASSERT_FALSE(detected.language.empty());

  for (auto [lang, want] : {std::pair{std::string("de"), de}, std::pair{std::string("en"), en}}) {
    auto r = http_request(s.port(), "POST", "/v1/act", Json{{"audio", audio}, {"language", lang}}.dump());
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json()["language"], lang) << r.body;
    EXPECT_EQ(r.json()["transcript"], trimmed(want.text)) << lang;
  }
  // No language (and "auto", in any case): Whisper's language detection.
  for (Json body : {Json{{"audio", audio}}, Json{{"audio", audio}, {"language", "Auto"}}, Json{{"audio", audio}, {"language", nullptr}}}) {
    auto r = http_request(s.port(), "POST", "/v1/act", body.dump());
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json()["language"], detected.language) << body.dump().substr(0, 40);
    EXPECT_EQ(r.json()["transcript"], trimmed(detected.text));
  }
}

TEST(ActLanguage, BadLanguagesAreOpenAiStyle400s) {
  ApiServer s(voice_config());
  auto sp = http_request(s.port(), "POST", "/v1/audio/speech", R"({"input":"yes","voice":"alloy"})");
  ASSERT_EQ(sp.status, 200);
  const std::string audio = server::base64_encode(sp.body);
  for (Json lang : {Json("xx"), Json("klingon"), Json("e1"), Json(5), Json::array({"en"})}) {
    for (Json body : {Json{{"audio", audio}, {"language", lang}}, Json{{"text", "turn on the light"}, {"language", lang}}}) {
      auto r = http_request(s.port(), "POST", "/v1/act", body.dump());
      EXPECT_EQ(r.status, 400) << lang.dump() << " -> " << r.body;
      ASSERT_TRUE(is_openai_error(r.body)) << r.body;
      EXPECT_EQ(r.json()["error"]["param"], "language") << r.body;
    }
  }
  // Case and blanks do not matter; a blank language is the default.
  for (std::string lang : {" EN ", " "}) {
    auto r = http_request(s.port(), "POST", "/v1/act", Json{{"audio", audio}, {"language", lang}}.dump());
    EXPECT_EQ(r.status, 200) << lang << " -> " << r.body;
  }
}

TEST(ActLanguage, ServerDefaultLanguageApplies) {
  auto c = voice_config();
  c.asr_language = "fr";
  ApiServer s(c);
  auto sp = http_request(s.port(), "POST", "/v1/audio/speech", R"({"input":"turn on the kitchen light","voice":"alloy"})");
  ASSERT_EQ(sp.status, 200);
  auto r = http_request(s.port(), "POST", "/v1/act", Json{{"audio", server::base64_encode(sp.body)}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["language"], "fr");
  EXPECT_EQ(r.json()["transcript"], trimmed(direct(sp.body, "fr").text));
  // A bad default is refused at startup.
  c.asr_language = "zz";
  EXPECT_THROW(ApiServer bad(c), Error);
}

// /v1/audio/transcriptions: the "language" field is checked like /v1/act's; without one the server's
// --asr-language applies (default: detection), as OpenAI's API detects the language when none is given.
TEST(ActLanguage, TranscriptionsDetectByDefaultAndHonourTheField) {
  ApiServer s(voice_config());
  auto sp = http_request(s.port(), "POST", "/v1/audio/speech", R"({"input":"turn on the kitchen light","voice":"alloy"})");
  ASSERT_EQ(sp.status, 200);
  whisper::Transcript de = direct(sp.body, "de"), detected = direct(sp.body, "auto");
  auto transcribe = [&](std::vector<std::tuple<std::string, std::string, std::string>> extra) {
    std::vector<std::tuple<std::string, std::string, std::string>> fields = {
        {"file", "speech.wav", sp.body}, {"model", "", "whisper-1"}, {"response_format", "", "verbose_json"}};
    fields.insert(fields.end(), extra.begin(), extra.end());
    std::string ct;
    const std::string body = multipart(fields, ct);
    return http_request(s.port(), "POST", "/v1/audio/transcriptions", body, {{"Content-Type", ct}});
  };
  auto r = transcribe({});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["language"], detected.language) << r.body;
  EXPECT_EQ(trimmed(r.json()["text"].get<std::string>()), trimmed(detected.text));
  r = transcribe({{"language", "", "de"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["language"], "de");
  EXPECT_EQ(trimmed(r.json()["text"].get<std::string>()), trimmed(de.text));
  r = transcribe({{"language", "", "klingon"}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.json()["error"]["param"], "language") << r.body;
}
