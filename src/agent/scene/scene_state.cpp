// SceneState: a mutex-guarded SceneModel saved to SQLite (WAL) after every change, with listeners
// that receive each change as an omni.scene event.
#include "agent/scene/scene_state.hpp"

#include <sqlite3.h>

#include "omni/error.hpp"

namespace omni::agent::scene {

namespace {

void exec_or_fail(sqlite3* db, const char* sql, const std::string& where) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    fail(ErrorCode::io, "scene store ", where, ": ", msg);
  }
}

}  // namespace

json scene_event(const SceneChange& change, const json& action, const json& state) {
  return {{"type", "omni.scene"}, {"revision", state.at("revision")}, {"action", action},
          {"changes", change.changes}, {"summary", change.summary}, {"state", state}};
}

SceneState::SceneState(const std::string& db_path) : model_(default_scene()), db_path_(db_path) {
  if (db_path.empty()) return;
  if (sqlite3_open_v2(db_path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    fail(ErrorCode::io, "scene store: cannot open '", db_path, "': ", msg);
  }
  try {
    sqlite3_busy_timeout(db_, 5000);
    exec_or_fail(db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", db_path);
    exec_or_fail(db_,
                 "CREATE TABLE IF NOT EXISTS scene_state (id INTEGER PRIMARY KEY CHECK (id = 1), revision INTEGER NOT NULL, "
                 "state TEXT NOT NULL, updated_at TEXT NOT NULL DEFAULT (datetime('now')))",
                 db_path);
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, "SELECT state FROM scene_state WHERE id = 1", -1, &st, nullptr) != SQLITE_OK)
      fail(ErrorCode::io, "scene store ", db_path, ": ", sqlite3_errmsg(db_));
    std::string text;
    bool found = sqlite3_step(st) == SQLITE_ROW;
    if (found) {
      const unsigned char* p = sqlite3_column_text(st, 0);
      text = p ? reinterpret_cast<const char*>(p) : "";
    }
    sqlite3_finalize(st);
    if (found) {
      json j = json::parse(text, nullptr, false);
      if (j.is_discarded()) fail(ErrorCode::invalid_file, "scene store ", db_path, ": the saved state is not JSON");
      model_ = scene_from_json(j);
    }
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

SceneState::~SceneState() {
  if (db_) sqlite3_close(db_);
}

void SceneState::save_locked() {
  if (!db_) return;
  std::string text = to_json(model_).dump();
  sqlite3_stmt* st = nullptr;
  const char* sql = "INSERT INTO scene_state (id, revision, state, updated_at) VALUES (1, ?, ?, datetime('now')) "
                    "ON CONFLICT(id) DO UPDATE SET revision = excluded.revision, state = excluded.state, updated_at = excluded.updated_at";
  if (sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) != SQLITE_OK)
    fail(ErrorCode::io, "scene store ", db_path_, ": ", sqlite3_errmsg(db_));
  sqlite3_bind_int64(st, 1, model_.revision);
  sqlite3_bind_text(st, 2, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) fail(ErrorCode::io, "scene store ", db_path_, ": cannot save: ", sqlite3_errmsg(db_));
}

json SceneState::publish(const SceneChange& change, const json& action, SceneModel&& next) {
  json event;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    SceneModel previous = std::move(model_);
    model_ = std::move(next);
    try {
      save_locked();
    } catch (...) {
      model_ = std::move(previous);
      throw;
    }
    event = scene_event(change, action, to_json(model_));
  }
  std::vector<Listener> listeners;
  {
    std::lock_guard<std::mutex> lock(listeners_mutex_);
    for (const auto& [id, l] : listeners_) listeners.push_back(l);
  }
  for (const auto& l : listeners) l(event);
  return event;
}

json SceneState::apply(const json& action) {
  // apply_action works on a copy and only commits on success, but two appliers must not interleave:
  // the change is computed and published under the state lock order below.
  std::lock_guard<std::mutex> serial(apply_mutex_);
  SceneModel next = model();
  SceneChange change = apply_action(next, action);
  return publish(change, action, std::move(next));
}

json SceneState::reset() {
  std::lock_guard<std::mutex> serial(apply_mutex_);
  SceneModel next = default_scene();
  SceneModel current = model();
  next.revision = current.revision + 1;
  next.next_serial = current.next_serial;
  SceneChange change{"clear_scene", json::array({{{"op", "clear"}}}), "reset the room"};
  return publish(change, {{"action", "clear_scene"}}, std::move(next));
}

json SceneState::state() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return to_json(model_);
}

SceneModel SceneState::model() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return model_;
}

long long SceneState::revision() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return model_.revision;
}

int SceneState::subscribe(Listener listener) {
  std::lock_guard<std::mutex> lock(listeners_mutex_);
  int id = next_listener_++;
  listeners_.emplace_back(id, std::move(listener));
  return id;
}

void SceneState::unsubscribe(int id) {
  std::lock_guard<std::mutex> lock(listeners_mutex_);
  std::erase_if(listeners_, [id](const auto& p) { return p.first == id; });
}

}  // namespace omni::agent::scene
