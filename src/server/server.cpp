// Server transport: listener, HTTP sessions (keep-alive, Expect: 100-continue, early 413, chunked
// SSE streaming, disconnect detection), dispatch with auth/CORS/limits, graceful shutdown.
// WebSocket sessions live in websocket.cpp.
#include "server/server.hpp"

#include <utility>  // before Asio: its awaitable.hpp needs std::exchange
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <future>
#include <list>
#include <mutex>
#include <optional>
#include <thread>

#include "server/server_state.hpp"

namespace omni::server {

bool api_key_matches(const std::vector<std::string>& keys, const std::string& presented) {
  bool ok = false;
  for (const auto& k : keys) {
    unsigned diff = unsigned(k.size() ^ presented.size());
    for (size_t i = 0; i < presented.size(); ++i) diff |= unsigned(uint8_t(presented[i]) ^ uint8_t(k[i % std::max<size_t>(1, k.size())]));
    if (k.empty()) diff |= 1;
    ok |= diff == 0;
  }
  return ok;
}

// ---------------------------------------------------------------------------------------------
// HttpSession

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, Server::State* st) : stream_(std::move(socket)), st_(std::move(st)) {}
  void start() { net::dispatch(stream_.get_executor(), beast::bind_front_handler(&HttpSession::read_header, shared_from_this())); }

  // --- used by WorkerResponder from worker threads (each call blocks until done on the strand)
  bool post_and_wait(std::function<void(std::function<void(bool)>)> op) {
    auto promise = std::make_shared<std::promise<bool>>();
    auto fut = promise->get_future();
    net::post(stream_.get_executor(), [self = shared_from_this(), op = std::move(op), promise]() mutable {
      op([promise](bool ok) { promise->set_value(ok); });
    });
    return fut.get();
  }
  void write_whole(Response r, std::function<void(bool)> done) { write_response(std::move(r), std::move(done)); }
  void write_stream_head(int status, const std::string& ctype, std::vector<std::pair<std::string, std::string>> hdrs,
                         std::function<void(bool)> done) {
    status_ = status;
    auto head = std::make_shared<http::response<http::empty_body>>();
    head->result(unsigned(status));
    head->version(11);
    head->set(http::field::server, "omni/" OMNI_VERSION);
    head->set(http::field::content_type, ctype);
    head->set(http::field::cache_control, "no-cache");
    head->set("X-Accel-Buffering", "no");
    for (auto& [k, v] : cors_headers_) head->set(k, v);
    for (auto& [k, v] : hdrs) head->set(k, v);
    head->keep_alive(keep_alive_ && !st_->stopping);
    head->chunked(true);
    auto sr = std::make_shared<http::response_serializer<http::empty_body>>(*head);
    stream_.expires_after(std::chrono::seconds(60));
    http::async_write_header(stream_, *sr, [self = shared_from_this(), head, sr, done](beast::error_code ec, size_t) {
      if (ec) self->client_gone();
      done(!ec);
    });
  }
  void write_chunk(std::shared_ptr<std::string> data, std::function<void(bool)> done) {
    if (broken_) return done(false);
    stream_.expires_after(std::chrono::seconds(60));
    net::async_write(stream_, http::make_chunk(net::buffer(*data)), [self = shared_from_this(), data, done](beast::error_code ec, size_t) {
      if (ec) self->client_gone();
      done(!ec);
    });
  }
  void write_last_chunk(std::function<void(bool)> done) {
    if (broken_) { done(false); finish_request(); return; }
    net::async_write(stream_, http::make_chunk_last(), [self = shared_from_this(), done](beast::error_code ec, size_t) {
      if (ec) self->client_gone();
      done(!ec);
      self->finish_request();
    });
  }
  void abort_stream(std::function<void(bool)> done) {
    broken_ = true;
    keep_alive_ = false;
    done(true);
    finish_request();
  }

 private:
  friend class WorkerResponder;

  void read_header() {
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(st_->opts.max_body_bytes);
    stream_.expires_after(std::chrono::milliseconds(int64_t(st_->opts.header_timeout_s * 1000)));
    http::async_read_header(stream_, buffer_, *parser_, beast::bind_front_handler(&HttpSession::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, size_t) {
    if (ec) return on_read_error(ec);
    auto& msg = parser_->get();
    auto len = parser_->content_length();
    if (len && *len > st_->opts.max_body_bytes) {
      keep_alive_ = false;
      return send_error_now(413, cat("request body of ", *len, " bytes exceeds the limit of ", st_->opts.max_body_bytes, " bytes"), "body_too_large");
    }
    if (beast::iequals(msg[http::field::expect], "100-continue")) {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
      http::async_write(stream_, *cont, [self = shared_from_this(), cont](beast::error_code ec, size_t) {
        if (ec) return self->close();
        self->read_body();
      });
      return;
    }
    read_body();
  }

  void read_body() {
    stream_.expires_after(std::chrono::seconds(120));
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
  }

  void on_read_error(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == beast::error::timeout ||
        ec == net::error::connection_reset || ec == net::error::operation_aborted)
      return close();
    keep_alive_ = false;
    if (ec == http::error::body_limit)
      return send_error_now(413, cat("request body exceeds the limit of ", st_->opts.max_body_bytes, " bytes"), "body_too_large");
    if (ec == http::error::header_limit) return send_error_now(431, "request headers are too large", "headers_too_large");
    if (ec.category() == http::make_error_code(http::error::bad_target).category() || ec == http::error::partial_message)
      return send_error_now(400, "malformed HTTP request: " + ec.message(), "bad_http");
    close();
  }

  void on_read(beast::error_code ec, size_t) {
    if (ec) return on_read_error(ec);
    handle(parser_->release());
  }

  void send_error_now(int status, const std::string& message, const std::string& code) {
    t0_ = std::chrono::steady_clock::now();
    route_name_ = "error";
    method_ = "-";
    write_response(error_response(status, message, code), [](bool) {});
  }

  std::vector<std::pair<std::string, std::string>> compute_cors(const http::request<http::string_body>& req) {
    std::vector<std::pair<std::string, std::string>> out;
    const std::string& allowed = st_->opts.cors_origin;
    std::string origin(req[http::field::origin]);
    if (allowed.empty() || origin.empty()) return out;
    if (allowed != "*" && origin != allowed) return out;
    out.emplace_back("Access-Control-Allow-Origin", allowed == "*" ? "*" : origin);
    out.emplace_back("Vary", "Origin");
    out.emplace_back("Access-Control-Expose-Headers", "Retry-After, Content-Type");
    return out;
  }

  void handle(http::request<http::string_body> req) {
    t0_ = std::chrono::steady_clock::now();
    keep_alive_ = req.keep_alive() && !st_->stopping;
    method_ = std::string(req.method_string());
    route_name_ = "not_found";
    cors_headers_ = compute_cors(req);
    Request r;
    r.method = method_;
    r.target = std::string(req.target());
    try {
      size_t q = r.target.find('?');
      r.path = url_decode(std::string_view(r.target).substr(0, q), false);
      if (q != std::string::npos) r.query = parse_query(std::string_view(r.target).substr(q + 1));
    } catch (...) {
      return write_response(response_for_current_exception(), [](bool) {});
    }
    for (const auto& f : req) {
      std::string name(f.name_string());
      for (auto& c : name) c = char(std::tolower(uint8_t(c)));
      r.headers[name] = std::string(f.value());
    }
    r.body = std::move(req.body());
    beast::error_code rec;
    auto ep = stream_.socket().remote_endpoint(rec);
    if (!rec) r.remote = ep.address().to_string() + ":" + std::to_string(ep.port());

    // CORS preflight (no auth: browsers never send credentials on it).
    if (req.method() == http::verb::options) {
      route_name_ = "preflight";
      Response pre = Response::text("", "text/plain", cors_headers_.empty() ? 403 : 204);
      if (!cors_headers_.empty()) {
        pre.headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
        std::string want(req[http::field::access_control_request_headers]);
        pre.headers.emplace_back("Access-Control-Allow-Headers", want.empty() ? "Authorization, Content-Type" : want);
        pre.headers.emplace_back("Access-Control-Max-Age", "600");
      }
      return write_response(std::move(pre), [](bool) {});
    }

    const Route* route = st_->find_route(r.method, r.path);
    if (!route) {
      bool other_method = st_->path_exists(r.path);
      route_name_ = other_method ? "method_not_allowed" : "not_found";
      Response e = other_method ? error_response(405, cat("method ", r.method, " is not allowed on ", r.path), "method_not_allowed")
                                : error_response(404, cat("no route for ", r.method, " ", r.path), "not_found");
      return write_response(std::move(e), [](bool) {});
    }
    route_name_ = route->metric_name.empty() ? route->path : route->metric_name;
    if (!route->is_public && !st_->opts.api_keys.empty() && !authorized(r)) {
      Response e = error_response(401, "missing or invalid API key: send 'Authorization: Bearer <key>'", "invalid_api_key");
      e.headers.emplace_back("WWW-Authenticate", "Bearer");
      return write_response(std::move(e), [](bool) {});
    }
    bool upgrade = websocket::is_upgrade(req);
    if (upgrade || (route->websocket && !route->handler)) {
      if (!route->websocket || !upgrade)
        return write_response(error_response(400, cat(r.path, upgrade ? " does not accept WebSocket connections" : " needs a WebSocket upgrade"), "websocket_expected"), [](bool) {});
      st_->metrics.record_request(route_name_, "WS", 101, 0);
      start_websocket(stream_.release_socket(), std::move(req), std::move(r), route->websocket, st_);
      return;
    }
    if (!route->on_worker) {
      Response resp;
      try {
        BufferResponder br;
        route->handler(r, br);
        resp = br.answered() ? std::move(br.response) : error_response(500, "handler sent no response", "internal_error");
      } catch (...) {
        resp = response_for_current_exception();
      }
      return write_response(std::move(resp), [](bool) {});
    }
    if (!route->long_lived && st_->in_flight.load() >= st_->opts.max_in_flight) {
      Response e = error_response(429, "the server is busy: too many requests in flight; retry shortly", "server_busy");
      e.headers.emplace_back("Retry-After", "1");
      return write_response(std::move(e), [](bool) {});
    }
    dispatch_worker(std::move(r), *route);
  }

  bool authorized(const Request& r) const {
    std::string h = r.header("authorization");
    if (h.size() > 7 && beast::iequals(h.substr(0, 7), "bearer ")) return api_key_matches(st_->opts.api_keys, h.substr(7));
    if (r.method == "GET") {  // browsers cannot set headers on WebSocket / EventSource
      auto it = r.query.find("api_key");
      if (it != r.query.end()) return api_key_matches(st_->opts.api_keys, it->second);
      std::string proto = r.header("sec-websocket-protocol");
      const std::string tag = "openai-insecure-api-key.";
      size_t p = proto.find(tag);
      if (p != std::string::npos) {
        size_t e = proto.find_first_of(", ", p);
        return api_key_matches(st_->opts.api_keys, proto.substr(p + tag.size(), e == std::string::npos ? e : e - p - tag.size()));
      }
    }
    return false;
  }

  void dispatch_worker(Request r, const Route& route);  // below (needs WorkerResponder)

  void write_response(Response r, std::function<void(bool)> done) {
    status_ = r.status;
    auto res = std::make_shared<http::response<http::string_body>>();
    res->result(unsigned(r.status));
    res->version(11);
    res->set(http::field::server, "omni/" OMNI_VERSION);
    res->set(http::field::content_type, r.content_type);
    for (auto& [k, v] : cors_headers_) res->set(k, v);
    for (auto& [k, v] : r.headers) res->set(k, v);
    res->keep_alive(keep_alive_ && !st_->stopping);
    if (!res->keep_alive()) keep_alive_ = false;
    res->body() = std::move(r.body);
    res->prepare_payload();
    stream_.expires_after(std::chrono::seconds(60));
    http::async_write(stream_, *res, [self = shared_from_this(), res, done](beast::error_code ec, size_t) {
      if (ec) self->client_gone();
      done(!ec);
      self->finish_request();
    });
  }

  void client_gone() {
    broken_ = true;
    keep_alive_ = false;
    if (cancel_) cancel_->store(true);
  }

  // Watches the socket while a worker computes, so a disconnect cancels the work.
  void start_detect() {
    detect_pending_ = true;
    stream_.expires_never();
    stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, size_t n) {
      self->detect_pending_ = false;
      if (ec) {
        self->client_gone();
        if (self->waiting_next_) self->close();
        return;
      }
      self->buffer_.commit(n);
      if (self->waiting_next_) { self->waiting_next_ = false; self->after_response(); }
    });
  }

  void finish_request() {
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    st_->metrics.record_request(route_name_, method_, status_, secs);
    if (worker_request_) {
      worker_request_ = false;
      st_->end_worker(cancel_);
      cancel_.reset();
    }
    if (detect_pending_) {
      waiting_next_ = true;
      if (!keep_alive_ || broken_ || st_->stopping) {
        // Connection: close: the client waits for our FIN, so stop watching the socket and close.
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
        stream_.socket().cancel(ec);
      }
      return;
    }
    after_response();
  }

  void after_response() {
    if (!keep_alive_ || broken_ || st_->stopping) return drain_and_close();
    read_header();
  }

  // Half-close, then discard what the client still sends (so it reads our error, not a reset).
  void drain_and_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (broken_) return close();
    stream_.expires_after(std::chrono::seconds(2));
    auto buf = std::make_shared<std::vector<char>>(65536);
    auto total = std::make_shared<size_t>(0);
    auto loop = std::make_shared<std::function<void()>>();
    *loop = [self = shared_from_this(), buf, total, loop]() {
      self->stream_.async_read_some(net::buffer(*buf), [self, buf, total, loop](beast::error_code ec, size_t n) {
        *total += n;
        if (ec || *total > (size_t(64) << 20)) { self->close(); *loop = nullptr; return; }
        (*loop)();
      });
    };
    (*loop)();
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Server::State* st_;
  bool keep_alive_ = true, broken_ = false, detect_pending_ = false, waiting_next_ = false, worker_request_ = false;
  int status_ = 0;
  std::string route_name_, method_;
  std::vector<std::pair<std::string, std::string>> cors_headers_;
  std::chrono::steady_clock::time_point t0_;
  std::shared_ptr<std::atomic<bool>> cancel_;
};

// Answers from a worker thread by posting to the session's strand and waiting for completion.
class WorkerResponder : public Responder {
 public:
  WorkerResponder(std::shared_ptr<HttpSession> s, std::shared_ptr<std::atomic<bool>> cancel) : s_(std::move(s)), cancel_(std::move(cancel)) {}
  ~WorkerResponder() override { finish_if_needed(); }

  void send(Response response) override {
    if (state_ != 0) return;
    state_ = 3;
    auto r = std::make_shared<Response>(std::move(response));
    s_->post_and_wait([s = s_, r](std::function<void(bool)> done) { s->write_whole(std::move(*r), done); });
  }
  bool begin_stream(int status, const std::string& ctype, std::vector<std::pair<std::string, std::string>> headers) override {
    if (state_ != 0) return false;
    state_ = 1;
    auto h = std::make_shared<decltype(headers)>(std::move(headers));
    ok_ = s_->post_and_wait([s = s_, status, ctype, h](std::function<void(bool)> done) { s->write_stream_head(status, ctype, std::move(*h), done); });
    return ok_;
  }
  bool write(const std::string& chunk) override {
    if (state_ != 1 || !ok_) return false;
    if (chunk.empty()) return true;
    auto data = std::make_shared<std::string>(chunk);
    ok_ = s_->post_and_wait([s = s_, data](std::function<void(bool)> done) { s->write_chunk(data, done); });
    return ok_;
  }
  void end() override {
    if (state_ != 1) return;
    state_ = 2;
    if (ok_) s_->post_and_wait([s = s_](std::function<void(bool)> done) { s->write_last_chunk(done); });
    else s_->post_and_wait([s = s_](std::function<void(bool)> done) { s->abort_stream(done); });
  }
  bool cancelled() const override { return cancel_->load(); }
  std::shared_ptr<std::atomic<bool>> cancel_flag() override { return cancel_; }
  bool answered() const override { return state_ != 0; }

  void finish_if_needed() {
    if (state_ == 0) send(error_response(500, "the handler returned without a response", "internal_error"));
    else if (state_ == 1) end();
  }

 private:
  std::shared_ptr<HttpSession> s_;
  std::shared_ptr<std::atomic<bool>> cancel_;
  int state_ = 0;  // 0 none, 1 streaming, 2 stream ended, 3 sent
  bool ok_ = true;
};

void HttpSession::dispatch_worker(Request r, const Route& route) {
  worker_request_ = true;
  cancel_ = st_->begin_worker(route.long_lived);
  start_detect();
  auto cancel = cancel_;
  auto handler = route.handler;
  net::post(st_->workers, [self = shared_from_this(), r = std::move(r), handler, cancel]() {
    WorkerResponder resp(self, cancel);
    try {
      handler(r, resp);
    } catch (...) {
      Response e = response_for_current_exception();
      if (!resp.answered()) resp.send(std::move(e));
      else {  // mid-stream: report the error as an SSE event, then end the stream
        resp.write("data: " + e.body + "\n\n");
      }
    }
    resp.finish_if_needed();
  });
}

// ---------------------------------------------------------------------------------------------
// Server::State and Server

std::shared_ptr<std::atomic<bool>> Server::State::begin_worker(bool long_lived) {
  auto flag = std::make_shared<std::atomic<bool>>(false);
  std::lock_guard<std::mutex> lock(mutex);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(int64_t(opts.request_timeout_s * 1000));
  active.push_back(Active{flag, deadline, long_lived});
  if (!long_lived) in_flight++;
  metrics.in_flight().store(in_flight.load());
  return flag;
}

void Server::State::end_worker(const std::shared_ptr<std::atomic<bool>>& flag) {
  std::lock_guard<std::mutex> lock(mutex);
  for (auto it = active.begin(); it != active.end(); ++it)
    if (it->flag == flag) {
      if (!it->long_lived) in_flight--;
      active.erase(it);
      break;
    }
  metrics.in_flight().store(in_flight.load());
  idle_cv.notify_all();
}

const Route* Server::State::find_route(const std::string& method, const std::string& path) const {
  const Route* best = nullptr;
  for (const auto& r : routes) {
    if (r.method != method && !(method == "HEAD" && r.method == "GET")) continue;
    if (!r.prefix && r.path == path) return &r;
    if (r.prefix && path.compare(0, r.path.size(), r.path) == 0 && (!best || r.path.size() > best->path.size())) best = &r;
  }
  return best;
}

bool Server::State::path_exists(const std::string& path) const {
  for (const auto& r : routes)
    if ((!r.prefix && r.path == path) || (r.prefix && path.compare(0, r.path.size(), r.path) == 0)) return true;
  return false;
}

void Server::State::watchdog_loop() {
  std::unique_lock<std::mutex> lock(mutex);
  while (!watchdog_stop) {
    idle_cv.wait_for(lock, std::chrono::milliseconds(20));
    auto now = std::chrono::steady_clock::now();
    for (auto& a : active)
      if (now > a.deadline || (stopping && a.long_lived) || cancel_all) a.flag->store(true);
  }
}

Server::Server(ServerOptions options, Logger& log) : state_(std::make_shared<State>(std::move(options), log)) {}

Server::~Server() { stop(); }

void Server::add_route(Route route) { state_->routes.push_back(std::move(route)); }

void Server::start() {
  auto& st = *state_;
  beast::error_code ec;
  auto address = net::ip::make_address(st.opts.host, ec);
  if (ec) fail(ErrorCode::invalid_argument, "--host '", st.opts.host, "' is not an IP address");
  tcp::endpoint ep(address, uint16_t(st.opts.port));
  st.acceptor.open(ep.protocol(), ec);
  if (!ec) st.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) st.acceptor.bind(ep, ec);
  if (!ec) st.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) fail(ErrorCode::io, "cannot listen on ", st.opts.host, ":", st.opts.port, ": ", ec.message());
  st.bound_port = st.acceptor.local_endpoint().port();
  st.do_accept();
  st.work_guard.emplace(st.ioc.get_executor());
  for (int i = 0; i < std::max(1, st.opts.io_threads); ++i) st.io_threads.emplace_back([s = state_] { s->ioc.run(); });
  st.watchdog = std::thread([s = state_] { s->watchdog_loop(); });
  st.started = true;
}

void Server::State::do_accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
    if (!ec) {
      beast::error_code nec;
      socket.set_option(tcp::no_delay(true), nec);
      std::make_shared<HttpSession>(std::move(socket), this)->start();
    }
    do_accept();
  });
}

int Server::port() const { return state_->bound_port; }
std::string Server::url() const { return "http://" + (state_->opts.host == "0.0.0.0" ? std::string("127.0.0.1") : state_->opts.host) + ":" + std::to_string(port()); }
bool Server::stopping() const { return state_->stopping; }
Metrics& Server::metrics() { return state_->metrics; }
const ServerOptions& Server::options() const { return state_->opts; }

void Server::stop() {
  auto& st = *state_;
  {
    std::lock_guard<std::mutex> lock(st.stop_mutex);
    if (!st.started || st.stopped) return;
    st.stopped = true;
  }
  st.stopping = true;
  std::promise<void> closed;
  net::post(st.ioc, [&] { beast::error_code ec; st.acceptor.close(ec); closed.set_value(); });
  closed.get_future().wait_for(std::chrono::seconds(2));
  {
    std::unique_lock<std::mutex> lock(st.mutex);
    st.idle_cv.notify_all();
    auto grace = std::chrono::milliseconds(int64_t(st.opts.shutdown_grace_s * 1000));
    st.idle_cv.wait_for(lock, grace, [&] { return st.in_flight == 0; });
    st.cancel_all = true;  // whatever is left is cancelled; handlers see cancelled() and wind down
    st.idle_cv.wait_for(lock, std::chrono::seconds(3), [&] { return st.active.empty(); });
  }
  st.close_websockets();
  st.workers.join();  // handlers still running finish their current step and return
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // last writes leave the socket
  st.work_guard.reset();
  st.ioc.stop();
  for (auto& t : st.io_threads) t.join();
  st.io_threads.clear();
  {
    std::lock_guard<std::mutex> lock(st.mutex);
    st.watchdog_stop = true;
  }
  st.idle_cv.notify_all();
  if (st.watchdog.joinable()) st.watchdog.join();
}

void Server::run_until_signal() {
  net::io_context sig_ioc;
  net::signal_set signals(sig_ioc, SIGINT, SIGTERM);
  int which = 0;
  signals.async_wait([&](beast::error_code, int s) { which = s; });
  sig_ioc.run();
  state_->log.info("received ", which == SIGINT ? "SIGINT" : "SIGTERM", ": finishing in-flight requests and shutting down");
  stop();
}

}  // namespace omni::server
