// Logger: levelled messages to a stream. Passed in where needed (no global logger).
#pragma once
#include <iostream>
#include <mutex>
#include <string>

#include "omni/error.hpp"

namespace omni {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3, quiet = 4 };

class Logger {
 public:
  explicit Logger(LogLevel level = LogLevel::info, std::ostream* out = &std::cerr) : level_(level), out_(out) {}
  LogLevel level() const { return level_; }
  void set_level(LogLevel l) { level_ = l; }

  template <typename... A> void debug(A&&... a) { write(LogLevel::debug, "debug", cat(std::forward<A>(a)...)); }
  template <typename... A> void info(A&&... a) { write(LogLevel::info, "info", cat(std::forward<A>(a)...)); }
  template <typename... A> void warn(A&&... a) { write(LogLevel::warn, "warn", cat(std::forward<A>(a)...)); }
  template <typename... A> void error(A&&... a) { write(LogLevel::error, "error", cat(std::forward<A>(a)...)); }

 private:
  void write(LogLevel l, const char* tag, const std::string& msg) {
    if (l < level_) return;
    std::lock_guard<std::mutex> lock(mutex_);
    (*out_) << "omni " << tag << ": " << msg << '\n';
    out_->flush();
  }
  LogLevel level_;
  std::ostream* out_;
  std::mutex mutex_;
};

}  // namespace omni
