// The realtime WebSocket's session: turn_detection parameters drive the server VAD (threshold,
// silence_duration_ms, prefix_padding_ms, create_response; null = manual commits only), bad ones
// are refused, and every turn of one socket is one agent conversation, so "yes"/"no" answers a
// confirmation (and another socket's "yes" does not).
#include <gtest/gtest.h>

#include "api_server.hpp"
#include "audio/decode.hpp"
#include "models/silero_vad.hpp"
#include "server/media.hpp"

using namespace omni;
using namespace omni::test;

namespace {

const std::string k_data = OMNI_TEST_DATA;
const std::string k_vad = k_data + "/models/silero-vad-v6.2.0.ggml.bin";

server::ServeConfig voice_config() {
  server::ServeConfig c;
  c.asr_model = k_data + "/whisper/mini-random.ggml.bin";
  c.vad_model = k_vad;
  c.threads = 2;
  c.tts = false;
  return c;  // no LLM: tier 0 only; not a dry run (confirmed actions execute, with the log executor)
}

std::vector<int16_t> jfk_pcm16() {
  std::string wav = slurp_file(k_data + "/audio/jfk.wav");
  auto d = audio::decode_audio_native(wav.data(), wav.size());
  EXPECT_EQ(d.sample_rate, 16000);
  std::vector<int16_t> pcm(d.samples.size());
  for (size_t i = 0; i < pcm.size(); ++i) pcm[i] = int16_t(std::lround(std::clamp(d.samples[i] * 32768.0f, -32768.0f, 32767.0f)));
  return pcm;
}

// (started?, ms) of a streaming VAD with these parameters over the audio in 20 ms chunks.
std::vector<std::pair<bool, int>> vad_events(const std::vector<int16_t>& pcm, vad::VadParams p) {
  static vad::SileroVad model(k_vad);
  vad::StreamingVad v(model, p);
  std::vector<std::pair<bool, int>> out;
  for (size_t off = 0; off < pcm.size(); off += 320) {
    std::vector<float> x;
    for (size_t i = off; i < std::min(pcm.size(), off + 320); ++i) x.push_back(float(pcm[i]) / 32768.0f);
    for (auto& e : v.push(x.data(), x.size())) out.emplace_back(e.type == vad::VadEventType::speech_started, int(e.time_s * 1000 + 0.5));
  }
  return out;
}

void stream_pcm(WsClient& ws, const std::vector<int16_t>& pcm) {
  for (size_t off = 0; off < pcm.size(); off += 320) {
    size_t n = std::min<size_t>(320, pcm.size() - off);
    std::string bytes(reinterpret_cast<const char*>(pcm.data() + off), n * 2);
    ws.send({{"type", "input_audio_buffer.append"}, {"audio", server::base64_encode(bytes)}});
  }
}

Json text_item(const std::string& text) {
  return {{"type", "conversation.item.create"},
          {"item", {{"type", "message"}, {"role", "user"}, {"content", {{{"type", "input_text"}, {"text", text}}}}}}};
}

// Sends a text turn and returns its events up to response.done.
std::vector<Json> say(WsClient& ws, const std::string& text) {
  ws.send(text_item(text));
  ws.send({{"type", "response.create"}});
  return ws.until("response.done");
}

}  // namespace

TEST(RealtimeSession, TurnDetectionParametersDriveTheServerVad) {
  ApiServer s(voice_config());
  const auto pcm = jfk_pcm16();
  vad::VadParams p;
  p.threshold = 0.6f;
  p.min_silence_duration_ms = 700;
  const int pad_ms = 200;
  auto raw = vad_events(pcm, p);
  ASSERT_NE(raw, vad_events(pcm, vad::VadParams{})) << "the parameters must matter on this audio";
  ASSERT_GE(raw.size(), 2u);
  // The server reports starts with the prefix padding (never before the previous utterance's end).
  std::vector<std::pair<bool, int>> expected;
  int prev_end = 0;
  for (auto [started, ms] : raw) {
    if (started) expected.emplace_back(true, std::max(prev_end, ms - pad_ms));
    else expected.emplace_back(false, prev_end = ms);
  }

  WsClient ws(s.port(), "/v1/realtime");
  Json created = ws.next();
  ASSERT_EQ(created["type"], "session.created");
  EXPECT_EQ(created["session"]["turn_detection"]["type"], "server_vad");
  ws.send({{"type", "session.update"},
           {"session", {{"input_audio_rate", 16000},
                        {"turn_detection", {{"type", "server_vad"}, {"threshold", 0.6}, {"silence_duration_ms", 700}, {"prefix_padding_ms", pad_ms}}}}}});
  Json updated = ws.next();
  ASSERT_EQ(updated["type"], "session.updated") << updated;
  EXPECT_NEAR(updated["session"]["turn_detection"]["threshold"].get<double>(), 0.6, 1e-6);
  EXPECT_EQ(updated["session"]["turn_detection"]["silence_duration_ms"], 700);
  EXPECT_EQ(updated["session"]["turn_detection"]["prefix_padding_ms"], pad_ms);

  stream_pcm(ws, pcm);
  ws.send({{"type", "input_audio_buffer.clear"}});  // answered after every event of the audio
  std::vector<std::pair<bool, int>> got;
  int transcripts = 0;
  for (const Json& e : ws.until("input_audio_buffer.cleared")) {
    std::string t = e["type"];
    if (t == "input_audio_buffer.speech_started") got.emplace_back(true, e["audio_start_ms"].get<int>());
    if (t == "input_audio_buffer.speech_stopped") got.emplace_back(false, e["audio_end_ms"].get<int>());
    if (t == "conversation.item.input_audio_transcription.completed") transcripts++;
    if (t == "error") ADD_FAILURE() << e.dump();
  }
  int n_stops = 0;
  for (auto& e : raw) n_stops += !e.first;
  EXPECT_EQ(transcripts, n_stops);
  EXPECT_EQ(got, expected);
}

TEST(RealtimeSession, WithoutTurnDetectionOnlyCommitCommits) {
  ApiServer s(voice_config());
  const auto pcm = jfk_pcm16();
  WsClient ws(s.port(), "/v1/realtime");
  ASSERT_EQ(ws.next()["type"], "session.created");
  ws.send({{"type", "session.update"}, {"session", {{"input_audio_rate", 16000}, {"turn_detection", nullptr}}}});
  Json updated = ws.next();
  ASSERT_EQ(updated["type"], "session.updated");
  EXPECT_TRUE(updated["session"]["turn_detection"].is_null());
  stream_pcm(ws, pcm);  // speech, but nobody listens for it
  ws.send({{"type", "input_audio_buffer.commit"}});
  ws.send({{"type", "input_audio_buffer.clear"}});
  auto events = ws.until("input_audio_buffer.cleared");
  int committed = 0;
  for (const auto& e : events) {
    EXPECT_NE(e["type"], "input_audio_buffer.speech_started");
    EXPECT_NE(e["type"], "input_audio_buffer.speech_stopped");
    EXPECT_NE(e["type"], "error") << e;
    committed += e["type"] == "input_audio_buffer.committed";
  }
  EXPECT_EQ(committed, 1);
  ASSERT_TRUE(find_event(events, "conversation.item.input_audio_transcription.completed"));
  // An empty buffer cannot be committed.
  ws.send({{"type", "input_audio_buffer.commit"}});
  Json e = ws.next();
  ASSERT_EQ(e["type"], "error");
  EXPECT_EQ(e["error"]["code"], "input_audio_buffer_commit_empty");

  // Server VAD back on, answering only on response.create.
  ws.send({{"type", "session.update"}, {"session", {{"turn_detection", {{"type", "server_vad"}, {"create_response", false}}}}}});
  updated = ws.next();
  ASSERT_EQ(updated["type"], "session.updated");
  EXPECT_EQ(updated["session"]["turn_detection"]["create_response"], false);
  std::vector<int16_t> first(pcm.begin(), pcm.begin() + 16000 * 4);  // the first utterance, then silence
  first.insert(first.end(), 16000, 0);
  stream_pcm(ws, first);
  ws.send({{"type", "input_audio_buffer.clear"}});
  events = ws.until("input_audio_buffer.cleared");
  EXPECT_TRUE(find_event(events, "input_audio_buffer.speech_stopped"));
  EXPECT_TRUE(find_event(events, "conversation.item.input_audio_transcription.completed"));
  EXPECT_FALSE(find_event(events, "response.created"));
}

TEST(RealtimeSession, BadTurnDetectionIsAnErrorAndChangesNothing) {
  ApiServer s(voice_config());
  WsClient ws(s.port(), "/v1/realtime");
  ASSERT_EQ(ws.next()["type"], "session.created");
  for (Json td : {Json{{"type", "semantic_vad"}}, Json{{"type", "server_vad"}, {"threshold", 2}},
                  Json{{"type", "server_vad"}, {"silence_duration_ms", -5}}, Json{{"type", "server_vad"}, {"prefix_padding_ms", "300"}},
                  Json("server_vad")}) {
    ws.send({{"type", "session.update"}, {"session", {{"input_audio_rate", 16000}, {"turn_detection", td}}}});
    Json e = ws.next();
    EXPECT_EQ(e["type"], "error") << td.dump() << " -> " << e.dump();
  }
  ws.send({{"type", "session.update"}, {"session", Json::object()}});
  Json updated = ws.next();
  ASSERT_EQ(updated["type"], "session.updated");
  EXPECT_EQ(updated["session"]["input_audio_rate"], 24000);  // the bad updates changed nothing
  EXPECT_EQ(updated["session"]["turn_detection"]["threshold"], 0.5);
}

TEST(RealtimeSession, YesAndNoAnswerAConfirmationInTheSameSocket) {
  ApiServer s(voice_config());
  WsClient ws(s.port(), "/v1/realtime");
  Json created = ws.next();
  ASSERT_EQ(created["type"], "session.created");
  auto ask = say(ws, "unlock the front door");
  const Json* a = find_event(ask, "omni.action");
  ASSERT_TRUE(a) << ask.back();
  EXPECT_EQ((*a)["policy"], "confirm");
  EXPECT_FALSE((*a)["executed"].get<bool>());
  ASSERT_TRUE((*a)["conversation_id"].is_string());
  EXPECT_EQ((*a)["conversation_id"], created["session"]["conversation_id"]);

  auto yes = say(ws, "yes");
  const Json* y = find_event(yes, "omni.action");
  ASSERT_TRUE(y) << "the 'yes' did not reach the pending action: " << yes.back();
  EXPECT_EQ((*y)["policy"], "allow");
  EXPECT_EQ((*y)["tier"], "confirm");
  EXPECT_TRUE((*y)["executed"].get<bool>());
  EXPECT_EQ((*y)["action"], Json::parse(R"({"action":"door_lock","door":"front","state":"unlocked"})"));

  say(ws, "unlock the back door");
  auto no = say(ws, "no");
  const Json* n = find_event(no, "omni.action");
  ASSERT_TRUE(n);
  EXPECT_EQ((*n)["policy"], "deny");
  EXPECT_FALSE((*n)["executed"].get<bool>());
  EXPECT_EQ((*n)["action"]["door"], "back");

  // Another socket is another conversation: its "yes" confirms nothing here.
  say(ws, "unlock the garage door");
  {
    WsClient other(s.port(), "/v1/realtime");
    Json c2 = other.next();
    EXPECT_NE(c2["session"]["conversation_id"], created["session"]["conversation_id"]);
    auto stray = say(other, "yes");
    EXPECT_FALSE(find_event(stray, "omni.action")) << stray.back();
    EXPECT_FALSE(find_event(stray, "error")) << stray.back();
  }
  // The console answers a realtime confirmation through /v1/act in the socket's conversation.
  auto r = http_request(s.port(), "POST", "/v1/act", Json{{"text", "yes"}, {"conversation_id", (*a)["conversation_id"]}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["tier"], "confirm");
  EXPECT_TRUE(r.json()["executed"].get<bool>());
  EXPECT_EQ(r.json()["action"]["door"], "garage");
}
