// ProgressBar: a thread-safe progress line on stderr for long-running commands (make-model,
// quantize, pull ...). Draws only when stderr is a terminal (or when forced), at most ~10 times/s.
#pragma once
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace omni::cli {

class ProgressBar {
 public:
  enum class Unit { items, bytes };
  // enabled: -1 = when stderr is a tty (or OMNI_PROGRESS=1 is set), 0 = never, 1 = always.
  ProgressBar(std::string label, uint64_t total, Unit unit = Unit::bytes, int enabled = -1);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void add(uint64_t delta);         // thread-safe
  void set(uint64_t done);          // thread-safe
  void set_label(std::string label);
  void finish();                    // draws the final state and ends the line (idempotent)
  bool enabled() const { return enabled_; }
  uint64_t done() const { return done_; }

  // "1.5 GB", "312 MB", "20 KB", "12 B" (decimal units).
  static std::string format_bytes(double bytes);
  // The text of one progress line (exposed for tests): label [####----]  45%  1.2 GB / 2.7 GB ...
  static std::string render(const std::string& label, uint64_t done, uint64_t total, Unit unit,
                            double seconds, int width = 30);

 private:
  void draw_locked(bool final);

  std::string label_;
  uint64_t total_;
  uint64_t done_ = 0;
  Unit unit_;
  bool enabled_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
  std::mutex mutex_;
};

}  // namespace omni::cli
