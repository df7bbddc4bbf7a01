// Episode store in SQLite (WAL); see episode_store.hpp.
#include "agent/episode_store.hpp"

#include <openssl/sha.h>

#include <sqlite3.h>

#include <array>
#include <chrono>
#include <cstring>

#include "omni/error.hpp"

namespace omni::agent {

using nlohmann::json;

namespace {

const char* k_schema = R"SQL(
CREATE TABLE IF NOT EXISTS episodes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  created_at REAL NOT NULL,
  conversation_id TEXT NOT NULL DEFAULT '',
  input_text TEXT NOT NULL DEFAULT '',
  audio_sha256 TEXT NOT NULL DEFAULT '',
  image_sha256 TEXT NOT NULL DEFAULT '',
  image_path TEXT NOT NULL DEFAULT '',
  tier TEXT NOT NULL DEFAULT '',
  prompt TEXT NOT NULL DEFAULT '',
  raw_model_output TEXT NOT NULL DEFAULT '',
  action TEXT NOT NULL DEFAULT 'null',
  policy TEXT NOT NULL DEFAULT '',
  execution TEXT NOT NULL DEFAULT 'null',
  reply TEXT NOT NULL DEFAULT '',
  timings_ms TEXT NOT NULL DEFAULT '{}',
  reward REAL,
  corrected_action TEXT NOT NULL DEFAULT 'null'
);
)SQL";

json parse_or_null(const unsigned char* text) {
  if (!text) return nullptr;
  try {
    return json::parse(reinterpret_cast<const char*>(text));
  } catch (...) {
    return nullptr;
  }
}

std::string col_text(sqlite3_stmt* st, int i) {
  const unsigned char* t = sqlite3_column_text(st, i);
  return t ? reinterpret_cast<const char*>(t) : "";
}

Episode read_row(sqlite3_stmt* st) {
  Episode e;
  e.id = sqlite3_column_int64(st, 0);
  e.created_at = sqlite3_column_double(st, 1);
  e.conversation_id = col_text(st, 2);
  e.input_text = col_text(st, 3);
  e.audio_sha256 = col_text(st, 4);
  e.image_sha256 = col_text(st, 5);
  e.image_path = col_text(st, 6);
  e.tier = col_text(st, 7);
  e.prompt = col_text(st, 8);
  e.raw_model_output = col_text(st, 9);
  e.action = parse_or_null(sqlite3_column_text(st, 10));
  e.policy = col_text(st, 11);
  e.execution = parse_or_null(sqlite3_column_text(st, 12));
  e.reply = col_text(st, 13);
  e.timings_ms = parse_or_null(sqlite3_column_text(st, 14));
  if (e.timings_ms.is_null()) e.timings_ms = json::object();
  if (sqlite3_column_type(st, 15) != SQLITE_NULL) e.reward = sqlite3_column_double(st, 15);
  e.corrected_action = parse_or_null(sqlite3_column_text(st, 16));
  return e;
}

const char* k_columns =
    "id, created_at, conversation_id, input_text, audio_sha256, image_sha256, image_path, tier, prompt, "
    "raw_model_output, action, policy, execution, reply, timings_ms, reward, corrected_action";

// RAII statement.
struct Stmt {
  sqlite3_stmt* st = nullptr;
  Stmt(sqlite3* db, const std::string& sql) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
      fail(ErrorCode::io, "episode store: cannot prepare statement: ", sqlite3_errmsg(db));
  }
  ~Stmt() { sqlite3_finalize(st); }
};

}  // namespace

EpisodeStore::EpisodeStore(const std::string& path) : path_(path) {
  int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    fail(ErrorCode::io, "episode store: cannot open '", path, "': ", msg);
  }
  sqlite3_busy_timeout(db_, 5000);
  char* err = nullptr;
  std::string setup = std::string("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;") + k_schema;
  if (sqlite3_exec(db_, setup.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    sqlite3_close(db_);
    db_ = nullptr;
    fail(ErrorCode::io, "episode store: cannot initialize '", path, "': ", msg);
  }
}

EpisodeStore::~EpisodeStore() {
  if (db_) sqlite3_close(db_);
}

int64_t EpisodeStore::add(const Episode& e) {
  std::lock_guard<std::mutex> lock(mutex_);
  Stmt s(db_,
         "INSERT INTO episodes (created_at, conversation_id, input_text, audio_sha256, image_sha256, image_path, tier, "
         "prompt, raw_model_output, action, policy, execution, reply, timings_ms, reward, corrected_action) "
         "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  double now = e.created_at > 0 ? e.created_at
                                : std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const std::string action = e.action.dump(), execution = e.execution.dump(), timings = e.timings_ms.dump(),
                    corrected = e.corrected_action.dump();
  sqlite3_bind_double(s.st, 1, now);
  const std::string* texts[] = {&e.conversation_id, &e.input_text, &e.audio_sha256, &e.image_sha256, &e.image_path, &e.tier,
                                &e.prompt, &e.raw_model_output, &action, &e.policy, &execution, &e.reply, &timings};
  for (int i = 0; i < 13; ++i) sqlite3_bind_text(s.st, 2 + i, texts[i]->c_str(), static_cast<int>(texts[i]->size()), SQLITE_TRANSIENT);
  if (e.reward) sqlite3_bind_double(s.st, 15, *e.reward);
  else sqlite3_bind_null(s.st, 15);
  sqlite3_bind_text(s.st, 16, corrected.c_str(), static_cast<int>(corrected.size()), SQLITE_TRANSIENT);
  if (sqlite3_step(s.st) != SQLITE_DONE) fail(ErrorCode::io, "episode store: insert failed: ", sqlite3_errmsg(db_));
  return sqlite3_last_insert_rowid(db_);
}

void EpisodeStore::set_feedback(int64_t id, double reward, const std::optional<json>& corrected_action) {
  std::lock_guard<std::mutex> lock(mutex_);
  Stmt s(db_, corrected_action ? "UPDATE episodes SET reward = ?, corrected_action = ? WHERE id = ?"
                               : "UPDATE episodes SET reward = ? WHERE id = ?");
  sqlite3_bind_double(s.st, 1, reward);
  std::string corrected = corrected_action ? corrected_action->dump() : "";
  if (corrected_action) {
    sqlite3_bind_text(s.st, 2, corrected.c_str(), static_cast<int>(corrected.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(s.st, 3, id);
  } else {
    sqlite3_bind_int64(s.st, 2, id);
  }
  if (sqlite3_step(s.st) != SQLITE_DONE) fail(ErrorCode::io, "episode store: update failed: ", sqlite3_errmsg(db_));
  if (sqlite3_changes(db_) == 0) fail(ErrorCode::not_found, "episode ", id, " not found in ", path_);
}

std::optional<Episode> EpisodeStore::get(int64_t id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  Stmt s(db_, std::string("SELECT ") + k_columns + " FROM episodes WHERE id = ?");
  sqlite3_bind_int64(s.st, 1, id);
  if (sqlite3_step(s.st) == SQLITE_ROW) return read_row(s.st);
  return std::nullopt;
}

std::vector<Episode> EpisodeStore::list(int64_t limit, int64_t offset) const {
  std::lock_guard<std::mutex> lock(mutex_);
  Stmt s(db_, std::string("SELECT ") + k_columns + " FROM episodes ORDER BY id DESC LIMIT ? OFFSET ?");
  sqlite3_bind_int64(s.st, 1, limit <= 0 ? -1 : limit);
  sqlite3_bind_int64(s.st, 2, offset < 0 ? 0 : offset);
  std::vector<Episode> out;
  int rc;
  while ((rc = sqlite3_step(s.st)) == SQLITE_ROW) out.push_back(read_row(s.st));
  if (rc != SQLITE_DONE) fail(ErrorCode::io, "episode store: query failed: ", sqlite3_errmsg(db_));
  return out;
}

int64_t EpisodeStore::count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Stmt s(db_, "SELECT COUNT(*) FROM episodes");
  if (sqlite3_step(s.st) != SQLITE_ROW) fail(ErrorCode::io, "episode store: count failed: ", sqlite3_errmsg(db_));
  return sqlite3_column_int64(s.st, 0);
}

// SHA-256 (FIPS 180-4), for content hashes of audio and images.
std::string sha256_hex(const std::string& bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(2 * SHA256_DIGEST_LENGTH);
  for (unsigned char b : digest) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

}  // namespace omni::agent
