// The console's shared 3D room on the server: a SceneState persisted in the --db SQLite file, fed by
// the agent's scene executor, broadcast on /v1/events, and readable/writable at /v1/scene.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "agent/scene/scene_state.hpp"
#include "core/log.hpp"
#include "server/server.hpp"
#include "server/services.hpp"

// Wiring (three lines in the server's own files):
//   services.hpp    Services gets   std::shared_ptr<agent::scene::SceneState> scene;
//   attach_agent    s.scene = attach_scene(s, c.db, log);
//                   agent->set_scene_sink(scene_sink(s.scene, s.events, log));
//   routes          register_scene_routes(server, services->scene);   (when services->scene is set)
namespace omni::server {

// Creates the room (restored from `db_path`, table scene_state; "" keeps it in memory) and forwards
// each of its omni.scene events to services.events. Adds an "active" line to services.
std::shared_ptr<agent::scene::SceneState> attach_scene(Services& services, const std::string& db_path, Logger& log);

// The sink to give Agent::set_scene_sink: publishes the executor's {"type":"omni.action",
// "action":{...}} event, then applies the action to the room (which publishes omni.scene). A
// failing action publishes {"type":"omni.scene_error","action":...,"error":...} and rethrows the
// omni::Error so the executor can record the failure.
std::function<void(const Json&)> scene_sink(std::shared_ptr<agent::scene::SceneState> scene,
                                            std::shared_ptr<EventBus> events, Logger& log);

// GET /v1/scene: the full state. POST /v1/scene: {"action": NAME, ...args} applies one scene
// action directly (no agent), {"reset": true} empties the room; both answer the omni.scene event.
void register_scene_routes(Server& server, std::shared_ptr<agent::scene::SceneState> scene);

}  // namespace omni::server
