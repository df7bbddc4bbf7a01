// Tests of SceneState: SQLite persistence across instances (a restart restores the room), events to
// subscribers, failed actions leaving state and database unchanged, and concurrent appliers.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <unistd.h>

#include "agent/scene/scene_state.hpp"
#include "omni/error.hpp"

using namespace omni::agent::scene;
namespace fs = std::filesystem;

namespace {

// A fresh temporary directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("omni_scene_test_" + std::to_string(::getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

}  // namespace

TEST(SceneState, RestoredAfterRestart) {
  TempDir dir;
  std::string db = dir.file("scene.db");
  json saved;
  {
    SceneState state(db);
    state.apply({{"action", "place_furniture"}, {"type", "sofa"}, {"style", "nordic"}, {"position", "window"}});
    state.apply({{"action", "set_light"}, {"light", "ceiling"}, {"on", false}});
    state.apply({{"action", "camera_view"}, {"view", "top"}});
    saved = state.state();
    EXPECT_EQ(saved["revision"], 3);
  }
  SceneState again(db);
  EXPECT_EQ(again.state(), saved);
  EXPECT_EQ(again.revision(), 3);
  auto model = again.model();
  ASSERT_EQ(model.objects.size(), 1u);
  EXPECT_EQ(model.objects[0].style, "nordic");
  EXPECT_EQ(model.objects[0].anchor, "window");
  EXPECT_FALSE(model.lights[0].on);
  // New ids continue from the restored numbering.
  again.apply({{"action", "place_furniture"}, {"type", "sofa"}, {"position", "door"}});
  EXPECT_EQ(again.model().objects.back().id, "sofa_2");
}

TEST(SceneState, InMemoryWhenNoPath) {
  SceneState state;
  state.apply({{"action", "place_furniture"}, {"type", "plant"}, {"position", "corner"}});
  EXPECT_EQ(state.state()["objects"].size(), 1u);
}

TEST(SceneState, EventsReachSubscribersInOrder) {
  SceneState state;
  std::vector<json> events;
  int id = state.subscribe([&](const json& e) { events.push_back(e); });
  json returned = state.apply({{"action", "place_furniture"}, {"type", "bed"}, {"position", "centre"}});
  state.apply({{"action", "remove_furniture"}, {"target", "bed"}});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0], returned);
  EXPECT_EQ(events[0]["type"], "omni.scene");
  EXPECT_EQ(events[0]["revision"], 1);
  EXPECT_EQ(events[0]["changes"][0]["op"], "add");
  EXPECT_EQ(events[0]["state"]["objects"][0]["type"], "bed");
  EXPECT_EQ(events[1]["revision"], 2);
  EXPECT_EQ(events[1]["changes"][0]["op"], "remove");
  EXPECT_TRUE(events[1]["state"]["objects"].empty());
  state.unsubscribe(id);
  state.reset();
  EXPECT_EQ(events.size(), 2u);
  EXPECT_EQ(state.revision(), 3);
}

TEST(SceneState, FailedActionChangesNothing) {
  TempDir dir;
  std::string db = dir.file("scene.db");
  SceneState state(db);
  state.apply({{"action", "place_furniture"}, {"type", "sofa"}, {"position", "window"}});
  int calls = 0;
  state.subscribe([&](const json&) { ++calls; });
  json before = state.state();
  EXPECT_THROW(state.apply({{"action", "place_furniture"}, {"type", "sofa"}, {"position", "on the roof"}}), omni::Error);
  EXPECT_EQ(state.state(), before);
  EXPECT_EQ(calls, 0);
  SceneState reopened(db);
  EXPECT_EQ(reopened.state(), before);
}

TEST(SceneState, ResetEmptiesTheRoomAndPersists) {
  TempDir dir;
  std::string db = dir.file("scene.db");
  {
    SceneState state(db);
    state.apply({{"action", "place_furniture"}, {"type", "lamp"}, {"position", "corner"}});
    state.reset();
  }
  SceneState again(db);
  EXPECT_TRUE(again.state()["objects"].empty());
  EXPECT_EQ(again.state()["lights"].size(), 2u);
  EXPECT_EQ(again.revision(), 2);
}

TEST(SceneState, ConcurrentAppliersGetDistinctRevisions) {
  TempDir dir;
  SceneState state(dir.file("scene.db"));
  std::vector<long long> seen;
  std::mutex seen_mutex;
  state.subscribe([&](const json& e) {
    std::lock_guard<std::mutex> lock(seen_mutex);
    seen.push_back(e["revision"].get<long long>());
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) state.apply({{"action", "place_furniture"}, {"type", "chair"}, {"position", "centre"}});
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(state.revision(), 40);
  EXPECT_EQ(state.model().objects.size(), 40u);
  ASSERT_EQ(seen.size(), 40u);
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], static_cast<long long>(i + 1));
  // Ids are unique.
  std::set<std::string> ids;
  for (const auto& o : state.model().objects) ids.insert(o.id);
  EXPECT_EQ(ids.size(), 40u);
}

TEST(SceneState, MalformedDatabaseIsAnError) {
  TempDir dir;
  std::string db = dir.file("not_a_db.db");
  {
    std::ofstream f(db);
    f << "this is not an sqlite file, just text that is long enough to have a header....................";
  }
  EXPECT_THROW(SceneState s(db), omni::Error);
  EXPECT_THROW(SceneState s(dir.file("missing_dir/x/scene.db")), omni::Error);
}
