// The in-process LLM provider (runtime::Model + Sessions) behind the OpenAI routes.
#pragma once
#include <memory>
#include <string>

#include "server/services.hpp"

namespace omni::runtime { class Model; }

namespace omni::server {

struct LocalLlmOptions {
  std::string path;
  int threads = 0;     // compute threads (0: all cores)
  int parallel = 4;    // sequence slots
  int ctx = 4096;      // context per slot
  int max_queue = 64;  // requests waiting for a slot before 429
};

// Loads the model (omni::Error on a bad file). model_out receives the loaded model (for the
// agent's tier 1).
std::shared_ptr<LlmProvider> make_local_llm(const LocalLlmOptions& options, Services& services,
                                            std::shared_ptr<const runtime::Model>* model_out = nullptr);

}  // namespace omni::server
