// The three mmproj families against the float64 Hugging Face references in tests/data/vision:
// normalised pixels exactly, projected embeddings with cosine >= 0.9999 and max|d| <= 1e-2 max|ref|.
#include <gtest/gtest.h>

#include <cmath>

#include "core/npy.hpp"
#include "models/mmproj.hpp"
#include "omni/error.hpp"

using namespace omni;

namespace {

struct Case {
  const char* model;
  const char* image;
};

std::string data(const std::string& f) { return std::string(OMNI_TEST_DATA) + "/vision/" + f; }

class MmprojGolden : public ::testing::TestWithParam<Case> {};

TEST_P(MmprojGolden, PixelsAndEmbeddingsMatchReference) {
  const Case c = GetParam();
  auto model = models::VisionModel::load(data(std::string(c.model) + ".gguf"));
  const auto img = vision::load_image(data(c.image));
  const auto input = model->preprocess(img);
  ASSERT_EQ(input.images.size(), 1u) << "an S x S (or 28-multiple) image gives one pixel image";
  const auto& px = input.images[0];

  const NpyArray ref_px = read_npy(data(std::string(c.model) + ".pixels.npy"));
  ASSERT_EQ(ref_px.shape.size(), 3u);
  EXPECT_EQ(ref_px.shape[0], 3);
  EXPECT_EQ(ref_px.shape[1], px.height);
  EXPECT_EQ(ref_px.shape[2], px.width);
  ASSERT_EQ(ref_px.data.size(), px.planar.size());
  size_t mismatches = 0;
  for (size_t i = 0; i < px.planar.size(); ++i) {
    if (px.planar[i] != ref_px.data[i] && mismatches < 3) std::printf("pixel %zu: ours %.9g ref %.9g\n", i, px.planar[i], ref_px.data[i]);
    mismatches += px.planar[i] != ref_px.data[i];
  }
  EXPECT_EQ(mismatches, 0u) << "normalised pixels must match exactly";

  ThreadPool pool(2);
  const auto emb = model->encode(pool, px);
  const NpyArray ref = read_npy(data(std::string(c.model) + ".embd.npy"));
  ASSERT_EQ(ref.shape.size(), 2u);
  ASSERT_EQ(ref.shape[0], emb.n_tokens);
  ASSERT_EQ(ref.shape[1], model->hparams().n_embd_out);
  ASSERT_EQ(emb.data.size(), ref.data.size());
  double dot = 0, na = 0, nb = 0, max_ref = 0, max_diff = 0;
  for (size_t i = 0; i < ref.data.size(); ++i) {
    dot += double(emb.data[i]) * ref.data[i];
    na += double(emb.data[i]) * emb.data[i];
    nb += double(ref.data[i]) * ref.data[i];
    max_ref = std::max(max_ref, std::fabs(double(ref.data[i])));
    max_diff = std::max(max_diff, std::fabs(double(emb.data[i]) - ref.data[i]));
  }
  const double cosine = dot / std::sqrt(na * nb);
  RecordProperty("cosine", std::to_string(cosine));
  std::printf("%s: tokens %d, cosine %.8f, max|d| %.3g (max|ref| %.3g)\n", c.model, emb.n_tokens, cosine, max_diff, max_ref);
  EXPECT_GE(cosine, 0.9999);
  EXPECT_LE(max_diff, 1e-2 * max_ref);
}

INSTANTIATE_TEST_SUITE_P(Families, MmprojGolden,
                         ::testing::Values(Case{"mini-idefics3", "noise-64.png"}, Case{"mini-mlp", "noise-48.png"},
                                           Case{"mini-qwen25vl", "noise-168x112.png"}),
                         [](const auto& info) {
                           std::string n = info.param.model;
                           for (auto& ch : n) if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

// The towers split their work over the pool; 1, 2 and 3 threads must give the same embeddings
// (within float reassociation; in practice identical).
TEST_P(MmprojGolden, EmbeddingsAgreeAcrossThreadCounts) {
  const Case c = GetParam();
  auto model = models::VisionModel::load(data(std::string(c.model) + ".gguf"));
  const auto input = model->preprocess(vision::load_image(data(c.image)));
  ThreadPool p1(1), p2(2), p3(3);
  const auto e1 = model->encode(p1, input.images[0]);
  for (ThreadPool* pool : {&p2, &p3}) {
    const auto e = model->encode(*pool, input.images[0]);
    ASSERT_EQ(e.data.size(), e1.data.size());
    double max_ref = 0, max_diff = 0;
    for (size_t i = 0; i < e1.data.size(); ++i) {
      max_ref = std::max(max_ref, std::fabs(double(e1.data[i])));
      max_diff = std::max(max_diff, std::fabs(double(e.data[i]) - e1.data[i]));
    }
    EXPECT_LE(max_diff, 1e-5 * max_ref) << pool->n_threads() << " threads";
  }
}

TEST(MmprojLoad, RefusesTextModelAndMissingFile) {
  EXPECT_THROW(models::VisionModel::load(std::string(OMNI_TEST_DATA) + "/llm/mini-qwen2-f32.gguf"), Error);
  EXPECT_THROW(models::VisionModel::load(data("does-not-exist.gguf")), Error);
}

}  // namespace
