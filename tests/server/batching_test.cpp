// Continuous batching behind the OpenAI routes, over loopback: 16 concurrent seeded streams (plain,
// JSON-constrained and /v1/completions) decoded together equal the same requests one at a time; a
// client that leaves has its sequence dropped while the others go on unchanged; a request past the
// deadline answers 504 and frees its KV blocks; a full queue answers 429 with Retry-After.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "api_server.hpp"
#include "http_client.hpp"
#include "runtime/model.hpp"
#include "server/app.hpp"

using namespace omni;
using namespace omni::server;
using namespace omni::test;

namespace {

const std::string k_model = std::string(OMNI_TEST_DATA) + "/llm/mini-qwen2-q4_k_m.gguf";


ServeConfig llm_config(int parallel) {
  ServeConfig c;
  c.model = k_model;
  c.parallel = parallel;
  c.ctx = 2048;
  c.threads = 2;
  c.tts = false;
  return c;
}

// logit_bias banning every end-of-generation token: generation runs to max_tokens.
Json no_eos_bias() {
  auto model = runtime::Model::load(k_model);
  Json bias = Json::object();
  for (int id = 0; id < model->n_vocab(); ++id)
    if (model->tokenizer().is_end_of_generation(id)) bias[std::to_string(id)] = -100;
  return bias;
}

// The concatenated text of a streamed response (chat deltas or completion texts); "" on failure.
std::string streamed_text(int port, const std::string& path, const Json& body) {
  auto r = http_request(port, "POST", path, body.dump());
  EXPECT_EQ(r.status, 200) << r.body.substr(0, 300);
  std::string text;
  bool done = false;
  for (size_t pos = 0; (pos = r.body.find("data: ", pos)) != std::string::npos;) {
    const size_t end = r.body.find("\n\n", pos);
    const std::string data = r.body.substr(pos + 6, end - pos - 6);
    pos = end;
    if (data == "[DONE]") { done = true; break; }
    const Json j = Json::parse(data, nullptr, false);
    if (!j.contains("choices")) { ADD_FAILURE() << data; break; }
    const Json& c = j["choices"][0];
    if (c.contains("delta") && c["delta"].contains("content") && c["delta"]["content"].is_string())
      text += c["delta"]["content"].get<std::string>();
    if (c.contains("text") && c["text"].is_string()) text += c["text"].get<std::string>();
  }
  EXPECT_TRUE(done);
  return text;
}

TEST(Batching, DecodeKernelsAreChosenByName) {
  ApiServer on(llm_config(4));
  const auto dflt = http_request(on.port(), "GET", "/health").body;
  EXPECT_NE(dflt.find("gemm decode kernels, batch-invariant"), std::string::npos) << dflt;
  ServeConfig c = llm_config(4);
  c.decode_kernels = "matvec";
  ApiServer mv(c);
  const auto mvh = http_request(mv.port(), "GET", "/health").body;
  EXPECT_NE(mvh.find("matvec decode kernels, batch-invariant"), std::string::npos) << mvh;
  c.decode_kernels = "mixed";
  ApiServer off(c);
  const auto health = http_request(off.port(), "GET", "/health").body;
  EXPECT_EQ(health.find("batch-invariant"), std::string::npos) << health;
  EXPECT_NE(health.find("mixed decode kernels"), std::string::npos) << health;
  c.decode_kernels = "fast";
  EXPECT_THROW(ApiServer bad(c), Error);
  // It still serves.
  Json body = {{"prompt", "The sea"}, {"max_tokens", 4}, {"temperature", 0}};
  EXPECT_EQ(http_request(off.port(), "POST", "/v1/completions", body.dump()).status, 200);
}

// Both batch-invariant kernel choices: GEMM for every row, or the matrix-vector kernel for
// decoding rows.
class BatchingKernels : public ::testing::TestWithParam<std::string> {};

TEST_P(BatchingKernels, SixteenConcurrentSeededStreamsEqualOneAtATime) {
  ServeConfig c = llm_config(16);  // all sixteen decoded in the same steps
  c.decode_kernels = GetParam();
  ApiServer s(c);
  struct Req { std::string path; Json body; };
  std::vector<Req> reqs;
  for (int i = 0; i < 16; ++i) {
    Json body = {{"max_tokens", 10 + i % 7}, {"temperature", 1.0}, {"seed", 40 + i}, {"stream", true}};
    if (i % 8 == 5) {  // a completion with a long prompt (read in several chunks)
      std::string prompt;
      for (int k = 0; k < 40; ++k) prompt += "word" + std::to_string(k * i) + " ";
      body["prompt"] = prompt;
      reqs.push_back({"/v1/completions", body});
      continue;
    }
    body["messages"] = {{{"role", "user"}, {"content", "tell me about " + std::to_string(i * 7)}}};
    if (i % 8 == 3) {  // grammar-constrained: the constraint runs inside the shared step
      body["response_format"] = {{"type", "json_object"}};
      body["max_tokens"] = 60;
    }
    reqs.push_back({"/v1/chat/completions", body});
  }
  std::vector<std::string> alone(reqs.size()), together(reqs.size());
  for (size_t i = 0; i < reqs.size(); ++i) alone[i] = streamed_text(s.port(), reqs[i].path, reqs[i].body);
  std::vector<std::thread> th;
  for (size_t i = 0; i < reqs.size(); ++i)
    th.emplace_back([&, i] { together[i] = streamed_text(s.port(), reqs[i].path, reqs[i].body); });
  for (auto& t : th) t.join();
  int distinct = 0;
  for (size_t i = 0; i < reqs.size(); ++i) {
    EXPECT_EQ(alone[i], together[i]) << "request " << i << " " << reqs[i].body.dump().substr(0, 200);
    distinct += i > 0 && alone[i] != alone[i - 1];
  }
  EXPECT_GT(distinct, 8);
  for (size_t i = 3; i < reqs.size(); i += 8) EXPECT_FALSE(Json::parse(alone[i], nullptr, false).is_discarded()) << alone[i];
  EXPECT_EQ(s.services->llm->kv_cache_use(), 0.0);
  EXPECT_EQ(s.services->llm->queue_depth(), 0);
}

INSTANTIATE_TEST_SUITE_P(Kernels, BatchingKernels, ::testing::Values("gemm", "matvec"),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

// Reads a streaming response until it has `n` SSE events.
void read_events(tcp::socket& sock, std::string& got, size_t n) {
  char buf[4096];
  auto events = [&] {
    size_t k = 0;
    for (size_t p = got.find("data: "); p != std::string::npos; p = got.find("data: ", p + 6)) ++k;
    return k;
  };
  while (events() < n) got.append(buf, sock.read_some(net::buffer(buf)));
}

TEST(Batching, ALeavingClientIsDroppedAndTheOthersGoOnUnchanged) {
  ServeConfig c = llm_config(4);
  c.ctx = 32768;  // the abandoned stream cannot end by itself while the test watches
  ApiServer s(c);
  const Json bias = no_eos_bias();
  auto body = [&](int seed, int max_tokens) {
    return Json{{"messages", {{{"role", "user"}, {"content", "go " + std::to_string(seed)}}}}, {"max_tokens", max_tokens},
                {"stream", true}, {"seed", seed}, {"logit_bias", bias}};
  };
  const std::string ref = streamed_text(s.port(), "/v1/chat/completions", body(7, 300));
  // A long stream that will be abandoned, next to a request that must not notice.
  net::io_context ioc;
  tcp::socket sock(ioc);
  sock.open(tcp::v4());
  sock.set_option(net::socket_base::receive_buffer_size(4096));
  sock.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), uint16_t(s.port())));
  const std::string b = body(1, 1000000).dump();
  net::write(sock, net::buffer("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                               std::to_string(b.size()) + "\r\n\r\n" + b));
  std::string got;
  read_events(sock, got, 4);
  std::string other;
  std::thread t([&] { other = streamed_text(s.port(), "/v1/chat/completions", body(7, 300)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const auto t0 = std::chrono::steady_clock::now();
  sock.close();
  t.join();
  EXPECT_EQ(other, ref);
  double use = 1;
  for (int i = 0; i < 300 && use > 0; ++i) {
    use = s.services->llm->kv_cache_use();
    if (use > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(use, 0.0) << "the abandoned sequence still holds KV blocks";
  std::printf("[ disconnect ] all KV blocks free %.1f ms after the close (the other request included)\n",
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  EXPECT_EQ(s.server->metrics().cancelled_generations().load(), 1u);
}

TEST(Batching, PastTheDeadlineAnswers504AndFreesTheSequence) {
  ServeConfig c = llm_config(2);
  c.ctx = 32768;  // room for far more tokens than the mini model can make in 0.4 s
  c.server.request_timeout_s = 0.4;
  ApiServer s(c);
  const Json body = {{"messages", {{{"role", "user"}, {"content", "go"}}}}, {"max_tokens", 1000000}, {"logit_bias", no_eos_bias()}};
  const auto t0 = std::chrono::steady_clock::now();
  auto r = http_request(s.port(), "POST", "/v1/chat/completions", body.dump());
  EXPECT_EQ(r.status, 504) << r.body.substr(0, 300);
  EXPECT_EQ(r.json()["error"]["code"], "timeout") << r.body;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(30));
  EXPECT_EQ(s.services->llm->kv_cache_use(), 0.0);
  // The server still answers.
  auto ok = http_request(s.port(), "POST", "/v1/chat/completions", R"({"messages":[{"role":"user","content":"x"}],"max_tokens":3})");
  EXPECT_EQ(ok.status, 200) << ok.body;
}

TEST(Batching, AFullQueueAnswers429WithRetryAfter) {
  ServeConfig c = llm_config(1);
  c.server.max_in_flight = 2;  // also the LLM queue bound
  ApiServer s(c);
  const Json bias = no_eos_bias();
  // The provider itself: one sequence running, two waiting (the queue of 2), the next refused.
  std::vector<std::shared_ptr<std::atomic<bool>>> flags;
  std::vector<std::thread> th;
  std::atomic<int> cancelled{0};
  for (int i = 0; i < 3; ++i) flags.push_back(std::make_shared<std::atomic<bool>>(false));
  for (int i = 0; i < 3; ++i) {
    th.emplace_back([&, i] {
      Json req = {{"messages", {{{"role", "user"}, {"content", "go"}}}}, {"max_tokens", 1000000}, {"logit_bias", bias}};
      try {
        s.services->llm->generate(req, true, nullptr, flags[size_t(i)]);
      } catch (const Error& e) {
        cancelled += e.code() == ErrorCode::cancelled;
      }
    });
  }
  for (int i = 0; i < 500 && s.services->llm->queue_depth() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(s.services->llm->queue_depth(), 2);
  try {
    s.services->llm->generate(Json{{"messages", {{{"role", "user"}, {"content", "x"}}}}, {"max_tokens", 2}}, true, nullptr,
                              std::make_shared<std::atomic<bool>>(false));
    ADD_FAILURE() << "a request beyond the queue was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::busy);  // 429
  }
  // Over HTTP a 429 carries Retry-After.
  auto r = http_request(s.port(), "POST", "/v1/chat/completions", R"({"messages":[{"role":"user","content":"x"}],"max_tokens":2})");
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(r.header("retry-after"), "1");
  EXPECT_EQ(r.json()["error"]["type"], "rate_limit_error") << r.body;
  for (auto& f : flags) f->store(true);
  for (auto& t : th) t.join();
  EXPECT_EQ(cancelled.load(), 3);
  EXPECT_EQ(s.services->llm->queue_depth(), 0);
  EXPECT_EQ(s.services->llm->kv_cache_use(), 0.0);
}

}  // namespace
