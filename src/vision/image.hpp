// Image input: decode JPEG, PNG, BMP, GIF (first frame) via stb_image and WebP via libwebp into
// 8-bit RGB, apply the EXIF orientation of JPEGs, and enforce byte and pixel limits.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace omni::vision {

struct Image {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;  // [height][width][3], row-major, interleaved RGB

  uint8_t at(int x, int y, int c) const { return rgb[(size_t(y) * width + x) * 3 + c]; }
};

struct ImageLimits {
  size_t max_bytes = 64u << 20;       // encoded size
  int64_t max_pixels = 50'000'000;     // width * height after decoding
};

// Decodes an encoded image (format sniffed from its bytes). Throws omni::Error: invalid_file for
// corrupt/truncated data, unsupported for unknown formats, too_large past the limits.
Image decode_image(const uint8_t* data, size_t size, const ImageLimits& limits = {}, const std::string& name = "image");
Image load_image(const std::string& path, const ImageLimits& limits = {});
// Accepts "data:image/...;base64,..." URLs (the OpenAI image_url form).
Image decode_data_url(const std::string& url, const ImageLimits& limits = {});

// 64-bit FNV-1a hash of the decoded pixels and size (the key of the image-embedding cache).
uint64_t image_hash(const Image& img);

// Reads the EXIF orientation (1..8) of a JPEG; 1 when absent or not a JPEG.
int jpeg_exif_orientation(const uint8_t* data, size_t size);
Image apply_orientation(const Image& img, int orientation);

}  // namespace omni::vision
