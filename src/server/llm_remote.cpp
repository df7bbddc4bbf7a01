// The remote LLM provider (--llm-backend URL): forwards OpenAI requests to another
// OpenAI-compatible server (vLLM, SGLang, llama-server, another omni) with libcurl, relaying
// stream chunks as they arrive and the remote's errors with their status.
#include <curl/curl.h>

#include "server/app.hpp"
#include "server/openai_request.hpp"

namespace omni::server {

namespace {

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

class RemoteLlm : public LlmProvider {
 public:
  RemoteLlm(std::string base, std::string model) : base_(std::move(base)), model_(std::move(model)) {
    static CurlGlobal init;
    while (!base_.empty() && base_.back() == '/') base_.pop_back();
    if (base_.size() > 3 && base_.substr(base_.size() - 3) == "/v1") base_.resize(base_.size() - 3);
    if (model_.empty()) {  // ask the backend for its first model; fine if it is not up yet
      try {
        std::string body;
        long status = request("GET", "/v1/models", "", nullptr, body, nullptr);
        Json j = Json::parse(body, nullptr, false);
        if (status == 200 && j.is_object() && j["data"].is_array() && !j["data"].empty()) model_ = j["data"][0].value("id", "");
      } catch (...) {
      }
      if (model_.empty()) model_ = "default";
    }
  }
  std::string model_id() const override { return model_; }
  std::string description() const override { return cat("llm: remote ", base_, " model ", model_); }

  Json generate(const Json& req, bool chat, const std::function<bool(const Json&)>& on_chunk,
                const std::shared_ptr<std::atomic<bool>>& cancel) override {
    Json body = req;
    body["model"] = model_;
    std::string out;
    std::string pending;
    bool stopped = false;
    std::function<bool(const char*, size_t)> sink;
    if (on_chunk) {
      sink = [&](const char* data, size_t n) {
        pending.append(data, n);
        size_t pos;
        while ((pos = pending.find('\n')) != std::string::npos) {
          std::string line = pending.substr(0, pos);
          pending.erase(0, pos + 1);
          if (!line.empty() && line.back() == '\r') line.pop_back();
          if (line.rfind("data:", 0) != 0) continue;
          std::string data_s = line.substr(line.size() > 5 && line[5] == ' ' ? 6 : 5);
          if (data_s == "[DONE]") continue;
          Json j = Json::parse(data_s, nullptr, false);
          if (j.is_discarded()) continue;
          if (j.contains("error")) { out = data_s; stopped = true; return false; }
          if (j.contains("model")) j["model"] = req.value("model", model_);
          if (!on_chunk(j)) { stopped = true; return false; }
        }
        return !cancel->load();
      };
    }
    long status = request("POST", chat ? "/v1/chat/completions" : "/v1/completions", body.dump(), on_chunk ? &sink : nullptr, out, cancel.get());
    if (cancel->load()) throw Error(ErrorCode::cancelled, "the request was cancelled");
    if (status != 200 || (on_chunk && stopped && !out.empty())) {
      Json e = Json::parse(out, nullptr, false);
      std::string msg = e.is_object() && e.contains("error") && e["error"].is_object() ? e["error"].value("message", out) : out;
      throw HttpError(status >= 400 && status < 600 ? int(status) : 502, status >= 500 || status < 400 ? "server_error" : "invalid_request_error",
                      "backend_error", cat("the LLM backend ", base_, " answered ", status, ": ", msg));
    }
    if (on_chunk) return Json::object();
    Json j = Json::parse(out, nullptr, false);
    if (!j.is_object()) throw HttpError(502, "server_error", "backend_error", cat("the LLM backend ", base_, " sent invalid JSON"));
    if (j.contains("model")) j["model"] = req.value("model", model_);
    return j;
  }

 private:
  // One HTTP exchange; streams the body to `sink` when given (else into `out`). Returns the status.
  long request(const std::string& method, const std::string& path, const std::string& body,
               std::function<bool(const char*, size_t)>* sink, std::string& out, const std::atomic<bool>* cancel) {
    CURL* h = curl_easy_init();
    if (!h) fail(ErrorCode::internal, "curl_easy_init failed");
    struct Ctx { std::function<bool(const char*, size_t)>* sink; std::string* out; long* status; CURL* h; std::string err_body; } ctx{sink, &out, nullptr, h, ""};
    long status = 0;
    ctx.status = &status;
    std::string url = base_ + path;
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    if (const char* key = std::getenv("OMNI_LLM_BACKEND_KEY")) headers = curl_slist_append(headers, (std::string("Authorization: Bearer ") + key).c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    if (method == "POST") {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, long(body.size()));
    }
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &ctx);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, +[](char* p, size_t sz, size_t n, void* ud) -> size_t {
      auto* c = static_cast<Ctx*>(ud);
      if (*c->status == 0) curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, c->status);
      if (c->sink && *c->status == 200) return (*c->sink)(p, sz * n) ? sz * n : 0;
      c->out->append(p, sz * n);
      return sz * n;
    });
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, cancel);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, +[](void* ud, curl_off_t, curl_off_t, curl_off_t, curl_off_t) -> int {
      auto* c = static_cast<const std::atomic<bool>*>(ud);
      return c && c->load() ? 1 : 0;
    });
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    if (rc != CURLE_OK && rc != CURLE_WRITE_ERROR && rc != CURLE_ABORTED_BY_CALLBACK)
      throw HttpError(502, "server_error", "backend_unreachable", cat("the LLM backend ", url, " failed: ", curl_easy_strerror(rc)));
    return status;
  }

  std::string base_, model_;
};

}  // namespace

std::shared_ptr<LlmProvider> make_remote_llm(const std::string& base_url, const std::string& model, Logger&) {
  if (base_url.rfind("http://", 0) != 0 && base_url.rfind("https://", 0) != 0)
    fail(ErrorCode::invalid_argument, "--llm-backend must be an http:// or https:// URL, got '", base_url, "'");
  return std::make_shared<RemoteLlm>(base_url, model);
}

}  // namespace omni::server
