// Tier 1: the LLM turns an utterance into an action, prompted with the catalog (action list and
// few-shot examples) and constrained by the catalog's union schema. A backend is either the local
// engine (the runtime's constrained generation) or a remote OpenAI-compatible server.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "agent/catalog.hpp"

namespace omni::agent {

struct Tier1Output {
  std::string text;                   // raw model output (should be one JSON action)
  nlohmann::json usage = nullptr;     // token counts when known
};

class Tier1Backend {
 public:
  virtual ~Tier1Backend() = default;
  virtual std::string name() const = 0;
  // Generates one action for chat `messages` (OpenAI format), constrained by `schema` where the
  // backend can. Throws omni::Error(network/timeout/...) when the backend fails.
  virtual Tier1Output generate(const nlohmann::json& messages, const nlohmann::json& schema,
                               std::optional<uint64_t> seed) = 0;
};

// The chat messages for an utterance: a system prompt listing the actions, their argument schemas
// and examples, then the user turn. With an image (a data: URL) the user content is OpenAI's parts
// form, [{"type":"image_url",...}, {"type":"text",...}], so the model sees the screen or photo.
nlohmann::json build_tier1_messages(const Catalog& catalog, const std::string& utterance,
                                    const std::optional<std::string>& image_data_url = std::nullopt);
// A data: URL for an image given as a path or already as a data: URL (MIME type from the bytes).
std::string image_data_url(const std::string& path_or_data_url);
std::string tier1_system_prompt(const Catalog& catalog);

// Extracts the JSON action from a model's text (tolerates code fences and text around one object).
std::optional<nlohmann::json> parse_action_text(const std::string& text);

// A remote OpenAI-compatible server (vLLM, SGLang, llama-server, Omni): POST {url}/v1/chat/completions
// with response_format json_schema (strict) and temperature 0.
class RemoteTier1 : public Tier1Backend {
 public:
  RemoteTier1(std::string base_url, std::string model, long timeout_ms = 30000);
  std::string name() const override { return "remote:" + base_url_; }
  Tier1Output generate(const nlohmann::json& messages, const nlohmann::json& schema, std::optional<uint64_t> seed) override;

 private:
  std::string base_url_, model_;
  long timeout_ms_;
};

// The local engine, given as a function so the agent does not depend on how the engine is built:
// it receives the messages and the schema, and must return constrained output (the runtime's
// grammar::JsonSchemaConstraint joined to its sampler).
class FunctionTier1 : public Tier1Backend {
 public:
  using Fn = std::function<Tier1Output(const nlohmann::json& messages, const nlohmann::json& schema, std::optional<uint64_t> seed)>;
  FunctionTier1(std::string name, Fn fn) : name_(std::move(name)), fn_(std::move(fn)) {}
  std::string name() const override { return name_; }
  Tier1Output generate(const nlohmann::json& messages, const nlohmann::json& schema, std::optional<uint64_t> seed) override {
    return fn_(messages, schema, seed);
  }

 private:
  std::string name_;
  Fn fn_;
};

}  // namespace omni::agent
