// Server: the HTTP/1.1 + WebSocket transport on Boost.Beast/Asio. A pool of I/O threads parses
// requests and runs cheap handlers inline; heavy handlers run on worker threads and answer through
// a Responder (whole response or a chunked SSE stream). Handles auth, CORS, limits, metrics,
// client-disconnect cancellation, per-request timeouts and graceful shutdown. Knows no model:
// routes are registered by api_*.cpp files (see README-routes.md).
#pragma once
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "server/http_types.hpp"
#include "server/metrics.hpp"

namespace omni::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                         // 0: any free port (see Server::port())
  std::vector<std::string> api_keys;       // empty: no auth
  std::string cors_origin;                 // empty: CORS off; "*" or one origin
  int io_threads = 2;
  int worker_threads = 64;                 // blocking handlers (they mostly wait on the engine)
  size_t max_body_bytes = size_t(32) << 20;
  size_t max_ws_message_bytes = size_t(16) << 20;
  int max_in_flight = 48;                  // worker requests beyond this get 429 + Retry-After
  double request_timeout_s = 600;          // worker requests are cancelled after this
  double header_timeout_s = 30;            // slow clients are dropped after this
  double shutdown_grace_s = 5;             // in-flight work may finish for this long on stop()
};

// A WebSocket connection as seen by a handler; thread-safe.
class WsChannel {
 public:
  virtual ~WsChannel() = default;
  virtual bool send_text(std::string message) = 0;  // queued; false once closed
  virtual void close(int code, const std::string& reason) = 0;
  virtual bool is_open() const = 0;
};

// Per-connection WebSocket handler. Calls are serialised (never concurrent) and run on worker
// threads, in message order; the next frame is read only after on_message returns.
class WsHandler {
 public:
  virtual ~WsHandler() = default;
  virtual void on_open() {}
  virtual void on_message(const std::string& data, bool binary) = 0;
  virtual void on_close() {}
};

using Handler = std::function<void(const Request&, Responder&)>;
using WsFactory = std::function<std::shared_ptr<WsHandler>(const Request&, std::shared_ptr<WsChannel>)>;

struct Route {
  std::string method;        // "GET", "POST"
  std::string path;          // exact path, or a prefix when prefix = true
  bool prefix = false;
  bool is_public = false;    // no API key needed
  bool on_worker = true;     // false: runs inline on the I/O thread (must be quick, no streaming)
  bool long_lived = false;   // event streams: not counted in max_in_flight, cancelled at once on stop
  Handler handler;           // HTTP handler (may be empty for WebSocket-only routes)
  WsFactory websocket;       // set: the route accepts a WebSocket upgrade
  std::string metric_name;   // label in /metrics (defaults to path)
};

class Server {
 public:
  Server(ServerOptions options, Logger& log);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void add_route(Route route);  // before start()
  void start();                 // binds and starts the threads; throws omni::Error(io) if it cannot bind
  int port() const;             // the bound port
  std::string url() const;      // "http://127.0.0.1:PORT"
  // Graceful stop: refuse new connections, let in-flight work finish for shutdown_grace_s, then
  // cancel what is left, close WebSockets and join the threads. Idempotent, any thread.
  void stop();
  bool stopping() const;
  // Blocks until SIGINT or SIGTERM, then stop()s.
  void run_until_signal();
  Metrics& metrics();
  const ServerOptions& options() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

// Constant-time comparison of an API key.
bool api_key_matches(const std::vector<std::string>& keys, const std::string& presented);

}  // namespace omni::server
