// API tests over loopback with the real components (random-weight LLM, random Whisper, Silero VAD,
// espeak-ng, the agent): malformed requests, determinism under concurrency, disconnects freeing
// sequences, speech/transcription/act, the realtime WebSocket with server VAD, --llm-backend.
#include <gtest/gtest.h>

#include <thread>

#include "audio/decode.hpp"
#include "http_client.hpp"
#include "multipart.hpp"
#include "models/silero_vad.hpp"
#include "runtime/model.hpp"
#include "server/app.hpp"
#include "server/media.hpp"

using namespace omni;
using namespace omni::server;
using namespace omni::test;

namespace {

const std::string k_data = OMNI_TEST_DATA;
const std::string k_model_id = "mini-qwen2-q4_k_m";

struct ApiServer {
  explicit ApiServer(ServeConfig c) : log(LogLevel::quiet) {
    c.server.port = 0;
    services = build_services(c, log);
    server = std::make_unique<Server>(c.server, log);
    register_all_routes(*server, services, RouteConfig{""});
    server->start();
  }
  ~ApiServer() { server->stop(); }
  int port() const { return server->port(); }
  Logger log;
  std::shared_ptr<Services> services;
  std::unique_ptr<Server> server;
};

ServeConfig full_config() {
  ServeConfig c;
  c.model = k_data + "/llm/mini-qwen2-q4_k_m.gguf";
  c.asr_model = k_data + "/whisper/mini-random.ggml.bin";
  c.vad_model = k_data + "/models/silero-vad-v6.2.0.ggml.bin";
  c.parallel = 4;
  c.ctx = 1024;
  c.threads = 2;
  c.dry_run = true;
  c.limits.max_audio_seconds = 8;  // jfk.wav (11 s) is over it
  c.server.max_body_bytes = 4 << 20;
  return c;
}

ApiServer& shared_server() {
  static ApiServer s(full_config());
  return s;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

// Text of a streamed chat completion (concatenated deltas); checks the [DONE] terminator.
std::string stream_text(int port, const Json& body) {
  auto r = http_request(port, "POST", "/v1/chat/completions", body.dump());
  EXPECT_EQ(r.status, 200) << r.body;
  std::string text;
  size_t pos = 0;
  bool done = false;
  while ((pos = r.body.find("data: ", pos)) != std::string::npos) {
    size_t end = r.body.find("\n\n", pos);
    std::string data = r.body.substr(pos + 6, end - pos - 6);
    pos = end;
    if (data == "[DONE]") { done = true; break; }
    Json j = Json::parse(data);
    const Json& d = j["choices"][0]["delta"];
    if (d.contains("content") && d["content"].is_string()) text += d["content"].get<std::string>();
  }
  EXPECT_TRUE(done);
  return text;
}

}  // namespace

TEST(Api, MalformedRequestsGetTheRightErrorAndMemoryStaysFlat) {
  auto& s = shared_server();
  const std::string wav = read_file(k_data + "/audio/jfk.wav");
  const std::string garbage_b64 = base64_encode(std::string(4000, '\x7f'));
  std::string mp_ct;
  struct Case { std::string method, path, body, ctype; int status; };
  auto chat = [](const std::string& extra) { return R"({"model":"mini-qwen2-q4_k_m","messages":[{"role":"user","content":"hi"}],"max_tokens":2)" + extra + "}"; };
  auto part = [](const std::string& p) { return R"({"messages":[{"role":"user","content":[)" + p + R"(]}],"max_tokens":2})"; };
  std::vector<Case> cases = {
      {"POST", "/v1/chat/completions", "{bad json", "", 400},
      {"POST", "/v1/chat/completions", "[1,2,3]", "", 400},
      {"POST", "/v1/chat/completions", "", "", 400},
      {"POST", "/v1/chat/completions", R"({"model":"mini-qwen2-q4_k_m"})", "", 400},
      {"POST", "/v1/chat/completions", R"({"messages":"hi"})", "", 400},
      {"POST", "/v1/chat/completions", R"({"messages":[]})", "", 400},
      {"POST", "/v1/chat/completions", R"({"messages":[42]})", "", 400},
      {"POST", "/v1/chat/completions", R"({"messages":[{"content":"hi"}]})", "", 400},
      {"POST", "/v1/chat/completions", R"({"messages":[{"role":"wizard","content":"hi"}]})", "", 400},
      {"POST", "/v1/chat/completions", R"({"messages":[{"role":"user","content":42}]})", "", 400},
      {"POST", "/v1/chat/completions", part(R"({"type":"video","video":"x"})"), "", 400},
      {"POST", "/v1/chat/completions", R"({"model":"gpt-9","messages":[{"role":"user","content":"hi"}]})", "", 404},
      {"POST", "/v1/chat/completions", R"({"model":7,"messages":[{"role":"user","content":"hi"}]})", "", 400},
      {"POST", "/v1/chat/completions", chat(R"(,"temperature":"hot")"), "", 400},
      {"POST", "/v1/chat/completions", chat(R"(,"temperature":5)"), "", 400},
      {"POST", "/v1/chat/completions", chat(R"(,"top_p":2)"), "", 400},
      {"POST", "/v1/chat/completions", chat(R"(,"max_tokens":0)").replace(chat("").find("\"max_tokens\":2"), 14, "\"seed\":1"), "", 400},
      {"POST", "/v1/chat/completions", chat(R"(,"seed":"x")"), "", 400},
      {"POST", "/v1/chat/completions", chat(R"(,"n":2)"), "", 400},
      {"POST", "/v1/chat/completions", chat(R"(,"stop":["a","b","c","d","e"])"), "", 400},
      {"POST", "/v1/chat/completions", chat(R"(,"logit_bias":[1])"), "", 400},
      {"POST", "/v1/chat/completions", chat(R"(,"logit_bias":{"abc":1})"), "", 400},
      {"POST", "/v1/chat/completions", chat(R"(,"tools":{"a":1})"), "", 400},
      {"POST", "/v1/chat/completions", chat(R"(,"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}})"), "", 400},
      {"POST", "/v1/chat/completions", chat(R"(,"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"sometimes")"), "", 400},
      {"POST", "/v1/chat/completions", chat(R"(,"response_format":{"type":"yaml"})"), "", 400},
      {"POST", "/v1/chat/completions", chat(R"(,"response_format":{"type":"json_schema","json_schema":{"name":"x"}})"), "", 400},
      {"POST", "/v1/chat/completions", chat(R"(,"stream":"yes")"), "", 400},
      {"POST", "/v1/chat/completions", part(R"({"type":"image_url","image_url":{"url":"data:image/png;base64,@@@@"}})"), "", 400},
      {"POST", "/v1/chat/completions", part(R"({"type":"image_url","image_url":{"url":"http://example.com/a.png"}})"), "", 400},
      {"POST", "/v1/chat/completions", part(R"({"type":"image_url","image_url":{"url":"file:///etc/passwd"}})"), "", 403},
      {"POST", "/v1/chat/completions", part(R"({"type":"input_audio","input_audio":{"data":"!!notbase64!!","format":"wav"}})"), "", 400},
      {"POST", "/v1/chat/completions", part(R"({"type":"input_audio","input_audio":{"data":"AAAA","format":"ogg"}})"), "", 400},
      {"POST", "/v1/chat/completions", part(R"({"type":"input_audio","input_audio":{"data":")" + garbage_b64 + R"(","format":"wav"}})"), "", 400},
      {"POST", "/v1/chat/completions", part(R"({"type":"input_audio","input_audio":{"data":")" + base64_encode(wav) + R"(","format":"wav"}})"), "", 413},
      {"POST", "/v1/completions", R"({"max_tokens":2})", "", 400},
      {"POST", "/v1/completions", R"({"prompt":5})", "", 400},
      {"POST", "/v1/audio/speech", R"({"voice":"alloy"})", "", 400},
      {"POST", "/v1/audio/speech", R"({"input":"hi","voice":3})", "", 400},
      {"POST", "/v1/audio/speech", R"({"input":"hi","speed":10})", "", 400},
      {"POST", "/v1/audio/speech", R"({"input":"hi","response_format":"mp3"})", "", 400},
      {"POST", "/v1/audio/speech", R"({"input":")" + std::string(5000, 'a') + R"("})", "", 413},
      {"POST", "/v1/audio/transcriptions", R"({"file":"x"})", "", 400},
      {"POST", "/v1/audio/transcriptions", multipart({{"model", "", "whisper-1"}}, mp_ct), mp_ct, 400},
      {"POST", "/v1/audio/transcriptions", multipart({{"file", "a.wav", "RIFFnotreally"}, {"model", "", "whisper-1"}}, mp_ct), mp_ct, 400},
      {"POST", "/v1/audio/transcriptions", multipart({{"file", "a.wav", wav}, {"response_format", "", "docx"}}, mp_ct), mp_ct, 400},
      {"POST", "/v1/audio/transcriptions", multipart({{"file", "a.wav", wav}}, mp_ct), mp_ct, 413},
      {"POST", "/v1/audio/transcriptions", "--x\r\nbroken", "multipart/form-data; boundary=x", 400},
      {"POST", "/v1/act", R"({})", "", 400},
      {"POST", "/v1/act", R"({"text":5})", "", 400},
      {"POST", "/v1/act", R"({"audio":"%%%"})", "", 400},
      {"POST", "/v1/act", R"({"text":"hi","image":"/etc/passwd"})", "", 400},
      {"POST", "/v1/act", R"({"text":"hi","dry_run":"yes"})", "", 400},
      {"POST", "/v1/act", R"({"text":"hi","tier":"7"})", "", 400},
      {"POST", "/v1/models", "{}", "", 405},
      {"GET", "/v1/unknown", "", "", 404},
      {"POST", "/v1/chat/completions", std::string(5 << 20, ' '), "", 413},
  };
  ASSERT_GE(cases.size(), 30u);
  auto run = [&](const Case& c) {
    std::map<std::string, std::string> h;
    if (!c.ctype.empty()) h["Content-Type"] = c.ctype;
    return http_request(s.port(), c.method, c.path, c.body, h);
  };
  for (const auto& c : cases) {
    auto r = run(c);
    EXPECT_EQ(r.status, c.status) << c.path << " " << c.body.substr(0, 160) << " -> " << r.body;
    EXPECT_TRUE(is_openai_error(r.body)) << c.path << " " << c.body.substr(0, 100) << " -> " << r.body;
  }
  // 1000 more bad requests (the cheap ones): the server keeps serving and RSS stays flat.
  std::vector<const Case*> cheap;
  for (const auto& c : cases)
    if (c.body.size() < 2000) cheap.push_back(&c);
  for (int i = 0; i < 200; ++i) run(*cheap[size_t(i) % cheap.size()]);
  long before = rss_kb();
  for (int i = 0; i < 1000; ++i) {
    auto r = run(*cheap[size_t(i) % cheap.size()]);
    ASSERT_GE(r.status, 400);
  }
  long after = rss_kb();
  EXPECT_LT(after - before, 8192 + kRssSlackKb) << "RSS " << before << " -> " << after << " kB";
  auto ok = http_request(s.port(), "POST", "/v1/chat/completions", chat(""));
  EXPECT_EQ(ok.status, 200) << ok.body;
}

TEST(Api, ChatToolsJsonSchemaAndCompletions) {
  auto& s = shared_server();
  Json tools = Json::parse(R"([{"type":"function","function":{"name":"set_light","parameters":{"type":"object",
    "properties":{"room":{"type":"string","enum":["kitchen","hall"]},"level":{"type":"integer","minimum":0,"maximum":100}},
    "required":["room","level"],"additionalProperties":false}}}])");
  for (Json choice : {Json("required"), Json::parse(R"({"type":"function","function":{"name":"set_light"}})")}) {
    Json body = {{"messages", {{{"role", "user"}, {"content", "lights"}}}}, {"tools", tools}, {"tool_choice", choice}, {"max_tokens", 200}, {"seed", 3}};
    auto r = http_request(s.port(), "POST", "/v1/chat/completions", body.dump());
    ASSERT_EQ(r.status, 200) << r.body;
    Json j = r.json();
    EXPECT_EQ(j["choices"][0]["finish_reason"], "tool_calls");
    const Json& call = j["choices"][0]["message"]["tool_calls"][0];
    EXPECT_EQ(call["type"], "function");
    EXPECT_EQ(call["function"]["name"], "set_light");
    Json args = Json::parse(call["function"]["arguments"].get<std::string>());
    ASSERT_TRUE(args.is_object());
    EXPECT_TRUE(args["room"] == "kitchen" || args["room"] == "hall") << args;
    ASSERT_TRUE(args["level"].is_number_integer()) << args;
    EXPECT_GE(args["level"].get<int>(), 0);
    EXPECT_LE(args["level"].get<int>(), 100);
    EXPECT_EQ(args.size(), 2u);
  }
  Json schema = Json::parse(R"({"type":"object","properties":{"name":{"type":"string","maxLength":10},"ok":{"type":"boolean"}},"required":["name","ok"],"additionalProperties":false})");
  Json body = {{"messages", {{{"role", "user"}, {"content", "json please"}}}}, {"max_tokens", 60}, {"seed", 5},
               {"response_format", {{"type", "json_schema"}, {"json_schema", {{"name", "x"}, {"schema", schema}}}}}};
  auto r = http_request(s.port(), "POST", "/v1/chat/completions", body.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  Json out = Json::parse(r.json()["choices"][0]["message"]["content"].get<std::string>(), nullptr, false);
  ASSERT_TRUE(out.is_object()) << r.body;
  EXPECT_TRUE(out["name"].is_string());
  EXPECT_TRUE(out["ok"].is_boolean());
  EXPECT_GT(r.json()["usage"]["prompt_tokens"].get<int>(), 0);
  auto c = http_request(s.port(), "POST", "/v1/completions", R"({"prompt":"Once upon","max_tokens":5,"temperature":0})");
  ASSERT_EQ(c.status, 200) << c.body;
  EXPECT_EQ(c.json()["object"], "text_completion");
  EXPECT_EQ(c.json()["usage"]["completion_tokens"], 5);
  // Greedy is reproducible; the stop string cuts the text.
  auto c2 = http_request(s.port(), "POST", "/v1/completions", R"({"prompt":"Once upon","max_tokens":5,"temperature":0})");
  EXPECT_EQ(c.json()["choices"][0]["text"], c2.json()["choices"][0]["text"]);
}

TEST(Api, SixteenConcurrentStreamsMatchSequentialRuns) {
  auto& s = shared_server();
  auto body = [](int seed) {
    return Json{{"model", k_model_id}, {"messages", {{{"role", "user"}, {"content", "tell me a story " + std::to_string(seed % 3)}}}},
                {"max_tokens", 12}, {"temperature", 1.0}, {"seed", seed}, {"stream", true}};
  };
  std::vector<std::string> alone(16), together(16);
  for (int i = 0; i < 16; ++i) alone[size_t(i)] = stream_text(s.port(), body(100 + i));
  std::vector<std::thread> th;
  for (int i = 0; i < 16; ++i) th.emplace_back([&, i] { together[size_t(i)] = stream_text(s.port(), body(100 + i)); });
  for (auto& t : th) t.join();
  int distinct = 0;
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(alone[size_t(i)], together[size_t(i)]) << "seed " << 100 + i;
    distinct += i > 0 && alone[size_t(i)] != alone[size_t(i - 1)];
  }
  EXPECT_GT(distinct, 0);  // different seeds do differ
}

TEST(Api, ClientDisconnectMidStreamFreesTheSequence) {
  // A long context so that a generation outlives the test's patience by far (the model is tiny).
  ServeConfig c;
  c.model = k_data + "/llm/mini-qwen2-q4_k_m.gguf";
  c.parallel = 4;
  c.ctx = 32768;
  c.threads = 2;
  c.tts = false;
  ApiServer s(c);
  for (int round = 0; round < 2; ++round) {
    net::io_context ioc;
    tcp::socket sock(ioc);
    // A small receive window: the server's writes block (backpressure) long before a fast model
    // could push the whole 32k-token stream into the kernel's loopback buffers.
    sock.open(tcp::v4());
    sock.set_option(net::socket_base::receive_buffer_size(4096));
    sock.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), uint16_t(s.port())));
    // Ban every end-of-generation token so the stream cannot finish by itself.
    auto model = runtime::Model::load(k_data + "/llm/mini-qwen2-q4_k_m.gguf");
    Json bias = Json::object();
    for (int id = 0; id < model->n_vocab(); ++id)
      if (model->tokenizer().is_end_of_generation(id)) bias[std::to_string(id)] = -100;
    std::string body = Json{{"messages", {{{"role", "user"}, {"content", "go"}}}}, {"max_tokens", 32000}, {"stream", true}, {"seed", 1},
                            {"logit_bias", bias}, {"stop", Json::array()}}.dump();
    std::string req = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\n\r\n" + body;
    net::write(sock, net::buffer(req));
    std::string got;
    char buf[4096];
    auto events = [&] {  // SSE events received so far (the role event, then one per token)
      size_t n = 0;
      for (size_t p = got.find("data: "); p != std::string::npos; p = got.find("data: ", p + 6)) ++n;
      return n;
    };
    while (events() < 3) got.append(buf, sock.read_some(net::buffer(buf)));
    EXPECT_GT(s.services->llm->kv_cache_use(), 0.0) << got.substr(0, 1500);
    sock.close();
    double use = 1;
    for (int i = 0; i < 300 && use > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      use = s.services->llm->kv_cache_use();
    }
    EXPECT_EQ(use, 0.0) << "the sequence was not freed after the client left";
    EXPECT_EQ(s.server->metrics().cancelled_generations().load(), uint64_t(round + 1));
  }
  // All slots are usable again.
  std::vector<std::thread> th;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i)
    th.emplace_back([&] {
      auto r = http_request(s.port(), "POST", "/v1/chat/completions", R"({"messages":[{"role":"user","content":"x"}],"max_tokens":3})");
      ok += r.status == 200;
    });
  for (auto& t : th) t.join();
  EXPECT_EQ(ok.load(), 4);
}

TEST(Api, SpeechTranscriptionAndAct) {
  auto& s = shared_server();
  auto sp = http_request(s.port(), "POST", "/v1/audio/speech", R"({"model":"tts-1","input":"Hello from Omni.","voice":"alloy"})");
  ASSERT_EQ(sp.status, 200) << sp.body;
  EXPECT_EQ(sp.header("content-type"), "audio/wav");
  ASSERT_GT(sp.body.size(), 1000u);
  EXPECT_EQ(sp.body.substr(0, 4), "RIFF");
  EXPECT_EQ(sp.body.substr(8, 4), "WAVE");
  // Transcribe the synthesized speech (short enough for the 8 s limit) in every format.
  std::string ct;
  for (std::string fmt : {"json", "text", "srt", "vtt", "verbose_json"}) {
    auto body = multipart({{"file", "speech.wav", sp.body}, {"model", "", "whisper-1"}, {"response_format", "", fmt}}, ct);
    auto r = http_request(s.port(), "POST", "/v1/audio/transcriptions", body, {{"Content-Type", ct}});
    ASSERT_EQ(r.status, 200) << fmt << ": " << r.body;
    if (fmt == "json") EXPECT_TRUE(r.json()["text"].is_string());
    if (fmt == "verbose_json") {
      EXPECT_TRUE(r.json()["segments"].is_array());
      EXPECT_GT(r.json()["duration"].get<double>(), 0.5);
    }
    if (fmt == "vtt") EXPECT_EQ(r.body.rfind("WEBVTT", 0), 0u);
    if (fmt == "srt" && !r.body.empty()) EXPECT_NE(r.body.find(" --> "), std::string::npos);
  }
  // /v1/act: tier 0 matches; dry run (the fixture) executes nothing; speak returns a WAV.
  auto sub = s.services->events->subscribe();
  auto a = http_request(s.port(), "POST", "/v1/act", R"({"text":"turn on the kitchen lights","speak":true})");
  ASSERT_EQ(a.status, 200) << a.body;
  Json j = a.json();
  EXPECT_EQ(j["action"]["room"], "kitchen");
  EXPECT_EQ(j["tier"], "0");
  EXPECT_FALSE(j["executed"].get<bool>());
  EXPECT_FALSE(j["reply"].get<std::string>().empty());
  std::string wav = base64_decode_strict(j["speech"].get<std::string>(), "speech");
  EXPECT_EQ(wav.substr(0, 4), "RIFF");
  std::string ev;
  ASSERT_TRUE(EventBus::wait_next(*sub, ev, 2000));
  EXPECT_EQ(Json::parse(ev)["type"], "omni.turn");
  s.services->events->unsubscribe(sub);
  // Voice input: audio is transcribed first.
  auto va = http_request(s.port(), "POST", "/v1/act", Json{{"audio", base64_encode(sp.body)}}.dump());
  ASSERT_EQ(va.status, 200) << va.body;
  EXPECT_TRUE(va.json()["transcript"].is_string());
}

TEST(Api, RealtimeServerVadOnJfkIn20msChunks) {
  auto& s = shared_server();
  auto decoded = audio::decode_audio_native(read_file(k_data + "/audio/jfk.wav").data(), read_file(k_data + "/audio/jfk.wav").size());
  ASSERT_EQ(decoded.sample_rate, 16000);
  std::vector<int16_t> pcm(decoded.samples.size());
  for (size_t i = 0; i < pcm.size(); ++i) pcm[i] = int16_t(std::lround(std::clamp(decoded.samples[i] * 32768.0f, -32768.0f, 32767.0f)));
  // The VAD's own times on the same samples, streamed the same way.
  vad::SileroVad model(k_data + "/models/silero-vad-v6.2.0.ggml.bin");
  vad::StreamingVad direct(model);
  std::vector<std::pair<bool, int>> expected;
  for (size_t off = 0; off < pcm.size(); off += 320) {
    std::vector<float> x;
    for (size_t i = off; i < std::min(pcm.size(), off + 320); ++i) x.push_back(float(pcm[i]) / 32768.0f);
    for (auto& e : direct.push(x.data(), x.size())) expected.emplace_back(e.type == vad::VadEventType::speech_started, int(e.time_s * 1000 + 0.5));
  }
  ASSERT_GE(expected.size(), 6u);

  namespace websocket = beast::websocket;
  net::io_context ioc;
  websocket::stream<tcp::socket> ws(ioc);
  ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), uint16_t(s.port())));
  ws.handshake("127.0.0.1", "/v1/realtime");
  beast::flat_buffer buf;
  auto next = [&]() {
    buf.consume(buf.size());
    ws.read(buf);
    return Json::parse(beast::buffers_to_string(buf.data()));
  };
  EXPECT_EQ(next()["type"], "session.created");
  ws.write(net::buffer(std::string("not json")));
  EXPECT_EQ(next()["type"], "error");
  ws.write(net::buffer(Json{{"type", "session.update"}, {"session", {{"input_audio_rate", 16000}}}}.dump()));
  EXPECT_EQ(next()["type"], "session.updated");
  std::thread sender([&] {
    for (size_t off = 0; off < pcm.size(); off += 320) {
      size_t n = std::min<size_t>(320, pcm.size() - off);
      std::string bytes(reinterpret_cast<const char*>(pcm.data() + off), n * 2);
      ws.write(net::buffer(Json{{"type", "input_audio_buffer.append"}, {"audio", base64_encode(bytes)}}.dump()));
    }
  });
  std::vector<std::pair<bool, int>> got;
  int transcripts = 0, responses = 0, actions_or_text = 0;
  int n_stops = 0;
  for (auto& e : expected) n_stops += !e.first;
  while (got.size() < expected.size() || transcripts < n_stops || responses < n_stops) {
    Json e = next();
    std::string t = e["type"];
    if (t == "input_audio_buffer.speech_started") got.emplace_back(true, e["audio_start_ms"].get<int>());
    if (t == "input_audio_buffer.speech_stopped") got.emplace_back(false, e["audio_end_ms"].get<int>());
    if (t == "conversation.item.input_audio_transcription.completed") { transcripts++; EXPECT_TRUE(e["transcript"].is_string()); }
    if (t == "response.done") responses++;
    if (t == "response.output_text.delta" || t == "omni.action") actions_or_text++;
    if (t == "error") ADD_FAILURE() << e.dump();
  }
  sender.join();
  EXPECT_EQ(got, expected);
  EXPECT_GT(actions_or_text, 0);
  EXPECT_EQ(transcripts, n_stops);
  // Golden segments (whisper.cpp's VAD on the same file): each one starts and ends where a
  // streamed utterance does (the streaming detector does not merge gaps under 200 ms).
  Json golden = Json::parse(read_file(k_data + "/vad/jfk_segments.json"))["segments_s"];
  for (const auto& seg : golden) {
    int start = int(seg[0].get<double>() * 1000), end = int(seg[1].get<double>() * 1000);
    bool has_start = false, has_end = false;
    for (auto& [started, ms] : got) (started ? has_start : has_end) |= std::abs(ms - (started ? start : end)) <= 100;
    EXPECT_TRUE(has_start && has_end) << seg.dump();
  }
  ws.close(websocket::close_code::normal);
}

TEST(Api, LlmBackendForwardsToASecondServer) {
  auto& front = shared_server();
  ServeConfig c;
  c.llm_backend = "http://127.0.0.1:" + std::to_string(front.port());
  c.tts = false;
  ApiServer proxy(c);
  auto models = http_request(proxy.port(), "GET", "/v1/models");
  EXPECT_EQ(models.json()["data"][0]["id"], k_model_id);
  Json body = {{"model", k_model_id}, {"messages", {{{"role", "user"}, {"content", "hello"}}}}, {"max_tokens", 8}, {"seed", 9}};
  auto direct = http_request(front.port(), "POST", "/v1/chat/completions", body.dump());
  auto via = http_request(proxy.port(), "POST", "/v1/chat/completions", body.dump());
  ASSERT_EQ(via.status, 200) << via.body;
  EXPECT_EQ(via.json()["choices"][0]["message"]["content"], direct.json()["choices"][0]["message"]["content"]);
  body["stream"] = true;
  EXPECT_EQ(stream_text(proxy.port(), body), direct.json()["choices"][0]["message"]["content"].get<std::string>());
  // The backend's validation errors come back with their status.
  auto bad = http_request(proxy.port(), "POST", "/v1/chat/completions", R"({"messages":[{"role":"user","content":"x"}],"top_p":7})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(is_openai_error(bad.body));
}
