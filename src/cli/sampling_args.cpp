// Shared sampling/session options of the text-generation commands (see sampling_args.hpp).
#include "cli/sampling_args.hpp"

#include "omni/error.hpp"

namespace omni::cli {

std::vector<OptionSpec> sampling_option_specs(int default_max_tokens) {
  return {
      {"n-predict", 'n', true, "N", "most tokens to generate (default " + std::to_string(default_max_tokens) + ")"},
      {"temp", 0, true, "T", "sampling temperature (default 0.8; 0 = greedy)"},
      {"seed", 's', true, "S", "random seed (default 12648430)"},
      {"top-k", 0, true, "K", "keep the K most likely tokens (default 40; 0 = off)"},
      {"top-p", 0, true, "P", "nucleus sampling mass (default 0.95; 1 = off)"},
      {"min-p", 0, true, "P", "drop tokens below P x the top probability (default 0.05)"},
      {"repeat-penalty", 0, true, "X", "penalty for recently generated tokens (default 1.0 = off)"},
      {"presence-penalty", 0, true, "X", "subtracted once from the logit of each recent token (default 0)"},
      {"frequency-penalty", 0, true, "X", "subtracted per occurrence of each recent token (default 0)"},
      {"threads", 't', true, "N", "threads (default: all cores)"},
      {"ctx", 'c', true, "N", "context length (default: min(training context, 4096))"},
  };
}

std::vector<OptionSpec> with_options(std::vector<OptionSpec> first, const std::vector<OptionSpec>& rest) {
  first.insert(first.end(), rest.begin(), rest.end());
  return first;
}

namespace {

double in_range(const Args& args, const char* name, double def, double lo, double hi) {
  const double x = args.get_float(name, def);
  if (!(x >= lo && x <= hi)) fail(ErrorCode::invalid_argument, "--", name, " must be between ", lo, " and ", hi, " (got ", x, ")");
  return x;
}

}  // namespace

runtime::SamplingParams sampling_from_args(const Args& args, int default_max_tokens) {
  runtime::SamplingParams sp;
  sp.temperature = float(in_range(args, "temp", sp.temperature, 0.0, 100.0));
  sp.seed = uint64_t(args.get_int("seed", int64_t(sp.seed)));
  sp.top_k = int(in_range(args, "top-k", sp.top_k, 0, 1e9));
  sp.top_p = float(in_range(args, "top-p", sp.top_p, 0.0, 1.0));
  sp.min_p = float(in_range(args, "min-p", sp.min_p, 0.0, 1.0));
  sp.repeat_penalty = float(in_range(args, "repeat-penalty", sp.repeat_penalty, 0.0, 100.0));
  sp.presence_penalty = float(in_range(args, "presence-penalty", sp.presence_penalty, -100.0, 100.0));
  sp.frequency_penalty = float(in_range(args, "frequency-penalty", sp.frequency_penalty, -100.0, 100.0));
  sp.max_tokens = int(args.get_int("n-predict", default_max_tokens));
  return sp;
}

runtime::SessionOptions session_options_from_args(const Args& args) {
  runtime::SessionOptions so;
  so.n_ctx = int(args.get_int("ctx", 0));
  so.n_threads = int(args.get_int("threads", 0));
  if (so.n_ctx < 0) fail(ErrorCode::invalid_argument, "--ctx must be positive (got ", so.n_ctx, ")");
  if (so.n_threads < 0) fail(ErrorCode::invalid_argument, "--threads must be positive (got ", so.n_threads, ")");
  return so;
}

}  // namespace omni::cli
