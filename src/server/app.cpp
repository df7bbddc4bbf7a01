// build_services: the order components are attached in (LLM first: the agent's tier 1 uses it).
#include "server/app.hpp"

namespace omni::server {

std::shared_ptr<Services> build_services(const ServeConfig& c, Logger& log) {
  auto s = std::make_shared<Services>();
  s->limits = c.limits;
  s->media_dir = c.media_dir;
  attach_llm(*s, c, log);
  attach_audio(*s, c, log);
  attach_agent(*s, c, log);
  return s;
}

}  // namespace omni::server
