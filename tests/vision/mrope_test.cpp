// The decoder's multimodal RoPE (arch qwen2vl): text-only it is exactly qwen2; each rotation pair
// takes its position from the plane of its section (checked against plain RoPE at that position);
// and a prompt with a Qwen image gets the hand-computed (t, h, w) table, text resuming at
// pos0 + max(nx, ny).
#include <gtest/gtest.h>

#include <filesystem>

#include "formats/gguf.hpp"
#include "models/llm_random.hpp"
#include "runtime/multimodal.hpp"
#include "runtime/session.hpp"
#include "temp_dir.hpp"

using namespace omni;

namespace {

std::string tmp(const std::string& name) {
  return omni::test::vision_temp_path("mrope_" + name);
}

// A random qwen2 model (96 wide, head_dim 24: 12 rotation pairs).
std::string make_qwen2() {
  const std::string path = tmp("qwen2.gguf");
  models::RandomLlmOptions o;
  o.arch = "qwen2";
  o.shape = models::parse_llm_dims("n_embd=96,n_layer=2,n_head=4,n_head_kv=2,n_ff=128,n_vocab=600");
  o.seed = 5;
  ThreadPool pool(2);
  models::write_random_llm(path, o, pool);
  return path;
}

// The same weights as arch qwen2vl with the given M-RoPE sections.
std::string as_qwen2vl(const std::string& qwen2_path, std::vector<int32_t> sections, const std::string& name) {
  const auto src = gguf::File::open(qwen2_path);
  gguf::Writer w;
  for (const auto& [key, value] : src.metadata()) {
    std::string k = key;
    if (k.rfind("qwen2.", 0) == 0) k = "qwen2vl." + k.substr(6);
    w.set(k, value);
  }
  w.set("general.architecture", gguf::Value::of_string("qwen2vl"));
  w.set("qwen2vl.rope.dimension_sections", gguf::Value::of_i32s(sections));
  for (const auto& t : src.tensors())
    w.add_tensor(t.name, t.type, std::vector<int64_t>(t.ne, t.ne + std::max(1, t.n_dims)), t.data, t.n_bytes);
  const std::string path = tmp(name);
  w.write(path);
  return path;
}

std::vector<float> logits_1d(const std::string& path, const std::vector<int32_t>& tokens, const std::vector<int32_t>& pos) {
  runtime::Session s(runtime::Model::load(path));
  const float* l = s.eval_mixed(tokens, nullptr, pos);
  return std::vector<float>(l, l + s.model().n_vocab());
}

std::vector<float> logits_planes(const std::string& path, const std::vector<int32_t>& tokens,
                                 const std::vector<int32_t>& planes) {
  runtime::Session s(runtime::Model::load(path));
  const float* l = s.eval_mixed(tokens, nullptr, planes);
  return std::vector<float>(l, l + s.model().n_vocab());
}

}  // namespace

TEST(Mrope, TextOnlyEqualsQwen2AndSectionsPickTheirPlane) {
  const std::string q2 = make_qwen2();
  const std::string vl = as_qwen2vl(q2, {4, 4, 4, 0}, "vl.gguf");
  const std::vector<int32_t> tokens = {1, 50, 100, 200, 300, 7};
  const std::vector<int32_t> seq = {0, 1, 2, 3, 4, 5};
  // Text only (t = h = w): identical to qwen2, with or without explicit planes.
  EXPECT_EQ(logits_1d(vl, tokens, {}), logits_1d(q2, tokens, {}));
  std::vector<int32_t> same;
  for (int k = 0; k < 3; ++k) same.insert(same.end(), seq.begin(), seq.end());
  EXPECT_EQ(logits_planes(vl, tokens, same), logits_1d(q2, tokens, seq));

  // One section holding every pair: the model rotates by that plane alone, i.e. plain RoPE there.
  const std::vector<int32_t> t = {0, 1, 2, 3, 4, 5}, h = {0, 3, 3, 7, 9, 9}, w = {2, 2, 5, 5, 6, 11};
  std::vector<int32_t> planes = t;
  planes.insert(planes.end(), h.begin(), h.end());
  planes.insert(planes.end(), w.begin(), w.end());
  const std::string all_h = as_qwen2vl(q2, {0, 12, 0, 0}, "h.gguf"), all_w = as_qwen2vl(q2, {0, 0, 12, 0}, "w.gguf");
  EXPECT_EQ(logits_planes(all_h, tokens, planes), logits_1d(q2, tokens, h));
  EXPECT_EQ(logits_planes(all_w, tokens, planes), logits_1d(q2, tokens, w));
  // Mixed sections really mix: not equal to any single plane.
  const auto mixed = logits_planes(vl, tokens, planes);
  EXPECT_NE(mixed, logits_1d(q2, tokens, t));
  EXPECT_NE(mixed, logits_1d(q2, tokens, h));
  for (const auto& p : {q2, vl, all_h, all_w}) std::filesystem::remove(p);
}

TEST(Mrope, ImagePositionsAndResumingText) {
  const std::string q2 = make_qwen2();
  const std::string vl = as_qwen2vl(q2, {4, 4, 4, 0}, "vl2.gguf");
  auto model = runtime::Model::load(vl);
  std::shared_ptr<const models::VisionModel> mm =
      models::VisionModel::load(std::string(OMNI_TEST_DATA) + "/vision/mini-qwen25vl.gguf");
  runtime::VisionContext vision(mm, *model);
  runtime::Session session(model);
  vision::Image img{168, 112, std::vector<uint8_t>(168 * 112 * 3, 128)};  // 6 x 4 merged tokens
  const auto mixed = runtime::build_mixed_prompt(*model, vision, session.pool(), "ab<__media__>cd", {img}, false);
  ASSERT_EQ(mixed.chunks.size(), 1u);
  const int k = mixed.chunks[0].start, n = int(mixed.tokens.size());
  ASSERT_EQ(mixed.chunks[0].n_rows, 24);
  const auto planes = runtime::mixed_positions(*model, mixed, 0);
  ASSERT_EQ(planes.size(), size_t(3 * n));
  auto T = [&](int i) { return planes[size_t(i)]; };
  auto H = [&](int i) { return planes[size_t(n + i)]; };
  auto W = [&](int i) { return planes[size_t(2 * n + i)]; };
  for (int i = 0; i < k; ++i) EXPECT_TRUE(T(i) == i && H(i) == i && W(i) == i) << i;
  for (int r = 0; r < 24; ++r) {  // row r / 6, column r % 6
    EXPECT_EQ(T(k + r), k) << r;
    EXPECT_EQ(H(k + r), k + r / 6) << r;
    EXPECT_EQ(W(k + r), k + r % 6) << r;
  }
  for (int i = k + 24; i < n; ++i) {  // text resumes at k + max(6, 4)
    EXPECT_EQ(T(i), k + 6 + (i - k - 24)) << i;
    EXPECT_EQ(H(i), T(i));
    EXPECT_EQ(W(i), T(i));
  }
  session.eval_mixed(mixed.tokens, mixed.embd.data(), planes);
  EXPECT_EQ(session.positions()[size_t(k + 23)], k + 5);  // max(t, h, w) of the last image row
  const int32_t before = session.positions().back();
  session.eval(std::vector<int32_t>{42});
  EXPECT_EQ(session.positions().back(), before + 1);
  // A plain qwen2 model gets no planes (consecutive positions).
  EXPECT_TRUE(runtime::mixed_positions(*runtime::Model::load(q2), mixed, 0).empty());
  std::filesystem::remove(q2);
  std::filesystem::remove(vl);
}
