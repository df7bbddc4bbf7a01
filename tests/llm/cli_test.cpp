// The LLM commands end to end through the built `omni` binary: tokenize and logits against the
// golden references, generate / chat / bench llm running, and clear errors for bad input.
#include <gtest/gtest.h>

#include "llm_test_util.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/npy.hpp"

using namespace omni;

namespace {

std::string data(const std::string& name) { return omni::test::llm_data(name); }

struct Run {
  int status;
  std::string out;
};

// Runs the omni CLI with arguments (shell-quoted by the caller); captures stdout (stderr too if asked).
Run omni_cli(const std::string& args, bool with_stderr = false) {
  const std::string cmd = std::string(OMNI_CLI) + " " + args + (with_stderr ? " 2>&1" : " 2>/dev/null");
  FILE* p = popen(cmd.c_str(), "r");
  Run r{-1, ""};
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

TEST(Cli, TokenizeMatchesGolden) {
  std::ifstream f(data("mini-llama-q8_0.tokens.json"));
  const auto cases = nlohmann::json::parse(f);
  for (size_t i : {0, 1, 4, 9}) {
    const auto r = omni_cli("tokenize -m " + data("mini-llama-q8_0.gguf") + " " + quote(cases[i]["text"].get<std::string>()));
    ASSERT_EQ(r.status, 0);
    EXPECT_EQ(nlohmann::json::parse(r.out), cases[i]["ids"]) << cases[i]["text"];
  }
}

TEST(Cli, LogitsMatchGolden) {
  const std::string out = (std::filesystem::path(::testing::TempDir()) / "omni-cli-logits.npy").string();
  const auto r = omni_cli("logits -m " + data("mini-qwen3-f16.gguf") +
                          " --tokens 1,50,100,200,300,7,8,9,10,11,12,13,260,270,280,290 --threads 2 --out " + out);
  ASSERT_EQ(r.status, 0);
  const NpyArray got = read_npy(out), ref = read_npy(data("mini-qwen3-f16.logits.npy"));
  ASSERT_EQ(got.shape, ref.shape);
  double max_ref = 0, max_d = 0;
  for (size_t i = 0; i < ref.data.size(); ++i) {
    max_ref = std::max(max_ref, std::abs(double(ref.data[i])));
    max_d = std::max(max_d, std::abs(double(ref.data[i]) - got.data[i]));
  }
  EXPECT_LE(max_d, 2e-3 * max_ref);
}

TEST(Cli, GenerateChatAndBenchRun) {
  const std::string m = data("mini-qwen2-q4_0.gguf");
  auto r = omni_cli("generate -m " + m + " -p 'turn on the' -n 8 --temp 0 --threads 2");
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.out.empty());
  const auto again = omni_cli("generate -m " + m + " -p 'turn on the' -n 8 --temp 0 --threads 1");
  EXPECT_EQ(again.out, r.out);  // greedy output does not depend on the thread count here
  r = omni_cli("generate -m " + m + " -p hello --chat --system 'Be brief.' -n 4 --seed 5");
  EXPECT_EQ(r.status, 0);
  r = omni_cli("chat -m " + m + " -n 4 --temp 0 < /dev/null");
  EXPECT_EQ(r.status, 0);
  r = omni_cli("bench llm -m " + m + " --pp 16 --tg 4 --reps 1 --threads 2 --json");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* k : {"pp512_tps", "tg128_tps", "tg_gbs", "read_bandwidth_gbs", "threads"}) EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_GT(j["tg128_tps"].get<double>(), 0.0);
  EXPECT_EQ(j["threads"].get<int>(), 2);
}

TEST(Cli, ClearErrors) {
  auto r = omni_cli("generate -m /nonexistent/model.gguf -p hi", true);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("/nonexistent/model.gguf"), std::string::npos) << r.out;
  r = omni_cli("generate -m " + data("mini-qwen2-f32.gguf") + " -p hi --chat --chat-template vicuna", true);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("chatml"), std::string::npos) << r.out;
  r = omni_cli("logits -m " + data("mini-qwen2-f32.gguf") + " --tokens 1,x --out /tmp/x.npy", true);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("'x'"), std::string::npos) << r.out;
  r = omni_cli("generate -m " + data("mini-qwen2-f32.gguf") + " -p 'a b c d e f g h i j k l' --ctx 4", true);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("context"), std::string::npos) << r.out;
}

TEST(Cli, ChatAndGenerateShareTheSamplingOptions) {
  // Both commands list and accept the same sampling options, and refuse out-of-range values by name.
  for (const char* cmd : {"generate", "chat"}) {
    const auto help = omni_cli(std::string(cmd) + " --help", true);
    EXPECT_EQ(help.status, 0) << cmd;
    for (const char* opt : {"--top-p", "--top-k", "--min-p", "--repeat-penalty", "--presence-penalty", "--frequency-penalty", "--ctx"})
      EXPECT_NE(help.out.find(opt), std::string::npos) << cmd << " --help lacks " << opt;
  }
  const std::string m = data("mini-qwen2-q4_0.gguf");
  auto r = omni_cli("chat -m " + m + " --top-p 1.5 < /dev/null", true);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("--top-p must be between 0 and 1"), std::string::npos) << r.out;
  r = omni_cli("generate -m " + m + " -p hi --temp -1", true);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("--temp"), std::string::npos) << r.out;
  // A chat with top-k 1 answers the same as greedy decoding.
  const auto greedy = omni_cli("generate -m " + m + " -p 'turn on the' -n 6 --temp 0 --threads 1");
  const auto top1 = omni_cli("generate -m " + m + " -p 'turn on the' -n 6 --temp 0.9 --top-k 1 --seed 3 --threads 1");
  ASSERT_EQ(greedy.status, 0);
  EXPECT_EQ(top1.out, greedy.out);
}

}  // namespace
