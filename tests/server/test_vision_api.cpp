// Images over the API: image_url parts of /v1/chat/completions go through the vision projector
// given with --mmproj (their embedding rows counted in usage), the pixel limit answers 413, and a
// server without a projector answers 503 naming the option.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/base64.hpp"
#include "api_server.hpp"
#include "http_client.hpp"
#include "models/llm_random.hpp"
#include "server/app.hpp"

using namespace omni;
using namespace omni::server;
using namespace omni::test;

namespace {

const std::string k_data = OMNI_TEST_DATA;


// A temporary file removed when it goes out of scope (here: when the test binary exits).
struct TempFile {
  explicit TempFile(std::string p) : path(std::move(p)) {}
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  std::string path;
};

// A 96-wide random text model, the width of the golden mmproj towers.
std::string write_text_model() {
  const std::string p =
      (std::filesystem::temp_directory_path() / ("omni_vision_api_" + std::to_string(::getpid()) + ".gguf")).string();
  models::RandomLlmOptions o;
  o.arch = "qwen2";
  o.shape = models::parse_llm_dims("n_embd=96,n_layer=1,n_head=4,n_head_kv=2,n_ff=128,n_vocab=600");
  ThreadPool pool(2);
  models::write_random_llm(p, o, pool);
  return p;
}

const std::string& text_model() {
  static const TempFile file(write_text_model());
  return file.path;
}

ServeConfig config(bool with_mmproj) {
  ServeConfig c;
  c.model = text_model();
  if (with_mmproj) c.mmproj = k_data + "/vision/mini-mlp.gguf";
  c.parallel = 1;
  c.ctx = 512;
  c.threads = 2;
  c.dry_run = true;
  return c;
}

std::string png_data_url() {
  std::ifstream in(k_data + "/vision/noise-48.png", std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return "data:image/png;base64," + base64_encode(os.str());
}

std::string chat_body(bool image) {
  Json content = Json::array();
  if (image) content.push_back({{"type", "image_url"}, {"image_url", {{"url", png_data_url()}}}});
  content.push_back({{"type", "text"}, {"text", "What is in this picture?"}});
  return Json{{"messages", Json::array({{{"role", "user"}, {"content", content}}})}, {"max_tokens", 3},
              {"temperature", 0}}
      .dump();
}

}  // namespace

TEST(VisionApi, ImagePartsBecomeEmbeddingRows) {
  ApiServer s(config(true));
  const auto text_only = http_request(s.server->port(), "POST", "/v1/chat/completions", chat_body(false));
  ASSERT_EQ(text_only.status, 200) << text_only.body;
  const auto with_image = http_request(s.server->port(), "POST", "/v1/chat/completions", chat_body(true));
  ASSERT_EQ(with_image.status, 200) << with_image.body;
  const int extra = with_image.json()["usage"]["prompt_tokens"].get<int>() - text_only.json()["usage"]["prompt_tokens"].get<int>();
  EXPECT_GE(extra, 36);  // 48 px / 8 px patches = 36 rows, plus the marker's newline
  EXPECT_LE(extra, 38);
  const auto health = http_request(s.server->port(), "GET", "/health");
  EXPECT_NE(health.body.find("vision"), std::string::npos) << health.body;
}

TEST(VisionApi, PixelLimitAndMissingProjector) {
  ServeConfig c = config(true);
  c.limits.max_image_pixels = 1000;  // the 48x48 test image has 2304
  ApiServer limited(c);
  const auto big = http_request(limited.server->port(), "POST", "/v1/chat/completions", chat_body(true));
  EXPECT_EQ(big.status, 413) << big.body;
  ApiServer blind(config(false));
  const auto r = http_request(blind.server->port(), "POST", "/v1/chat/completions", chat_body(true));
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_NE(r.body.find("--mmproj"), std::string::npos) << r.body;
  // Both still serve text.
  EXPECT_EQ(http_request(blind.server->port(), "POST", "/v1/chat/completions", chat_body(false)).status, 200);
}
