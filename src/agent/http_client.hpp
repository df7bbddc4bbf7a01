// One blocking HTTP request through libcurl, shared by the http executor and the remote tier-1
// client (the curl handle setup, header list, body capture and timeouts in one place).
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace omni::agent {

struct HttpRequest {
  std::string url;
  std::string method = "POST";        // a body is sent for every method but GET
  std::string body;
  std::vector<std::string> headers;   // "Name: value"
  long timeout_ms = 3000;             // whole request, and the connection attempt
  size_t max_response_bytes = 64 * 1024;  // the response body is cut there
};

struct HttpReply {
  bool transport_ok = false;  // false: no HTTP answer (connection refused, DNS, timeout ...)
  bool timed_out = false;
  std::string error;          // libcurl's description when !transport_ok
  long status = 0;            // HTTP status when transport_ok
  std::string body;
};

HttpReply http_request(const HttpRequest& request);

}  // namespace omni::agent
