// `omni episodes list|export|feedback`: browse the episode store, export it as an ms-swift dataset
// (sft / dpo / kto JSONL), and record feedback on an episode.
#include <cstdlib>
#include <iomanip>
#include <iostream>

#include "agent/catalog.hpp"
#include "agent/dataset_export.hpp"
#include "agent/episode_store.hpp"
#include "cli/commands.hpp"
#include "omni/error.hpp"

namespace omni::cli {

using nlohmann::json;

std::string default_episode_db() {
  if (const char* env = std::getenv("OMNI_EPISODES_DB"); env && *env) return env;
  std::string base;
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) base = x;
  else if (const char* h = std::getenv("HOME"); h && *h) base = std::string(h) + "/.local/share";
  else base = ".";
  return base + "/omni/episodes.db";
}

extern const CommandSpec k_episodes_list_spec = {
    "episodes list", "omni episodes list [--db PATH] [--limit N] [--json]",
    "List recorded episodes (newest first).", "",
    {{"db", 0, true, "PATH", "episode database (default $OMNI_EPISODES_DB or ~/.local/share/omni/episodes.db)"},
     {"limit", 'n', true, "N", "how many (default 20, 0 = all)"},
     {"json", 0, false, "", "one JSON object per line"}},
    0, 0};

extern const CommandSpec k_episodes_export_spec = {
    "episodes export", "omni episodes export --format sft|dpo|kto [--db PATH] [--catalog C] OUT.jsonl",
    "Export episodes as an ms-swift training dataset (JSONL).",
    "sft: every understood episode without negative feedback (corrections replace the action).\n"
    "dpo: corrected episodes: the correction is chosen, the original is rejected_response.\n"
    "kto: episodes with feedback, label = reward > 0.",
    {{"db", 0, true, "PATH", "episode database"},
     {"format", 'f', true, "sft|dpo|kto", "dataset kind (required)"},
     {"catalog", 0, true, "FILE", "catalog for the system prompt (default: the demo catalog)"}},
    1, 1};

extern const CommandSpec k_episodes_feedback_spec = {
    "episodes feedback", "omni episodes feedback [--db PATH] [--correct JSON] ID REWARD",
    "Record a reward (and optionally the right action) for an episode.", "",
    {{"db", 0, true, "PATH", "episode database"},
     {"correct", 0, true, "JSON", "the action that was meant, e.g. '{\"action\":\"light\",\"state\":\"off\"}'"}},
    2, 2};

int run_episodes_list(const Args& args) {
  agent::EpisodeStore store(args.get("db", default_episode_db()));
  auto eps = store.list(args.get_int("limit", 20));
  for (const auto& e : eps) {
    if (args.has("json")) {
      json j{{"id", e.id}, {"created_at", e.created_at}, {"input_text", e.input_text}, {"tier", e.tier},
             {"action", e.action}, {"policy", e.policy}, {"execution", e.execution}, {"reply", e.reply},
             {"timings_ms", e.timings_ms}, {"reward", e.reward ? json(*e.reward) : json(nullptr)},
             {"corrected_action", e.corrected_action}, {"audio_sha256", e.audio_sha256}, {"image_sha256", e.image_sha256}};
      std::cout << j.dump() << "\n";
    } else {
      std::cout << std::setw(5) << e.id << "  tier " << std::setw(7) << std::left << (e.tier.empty() ? "-" : e.tier) << std::right
                << "  " << e.input_text << "  ->  " << (e.action.is_null() ? "null" : e.action.dump());
      if (!e.policy.empty()) std::cout << "  [" << e.policy << (e.execution.is_object() ? (e.execution.value("ok", false) ? ", ok" : ", failed") : "") << "]";
      if (e.reward) std::cout << "  reward " << *e.reward;
      std::cout << "\n";
    }
  }
  if (!args.has("json")) std::cerr << eps.size() << " of " << store.count() << " episodes\n";
  return 0;
}

int run_episodes_export(const Args& args) {
  agent::DatasetFormat fmt = agent::parse_dataset_format(args.require("format"));
  agent::EpisodeStore store(args.get("db", default_episode_db()));
  agent::Catalog catalog = args.has("catalog") ? agent::Catalog::load_file(args.get("catalog", "")) : agent::Catalog::demo();
  auto rows = agent::export_rows(store.list(0), catalog, fmt);
  for (const auto& r : rows) {
    std::string err = agent::check_swift_row(r, fmt);
    if (!err.empty()) fail(ErrorCode::internal, "export produced an invalid row: ", err);
  }
  size_t n = agent::write_jsonl(rows, args.positional()[0]);
  std::cerr << "wrote " << n << " " << args.require("format") << " rows to " << args.positional()[0] << "\n";
  return 0;
}

int run_episodes_feedback(const Args& args) {
  agent::EpisodeStore store(args.get("db", default_episode_db()));
  int64_t id = 0;
  double reward = 0;
  try {
    id = std::stoll(args.positional()[0]);
    reward = std::stod(args.positional()[1]);
  } catch (...) {
    fail(ErrorCode::invalid_argument, "ID must be an integer and REWARD a number");
  }
  std::optional<json> corrected;
  if (args.has("correct")) {
    try {
      corrected = json::parse(args.get("correct", ""));
    } catch (const std::exception& e) {
      fail(ErrorCode::invalid_argument, "--correct is not valid JSON: ", e.what());
    }
    agent::Catalog catalog = agent::Catalog::demo();
    std::string err = catalog.validate_action(*corrected);
    if (!err.empty()) std::cerr << "warning: the correction is not valid for the demo catalog: " << err << "\n";
  }
  store.set_feedback(id, reward, corrected);
  std::cerr << "recorded feedback for episode " << id << "\n";
  return 0;
}

}  // namespace omni::cli
