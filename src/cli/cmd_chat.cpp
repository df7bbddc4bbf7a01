// `omni chat`: an interactive chat with a local GGUF model (readline line editing and history;
// /reset, /system TEXT, /quit). The KV cache is reused across turns (common-prefix matching).
#include <readline/history.h>
#include <readline/readline.h>

#include <algorithm>

#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/sampling_args.hpp"
#include "omni/error.hpp"
#include "runtime/chat_template.hpp"
#include "runtime/multimodal.hpp"
#include "runtime/session.hpp"

namespace omni::cli {

extern const CommandSpec k_chat_spec = {
    "chat",
    "omni chat -m MODEL.gguf [--mmproj F] [--system TEXT] [--temp T] [--seed S] [--threads N] [--ctx N]",
    "Chat interactively with a local GGUF model.",
    "Type a message and press Enter; the answer streams back. Commands:\n"
    "  /reset         forget the conversation\n"
    "  /system TEXT   set the system message (and reset)\n"
    "  /image PATH    attach an image to your next message (needs --mmproj)\n"
    "  /quit          leave (Ctrl-D too)\n"
    "The chat template is recognised from the model file or chosen with --chat-template.",
    with_options({
        {"model", 'm', true, "MODEL", "GGUF model file"},
        {"system", 0, true, "TEXT", "system message"},
        {"mmproj", 0, true, "FILE", "vision projector (mmproj GGUF) so /image works"},
        {"chat-template", 0, true, "NAME", "chatml, qwen2.5, qwen3, llama3, mistral or gemma"},
    }, sampling_option_specs(1024)),
    0,
    0};

int run_chat(const Args& args) {
  auto model = runtime::Model::load(args.require("model"));
  const auto tmpl = runtime::ChatTemplate::for_model(*model, args.get("chat-template", ""));
  runtime::Session session(model, session_options_from_args(args));
  runtime::SamplingParams sp = sampling_from_args(args, 1024);
  sp.stop = tmpl.stop_strings();

  std::unique_ptr<runtime::VisionContext> vision;
  if (args.has("mmproj"))
    vision = std::make_unique<runtime::VisionContext>(models::VisionModel::load(args.get("mmproj", "")), *model);
  std::vector<vision::Image> images, pending;  // images of the conversation (marker order); next message's

  std::string system = args.get("system", "");
  std::vector<runtime::ChatMessage> msgs;
  auto restart = [&] {
    msgs.clear();
    images.clear();
    pending.clear();
    if (!system.empty()) msgs.push_back({"system", system, {}, {}, {}});
    session.reset();
  };
  restart();
  std::fprintf(stderr, "omni chat: %s (%s, template %s). /reset, /system TEXT, /quit.\n", model->name().c_str(),
               model->architecture().c_str(), tmpl.name().c_str());
  const bool tty = isatty(0);
  for (;;) {
    std::string input;
    if (tty) {
      char* line = readline("> ");
      if (!line) break;
      input = line;
      std::free(line);
    } else if (!std::getline(std::cin, input)) {
      break;
    }
    if (input.empty()) continue;
    if (tty) add_history(input.c_str());
    if (input == "/quit" || input == "/exit") break;
    if (input == "/reset") { restart(); std::fprintf(stderr, "(conversation reset)\n"); continue; }
    if (input.rfind("/system", 0) == 0) {
      system = input.size() > 8 ? input.substr(8) : "";
      restart();
      std::fprintf(stderr, "(system message set; conversation reset)\n");
      continue;
    }
    if (input.rfind("/image", 0) == 0) {
      if (!vision) {
        std::fprintf(stderr, "(start omni chat with --mmproj FILE to send images)\n");
        continue;
      }
      try {
        pending.push_back(vision::load_image(input.size() > 7 ? input.substr(7) : ""));
        std::fprintf(stderr, "(image %dx%d attached to your next message)\n", pending.back().width, pending.back().height);
      } catch (const Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
      }
      continue;
    }
    std::string content;
    for (size_t i = 0; i < pending.size(); ++i) content += std::string(models::kImageMarker) + "\n";
    msgs.push_back({"user", content + input, {}, {}, {}});
    images.insert(images.end(), pending.begin(), pending.end());
    pending.clear();
    // The whole conversation, images expanded to embedding rows (cached, so old ones cost nothing).
    runtime::MixedPrompt mixed;
    if (images.empty()) mixed.tokens = model->tokenizer().encode(tmpl.render(msgs, true), false, true);
    else mixed = runtime::build_mixed_prompt(*model, *vision, session.pool(), tmpl.render(msgs, true), images, false);
    const auto& tokens = mixed.tokens;
    // Reuse the cached prefix; evaluate only what changed.
    size_t common = 0;
    const auto& hist = session.history();
    while (common < hist.size() && common < tokens.size() && hist[common] == tokens[common]) ++common;
    if (common == tokens.size()) --common;  // at least one token must be evaluated for fresh logits
    if (int(tokens.size()) >= session.n_ctx()) {
      std::fprintf(stderr, "(the conversation no longer fits in the context of %d tokens; /reset to start over)\n", session.n_ctx());
      msgs.pop_back();
      continue;
    }
    session.truncate(int(common));
    std::vector<int32_t> rest(tokens.begin() + std::ptrdiff_t(common), tokens.end());
    try {
      if (!mixed.embd.empty()) {  // embedding rows after the reused prefix go in through eval_mixed
        const size_t rows_before = size_t(std::count(tokens.begin(), tokens.begin() + std::ptrdiff_t(common),
                                                     runtime::Session::kEmbeddingInput));
        // Positions recomputed from 0 equal those the cached prefix was evaluated with.
        session.eval_mixed(rest, mixed.embd.data() + rows_before * size_t(model->n_embd()),
                           runtime::mixed_positions(*model, mixed, 0, common));
        rest.clear();
      }
      const auto r = session.generate(rest, sp, nullptr, [](int32_t, std::string_view t) {
        std::fwrite(t.data(), 1, t.size(), stdout);
        std::fflush(stdout);
        return true;
      });
      std::printf("\n");
      msgs.push_back({"assistant", r.text, {}, {}, {}});
      if (r.finish == runtime::FinishReason::context)
        std::fprintf(stderr, "(context full; /reset to start over)\n");
    } catch (const Error& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      msgs.pop_back();
    }
  }
  return 0;
}

}  // namespace omni::cli
