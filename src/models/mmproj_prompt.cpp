// Marker layout and M-RoPE positions for image embeddings in decoder prompts (mmproj-vision.md
// §1.5, §2.5, §3.5).
#include "models/mmproj_prompt.hpp"

#include <algorithm>

#include "omni/error.hpp"

namespace omni::models {

std::vector<PromptPiece> image_prompt_pieces(const VisionModel& m, const VisionInput& input) {
  std::vector<PromptPiece> out;
  auto text = [&](std::string s) {
    if (!out.empty() && !out.back().is_image()) out.back().text += s;
    else out.push_back({std::move(s), -1});
  };
  auto image = [&](int i) { out.push_back({"", i}); };
  switch (m.hparams().projector) {
    case ProjectorType::mlp:
      for (size_t i = 0; i < input.images.size(); ++i) image(int(i));
      break;
    case ProjectorType::idefics3:
      if (input.tiles_x == 0) {  // a single global image
        text("<fake_token_around_image><global-img>");
        image(0);
        text("<fake_token_around_image>");
        break;
      }
      for (int r = 0; r < input.tiles_y; ++r) {
        for (int c = 0; c < input.tiles_x; ++c) {
          text("<fake_token_around_image><row_" + std::to_string(r + 1) + "_col_" + std::to_string(c + 1) + ">");
          image(1 + r * input.tiles_x + c);
        }
        if (r + 1 < input.tiles_y) text("\n");
      }
      text("\n\n<fake_token_around_image><global-img>");
      image(0);
      text("<fake_token_around_image>");
      break;
    case ProjectorType::qwen2vl:
    case ProjectorType::qwen25vl:
      text("<|vision_start|>");
      image(0);
      text("<|vision_end|>");
      break;
  }
  return out;
}

MropePositions mrope_image_positions(int32_t pos0, int nx, int ny) {
  if (nx <= 0 || ny <= 0) fail(ErrorCode::invalid_argument, "image grid ", nx, "x", ny, " is empty");
  MropePositions p;
  const size_t n = size_t(nx) * ny;
  p.t.assign(n, pos0);
  p.h.resize(n);
  p.w.resize(n);
  for (int row = 0; row < ny; ++row)
    for (int col = 0; col < nx; ++col) {
      p.h[size_t(row) * nx + col] = pos0 + row;
      p.w[size_t(row) * nx + col] = pos0 + col;
    }
  p.next_pos = pos0 + std::max(nx, ny);
  return p;
}

void check_text_width(const VisionModel& m, int64_t text_n_embd) {
  if (m.hparams().n_embd_out != text_n_embd)
    fail(ErrorCode::invalid_argument, "mmproj '", m.file().path(), "' produces ", m.hparams().n_embd_out,
         "-wide embeddings but the text model's embedding width is ", text_n_embd,
         " (is this the mmproj file that belongs to the model?)");
}

}  // namespace omni::models
