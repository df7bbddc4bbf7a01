// Screen grounding: an image given with an utterance reaches tier 1 — as an OpenAI image_url part
// for remote backends, and as vision-projector embedding rows in the local engine's prompt — and
// the constrained output is still a valid catalog action.
#include <gtest/gtest.h>

#include <filesystem>

#include "agent/catalog.hpp"
#include "agent/local_tier1.hpp"
#include "agent/tier1.hpp"
#include "models/llm_random.hpp"
#include "models/mmproj.hpp"
#include "omni/error.hpp"
#include "runtime/grammar/schema_validate.hpp"
#include "runtime/model.hpp"

using namespace omni;
using nlohmann::json;

namespace {
const std::string kImage = std::string(OMNI_TEST_DATA) + "/vision/noise-48.png";
}

TEST(Grounding, ImageBecomesAnImageUrlPart) {
  const auto catalog = agent::Catalog::demo();
  const std::string url = agent::image_data_url(kImage);
  EXPECT_EQ(url.rfind("data:image/png;base64,iVBORw0KGgo", 0), 0u);
  const json messages = agent::build_tier1_messages(catalog, "share this table with Li", url);
  const json& content = messages.back()["content"];
  ASSERT_TRUE(content.is_array());
  EXPECT_EQ(content[0]["type"], "image_url");
  EXPECT_EQ(content[0]["image_url"]["url"], url);
  EXPECT_EQ(content[1]["text"], "share this table with Li");
  EXPECT_TRUE(agent::build_tier1_messages(catalog, "lights on").back()["content"].is_string());
  EXPECT_THROW(agent::image_data_url("/no/such/image.png"), Error);
}

TEST(Grounding, LocalModelSeesTheImageAndStillEmitsAValidAction) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("omni_grounding_" + std::to_string(::getpid()) + ".gguf")).string();
  models::RandomLlmOptions o;
  o.arch = "qwen2";
  o.shape = models::parse_llm_dims("n_embd=96,n_layer=1,n_head=4,n_head_kv=2,n_ff=128,n_vocab=600");
  ThreadPool pool(2);
  models::write_random_llm(path, o, pool);
  auto model = runtime::Model::load(path);
  const auto catalog = agent::Catalog::demo();
  const json schema = catalog.union_schema();

  agent::LocalTier1 blind(model, 48, 2);
  agent::LocalTier1 seeing(model, 48, 2);
  seeing.set_vision(models::VisionModel::load(std::string(OMNI_TEST_DATA) + "/vision/mini-mlp.gguf"));
  const json with_image = agent::build_tier1_messages(catalog, "share this table with Li", agent::image_data_url(kImage));
  const json text_only = agent::build_tier1_messages(catalog, "share this table with Li");

  const auto plain = seeing.generate(text_only, schema, 1);
  const auto grounded = seeing.generate(with_image, schema, 1);
  // The LLaVA-style test tower gives 36 rows; the marker line adds a token or two.
  const int extra = grounded.usage["prompt_tokens"].get<int>() - plain.usage["prompt_tokens"].get<int>();
  EXPECT_GE(extra, 36);
  EXPECT_LE(extra, 40);
  for (const auto* out : {&plain, &grounded}) {
    const json action = json::parse(out->text);
    EXPECT_EQ(runtime::grammar::validate_json(schema, action), "") << out->text;
  }
  // Without a projector the image is noted in text, and the output is still valid.
  const auto noted = blind.generate(with_image, schema, 1);
  EXPECT_EQ(runtime::grammar::validate_json(schema, json::parse(noted.text)), "") << noted.text;
  std::filesystem::remove(path);
}
