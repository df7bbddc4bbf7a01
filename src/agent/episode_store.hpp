// The episode store: every turn (input, hashes of audio/images, tier, raw model output, action,
// policy decision, executor result, per-stage latency, user feedback) in SQLite (WAL mode,
// synchronous=FULL: a committed episode survives kill -9 and power loss). Thread-safe.
#pragma once
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

struct sqlite3;

namespace omni::agent {

struct Episode {
  int64_t id = -1;
  double created_at = 0;          // unix seconds
  std::string conversation_id;
  std::string input_text;
  std::string audio_sha256;       // "" when the turn had no audio
  std::string image_sha256;       // "" when the turn had no image
  std::string image_path;         // kept for dataset export when the image was a file
  std::string tier;               // "0", "1", "" (not understood), "confirm" (a yes/no turn)
  std::string prompt;             // tier 1: the messages sent to the model (JSON), else ""
  std::string raw_model_output;
  nlohmann::json action;          // null when nothing matched
  std::string policy;             // allow / confirm / deny / ""
  nlohmann::json execution;       // executor result or null
  std::string reply;
  nlohmann::json timings_ms = nlohmann::json::object();
  std::optional<double> reward;   // user feedback
  nlohmann::json corrected_action;  // null unless the user gave the right action
};

class EpisodeStore {
 public:
  // Opens (creating when missing) the database; throws omni::Error(io) naming the path on failure.
  explicit EpisodeStore(const std::string& path);
  ~EpisodeStore();
  EpisodeStore(const EpisodeStore&) = delete;
  EpisodeStore& operator=(const EpisodeStore&) = delete;

  int64_t add(const Episode& e);  // returns the new id (committed when this returns)
  // Records feedback; throws omni::Error(not_found) for an unknown id.
  void set_feedback(int64_t id, double reward, const std::optional<nlohmann::json>& corrected_action);
  std::optional<Episode> get(int64_t id) const;
  // Newest first. limit <= 0: all.
  std::vector<Episode> list(int64_t limit = 50, int64_t offset = 0) const;
  int64_t count() const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
  mutable std::mutex mutex_;
};

// Hex SHA-256 of bytes (for audio / image hashes).
std::string sha256_hex(const std::string& bytes);

}  // namespace omni::agent
