// Server-side request/response types shared by the transport (server.cpp) and the route handlers:
// a parsed Request, a complete Response, the Responder a handler answers through (whole or SSE
// stream), and OpenAI-style error JSON with the omni::ErrorCode -> HTTP status mapping.
#pragma once
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "omni/error.hpp"

namespace omni::server {

using Json = nlohmann::json;

struct Request {
  std::string method;                          // "GET", "POST" ...
  std::string target;                          // "/v1/models?x=1"
  std::string path;                            // "/v1/models" (percent-decoded)
  std::map<std::string, std::string> query;    // decoded query parameters
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string remote;                          // "127.0.0.1:53211"

  std::string header(const std::string& lower_name, const std::string& def = "") const;
  // The body parsed as JSON; throws HttpError(400, invalid_request_error) with a clear message.
  Json json_body() const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers

  static Response json(const Json& j, int status = 200);
  static Response text(std::string body, std::string content_type = "text/plain; charset=utf-8", int status = 200);
};

// An error with an HTTP status and an OpenAI error type/code; thrown by handlers, caught by the
// dispatcher. omni::Error thrown by library code is mapped with status_for().
class HttpError : public std::runtime_error {
 public:
  HttpError(int status, std::string type, std::string code, const std::string& message,
            std::optional<std::string> param = std::nullopt)
      : std::runtime_error(message), status_(status), type_(std::move(type)), code_(std::move(code)),
        param_(std::move(param)) {}
  int status() const { return status_; }
  const std::string& type() const { return type_; }
  const std::string& code() const { return code_; }
  const std::optional<std::string>& param() const { return param_; }

 private:
  int status_;
  std::string type_, code_;
  std::optional<std::string> param_;
};

// Shorthands for the common client errors.
[[noreturn]] void bad_request(const std::string& message, const std::string& param = "");
[[noreturn]] void not_found(const std::string& message, const std::string& code = "not_found");

int status_for(ErrorCode code);                       // invalid_argument -> 400, too_large -> 413 ...
const char* error_type_for_status(int status);        // 400 -> "invalid_request_error" ...
Json error_json(const std::string& message, const std::string& type, const std::string& code,
                const std::optional<std::string>& param = std::nullopt);
Response error_response(int status, const std::string& message, const std::string& code,
                        const std::optional<std::string>& param = std::nullopt);
// Converts the exception currently being handled (HttpError, omni::Error, std::exception) into an
// error Response; unknown exceptions become 500 without leaking internals beyond what().
Response response_for_current_exception();

// How a handler answers. A handler either calls send() once, or begin_stream() then write()* then
// end(). Calls may come from a worker thread; write() blocks until the bytes are handed to the
// socket and returns false once the client is gone (the handler should then stop).
class Responder {
 public:
  virtual ~Responder() = default;
  virtual void send(Response response) = 0;
  virtual bool begin_stream(int status, const std::string& content_type,
                            std::vector<std::pair<std::string, std::string>> headers = {}) = 0;
  virtual bool write(const std::string& chunk) = 0;
  virtual void end() = 0;
  // True once the client disconnected, the request timed out or the server is shutting down.
  virtual bool cancelled() const = 0;
  // Shared flag a long computation may poll (same as cancelled()).
  virtual std::shared_ptr<std::atomic<bool>> cancel_flag() = 0;
  virtual bool answered() const = 0;

  // Server-sent events helpers: "data: <json>\n\n" and the final "data: [DONE]\n\n".
  bool sse(const Json& event) { return write("data: " + event.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n\n"); }
  bool sse_done() { return write("data: [DONE]\n\n"); }
};

std::string url_decode(std::string_view s, bool plus_is_space);
std::map<std::string, std::string> parse_query(std::string_view query);

}  // namespace omni::server
