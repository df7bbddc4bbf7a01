// POST /v1/chat/completions and POST /v1/completions: validation, then the LLM provider (local or
// remote); `stream: true` answers as SSE chunks ending with `data: [DONE]`.
#include "server/openai_request.hpp"
#include "server/routes.hpp"

namespace omni::server {

static void handle_generate(const Request& req, Responder& r, Services& s, bool chat) {
  Json body = req.json_body();
  if (!s.llm) unavailable("text generation", "start the server with -m MODEL.gguf or --llm-backend URL");
  check_model(body, s.llm->model_id(), false);
  bool stream = body.contains("stream") && body["stream"].is_boolean() && body["stream"].get<bool>();
  if (!stream) {
    r.send(Response::json(s.llm->generate(body, chat, nullptr, r.cancel_flag())));
    return;
  }
  bool started = false;
  auto on_chunk = [&](const Json& chunk) {
    if (!started) {
      started = true;
      if (!r.begin_stream(200, "text/event-stream")) return false;
    }
    return r.sse(chunk) && !r.cancelled();
  };
  s.llm->generate(body, chat, on_chunk, r.cancel_flag());
  if (!started) r.begin_stream(200, "text/event-stream");
  r.sse_done();
  r.end();
}

void register_llm_routes(Server& server, std::shared_ptr<Services> svc) {
  server.add_route({"POST", "/v1/chat/completions", false, false, true, false,
                    [svc](const Request& req, Responder& r) { handle_generate(req, r, *svc, true); }, nullptr, "/v1/chat/completions"});
  server.add_route({"POST", "/v1/completions", false, false, true, false,
                    [svc](const Request& req, Responder& r) { handle_generate(req, r, *svc, false); }, nullptr, "/v1/completions"});
}

}  // namespace omni::server
