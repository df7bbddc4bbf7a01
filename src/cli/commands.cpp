// The table of `omni` subcommands. To add one: write src/cli/cmd_NAME.cpp defining
// `extern const CommandSpec kNameSpec` and `int run_name(const Args&)`, then add a line here.
#include "cli/commands.hpp"

namespace omni::cli {

#define OMNI_COMMAND(id)              \
  extern const CommandSpec k_##id##_spec; \
  int run_##id(const Args& args);

OMNI_COMMAND(version)
OMNI_COMMAND(generate)
OMNI_COMMAND(chat)
OMNI_COMMAND(tokenize)
OMNI_COMMAND(logits)
OMNI_COMMAND(bench_llm)
OMNI_COMMAND(bench_kernels)
OMNI_COMMAND(inspect)
OMNI_COMMAND(make_model)
OMNI_COMMAND(quantize)
OMNI_COMMAND(serve)
OMNI_COMMAND(pull)
OMNI_COMMAND(bench_serve)
OMNI_COMMAND(embed_image)
OMNI_COMMAND(bench_vision)

OMNI_COMMAND(transcribe)
OMNI_COMMAND(vad)
OMNI_COMMAND(speak)
OMNI_COMMAND(bench_asr)
OMNI_COMMAND(act)
OMNI_COMMAND(episodes_list)
OMNI_COMMAND(episodes_export)
OMNI_COMMAND(episodes_feedback)
OMNI_COMMAND(bench_grammar)

#undef OMNI_COMMAND

const std::vector<Command>& all_commands() {
  static const std::vector<Command> commands = {
      {&k_version_spec, run_version},
      {&k_generate_spec, run_generate},
      {&k_chat_spec, run_chat},
      {&k_tokenize_spec, run_tokenize},
      {&k_logits_spec, run_logits},
      {&k_bench_llm_spec, run_bench_llm},
      {&k_bench_kernels_spec, run_bench_kernels},
      {&k_inspect_spec, run_inspect},
      {&k_make_model_spec, run_make_model},
      {&k_quantize_spec, run_quantize},
      {&k_serve_spec, run_serve},
      {&k_pull_spec, run_pull},
      {&k_bench_serve_spec, run_bench_serve},
      {&k_embed_image_spec, run_embed_image},
      {&k_bench_vision_spec, run_bench_vision},
      {&k_transcribe_spec, run_transcribe},
      {&k_vad_spec, run_vad},
      {&k_speak_spec, run_speak},
      {&k_bench_asr_spec, run_bench_asr},
      {&k_act_spec, run_act},
      {&k_episodes_list_spec, run_episodes_list},
      {&k_episodes_export_spec, run_episodes_export},
      {&k_episodes_feedback_spec, run_episodes_feedback},
      {&k_bench_grammar_spec, run_bench_grammar},
  };
  return commands;
}

}  // namespace omni::cli
