// Agent adapter: the actions layer (omni::agent::Agent) as the server's Actor, with its tier 1 on
// the local LLM or the remote backend and its scene executor feeding the console's room and events.
#include "agent/agent.hpp"
#include "agent/local_tier1.hpp"
#include "models/mmproj.hpp"
#include "runtime/model.hpp"
#include "runtime/multimodal.hpp"
#include "server/app.hpp"
#include "server/llm_local.hpp"
#include "server/scene_routes.hpp"

namespace omni::server {

namespace {

class AgentActor : public Actor {
 public:
  AgentActor(agent::Agent::Options o) : agent_(std::move(o)) {}
  agent::Agent& agent() { return agent_; }
  Json act(const Json& req) override {
    agent::ActRequest ar;
    ar.text = req.value("text", "");
    if (req.contains("image") && req["image"].is_string()) ar.image_path_or_data = req["image"].get<std::string>();
    if (req.contains("audio_sha256") && req["audio_sha256"].is_string()) ar.audio_sha256 = req["audio_sha256"].get<std::string>();
    ar.dry_run = req.value("dry_run", false);
    ar.tier = req.value("tier", "auto");
    if (req.contains("seed") && req["seed"].is_number_integer()) ar.seed = req["seed"].get<uint64_t>();
    ar.conversation_id = req.value("conversation_id", "default");
    if (req.contains("confirm") && req["confirm"].is_boolean()) ar.confirm_answer = req["confirm"].get<bool>();
    return agent_.act(ar).to_json();
  }
  std::string description() const override {
    return cat("agent: ", agent_.catalog().actions().size(), " actions, tier 1 ", agent_.has_tier1() ? "on" : "off (tier 0 only)");
  }

 private:
  agent::Agent agent_;
};

}  // namespace

void attach_llm(Services& s, const ServeConfig& c, Logger& log) {
  if (!c.model.empty()) {
    LocalLlmOptions o;
    o.path = c.model;
    o.threads = c.threads;
    o.parallel = c.parallel;
    o.ctx = c.ctx;
    o.max_queue = c.server.max_in_flight;
    o.timeout_s = c.server.request_timeout_s;
    o.decode_kernels = c.decode_kernels;
    s.llm = make_local_llm(o, s, &s.local_model);
    s.active.push_back(s.llm->description() + " (POST /v1/chat/completions, /v1/completions)");
    if (!c.mmproj.empty()) {
      auto mm = std::shared_ptr<const models::VisionModel>(models::VisionModel::load(c.mmproj));
      s.vision = std::make_shared<runtime::VisionContext>(mm, *s.local_model);
      s.active.push_back(std::string("vision: ") + models::projector_name(mm->hparams().projector) +
                         " projector (image_url parts, /v1/act images)");
    } else {
      s.waiting.push_back("vision: no --mmproj (image inputs off)");
    }
  } else if (!c.llm_backend.empty()) {
    if (!c.mmproj.empty()) log.warn("--mmproj is for a local model (-m); the backend gets images as image_url parts");
    s.llm = make_remote_llm(c.llm_backend, c.llm_backend_model, log);
    s.active.push_back(s.llm->description());
  } else {
    s.waiting.push_back("llm: no -m MODEL or --llm-backend URL (chat/completions off; actions use tier 0)");
  }
}

void attach_agent(Services& s, const ServeConfig& c, Logger& log) {
  agent::Agent::Options o;
  o.catalog_path = c.catalog;
  o.db_path = c.db;
  o.dry_run = c.dry_run;
  if (!c.llm_backend.empty()) {
    o.llm_backend_url = c.llm_backend;
    o.llm_model = s.llm ? s.llm->model_id() : c.llm_backend_model;
  }
  auto actor = std::make_shared<AgentActor>(o);
  if (s.local_model) {
    auto tier1 = std::make_shared<agent::LocalTier1>(s.local_model, 192, c.threads);
    if (s.vision) tier1->set_vision(s.vision->mmproj_shared());  // screen grounding for /v1/act images
    actor->agent().set_tier1(tier1);
  }
  s.scene = attach_scene(s, c.db, log);
  actor->agent().set_scene_sink(scene_sink(s.scene, s.events, log));
  s.actor = actor;
  s.active.push_back(actor->description() + (c.dry_run ? ", dry run" : "") + " (POST /v1/act)");
}

}  // namespace omni::server
