// Building a server from `omni serve` options: loads whatever components are given (LLM, ASR, VAD,
// TTS, agent) into Services through the adapters, then registers every route.
#pragma once
#include <memory>
#include <string>

#include "core/log.hpp"
#include "server/routes.hpp"

namespace omni::server {

struct ServeConfig {
  ServerOptions server;
  std::string model, mmproj, asr_model, vad_model, catalog, llm_backend, media_dir, web_dir, db;
  std::string llm_backend_model;  // model name sent to the remote backend ("" = ask it)
  std::string asr_language = "auto";  // voice input to /v1/act and realtime unless a request names one
  int threads = 0, parallel = 4, ctx = 4096;
  bool dry_run = false;
  std::string decode_kernels = "gemm";  // gemm | matvec | mixed (omni serve --decode-kernels)
  bool tts = true;
  Limits limits;
};

std::shared_ptr<Services> build_services(const ServeConfig& config, Logger& log);

// Adapters (adapter_*.cpp): each fills its part of Services or adds a `waiting` line.
void attach_llm(Services& s, const ServeConfig& c, Logger& log);
void attach_audio(Services& s, const ServeConfig& c, Logger& log);
void attach_agent(Services& s, const ServeConfig& c, Logger& log);
std::shared_ptr<LlmProvider> make_remote_llm(const std::string& base_url, const std::string& model, Logger& log);

}  // namespace omni::server
