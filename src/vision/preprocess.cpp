// Resizing, padding, cropping and normalisation of images for the vision towers.
#include "vision/preprocess.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "omni/error.hpp"

namespace omni::vision {

static void check_target(int w, int h) {
  if (w <= 0 || h <= 0) fail(ErrorCode::invalid_argument, "resize target ", w, "x", h, " is empty");
}

Image resize_bilinear(const Image& img, int width, int height) {
  check_target(width, height);
  if (img.width == width && img.height == height) return img;
  Image out{width, height, std::vector<uint8_t>(size_t(width) * height * 3)};
  const float sx_ratio = float(img.width - 1) / float(width);
  const float sy_ratio = float(img.height - 1) / float(height);
  for (int y = 0; y < height; ++y) {
    const float py = y * sy_ratio;
    const int y0 = std::clamp(int(std::floor(py)), 0, std::max(0, img.height - 2));
    const int y1 = std::min(y0 + 1, img.height - 1);
    const float fy = py - y0;
    for (int x = 0; x < width; ++x) {
      const float px = x * sx_ratio;
      const int x0 = std::clamp(int(std::floor(px)), 0, std::max(0, img.width - 2));
      const int x1 = std::min(x0 + 1, img.width - 1);
      const float fx = px - x0;
      for (int c = 0; c < 3; ++c) {
        const float top = img.at(x0, y0, c) + fx * (img.at(x1, y0, c) - img.at(x0, y0, c));
        const float bot = img.at(x0, y1, c) + fx * (img.at(x1, y1, c) - img.at(x0, y1, c));
        const float v = top + fy * (bot - top);
        out.rgb[(size_t(y) * width + x) * 3 + c] = uint8_t(std::clamp(v, 0.0f, 255.0f));
      }
    }
  }
  return out;
}

// Lagrange cubic through p(-1), p(0), p(1), p(2) evaluated at d in [0, 1).
static float cubic(float pm1, float p0, float p1, float p2, float d) {
  const float a0 = p0;
  const float d0 = pm1 - p0, d2 = p1 - p0, d3 = p2 - p0;
  const float a1 = -d0 / 3.0f + d2 - d3 / 6.0f;
  const float a2 = d0 / 2.0f + d2 / 2.0f;
  const float a3 = -d0 / 6.0f - d2 / 2.0f + d3 / 6.0f;
  return a0 + a1 * d + a2 * d * d + a3 * d * d * d;
}

Image resize_bicubic(const Image& img, int width, int height) {
  check_target(width, height);
  if (img.width == width && img.height == height) return img;
  Image out{width, height, std::vector<uint8_t>(size_t(width) * height * 3)};
  const float tx = float(img.width) / width, ty = float(img.height) / height;
  for (int i = 0; i < height; ++i) {
    const int y = int(ty * i);
    const float dy = ty * i - y;
    for (int j = 0; j < width; ++j) {
      const int x = int(tx * j);
      const float dx = tx * j - x;
      for (int c = 0; c < 3; ++c) {
        float rows[4];
        for (int r = -1; r <= 2; ++r) {
          const int yy = std::clamp(y + r, 0, img.height - 1);
          auto px = [&](int o) { return float(img.at(std::clamp(x + o, 0, img.width - 1), yy, c)); };
          rows[r + 1] = cubic(px(-1), px(0), px(1), px(2), dx);
        }
        const float v = cubic(rows[0], rows[1], rows[2], rows[3], dy);
        out.rgb[(size_t(i) * width + j) * 3 + c] = uint8_t(std::clamp(std::lround(v), 0l, 255l));
      }
    }
  }
  return out;
}

Image resize(const Image& img, int width, int height, ResizeAlgo algo) {
  return algo == ResizeAlgo::bilinear ? resize_bilinear(img, width, height) : resize_bicubic(img, width, height);
}

Image resize_fit_pad(const Image& img, int width, int height, ResizeAlgo algo, std::array<uint8_t, 3> pad) {
  check_target(width, height);
  if (img.width == width && img.height == height) return img;
  const float scale = std::min(float(width) / img.width, float(height) / img.height);
  const int nw = std::min(int(std::ceil(img.width * scale)), width);
  const int nh = std::min(int(std::ceil(img.height * scale)), height);
  const Image inner = resize(img, std::max(1, nw), std::max(1, nh), algo);
  Image out{width, height, std::vector<uint8_t>(size_t(width) * height * 3)};
  for (size_t p = 0; p < size_t(width) * height; ++p)
    for (int c = 0; c < 3; ++c) out.rgb[p * 3 + c] = pad[c];
  const int ox = (width - inner.width) / 2, oy = (height - inner.height) / 2;
  for (int y = 0; y < inner.height; ++y)
    std::copy_n(&inner.rgb[size_t(y) * inner.width * 3], size_t(inner.width) * 3,
                &out.rgb[(size_t(y + oy) * width + ox) * 3]);
  return out;
}

Image crop(const Image& img, int x, int y, int width, int height) {
  if (x < 0 || y < 0 || width <= 0 || height <= 0 || x + width > img.width || y + height > img.height)
    fail(ErrorCode::invalid_argument, "crop ", width, "x", height, "+", x, "+", y, " is outside the ", img.width, "x",
         img.height, " image");
  Image out{width, height, std::vector<uint8_t>(size_t(width) * height * 3)};
  for (int r = 0; r < height; ++r)
    std::copy_n(&img.rgb[(size_t(y + r) * img.width + x) * 3], size_t(width) * 3, &out.rgb[size_t(r) * width * 3]);
  return out;
}

// The decimal constant a float32 mean/std was written from, as a double: files store float32, the
// models define decimal constants (CLIP's 0.48145466 ...). Well-known constants are recognised
// exactly; anything else is read back from its shortest round-trip decimal form.
static double decimal_of(float f) {
  static constexpr double kKnown[] = {
      0.48145466, 0.4578275, 0.40821073, 0.26862954, 0.26130258, 0.27577711,  // OpenAI CLIP
      0.485, 0.456, 0.406, 0.229, 0.224, 0.225,                                // ImageNet
  };
  for (double k : kKnown)
    if (float(k) == f) return k;
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, f);
  double d = f;
  std::from_chars(buf, res.ptr, d);
  return d;
}

PixelImage normalize(const Image& img, const std::array<float, 3>& mean, const std::array<float, 3>& std) {
  PixelImage out{img.width, img.height, std::vector<float>(size_t(img.width) * img.height * 3)};
  const size_t plane = size_t(img.width) * img.height;
  double m[3], s[3];
  for (int c = 0; c < 3; ++c) {
    m[c] = decimal_of(mean[c]);
    s[c] = decimal_of(std[c]);
  }
  // 256 possible values per channel: compute each once in double, round once to float.
  float lut[3][256];
  for (int c = 0; c < 3; ++c)
    for (int v = 0; v < 256; ++v) lut[c][v] = float((v / 255.0 - m[c]) / s[c]);
  for (size_t p = 0; p < plane; ++p)
    for (int c = 0; c < 3; ++c) out.planar[c * plane + p] = lut[c][img.rgb[p * 3 + c]];
  return out;
}

Size qwen_smart_size(int width, int height, int factor, int64_t min_pixels, int64_t max_pixels) {
  if (width <= 0 || height <= 0) fail(ErrorCode::invalid_argument, "image size ", width, "x", height, " is empty");
  const double w = width, h = height, f = factor;
  int hb = std::max(factor, int(std::round(h / f)) * factor);
  int wb = std::max(factor, int(std::round(w / f)) * factor);
  if (int64_t(hb) * wb > max_pixels) {
    const double beta = std::sqrt(h * w / double(max_pixels));
    hb = std::max(factor, int(std::floor(h / beta / f)) * factor);
    wb = std::max(factor, int(std::floor(w / beta / f)) * factor);
  } else if (int64_t(hb) * wb < min_pixels) {
    const double beta = std::sqrt(double(min_pixels) / (h * w));
    hb = int(std::ceil(h * beta / f)) * factor;
    wb = int(std::ceil(w * beta / f)) * factor;
  }
  return {wb, hb};
}

Size idefics3_refined_size(int width, int height, int tile, int longest_edge) {
  if (longest_edge <= 0) return {0, 0};
  const double r = std::min(double(longest_edge) / width, double(longest_edge) / height);
  return {int(std::ceil(width * r / tile)) * tile, int(std::ceil(height * r / tile)) * tile};
}

Size llava_best_resolution(int width, int height, const std::vector<Size>& candidates) {
  Size best{0, 0};
  int64_t best_eff = -1, best_waste = INT64_MAX;
  for (const auto& c : candidates) {
    const double s = std::min(double(c.width) / width, double(c.height) / height);
    const int64_t eff = std::min<int64_t>(int64_t(width * s) * int64_t(height * s), int64_t(width) * height);
    const int64_t waste = int64_t(c.width) * c.height - eff;
    if (eff > best_eff || (eff == best_eff && waste < best_waste)) {
      best = c;
      best_eff = eff;
      best_waste = waste;
    }
  }
  return best;
}

}  // namespace omni::vision
