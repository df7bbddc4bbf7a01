// The agent facade: utterance (+ optional image) -> action via the tiered router (tier 0 template
// matcher, tier 1 LLM), policy check, execution, episode record, reply. Used by `omni act`, the server
// and the 3D console. Thread-safe: act() may be called from several threads at once.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "agent/catalog.hpp"

namespace omni::agent {

class EpisodeStore;
class Tier1Backend;  // tier1.hpp (RemoteTier1) / local_tier1.hpp (LocalTier1: the in-process engine)

// One turn of the conversation.
struct ActRequest {
  std::string text;                                // the utterance (ASR output or typed)
  std::optional<std::string> image_path_or_data;   // a path or data: URI (hashed into the episode)
  std::optional<std::string> audio_sha256;         // hash of the audio the text came from, if any
  bool dry_run = false;                            // decide everything, execute nothing
  std::string tier = "auto";                       // "0", "1" or "auto" (0 then 1)
  std::optional<uint64_t> seed;                    // tier-1 sampling seed
  std::string conversation_id = "default";         // pending confirmations are kept per conversation
  std::optional<bool> confirm_answer;              // an explicit yes/no for a pending confirmation
                                                   // (a text "yes"/"no"/"是"/"不" also works)
};

// What happened in one turn. to_json() is the shape `omni act --json` prints and the server returns.
struct ActResult {
  nlohmann::json action;            // {"action":"name", ...args}; null when nothing matched
  std::string action_name;          // "" when nothing matched
  std::string tier;                 // "0", "1", "confirm" (a yes/no turn), or "" when nothing matched
  double confidence = 0.0;          // 0..1
  std::string matched_template;     // tier 0: the template text that matched
  std::string raw_model_output;     // tier 1: what the model produced
  std::string policy;               // "allow", "confirm" (waiting for yes/no), "deny", "" (no action)
  bool executed = false;            // an executor ran (success or not)
  bool ok = false;                  // the executor succeeded
  nlohmann::json execution;         // executor result: {"ok":bool, "executor":"http", ...} or null
  std::string reply;                // text to show / speak
  nlohmann::json timings_ms = nlohmann::json::object();  // {"tier0":..,"tier1":..,"execute":..,"total":..}
  int64_t episode_id = -1;          // row in the episode store, -1 when not stored
  nlohmann::json to_json() const;
};

class Agent {
 public:
  struct Options {
    std::string catalog_path;     // empty: the built-in demo catalog
    std::string db_path;          // empty: no episode store
    bool dry_run = false;         // forces dry run for every request
    std::string llm_backend_url;  // remote OpenAI-compatible server for tier 1 ("" = none)
    std::string llm_model;        // model name sent to the remote server
    double tier0_min_confidence = 0.5;
    std::vector<std::string> exec_allow;  // extra programs allowed for the exec executor
  };

  explicit Agent(Options options);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Routes, checks, executes and records one turn. Never throws for bad utterances or executor
  // failures (they are recorded results); throws omni::Error only for a broken store.
  ActResult act(const ActRequest& request);

  const Catalog& catalog() const;

  // Scene executor events ({"type":"omni.action","action":{...}}) go to this sink (the console's
  // scene state). Replaces any previous sink; nullptr removes it.
  void set_scene_sink(std::function<void(const nlohmann::json& event)> sink);

  // Tier 1 backend (local engine or remote); the agent keeps it. nullptr disables tier 1.
  void set_tier1(std::shared_ptr<Tier1Backend> backend);
  bool has_tier1() const;

  // User feedback on an earlier episode: a reward and optionally the action that was meant.
  void feedback(int64_t episode_id, double reward, std::optional<nlohmann::json> corrected_action);

  EpisodeStore* episodes();  // null when no db_path

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace omni::agent
