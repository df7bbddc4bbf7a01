// Tests of the console's scene routes over loopback: GET/POST /v1/scene, errors, the events the
// scene publishes on the bus, the agent sink glue, and the room restored from --db after a restart.
#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>

#include <unistd.h>

#include "http_client.hpp"
#include "server/scene_routes.hpp"

using namespace omni;
using namespace omni::server;
using namespace omni::test;
namespace fs = std::filesystem;

namespace {

// A server with only the scene routes, its room saved in `db`; collects every bus event.
struct SceneServer {
  explicit SceneServer(const std::string& db) : log(LogLevel::quiet) {
    ServerOptions o;
    o.port = 0;
    server = std::make_unique<Server>(o, log);
    services = std::make_shared<Services>();
    scene = attach_scene(*services, db, log);
    sub = services->events->subscribe([this](const std::string& e) {
      std::lock_guard<std::mutex> lock(mutex);
      events.push_back(Json::parse(e));
    });
    register_scene_routes(*server, scene);
    server->start();
  }
  ~SceneServer() {
    server->stop();
    services->events->unsubscribe(sub);
  }
  int port() const { return server->port(); }
  std::vector<Json> take_events() {
    std::lock_guard<std::mutex> lock(mutex);
    return std::exchange(events, {});
  }

  Logger log;
  std::unique_ptr<Server> server;
  std::shared_ptr<Services> services;
  std::shared_ptr<agent::scene::SceneState> scene;
  std::shared_ptr<EventBus::Subscription> sub;
  std::mutex mutex;
  std::vector<Json> events;
};

// This process's scratch directory, removed with everything in it when the test binary exits.
struct TempDir {
  pid_t owner = ::getpid();
  fs::path path = fs::temp_directory_path() / ("omni_scene_routes_" + std::to_string(::getpid()));
  ~TempDir() {
    std::error_code ec;
    if (::getpid() == owner) fs::remove_all(path, ec);
  }
};

std::string temp_db(const std::string& name) {
  static TempDir temp;
  const fs::path& dir = temp.path;
  fs::create_directories(dir);
  fs::path p = dir / (name + ".db");
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(p.string() + suffix);
  return p.string();
}

}  // namespace

TEST(SceneRoutes, GetPostAndEvents) {
  SceneServer s(temp_db("get_post"));
  auto r = http_request(s.port(), "GET", "/v1/scene");
  ASSERT_EQ(r.status, 200);
  Json state = r.json();
  EXPECT_EQ(state["revision"], 0);
  EXPECT_TRUE(state["objects"].empty());
  EXPECT_TRUE(state["anchors"].contains("window"));

  r = http_request(s.port(), "POST", "/v1/scene", R"({"action":"place_furniture","type":"sofa","style":"nordic","position":"window"})");
  ASSERT_EQ(r.status, 200) << r.body;
  Json event = r.json();
  EXPECT_EQ(event["type"], "omni.scene");
  EXPECT_EQ(event["revision"], 1);
  EXPECT_EQ(event["state"]["objects"][0]["type"], "sofa");
  EXPECT_EQ(event["state"]["objects"][0]["anchor"], "window");

  r = http_request(s.port(), "GET", "/v1/scene");
  EXPECT_EQ(r.json()["objects"].size(), 1u);
  auto events = s.take_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0], event);
}

TEST(SceneRoutes, BadRequestsAreOpenAiErrors) {
  SceneServer s(temp_db("bad"));
  const std::pair<std::string, int> cases[] = {
      {"not json", 400},
      {"[1,2]", 400},
      {R"({"type":"sofa"})", 400},
      {R"({"action":"place_furniture","type":"dragon"})", 400},
      {R"({"action":"place_furniture","type":"sofa","position":"on the moon"})", 404},
      {R"({"action":"fly_away"})", 404},
      {R"({"action":"remove_furniture","type":"bed"})", 404},
  };
  for (const auto& [body, status] : cases) {
    auto r = http_request(s.port(), "POST", "/v1/scene", body);
    EXPECT_EQ(r.status, status) << body << " -> " << r.body;
    EXPECT_TRUE(is_openai_error(r.body)) << r.body;
  }
  EXPECT_EQ(http_request(s.port(), "GET", "/v1/scene").json()["revision"], 0);
  EXPECT_TRUE(s.take_events().empty());
}

TEST(SceneRoutes, ResetAndRestoreAfterRestart) {
  std::string db = temp_db("restart");
  Json saved;
  {
    SceneServer s(db);
    http_request(s.port(), "POST", "/v1/scene", R"({"action":"place_furniture","type":"bed","position":"centre"})");
    http_request(s.port(), "POST", "/v1/scene", R"({"action":"camera_view","preset":"top"})");
    saved = http_request(s.port(), "GET", "/v1/scene").json();
  }
  {
    SceneServer s(db);
    EXPECT_EQ(http_request(s.port(), "GET", "/v1/scene").json(), saved);
    auto r = http_request(s.port(), "POST", "/v1/scene", R"({"reset":true})");
    ASSERT_EQ(r.status, 200);
    EXPECT_TRUE(r.json()["state"]["objects"].empty());
  }
  SceneServer s(db);
  EXPECT_TRUE(http_request(s.port(), "GET", "/v1/scene").json()["objects"].empty());
}

TEST(SceneRoutes, AgentSinkAppliesAndReportsFailures) {
  SceneServer s(temp_db("sink"));
  auto sink = scene_sink(s.scene, s.services->events, s.log);
  sink(Json{{"type", "omni.action"}, {"action", {{"action", "place_furniture"}, {"type", "plant"}, {"position", "corner"}}}});
  auto events = s.take_events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["type"], "omni.action");
  EXPECT_EQ(events[1]["type"], "omni.scene");
  EXPECT_EQ(events[1]["state"]["objects"][0]["type"], "plant");
  EXPECT_THROW(sink(Json{{"type", "omni.action"}, {"action", {{"action", "move_furniture"}, {"type", "bed"}, {"position", "window"}}}}),
               omni::Error);
  events = s.take_events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1]["type"], "omni.scene_error");
  EXPECT_NE(events[1]["error"].get<std::string>().find("bed"), std::string::npos);
  EXPECT_EQ(s.scene->revision(), 1);
}
