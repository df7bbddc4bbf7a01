// SceneState: the server's one shared room. Thread-safe; applies scene actions, persists every
// change to SQLite (so a restart restores the room) and tells subscribers (the broadcast channel).
#pragma once
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "agent/scene/scene_model.hpp"

struct sqlite3;

namespace omni::agent::scene {

// The event every client gets after a change: {"type":"omni.scene","revision":N,"action":{...},
// "changes":[...],"summary":"...","state":{...full state...}}.
json scene_event(const SceneChange& change, const json& action, const json& state);

class SceneState {
 public:
  // db_path: the SQLite file holding the scene (created if missing; its last state is restored);
  // "" keeps the scene in memory only. Throws omni::Error(io/invalid_file) when the file cannot be
  // opened or holds a malformed state.
  explicit SceneState(const std::string& db_path = "");
  ~SceneState();
  SceneState(const SceneState&) = delete;
  SceneState& operator=(const SceneState&) = delete;

  // Applies one scene action (see apply_action), saves the new state and calls every subscriber
  // with the scene event (outside the lock, in subscription order). Returns that event. Throws
  // omni::Error for a bad action; the scene and the database are then unchanged.
  json apply(const json& action);

  // Back to the default empty room (one saved change; subscribers hear a clear_scene event).
  json reset();

  json state() const;          // the full state as JSON (see to_json)
  SceneModel model() const;    // a copy of the model
  long long revision() const;

  // Subscribers get every scene event; returns an id for unsubscribe. Callbacks must not call
  // back into apply() (they run on the applying thread).
  using Listener = std::function<void(const json& event)>;
  int subscribe(Listener listener);
  void unsubscribe(int id);

 private:
  void save_locked();
  json publish(const SceneChange& change, const json& action, SceneModel&& next);

  std::mutex apply_mutex_;  // serialises apply/reset so events reach listeners in revision order
  mutable std::mutex mutex_;
  SceneModel model_;
  sqlite3* db_ = nullptr;
  std::string db_path_;
  std::mutex listeners_mutex_;
  std::vector<std::pair<int, Listener>> listeners_;
  int next_listener_ = 1;
};

}  // namespace omni::agent::scene
