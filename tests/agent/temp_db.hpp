// Per-process SQLite database paths for the agent tests. Each file (and its -wal/-shm companions)
// is removed before use and again when the test binary exits; only by the process that made it,
// not by a forked child.
#pragma once
#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace omni::test {

inline void remove_db_files(const std::string& p) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(p + suffix, ec);
}

// "/tmp/omni-<prefix>-<pid>-<name>.db", fresh.
inline std::string temp_db_path(const std::string& prefix, const std::string& name) {
  struct Registry {
    pid_t owner = ::getpid();
    std::vector<std::string> paths;
    ~Registry() {
      if (::getpid() != owner) return;
      for (const auto& p : paths) remove_db_files(p);
    }
  };
  static Registry registry;
  std::string p = "/tmp/omni-" + prefix + "-" + std::to_string(::getpid()) + "-" + name + ".db";
  registry.paths.push_back(p);
  remove_db_files(p);
  return p;
}

}  // namespace omni::test
