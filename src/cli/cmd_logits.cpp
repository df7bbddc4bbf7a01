// `omni logits`: runs a forward pass over given token ids and writes the logits of every position
// as a float32 .npy [n_tokens, n_vocab] (for comparing against reference implementations).
#include <cstdio>
#include <sstream>

#include "cli/commands.hpp"
#include "core/npy.hpp"
#include "omni/error.hpp"
#include "runtime/session.hpp"

namespace omni::cli {

extern const CommandSpec k_logits_spec = {
    "logits",
    "omni logits -m MODEL.gguf (--tokens 1,2,3 | --prompt TEXT) --out X.npy [--threads N] [--kv f16|f32]",
    "Write the logits of every position of a token sequence to a .npy file.",
    "Evaluates the tokens in one causal pass (positions 0..n-1) and writes float32 logits with shape\n"
    "[n_tokens, n_vocab] in NumPy's .npy format.",
    {
        {"model", 'm', true, "MODEL", "GGUF model file"},
        {"tokens", 0, true, "IDS", "comma-separated token ids"},
        {"prompt", 'p', true, "TEXT", "text to tokenize instead of --tokens (specials parsed, BOS as the vocabulary asks)"},
        {"out", 'o', true, "FILE", "output .npy path"},
        {"threads", 't', true, "N", "threads (default: all cores)"},
        {"kv", 0, true, "TYPE", "KV cache type f16 (default) or f32"},
    },
    0,
    0};

int run_logits(const Args& args) {
  auto model = runtime::Model::load(args.require("model"));
  const std::string out = args.require("out");
  std::vector<int32_t> tokens;
  if (args.has("tokens")) {
    std::stringstream ss(args.get("tokens", ""));
    std::string item;
    while (std::getline(ss, item, ',')) {
      try {
        size_t used = 0;
        const long v = std::stol(item, &used);
        if (used != item.size()) throw std::invalid_argument(item);
        tokens.push_back(int32_t(v));
      } catch (const std::exception&) {
        fail(ErrorCode::invalid_argument, "--tokens: '", item, "' is not a token id");
      }
    }
  } else if (args.has("prompt")) {
    tokens = model->tokenizer().encode(args.get("prompt", ""), true, true);
  } else {
    fail(ErrorCode::invalid_argument, "give --tokens 1,2,3 or --prompt TEXT");
  }
  if (tokens.empty()) fail(ErrorCode::invalid_argument, "no tokens to evaluate");
  runtime::SessionOptions so;
  so.n_ctx = int(tokens.size());
  so.n_threads = int(args.get_int("threads", 0));
  const std::string kv = args.get("kv", "f16");
  if (kv != "f16" && kv != "f32") fail(ErrorCode::invalid_argument, "--kv must be f16 or f32, got '", kv, "'");
  so.kv_type = kv == "f32" ? DType::f32 : DType::f16;
  runtime::Session session(model, so);
  const auto logits = session.eval_all(tokens);
  write_npy(out, logits.data(), {int64_t(tokens.size()), int64_t(model->n_vocab())});
  std::fprintf(stderr, "wrote %s: [%zu, %d]\n", out.c_str(), tokens.size(), model->n_vocab());
  return 0;
}

}  // namespace omni::cli
