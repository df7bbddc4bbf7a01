// Names of error codes (for logs, JSON errors and CLI messages).
#include "omni/error.hpp"

namespace omni {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument: return "invalid_argument";
    case ErrorCode::invalid_file: return "invalid_file";
    case ErrorCode::unsupported: return "unsupported";
    case ErrorCode::not_found: return "not_found";
    case ErrorCode::too_large: return "too_large";
    case ErrorCode::io: return "io_error";
    case ErrorCode::network: return "network_error";
    case ErrorCode::timeout: return "timeout";
    case ErrorCode::busy: return "busy";
    case ErrorCode::cancelled: return "cancelled";
    case ErrorCode::permission_denied: return "permission_denied";
    case ErrorCode::internal: return "internal_error";
  }
  return "unknown";
}

}  // namespace omni
