// The sampling and session options that `omni generate` and `omni chat` share: one list for
// --help and parsing, one function that turns the parsed values into runtime parameters.
#pragma once
#include <string>
#include <vector>

#include "cli/args.hpp"
#include "runtime/sampling.hpp"
#include "runtime/session.hpp"

namespace omni::cli {

// --n-predict (with this default), --temp, --seed, --top-k, --top-p, --min-p, --repeat-penalty,
// --presence-penalty, --frequency-penalty, --threads, --ctx.
std::vector<OptionSpec> sampling_option_specs(int default_max_tokens);

// `first` followed by `rest` (for building a command's option list).
std::vector<OptionSpec> with_options(std::vector<OptionSpec> first, const std::vector<OptionSpec>& rest);

// Values given on the command line, the runtime defaults otherwise. Out-of-range values are an
// invalid_argument error naming the option.
runtime::SamplingParams sampling_from_args(const Args& args, int default_max_tokens);
runtime::SessionOptions session_options_from_args(const Args& args);

}  // namespace omni::cli
