// The model-file commands end to end through the built `omni` binary: make-model for each
// architecture (checked with inspect --json against llama.cpp's key and tensor naming),
// quantize to each type (dequantized weights close to the original), and errors for bad input.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "formats/gguf.hpp"
#include "kernels/kernels.hpp"

using namespace omni;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct RunResult {
  int status;
  std::string output;
};

// Runs `omni ARGS` with stderr merged into stdout.
RunResult omni_cli(const std::string& args, const std::string& env = "") {
  const std::string cmd = env + "'" + OMNI_CLI + "' " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {-1, ""};
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

fs::path tmp_dir() {
  const fs::path d = fs::temp_directory_path() / ("omni_cli_model_test_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

// Removes this process's scratch folder when the tests end.
struct ScratchCleanup : ::testing::Environment {
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(fs::temp_directory_path() / ("omni_cli_model_test_" + std::to_string(::getpid())), ec);
  }
};
[[maybe_unused]] ::testing::Environment* const k_cleanup = ::testing::AddGlobalTestEnvironment(new ScratchCleanup);

json inspect_json(const fs::path& p) {
  const auto r = omni_cli("inspect --json '" + p.string() + "'");
  EXPECT_EQ(r.status, 0) << r.output;
  return json::parse(r.output);
}

// llama.cpp's tensor names for a decoder of this architecture (written from its naming rules).
std::vector<std::string> expected_tensor_names(const std::string& arch, int n_layer, bool tied) {
  std::vector<std::string> n = {"token_embd.weight"};
  for (int l = 0; l < n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    for (const char* s : {"attn_norm.weight", "attn_q.weight", "attn_k.weight", "attn_v.weight", "attn_output.weight"})
      n.push_back(p + s);
    if (arch == "qwen2")
      for (const char* s : {"attn_q.bias", "attn_k.bias", "attn_v.bias"}) n.push_back(p + s);
    if (arch == "qwen3")
      for (const char* s : {"attn_q_norm.weight", "attn_k_norm.weight"}) n.push_back(p + s);
    for (const char* s : {"ffn_norm.weight", "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight"}) n.push_back(p + s);
  }
  n.push_back("output_norm.weight");
  if (!tied) n.push_back("output.weight");
  return n;
}

std::vector<float> dequantize(const gguf::TensorInfo& t) {
  std::vector<float> out(size_t(t.n_elements()));
  const size_t rb = row_bytes(t.type, t.ne[0]);
  for (int64_t r = 0; r < t.n_rows(); ++r)
    kernels::dequantize_row(t.type, t.data + size_t(r) * rb, out.data() + size_t(r * t.ne[0]), t.ne[0]);
  return out;
}

}  // namespace

class MakeModelArch : public ::testing::TestWithParam<std::string> {};

TEST_P(MakeModelArch, TinyModelHasLlamaCppKeysAndTensors) {
  const std::string arch = GetParam();
  const fs::path out = tmp_dir() / ("tiny-" + arch + ".gguf");
  const auto r = omni_cli("make-model --arch " + arch + " --shape tiny --type f32 --seed 3 -o '" + out.string() + "'");
  ASSERT_EQ(r.status, 0) << r.output;
  const json j = inspect_json(out);
  EXPECT_EQ(j["version"], 3);
  const json& md = j["metadata"];
  EXPECT_EQ(md["general.architecture"], arch);
  EXPECT_EQ(md["general.file_type"], 0);  // LLAMA_FTYPE_ALL_F32
  EXPECT_EQ(md[arch + ".embedding_length"], 64);
  EXPECT_EQ(md[arch + ".block_count"], 2);
  EXPECT_EQ(md[arch + ".feed_forward_length"], 160);
  EXPECT_EQ(md[arch + ".attention.head_count"], 4);
  EXPECT_EQ(md[arch + ".attention.head_count_kv"], 2);
  EXPECT_TRUE(md.contains(arch + ".context_length"));
  EXPECT_GT(md[arch + ".rope.freq_base"].get<double>(), 1000.0);
  const double eps = md[arch + ".attention.layer_norm_rms_epsilon"];
  EXPECT_TRUE(eps > 1e-7 && eps < 1e-4) << eps;
  EXPECT_EQ(md.contains(arch + ".attention.key_length"), arch == "qwen3");
  if (arch == "qwen3") {
    EXPECT_EQ(md["qwen3.attention.key_length"], 16);
  }
  EXPECT_EQ(md["tokenizer.ggml.model"], "gpt2");
  EXPECT_EQ(md["tokenizer.ggml.pre"], arch == "llama" ? "llama-bpe" : "qwen2");
  // Vocabulary: 512 unique tokens, the 256 GPT-2 byte symbols first, merges made of tokens.
  const auto tokens = md["tokenizer.ggml.tokens"].get<std::vector<std::string>>();
  ASSERT_EQ(tokens.size(), 512u);
  EXPECT_EQ(std::set<std::string>(tokens.begin(), tokens.end()).size(), tokens.size());
  EXPECT_EQ(tokens['a'], "a");
  EXPECT_EQ(tokens[' '], "\xC4\xA0");   // U+0120
  EXPECT_EQ(tokens['\n'], "\xC4\x8A");  // U+010A
  const std::set<std::string> tokset(tokens.begin(), tokens.end());
  const auto merges = md["tokenizer.ggml.merges"].get<std::vector<std::string>>();
  EXPECT_GT(merges.size(), 100u);
  for (const auto& m : merges) {
    const size_t sp = m.find(' ');
    ASSERT_NE(sp, std::string::npos) << m;
    const std::string a = m.substr(0, sp), b = m.substr(sp + 1);
    EXPECT_TRUE(tokset.count(a) && tokset.count(b) && tokset.count(a + b)) << m;
  }
  EXPECT_EQ(md["tokenizer.ggml.token_type"].size(), 512u);
  EXPECT_EQ(tokens[size_t(md["tokenizer.ggml.bos_token_id"].get<int>())], "<|endoftext|>");
  EXPECT_EQ(tokens[size_t(md["tokenizer.ggml.eos_token_id"].get<int>())], "<|im_end|>");
  EXPECT_TRUE(std::find(tokens.begin(), tokens.end(), "<|im_start|>") != tokens.end());
  EXPECT_EQ(md["tokenizer.ggml.token_type"][511], 3);  // control
  EXPECT_NE(md["tokenizer.chat_template"].get<std::string>().find("<|im_start|>"), std::string::npos);
  // Tensors: exactly llama.cpp's names, in order, with its shapes.
  std::vector<std::string> names;
  std::map<std::string, json> by_name;
  for (const auto& t : j["tensors"]) {
    names.push_back(t["name"]);
    by_name[t["name"]] = t;
  }
  EXPECT_EQ(names, expected_tensor_names(arch, 2, true));
  EXPECT_EQ(by_name["token_embd.weight"]["shape"], json::parse("[64, 512]"));
  EXPECT_EQ(by_name["blk.0.attn_q.weight"]["shape"], json::parse("[64, 64]"));
  EXPECT_EQ(by_name["blk.0.attn_k.weight"]["shape"], json::parse("[64, 32]"));
  EXPECT_EQ(by_name["blk.1.ffn_down.weight"]["shape"], json::parse("[160, 64]"));
  EXPECT_EQ(by_name["blk.1.ffn_up.weight"]["shape"], json::parse("[64, 160]"));
  EXPECT_EQ(by_name["output_norm.weight"]["type"], "f32");
  if (arch == "qwen3") {
    EXPECT_EQ(by_name["blk.0.attn_q_norm.weight"]["shape"], json::parse("[16]"));
  }
  if (arch == "qwen2") {
    EXPECT_EQ(by_name["blk.0.attn_k.bias"]["shape"], json::parse("[32]"));
  }

  // Weights: deterministic, sane scales (linear ~ 1/sqrt(n_in), norms ~ 1).
  gguf::File f = gguf::File::open(out.string());
  const auto& q = f.tensor("blk.0.attn_q.weight");
  ASSERT_EQ(q.type, DType::f32);
  const float* qw = reinterpret_cast<const float*>(q.data);
  double s2 = 0;
  for (int64_t i = 0; i < q.n_elements(); ++i) s2 += double(qw[i]) * qw[i];
  const double rms = std::sqrt(s2 / double(q.n_elements()));
  EXPECT_GT(rms, 0.5 / 8.0);
  EXPECT_LT(rms, 2.0 / 8.0);
  const float* norm = reinterpret_cast<const float*>(f.tensor("output_norm.weight").data);
  for (int i = 0; i < 64; ++i) EXPECT_NEAR(norm[i], 1.0f, 0.2f);
  const fs::path again = tmp_dir() / ("tiny-" + arch + "-again.gguf");
  ASSERT_EQ(omni_cli("make-model --arch " + arch + " --type f32 --seed 3 -j 1 -o '" + again.string() + "'").status, 0);
  std::ifstream a(out, std::ios::binary), b(again, std::ios::binary);
  EXPECT_TRUE(std::equal(std::istreambuf_iterator<char>(a), {}, std::istreambuf_iterator<char>(b))) << "same seed, different bytes";
}

INSTANTIATE_TEST_SUITE_P(Archs, MakeModelArch, ::testing::Values("llama", "qwen2", "qwen3"));

TEST(MakeModel, UntiedDimsAndSeedsDiffer) {
  const fs::path a = tmp_dir() / "dims-a.gguf", b = tmp_dir() / "dims-b.gguf";
  ASSERT_EQ(omni_cli("make-model --arch llama --dims n_embd=96,n_head=6,n_head_kv=3,n_ff=128,n_vocab=400,n_layer=3 "
                     "--untied --type bf16 --seed 1 -o '" + a.string() + "'").status, 0);
  ASSERT_EQ(omni_cli("make-model --arch llama --dims n_embd=96,n_head=6,n_head_kv=3,n_ff=128,n_vocab=400,n_layer=3 "
                     "--untied --type bf16 --seed 2 -o '" + b.string() + "'").status, 0);
  gguf::File fa = gguf::File::open(a.string()), fb = gguf::File::open(b.string());
  EXPECT_EQ(fa.get_int("llama.block_count", 0), 3);
  EXPECT_EQ(fa.get_int("general.file_type", -1), 32);  // LLAMA_FTYPE_MOSTLY_BF16
  const auto& o = fa.tensor("output.weight");
  EXPECT_EQ(o.type, DType::bf16);
  EXPECT_EQ(o.shape_string(), "[96, 400]");
  EXPECT_EQ(fa.tensor("blk.2.attn_k.weight").shape_string(), "[96, 48]");
  EXPECT_NE(std::memcmp(o.data, fb.tensor("output.weight").data, o.n_bytes), 0);
}

TEST(MakeModel, BadArgumentsGiveClearErrors) {
  const std::string out = (tmp_dir() / "bad.gguf").string();
  auto expect_error = [&](const std::string& args, const std::string& needle) {
    const auto r = omni_cli(args);
    EXPECT_NE(r.status, 0) << args;
    EXPECT_NE(r.output.find(needle), std::string::npos) << args << " -> " << r.output;
  };
  expect_error("make-model --type f32 -o " + out, "arch");
  expect_error("make-model --arch gpt9 -o " + out, "gpt9");
  expect_error("make-model --arch qwen2", "output");
  expect_error("make-model --arch qwen2 --type q3_xx -o " + out, "q3_xx");
  expect_error("make-model --arch qwen2 --shape huge -o " + out, "huge");
  expect_error("make-model --arch qwen2 --dims n_embd=abc -o " + out, "n_embd");
  expect_error("make-model --arch qwen2 --dims wings=2 -o " + out, "wings");
  expect_error("make-model --arch qwen2 --dims n_head=5 -o " + out, "n_head");
  expect_error("make-model --arch qwen2 --dims n_vocab=100 -o " + out, "n_vocab");
  EXPECT_FALSE(fs::exists(out));
  expect_error("quantize in.gguf", "");
  expect_error("quantize /nonexistent/in.gguf " + out + " q4_0", "/nonexistent/in.gguf");
  expect_error("quantize " + std::string(OMNI_TEST_DATA) + "/llm/mini-qwen2-f32.gguf " + out + " q9_9", "q9_9");
  const fs::path junk = tmp_dir() / "junk.gguf";
  std::ofstream(junk) << "this is not a gguf file at all";
  expect_error("inspect '" + junk.string() + "'", "bad magic");
  expect_error("inspect /nonexistent/model.gguf", "/nonexistent/model.gguf");
}

TEST(Inspect, TextModeAbbreviatesArraysAndTotals) {
  const auto r = omni_cli(std::string("inspect ") + OMNI_TEST_DATA + "/llm/mini-qwen2-f32.gguf");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("tokenizer.ggml.tokens"), std::string::npos);
  EXPECT_NE(r.output.find("558 strings [\"\xC4\x80\", "), std::string::npos) << r.output.substr(0, 2000);
  EXPECT_NE(r.output.find(", ...]"), std::string::npos);
  EXPECT_NE(r.output.find("token_embd.weight"), std::string::npos);
  EXPECT_NE(r.output.find("total: 26 tensors"), std::string::npos);
  EXPECT_LT(r.output.size(), 20000u);  // the 558 tokens are not all printed
}

TEST(Inspect, ShowsNestedArrays) {
  // [[1, 2], [3]] as a u32 array of arrays, in JSON and in text.
  gguf::Writer w;
  gguf::Value outer;
  outer.type = gguf::ValueType::array;
  outer.elem_type = gguf::ValueType::array;
  outer.v = std::vector<gguf::Value>{gguf::Value::of_i32s({1, 2}), gguf::Value::of_i32s({3})};
  w.set("test.nested", outer);
  const float x[2] = {0.5f, 1.5f};
  w.add_tensor("t", DType::f32, {2}, x, sizeof x);
  const fs::path p = tmp_dir() / "nested.gguf";
  w.write(p.string());
  const json j = inspect_json(p);
  EXPECT_EQ(j["metadata"]["test.nested"], json::parse("[[1, 2], [3]]")) << j["metadata"].dump();
  const auto r = omni_cli("inspect '" + p.string() + "'");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("2 arrays [2 i32s [1, 2], 1 i32 [3]]"), std::string::npos) << r.output;
}

struct QuantCase {
  std::string type;
  double max_rel_rms;  // relative RMS error bound of the dequantized weights
};
void PrintTo(const QuantCase& c, std::ostream* os) { *os << c.type; }

class QuantizeTo : public ::testing::TestWithParam<QuantCase> {};

TEST_P(QuantizeTo, LoadableAndCloseToTheOriginal) {
  const auto& qc = GetParam();
  const fs::path src = tmp_dir() / "quant-src.gguf";
  if (!fs::exists(src)) {
    ASSERT_EQ(omni_cli("make-model --arch qwen2 --dims n_embd=256,n_head=4,n_head_kv=2,n_ff=512,n_layer=2 --type f32 -o '" +
                       src.string() + "'").status, 0);
  }
  const fs::path dst = tmp_dir() / ("quant-" + qc.type + ".gguf");
  const auto r = omni_cli("quantize '" + src.string() + "' '" + dst.string() + "' " + qc.type);
  ASSERT_EQ(r.status, 0) << r.output;
  gguf::File a = gguf::File::open(src.string()), b = gguf::File::open(dst.string());
  // Metadata kept, file type updated (llama.cpp's LLAMA_FTYPE numbers).
  const std::map<std::string, int> ftype = {{"f16", 1}, {"bf16", 32}, {"q8_0", 7}, {"q4_0", 2}, {"q4_k_m", 15}, {"q5_k_m", 17}};
  EXPECT_EQ(b.get_int("general.file_type", -1), ftype.at(qc.type));
  EXPECT_EQ(b.get("tokenizer.ggml.merges").as_array().size(), a.get("tokenizer.ggml.merges").as_array().size());
  EXPECT_EQ(b.get_string("tokenizer.chat_template", ""), a.get_string("tokenizer.chat_template", ""));
  ASSERT_EQ(a.tensors().size(), b.tensors().size());
  for (size_t i = 0; i < a.tensors().size(); ++i) {
    const auto& ta = a.tensors()[i];
    const auto& tb = b.tensors()[i];
    SCOPED_TRACE(ta.name);
    ASSERT_EQ(ta.name, tb.name);
    ASSERT_EQ(ta.shape_string(), tb.shape_string());
    if (ta.n_dims == 1) {
      EXPECT_EQ(tb.type, DType::f32);
      EXPECT_EQ(std::memcmp(ta.data, tb.data, ta.n_bytes), 0);
      continue;
    }
    const auto x = dequantize(ta), y = dequantize(tb);
    double err = 0, ref = 0;
    for (size_t k = 0; k < x.size(); ++k) {
      err += (double(x[k]) - y[k]) * (double(x[k]) - y[k]);
      ref += double(x[k]) * x[k];
    }
    EXPECT_LT(std::sqrt(err / ref), qc.max_rel_rms) << dtype_name(tb.type);
  }
  // The recipe: which type each tensor got.
  auto type_of = [&](const std::string& n) { return std::string(dtype_name(b.tensor(n).type)); };
  if (qc.type == "q4_k_m" || qc.type == "q5_k_m") {
    const std::string base = qc.type == "q4_k_m" ? "q4_k" : "q5_k";
    EXPECT_EQ(type_of("blk.0.attn_q.weight"), base);
    EXPECT_EQ(type_of("blk.0.ffn_gate.weight"), base);
    EXPECT_EQ(type_of("blk.0.attn_v.weight"), base);  // layer 0 of 2 is not favoured
    EXPECT_EQ(type_of("blk.1.attn_v.weight"), "q6_k");  // the last eighth is
    EXPECT_EQ(type_of("blk.1.ffn_down.weight"), "q6_k");
    EXPECT_EQ(type_of("token_embd.weight"), "q6_k");  // tied: token_embd is the head
    // attn_output rows are n_head*head_dim = 256 wide, ffn_down 512: both whole super-blocks.
    EXPECT_EQ(type_of("blk.0.attn_output.weight"), base);
  } else {
    EXPECT_EQ(type_of("blk.0.attn_q.weight"), qc.type);
    EXPECT_EQ(type_of("token_embd.weight"), qc.type);
  }
}

INSTANTIATE_TEST_SUITE_P(Types, QuantizeTo,
                         ::testing::Values(QuantCase{"f16", 1e-3}, QuantCase{"bf16", 8e-3}, QuantCase{"q8_0", 1e-2},
                                           QuantCase{"q4_0", 0.2}, QuantCase{"q4_k_m", 0.15}, QuantCase{"q5_k_m", 0.08}),
                         [](const auto& info) { return info.param.type; });

TEST(Quantize, FallsBackWhenRowsDoNotFitSuperBlocks) {
  // Tiny (64 wide) rows are not multiples of 256: K types fall back to 32-element types.
  const fs::path src = tmp_dir() / "fb-src.gguf", dst = tmp_dir() / "fb-q4km.gguf";
  ASSERT_EQ(omni_cli("make-model --arch llama --type f16 -o '" + src.string() + "'").status, 0);
  const auto r = omni_cli("quantize '" + src.string() + "' '" + dst.string() + "' q4_k_m");
  ASSERT_EQ(r.status, 0) << r.output;
  gguf::File b = gguf::File::open(dst.string());
  EXPECT_EQ(b.tensor("blk.0.attn_q.weight").type, DType::q5_0);
  EXPECT_EQ(b.tensor("token_embd.weight").type, DType::q8_0);
  EXPECT_EQ(b.tensor("blk.0.attn_norm.weight").type, DType::f32);
}

TEST(MakeModel, ProgressBarWhenForced) {
  const fs::path out = tmp_dir() / "progress.gguf";
  const auto r = omni_cli("make-model --arch qwen3 -o '" + out.string() + "'");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.find("100%"), std::string::npos) << "no bar when stderr is not a terminal";
  const auto forced = omni_cli("make-model --arch qwen3 -o '" + out.string() + "'", "OMNI_PROGRESS=1 ");
  ASSERT_EQ(forced.status, 0) << forced.output;
  EXPECT_NE(forced.output.find("make-model ["), std::string::npos) << forced.output;
  EXPECT_NE(forced.output.find("100%"), std::string::npos) << forced.output;
}

TEST(MakeModel, EveryTypeWritesALoadableModelWithSaneWeights) {
  // Rows of 256 so every K type applies; the weights' RMS must match the 1/sqrt(n_in) scale.
  const std::map<std::string, std::string> q_type = {
      {"f32", "f32"},   {"f16", "f16"},   {"bf16", "bf16"}, {"q8_0", "q8_0"}, {"q4_0", "q4_0"},
      {"q4_1", "q4_1"}, {"q5_0", "q5_0"}, {"q5_1", "q5_1"}, {"q4_k", "q4_k"}, {"q5_k", "q5_k"},
      {"q6_k", "q6_k"}, {"q4_k_m", "q4_k"}, {"q5_k_m", "q5_k"}};
  for (const auto& [type, expect] : q_type) {
    SCOPED_TRACE(type);
    const fs::path out = tmp_dir() / ("type-" + type + ".gguf");
    const auto r = omni_cli("make-model --arch llama --dims n_embd=256,n_ff=256,n_layer=1,n_vocab=300 --type " + type +
                            " -o '" + out.string() + "'");
    ASSERT_EQ(r.status, 0) << r.output;
    gguf::File f = gguf::File::open(out.string());
    const auto& q = f.tensor("blk.0.attn_q.weight");
    EXPECT_EQ(dtype_name(q.type), expect);
    const auto w = dequantize(q);
    double s2 = 0;
    for (float x : w) s2 += double(x) * x;
    const double rms = std::sqrt(s2 / double(w.size()));
    EXPECT_NEAR(rms, 1.0 / 16.0, 0.01);
    EXPECT_EQ(f.tensor("blk.0.ffn_norm.weight").type, DType::f32);
  }
}
