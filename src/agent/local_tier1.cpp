// Tier 1 on the local engine with schema-constrained decoding; see local_tier1.hpp.
#include "agent/local_tier1.hpp"

#include "omni/error.hpp"
#include "runtime/chat_template.hpp"
#include "runtime/grammar/json_schema.hpp"
#include "runtime/grammar/token_mask.hpp"
#include "runtime/model.hpp"
#include "runtime/multimodal.hpp"
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

void LocalTier1::set_vision(std::shared_ptr<const models::VisionModel> mmproj) {
  std::lock_guard<std::mutex> lock(mutex_);
  vision_ = mmproj ? std::make_shared<runtime::VisionContext>(std::move(mmproj), *model_) : nullptr;
}

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
  // Messages to chat turns; image_url parts become image markers (or a note without a projector).
  std::vector<runtime::ChatMessage> chat;
  std::vector<vision::Image> images;
  for (const auto& m : messages) {
    runtime::ChatMessage cm;
    cm.role = m.value("role", "user");
    const json& content = m.contains("content") ? m["content"] : json("");
    if (content.is_array()) {
      for (const auto& part : content) {
        if (part.value("type", "") == "text") {
          cm.content += part.value("text", "");
        } else if (part.value("type", "") == "image_url") {
          if (!vision_) {
            cm.content += "(an image is attached, but this model has no vision projector) ";
            continue;
          }
          images.push_back(vision::decode_data_url(part.at("image_url").value("url", "")));
          cm.content += std::string(models::kImageMarker) + "\n";
        }
      }
    } else if (content.is_string()) {
      cm.content = content.get<std::string>();
    }
    chat.push_back(std::move(cm));
  }
  auto tmpl = runtime::ChatTemplate::for_model(*model_);
  std::string prompt = tmpl.render(chat, true);
  std::vector<int32_t> tokens;
  runtime::MixedPrompt mixed;
  int n_prompt = 0;
  if (images.empty()) {
    tokens = model_->tokenizer().encode(prompt, model_->tokenizer().add_bos(), true);
    n_prompt = int(tokens.size());
  } else {
    ThreadPool pool(n_threads_);
    mixed = runtime::build_mixed_prompt(*model_, *vision_, pool, prompt, images, true);
    n_prompt = int(mixed.tokens.size());
  }
  runtime::SessionOptions so;
  so.n_threads = n_threads_;
  // The catalog prompt plus the output (may exceed a tiny test model's training context).
  so.n_ctx = std::min<int>(32768, n_prompt + max_tokens_ + 16);
  runtime::Session session(model_, so);
  if (!images.empty()) session.eval_mixed(mixed.tokens, mixed.embd.data(), runtime::mixed_positions(*model_, mixed, 0));
  runtime::SamplingParams params;
  params.temperature = seed ? 0.7f : 0.0f;
  params.seed = seed.value_or(0);
  params.max_tokens = max_tokens_;
  params.repeat_penalty = 1.0f;
  runtime::grammar::GrammarConstraint constraint(grammar, max_tokens_);
  auto result = session.generate(tokens, params, &constraint);
  Tier1Output out;
  out.text = constraint.text();
  out.usage = json{{"prompt_tokens", images.empty() ? result.n_prompt : n_prompt},
                   {"completion_tokens", result.tokens.size()}};
  return out;
}

}  // namespace omni::agent
