// Test helpers: a tiny blocking HTTP/1.1 + WebSocket client on loopback (Boost.Beast), raw socket
// writes for malformed requests, and the process's resident set size.
#pragma once
#include <utility>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <fstream>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace omni::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Json = nlohmann::json;

struct HttpResult {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  Json json() const { return Json::parse(body, nullptr, false); }
  std::string header(const std::string& n) const { auto it = headers.find(n); return it == headers.end() ? "" : it->second; }
};

inline HttpResult http_request(int port, const std::string& method, const std::string& target, const std::string& body = "",
                               std::map<std::string, std::string> headers = {}) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), uint16_t(port)));
  stream.expires_after(std::chrono::seconds(60));
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "127.0.0.1");
  if (!body.empty() && !headers.count("Content-Type")) req.set(http::field::content_type, "application/json");
  for (auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(256u << 20);
  http::read(stream, buf, parser);
  auto res = parser.release();
  HttpResult r;
  r.status = int(res.result_int());
  for (auto& f : res) {
    std::string n(f.name_string());
    for (auto& c : n) c = char(std::tolower(uint8_t(c)));
    r.headers[n] = std::string(f.value());
  }
  r.body = res.body();
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return r;
}

// Writes raw bytes, half-closes, and reads whatever comes back until EOF (or timeout).
inline std::string raw_exchange(int port, const std::string& bytes, int timeout_ms = 5000, bool half_close = true,
                                bool* closed_by_peer = nullptr) {
  net::io_context ioc;
  tcp::socket s(ioc);
  s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), uint16_t(port)));
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  beast::error_code ec;
  net::write(s, net::buffer(bytes), ec);
  if (half_close) s.shutdown(tcp::socket::shutdown_send, ec);
  // Plain recv(): Asio's blocking reads would ignore SO_RCVTIMEO and wait forever.
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(s.native_handle(), buf, sizeof buf, 0);
    if (closed_by_peer) *closed_by_peer = n == 0 || (n < 0 && errno == ECONNRESET);
    if (n <= 0) break;
    out.append(buf, size_t(n));
  }
  return out;
}

inline int status_of_raw(const std::string& response) {
  if (response.size() < 12 || response.rfind("HTTP/1.1 ", 0) != 0) return 0;
  return std::atoi(response.substr(9, 3).c_str());
}

inline std::string body_of_raw(const std::string& response) {
  size_t p = response.find("\r\n\r\n");
  return p == std::string::npos ? "" : response.substr(p + 4);
}

#if defined(__SANITIZE_ADDRESS__)
// libasan's: drains the quarantine (freed memory ASan holds back to catch use-after-free) and
// returns free memory to the OS, so RSS measures live memory rather than the quarantine.
extern "C" void __sanitizer_purge_allocator();
#endif

// Extra RSS growth allowed in a sanitizer build: ASan's allocator keeps per-size-class caches and
// metadata that grow over thousands of requests even when nothing leaks. There LeakSanitizer (run
// at exit by every test) is the leak check; the release build keeps the strict bound.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr long kRssSlackKb = 64 * 1024;
#else
inline constexpr long kRssSlackKb = 0;
#endif

inline long rss_kb() {
#if defined(__SANITIZE_ADDRESS__)
  __sanitizer_purge_allocator();
#endif
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return 0;
}

// Asserts an OpenAI-style error body: {"error":{"message":str,"type":str,"code":...}}.
inline bool is_openai_error(const std::string& body) {
  Json j = Json::parse(body, nullptr, false);
  return j.is_object() && j.contains("error") && j["error"].is_object() && j["error"].contains("message") &&
         j["error"]["message"].is_string() && !j["error"]["message"].get<std::string>().empty() &&
         j["error"].contains("type") && j["error"]["type"].is_string() && j["error"].contains("code");
}

}  // namespace omni::test
