// Every input format decodes to the pixels that were encoded: PNG, BMP and lossless WebP exactly,
// JPEG within compression error, a hand-made GIF; a JPEG's EXIF orientation is applied.
#include <gtest/gtest.h>

#include <stb_image_write.h>
#include <webp/encode.h>

#include <cstring>

#include "vision/image.hpp"

using namespace omni::vision;

namespace {

Image gradient(int w, int h) {
  Image img{w, h, std::vector<uint8_t>(size_t(w) * h * 3)};
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &img.rgb[(size_t(y) * w + x) * 3];
      p[0] = uint8_t(x * 255 / (w - 1));
      p[1] = uint8_t(y * 255 / (h - 1));
      p[2] = uint8_t((x * 7 + y * 13) & 255);
    }
  return img;
}

void append(void* ctx, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(ctx);
  out->insert(out->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
}

}  // namespace

TEST(ImageFormats, LosslessFormatsDecodeExactly) {
  const Image src = gradient(20, 10);
  std::vector<uint8_t> png, bmp;
  ASSERT_TRUE(stbi_write_png_to_func(append, &png, src.width, src.height, 3, src.rgb.data(), src.width * 3));
  ASSERT_TRUE(stbi_write_bmp_to_func(append, &bmp, src.width, src.height, 3, src.rgb.data()));
  uint8_t* webp_data = nullptr;
  const size_t webp_size = WebPEncodeLosslessRGB(src.rgb.data(), src.width, src.height, src.width * 3, &webp_data);
  ASSERT_GT(webp_size, 0u);
  const std::vector<uint8_t> webp(webp_data, webp_data + webp_size);
  WebPFree(webp_data);
  for (const std::vector<uint8_t>* bytes : std::initializer_list<const std::vector<uint8_t>*>{&png, &bmp, &webp}) {
    const Image got = decode_image(bytes->data(), bytes->size());
    EXPECT_EQ(got.width, 20);
    EXPECT_EQ(got.height, 10);
    EXPECT_EQ(got.rgb, src.rgb);
  }
}

TEST(ImageFormats, JpegWithinCompressionError) {
  const Image src = gradient(32, 16);
  std::vector<uint8_t> jpg;
  ASSERT_TRUE(stbi_write_jpg_to_func(append, &jpg, src.width, src.height, 3, src.rgb.data(), 100));
  const Image got = decode_image(jpg.data(), jpg.size());
  ASSERT_EQ(got.width, 32);
  ASSERT_EQ(got.height, 16);
  double err = 0;
  for (size_t i = 0; i < src.rgb.size(); ++i) err += std::abs(int(src.rgb[i]) - int(got.rgb[i]));
  EXPECT_LT(err / double(src.rgb.size()), 4.0);
}

TEST(ImageFormats, GifFirstFrame) {
  // A 1x1 GIF89a whose only pixel is colour 0 of the global table: red.
  const uint8_t gif[] = {'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0x80, 0, 0, 0xff, 0, 0, 0, 0, 0,
                         ',', 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 'D', 1, 0, ';'};
  const Image got = decode_image(gif, sizeof gif);
  ASSERT_EQ(got.width, 1);
  ASSERT_EQ(got.height, 1);
  EXPECT_EQ(got.rgb, (std::vector<uint8_t>{255, 0, 0}));
}

TEST(ImageFormats, JpegExifOrientationIsApplied) {
  const Image src = gradient(32, 16);  // wide
  std::vector<uint8_t> jpg;
  ASSERT_TRUE(stbi_write_jpg_to_func(append, &jpg, src.width, src.height, 3, src.rgb.data(), 95));
  // APP1 "Exif\0\0" + little-endian TIFF header + one IFD entry: Orientation (0x0112) SHORT = 6.
  std::vector<uint8_t> exif = {'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 42, 0, 8, 0, 0, 0,
                               1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0};
  const size_t len = exif.size() + 2;
  std::vector<uint8_t> app1 = {0xff, 0xe1, uint8_t(len >> 8), uint8_t(len & 0xff)};
  app1.insert(app1.end(), exif.begin(), exif.end());
  jpg.insert(jpg.begin() + 2, app1.begin(), app1.end());  // right after SOI
  EXPECT_EQ(jpeg_exif_orientation(jpg.data(), jpg.size()), 6);
  const Image got = decode_image(jpg.data(), jpg.size());
  EXPECT_EQ(got.width, 16);  // rotated a quarter turn: now tall
  EXPECT_EQ(got.height, 32);
  // After a clockwise turn the source's left column (x = 0, red = 0) is the top row.
  EXPECT_LT(got.at(8, 0, 0), 30);
  EXPECT_GT(got.at(8, 31, 0), 220);
}
