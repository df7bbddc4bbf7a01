// The in-process LLM provider: a pool of --parallel sequence slots (one runtime::Session each, one
// shared compute pool), OpenAI request parsing (messages, tools, response_format, sampling),
// grammar-constrained JSON for json_schema / json_object / required and named tool calls, and
// OpenAI-shaped responses or stream chunks.
#include "server/llm_local.hpp"

#include "runtime/multimodal.hpp"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>

#include "runtime/chat_template.hpp"
#include "runtime/grammar/json_schema.hpp"
#include "runtime/grammar/schema_validate.hpp"
#include "runtime/grammar/token_mask.hpp"
#include "runtime/model.hpp"
#include "runtime/session.hpp"
#include "server/openai_request.hpp"

namespace omni::server {

namespace rt = omni::runtime;
namespace gr = omni::runtime::grammar;

namespace {

class LocalLlm : public LlmProvider {
 public:
  LocalLlm(const LocalLlmOptions& o, Services& s) : opt_(o), services_(s) {
    model_ = rt::Model::load(o.path);
    tmpl_ = std::make_unique<rt::ChatTemplate>(rt::ChatTemplate::for_model(*model_));
    vocab_ = gr::TokenVocabulary::from_tokenizer(model_->tokenizer());
    pool_ = std::make_unique<ThreadPool>(o.threads);
    rt::SessionOptions so;
    so.n_ctx = o.ctx;
    n_past_.assign(size_t(o.parallel), 0);
    for (int i = 0; i < o.parallel; ++i) {
      slots_.push_back(std::make_unique<rt::Session>(model_, so, pool_.get()));
      free_.push_back(i);
    }
    std::string stem = o.path.substr(o.path.find_last_of('/') + 1);
    id_ = stem.size() > 5 && stem.substr(stem.size() - 5) == ".gguf" ? stem.substr(0, stem.size() - 5) : stem;
  }

  std::string model_id() const override { return id_; }
  std::string description() const override {
    return cat("llm: ", id_, " (", model_->architecture(), ", local, ", slots_.size(), " slots x ", slots_[0]->n_ctx(),
               " ctx, template ", tmpl_->name(), ")");
  }
  std::shared_ptr<const rt::Model> model() const { return model_; }
  double kv_cache_use() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    double used = 0;
    for (size_t i = 0; i < slots_.size(); ++i) used += double(n_past_[i]) / slots_[i]->n_ctx();
    return slots_.empty() ? 0 : used / double(slots_.size());
  }
  int queue_depth() const override { return waiting_.load(); }

  Json generate(const Json& req, bool chat, const std::function<bool(const Json&)>& on_chunk,
                const std::shared_ptr<std::atomic<bool>>& cancel) override {
    auto t0 = std::chrono::steady_clock::now();
    ParsedRequest p = parse_openai_request(req, chat, services_);
    std::string prompt = chat ? tmpl_->render(p.messages, true, p.tools_in_prompt) : p.prompt;
    rt::SamplingParams sp = p.sampling;
    if (chat) for (auto& s : tmpl_->stop_strings()) sp.stop.push_back(s);
    // Constraint: json_schema / json_object / forced tool call.
    std::unique_ptr<gr::GrammarConstraint> constraint;
    if (!p.constraint_schema.is_null() || p.any_json) {
      auto g = compiled(p.any_json ? Json("__any_json__") : p.constraint_schema);
      constraint = std::make_unique<gr::GrammarConstraint>(g, sp.max_tokens > 0 ? sp.max_tokens : 0);
    }
    std::vector<int32_t> tokens;
    if (p.images.empty()) tokens = model_->tokenizer().encode(prompt, true, true);
    if (tokens.empty() && p.images.empty()) bad_request("the prompt is empty");

    Slot slot(*this, cancel);
    rt::Session& session = *slots_[slot.index];
    session.reset();
    int n_prompt_inputs = int(tokens.size());  // tokens, or tokens + image rows
    if (!p.images.empty()) {  // images: encoded by the projector (cached by hash), evaluated first
      const rt::MixedPrompt mixed = rt::build_mixed_prompt(*model_, *services_.vision, session.pool(), prompt, p.images, true);
      if (int(mixed.tokens.size()) >= session.n_ctx())
        throw HttpError(400, "invalid_request_error", "context_length_exceeded",
                        cat("the prompt with its images has ", mixed.tokens.size(), " inputs; this server's context is ",
                            session.n_ctx(), " tokens"));
      session.eval_mixed(mixed.tokens, mixed.embd.data(), rt::mixed_positions(*model_, mixed, 0));
      n_prompt_inputs = int(mixed.tokens.size());
    }
    if (int(tokens.size()) >= session.n_ctx())
      throw HttpError(400, "invalid_request_error", "context_length_exceeded",
                      cat("the prompt has ", tokens.size(), " tokens; this server's context is ", session.n_ctx(), " tokens"));

    const std::string id = (chat ? "chatcmpl-" : "cmpl-") + random_id();
    const int64_t created = std::time(nullptr);
    bool streaming = bool(on_chunk);
    bool stream_text = streaming && !p.buffer_output;
    bool first = true, client_gone = false;
    double ttft = -1;
    auto chunk = [&](Json delta, Json finish) {
      if (chat)
        return Json{{"id", id}, {"object", "chat.completion.chunk"}, {"created", created}, {"model", id_},
                    {"choices", Json::array({{{"index", 0}, {"delta", std::move(delta)}, {"finish_reason", finish}, {"logprobs", nullptr}}})}};
      return Json{{"id", id}, {"object", "text_completion"}, {"created", created}, {"model", id_},
                  {"choices", Json::array({{{"index", 0}, {"text", delta.is_string() ? delta : Json("")}, {"finish_reason", finish}, {"logprobs", nullptr}}})}};
    };
    {  // the prompt occupies the slot's KV cache from here on (the gauge sees it before any output)
      std::lock_guard<std::mutex> lock(mutex_);
      n_past_[size_t(slot.index)] = n_prompt_inputs;
    }
    if (streaming && chat && !client_gone) client_gone = !on_chunk(chunk({{"role", "assistant"}, {"content", ""}}, nullptr));
    rt::OnToken on_token = [&](int32_t, std::string_view text) {
      if (ttft < 0) ttft = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::lock_guard<std::mutex> lock(mutex_);
      n_past_[size_t(slot.index)]++;
      (void)first;
      if (stream_text && !text.empty() && !client_gone) {
        std::string t(text);
        if (!on_chunk(chat ? chunk({{"content", t}}, nullptr) : chunk(Json(t), nullptr))) client_gone = true;
      }
      return !client_gone;
    };
    rt::GenerateResult res;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      n_past_[size_t(slot.index)] = n_prompt_inputs;
    }
    try {
      res = session.generate(tokens, sp, constraint.get(), on_token, cancel.get());
    } catch (const Error& e) {
      if (!constraint || e.code() != ErrorCode::invalid_argument) throw;
      throw HttpError(400, "invalid_request_error", "max_tokens_too_small",
                      cat("the schema-constrained output could not be completed within max_tokens=", sp.max_tokens,
                          " (", e.what(), "); raise max_tokens"), std::string("max_tokens"));
    }
    if (cancel->load() || client_gone) {
      if (services_.metrics) services_.metrics->cancelled_generations()++;
      throw Error(ErrorCode::cancelled, "the request was cancelled");
    }
    if (services_.metrics) {
      if (ttft >= 0) services_.metrics->record_ttft(ttft);
      services_.metrics->record_tokens(uint64_t(res.n_prompt), res.tokens.size(), res.generate_ms / 1000.0);
    }
    std::string finish = rt::finish_reason_name(res.finish);
    if (finish == "context") finish = "length";
    const int n_prompt = p.images.empty() ? res.n_prompt : n_prompt_inputs;
    Json usage = {{"prompt_tokens", n_prompt}, {"completion_tokens", res.tokens.size()},
                  {"total_tokens", n_prompt + int(res.tokens.size())}};

    // Tool calls: a forced call is the constrained JSON {"name","arguments"}; in auto mode the
    // template's tool-call blocks are split out of the text.
    Json tool_calls = Json::array();
    std::string content = res.text;
    if (p.forced_tool) {
      Json call = Json::parse(res.text, nullptr, false);
      if (call.is_discarded() || !call.is_object())
        throw HttpError(500, "server_error", "tool_call_incomplete",
                        cat("the model did not finish the tool call within max_tokens (", sp.max_tokens, "); raise max_tokens"));
      tool_calls.push_back(make_tool_call(call.value("name", ""), call.contains("arguments") ? call["arguments"] : Json::object()));
      content.clear();
    } else if (p.tools_allowed) {
      std::vector<rt::ToolCall> calls;
      content = tmpl_->parse_tool_calls(res.text, calls);
      for (auto& c : calls) {
        Json args = Json::parse(c.arguments, nullptr, false);
        const Json* tool = find_tool(p.tools, c.name);
        if (!tool || args.is_discarded()) { content += res.text; tool_calls = Json::array(); break; }
        std::string err = gr::validate_json((*tool)["function"].value("parameters", Json::object()), args);
        if (!err.empty()) continue;  // never return a call that does not validate
        tool_calls.push_back(make_tool_call(c.name, args));
      }
    }
    if (!tool_calls.empty()) finish = "tool_calls";

    if (streaming) {
      if (!stream_text && !client_gone) {
        Json delta = Json::object();
        if (!tool_calls.empty()) {
          Json tc = tool_calls;
          for (size_t i = 0; i < tc.size(); ++i) tc[i]["index"] = i;
          delta["tool_calls"] = tc;
        } else {
          delta["content"] = content;
        }
        on_chunk(chat ? chunk(delta, nullptr) : chunk(Json(content), nullptr));
      }
      Json last = chunk(Json::object(), finish);
      if (p.include_usage) last["usage"] = usage;
      on_chunk(last);
      return usage;
    }
    if (!chat)
      return {{"id", id}, {"object", "text_completion"}, {"created", created}, {"model", id_},
              {"choices", Json::array({{{"index", 0}, {"text", content}, {"finish_reason", finish}, {"logprobs", nullptr}}})},
              {"usage", usage}};
    Json message = {{"role", "assistant"}, {"content", tool_calls.empty() ? Json(content) : Json(nullptr)}};
    if (!tool_calls.empty()) message["tool_calls"] = tool_calls;
    return {{"id", id}, {"object", "chat.completion"}, {"created", created}, {"model", id_},
            {"choices", Json::array({{{"index", 0}, {"message", message}, {"finish_reason", finish}, {"logprobs", nullptr}}})},
            {"usage", usage}, {"system_fingerprint", "omni-" OMNI_VERSION}};
  }

 private:
  // Waits for a free sequence slot (bounded queue: 429 beyond it) and gives it back on scope exit.
  struct Slot {
    Slot(LocalLlm& l, const std::shared_ptr<std::atomic<bool>>& cancel) : llm(l) {
      std::unique_lock<std::mutex> lock(l.mutex_);
      if (l.free_.empty() && l.waiting_.load() >= l.opt_.max_queue)
        throw HttpError(429, "rate_limit_error", "queue_full", "all sequence slots are busy and the queue is full; retry shortly");
      l.waiting_++;
      while (l.free_.empty()) {
        l.cv_.wait_for(lock, std::chrono::milliseconds(20));
        if (cancel->load()) { l.waiting_--; throw Error(ErrorCode::cancelled, "cancelled while queued"); }
      }
      l.waiting_--;
      index = l.free_.front();
      l.free_.pop_front();
    }
    ~Slot() {
      std::lock_guard<std::mutex> lock(llm.mutex_);
      llm.n_past_[size_t(index)] = 0;
      llm.free_.push_back(index);
      llm.cv_.notify_one();
    }
    LocalLlm& llm;
    int index = -1;
  };

  std::shared_ptr<gr::CompiledGrammar> compiled(const Json& schema) {
    std::string key = schema.dump();
    std::lock_guard<std::mutex> lock(grammar_mutex_);
    auto it = grammars_.find(key);
    if (it != grammars_.end()) return it->second;
    gr::Grammar g = schema == Json("__any_json__") ? gr::any_json_grammar(true) : gr::compile_json_schema(schema);
    auto c = gr::compile_for_vocab(g, vocab_);
    if (grammars_.size() > 64) grammars_.clear();
    grammars_[key] = c;
    return c;
  }

  static std::string random_id() {
    static std::atomic<uint64_t> counter{0};
    uint64_t x = uint64_t(std::chrono::steady_clock::now().time_since_epoch().count()) ^ (++counter * 0x9E3779B97F4A7C15ull);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)x);
    return buf;
  }

  static Json make_tool_call(const std::string& name, const Json& args) {
    return {{"id", "call_" + random_id().substr(0, 12)}, {"type", "function"}, {"function", {{"name", name}, {"arguments", args.dump()}}}};
  }

  LocalLlmOptions opt_;
  Services& services_;
  std::shared_ptr<const rt::Model> model_;
  std::unique_ptr<rt::ChatTemplate> tmpl_;
  std::shared_ptr<const gr::TokenVocabulary> vocab_;
  std::unique_ptr<ThreadPool> pool_;
  std::vector<std::unique_ptr<rt::Session>> slots_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<int> free_;
  std::vector<int> n_past_;
  std::atomic<int> waiting_{0};
  std::mutex grammar_mutex_;
  std::map<std::string, std::shared_ptr<gr::CompiledGrammar>> grammars_;
  std::string id_;
};

}  // namespace

std::shared_ptr<LlmProvider> make_local_llm(const LocalLlmOptions& options, Services& services,
                                            std::shared_ptr<const runtime::Model>* model_out) {
  auto llm = std::make_shared<LocalLlm>(options, services);
  if (model_out) *model_out = llm->model();
  return llm;
}

}  // namespace omni::server
