// Image preprocessing for vision towers: llama.cpp's bilinear / bicubic resize rules, aspect-fit
// with padding, normalisation to planar float, and each family's sizing (LLaVA letterbox, SmolVLM
// tiles + global image, Qwen2.5-VL dynamic resolution in 28-pixel units). Spec: mmproj-vision.md.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "vision/image.hpp"

namespace omni::vision {

enum class ResizeAlgo { bilinear, bicubic };

// llama.cpp's bilinear: src = dst * (src_n - 1) / dst_n, lower index clamped to n - 2, truncated.
Image resize_bilinear(const Image& img, int width, int height);
// Four-tap Lagrange cubic at floor(j * src/dst), edges clamped, rounded and clamped to 0..255.
Image resize_bicubic(const Image& img, int width, int height);
Image resize(const Image& img, int width, int height, ResizeAlgo algo);
// Aspect-fit into width x height (scale = min ratio, ceil), centred on a canvas of pad colour.
Image resize_fit_pad(const Image& img, int width, int height, ResizeAlgo algo, std::array<uint8_t, 3> pad);
Image crop(const Image& img, int x, int y, int width, int height);

// A normalised image ready for a tower: planar [3][height][width] floats, (u8/255 - mean) / std.
struct PixelImage {
  int width = 0;
  int height = 0;
  std::vector<float> planar;
};
PixelImage normalize(const Image& img, const std::array<float, 3>& mean, const std::array<float, 3>& std);

// Qwen2-VL "smart resize": both sides multiples of factor (28), pixels within [min, max].
struct Size { int width; int height; };
Size qwen_smart_size(int width, int height, int factor, int64_t min_pixels, int64_t max_pixels);
// SmolVLM: the refined size (multiples of the tile size) for a longest-edge target; {0,0} if le == 0.
Size idefics3_refined_size(int width, int height, int tile, int longest_edge);
// LLaVA-1.6: the best candidate resolution (largest effective area, then least waste).
Size llava_best_resolution(int width, int height, const std::vector<Size>& candidates);

}  // namespace omni::vision
