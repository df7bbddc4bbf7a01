// Episode store tests: round trip, kill -9 during writes loses no committed episode, SHA-256
// vectors, and the ms-swift dataset export (sft / dpo / kto) field rules.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "temp_db.hpp"
#include "agent/catalog.hpp"
#include "agent/dataset_export.hpp"
#include "agent/episode_store.hpp"
#include "omni/error.hpp"

using namespace omni::agent;
using nlohmann::json;

namespace {
std::string temp_db(const std::string& name) { return omni::test::temp_db_path("episodes-test", name); }
Episode make(const std::string& text, json action) {
  Episode e;
  e.input_text = text;
  e.tier = "0";
  e.action = std::move(action);
  e.policy = "allow";
  e.execution = {{"ok", true}};
  e.timings_ms = {{"tier0", 0.1}};
  return e;
}
}  // namespace

TEST(EpisodeStore, RoundTrip) {
  EpisodeStore store(temp_db("rt"));
  Episode e = make("turn on the fan", {{"action", "fan"}, {"state", "on"}});
  e.audio_sha256 = sha256_hex("audio");
  e.image_path = "/tmp/x.png";
  int64_t id = store.add(e);
  auto got = store.get(id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->input_text, e.input_text);
  EXPECT_EQ(got->action, e.action);
  EXPECT_EQ(got->execution, e.execution);
  EXPECT_EQ(got->timings_ms, e.timings_ms);
  EXPECT_EQ(got->audio_sha256, e.audio_sha256);
  EXPECT_FALSE(got->reward);
  store.set_feedback(id, 0.5, json{{"action", "fan"}, {"state", "off"}});
  EXPECT_EQ(*store.get(id)->reward, 0.5);
  EXPECT_EQ(store.count(), 1);
  EXPECT_FALSE(store.get(id + 100));
  EXPECT_THROW(store.set_feedback(id + 100, 1, std::nullopt), omni::Error);
  EXPECT_THROW(EpisodeStore("/nonexistent-dir/x/y.db"), omni::Error);
}

TEST(EpisodeStore, Sha256KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(EpisodeStore, SurvivesKill9DuringWrites) {
  const std::string path = temp_db("kill9");
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    EpisodeStore store(path);
    for (int i = 0;; ++i) {
      Episode e = make("utterance " + std::to_string(i) + std::string(2000, 'x'), {{"action", "fan"}, {"i", i}});
      int64_t id = store.add(e);  // committed when add() returns
      if (write(fds[1], &id, sizeof id) != sizeof id) _exit(1);
    }
  }
  close(fds[1]);
  std::vector<int64_t> committed;
  int64_t id;
  while (committed.size() < 300 && read(fds[0], &id, sizeof id) == sizeof id) committed.push_back(id);
  kill(pid, SIGKILL);  // mid-write: the child is inserting continuously
  // Drain what was reported before the kill landed.
  while (read(fds[0], &id, sizeof id) == sizeof id) committed.push_back(id);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  ASSERT_GE(committed.size(), 300u);
  EpisodeStore store(path);
  for (int64_t c : committed) {
    auto e = store.get(c);
    ASSERT_TRUE(e) << "committed episode " << c << " was lost";
    EXPECT_EQ(e->action["action"], "fan");
  }
  EXPECT_GE(store.count(), int64_t(committed.size()));
  // Still writable after recovery.
  EXPECT_GT(store.add(make("after", nullptr)), committed.back());
}

TEST(DatasetExport, SwiftFormatsFollowTheFieldRules) {
  Catalog catalog = Catalog::demo();
  std::vector<Episode> eps;
  auto add = [&](Episode e) {
    e.id = int64_t(eps.size()) + 1;
    eps.push_back(std::move(e));
  };
  add(make("turn on the fan", {{"action", "fan"}, {"state", "on"}}));                 // plain
  Episode liked = make("turn off the light", {{"action", "light"}, {"state", "off"}});
  liked.reward = 1.0;
  add(liked);                                                                          // positive feedback
  Episode wrong = make("make it cooler", {{"action", "fan"}, {"state", "on"}});
  wrong.reward = -1.0;
  wrong.corrected_action = {{"action", "thermostat"}, {"temperature", 20}};
  add(wrong);                                                                          // corrected
  Episode bad = make("dim it", {{"action", "light"}, {"state", "off"}});
  bad.reward = 0.0;
  add(bad);                                                                            // negative, no fix
  add(make("tell me a joke", nullptr));                                                // not understood
  Episode img = make("share this table with Li", {{"action", "share"}, {"target", "current_table"}, {"recipient", "Li"}});
  img.image_path = "/data/screen.png";
  add(img);                                                                            // with an image

  auto sft = export_rows(eps, catalog, DatasetFormat::sft);
  ASSERT_EQ(sft.size(), 4u);  // fan, light(liked), thermostat(corrected), share
  for (const auto& r : sft) EXPECT_EQ(check_swift_row(r, DatasetFormat::sft), "") << r.dump();
  EXPECT_EQ(sft[0]["messages"].size(), 3u);
  EXPECT_EQ(sft[0]["messages"][0]["role"], "system");
  EXPECT_EQ(sft[0]["messages"][1]["content"], "turn on the fan");
  EXPECT_EQ(json::parse(sft[2]["messages"][2]["content"].get<std::string>())["action"], "thermostat");
  EXPECT_EQ(sft[3]["images"], json::array({"/data/screen.png"}));
  EXPECT_EQ(sft[3]["messages"][1]["content"], "<image>share this table with Li");

  auto dpo = export_rows(eps, catalog, DatasetFormat::dpo);
  ASSERT_EQ(dpo.size(), 1u);
  EXPECT_EQ(check_swift_row(dpo[0], DatasetFormat::dpo), "");
  EXPECT_EQ(json::parse(dpo[0]["rejected_response"].get<std::string>())["action"], "fan");
  EXPECT_EQ(json::parse(dpo[0]["messages"].back()["content"].get<std::string>())["action"], "thermostat");

  auto kto = export_rows(eps, catalog, DatasetFormat::kto);
  ASSERT_EQ(kto.size(), 4u);  // liked(true), wrong(false) + its fix(true), bad(false)
  int n_true = 0;
  for (const auto& r : kto) {
    EXPECT_EQ(check_swift_row(r, DatasetFormat::kto), "") << r.dump();
    n_true += r["label"].get<bool>();
  }
  EXPECT_EQ(n_true, 2);

  // The checker itself rejects rows that break the rules.
  json ok = sft[0];
  json no_asst = ok;
  no_asst["messages"].erase(2);
  EXPECT_NE(check_swift_row(no_asst, DatasetFormat::sft), "");
  json tag_mismatch = ok;
  tag_mismatch["images"] = json::array({"/a.png"});
  EXPECT_NE(check_swift_row(tag_mismatch, DatasetFormat::sft), "");
  json extra = ok;
  extra["foo"] = 1;
  EXPECT_NE(check_swift_row(extra, DatasetFormat::sft), "");
  EXPECT_NE(check_swift_row(ok, DatasetFormat::dpo), "");
  EXPECT_NE(check_swift_row(ok, DatasetFormat::kto), "");
  json label_in_sft = ok;
  label_in_sft["label"] = true;
  EXPECT_NE(check_swift_row(label_in_sft, DatasetFormat::sft), "");
  EXPECT_THROW(parse_dataset_format("csv"), omni::Error);

  const std::string out = "/tmp/omni-export-test-" + std::to_string(getpid()) + ".jsonl";
  EXPECT_EQ(write_jsonl(sft, out), 4u);
  std::ifstream in(out);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    EXPECT_EQ(check_swift_row(json::parse(line), DatasetFormat::sft), "");
    ++n;
  }
  EXPECT_EQ(n, 4);
  std::filesystem::remove(out);
}
