// WebSocket sessions: accept the upgrade, read frames on the I/O strand, hand each message to the
// route's WsHandler on a per-connection worker strand (in order, one at a time, reading the next
// frame only afterwards: bounded memory), and write queued outgoing text frames.
#include <deque>

#include "server/server_state.hpp"

namespace omni::server {

class WsSession : public WsSessionBase, public WsChannel, public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(beast::tcp_stream::socket_type socket, Server::State* st)
      : ws_(std::move(socket)), st_(std::move(st)), work_(net::make_strand(st_->workers.get_executor())) {}

  void run(http::request<http::string_body> req, Request request, WsFactory factory) {
    request_ = std::move(request);
    factory_ = std::move(factory);
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(http::field::server, "omni/" OMNI_VERSION);
    }));
    ws_.read_message_max(st_->opts.max_ws_message_bytes);
    auto r = std::make_shared<http::request<http::string_body>>(std::move(req));
    // Echo a subprotocol the client offered (browsers send the API key as one; see server.cpp).
    std::string proto(r->base()["Sec-WebSocket-Protocol"]);
    if (!proto.empty()) {
      std::string first = proto.substr(0, proto.find(','));
      ws_.set_option(websocket::stream_base::decorator([first](websocket::response_type& res) {
        res.set(http::field::server, "omni/" OMNI_VERSION);
        res.set(http::field::sec_websocket_protocol, first);
      }));
    }
    ws_.async_accept(*r, [self = shared_from_this(), r](beast::error_code ec) { self->on_accept(ec); });
  }

  bool send_text(std::string message) override {
    if (!open_) return false;
    net::post(ws_.get_executor(), [self = shared_from_this(), m = std::make_shared<std::string>(std::move(message))]() {
      if (!self->open_) return;
      if (self->outq_.size() > 4096) {  // a client that never reads: drop it
        self->open_ = false;
        beast::error_code ec;
        beast::get_lowest_layer(self->ws_).socket().close(ec);
        return;
      }
      self->outq_.push_back(m);
      if (self->outq_.size() == 1) self->write_next();
    });
    return true;
  }

  void close(int code, const std::string& reason) override {
    net::post(ws_.get_executor(), [self = shared_from_this(), code, reason]() {
      if (!self->open_ || self->closing_) return;
      self->closing_ = true;
      self->close_code_ = code;
      self->close_reason_ = reason;
      if (!self->outq_.empty()) return;  // write_next closes once the queue drains
      self->do_close(code, reason);
    });
  }

  bool is_open() const override { return open_; }

 private:
  void on_accept(beast::error_code ec) {
    if (ec) return;
    open_ = true;
    {
      std::lock_guard<std::mutex> lock(st_->ws_mutex);
      st_->websockets.insert(std::weak_ptr<WsSessionBase>(shared_from_this()));
    }
    auto self = shared_from_this();
    net::post(work_, [self]() {
      try {
        self->handler_ = self->factory_(self->request_, self);
        if (self->handler_) self->handler_->on_open();
      } catch (const std::exception& e) {
        self->st_->log.warn("websocket handler failed to open: ", e.what());
        self->close(1011, "internal error");
        return;
      }
      net::post(self->ws_.get_executor(), [self]() { self->do_read(); });
    });
  }

  void do_read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      // Protocol violations (bad frames, oversize messages) are answered by Beast with a close
      // frame carrying 1002/1009; either way this connection is over.
      open_ = false;
      auto self = shared_from_this();
      net::post(work_, [self]() {
        if (self->handler_) try { self->handler_->on_close(); } catch (...) {}
        self->handler_.reset();
      });
      return;
    }
    auto msg = std::make_shared<std::string>(beast::buffers_to_string(buffer_.data()));
    bool binary = ws_.got_binary();
    buffer_.consume(buffer_.size());
    auto self = shared_from_this();
    net::post(work_, [self, msg, binary]() {
      if (self->handler_) {
        try {
          self->handler_->on_message(*msg, binary);
        } catch (const std::exception& e) {
          self->send_text(error_json(e.what(), "server_error", "internal_error").dump());
        }
      }
      net::post(self->ws_.get_executor(), [self]() { if (self->open_) self->do_read(); });
    });
  }

  void write_next() {
    ws_.text(true);
    ws_.async_write(net::buffer(*outq_.front()), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) { self->open_ = false; self->outq_.clear(); return; }
      self->outq_.pop_front();
      if (!self->outq_.empty()) return self->write_next();
      if (self->closing_) self->do_close(self->close_code_, self->close_reason_);
    });
  }

  void do_close(int code, const std::string& reason) {
    websocket::close_reason cr(websocket::close_code(code), reason);
    ws_.async_close(cr, [self = shared_from_this()](beast::error_code) { self->open_ = false; });
  }

  websocket::stream<beast::tcp_stream> ws_;
  Server::State* st_;
  net::strand<net::thread_pool::executor_type> work_;
  beast::flat_buffer buffer_;
  std::deque<std::shared_ptr<std::string>> outq_;
  std::atomic<bool> open_{false};
  bool closing_ = false;
  int close_code_ = 1000;
  std::string close_reason_;
  Request request_;
  WsFactory factory_;
  std::shared_ptr<WsHandler> handler_;
};

void start_websocket(beast::tcp_stream::socket_type socket, http::request<http::string_body> req, Request request,
                     WsFactory factory, Server::State* st) {
  auto s = std::make_shared<WsSession>(std::move(socket), st);
  s->run(std::move(req), std::move(request), std::move(factory));
}

void Server::State::close_websockets() {
  std::vector<std::shared_ptr<WsSessionBase>> live;
  {
    std::lock_guard<std::mutex> lock(ws_mutex);
    for (auto& w : websockets)
      if (auto s = w.lock()) live.push_back(s);
    websockets.clear();
  }
  for (auto& s : live) s->close(1001, "server shutting down");
}

}  // namespace omni::server
