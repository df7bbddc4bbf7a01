// response_format {"type":"json_object"} on a random-weight local model: whatever the sampler
// picks, the content is one JSON object (never an array or a scalar), streamed or not.
#include <gtest/gtest.h>

#include "api_server.hpp"

using namespace omni;
using namespace omni::test;

namespace {

const std::string k_data = OMNI_TEST_DATA;

std::string streamed_content(const std::string& sse) {
  std::string text;
  for (size_t pos = sse.find("data: "); pos != std::string::npos; pos = sse.find("data: ", pos)) {
    size_t end = sse.find("\n\n", pos);
    std::string data = sse.substr(pos + 6, end - pos - 6);
    pos = end;
    if (data == "[DONE]") break;
    const Json d = Json::parse(data)["choices"][0]["delta"];
    if (d.contains("content") && d["content"].is_string()) text += d["content"].get<std::string>();
  }
  return text;
}

}  // namespace

TEST(JsonObject, ResponseFormatJsonObjectIsAlwaysAnObject) {
  server::ServeConfig c;
  c.model = k_data + "/llm/mini-qwen2-q4_k_m.gguf";
  c.parallel = 2;
  c.ctx = 512;
  c.threads = 2;
  c.tts = false;
  ApiServer s(c);
  int n_members = 0;
  for (int seed = 1; seed <= 12; ++seed) {
    Json body = {{"messages", {{{"role", "user"}, {"content", "answer in json"}}}}, {"max_tokens", 48}, {"seed", seed},
                 {"temperature", 1.0}, {"response_format", {{"type", "json_object"}}}};
    bool stream = seed % 4 == 0;
    if (stream) body["stream"] = true;
    auto r = http_request(s.port(), "POST", "/v1/chat/completions", body.dump());
    ASSERT_EQ(r.status, 200) << r.body;
    std::string content = stream ? streamed_content(r.body) : r.json()["choices"][0]["message"]["content"].get<std::string>();
    Json out = Json::parse(content, nullptr, false);
    EXPECT_TRUE(out.is_object()) << "seed " << seed << ": " << content;
    if (out.is_object()) n_members += int(out.size());
  }
  EXPECT_GT(n_members, 0);  // not just "{}" every time
}
