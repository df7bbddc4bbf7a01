// Executor tests against real local endpoints: an HTTP server on loopback (this test), Debian's
// mosquitto broker (started here on a free port), /bin/echo and /bin/sleep for exec. Timeouts and
// refused connections must come back as recorded failures.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "agent/catalog.hpp"
#include "agent/executors.hpp"
#include "loopback_http.hpp"

using namespace omni::agent;
using nlohmann::json;
using omni_test::free_port;
using omni_test::LoopbackHttp;

namespace {

ActionSpec spec_with(const std::string& type, json cfg) {
  ActionSpec s;
  s.name = "light";
  s.executor.type = type;
  s.executor.config = std::move(cfg);
  return s;
}

const json k_action = {{"action", "light"}, {"room", "bedroom"}, {"state", "on"}};

}  // namespace

TEST(HttpExecutor, PostsTheActionToALoopbackServer) {
  LoopbackHttp server(200, false);
  auto r = execute_action(spec_with("http", {{"url", "http://127.0.0.1:" + std::to_string(server.port()) + "/api/{room}"}}), k_action, {});
  EXPECT_TRUE(r["ok"].get<bool>()) << r.dump();
  EXPECT_EQ(r["status"], 200);
  EXPECT_EQ(r["url"], "http://127.0.0.1:" + std::to_string(server.port()) + "/api/bedroom");
  ASSERT_EQ(server.bodies().size(), 1u);
  EXPECT_EQ(json::parse(server.bodies()[0]), k_action);
}

TEST(HttpExecutor, BodyTemplateKeepsTypes) {
  LoopbackHttp server(200, false);
  json cfg = {{"url", "http://127.0.0.1:" + std::to_string(server.port())}, {"body", {{"entity", "light.{room}"}, {"on", "{state}"}}}};
  auto r = execute_action(spec_with("http", cfg), k_action, {});
  ASSERT_TRUE(r["ok"].get<bool>());
  EXPECT_EQ(json::parse(server.bodies().at(0)), json({{"entity", "light.bedroom"}, {"on", "on"}}));
}

TEST(HttpExecutor, ServerErrorIsRetriedThenRecorded) {
  LoopbackHttp server(503, false);
  auto r = execute_action(spec_with("http", {{"url", "http://127.0.0.1:" + std::to_string(server.port())}, {"retries", 2}}), k_action, {});
  EXPECT_FALSE(r["ok"].get<bool>());
  EXPECT_EQ(server.n_requests(), 3);
  EXPECT_NE(r["error"].get<std::string>().find("503"), std::string::npos);
}

TEST(HttpExecutor, RefusedConnectionIsARecordedFailure) {
  int port = free_port();
  auto r = execute_action(spec_with("http", {{"url", "http://127.0.0.1:" + std::to_string(port)}, {"retries", 1}}), k_action, {});
  EXPECT_FALSE(r["ok"].get<bool>());
  EXPECT_EQ(r["attempts"], 2);
  EXPECT_NE(r["error"].get<std::string>().find("failed"), std::string::npos);
}

TEST(HttpExecutor, TimeoutIsARecordedFailure) {
  LoopbackHttp server(200, true);
  auto t0 = std::chrono::steady_clock::now();
  auto r = execute_action(spec_with("http", {{"url", "http://127.0.0.1:" + std::to_string(server.port())}, {"timeout_ms", 300}, {"retries", 0}}), k_action, {});
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_FALSE(r["ok"].get<bool>());
  EXPECT_LT(s, 1.4);  // gave up on its own timeout, not the server's close
}

TEST(HttpExecutor, MissingUrlIsAFailureNotACrash) {
  auto r = execute_action(spec_with("http", json::object()), k_action, {});
  EXPECT_FALSE(r["ok"].get<bool>());
}

namespace {

// Debian's mosquitto broker on a free loopback port, for the life of the object.
class Broker {
 public:
  Broker() {
    port_ = free_port();
    conf_ = "/tmp/omni-test-mosquitto-" + std::to_string(getpid()) + ".conf";
    std::ofstream(conf_) << "listener " << port_ << " 127.0.0.1\nallow_anonymous true\n";
    pid_ = fork();
    if (pid_ == 0) {
      execl("/usr/sbin/mosquitto", "mosquitto", "-c", conf_.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 100 && !ready(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ~Broker() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    unlink(conf_.c_str());
  }
  bool ready() const {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(s);
    return ok;
  }
  int port() const { return port_; }

 private:
  int port_ = 0;
  pid_t pid_ = -1;
  std::string conf_;
};

}  // namespace

TEST(MqttExecutor, PublishReachesASubscriberThroughMosquitto) {
  ASSERT_EQ(access("/usr/sbin/mosquitto", X_OK), 0) << "mosquitto is required (scripts/setup.sh installs it)";
  Broker broker;
  ASSERT_TRUE(broker.ready()) << "mosquitto did not start";
  // A subscriber (mosquitto_sub) waiting for one message, its output in a pipe.
  std::string cmd = "timeout 10 mosquitto_sub -h 127.0.0.1 -p " + std::to_string(broker.port()) + " -t 'home/bedroom/light' -C 1";
  FILE* sub = popen(cmd.c_str(), "r");
  ASSERT_NE(sub, nullptr);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let it subscribe
  json cfg = {{"host", "127.0.0.1"}, {"port", broker.port()}, {"topic", "home/{room}/light"}, {"qos", 1}};
  auto r = execute_action(spec_with("mqtt", cfg), k_action, {});
  EXPECT_TRUE(r["ok"].get<bool>()) << r.dump();
  char buf[1024] = {0};
  size_t n = fread(buf, 1, sizeof buf - 1, sub);
  pclose(sub);
  ASSERT_GT(n, 0u);
  EXPECT_EQ(json::parse(std::string(buf, n)), k_action);
}

TEST(MqttExecutor, RefusedConnectionIsARecordedFailure) {
  json cfg = {{"host", "127.0.0.1"}, {"port", free_port()}, {"topic", "x"}, {"timeout_ms", 1000}};
  auto r = execute_action(spec_with("mqtt", cfg), k_action, {});
  EXPECT_FALSE(r["ok"].get<bool>());
  EXPECT_FALSE(r["error"].get<std::string>().empty());
}

TEST(ExecExecutor, RunsAnAllowListedProgramWithoutAShell) {
  json cfg = {{"argv", {"/bin/echo", "light", "{room}", "$(rm -rf /)", "{state}"}}};
  auto r = execute_action(spec_with("exec", cfg), k_action, {});
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  EXPECT_EQ(r["stdout"], "light bedroom $(rm -rf /) on\n");
  EXPECT_EQ(r["exit_code"], 0);
}

TEST(ExecExecutor, RefusesProgramsNotOnTheAllowList) {
  auto r = execute_action(spec_with("exec", {{"argv", {"/bin/ls", "/"}}}), k_action, {});
  EXPECT_FALSE(r["ok"].get<bool>());
  EXPECT_NE(r["error"].get<std::string>().find("allow-list"), std::string::npos);
  auto rel = execute_action(spec_with("exec", {{"argv", {"echo", "x"}}}), k_action, {});
  EXPECT_FALSE(rel["ok"].get<bool>());
}

TEST(ExecExecutor, TimeoutKillsTheProgram) {
  ExecutorContext ctx;
  ctx.exec_allow = {"/bin/sleep"};
  auto t0 = std::chrono::steady_clock::now();
  auto r = execute_action(spec_with("exec", {{"argv", {"/bin/sleep", "5"}}, {"timeout_ms", 300}}), k_action, ctx);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_FALSE(r["ok"].get<bool>());
  EXPECT_NE(r["error"].get<std::string>().find("timed out"), std::string::npos);
  EXPECT_LT(s, 3.0);
}

TEST(ExecExecutor, NonZeroExitIsAFailure) {
  ExecutorContext ctx;
  ctx.exec_allow = {"/bin/false"};
  auto r = execute_action(spec_with("exec", {{"argv", {"/bin/false"}}}), k_action, ctx);
  EXPECT_FALSE(r["ok"].get<bool>());
  EXPECT_EQ(r["exit_code"], 1);
}

TEST(SceneExecutor, EmitsAnEventToTheSink) {
  std::vector<json> events;
  ExecutorContext ctx;
  ctx.scene_sink = [&](const json& e) { events.push_back(e); };
  json place = {{"action", "place_furniture"}, {"type", "sofa"}};
  auto r = execute_action(spec_with("scene", json::object()), place, ctx);
  EXPECT_TRUE(r["ok"].get<bool>());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0], json({{"type", "omni.action"}, {"action", place}}));
}

TEST(Templates, FillTemplate) {
  EXPECT_EQ(fill_template("home/{room}/{missing}/x", k_action), "home/bedroom//x");
  EXPECT_EQ(fill_template("{action_json}", k_action), k_action.dump());
  EXPECT_EQ(fill_template("a {not closed", k_action), "a {not closed");
}
