// Internal to the server transport (server.cpp, websocket.cpp): shared state of a running Server,
// the buffered Responder used by inline handlers, and the WebSocket session entry point.
#pragma once
#include <utility>  // before Asio: its awaitable.hpp needs std::exchange
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <condition_variable>
#include <list>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "server/server.hpp"

namespace omni::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

class WsSessionBase {
 public:
  virtual ~WsSessionBase() = default;
  virtual void close(int code, const std::string& reason) = 0;
};

struct Server::State : std::enable_shared_from_this<Server::State> {
  State(ServerOptions o, Logger& l)
      : opts(std::move(o)), log(l), acceptor(ioc), workers(size_t(std::max(2, opts.worker_threads))) {}

  ServerOptions opts;
  Logger& log;
  Metrics metrics;
  std::vector<Route> routes;
  net::io_context ioc;
  // Keeps the I/O threads running while no socket operation is pending (workers still post to them).
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_guard;
  tcp::acceptor acceptor;
  net::thread_pool workers;
  std::vector<std::thread> io_threads;
  std::thread watchdog;
  int bound_port = 0;
  bool started = false, stopped = false;
  std::mutex stop_mutex;
  std::atomic<bool> stopping{false};

  // In-flight worker requests: their cancel flags and deadlines (the watchdog enforces both).
  struct Active {
    std::shared_ptr<std::atomic<bool>> flag;
    std::chrono::steady_clock::time_point deadline;
    bool long_lived;
  };
  std::mutex mutex;
  std::condition_variable idle_cv;
  std::list<Active> active;
  std::atomic<int> in_flight{0};
  bool cancel_all = false, watchdog_stop = false;

  std::mutex ws_mutex;
  std::set<std::weak_ptr<WsSessionBase>, std::owner_less<std::weak_ptr<WsSessionBase>>> websockets;

  std::shared_ptr<std::atomic<bool>> begin_worker(bool long_lived);
  void end_worker(const std::shared_ptr<std::atomic<bool>>& flag);
  const Route* find_route(const std::string& method, const std::string& path) const;
  bool path_exists(const std::string& path) const;
  void do_accept();
  void watchdog_loop();
  void close_websockets();
};

// Collects the one response of an inline handler.
class BufferResponder : public Responder {
 public:
  void send(Response r) override { response = std::move(r); answered_ = true; }
  bool begin_stream(int, const std::string&, std::vector<std::pair<std::string, std::string>>) override {
    fail(ErrorCode::internal, "inline handlers cannot stream");
  }
  bool write(const std::string&) override { return false; }
  void end() override {}
  bool cancelled() const override { return false; }
  std::shared_ptr<std::atomic<bool>> cancel_flag() override { return flag_; }
  bool answered() const override { return answered_; }
  Response response;

 private:
  bool answered_ = false;
  std::shared_ptr<std::atomic<bool>> flag_ = std::make_shared<std::atomic<bool>>(false);
};

// Takes over the socket of an upgrade request (websocket.cpp).
void start_websocket(beast::tcp_stream::socket_type socket, http::request<http::string_body> req, Request request,
                     WsFactory factory, Server::State* st);

}  // namespace omni::server
