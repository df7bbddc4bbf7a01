// `omni act`: one utterance -> action via the agent (tier 0 templates, tier 1 LLM), policy,
// execution and episode record. Prints the action and result; --json prints one object.
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "agent/agent.hpp"
#include "agent/episode_store.hpp"
#include "agent/local_tier1.hpp"
#include "agent/tier1.hpp"
#include "runtime/model.hpp"
#include "cli/commands.hpp"
#include "models/mmproj.hpp"
#include "omni/error.hpp"

namespace omni::cli {

std::string default_episode_db();  // cmd_episodes.cpp

extern const CommandSpec k_act_spec = {
    "act",
    "omni act [--catalog C] [-m MODEL [--mmproj F]] [--llm-backend URL] [--image IMG] [--tier 0|1|auto] [--seed S] [--dry-run] [--json] [--explain] \"utterance\"",
    "Turn an utterance into an action, check it, execute it and record the episode.",
    "Routes the utterance through tier 0 (the catalog's templates, no model) and, when that finds\n"
    "nothing, tier 1 (an LLM constrained by the catalog's schema: --llm-backend URL for an\n"
    "OpenAI-compatible server). Actions marked confirm wait for a yes/no turn (--yes answers it).\n"
    "Without --catalog the built-in demo catalog is used (lights, fans, temperature, camera, timers,\n"
    "share, door locks and the 3D room). An utterance that matches nothing prints \"action\": null\n"
    "and exits 0. Episodes go to --db (default $OMNI_EPISODES_DB or ~/.local/share/omni/episodes.db;\n"
    "--no-record to skip). --image passes a screenshot or photo to tier 1 (screen grounding: \"share\n"
    "this table with Li\"): a local model needs its --mmproj; a --llm-backend receives it as an\n"
    "image_url part.",
    {
        {"catalog", 0, true, "FILE", "action catalog (YAML or JSON); default: the built-in demo catalog"},
        {"model", 'm', true, "MODEL", "local GGUF model for tier 1"},
        {"mmproj", 0, true, "FILE", "vision projector for the local model (needed to see --image)"},
        {"image", 0, true, "IMG", "a screenshot or photo the utterance refers to"},
        {"llm-backend", 0, true, "URL", "OpenAI-compatible server for tier 1 (e.g. http://127.0.0.1:8000)"},
        {"llm-model", 0, true, "NAME", "model name sent to --llm-backend"},
        {"tier", 0, true, "0|1|auto", "which tier to use (default auto: 0 then 1)"},
        {"seed", 0, true, "S", "tier-1 sampling seed"},
        {"dry-run", 0, false, "", "decide everything, execute nothing"},
        {"yes", 'y', false, "", "confirm an action that asks for confirmation"},
        {"json", 0, false, "", "print one JSON object"},
        {"explain", 0, false, "", "also print the tier, matched template, confidence and timings"},
        {"db", 0, true, "PATH", "episode database (SQLite)"},
        {"no-record", 0, false, "", "do not record the episode"},
        {"allow-exec", 0, true, "PROGRAM", "allow the exec executor to run this absolute path", true},
    },
    1,
    1};

int run_act(const Args& args) {
  agent::Agent::Options opt;
  opt.catalog_path = args.get("catalog", "");
  opt.llm_backend_url = args.get("llm-backend", "");
  opt.llm_model = args.get("llm-model", "");
  opt.exec_allow = args.values("allow-exec");
  if (!args.has("no-record")) opt.db_path = args.get("db", default_episode_db());
  if (!opt.db_path.empty()) {
    std::error_code ec;
    auto parent = std::filesystem::path(opt.db_path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  }
  agent::Agent agent(opt);
  if (args.has("model")) {
    if (!opt.llm_backend_url.empty()) fail(ErrorCode::invalid_argument, "give either -m MODEL or --llm-backend URL, not both");
    auto local = std::make_shared<agent::LocalTier1>(runtime::Model::load(args.get("model", "")));
    if (args.has("mmproj")) local->set_vision(models::VisionModel::load(args.get("mmproj", "")));
    agent.set_tier1(local);
  } else if (args.has("mmproj")) {
    fail(ErrorCode::invalid_argument, "--mmproj belongs to a local model: give -m MODEL too");
  }
  agent::ActRequest req;
  req.text = args.positional()[0];
  req.dry_run = args.has("dry-run");
  if (args.has("image")) {
    const std::string image = args.get("image", "");
    vision::load_image(image);  // a clear error now for a missing or corrupt image
    req.image_path_or_data = image;
  }
  req.tier = args.get("tier", "auto");
  if (args.has("seed")) req.seed = static_cast<uint64_t>(args.get_int("seed", 0));
  if (args.has("yes")) req.confirm_answer = true;
  req.conversation_id = "cli";
  if (req.tier == "1" && !agent.has_tier1())
    fail(ErrorCode::invalid_argument, "--tier 1 needs a model: give -m MODEL or --llm-backend URL");
  agent::ActResult r = agent.act(req);
  if (args.has("json")) {
    std::cout << r.to_json().dump() << "\n";
    return 0;
  }
  if (r.action.is_null()) {
    std::cout << "action: null\n" << r.reply << "\n";
  } else {
    std::cout << "action: " << r.action.dump() << "\n";
    std::cout << "policy: " << r.policy;
    if (r.policy == "allow") std::cout << (r.executed ? (r.ok ? " (executed)" : " (failed)") : " (dry run, not executed)");
    std::cout << "\n";
    if (!r.execution.is_null()) std::cout << "result: " << r.execution.dump() << "\n";
    std::cout << r.reply << "\n";
    if (r.policy == "confirm") std::cout << "(run again with --yes to confirm)\n";
  }
  if (args.has("explain")) {
    std::cout << "tier: " << (r.tier.empty() ? "none" : r.tier) << "  confidence: " << r.confidence << "\n";
    if (!r.matched_template.empty()) std::cout << "template: " << r.matched_template << "\n";
    if (!r.raw_model_output.empty()) std::cout << "model output: " << r.raw_model_output << "\n";
    std::cout << "timings (ms): " << r.timings_ms.dump() << "\n";
    if (r.episode_id >= 0) std::cout << "episode: " << r.episode_id << "\n";
  }
  return 0;
}

}  // namespace omni::cli
