// Test helpers for route tests: an in-process `omni serve` (build_services + every route) on a
// free loopback port, a blocking realtime/events WebSocket client, and small file helpers.
#pragma once
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "http_client.hpp"
#include "server/app.hpp"

namespace omni::test {

struct ApiServer {
  explicit ApiServer(server::ServeConfig c) : log(LogLevel::quiet) {
    c.server.port = 0;
    services = server::build_services(c, log);
    server = std::make_unique<server::Server>(c.server, log);
    server::register_all_routes(*server, services, server::RouteConfig{""});
    server->start();
  }
  ~ApiServer() { server->stop(); }
  int port() const { return server->port(); }
  Logger log;
  std::shared_ptr<server::Services> services;
  std::unique_ptr<server::Server> server;
};

inline std::string slurp_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

// A blocking WebSocket client: send JSON events, read JSON events one at a time.
class WsClient {
 public:
  WsClient(int port, const std::string& target) : ws_(ioc_) {
    ws_.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), uint16_t(port)));
    ws_.handshake("127.0.0.1", target);
  }
  ~WsClient() {
    beast::error_code ec;
    ws_.close(beast::websocket::close_code::normal, ec);
  }
  void send(const Json& j) { ws_.write(net::buffer(j.dump())); }
  Json next() {
    buf_.consume(buf_.size());
    ws_.read(buf_);
    return Json::parse(beast::buffers_to_string(buf_.data()));
  }
  // Reads events up to and including the first of type `type`; returns them all.
  std::vector<Json> until(const std::string& type) {
    std::vector<Json> out;
    do out.push_back(next());
    while (out.back()["type"] != type);
    return out;
  }

 private:
  net::io_context ioc_;
  beast::websocket::stream<tcp::socket> ws_;
  beast::flat_buffer buf_;
};

inline const Json* find_event(const std::vector<Json>& events, const std::string& type) {
  for (const auto& e : events)
    if (e["type"] == type) return &e;
  return nullptr;
}

}  // namespace omni::test
