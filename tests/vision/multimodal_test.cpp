// End to end with random models: an image + prompt gives the expected number of image rows in the
// right place, generation runs over them, the encoder cache is hit on the second turn, and
// mismatched widths or marker counts are clear errors.
#include <gtest/gtest.h>

#include <filesystem>

#include "models/llm_random.hpp"
#include "omni/error.hpp"
#include "runtime/multimodal.hpp"
#include "runtime/session.hpp"
#include "temp_dir.hpp"

using namespace omni;

namespace {

std::string make_text_model(int64_t n_embd, const std::string& name) {
  const std::string path = omni::test::vision_temp_path("mm_" + name + ".gguf");
  models::RandomLlmOptions o;
  o.arch = "qwen2";
  o.shape = models::parse_llm_dims("n_embd=" + std::to_string(n_embd) + ",n_layer=2,n_head=4,n_head_kv=2,n_ff=128,n_vocab=600");
  o.seed = 11;
  ThreadPool pool(2);
  models::write_random_llm(path, o, pool);
  return path;
}

vision::Image noise(int w, int h, uint32_t seed) {
  vision::Image img{w, h, std::vector<uint8_t>(size_t(w) * h * 3)};
  for (auto& b : img.rgb) b = uint8_t((seed = seed * 1664525u + 1013904223u) >> 24);
  return img;
}

}  // namespace

TEST(Multimodal, ImageRowsGenerationAndCache) {
  const std::string path = make_text_model(96, "w96");
  auto model = runtime::Model::load(path);
  std::shared_ptr<const models::VisionModel> mm =
      models::VisionModel::load(std::string(OMNI_TEST_DATA) + "/vision/mini-mlp.gguf");
  runtime::VisionContext vision(mm, *model);
  runtime::Session session(model);

  const std::string before = "USER: ";
  const std::string prompt = before + models::kImageMarker + "\nWhat is in the picture? ASSISTANT:";
  const auto image = noise(100, 80, 5);
  const auto mixed = runtime::build_mixed_prompt(*model, vision, session.pool(), prompt, {image}, false);
  // LLaVA-style tower, 48 px / 8 px patches: 36 rows, no marker tokens, right after "USER: ".
  EXPECT_EQ(mixed.n_image_rows, 36);
  ASSERT_EQ(mixed.image_row_starts.size(), 1u);
  const auto prefix = model->tokenizer().encode(before, false, true);
  EXPECT_EQ(mixed.image_row_starts[0], int(prefix.size()));
  for (int i = 0; i < int(mixed.tokens.size()); ++i) {
    const bool in_image = i >= mixed.image_row_starts[0] && i < mixed.image_row_starts[0] + 36;
    EXPECT_EQ(mixed.tokens[size_t(i)] == runtime::Session::kEmbeddingInput, in_image) << i;
  }
  EXPECT_EQ(mixed.embd.size(), size_t(36 * 96));

  const float* logits = session.eval_mixed(mixed.tokens, mixed.embd.data());
  ASSERT_NE(logits, nullptr);
  EXPECT_EQ(session.n_past(), int(mixed.tokens.size()));
  for (int v = 0; v < model->n_vocab(); ++v) ASSERT_TRUE(std::isfinite(logits[v]));
  runtime::SamplingParams sp;
  sp.temperature = 0;
  sp.max_tokens = 4;
  const auto result = session.generate({}, sp);
  EXPECT_GT(result.tokens.size(), 0u);
  EXPECT_EQ(vision.cache_misses(), 1u);

  // Second turn with the same picture: served from the cache, identical rows.
  const auto again = runtime::build_mixed_prompt(*model, vision, session.pool(), prompt, {image}, false);
  EXPECT_EQ(vision.cache_hits(), 1u);
  EXPECT_EQ(again.embd, mixed.embd);

  // Marker / image count mismatch.
  EXPECT_THROW(runtime::build_mixed_prompt(*model, vision, session.pool(), "no marker here", {image}, false), Error);
  std::filesystem::remove(path);
}

TEST(Multimodal, RefusesMmprojOfAnotherWidth) {
  const std::string path = make_text_model(64, "w64");
  auto model = runtime::Model::load(path);
  std::shared_ptr<const models::VisionModel> mm =
      models::VisionModel::load(std::string(OMNI_TEST_DATA) + "/vision/mini-idefics3.gguf");
  EXPECT_THROW(runtime::VisionContext(mm, *model), Error);
  std::filesystem::remove(path);
}
