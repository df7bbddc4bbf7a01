// Tier 1 on the local engine: the model's chat template renders the catalog prompt, a Session
// generates with the catalog's union schema as a GrammarConstraint (compiled once per schema and
// cached), so the output is always a valid action JSON.
#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "agent/tier1.hpp"

namespace omni::models {
class VisionModel;
}
namespace omni::runtime {
class Model;
class VisionContext;
namespace grammar {
class CompiledGrammar;
class TokenVocabulary;
}  // namespace grammar
}  // namespace omni::runtime

namespace omni::agent {

class LocalTier1 : public Tier1Backend {
 public:
  // model: a loaded GGUF model (shared); max_tokens: the output budget (the grammar finishes in it).
  LocalTier1(std::shared_ptr<const runtime::Model> model, int max_tokens = 192, int n_threads = 0);
  ~LocalTier1() override;
  std::string name() const override;
  // A vision projector for the model: image_url parts of the user turn are then encoded and
  // placed in the prompt (screen grounding). Without one, images are ignored with a text note.
  void set_vision(std::shared_ptr<const models::VisionModel> mmproj);
  Tier1Output generate(const nlohmann::json& messages, const nlohmann::json& schema, std::optional<uint64_t> seed) override;

 private:
  std::shared_ptr<const runtime::Model> model_;
  std::shared_ptr<runtime::VisionContext> vision_;
  std::shared_ptr<const runtime::grammar::TokenVocabulary> vocab_;
  std::map<std::string, std::shared_ptr<runtime::grammar::CompiledGrammar>> grammars_;  // schema text -> grammar
  std::mutex mutex_;
  int max_tokens_;
  int n_threads_;
};

}  // namespace omni::agent
