// Request/Response helpers, URL decoding and the OpenAI-style error JSON used by every route.
#include "server/http_types.hpp"

namespace omni::server {

std::string Request::header(const std::string& lower_name, const std::string& def) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? def : it->second;
}

Json Request::json_body() const {
  if (body.empty()) bad_request("the request body is empty; expected a JSON object");
  Json j = Json::parse(body, nullptr, false);
  if (j.is_discarded()) bad_request("the request body is not valid JSON");
  if (!j.is_object()) bad_request("the request body must be a JSON object");
  return j;
}

Response Response::json(const Json& j, int status) {
  Response r;
  r.status = status;
  r.body = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

Response Response::text(std::string body, std::string content_type, int status) {
  Response r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

void bad_request(const std::string& message, const std::string& param) {
  throw HttpError(400, "invalid_request_error", "invalid_request", message,
                  param.empty() ? std::nullopt : std::optional<std::string>(param));
}

void not_found(const std::string& message, const std::string& code) {
  throw HttpError(404, "invalid_request_error", code, message);
}

int status_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument: return 400;
    case ErrorCode::invalid_file: return 400;
    case ErrorCode::unsupported: return 415;
    case ErrorCode::not_found: return 404;
    case ErrorCode::too_large: return 413;
    case ErrorCode::io: return 500;
    case ErrorCode::network: return 502;
    case ErrorCode::timeout: return 504;
    case ErrorCode::busy: return 429;
    case ErrorCode::cancelled: return 499;
    case ErrorCode::permission_denied: return 403;
    case ErrorCode::internal: return 500;
  }
  return 500;
}

const char* error_type_for_status(int status) {
  switch (status) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "invalid_request_error";
    case 413: return "invalid_request_error";
    case 429: return "rate_limit_error";
    default: break;
  }
  if (status >= 500) return status == 503 ? "service_unavailable" : "server_error";
  return "invalid_request_error";
}

Json error_json(const std::string& message, const std::string& type, const std::string& code,
                const std::optional<std::string>& param) {
  Json e = {{"message", message}, {"type", type}, {"code", code}};
  e["param"] = param ? Json(*param) : Json(nullptr);
  return Json{{"error", e}};
}

Response error_response(int status, const std::string& message, const std::string& code,
                        const std::optional<std::string>& param) {
  return Response::json(error_json(message, error_type_for_status(status), code, param), status);
}

Response response_for_current_exception() {
  try {
    throw;
  } catch (const HttpError& e) {
    return Response::json(error_json(e.what(), e.type(), e.code(), e.param()), e.status());
  } catch (const Error& e) {
    int status = status_for(e.code());
    Response r = error_response(status, e.what(), error_code_name(e.code()));
    if (status == 429) r.headers.emplace_back("Retry-After", "1");
    return r;
  } catch (const Json::exception& e) {
    return error_response(400, std::string("invalid JSON value: ") + e.what(), "invalid_request");
  } catch (const std::bad_alloc&) {
    return error_response(507, "out of memory while handling the request", "out_of_memory");
  } catch (const std::exception& e) {
    return error_response(500, std::string("internal error: ") + e.what(), "internal_error");
  } catch (...) {
    return error_response(500, "internal error", "internal_error");
  }
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string url_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      int hi = i + 2 < s.size() ? hex_value(s[i + 1]) : -1;
      int lo = i + 2 < s.size() ? hex_value(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) bad_request(cat("bad percent-escape in URL at offset ", i));
      out.push_back(char(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    if (!part.empty()) {
      size_t eq = part.find('=');
      std::string key = url_decode(part.substr(0, eq), true);
      std::string value = eq == std::string_view::npos ? "" : url_decode(part.substr(eq + 1), true);
      out[key] = value;
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

}  // namespace omni::server
