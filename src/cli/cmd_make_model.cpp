// `omni make-model`: writes a random-weight llama / qwen2 / qwen3 GGUF model of any shape and
// tensor type (for tests and benchmarks; no real weights are ever downloaded for those).
#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "core/thread_pool.hpp"
#include "formats/gguf_quant.hpp"
#include "models/llm_random.hpp"
#include "omni/error.hpp"

namespace omni::cli {

extern const CommandSpec k_make_model_spec = {
    "make-model",
    "omni make-model --arch llama|qwen2|qwen3 (--shape NAME | --dims K=V,...) --type T [--seed S] -o OUT.gguf",
    "Write a random-weight LLM in GGUF (llama.cpp's keys and tensor names).",
    "Makes a decoder model with deterministic random weights (from --seed), llama.cpp's metadata\n"
    "keys and tensor names, and a synthetic byte-level BPE vocabulary (GPT-2 byte symbols, merges\n"
    "learned from a built-in English/Chinese text, filler tokens, ChatML special tokens).\n\n"
    "Shapes (--shape): tiny, qwen2.5-0.5b, qwen2.5-1.5b, llama-3.2-1b, qwen3-0.6b. --dims sets or\n"
    "overrides dimensions: n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab, head_dim,\n"
    "context_length, rope_base, rms_eps, tied (1: output head shares token_embd, 0: output.weight).\n\n"
    "Types (--type): f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q4_k q5_k q6_k q4_k_m q5_k_m. Norms and\n"
    "biases stay f32; rows that do not fit a K-quant block fall back to a 32-element type.\n"
    "Big shapes are generated in parallel and streamed to disk.",
    {
        {"arch", 'a', true, "ARCH", "llama, qwen2, qwen3, mmproj (a vision projector, see --projector), or whisper (shapes tiny base small medium large-v3 turbo, types f32 f16 q8_0 q5_0 q5_1 q4_0 q4_1; writes a whisper.cpp ggml .bin)"},
        {"shape", 's', true, "NAME", "a named shape (see above); default: tiny"},
        {"dims", 'd', true, "K=V,...", "dimensions (over --shape, or over tiny)"},
        {"type", 't', true, "TYPE", "tensor type of the 2-D weights (default f32)"},
        {"seed", 0, true, "S", "random seed (default 1)"},
        {"untied", 0, false, "", "write a separate output.weight"},
        {"name", 0, true, "TEXT", "general.name (default random-ARCH)"},
        {"threads", 'j', true, "N", "worker threads (default: all cores)"},
        {"output", 'o', true, "OUT.gguf", "output file (required)"},
        {"projector", 0, true, "NAME", "mmproj only: llava, smolvlm or qwen2.5-vl (shapes tiny, smolvlm-256m, llava-1.5-7b, qwen2.5-vl-3b)"},
        {"header", 0, true, "FILE", "whisper only: header-only whisper.cpp file (mel filters, vocabulary)"},
    },
    0,
    0,
};

int run_make_model_whisper(const Args& args);  // cmd_make_whisper.cpp: --arch whisper
int run_make_model_mmproj(const Args& args);   // cmd_make_mmproj.cpp: --arch mmproj

int run_make_model(const Args& args) {
  if (args.get("arch", "") == "whisper") return run_make_model_whisper(args);
  if (args.get("arch", "") == "mmproj") return run_make_model_mmproj(args);
  models::RandomLlmOptions opts;
  opts.arch = args.require("arch");
  if (opts.arch != "llama" && opts.arch != "qwen2" && opts.arch != "qwen3")
    fail(ErrorCode::invalid_argument, "--arch must be llama, qwen2, qwen3, whisper or mmproj (got '", opts.arch, "')");
  const std::string out = args.require("output");
  const std::string shape_name = args.get("shape", "tiny");
  auto preset = models::llm_shape_preset(shape_name);
  if (!preset) {
    std::string names;
    for (const auto& n : models::llm_shape_names()) names += " " + n;
    fail(ErrorCode::invalid_argument, "unknown --shape '", shape_name, "' (known:", names, ")");
  }
  models::LlmShape shape = *preset;
  if (auto d = args.value("dims")) shape = models::parse_llm_dims(*d, shape);
  if (args.has("untied")) shape.tied = false;
  opts.shape = models::resolve_llm_shape(opts.arch, shape);
  opts.type = args.get("type", "f32");
  if (!gguf::quant_target(opts.type)) {
    std::string names;
    for (const auto& n : gguf::quant_target_names()) names += " " + n;
    fail(ErrorCode::invalid_argument, "unknown --type '", opts.type, "' (known:", names, ")");
  }
  const int64_t seed = args.get_int("seed", 1);
  if (seed < 0) fail(ErrorCode::invalid_argument, "--seed must be non-negative");
  opts.seed = uint64_t(seed);
  opts.name = args.get("name", "");
  const int64_t threads = args.get_int("threads", 0);
  if (threads < 0 || threads > 1024) fail(ErrorCode::invalid_argument, "--threads must be between 0 and 1024");
  ThreadPool pool(static_cast<int>(threads));

  // The total is known once the tensor list is built: the bar is made on the first report.
  std::unique_ptr<ProgressBar> bar;
  opts.progress = [&](uint64_t done, uint64_t total) {
    if (!bar) bar = std::make_unique<ProgressBar>("make-model", total, ProgressBar::Unit::bytes);
    bar->set(done);
  };
  const uint64_t bytes = models::write_random_llm(out, opts, pool);
  if (bar) bar->finish();
  const auto& s = opts.shape;
  std::cerr << "wrote " << out << ": " << opts.arch << " n_embd=" << s.n_embd << " n_layer=" << s.n_layer
            << " n_head=" << s.n_head << " n_head_kv=" << s.n_head_kv << " n_ff=" << s.n_ff << " n_vocab=" << s.n_vocab
            << " head_dim=" << s.head_dim << (s.tied ? " tied" : " untied") << ", type " << opts.type << ", "
            << ProgressBar::format_bytes(double(bytes)) << " of weights\n";
  return 0;
}

}  // namespace omni::cli
