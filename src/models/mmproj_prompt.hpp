// How image embeddings enter a decoder prompt: each family's marker text around the embedding
// chunks (SmolVLM's <fake_token_around_image><row_r_col_c> tiles, Qwen's <|vision_start|> ...
// <|vision_end|>, none for LLaVA) and Qwen2-VL's multimodal RoPE positions (t, h, w per token).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "models/mmproj.hpp"

namespace omni::models {

// One piece of the prompt that replaces an image marker: literal text (tokenized with special
// tokens parsed) or the embeddings of one encoded pixel image (index into VisionInput::images).
struct PromptPiece {
  std::string text;
  int image_index = -1;  // >= 0: an embedding chunk
  bool is_image() const { return image_index >= 0; }
};

std::vector<PromptPiece> image_prompt_pieces(const VisionModel& m, const VisionInput& input);

// The text a user or chat template writes where an image goes.
inline constexpr const char* kImageMarker = "<__media__>";

// M-RoPE positions of an image chunk starting at pos0 with an nx * ny merged grid (raster order):
// t = pos0, h = pos0 + row, w = pos0 + col. Text after the image resumes at pos0 + max(nx, ny).
struct MropePositions {
  std::vector<int32_t> t, h, w;
  int32_t next_pos = 0;
};
MropePositions mrope_image_positions(int32_t pos0, int nx, int ny);

// Throws invalid_argument when the projector's output width differs from the text model's.
void check_text_width(const VisionModel& m, int64_t text_n_embd);

}  // namespace omni::models
