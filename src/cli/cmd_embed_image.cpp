// `omni embed-image`: runs an mmproj vision tower on an image and writes the projected embeddings
// (and optionally the preprocessed pixels) as .npy files, for verification against references.
#include <chrono>
#include <iostream>

#include "cli/commands.hpp"
#include "core/npy.hpp"
#include "models/mmproj.hpp"
#include "omni/error.hpp"

namespace omni::cli {

extern const CommandSpec k_embed_image_spec = {
    "embed-image",
    "omni embed-image --mmproj MMPROJ --image IMG --out X.npy [--pixels-out P.npy] [--threads N]",
    "Encode an image with an mmproj vision tower and save the embeddings.",
    "Preprocesses IMG as the mmproj's family does (LLaVA letterbox, SmolVLM global image + tiles,\n"
    "Qwen2.5-VL dynamic resolution), runs the vision tower and projector, and writes float32\n"
    "[n_image_tokens, n_embd] in the order the decoder consumes them. --pixels-out writes the\n"
    "first preprocessed image as float32 [3, H, W].",
    {
        {"mmproj", 0, true, "FILE", "mmproj GGUF (llama.cpp format: mlp, idefics3, qwen2.5vl_merger)"},
        {"image", 0, true, "FILE", "JPEG, PNG, BMP, GIF or WebP image"},
        {"out", 'o', true, "FILE", "where to write the embeddings (.npy)"},
        {"pixels-out", 0, true, "FILE", "also write the normalised pixels (.npy)"},
        {"threads", 't', true, "N", "threads (default: all cores)"},
    },
    0, 0};

int run_embed_image(const Args& args) {
  const auto model = models::VisionModel::load(args.require("mmproj"));
  const auto image = vision::load_image(args.require("image"));
  const std::string out = args.require("out");
  ThreadPool pool(int(args.get_int("threads", 0)));
  const auto t0 = std::chrono::steady_clock::now();
  const auto input = model->preprocess(image);
  if (auto p = args.value("pixels-out")) {
    const auto& px = input.images.at(0);
    write_npy(*p, px.planar.data(), {3, px.height, px.width});
  }
  const auto emb = models::embed_image(*model, pool, input);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  write_npy(out, emb.data.data(), {emb.n_tokens, model->hparams().n_embd_out});
  std::cerr << "embed-image: " << image.width << "x" << image.height << " -> " << input.images.size()
            << " image(s), " << emb.n_tokens << " tokens x " << model->hparams().n_embd_out << " in " << int(ms)
            << " ms -> " << out << "\n";
  return 0;
}

}  // namespace omni::cli
