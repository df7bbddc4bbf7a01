// ProgressBar implementation: one carriage-return-rewritten line on stderr with percent, amount,
// rate and estimated time left.
#include "cli/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace omni::cli {

namespace {

std::string format_duration(double s) {
  char buf[32];
  if (s < 60) std::snprintf(buf, sizeof buf, "%.0fs", s);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%dm%02ds", int(s) / 60, int(s) % 60);
  else std::snprintf(buf, sizeof buf, "%dh%02dm", int(s) / 3600, (int(s) % 3600) / 60);
  return buf;
}

}  // namespace

ProgressBar::ProgressBar(std::string label, uint64_t total, Unit unit, int enabled)
    : label_(std::move(label)), total_(total), unit_(unit) {
  if (enabled < 0) {
    const char* env = std::getenv("OMNI_PROGRESS");
    enabled_ = (env && std::strcmp(env, "1") == 0) || ::isatty(STDERR_FILENO);
  } else {
    enabled_ = enabled != 0;
  }
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

ProgressBar::~ProgressBar() { finish(); }

std::string ProgressBar::format_bytes(double b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) {
    b /= 1000;
    ++u;
  }
  char buf[32];
  if (u == 0) std::snprintf(buf, sizeof buf, "%.0f B", b);
  else std::snprintf(buf, sizeof buf, b < 10 ? "%.2f %s" : b < 100 ? "%.1f %s" : "%.0f %s", b, units[u]);
  return buf;
}

std::string ProgressBar::render(const std::string& label, uint64_t done, uint64_t total, Unit unit, double seconds,
                                int width) {
  const double frac = total ? std::min(1.0, double(done) / double(total)) : 1.0;
  const int filled = int(frac * width + 0.5);
  std::string line = label + " [" + std::string(size_t(filled), '#') + std::string(size_t(width - filled), '-') + "] ";
  char pct[16];
  std::snprintf(pct, sizeof pct, "%3d%%", int(frac * 100));
  line += pct;
  if (unit == Unit::bytes) line += "  " + format_bytes(double(done)) + " / " + format_bytes(double(total));
  else line += "  " + std::to_string(done) + " / " + std::to_string(total);
  if (seconds > 0.2 && done > 0) {
    const double rate = double(done) / seconds;
    line += unit == Unit::bytes ? "  " + format_bytes(rate) + "/s" : "  " + std::to_string(uint64_t(rate)) + "/s";
    if (done < total) line += "  ETA " + format_duration(double(total - done) / rate);
    else line += "  " + format_duration(seconds);
  }
  return line;
}

void ProgressBar::draw_locked(bool final) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!final && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double secs = std::chrono::duration<double>(now - start_).count();
  std::string line = render(label_, done_, total_, unit_, secs);
  std::fprintf(stderr, "\r%s\033[K%s", line.c_str(), final ? "\n" : "");
  std::fflush(stderr);
}

void ProgressBar::add(uint64_t delta) {
  std::lock_guard<std::mutex> lock(mutex_);
  done_ += delta;
  draw_locked(false);
}

void ProgressBar::set(uint64_t done) {
  std::lock_guard<std::mutex> lock(mutex_);
  done_ = done;
  draw_locked(false);
}

void ProgressBar::set_label(std::string label) {
  std::lock_guard<std::mutex> lock(mutex_);
  label_ = std::move(label);
}

void ProgressBar::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return;
  finished_ = true;
  draw_locked(true);
}

}  // namespace omni::cli
