// `omni bench vision`: time to encode one image at the family's default resolution, as JSON or text.
#include <algorithm>
#include <chrono>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "omni/error.hpp"
#include "models/mmproj.hpp"

namespace omni::cli {

extern const CommandSpec k_bench_vision_spec = {
    "bench vision",
    "omni bench vision --mmproj MMPROJ [--size WxH] [--runs N] [--threads N] [--json]",
    "Benchmark an mmproj vision encoder (ms per image, tokens per image).",
    "Encodes a synthetic image at the family's default resolution (LLaVA: S x S, SmolVLM: one\n"
    "S x S tile, Qwen2.5-VL: 448x448) or --size, after one warm-up run; reports the best and\n"
    "median time of --runs runs.",
    {
        {"mmproj", 0, true, "FILE", "mmproj GGUF"},
        {"size", 0, true, "WxH", "image size (Qwen only; multiples of 28)"},
        {"runs", 0, true, "N", "timed runs (default 3)"},
        {"threads", 't', true, "N", "threads (default: all cores)"},
        {"json", 0, false, "", "print one JSON object"},
    },
    0, 0};

int run_bench_vision(const Args& args) {
  const auto model = models::VisionModel::load(args.require("mmproj"));
  const auto& hp = model->hparams();
  ThreadPool pool(int(args.get_int("threads", 0)));
  const int runs = int(std::max<int64_t>(1, args.get_int("runs", 3)));
  const bool qwen = hp.projector == models::ProjectorType::qwen25vl || hp.projector == models::ProjectorType::qwen2vl;
  int w = qwen ? 448 : hp.image_size, h = w;
  if (auto s = args.value("size")) {
    if (std::sscanf(s->c_str(), "%dx%d", &w, &h) != 2 || w <= 0 || h <= 0)
      fail(ErrorCode::invalid_argument, "--size must look like 448x448, got '", *s, "'");
  }
  vision::PixelImage px{w, h, std::vector<float>(size_t(w) * h * 3)};
  for (size_t i = 0; i < px.planar.size(); ++i) px.planar[i] = float((i * 2654435761u) % 1000) / 500.0f - 1.0f;
  model->encode(pool, px);  // warm-up
  std::vector<double> ms;
  int tokens = 0;
  for (int r = 0; r < runs; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    tokens = model->encode(pool, px).n_tokens;
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  nlohmann::json j = {{"projector", models::projector_name(hp.projector)},
                      {"width", w}, {"height", h}, {"tokens_per_image", tokens},
                      {"ms_per_image", ms.front()}, {"ms_median", ms[ms.size() / 2]},
                      {"threads", pool.n_threads()}, {"n_embd", hp.n_embd}, {"n_layer", hp.n_layer}};
  if (args.has("json")) std::cout << j.dump() << "\n";
  else
    std::cout << models::projector_name(hp.projector) << " " << w << "x" << h << ": " << tokens << " tokens, best "
              << ms.front() << " ms, median " << ms[ms.size() / 2] << " ms (" << pool.n_threads() << " threads)\n";
  return 0;
}

}  // namespace omni::cli
