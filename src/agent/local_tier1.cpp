// Tier 1 on the local engine with schema-constrained decoding; see local_tier1.hpp.
#include "agent/local_tier1.hpp"

#include "omni/error.hpp"
#include "runtime/chat_template.hpp"
#include "runtime/grammar/json_schema.hpp"
#include "runtime/grammar/token_mask.hpp"
#include "runtime/model.hpp"
#include "runtime/session.hpp"

namespace omni::agent {

using nlohmann::json;

LocalTier1::LocalTier1(std::shared_ptr<const runtime::Model> model, int max_tokens, int n_threads)
    : model_(std::move(model)), max_tokens_(max_tokens), n_threads_(n_threads) {
  if (!model_) fail(ErrorCode::invalid_argument, "local tier 1 needs a model");
  vocab_ = runtime::grammar::TokenVocabulary::from_tokenizer(model_->tokenizer());
}

LocalTier1::~LocalTier1() = default;

std::string LocalTier1::name() const { return "local:" + model_->path(); }

Tier1Output LocalTier1::generate(const json& messages, const json& schema, std::optional<uint64_t> seed) {
  std::shared_ptr<runtime::grammar::CompiledGrammar> grammar;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const std::string key = schema.dump();
    auto it = grammars_.find(key);
    if (it == grammars_.end())
      it = grammars_.emplace(key, runtime::grammar::compile_for_vocab(runtime::grammar::compile_json_schema(schema), vocab_)).first;
    grammar = it->second;
  }
  std::vector<runtime::ChatMessage> chat;
  for (const auto& m : messages) {
    runtime::ChatMessage cm;
    cm.role = m.value("role", "user");
    cm.content = m.value("content", "");
    chat.push_back(std::move(cm));
  }
  auto tmpl = runtime::ChatTemplate::for_model(*model_);
  std::string prompt = tmpl.render(chat, true);
  auto tokens = model_->tokenizer().encode(prompt, model_->tokenizer().add_bos(), true);
  runtime::SessionOptions so;
  so.n_threads = n_threads_;
  // The catalog prompt plus the output (may exceed a tiny test model's training context).
  so.n_ctx = std::min<int>(32768, int(tokens.size()) + max_tokens_ + 16);
  runtime::Session session(model_, so);
  runtime::SamplingParams params;
  params.temperature = seed ? 0.7f : 0.0f;
  params.seed = seed.value_or(0);
  params.max_tokens = max_tokens_;
  params.repeat_penalty = 1.0f;
  runtime::grammar::GrammarConstraint constraint(grammar, max_tokens_);
  auto result = session.generate(tokens, params, &constraint);
  Tier1Output out;
  out.text = constraint.text();
  out.usage = json{{"prompt_tokens", result.n_prompt}, {"completion_tokens", result.tokens.size()}};
  return out;
}

}  // namespace omni::agent
