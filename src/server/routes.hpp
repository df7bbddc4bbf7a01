// Route registration: each api_*.cpp adds its endpoints to a Server, calling the Services it needs.
#pragma once
#include "server/scene_routes.hpp"
#include "server/server.hpp"
#include "server/services.hpp"

namespace omni::server {

struct RouteConfig {
  std::string web_dir;  // console files ("" or missing: placeholder page)
};

void register_basic_routes(Server& server, std::shared_ptr<Services> services, const RouteConfig& config);  // health, models, metrics, events, static
void register_llm_routes(Server& server, std::shared_ptr<Services> services);       // chat/completions, completions
void register_audio_routes(Server& server, std::shared_ptr<Services> services);     // audio/speech, audio/transcriptions
void register_act_routes(Server& server, std::shared_ptr<Services> services);       // act
void register_realtime_routes(Server& server, std::shared_ptr<Services> services);  // realtime WebSocket
inline void register_all_routes(Server& server, std::shared_ptr<Services> services, const RouteConfig& config) {
  services->metrics = &server.metrics();
  register_llm_routes(server, services);
  if (services->scene) register_scene_routes(server, services->scene);
  register_audio_routes(server, services);
  register_act_routes(server, services);
  register_realtime_routes(server, services);
  register_basic_routes(server, services, config);  // last: its static "/" prefix route is the fallback
}

}  // namespace omni::server
