// Chat templates (exact renderings written out by hand from the model families' published
// templates, recognition, errors) and the sampler chain (greedy, bias, penalties, top-k/min-p,
// distribution, seeds, constraints and end-of-generation handling).
#include <gtest/gtest.h>

#include <algorithm>

#include <cmath>

#include "omni/error.hpp"
#include "runtime/chat_template.hpp"
#include "runtime/sampling.hpp"

using namespace omni;
using namespace omni::runtime;

namespace {

std::vector<ChatMessage> simple() {
  return {{"system", "Be brief.", {}, {}, {}}, {"user", "Hi", {}, {}, {}}, {"assistant", "Hello!", {}, {}, {}},
          {"user", "Light on", {}, {}, {}}};
}

TEST(ChatTemplate, ChatML) {
  const auto t = ChatTemplate::from_name("chatml");
  EXPECT_EQ(t.render(simple()),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
            "<|im_start|>user\nLight on<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(t.render({{"user", "x", {}, {}, {}}}, false), "<|im_start|>user\nx<|im_end|>\n");
}

TEST(ChatTemplate, Qwen25DefaultSystemAndTools) {
  const auto t = ChatTemplate::from_name("qwen2.5");
  EXPECT_EQ(t.render({{"user", "Hi", {}, {}, {}}}),
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  const nlohmann::json tools = nlohmann::json::parse(
      R"([{"type":"function","function":{"name":"light","parameters":{"type":"object"}}}])");
  std::vector<ChatMessage> m = {{"user", "Light on", {}, {}, {}},
                                {"assistant", "", {{"c1", "light", R"({"on":true})"}}, {}, {}},
                                {"tool", "ok", {}, "c1", "light"},
                                {"tool", "done", {}, "c2", "light"}};
  const std::string expect =
      "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.\n\n# Tools\n\n"
      "You may call one or more functions to assist with the user query.\n\n"
      "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
      "{\"function\": {\"name\": \"light\", \"parameters\": {\"type\": \"object\"}}, \"type\": \"function\"}\n</tools>\n\n"
      "For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n"
      "<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n"
      "<|im_start|>user\nLight on<|im_end|>\n"
      "<|im_start|>assistant\n<tool_call>\n{\"name\": \"light\", \"arguments\": {\"on\": true}}\n</tool_call><|im_end|>\n"
      "<|im_start|>user\n<tool_response>\nok\n</tool_response>\n<tool_response>\ndone\n</tool_response><|im_end|>\n"
      "<|im_start|>assistant\n";
  EXPECT_EQ(t.render(m, true, tools), expect);
}

TEST(ChatTemplate, Qwen3DropsEarlierReasoning) {
  const auto t = ChatTemplate::from_name("qwen3");
  const std::vector<ChatMessage> m = {{"user", "Hi", {}, {}, {}},
                                      {"assistant", "<think>\nhmm\n</think>\n\nHello!", {}, {}, {}},
                                      {"user", "Bye", {}, {}, {}}};
  EXPECT_EQ(t.render(m), "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
                         "<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplate, ParsesToolCalls) {
  const auto t = ChatTemplate::from_name("qwen3");
  std::vector<ToolCall> calls;
  const std::string rest = t.parse_tool_calls(
      "Sure.\n<tool_call>\n{\"name\": \"light\", \"arguments\": {\"on\": true}}\n</tool_call>\n<tool_call>bad</tool_call>", calls);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].name, "light");
  EXPECT_EQ(nlohmann::json::parse(calls[0].arguments), nlohmann::json::parse(R"({"on":true})"));
  EXPECT_EQ(rest, "Sure.\n\n<tool_call>bad</tool_call>");
}

TEST(ChatTemplate, Llama3GemmaMistral) {
  EXPECT_EQ(ChatTemplate::from_name("llama3").render(simple()),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nLight on<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(ChatTemplate::from_name("gemma").render(simple()),
            "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n"
            "<start_of_turn>user\nLight on<end_of_turn>\n<start_of_turn>model\n");
  EXPECT_EQ(ChatTemplate::from_name("mistral").render(simple()),
            "<s>[INST] Be brief.\n\nHi[/INST] Hello!</s>[INST] Light on[/INST]");
}

TEST(ChatTemplate, RecognisesJinjaAndRejectsUnknown) {
  EXPECT_EQ(ChatTemplate::detect("{{'<|im_start|>' + message['role']}}").name(), "chatml");
  EXPECT_EQ(ChatTemplate::detect("You are Qwen, created by Alibaba Cloud. <|im_start|>").name(), "qwen2.5");
  EXPECT_EQ(ChatTemplate::detect("<|im_start|> {%- if enable_thinking %}<think>").name(), "qwen3");
  EXPECT_EQ(ChatTemplate::detect("{{ '<|start_header_id|>' + message['role'] }}").name(), "llama3");
  EXPECT_EQ(ChatTemplate::detect("{{ '<start_of_turn>' + role }}").name(), "gemma");
  EXPECT_EQ(ChatTemplate::detect("{{ '[INST] ' + content + ' [/INST]' }}").name(), "mistral");
  try {
    ChatTemplate::detect("{{ '### Human: ' + content }}");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--chat-template"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ChatTemplate::from_name("vicuna"), Error);
  EXPECT_THROW(ChatTemplate::from_name("chatml").render({{"robot", "x", {}, {}, {}}}), Error);
}

// ---------------------------------------------------------------- sampler

SamplingParams greedy() {
  SamplingParams p;
  p.temperature = 0;
  return p;
}

TEST(Sampler, GreedyBiasAndPenalty) {
  std::vector<float> l = {1, 5, 3, 4};
  Sampler s(greedy(), 4);
  auto copy = l;
  EXPECT_EQ(s.sample(copy.data()), 1);
  SamplingParams p = greedy();
  p.logit_bias[1] = -INFINITY;
  Sampler b(p, 4);
  copy = l;
  EXPECT_EQ(b.sample(copy.data()), 3);
  // repeat penalty 2: logit 5 of token 1 becomes 2.5, below token 3's 4
  p = greedy();
  p.repeat_penalty = 2.0f;
  Sampler r(p, 4);
  r.accept(1);
  copy = l;
  EXPECT_EQ(r.sample(copy.data()), 3);
  EXPECT_FLOAT_EQ(copy[1], 2.5f);
  // frequency 1.5 x 2 occurrences + presence 0.5 on token 1: 5 - 3.5 = 1.5
  p = greedy();
  p.frequency_penalty = 1.5f;
  p.presence_penalty = 0.5f;
  Sampler f(p, 4);
  f.accept(1);
  f.accept(1);
  copy = l;
  f.sample(copy.data());
  EXPECT_FLOAT_EQ(copy[1], 1.5f);
}

TEST(Sampler, DistributionMatchesSoftmax) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0;
  p.seed = 7;
  Sampler s(p, 2);
  int ones = 0;
  const int n = 8000;
  for (int i = 0; i < n; ++i) {
    float l[2] = {0.0f, std::log(3.0f)};  // p = 1/4, 3/4
    ones += s.sample(l) == 1;
  }
  EXPECT_NEAR(double(ones) / n, 0.75, 0.03);
  // temperature 2 flattens: p1 = sqrt(3)/(1+sqrt(3)) = 0.634
  p.temperature = 2.0f;
  Sampler t(p, 2);
  ones = 0;
  for (int i = 0; i < n; ++i) {
    float l[2] = {0.0f, std::log(3.0f)};
    ones += t.sample(l) == 1;
  }
  EXPECT_NEAR(double(ones) / n, std::sqrt(3.0) / (1 + std::sqrt(3.0)), 0.03);
}

TEST(Sampler, TopKMinPTopPAndSeeds) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 2;
  p.min_p = 0;
  p.top_p = 1.0f;
  Sampler k(p, 4);
  for (int i = 0; i < 200; ++i) {
    float l[4] = {3, 2.9f, 2.8f, 0};
    const int id = k.sample(l);
    EXPECT_TRUE(id == 0 || id == 1);
  }
  p.top_k = 0;
  p.min_p = 0.5f;  // token 2 has p/p0 = e^-1 = 0.37 < 0.5
  Sampler m(p, 3);
  for (int i = 0; i < 200; ++i) {
    float l[3] = {1, 0.9f, 0};
    EXPECT_NE(m.sample(l), 2);
  }
  p.min_p = 0;
  p.top_p = 0.5f;  // token 0 alone holds 0.67 >= 0.5
  Sampler tp(p, 2);
  for (int i = 0; i < 100; ++i) {
    float l[2] = {std::log(2.0f), 0};
    EXPECT_EQ(tp.sample(l), 0);
  }
  p = SamplingParams();
  p.seed = 99;
  Sampler a(p, 50), b(p, 50);
  std::vector<int> sa, sb;
  for (int i = 0; i < 50; ++i) {
    std::vector<float> l(50);
    for (int v = 0; v < 50; ++v) l[size_t(v)] = float((v * 7919 + i * 31) % 50) / 10.0f;
    auto l2 = l;
    sa.push_back(a.sample(l.data()));
    sb.push_back(b.sample(l2.data()));
  }
  EXPECT_EQ(sa, sb);
  a.reset();
  std::vector<int> sc;
  for (int i = 0; i < 50; ++i) {
    std::vector<float> l(50);
    for (int v = 0; v < 50; ++v) l[size_t(v)] = float((v * 7919 + i * 31) % 50) / 10.0f;
    sc.push_back(a.sample(l.data()));
  }
  EXPECT_EQ(sa, sc);
}

// A vocabulary much larger than the sampler's first sorted chunk: the picks must still follow the
// softmax over the top-p nucleus, computed here with a full sort.
TEST(Sampler, LargeVocabularyNucleusMatchesFullSortReference) {
  const int n_vocab = 3000;
  std::vector<float> logits(static_cast<size_t>(n_vocab));
  for (int v = 0; v < n_vocab; ++v) logits[size_t(v)] = float((v * 7919) % n_vocab) / 400.0f;  // a permutation of 0..7.5
  for (const float top_p : {0.9f, 1.0f}) {
    // Reference nucleus: sort descending, keep the smallest prefix with mass >= top_p.
    std::vector<int> order(static_cast<size_t>(n_vocab));
    for (int v = 0; v < n_vocab; ++v) order[size_t(v)] = v;
    std::sort(order.begin(), order.end(), [&](int a, int b) { return logits[size_t(a)] > logits[size_t(b)]; });
    double total = 0;
    for (float l : logits) total += std::exp(double(l) - 7.5);
    std::vector<double> prob(static_cast<size_t>(n_vocab), 0.0);
    double cum = 0;
    size_t keep = 0;
    while (keep < order.size()) {
      const int v = order[keep++];
      prob[size_t(v)] = std::exp(double(logits[size_t(v)]) - 7.5);
      cum += prob[size_t(v)];
      if (cum >= top_p * total) break;
    }
    for (auto& q : prob) q /= cum;
    ASSERT_GT(keep, 200u);  // the nucleus is larger than the first sorted chunk
    SamplingParams p;
    p.temperature = 1.0f;
    p.top_k = 0;
    p.min_p = 0;
    p.top_p = top_p;
    p.seed = 5;
    Sampler s(p, n_vocab);
    const int draws = 20000;
    std::vector<int> hits(static_cast<size_t>(n_vocab), 0);
    for (int i = 0; i < draws; ++i) {
      auto l = logits;
      const int id = s.sample(l.data());
      ASSERT_GT(prob[size_t(id)], 0.0) << "token " << id << " is outside the nucleus";
      ++hits[size_t(id)];
    }
    // The 10 most likely tokens, each checked against its reference probability.
    for (size_t r = 0; r < 10; ++r) {
      const int v = order[r];
      const double expect = prob[size_t(v)], got = double(hits[size_t(v)]) / draws;
      EXPECT_NEAR(got, expect, 4 * std::sqrt(expect * (1 - expect) / draws) + 1e-3) << "rank " << r;
    }
  }
}

// Allows only even tokens; complete after two accepted tokens.
class EvenOnly : public TokenConstraint {
 public:
  void mask(float* logits, int n) override {
    for (int i = 1; i < n; i += 2) logits[i] = -INFINITY;
  }
  void accept(int token) override {
    if (token % 2) fail(ErrorCode::invalid_argument, "odd token");
    ++n_;
  }
  bool is_complete() const override { return n_ >= 2; }
  int n_ = 0;
};

TEST(Sampler, ConstraintMaskAndEndOfGeneration) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.seed = 3;
  Sampler s(p, 6);
  s.set_end_tokens({5});  // odd: the constraint's mask would ban it, the sampler decides
  EvenOnly c;
  for (int i = 0; i < 2; ++i) {
    float l[6] = {0, 9, 0, 9, 0, 20};  // EOS has the top logit but the constraint is not complete
    const int id = s.sample(l, &c);
    EXPECT_EQ(id % 2, 0);
    s.accept(id, &c);
  }
  ASSERT_TRUE(c.is_complete());
  float l[6] = {0, 9, 0, 9, 0, 20};
  EXPECT_EQ(s.sample(l, &c), 5);  // now allowed, and by far the most likely
  s.accept(5, &c);                // not passed to the constraint
  EXPECT_EQ(c.n_, 2);
  // everything banned -> clear error
  SamplingParams g = greedy();
  g.logit_bias = {{0, -INFINITY}, {1, -INFINITY}};
  Sampler z(g, 2);
  float l2[2] = {1, 2};
  EXPECT_THROW(z.sample(l2), Error);
}

}  // namespace
