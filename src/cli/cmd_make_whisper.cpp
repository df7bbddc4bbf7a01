// `omni make-model --arch whisper`: the Whisper branch of make-model (random-weight whisper.cpp
// ggml files of any size, on the real header of a header-only file found via --header).
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "core/dtype.hpp"
#include "models/whisper_random.hpp"
#include "omni/error.hpp"

namespace omni::cli {

namespace {

// --header FILE, else the copy in the source tree's tests/data (found from the working directory or
// from the executable's location, build/<name>/omni), else a clear error.
std::string find_header(const Args& args) {
  if (auto h = args.value("header")) return *h;
  namespace fs = std::filesystem;
  const fs::path rel = fs::path("tests") / "data" / "models" / "whisper-tiny-header-only.ggml.bin";
  std::vector<fs::path> candidates = {fs::current_path() / rel};
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec)
    for (fs::path p = exe.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path())
      candidates.push_back(p / rel);
  for (const auto& c : candidates)
    if (fs::exists(c, ec)) return c.string();
  fail(ErrorCode::not_found,
       "make-model --arch whisper needs a header-only whisper.cpp file (mel filters and vocabulary): "
       "pass --header FILE (e.g. tests/data/models/whisper-tiny-header-only.ggml.bin)");
}

}  // namespace

int run_make_model_whisper(const Args& args) {
  const std::string out = args.require("output");
  const whisper::WhisperShape shape = whisper::whisper_shape(args.get("shape", "tiny"));
  const std::string type_name = args.get("type", "f16");
  const auto type = dtype_from_name(type_name);
  if (!type) fail(ErrorCode::invalid_argument, "unknown --type '", type_name, "' (f32 f16 q8_0 q5_0 q5_1 q4_0 q4_1)");
  const int64_t seed = args.get_int("seed", 1);
  if (seed < 0) fail(ErrorCode::invalid_argument, "--seed must be non-negative");
  const std::string header = find_header(args);
  whisper::write_random_whisper(out, header, shape, *type, uint64_t(seed));
  std::cerr << "wrote " << out << ": whisper " << shape.name << " (" << dtype_name(*type) << ", n_state=" << shape.n_state
            << ", layers=" << shape.n_audio_layer << "/" << shape.n_text_layer << ")\n";
  return 0;
}

}  // namespace omni::cli
