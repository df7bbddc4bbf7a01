// omni::Error: the one exception type library code throws for bad input or failed operations.
// It carries a code (mapped to exit status by the CLI and to an HTTP status by the server) and a
// message that says what was wrong and where.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace omni {

enum class ErrorCode {
  invalid_argument,   // a bad option, request field or value
  invalid_file,       // a malformed or truncated file (GGUF, audio, image, catalog ...)
  unsupported,        // well-formed but not supported (unknown architecture, tensor type ...)
  not_found,          // a missing file, tensor, key, model or action
  too_large,          // over a size, duration or pixel limit
  io,                 // an operating-system I/O failure
  network,            // a connection or protocol failure
  timeout,            // an operation ran past its time limit
  busy,               // a queue is full; try again later
  cancelled,          // the caller cancelled
  permission_denied,  // authentication or policy refused it
  internal,           // a bug: an invariant did not hold
};

const char* error_code_name(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

// cat(a, b, c ...): concatenates anything streamable into a string (for error messages).
template <typename... Args>
std::string cat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}

// fail(code, parts ...): throws omni::Error with the concatenated message.
template <typename... Args>
[[noreturn]] void fail(ErrorCode code, Args&&... args) {
  throw Error(code, cat(std::forward<Args>(args)...));
}

}  // namespace omni
