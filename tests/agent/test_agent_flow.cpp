// Agent tests: routing, the confirm flow (yes/no turns per conversation), dry run, scene events,
// unknown actions denied, tier 1 through a remote OpenAI-compatible server on loopback, concurrent
// act() calls, and `omni act --json` from the command line.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>
#include <filesystem>
#include <thread>
#include <vector>

#include "temp_db.hpp"
#include "agent/agent.hpp"
#include "agent/episode_store.hpp"
#include "agent/tier1.hpp"
#include "loopback_http.hpp"
#include "omni/error.hpp"

using namespace omni::agent;
using nlohmann::json;

namespace {
std::string temp_db(const std::string& name) { return omni::test::temp_db_path("agent-test", name); }
ActRequest req(const std::string& text, const std::string& conv = "c1") {
  ActRequest r;
  r.text = text;
  r.conversation_id = conv;
  return r;
}
}  // namespace

TEST(Agent, Tier0ActionExecutesAndIsRecorded) {
  Agent::Options o;
  o.db_path = temp_db("t0");
  Agent agent(o);
  std::vector<json> events;
  agent.set_scene_sink([&](const json& e) { events.push_back(e); });
  auto r = agent.act(req("put a nordic sofa by the window"));
  EXPECT_EQ(r.action, json::parse(R"({"action":"place_furniture","type":"sofa","style":"nordic","position":"window"})"));
  EXPECT_EQ(r.tier, "0");
  EXPECT_EQ(r.policy, "allow");
  EXPECT_TRUE(r.executed);
  EXPECT_TRUE(r.ok);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["type"], "omni.action");
  EXPECT_EQ(events[0]["action"], r.action);
  auto ep = agent.episodes()->get(r.episode_id);
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->input_text, "put a nordic sofa by the window");
  EXPECT_EQ(ep->action, r.action);
  EXPECT_EQ(ep->policy, "allow");
  EXPECT_TRUE(ep->timings_ms.contains("tier0"));
  json j = r.to_json();
  EXPECT_EQ(j["tier"], "0");
  EXPECT_TRUE(j.contains("timings_ms"));
}

TEST(Agent, NotUnderstoodGivesNullAction) {
  Agent agent(Agent::Options{});
  auto r = agent.act(req("tell me a joke"));
  EXPECT_TRUE(r.action.is_null());
  EXPECT_EQ(r.tier, "");
  EXPECT_FALSE(r.executed);
  EXPECT_NE(r.reply.find("not understand"), std::string::npos);
  auto z = agent.act(req("讲个笑话"));
  EXPECT_NE(z.reply.find("没有听懂"), std::string::npos);
}

TEST(Agent, DryRunExecutesNothing) {
  Agent agent(Agent::Options{});
  int n_events = 0;
  agent.set_scene_sink([&](const json&) { ++n_events; });
  ActRequest r = req("clear the scene");
  r.dry_run = true;
  auto res = agent.act(r);
  EXPECT_EQ(res.action_name, "clear_scene");
  EXPECT_EQ(res.policy, "allow");
  EXPECT_FALSE(res.executed);
  EXPECT_TRUE(res.execution["dry_run"].get<bool>());
  EXPECT_EQ(n_events, 0);
}

TEST(Agent, ConfirmFlowWaitsForYes) {
  Agent::Options o;
  o.db_path = temp_db("confirm");
  Agent agent(o);
  auto ask = agent.act(req("unlock the front door", "conv-a"));
  EXPECT_EQ(ask.policy, "confirm");
  EXPECT_FALSE(ask.executed);
  // Another conversation's "yes" does not confirm it.
  auto other = agent.act(req("yes", "conv-b"));
  EXPECT_TRUE(other.action.is_null());
  auto yes = agent.act(req("yes", "conv-a"));
  EXPECT_EQ(yes.policy, "allow");
  EXPECT_TRUE(yes.executed);
  EXPECT_EQ(yes.action, json::parse(R"({"action":"door_lock","door":"front","state":"unlocked"})"));
  // Answered: a second yes is not understood.
  auto again = agent.act(req("yes", "conv-a"));
  EXPECT_TRUE(again.action.is_null());
}

TEST(Agent, ConfirmFlowNoCancels) {
  Agent agent(Agent::Options{});
  EXPECT_EQ(agent.act(req("解锁大门", "z")).policy, "confirm");
  auto no = agent.act(req("不要", "z"));
  EXPECT_EQ(no.policy, "deny");
  EXPECT_FALSE(no.executed);
  EXPECT_NE(no.reply.find("取消"), std::string::npos);
  // Explicit answers via confirm_answer, and moving on drops the question.
  EXPECT_EQ(agent.act(req("unlock the garage", "z")).policy, "confirm");
  EXPECT_EQ(agent.act(req("turn on the fan", "z")).action_name, "fan");
  auto late = agent.act(req("yes", "z"));
  EXPECT_TRUE(late.action.is_null());
  EXPECT_EQ(agent.act(req("unlock the garage", "z")).policy, "confirm");
  ActRequest a = req("", "z");
  a.confirm_answer = true;
  EXPECT_TRUE(agent.act(a).executed);
}

TEST(Agent, UnknownTier1ActionIsDenied) {
  Agent agent(Agent::Options{});
  agent.set_tier1(std::make_shared<FunctionTier1>("fake", [](const json&, const json&, std::optional<uint64_t>) {
    return Tier1Output{R"({"action":"format_disk","drive":"c"})", nullptr};
  }));
  auto r = agent.act(req("wipe my computer"));
  EXPECT_EQ(r.tier, "1");
  EXPECT_EQ(r.policy, "deny");
  EXPECT_FALSE(r.executed);
}

TEST(Agent, Tier1ThroughRemoteOpenAICompatibleServer) {
  json completion = {{"choices", {{{"index", 0}, {"message", {{"role", "assistant"}, {"content", R"({"action":"say","text":"Hello!"})"}}}, {"finish_reason", "stop"}}}}};
  omni_test::LoopbackHttp server(200, false, completion.dump());
  Agent::Options o;
  o.llm_backend_url = "http://127.0.0.1:" + std::to_string(server.port());
  Agent agent(o);
  ASSERT_TRUE(agent.has_tier1());
  auto r = agent.act(req("how are you"));
  EXPECT_EQ(r.tier, "1");
  EXPECT_EQ(r.action, json::parse(R"({"action":"say","text":"Hello!"})"));
  EXPECT_EQ(r.reply, "Hello!");
  ASSERT_EQ(server.bodies().size(), 1u);
  json sent = json::parse(server.bodies()[0]);
  EXPECT_EQ(sent["response_format"]["type"], "json_schema");
  EXPECT_EQ(sent["response_format"]["json_schema"]["schema"], agent.catalog().union_schema());
  EXPECT_EQ(sent["messages"].back()["content"], "how are you");
  // Tier 0 still answers first without calling the server.
  agent.act(req("turn on the fan"));
  EXPECT_EQ(server.bodies().size(), 1u);
}

TEST(Agent, Tier1BackendDownIsNotUnderstoodNotACrash) {
  Agent::Options o;
  o.llm_backend_url = "http://127.0.0.1:" + std::to_string(omni_test::free_port());
  Agent agent(o);
  auto r = agent.act(req("how are you"));
  EXPECT_TRUE(r.action.is_null());
  EXPECT_FALSE(r.execution["ok"].get<bool>());
}

TEST(Agent, ConcurrentActCalls) {
  Agent::Options o;
  o.db_path = temp_db("concurrent");
  Agent agent(o);
  std::atomic<int> n_events{0};
  agent.set_scene_sink([&](const json&) { ++n_events; });
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        auto r = agent.act(req(i % 2 ? "move the sofa to the corner" : "turn off the kitchen lights", "t" + std::to_string(t)));
        if (r.ok) ++ok;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 200);
  EXPECT_EQ(n_events.load(), 8 * 12);  // odd i of 0..24 move the sofa (a scene action)
  EXPECT_EQ(agent.episodes()->count(), 200);
}

TEST(Agent, FeedbackValidatesTheCorrection) {
  Agent::Options o;
  o.db_path = temp_db("feedback");
  Agent agent(o);
  auto r = agent.act(req("turn on the fan"));
  agent.feedback(r.episode_id, 1.0, std::nullopt);
  EXPECT_THROW(agent.feedback(r.episode_id, 0.0, json::parse(R"({"action":"fan","state":"sideways"})")), omni::Error);
  agent.feedback(r.episode_id, -1.0, json::parse(R"({"action":"fan","state":"off"})"));
  auto ep = agent.episodes()->get(r.episode_id);
  EXPECT_EQ(*ep->reward, -1.0);
  EXPECT_EQ(ep->corrected_action["state"], "off");
  EXPECT_THROW(agent.feedback(999999, 1.0, std::nullopt), omni::Error);
}

TEST(Catalog, DemoCopyMatchesTheFile) {
  std::ifstream in(std::string(OMNI_SOURCE_DIR) + "/catalogs/demo.yaml", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), Catalog::demo_text()) << "the embedded demo catalog must equal catalogs/demo.yaml (cmake/embed_demo_catalog.cmake)";
}

TEST(Catalog, BadCatalogsAreErrors) {
  for (const char* bad : {"", "[1,2]", "actions: []", "actions:\n  - name: Bad-Name\n", "actions:\n  - name: a\n  - name: a\n",
                          "actions:\n  - name: a\n    executor: {type: teleport}\n",
                          "actions:\n  - name: a\n    examples: [{utterance: x, action: {action: b}}]\n", "actions: [\n"}) {
    EXPECT_THROW(Catalog::parse(bad, "test"), omni::Error) << bad;
  }
  EXPECT_THROW(Catalog::load_file("/nonexistent/catalog.yaml"), omni::Error);
  Catalog demo = Catalog::demo();
  EXPECT_EQ(demo.validate_action(json::parse(R"({"action":"light","state":"on"})")), "");
  EXPECT_NE(demo.validate_action(json::parse(R"({"action":"light","state":"on","extra":1})")), "");
  EXPECT_NE(demo.validate_action(json::parse(R"({"action":"nope"})")), "");
  EXPECT_NE(demo.validate_action(json::parse(R"({"action":"thermostat","temperature":45})")), "");
}

TEST(Cli, ActJsonPrintsOneObject) {
  auto run = [](const std::string& args) {
    std::string cmd = std::string(OMNI_CLI) + " act --json --no-record " + args + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    int status = pclose(p);
    return std::make_pair(WEXITSTATUS(status), out);
  };
  auto [rc, out] = run("\"put a nordic sofa by the window\"");
  EXPECT_EQ(rc, 0);
  json j = json::parse(out);
  EXPECT_EQ(j["action"], json::parse(R"({"action":"place_furniture","type":"sofa","style":"nordic","position":"window"})"));
  EXPECT_EQ(j["tier"], "0");
  auto [rc2, out2] = run("\"what is the meaning of life\"");
  EXPECT_EQ(rc2, 0);
  EXPECT_TRUE(json::parse(out2)["action"].is_null());
  auto [rc3, out3] = run("--dry-run \"在窗边放一个北欧风格的沙发\"");
  EXPECT_EQ(rc3, 0);
  json d = json::parse(out3);
  EXPECT_FALSE(d["executed"].get<bool>());
  EXPECT_EQ(d["action"]["style"], "nordic");
  auto [rc4, out4] = run("--catalog /nonexistent.yaml hello");
  EXPECT_NE(rc4, 0);
}
