// /v1/scene routes and the glue between the agent's scene executor, the SceneState and the event bus.
#include "server/scene_routes.hpp"

namespace omni::server {

std::shared_ptr<agent::scene::SceneState> attach_scene(Services& services, const std::string& db_path, Logger& log) {
  auto scene = std::make_shared<agent::scene::SceneState>(db_path);
  std::weak_ptr<EventBus> weak_bus = services.events;
  scene->subscribe([weak_bus](const Json& event) {
    if (auto bus = weak_bus.lock()) bus->publish(event.dump(-1, ' ', false, Json::error_handler_t::replace));
  });
  auto st = scene->state();
  services.active.push_back(cat("3D scene: ", st["objects"].size(), " objects, revision ", st["revision"].get<long long>(),
                                db_path.empty() ? " (in memory; --db keeps it)" : " (saved in " + db_path + ")"));
  log.debug("scene restored at revision ", st["revision"].dump());
  return scene;
}

std::function<void(const Json&)> scene_sink(std::shared_ptr<agent::scene::SceneState> scene,
                                            std::shared_ptr<EventBus> events, Logger& log) {
  return [scene, events, &log](const Json& event) {
    Json action = event.is_object() && event.contains("action") ? event["action"] : event;
    if (events) events->publish(Json{{"type", "omni.action"}, {"action", action}}.dump(-1, ' ', false, Json::error_handler_t::replace));
    try {
      scene->apply(action);
    } catch (const Error& e) {
      log.warn("scene action failed: ", e.what());
      if (events)
        events->publish(Json{{"type", "omni.scene_error"}, {"action", action}, {"error", e.what()}}.dump(-1, ' ', false,
                                                                                                       Json::error_handler_t::replace));
      throw;
    }
  };
}

void register_scene_routes(Server& server, std::shared_ptr<agent::scene::SceneState> scene) {
  server.add_route({"GET", "/v1/scene", false, false, false, false,
                    [scene](const Request&, Responder& r) { r.send(Response::json(scene->state())); }, nullptr, "/v1/scene"});
  server.add_route({"POST", "/v1/scene", false, false, true, false,
                    [scene](const Request& req, Responder& r) {
                      Json body = req.json_body();
                      if (!body.is_object()) bad_request("POST /v1/scene: expected a JSON object");
                      if (body.value("reset", false)) return r.send(Response::json(scene->reset()));
                      if (!body.contains("action") && !body.contains("name"))
                        bad_request("POST /v1/scene: give {\"action\": NAME, ...arguments} or {\"reset\": true}", "action");
                      r.send(Response::json(scene->apply(body)));
                    },
                    nullptr, "/v1/scene"});
}

}  // namespace omni::server
