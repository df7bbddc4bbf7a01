// Transport tests over real loopback sockets: routing, errors, auth, CORS, limits, static files,
// SSE streaming, disconnect cancellation, busy (429), timeouts, WebSocket events, graceful shutdown.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "http_client.hpp"
#include "server/routes.hpp"
#include "server/server.hpp"

using namespace omni;
using namespace omni::server;
using namespace omni::test;
namespace fs = std::filesystem;

namespace {

struct Probe {
  std::atomic<int> cancelled_seen{0};
  std::atomic<int> finished{0};
};

class Fixture {
 public:
  explicit Fixture(ServerOptions o = {}, std::string web_dir = "") : log(LogLevel::quiet) {
    o.port = 0;
    server = std::make_unique<Server>(o, log);
    services = std::make_shared<Services>();
    auto probe_ = probe;
    server->add_route({"POST", "/test/echo", false, false, true, false,
                       [](const Request& req, Responder& r) { r.send(Response::json(req.json_body())); }, nullptr, "echo"});
    server->add_route({"GET", "/test/stream", false, false, true, false,
                       [probe_](const Request& req, Responder& r) {
                         int n = std::atoi(req.query.count("n") ? req.query.at("n").c_str() : "5");
                         r.begin_stream(200, "text/event-stream");
                         for (int i = 0; i < n; ++i) {
                           if (!r.sse(Json{{"i", i}}) || r.cancelled()) { probe_->cancelled_seen++; return; }
                           std::this_thread::sleep_for(std::chrono::milliseconds(5));
                         }
                         probe_->finished++;
                         r.sse_done();
                         r.end();
                       }, nullptr, "stream"});
    server->add_route({"GET", "/test/slow", false, false, true, false,
                       [probe_](const Request& req, Responder& r) {
                         int ms = std::atoi(req.query.count("ms") ? req.query.at("ms").c_str() : "5000");
                         auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
                         while (std::chrono::steady_clock::now() < end) {
                           if (r.cancelled()) { probe_->cancelled_seen++; return; }
                           std::this_thread::sleep_for(std::chrono::milliseconds(5));
                         }
                         probe_->finished++;
                         r.send(Response::json({{"done", true}}));
                       }, nullptr, "slow"});
    server->add_route({"GET", "/test/throw", false, false, true, false,
                       [](const Request& req, Responder&) {
                         std::string c = req.query.count("code") ? req.query.at("code") : "";
                         if (c == "not_found") fail(ErrorCode::not_found, "no such thing");
                         if (c == "too_large") fail(ErrorCode::too_large, "too big");
                         if (c == "busy") fail(ErrorCode::busy, "queue full");
                         if (c == "unsupported") fail(ErrorCode::unsupported, "no");
                         if (c == "timeout") fail(ErrorCode::timeout, "late");
                         if (c == "std") throw std::runtime_error("boom");
                         fail(ErrorCode::invalid_argument, "bad value");
                       }, nullptr, "throw"});
    register_basic_routes(*server, services, RouteConfig{web_dir});
    server->start();
    port = server->port();
  }
  Logger log;
  std::unique_ptr<Server> server;
  std::shared_ptr<Services> services;
  std::shared_ptr<Probe> probe = std::make_shared<Probe>();
  int port = 0;
};

std::string temp_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("omni-server-test-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d.string();
}

}  // namespace

TEST(Http, HealthModelsMetricsAndUnknownRoutes) {
  Fixture f;
  auto h = http_request(f.port, "GET", "/health");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.json()["status"], "ok");
  auto m = http_request(f.port, "GET", "/v1/models");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.json()["object"], "list");
  EXPECT_TRUE(m.json()["data"].is_array());
  auto nf = http_request(f.port, "GET", "/v1/nothing");
  EXPECT_EQ(nf.status, 404);
  EXPECT_TRUE(is_openai_error(nf.body)) << nf.body;
  auto na = http_request(f.port, "DELETE", "/v1/models");
  EXPECT_EQ(na.status, 405);
  EXPECT_TRUE(is_openai_error(na.body));
  auto met = http_request(f.port, "GET", "/metrics");
  EXPECT_EQ(met.status, 200);
  EXPECT_NE(met.body.find("omni_http_requests_total{route=\"/v1/models\",method=\"GET\",status=\"200\"} 1"), std::string::npos) << met.body;
  EXPECT_NE(met.body.find("omni_http_request_duration_seconds_bucket{route=\"/health\",le=\"+Inf\"} 1"), std::string::npos);
  EXPECT_NE(met.body.find("omni_llm_time_to_first_token_seconds_count 0"), std::string::npos);
  EXPECT_NE(met.body.find("omni_queue_depth"), std::string::npos);
}

TEST(Http, JsonErrorsAndErrorCodeMapping) {
  Fixture f;
  auto ok = http_request(f.port, "POST", "/test/echo", R"({"a":[1,2]})");
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json()["a"][1], 2);
  for (std::string bad : {"{", "[1,2]", "\"str\"", "nul", "{\"a\":}"}) {
    auto r = http_request(f.port, "POST", "/test/echo", bad);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_TRUE(is_openai_error(r.body)) << r.body;
    EXPECT_EQ(r.json()["error"]["type"], "invalid_request_error");
  }
  const std::pair<const char*, int> cases[] = {{"not_found", 404}, {"too_large", 413}, {"busy", 429}, {"unsupported", 415},
                                               {"timeout", 504}, {"invalid", 400}, {"std", 500}};
  for (auto [code, status] : cases) {
    auto r = http_request(f.port, "GET", std::string("/test/throw?code=") + code);
    EXPECT_EQ(r.status, status) << code;
    EXPECT_TRUE(is_openai_error(r.body)) << r.body;
  }
  EXPECT_EQ(http_request(f.port, "GET", "/test/throw?code=busy").header("retry-after"), "1");
  EXPECT_EQ(http_request(f.port, "GET", "/test/echo%zz").status, 400);  // bad percent escape
}

TEST(Http, ApiKeysEnforcedEverywhereButHealth) {
  ServerOptions o;
  o.api_keys = {"sk-test-1", "second"};
  Fixture f(o);
  EXPECT_EQ(http_request(f.port, "GET", "/health").status, 200);
  auto none = http_request(f.port, "GET", "/v1/models");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.json()["error"]["type"], "authentication_error");
  EXPECT_EQ(http_request(f.port, "GET", "/v1/models", "", {{"Authorization", "Bearer wrong"}}).status, 401);
  EXPECT_EQ(http_request(f.port, "GET", "/v1/models", "", {{"Authorization", "Bearer sk-test-"}}).status, 401);
  EXPECT_EQ(http_request(f.port, "GET", "/v1/models", "", {{"Authorization", "Basic sk-test-1"}}).status, 401);
  EXPECT_EQ(http_request(f.port, "GET", "/metrics").status, 401);
  EXPECT_EQ(http_request(f.port, "POST", "/test/echo", "{}").status, 401);
  EXPECT_EQ(http_request(f.port, "GET", "/v1/models", "", {{"Authorization", "Bearer sk-test-1"}}).status, 200);
  EXPECT_EQ(http_request(f.port, "GET", "/v1/models", "", {{"Authorization", "bearer second"}}).status, 200);
  EXPECT_EQ(http_request(f.port, "GET", "/v1/models?api_key=second").status, 200);
  EXPECT_EQ(http_request(f.port, "GET", "/v1/models?api_key=nope").status, 401);
}

TEST(Http, CorsOffByDefaultAndOnWhenConfigured) {
  {
    Fixture f;
    auto r = http_request(f.port, "GET", "/v1/models", "", {{"Origin", "http://evil.example"}});
    EXPECT_EQ(r.header("access-control-allow-origin"), "");
    EXPECT_EQ(http_request(f.port, "OPTIONS", "/v1/models", "", {{"Origin", "http://evil.example"}, {"Access-Control-Request-Method", "POST"}}).status, 403);
  }
  ServerOptions o;
  o.cors_origin = "http://app.example";
  o.api_keys = {"k"};
  Fixture f(o);
  auto pre = http_request(f.port, "OPTIONS", "/v1/chat/completions", "",
                          {{"Origin", "http://app.example"}, {"Access-Control-Request-Method", "POST"}, {"Access-Control-Request-Headers", "authorization,content-type"}});
  EXPECT_EQ(pre.status, 204);
  EXPECT_EQ(pre.header("access-control-allow-origin"), "http://app.example");
  EXPECT_EQ(pre.header("access-control-allow-headers"), "authorization,content-type");
  auto r = http_request(f.port, "GET", "/v1/models", "", {{"Origin", "http://app.example"}, {"Authorization", "Bearer k"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("access-control-allow-origin"), "http://app.example");
  auto other = http_request(f.port, "GET", "/v1/models", "", {{"Origin", "http://other.example"}, {"Authorization", "Bearer k"}});
  EXPECT_EQ(other.header("access-control-allow-origin"), "");
}

TEST(Http, BodyLimitMalformedHttpAndServerKeepsServing) {
  ServerOptions o;
  o.max_body_bytes = 1 << 20;
  Fixture f(o);
  std::string big(size_t(2) << 20, 'x');
  auto r = http_request(f.port, "POST", "/test/echo", big);
  EXPECT_EQ(r.status, 413);
  EXPECT_TRUE(is_openai_error(r.body));
  // Chunked body over the limit (no Content-Length to reject up front).
  std::string chunked = "POST /test/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n";
  for (int i = 0; i < 40; ++i) chunked += "10000\r\n" + std::string(0x10000, 'a') + "\r\n";
  chunked += "0\r\n\r\n";
  auto raw = raw_exchange(f.port, chunked);
  EXPECT_EQ(status_of_raw(raw), 413) << raw.substr(0, 200);
  EXPECT_TRUE(is_openai_error(body_of_raw(raw)));
  for (std::string garbage : {std::string("GARBAGE\r\n\r\n"), std::string("GET / HTTP/9.9\r\n\r\n"),
                              std::string("POST /test/echo HTTP/1.1\r\nContent-Length: abc\r\n\r\n"),
                              std::string("GET /health HTTP/1.1\r\nBad Header Line\r\n\r\n")}) {
    auto g = raw_exchange(f.port, garbage);
    EXPECT_EQ(status_of_raw(g), 400) << garbage << " -> " << g.substr(0, 120);
  }
  // Oversize headers.
  auto hdr = raw_exchange(f.port, "GET /health HTTP/1.1\r\nX-Big: " + std::string(40000, 'h') + "\r\n\r\n");
  EXPECT_EQ(status_of_raw(hdr), 431);
  EXPECT_EQ(http_request(f.port, "GET", "/health").status, 200);
}

TEST(Http, StaticFilesNoTraversalAndPlaceholder) {
  std::string root = temp_dir("web");
  std::string secret = temp_dir("secret");
  {
    std::ofstream(root + "/index.html") << "<html>console</html>";
    fs::create_directories(root + "/assets");
    std::ofstream(root + "/assets/app.js") << "console.log(1)";
    std::ofstream(secret + "/key.txt") << "SECRET";
    fs::create_symlink(secret + "/key.txt", root + "/link.txt");
  }
  Fixture f({}, root);
  auto idx = http_request(f.port, "GET", "/");
  EXPECT_EQ(idx.status, 200);
  EXPECT_EQ(idx.body, "<html>console</html>");
  EXPECT_EQ(idx.header("content-type"), "text/html; charset=utf-8");
  auto js = http_request(f.port, "GET", "/assets/app.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.header("content-type"), "text/javascript; charset=utf-8");
  std::string rel_secret = "/../" + fs::path(secret).filename().string() + "/key.txt";
  for (std::string bad : {rel_secret, std::string("/assets/../../etc/passwd"), std::string("/%2e%2e/%2e%2e/etc/passwd"),
                          std::string("/link.txt"), std::string("/..%2fetc%2fpasswd"), std::string("/a%00b")}) {
    auto r = raw_exchange(f.port, "GET " + bad + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_NE(status_of_raw(r), 200) << bad;
    EXPECT_EQ(r.find("SECRET"), std::string::npos) << bad;
  }
  fs::remove_all(root);
  fs::remove_all(secret);
  Fixture missing({}, "/nonexistent/omni/web");
  auto ph = http_request(missing.port, "GET", "/");
  EXPECT_EQ(ph.status, 200);
  EXPECT_NE(ph.body.find("console is not built"), std::string::npos);
  EXPECT_EQ(http_request(missing.port, "GET", "/app.js").status, 404);
}

TEST(Http, SseStreamEndsWithDone) {
  Fixture f;
  auto r = http_request(f.port, "GET", "/test/stream?n=7");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "text/event-stream");
  int events = 0;
  size_t pos = 0;
  while ((pos = r.body.find("data: {", pos)) != std::string::npos) { ++events; ++pos; }
  EXPECT_EQ(events, 7);
  EXPECT_NE(r.body.rfind("data: [DONE]\n\n"), std::string::npos);
  EXPECT_EQ(f.probe->finished.load(), 1);
  // Connection: close on worker routes (whole and streamed): the server closes after answering.
  for (std::string path : {"/test/slow?ms=10", "/test/stream?n=3"}) {
    bool closed = false;
    auto out = raw_exchange(f.port, "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5000, false, &closed);
    EXPECT_EQ(status_of_raw(out), 200) << path;
    EXPECT_TRUE(closed) << path;
  }
  // Keep-alive: two requests on one connection.
  auto two = raw_exchange(f.port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  size_t first = two.find("HTTP/1.1 200"), second = two.find("HTTP/1.1 200", first + 1);
  EXPECT_NE(first, std::string::npos);
  EXPECT_NE(second, std::string::npos);
}

TEST(Http, ClientDisconnectCancelsWork) {
  Fixture f;
  {
    net::io_context ioc;
    tcp::socket s(ioc);
    s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), uint16_t(f.port)));
    std::string req = "GET /test/slow?ms=20000 HTTP/1.1\r\nHost: x\r\n\r\n";
    net::write(s, net::buffer(req));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    s.close();
  }
  for (int i = 0; i < 400 && f.probe->cancelled_seen.load() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(f.probe->cancelled_seen.load(), 1);
  EXPECT_EQ(f.probe->finished.load(), 0);
  // Mid-stream disconnect of an SSE response.
  {
    net::io_context ioc;
    tcp::socket s(ioc);
    s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), uint16_t(f.port)));
    net::write(s, net::buffer(std::string("GET /test/stream?n=100000 HTTP/1.1\r\nHost: x\r\n\r\n")));
    char buf[512];
    s.read_some(net::buffer(buf));
    s.close();
  }
  for (int i = 0; i < 400 && f.probe->cancelled_seen.load() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(f.probe->cancelled_seen.load(), 2);
  EXPECT_EQ(http_request(f.port, "GET", "/health").status, 200);
}

TEST(Http, BusyAnswers429AndTimeoutCancels) {
  ServerOptions o;
  o.max_in_flight = 2;
  o.request_timeout_s = 0.3;
  Fixture f(o);
  std::vector<std::thread> th;
  std::atomic<int> n200{0}, n504{0};
  for (int i = 0; i < 2; ++i)
    th.emplace_back([&] { auto r = http_request(f.port, "GET", "/test/slow?ms=250"); (r.status == 200 ? n200 : n504)++; });
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  auto busy = http_request(f.port, "GET", "/test/slow?ms=10");
  EXPECT_EQ(busy.status, 429);
  EXPECT_EQ(busy.header("retry-after"), "1");
  EXPECT_EQ(busy.json()["error"]["type"], "rate_limit_error");
  for (auto& t : th) t.join();
  EXPECT_EQ(n200.load(), 2);
  // Past the per-request timeout the handler sees cancelled().
  int before = f.probe->cancelled_seen.load();
  http_request(f.port, "GET", "/test/slow?ms=3000");
  EXPECT_EQ(f.probe->cancelled_seen.load(), before + 1);
}

TEST(Http, GracefulShutdownFinishesInFlightWork) {
  Fixture f;
  HttpResult r;
  std::thread client([&] { r = http_request(f.port, "GET", "/test/slow?ms=400"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  f.server->stop();
  client.join();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(f.probe->finished.load(), 1);
  // No longer accepting.
  EXPECT_THROW(http_request(f.port, "GET", "/health"), std::exception);
}

TEST(Http, EventsWebSocketAndSseBroadcast) {
  Fixture f;
  namespace websocket = beast::websocket;
  net::io_context ioc;
  websocket::stream<tcp::socket> ws(ioc);
  ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), uint16_t(f.port)));
  ws.handshake("127.0.0.1", "/v1/events");
  beast::flat_buffer buf;
  ws.read(buf);
  EXPECT_EQ(Json::parse(beast::buffers_to_string(buf.data()))["type"], "omni.hello");
  buf.consume(buf.size());
  // SSE subscriber in parallel.
  std::string sse;
  std::thread sse_client([&] {
    net::io_context io2;
    tcp::socket s(io2);
    s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), uint16_t(f.port)));
    net::write(s, net::buffer(std::string("GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n")));
    char b[4096];
    beast::error_code ec;
    while (sse.find("omni.action") == std::string::npos && !ec) sse.append(b, s.read_some(net::buffer(b), ec));
  });
  for (int i = 0; i < 200 && f.services->events->n_subscribers() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(f.services->events->n_subscribers(), 2u);
  f.services->events->publish(R"({"type":"omni.action","action":{"action":"lights_on","room":"kitchen"}})");
  ws.read(buf);
  Json ev = Json::parse(beast::buffers_to_string(buf.data()));
  EXPECT_EQ(ev["type"], "omni.action");
  EXPECT_EQ(ev["action"]["room"], "kitchen");
  sse_client.join();
  EXPECT_NE(sse.find("event: omni.action\ndata: {\"type\":\"omni.action\""), std::string::npos) << sse;
  ws.close(websocket::close_code::normal);
}

TEST(Http, BadWebSocketFramesCloseOnlyThatConnection) {
  Fixture f;
  // A handshake, then an unmasked client frame (forbidden by RFC 6455) and a reserved opcode.
  for (std::string frame : {std::string("\x81\x05hello", 7), std::string("\x83\x80\x00\x00\x00\x00", 6),
                            std::string("\x81\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x00", 14)}) {
    std::string hs = "GET /v1/events HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    bool closed = false;
    auto out = raw_exchange(f.port, hs + frame, 5000, true, &closed);
    EXPECT_EQ(status_of_raw(out), 101);
    EXPECT_TRUE(closed) << "the server kept a connection that sent a bad frame";
    EXPECT_EQ(out.find("hello\"}", out.find("omni.hello") + 12), std::string::npos);  // frame not echoed/accepted
  }
  // WebSocket upgrade on a route without WebSocket support; no upgrade on a WebSocket-only route.
  std::string up = "GET /v1/models HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  EXPECT_EQ(status_of_raw(raw_exchange(f.port, up)), 400);
  EXPECT_EQ(http_request(f.port, "GET", "/health").status, 200);
}

TEST(Http, ThousandMalformedRequestsDoNotGrowMemory) {
  ServerOptions o;
  o.max_body_bytes = 64 << 10;
  o.api_keys = {"k"};
  Fixture f(o);
  const std::string requests[] = {
      "POST /test/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\nContent-Length: 3\r\n\r\n{{{",
      "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n",
      "GARBAGE\r\n\r\n",
      "POST /test/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\nContent-Length: 100000\r\n\r\n",
      "GET /nope HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n\r\n",
  };
  auto round = [&](int n) {
    for (int i = 0; i < n; ++i) {
      auto out = raw_exchange(f.port, requests[i % 5]);
      int st = status_of_raw(out);
      ASSERT_TRUE(st == 400 || st == 401 || st == 404 || st == 413) << out.substr(0, 100);
    }
  };
  round(200);  // warm up allocator pools
  long before = rss_kb();
  round(1000);
  long after = rss_kb();
  EXPECT_LT(after - before, 4096 + kRssSlackKb) << "RSS grew from " << before << " kB to " << after << " kB";
  EXPECT_EQ(http_request(f.port, "GET", "/health").status, 200);
}
