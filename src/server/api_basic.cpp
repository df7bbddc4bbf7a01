// Basic routes: GET /health, GET /v1/models, GET /metrics, GET /v1/events (SSE or WebSocket
// broadcast of scene events) and the console's static files at /.
#include <chrono>
#include <ctime>

#include "server/routes.hpp"
#include "server/static_files.hpp"

namespace omni::server {

void unavailable(const std::string& what, const std::string& how_to_enable) {
  throw HttpError(503, "service_unavailable", "capability_unavailable", cat(what, " is not available on this server: ", how_to_enable));
}

namespace {

// WebSocket subscriber of /v1/events: pushes every event as a text frame.
class EventsSocket : public WsHandler {
 public:
  EventsSocket(std::shared_ptr<EventBus> bus, std::shared_ptr<WsChannel> ch) : bus_(std::move(bus)), ch_(std::move(ch)) {}
  ~EventsSocket() override { if (sub_) bus_->unsubscribe(sub_); }
  void on_open() override {
    std::weak_ptr<WsChannel> weak = ch_;
    sub_ = bus_->subscribe([weak](const std::string& ev) { if (auto c = weak.lock()) c->send_text(ev); });
    ch_->send_text(Json{{"type", "omni.hello"}, {"channel", "events"}}.dump());
  }
  void on_message(const std::string& data, bool) override {
    Json j = Json::parse(data, nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.value("type", "") == "ping") ch_->send_text(R"({"type":"pong"})");
  }
  void on_close() override {
    if (sub_) bus_->unsubscribe(sub_);
    sub_.reset();
  }

 private:
  std::shared_ptr<EventBus> bus_;
  std::shared_ptr<WsChannel> ch_;
  std::shared_ptr<EventBus::Subscription> sub_;
};

}  // namespace

void register_basic_routes(Server& server, std::shared_ptr<Services> svc, const RouteConfig& config) {
  const auto started = std::time(nullptr);
  server.add_route({"GET", "/health", false, true, false, false,
                    [svc, started](const Request&, Responder& r) {
                      Json j = {{"status", "ok"}, {"version", OMNI_VERSION}, {"uptime_s", std::time(nullptr) - started},
                                {"active", svc->active}, {"waiting", svc->waiting},
                                {"llm", bool(svc->llm)}, {"asr", bool(svc->asr)}, {"tts", bool(svc->tts)},
                                {"vad", bool(svc->make_vad)}, {"agent", bool(svc->actor)}};
                      r.send(Response::json(j));
                    },
                    nullptr, "/health"});

  server.add_route({"GET", "/v1/models", false, false, false, false,
                    [svc, started](const Request&, Responder& r) {
                      Json data = Json::array();
                      if (svc->llm) data.push_back({{"id", svc->llm->model_id()}, {"object", "model"}, {"created", started}, {"owned_by", "omni"}});
                      if (svc->asr) data.push_back({{"id", "whisper-1"}, {"object", "model"}, {"created", started}, {"owned_by", "omni"}});
                      if (svc->tts) data.push_back({{"id", "tts-1"}, {"object", "model"}, {"created", started}, {"owned_by", "omni"}});
                      if (svc->actor) data.push_back({{"id", "omni-agent"}, {"object", "model"}, {"created", started}, {"owned_by", "omni"}});
                      r.send(Response::json({{"object", "list"}, {"data", data}}));
                    },
                    nullptr, "/v1/models"});

  Server* srv = &server;
  server.metrics().set_gauge("omni_llm_kv_cache_use_ratio", "Fraction of the LLM KV cache in use (0..1).",
                             [svc] { return svc->llm ? svc->llm->kv_cache_use() : 0.0; });
  server.metrics().set_gauge("omni_llm_queue_depth", "Requests waiting for an LLM sequence slot.",
                             [svc] { return svc->llm ? double(svc->llm->queue_depth()) : 0.0; });
  server.metrics().set_gauge("omni_events_subscribers", "Connected console event subscribers.",
                             [svc] { return double(svc->events->n_subscribers()); });
  server.add_route({"GET", "/metrics", false, false, false, false,
                    [srv](const Request&, Responder& r) {
                      r.send(Response::text(srv->metrics().render(), "text/plain; version=0.0.4; charset=utf-8"));
                    },
                    nullptr, "/metrics"});

  // Scene events: SSE (long-lived worker handler) or WebSocket on the same path.
  auto bus = svc->events;
  int max_clients = svc->limits.max_events_clients;
  server.add_route({"GET", "/v1/events", false, false, true, true,
                    [bus, max_clients](const Request&, Responder& r) {
                      if (int(bus->n_subscribers()) >= max_clients)
                        throw HttpError(429, "rate_limit_error", "too_many_subscribers", "too many event subscribers");
                      auto sub = bus->subscribe();
                      struct Unsub { std::shared_ptr<EventBus> b; std::shared_ptr<EventBus::Subscription> s; ~Unsub() { b->unsubscribe(s); } } guard{bus, sub};
                      if (!r.begin_stream(200, "text/event-stream")) return;
                      if (!r.write(": omni events\n\n")) return;
                      std::string ev;
                      auto last_write = std::chrono::steady_clock::now();
                      while (!r.cancelled()) {  // a disconnect sets cancelled() within ~20 ms
                        if (EventBus::wait_next(*sub, ev, 100)) {
                          Json j = Json::parse(ev, nullptr, false);
                          std::string type = j.is_object() ? j.value("type", "message") : "message";
                          if (!r.write("event: " + type + "\ndata: " + ev + "\n\n")) return;
                          last_write = std::chrono::steady_clock::now();
                        } else if (std::chrono::steady_clock::now() - last_write > std::chrono::seconds(15)) {
                          if (!r.write(": ping\n\n")) return;
                          last_write = std::chrono::steady_clock::now();
                        }
                      }
                      r.end();
                    },
                    [bus](const Request&, std::shared_ptr<WsChannel> ch) { return std::make_shared<EventsSocket>(bus, ch); },
                    "/v1/events"});

  std::string web_dir = config.web_dir;
  server.add_route({"GET", "/", true, true, false, false,
                    [svc, web_dir](const Request& req, Responder& r) {
                      if (req.path.rfind("/v1/", 0) == 0) not_found(cat("no route for GET ", req.path));
                      auto esc = [](const std::string& t) {
                        std::string o;
                        for (char c : t) o += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : std::string(1, c);
                        return o;
                      };
                      std::string caps = "<ul>";
                      for (const auto& a : svc->active) caps += "<li>" + esc(a) + "</li>";
                      for (const auto& w : svc->waiting) caps += "<li><i>not active</i>: " + esc(w) + "</li>";
                      caps += "</ul>";
                      r.send(serve_static(web_dir, req.path, caps, req.header("range")));
                    },
                    nullptr, "static"});
}

}  // namespace omni::server
