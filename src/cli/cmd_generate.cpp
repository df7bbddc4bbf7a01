// `omni generate`: loads a GGUF LLM and streams a continuation of a prompt (optionally wrapped in
// the model's chat template) to stdout.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include "cli/commands.hpp"
#include "cli/sampling_args.hpp"
#include "omni/error.hpp"
#include "runtime/chat_template.hpp"
#include "runtime/multimodal.hpp"
#include "runtime/session.hpp"

namespace omni::cli {

extern const CommandSpec k_generate_spec = {
    "generate",
    "omni generate -m MODEL.gguf -p PROMPT [-n N] [--temp T] [--seed S] [--chat] [--mmproj F --image IMG]",
    "Generate text from a prompt with a local GGUF model (llama, qwen2, qwen3).",
    "Streams the model's continuation of PROMPT to stdout as it is generated. With --chat the prompt is\n"
    "sent as a user message through the model's chat template (recognised from the GGUF, or chosen\n"
    "with --chat-template). --temp 0 decodes greedily; the same --seed reproduces the same output.\n"
    "Timings go to stderr. With --mmproj and --image (repeatable) the images are encoded by the vision\n"
    "projector and placed where the prompt says <__media__> (or before the prompt when it has no marker).",
    with_options({
        {"model", 'm', true, "MODEL", "GGUF model file"},
        {"prompt", 'p', true, "TEXT", "prompt text"},
        {"stop", 0, true, "TEXT", "stop before this text (repeatable)", true},
        {"chat", 0, false, "", "wrap the prompt in the model's chat template"},
        {"system", 0, true, "TEXT", "system message (with --chat)"},
        {"chat-template", 0, true, "NAME", "chatml, qwen2.5, qwen3, llama3, mistral or gemma"},
        {"ignore-eos", 0, false, "", "keep generating past end-of-sequence tokens"},
        {"mmproj", 0, true, "FILE", "vision projector (llama.cpp mmproj GGUF) for --image"},
        {"image", 0, true, "FILE", "an image for the prompt (repeatable; needs --mmproj)", true},
    }, sampling_option_specs(256)),
    0,
    0};

int run_generate(const Args& args) {
  const std::string path = args.require("model");
  const std::string prompt = args.require("prompt");
  auto model = runtime::Model::load(path);
  runtime::Session session(model, session_options_from_args(args));

  runtime::SamplingParams sp = sampling_from_args(args, 256);
  sp.stop = args.values("stop");
  sp.ignore_eos = args.has("ignore-eos");

  // Images: one <__media__> marker per image, added in front of the prompt when it has none.
  const auto image_paths = args.values("image");
  if (!image_paths.empty() && !args.has("mmproj"))
    fail(ErrorCode::invalid_argument, "--image needs --mmproj (the vision projector that belongs to the model)");
  std::string user_text = prompt;
  if (!image_paths.empty() && prompt.find(models::kImageMarker) == std::string::npos) {
    std::string markers;
    for (size_t i = 0; i < image_paths.size(); ++i) markers += models::kImageMarker;
    user_text = markers + "\n" + prompt;
  }

  std::vector<int32_t> tokens;
  std::string text = user_text;
  if (args.has("chat")) {
    const auto tmpl = runtime::ChatTemplate::for_model(*model, args.get("chat-template", ""));
    std::vector<runtime::ChatMessage> msgs;
    if (args.has("system")) msgs.push_back({"system", args.get("system", ""), {}, {}, {}});
    msgs.push_back({"user", user_text, {}, {}, {}});
    text = tmpl.render(msgs, true);
  }
  if (!image_paths.empty()) {
    std::shared_ptr<const models::VisionModel> mm = models::VisionModel::load(args.require("mmproj"));
    runtime::VisionContext vision(mm, *model);
    std::vector<vision::Image> images;
    for (const auto& p : image_paths) images.push_back(vision::load_image(p));
    const auto mixed = runtime::build_mixed_prompt(*model, vision, session.pool(), text, images, !args.has("chat"));
    const auto t0 = std::chrono::steady_clock::now();
    session.eval_mixed(mixed.tokens, mixed.embd.data(), runtime::mixed_positions(*model, mixed, 0));
    std::fprintf(stderr, "[%zu image(s): %d embedding rows; %zu prompt inputs encoded and evaluated in %.0f ms]\n",
                 images.size(), mixed.n_image_rows, mixed.tokens.size(),
                 std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  } else if (args.has("chat")) {
    tokens = model->tokenizer().encode(text, false, true);
  } else {
    tokens = model->tokenizer().encode(prompt, true, true);
  }
  if (tokens.empty() && session.n_past() == 0) fail(ErrorCode::invalid_argument, "the prompt is empty after tokenization");

  const auto r = session.generate(tokens, sp, nullptr, [](int32_t, std::string_view text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return true;
  });
  std::printf("\n");
  std::fprintf(stderr, "[%d prompt tokens in %.0f ms (%.1f tok/s); %zu generated in %.0f ms (%.1f tok/s); finish: %s]\n",
               r.n_prompt, r.prompt_ms, r.n_prompt * 1000.0 / std::max(r.prompt_ms, 1e-3), r.tokens.size(),
               r.generate_ms, r.tokens.size() * 1000.0 / std::max(r.generate_ms, 1e-3),
               runtime::finish_reason_name(r.finish));
  return 0;
}

}  // namespace omni::cli
