// The vision commands through the built `omni` binary: make-model --arch mmproj, embed-image
// (embeddings and pixels as .npy), generate --mmproj --image, and their argument errors.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

#include "core/npy.hpp"
#include "temp_dir.hpp"

namespace {

struct Run {
  int status;
  std::string output;
};

Run run(const std::string& args) {
  const std::string cmd = std::string(OMNI_CLI) + " " + args + " 2>&1";
  Run r{-1, ""};
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string tmp(const std::string& name) {
  return omni::test::vision_temp_path("cli_" + name);
}

const std::string kData = OMNI_TEST_DATA;

}  // namespace

TEST(CliVision, MakeModelThenEmbedImage) {
  const std::string mm = tmp("mm.gguf"), out = tmp("e.npy"), px = tmp("p.npy");
  auto r = run("make-model --arch mmproj --projector smolvlm --shape tiny --type f32 -o " + mm);
  ASSERT_EQ(r.status, 0) << r.output;
  r = run("embed-image --mmproj " + mm + " --image " + kData + "/vision/noise-64.png --out " + out + " --pixels-out " + px);
  ASSERT_EQ(r.status, 0) << r.output;
  const auto e = omni::read_npy(out);
  ASSERT_EQ(e.shape.size(), 2u);
  EXPECT_EQ(e.shape[0], 16);  // (64/8)^2 / 2^2
  EXPECT_EQ(e.shape[1], 96);
  const auto p = omni::read_npy(px);
  EXPECT_EQ(p.shape, (std::vector<int64_t>{3, 64, 64}));
  for (float v : p.data) ASSERT_TRUE(v >= -1.0f && v <= 1.0f);  // mean/std 0.5: [-1, 1]
  std::filesystem::remove(mm);
  std::filesystem::remove(out);
  std::filesystem::remove(px);
}

TEST(CliVision, GenerateWithImage) {
  const std::string lm = tmp("lm.gguf");
  auto r = run("make-model --arch qwen2 --dims n_embd=96,n_layer=2,n_head=4,n_head_kv=2,n_ff=128,n_vocab=600 --type f32 -o " + lm);
  ASSERT_EQ(r.status, 0) << r.output;
  r = run("generate -m " + lm + " --mmproj " + kData + "/vision/mini-qwen25vl.gguf --image " + kData +
          "/vision/noise-168x112.png -p 'Describe the image.' -n 4 --temp 0 --chat");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("24 embedding rows"), std::string::npos) << r.output;
  r = run("generate -m " + lm + " --image " + kData + "/vision/noise-64.png -p hi");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("--image needs --mmproj"), std::string::npos) << r.output;
  std::filesystem::remove(lm);
  // A projector of another width (96) than the text model (64) is refused, naming both widths.
  const std::string lm64 = tmp("lm64.gguf");
  r = run("make-model --arch qwen2 --dims n_embd=64,n_layer=1,n_head=4,n_head_kv=2,n_ff=128,n_vocab=600 --type f32 -o " + lm64);
  ASSERT_EQ(r.status, 0) << r.output;
  r = run("generate -m " + lm64 + " --mmproj " + kData + "/vision/mini-idefics3.gguf --image " + kData + "/vision/noise-64.png -p hi");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("96"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("64"), std::string::npos) << r.output;
  std::filesystem::remove(lm64);
}

TEST(CliVision, ChatImageCommand) {
  const std::string lm = tmp("chat.gguf");
  auto r = run("make-model --arch qwen2 --dims n_embd=96,n_layer=1,n_head=4,n_head_kv=2,n_ff=128,n_vocab=600 --type f32 -o " + lm);
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string script = "printf '/image " + kData + "/vision/noise-168x112.png\\nwhat is this?\\nand this?\\n/image /no/such.png\\n/quit\\n'";
  const std::string cmd = script + " | " + std::string(OMNI_CLI) + " chat -m " + lm + " --mmproj " + kData +
                          "/vision/mini-qwen25vl.gguf -n 3 --temp 0 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  EXPECT_EQ(pclose(p), 0) << out;
  EXPECT_NE(out.find("image 168x112 attached"), std::string::npos) << out;
  EXPECT_NE(out.find("cannot open image '/no/such.png'"), std::string::npos) << out;
  r = run("chat -m " + lm + " --mmproj " + kData + "/vision/mini-qwen25vl.gguf < /dev/null");
  EXPECT_EQ(r.status, 0) << r.output;
  std::filesystem::remove(lm);
}
