// Image preprocessing: sizes and token counts hand-computed from the spec's rules (Qwen smart
// resize with min/max pixels, SmolVLM tiles, LLaVA letterbox), resampling properties, the decoder
// layout of image markers and Qwen's M-RoPE positions, and bad images.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "models/mmproj.hpp"
#include "models/mmproj_prompt.hpp"
#include "models/mmproj_random.hpp"
#include "omni/error.hpp"
#include "vision/preprocess.hpp"
#include "temp_dir.hpp"

using namespace omni;
using namespace omni::vision;

namespace {

Image solid(int w, int h, uint8_t r, uint8_t g, uint8_t b) {
  Image img{w, h, std::vector<uint8_t>(size_t(w) * h * 3)};
  for (size_t p = 0; p < size_t(w) * h; ++p) { img.rgb[p * 3] = r; img.rgb[p * 3 + 1] = g; img.rgb[p * 3 + 2] = b; }
  return img;
}

std::string tmp_path(const std::string& name) {
  return omni::test::vision_temp_path("preprocess_" + name);
}

}  // namespace

TEST(QwenSmartResize, HandComputedSizes) {
  const int64_t min_px = 8 * 784, max_px = 4096 * 784;
  auto s = qwen_smart_size(1024, 768, 28, min_px, max_px);  // the spec's example
  EXPECT_EQ(s.width, 1036);
  EXPECT_EQ(s.height, 756);
  EXPECT_EQ((s.width / 28) * (s.height / 28), 999);
  s = qwen_smart_size(20, 20, 28, min_px, max_px);  // below min_pixels: scaled up
  EXPECT_EQ(s.width, 84);
  EXPECT_EQ(s.height, 84);
  s = qwen_smart_size(4000, 3000, 28, min_px, max_px);  // above max_pixels: scaled down
  EXPECT_EQ(s.width, 2044);
  EXPECT_EQ(s.height, 1540);
  EXPECT_LE(int64_t(s.width) * s.height, max_px);
  s = qwen_smart_size(168, 112, 28, min_px, max_px);  // already multiples of 28
  EXPECT_EQ(s.width, 168);
  EXPECT_EQ(s.height, 112);
}

TEST(QwenSmartResize, PadsWithBlackBarsCentred) {
  // 1024x768 -> 1036x756 canvas; content 1008x756 placed at x = 14.
  const Image out = resize_fit_pad(solid(1024, 768, 255, 255, 255), 1036, 756, ResizeAlgo::bilinear, {0, 0, 0});
  ASSERT_EQ(out.width, 1036);
  ASSERT_EQ(out.height, 756);
  for (int x : {0, 13, 1022, 1035}) EXPECT_EQ(out.at(x, 300, 0), 0) << x;
  for (int x : {14, 500, 1021}) EXPECT_EQ(out.at(x, 300, 0), 255) << x;
}

TEST(LlavaLetterbox, PadColourAndPlacement) {
  // 100x50 into 48x48: scale 0.48 -> 48x24 content at y = 12, CLIP-mean grey elsewhere.
  const Image out = resize_fit_pad(solid(100, 50, 10, 20, 30), 48, 48, ResizeAlgo::bicubic, {122, 116, 104});
  EXPECT_EQ(out.at(5, 0, 0), 122);
  EXPECT_EQ(out.at(5, 11, 1), 116);
  EXPECT_EQ(out.at(5, 36, 2), 104);
  EXPECT_EQ(out.at(5, 12, 0), 10);
  EXPECT_EQ(out.at(47, 35, 2), 30);
}

TEST(Resampling, ConstantStaysConstantAndRampsStayLinear) {
  for (auto algo : {ResizeAlgo::bilinear, ResizeAlgo::bicubic}) {
    const Image c = resize(solid(37, 23, 77, 78, 79), 64, 50, algo);
    for (size_t i = 0; i < c.rgb.size(); i += 3) ASSERT_EQ(c.rgb[i], 77);
  }
  // Horizontal ramp v(x) = 2x on 100 pixels, shrunk to 40: bilinear samples src = j * 99 / 40.
  Image ramp{100, 3, std::vector<uint8_t>(300 * 3)};
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 100; ++x)
      for (int c = 0; c < 3; ++c) ramp.rgb[(size_t(y) * 100 + x) * 3 + c] = uint8_t(2 * x);
  const Image bl = resize_bilinear(ramp, 40, 3);
  for (int j = 0; j < 40; ++j) EXPECT_NEAR(bl.at(j, 1, 0), int(2.0 * j * 99 / 40), 1) << j;
  // Bicubic samples floor(j * 100/40) + frac; a cubic reproduces a linear ramp away from the edges.
  const Image bc = resize_bicubic(ramp, 40, 3);
  for (int j = 1; j < 38; ++j) EXPECT_NEAR(bc.at(j, 1, 0), 2.0 * j * 100 / 40, 1.0) << j;
}

TEST(Normalize, PlanarLayoutAndValues) {
  Image img = solid(2, 1, 255, 0, 51);
  const auto px = normalize(img, {0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f});
  ASSERT_EQ(px.planar.size(), 6u);
  EXPECT_FLOAT_EQ(px.planar[0], 1.0f);   // R plane
  EXPECT_FLOAT_EQ(px.planar[2], -1.0f);  // G plane
  EXPECT_FLOAT_EQ(px.planar[4], -0.6f);  // B plane: (0.2 - 0.5) / 0.5
}

TEST(Idefics3Tiles, RefinedSizeGridAndTokenCount) {
  // The spec's example: 1000x750, S = 512, longest edge 2048 -> 2048x1536, a 4x3 grid, 13 x 64 rows.
  const Size r = idefics3_refined_size(1000, 750, 512, 2048);
  EXPECT_EQ(r.width, 2048);
  EXPECT_EQ(r.height, 1536);

  // End to end on a tiny SmolVLM-style tower with S = 64, P = 8, s = 2, longest edge 256.
  models::MmprojShape shape = models::mmproj_shape("smolvlm", "tiny");
  shape.preproc_image_size = 256;
  const std::string path = tmp_path("tiles.gguf");
  models::write_random_mmproj(path, shape, DType::f32, 3);
  auto m = models::VisionModel::load(path);
  const auto input = m->preprocess(solid(1000, 750, 90, 120, 200));
  EXPECT_EQ(input.tiles_x, 4);  // 1000x750 * 0.256 -> 256x192 -> 4x3 tiles of 64
  EXPECT_EQ(input.tiles_y, 3);
  ASSERT_EQ(input.images.size(), 13u);
  for (const auto& im : input.images) {
    EXPECT_EQ(im.width, 64);
    EXPECT_EQ(im.height, 64);
  }
  ThreadPool pool(2);
  const auto emb = models::embed_image(*m, pool, input);
  EXPECT_EQ(emb.n_tokens, 13 * 16);  // (64/8)^2 / 2^2 = 16 per image
  EXPECT_EQ(emb.data.size(), size_t(13 * 16 * 96));

  // Marker layout: tiles row by row with "\n" between rows, then the global image last.
  const auto pieces = models::image_prompt_pieces(*m, input);
  std::string layout;
  for (const auto& p : pieces) layout += p.is_image() ? "[" + std::to_string(p.image_index) + "]" : p.text;
  EXPECT_EQ(layout.substr(0, 50), "<fake_token_around_image><row_1_col_1>[1]<fake_tok");
  EXPECT_NE(layout.find("<row_1_col_4>[4]\n<fake_token_around_image><row_2_col_1>[5]"), std::string::npos);
  EXPECT_NE(layout.find("<row_3_col_4>[12]\n\n<fake_token_around_image><global-img>[0]<fake_token_around_image>"),
            std::string::npos);
  std::filesystem::remove(path);
}

TEST(QwenPrompt, MarkersAndMropePositions) {
  const auto p = models::mrope_image_positions(5, 3, 2);  // nx = 3, ny = 2 starting at position 5
  const std::vector<int32_t> t = {5, 5, 5, 5, 5, 5}, h = {5, 5, 5, 6, 6, 6}, w = {5, 6, 7, 5, 6, 7};
  EXPECT_EQ(p.t, t);
  EXPECT_EQ(p.h, h);
  EXPECT_EQ(p.w, w);
  EXPECT_EQ(p.next_pos, 8);  // text resumes at pos0 + max(nx, ny)
  const auto tall = models::mrope_image_positions(0, 2, 4);
  EXPECT_EQ(tall.next_pos, 4);
  EXPECT_EQ(tall.h.back(), 3);
  EXPECT_EQ(tall.w.back(), 1);
  EXPECT_THROW(models::mrope_image_positions(0, 0, 3), Error);

  auto m = models::VisionModel::load(std::string(OMNI_TEST_DATA) + "/vision/mini-qwen25vl.gguf");
  const auto input = m->preprocess(solid(168, 112, 1, 2, 3));
  const auto pieces = models::image_prompt_pieces(*m, input);
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(pieces[0].text, "<|vision_start|>");
  EXPECT_EQ(pieces[1].image_index, 0);
  EXPECT_EQ(pieces[2].text, "<|vision_end|>");
  EXPECT_EQ(m->tokens_for(168, 112), 24);
}

TEST(MmprojCompat, TextWidthMismatchIsAClearError) {
  auto m = models::VisionModel::load(std::string(OMNI_TEST_DATA) + "/vision/mini-mlp.gguf");
  EXPECT_NO_THROW(models::check_text_width(*m, 96));
  try {
    models::check_text_width(*m, 64);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("96"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("64"), std::string::npos);
  }
}

namespace {
uint32_t crc32(const uint8_t* d, size_t n) {
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; ++i) {
    c ^= d[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
  }
  return ~c;
}
// A PNG signature and IHDR claiming width x height, then an empty IDAT and IEND.
std::vector<uint8_t> png_header_only(uint32_t width, uint32_t height) {
  std::vector<uint8_t> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  auto chunk = [&](const char* type, std::vector<uint8_t> data) {
    const uint32_t n = uint32_t(data.size());
    for (int s = 24; s >= 0; s -= 8) out.push_back(uint8_t(n >> s));
    std::vector<uint8_t> td(type, type + 4);
    td.insert(td.end(), data.begin(), data.end());
    out.insert(out.end(), td.begin(), td.end());
    const uint32_t c = crc32(td.data(), td.size());
    for (int s = 24; s >= 0; s -= 8) out.push_back(uint8_t(c >> s));
  };
  std::vector<uint8_t> ihdr;
  for (uint32_t v : {width, height})
    for (int s = 24; s >= 0; s -= 8) ihdr.push_back(uint8_t(v >> s));
  ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});
  chunk("IHDR", ihdr);
  chunk("IDAT", {});
  chunk("IEND", {});
  return out;
}
ErrorCode code_of(const std::function<void()>& f) {
  try { f(); } catch (const Error& e) { return e.code(); }
  return ErrorCode::internal;
}
}  // namespace

TEST(BadImages, ClearErrors) {
  std::ifstream f(std::string(OMNI_TEST_DATA) + "/vision/noise-64.png", std::ios::binary);
  std::vector<uint8_t> png((std::istreambuf_iterator<char>(f)), {});
  ASSERT_GT(png.size(), 1000u);
  const std::vector<uint8_t> truncated(png.begin(), png.begin() + long(png.size() / 2));
  EXPECT_EQ(code_of([&] { decode_image(truncated.data(), truncated.size()); }), ErrorCode::invalid_file);
  EXPECT_EQ(code_of([&] { decode_image(png.data(), 0); }), ErrorCode::invalid_file);
  const uint8_t junk[] = "definitely not an image";
  EXPECT_EQ(code_of([&] { decode_image(junk, sizeof junk); }), ErrorCode::unsupported);
  const auto zero = png_header_only(0, 10);
  EXPECT_EQ(code_of([&] { decode_image(zero.data(), zero.size()); }), ErrorCode::invalid_file);
  const auto huge = png_header_only(10000, 10000);  // 100 megapixels: refused before decoding
  EXPECT_EQ(code_of([&] { decode_image(huge.data(), huge.size()); }), ErrorCode::too_large);
  EXPECT_EQ(code_of([&] { decode_data_url("data:image/png;base64,!!!!"); }), ErrorCode::invalid_argument);
  EXPECT_EQ(code_of([&] { load_image("/nonexistent/image.png"); }), ErrorCode::not_found);
  // A good one still decodes after all that.
  const Image ok = decode_image(png.data(), png.size());
  EXPECT_EQ(ok.width, 64);
  EXPECT_EQ(ok.height, 64);
}

TEST(Exif, OrientationSixRotatesClockwise) {
  Image img{2, 1, {10, 10, 10, 200, 200, 200}};  // left dark, right bright
  const Image r = apply_orientation(img, 6);
  ASSERT_EQ(r.width, 1);
  ASSERT_EQ(r.height, 2);
  EXPECT_EQ(r.at(0, 0, 0), 10);  // the left column becomes the top row after a clockwise turn
  EXPECT_EQ(r.at(0, 1, 0), 200);
}
