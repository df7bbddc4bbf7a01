// The in-process LLM provider (runtime::Model + a continuous-batching runtime::BatchScheduler)
// behind the OpenAI routes.
#pragma once
#include <memory>
#include <string>

#include "server/services.hpp"

namespace omni::runtime { class Model; }

namespace omni::server {

struct LocalLlmOptions {
  std::string path;
  int threads = 0;     // compute threads (0: all cores)
  int parallel = 4;    // sequences decoded together (continuous batching)
  int ctx = 4096;      // context per sequence
  int max_queue = 64;  // requests waiting for a sequence before 429
  double timeout_s = 0;  // a request's deadline (504 past it); 0: none
  int step_tokens = 0;   // most inputs per batched step (decode rows + prompt chunks); 0: the scheduler's default
  std::string decode_kernels = "gemm";  // runtime::DecodeKernels by name (omni serve --decode-kernels)
};

// Loads the model (omni::Error on a bad file). model_out receives the loaded model (for the
// agent's tier 1).
std::shared_ptr<LlmProvider> make_local_llm(const LocalLlmOptions& options, Services& services,
                                            std::shared_ptr<const runtime::Model>* model_out = nullptr);

}  // namespace omni::server
