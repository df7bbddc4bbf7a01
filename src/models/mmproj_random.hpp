// Random-weight mmproj GGUF files (llama.cpp's keys and tensor names) for each supported projector,
// at tiny test shapes or the real shapes of SmolVLM-256M, LLaVA-1.5-7B and Qwen2.5-VL-3B.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.hpp"

namespace omni::models {

struct MmprojShape {
  std::string projector;  // "mlp", "idefics3", "qwen2.5vl_merger"
  int image_size, patch_size, n_embd, n_head, n_ff, n_layer, n_embd_out;
  int scale_factor = 0, preproc_image_size = 0, n_wa_pattern = 0;
};

// projector: llava|mlp, smolvlm|idefics3, qwen2.5-vl|qwen2.5vl_merger; shape: tiny or a real model
// name (smolvlm-256m, llava-1.5-7b, qwen2.5-vl-3b). Throws invalid_argument listing the choices.
MmprojShape mmproj_shape(const std::string& projector, const std::string& shape);
std::vector<std::string> mmproj_shape_names();

// Writes the file; 2-D weights in `type` (where the row length allows), the rest f32.
void write_random_mmproj(const std::string& path, const MmprojShape& shape, DType type, uint64_t seed);

}  // namespace omni::models
