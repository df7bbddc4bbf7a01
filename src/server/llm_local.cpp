// The in-process LLM provider: requests go to a runtime::BatchScheduler (continuous batching of up
// to --parallel sequences over one KV block pool, one shared decode step), with OpenAI request
// parsing (messages, tools, response_format, sampling), grammar-constrained JSON for json_schema /
// json_object / required and named tool calls, and OpenAI-shaped responses or stream chunks. The
// request's thread streams what the scheduler produces; a client that leaves cancels its sequence.
#include "server/llm_local.hpp"

#include "runtime/multimodal.hpp"

#include <chrono>
#include <map>
#include <mutex>

#include "runtime/batch_scheduler.hpp"
#include "runtime/chat_template.hpp"
#include "runtime/grammar/json_schema.hpp"
#include "runtime/grammar/schema_validate.hpp"
#include "runtime/grammar/token_mask.hpp"
#include "runtime/model.hpp"
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
    rt::BatchOptions bo;
    bo.max_seqs = std::max(1, o.parallel);
    bo.n_ctx = o.ctx;
    bo.max_queue = o.max_queue;
    if (o.step_tokens > 0) bo.step_tokens = o.step_tokens;
    bo.kernels = rt::parse_decode_kernels(o.decode_kernels);
    scheduler_ = std::make_unique<rt::BatchScheduler>(model_, bo, pool_.get());
    std::string stem = o.path.substr(o.path.find_last_of('/') + 1);
    id_ = stem.size() > 5 && stem.substr(stem.size() - 5) == ".gguf" ? stem.substr(0, stem.size() - 5) : stem;
  }

  std::string model_id() const override { return id_; }
  std::string description() const override {
    const auto st = scheduler_->stats();
    return cat("llm: ", id_, " (", model_->architecture(), ", local, continuous batching of ", scheduler_->options().max_seqs,
               " sequences x ", scheduler_->n_ctx(), " ctx, KV ", st.kv_blocks, " blocks of ",
               scheduler_->options().block_tokens,
               ", ", rt::decode_kernels_name(scheduler_->options().kernels), " decode kernels",
               scheduler_->options().kernels != rt::DecodeKernels::mixed ? ", batch-invariant" : "",
               ", template ", tmpl_->name(), ")");
  }
  std::shared_ptr<const rt::Model> model() const { return model_; }
  double kv_cache_use() const override { return scheduler_->kv_use(); }
  int queue_depth() const override { return scheduler_->queue_depth(); }

  Json generate(const Json& req, bool chat, const std::function<bool(const Json&)>& on_chunk,
                const std::shared_ptr<std::atomic<bool>>& cancel) override {
    auto t0 = std::chrono::steady_clock::now();
    ParsedRequest p = parse_openai_request(req, chat, services_);
    std::string prompt = chat ? tmpl_->render(p.messages, true, p.tools_in_prompt) : p.prompt;
    rt::SamplingParams sp = p.sampling;
    if (chat) for (auto& s : tmpl_->stop_strings()) sp.stop.push_back(s);
    // Constraint: json_schema / json_object / forced tool call.
    std::shared_ptr<gr::GrammarConstraint> constraint;
    if (!p.constraint_schema.is_null() || p.any_json) {
      auto g = compiled(p.any_json ? Json("__any_json__") : p.constraint_schema);
      constraint = std::make_shared<gr::GrammarConstraint>(g, sp.max_tokens > 0 ? sp.max_tokens : 0);
    }
    std::vector<int32_t> tokens;
    if (p.images.empty()) tokens = model_->tokenizer().encode(prompt, true, true);
    if (tokens.empty() && p.images.empty()) bad_request("the prompt is empty");

    const int n_ctx = scheduler_->n_ctx();
    rt::SeqRequest sr;
    sr.params = sp;
    sr.constraint = constraint;
    sr.cancel = cancel;
    if (opt_.timeout_s > 0)
      sr.deadline = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(opt_.timeout_s));
    if (!p.images.empty()) {  // images: encoded by the projector (cached by hash), their rows go in the prompt
      rt::MixedPrompt mixed = rt::build_mixed_prompt(*model_, *services_.vision, scheduler_->pool(), prompt, p.images, true);
      if (int(mixed.tokens.size()) >= n_ctx)
        throw HttpError(400, "invalid_request_error", "context_length_exceeded",
                        cat("the prompt with its images has ", mixed.tokens.size(), " inputs; this server's context is ",
                            n_ctx, " tokens"));
      sr.positions = rt::mixed_positions(*model_, mixed, 0);
      sr.inputs = std::move(mixed.tokens);
      sr.embd = std::move(mixed.embd);
    } else {
      if (int(tokens.size()) >= n_ctx)
        throw HttpError(400, "invalid_request_error", "context_length_exceeded",
                        cat("the prompt has ", tokens.size(), " tokens; this server's context is ", n_ctx, " tokens"));
      sr.inputs = tokens;
    }
    const int n_prompt_inputs = int(sr.inputs.size());  // tokens, or tokens + image rows
    std::shared_ptr<rt::SeqStream> stream;
    try {
      stream = scheduler_->submit(std::move(sr));
    } catch (const Error& e) {
      if (e.code() == ErrorCode::busy)  // 429 with Retry-After
        throw Error(ErrorCode::busy, "all sequences are busy and the queue is full; retry shortly");
      throw;
    }
    struct CancelUnlessFinished {  // leaving early (an exception) must not leave the sequence running
      std::shared_ptr<rt::SeqStream> s;
      ~CancelUnlessFinished() { if (!s->finished()) s->cancel(); }
    } guard{stream};

    const std::string id = (chat ? "chatcmpl-" : "cmpl-") + random_id();
    const int64_t created = std::time(nullptr);
    bool streaming = bool(on_chunk);
    bool stream_text = streaming && !p.buffer_output;
    bool client_gone = false;
    double ttft = -1;
    auto chunk = [&](Json delta, Json finish) {
      if (chat)
        return Json{{"id", id}, {"object", "chat.completion.chunk"}, {"created", created}, {"model", id_},
                    {"choices", Json::array({{{"index", 0}, {"delta", std::move(delta)}, {"finish_reason", finish}, {"logprobs", nullptr}}})}};
      return Json{{"id", id}, {"object", "text_completion"}, {"created", created}, {"model", id_},
                  {"choices", Json::array({{{"index", 0}, {"text", delta.is_string() ? delta : Json("")}, {"finish_reason", finish}, {"logprobs", nullptr}}})}};
    };
    if (streaming && chat && !client_gone) client_gone = !on_chunk(chunk({{"role", "assistant"}, {"content", ""}}, nullptr));
    if (client_gone) stream->cancel();
    rt::SeqEvent ev;
    while (stream->next(ev)) {
      if (ttft < 0) ttft = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (stream_text && !ev.text.empty() && !client_gone) {
        if (!on_chunk(chat ? chunk({{"content", ev.text}}, nullptr) : chunk(Json(ev.text), nullptr))) {
          client_gone = true;
          stream->cancel();  // the scheduler drops the sequence and frees its KV blocks at its next step
        }
      }
    }
    rt::GenerateResult res;
    try {
      res = stream->result();
    } catch (const Error& e) {
      if (!constraint || e.code() != ErrorCode::invalid_argument) throw;
      throw HttpError(400, "invalid_request_error", "max_tokens_too_small",
                      cat("the schema-constrained output could not be completed within max_tokens=", sp.max_tokens,
                          " (", e.what(), "); raise max_tokens"), std::string("max_tokens"));
    }
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const bool timed_out = res.finish == rt::FinishReason::timeout ||
                           (cancel->load() && !client_gone && opt_.timeout_s > 0 && elapsed >= opt_.timeout_s * 0.95);
    if (cancel->load() || client_gone || res.finish == rt::FinishReason::cancelled || timed_out) {
      if (services_.metrics) services_.metrics->cancelled_generations()++;
      if (timed_out) throw Error(ErrorCode::timeout, cat("the request ran past the server's timeout of ", opt_.timeout_s, " s"));
      throw Error(ErrorCode::cancelled, "the request was cancelled");
    }
    if (services_.metrics) {
      if (ttft >= 0) services_.metrics->record_ttft(ttft);
      services_.metrics->record_tokens(uint64_t(res.n_prompt), res.tokens.size(), res.generate_ms / 1000.0);
    }
    std::string finish = rt::finish_reason_name(res.finish);
    if (finish == "context") finish = "length";
    const int n_prompt = n_prompt_inputs;
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
  std::unique_ptr<rt::BatchScheduler> scheduler_;  // declared after pool_: stopped before it
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
