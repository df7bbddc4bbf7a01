// A per-process scratch directory for the vision tests, removed with everything in it when the
// test binary exits (also after a failed ASSERT), so no files are left behind in the temp dir.
#pragma once
#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace omni::test {

class VisionTempDir {
 public:
  VisionTempDir()
      : owner_(::getpid()),
        path_(std::filesystem::temp_directory_path() / ("omni_vision_tests_" + std::to_string(owner_))) {
    std::filesystem::create_directories(path_);
  }
  ~VisionTempDir() {
    std::error_code ec;
    if (::getpid() == owner_) std::filesystem::remove_all(path_, ec);  // not from a forked child
  }
  VisionTempDir(const VisionTempDir&) = delete;
  VisionTempDir& operator=(const VisionTempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  pid_t owner_;
  std::filesystem::path path_;
};

// The path of `name` inside this process's scratch directory.
inline std::string vision_temp_path(const std::string& name) {
  static VisionTempDir dir;
  return (dir.path() / name).string();
}

}  // namespace omni::test
