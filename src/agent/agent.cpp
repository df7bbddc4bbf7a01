// The agent: router (tier 0 -> tier 1 -> not understood), policy, confirmation turns, execution,
// episode recording and replies; see agent.hpp.
#include "agent/agent.hpp"

#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include "agent/episode_store.hpp"
#include "agent/executors.hpp"
#include "agent/template_matcher.hpp"
#include "agent/text_normalize.hpp"
#include "agent/tier1.hpp"
#include "omni/error.hpp"

namespace omni::agent {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// Reads a yes/no answer: 1 yes, 0 no, -1 neither.
int yes_no(const std::string& text) {
  static const std::set<std::string> yes = {"yes", "yeah", "yep", "sure", "ok", "okay", "confirm", "do it", "go ahead",
                                            "yes please", "please do", "correct", "right", "是", "是的", "好", "好的",
                                            "确认", "可以", "对", "行", "嗯"};
  static const std::set<std::string> no = {"no", "nope", "cancel", "stop", "dont", "do not", "never mind", "abort",
                                           "不", "不要", "取消", "算了", "别", "不用", "否", "不是"};
  std::string norm;
  for (const auto& t : normalize_utterance(text)) {
    if (!norm.empty() && !t.cjk) norm += ' ';
    norm += t.text;
  }
  if (yes.count(norm)) return 1;
  if (no.count(norm)) return 0;
  return -1;
}

std::string hash_image(const std::string& path_or_data) {
  if (path_or_data.rfind("data:", 0) == 0) return sha256_hex(path_or_data);
  std::ifstream in(path_or_data, std::ios::binary);
  if (!in) return sha256_hex(path_or_data);
  std::stringstream ss;
  ss << in.rdbuf();
  return sha256_hex(ss.str());
}

}  // namespace

json ActResult::to_json() const {
  json j{{"action", action},
         {"action_name", action_name.empty() ? json(nullptr) : json(action_name)},
         {"tier", tier.empty() ? json(nullptr) : json(tier)},
         {"confidence", confidence},
         {"policy", policy.empty() ? json(nullptr) : json(policy)},
         {"executed", executed},
         {"ok", ok},
         {"execution", execution},
         {"reply", reply},
         {"timings_ms", timings_ms},
         {"episode_id", episode_id < 0 ? json(nullptr) : json(episode_id)}};
  if (!matched_template.empty()) j["matched_template"] = matched_template;
  if (!raw_model_output.empty()) j["raw_model_output"] = raw_model_output;
  return j;
}

struct Agent::Impl {
  Options options;
  Catalog catalog;
  std::unique_ptr<TemplateMatcher> matcher;
  std::unique_ptr<EpisodeStore> store;
  std::mutex mutex;  // guards sink, tier1, pending
  std::function<void(const json&)> scene_sink;
  std::shared_ptr<Tier1Backend> tier1;
  std::mutex tier1_mutex;  // one tier-1 generation at a time (a local engine is single-stream)
  std::map<std::string, json> pending;  // conversation id -> action waiting for yes/no

  ExecutorContext executor_context() {
    std::lock_guard<std::mutex> lock(mutex);
    ExecutorContext ctx;
    ctx.scene_sink = scene_sink;
    ctx.exec_allow = options.exec_allow;
    return ctx;
  }
};

Agent::Agent(Options options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->catalog = impl_->options.catalog_path.empty() ? Catalog::demo() : Catalog::load_file(impl_->options.catalog_path);
  impl_->matcher = std::make_unique<TemplateMatcher>(impl_->catalog);
  if (!impl_->options.db_path.empty()) impl_->store = std::make_unique<EpisodeStore>(impl_->options.db_path);
  if (!impl_->options.llm_backend_url.empty())
    impl_->tier1 = std::make_shared<RemoteTier1>(impl_->options.llm_backend_url, impl_->options.llm_model);
}

Agent::~Agent() = default;

const Catalog& Agent::catalog() const { return impl_->catalog; }
EpisodeStore* Agent::episodes() { return impl_->store.get(); }

void Agent::set_scene_sink(std::function<void(const json&)> sink) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->scene_sink = std::move(sink);
}

void Agent::set_tier1(std::shared_ptr<Tier1Backend> backend) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->tier1 = std::move(backend);
}

bool Agent::has_tier1() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->tier1 != nullptr;
}

void Agent::feedback(int64_t episode_id, double reward, std::optional<json> corrected_action) {
  if (!impl_->store) fail(ErrorCode::invalid_argument, "feedback needs an episode store (no database configured)");
  if (corrected_action) {
    std::string err = impl_->catalog.validate_action(*corrected_action);
    if (!err.empty()) fail(ErrorCode::invalid_argument, "corrected action is invalid: ", err);
  }
  impl_->store->set_feedback(episode_id, reward, corrected_action);
}

ActResult Agent::act(const ActRequest& req) {
  const auto t_start = Clock::now();
  ActResult r;
  const bool zh = has_cjk(req.text);
  const bool dry_run = req.dry_run || impl_->options.dry_run;
  Episode ep;
  ep.conversation_id = req.conversation_id;
  ep.input_text = req.text;
  if (req.audio_sha256) ep.audio_sha256 = *req.audio_sha256;
  if (req.image_path_or_data) {
    ep.image_sha256 = hash_image(*req.image_path_or_data);
    if (req.image_path_or_data->rfind("data:", 0) != 0) ep.image_path = *req.image_path_or_data;
  }
  if (req.tier != "0" && req.tier != "1" && req.tier != "auto")
    fail(ErrorCode::invalid_argument, "tier must be 0, 1 or auto, got '", req.tier, "'");

  // 1. A pending confirmation is answered by this turn?
  std::optional<json> confirmed;
  bool was_answer = false;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    auto it = impl_->pending.find(req.conversation_id);
    if (it != impl_->pending.end()) {
      int answer = req.confirm_answer ? (*req.confirm_answer ? 1 : 0) : yes_no(req.text);
      if (answer >= 0) {
        was_answer = true;
        if (answer == 1) confirmed = it->second;
        else r.action = it->second;
        impl_->pending.erase(it);
      } else {
        impl_->pending.erase(it);  // the user moved on: forget the question
      }
    }
  }
  const ActionSpec* spec = nullptr;
  if (was_answer) {
    r.tier = "confirm";
    if (confirmed) {
      r.action = *confirmed;
      spec = impl_->catalog.find(r.action["action"].get<std::string>());
      r.policy = "allow";
    } else {
      r.action_name = r.action["action"].get<std::string>();
      r.policy = "deny";
      r.reply = zh ? "好的，已取消。" : "OK, cancelled.";
    }
    r.confidence = 1.0;
  } else {
    // 2. Route: tier 0, then tier 1.
    if (req.tier == "0" || req.tier == "auto") {
      auto t0 = Clock::now();
      auto m = impl_->matcher->match(req.text, impl_->options.tier0_min_confidence);
      r.timings_ms["tier0"] = ms_since(t0);
      if (m) {
        r.action = m->action;
        r.tier = "0";
        r.confidence = m->confidence;
        r.matched_template = m->template_text;
      }
    }
    std::shared_ptr<Tier1Backend> tier1;
    {
      std::lock_guard<std::mutex> lock(impl_->mutex);
      tier1 = impl_->tier1;
    }
    if (r.action.is_null() && (req.tier == "1" || req.tier == "auto") && tier1) {
      auto t1 = Clock::now();
      json messages = build_tier1_messages(
          impl_->catalog, req.text,
          req.image_path_or_data ? std::optional<std::string>(image_data_url(*req.image_path_or_data)) : std::nullopt);
      ep.prompt = messages.dump();
      try {
        std::lock_guard<std::mutex> lock(impl_->tier1_mutex);
        Tier1Output out = tier1->generate(messages, impl_->catalog.union_schema(), req.seed);
        r.raw_model_output = out.text;
        auto parsed = parse_action_text(out.text);
        if (parsed) {
          std::string err = impl_->catalog.validate_action(*parsed);
          if (err.empty()) {
            r.action = *parsed;
            r.tier = "1";
            r.confidence = 0.8;
          } else if (parsed->contains("action") && (*parsed)["action"].is_string() &&
                     !impl_->catalog.find((*parsed)["action"].get<std::string>())) {
            r.action = *parsed;  // unknown action: denied below
            r.tier = "1";
          } else {
            r.execution = json{{"ok", false}, {"error", "model output is not a valid action: " + err}};
          }
        }
      } catch (const Error& e) {
        r.execution = json{{"ok", false}, {"error", std::string("tier 1 failed: ") + e.what()}};
      }
      r.timings_ms["tier1"] = ms_since(t1);
    }
    // 3. Policy.
    if (!r.action.is_null()) {
      spec = impl_->catalog.find(r.action.value("action", ""));
      if (!spec) {
        r.policy = "deny";
        r.reply = zh ? "抱歉，这个操作不被允许。" : "Sorry, that action is not allowed.";
      } else if (spec->confirm && !(req.confirm_answer && *req.confirm_answer)) {
        r.policy = "confirm";
        std::lock_guard<std::mutex> lock(impl_->mutex);
        impl_->pending[req.conversation_id] = r.action;
      } else {
        r.policy = "allow";
      }
    }
  }
  if (!r.action.is_null()) r.action_name = r.action.value("action", "");

  // 4. Execute.
  if (r.policy == "allow" && spec) {
    if (dry_run) {
      r.execution = json{{"ok", true}, {"executor", spec->executor.type}, {"dry_run", true}};
      r.ok = true;
    } else {
      auto te = Clock::now();
      r.execution = execute_action(*spec, r.action, impl_->executor_context());
      r.timings_ms["execute"] = ms_since(te);
      r.executed = true;
      r.ok = r.execution.value("ok", false);
    }
  }

  // 5. Reply.
  if (r.reply.empty()) {
    if (r.action.is_null()) {
      r.reply = zh ? "抱歉，我没有听懂。" : "Sorry, I did not understand that.";
    } else if (r.policy == "confirm") {
      std::string what = impl_->catalog.render_reply(r.action, zh);
      r.reply = zh ? "确定要执行吗：" + r.action_name + "？请回答是或否。"
                   : "Do you want me to do this: " + r.action.dump() + "? Please answer yes or no.";
      (void)what;
    } else if (r.policy == "allow" && !r.ok) {
      r.reply = (zh ? "抱歉，执行失败：" : "Sorry, that failed: ") + r.execution.value("error", std::string("unknown error"));
    } else if (r.policy == "allow") {
      r.reply = impl_->catalog.render_reply(r.action, zh);
      if (dry_run) r.reply = (zh ? "（演练）" : "(dry run) ") + r.reply;
    }
  }
  r.timings_ms["total"] = ms_since(t_start);

  // 6. Record.
  if (impl_->store) {
    ep.tier = r.tier;
    ep.raw_model_output = r.raw_model_output;
    ep.action = r.action;
    ep.policy = r.policy;
    ep.execution = r.execution;
    ep.reply = r.reply;
    ep.timings_ms = r.timings_ms;
    r.episode_id = impl_->store->add(ep);
  }
  return r;
}

}  // namespace omni::agent
