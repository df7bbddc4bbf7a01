// Tier-1 prompt construction, action extraction and the remote OpenAI-compatible backend.
#include "agent/tier1.hpp"

#include "agent/http_client.hpp"

#include <cstdlib>
#include <fstream>
#include <mutex>

#include "core/base64.hpp"
#include "omni/error.hpp"

namespace omni::agent {

using nlohmann::json;

std::string tier1_system_prompt(const Catalog& catalog) {
  std::string p =
      "You turn the user's request into exactly one JSON action for a home and 3D-room assistant. "
      "Answer with the JSON object only: {\"action\": NAME, ...arguments}. Use only the actions and "
      "argument values listed below. When no action fits (a question, chit-chat), answer with the "
      "\"say\" action if it is listed.\n\nActions:\n";
  for (const auto& a : catalog.actions()) {
    p += "- " + a.name + ": " + a.description + "\n  arguments: " + a.parameters.value("properties", json::object()).dump();
    if (a.parameters.contains("required")) p += " required: " + a.parameters["required"].dump();
    p += "\n";
  }
  std::string shots;
  for (const auto& a : catalog.actions())
    for (const auto& e : a.examples)
      if (e.contains("utterance")) shots += "User: " + e["utterance"].get<std::string>() + "\nJSON: " + e["action"].dump() + "\n";
  if (!shots.empty()) p += "\nExamples:\n" + shots;
  return p;
}

json build_tier1_messages(const Catalog& catalog, const std::string& utterance,
                          const std::optional<std::string>& image_data_url) {
  json messages = json::array();
  messages.push_back({{"role", "system"}, {"content", tier1_system_prompt(catalog)}});
  if (image_data_url)
    messages.push_back({{"role", "user"},
                        {"content", json::array({{{"type", "image_url"}, {"image_url", {{"url", *image_data_url}}}},
                                                 {{"type", "text"}, {"text", utterance}}})}});
  else
    messages.push_back({{"role", "user"}, {"content", utterance}});
  return messages;
}

std::string image_data_url(const std::string& path_or_data_url) {
  if (path_or_data_url.rfind("data:", 0) == 0) return path_or_data_url;
  std::ifstream f(path_or_data_url, std::ios::binary);
  if (!f) fail(ErrorCode::not_found, "cannot open image '", path_or_data_url, "'");
  const std::string bytes((std::istreambuf_iterator<char>(f)), {});
  const auto starts = [&](std::string_view magic) { return bytes.compare(0, magic.size(), magic) == 0; };
  const char* mime = starts("\x89PNG") ? "image/png"
                     : starts("\xff\xd8\xff") ? "image/jpeg"
                     : starts("GIF8") ? "image/gif"
                     : starts("BM") ? "image/bmp"
                     : (bytes.size() > 12 && bytes.compare(8, 4, "WEBP") == 0) ? "image/webp"
                                                                            : "application/octet-stream";
  return std::string("data:") + mime + ";base64," + base64_encode(bytes);
}

std::optional<json> parse_action_text(const std::string& text) {
  size_t start = text.find('{');
  while (start != std::string::npos) {
    // Find the matching close brace, respecting strings.
    int depth = 0;
    bool in_str = false, esc = false;
    for (size_t i = start; i < text.size(); ++i) {
      char c = text[i];
      if (in_str) {
        if (esc) esc = false;
        else if (c == '\\') esc = true;
        else if (c == '"') in_str = false;
        continue;
      }
      if (c == '"') in_str = true;
      else if (c == '{') ++depth;
      else if (c == '}' && --depth == 0) {
        try {
          json j = json::parse(text.substr(start, i - start + 1));
          if (j.is_object()) return j;
        } catch (...) {
        }
        break;
      }
    }
    start = text.find('{', start + 1);
  }
  return std::nullopt;
}

RemoteTier1::RemoteTier1(std::string base_url, std::string model, long timeout_ms)
    : base_url_(std::move(base_url)), model_(std::move(model)), timeout_ms_(timeout_ms) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

Tier1Output RemoteTier1::generate(const json& messages, const json& schema, std::optional<uint64_t> seed) {
  std::string url = base_url_;
  if (url.size() < 3 || url.substr(url.size() - 3) != "/v1") url += "/v1";
  url += "/chat/completions";
  json body{{"model", model_.empty() ? "default" : model_},
            {"messages", messages},
            {"temperature", 0},
            {"max_tokens", 256},
            {"response_format", {{"type", "json_schema"}, {"json_schema", {{"name", "action"}, {"strict", true}, {"schema", schema}}}}}};
  if (seed) body["seed"] = *seed;
  const std::string payload = body.dump();
  HttpRequest req{url, "POST", payload, {"Content-Type: application/json"}, timeout_ms_, size_t(8) << 20};
  // The backend's API key, as the server's chat proxy takes it (never logged).
  if (const char* key = std::getenv("OMNI_LLM_BACKEND_KEY"); key && *key)
    req.headers.push_back(std::string("Authorization: Bearer ") + key);
  const HttpReply reply = http_request(req);
  const std::string& response = reply.body;
  if (reply.timed_out) fail(ErrorCode::timeout, "LLM backend ", url, " timed out after ", timeout_ms_, " ms");
  if (!reply.transport_ok) fail(ErrorCode::network, "LLM backend ", url, ": ", reply.error);
  if (reply.status != 200) fail(ErrorCode::network, "LLM backend ", url, " answered HTTP ", reply.status, ": ", response.substr(0, 300));
  json r;
  try {
    r = json::parse(response);
  } catch (const std::exception& e) {
    fail(ErrorCode::network, "LLM backend ", url, " sent invalid JSON: ", e.what());
  }
  if (!r.contains("choices") || !r["choices"].is_array() || r["choices"].empty() || !r["choices"][0].contains("message"))
    fail(ErrorCode::network, "LLM backend ", url, " sent no choices");
  const json& msg = r["choices"][0]["message"];
  Tier1Output out;
  out.text = msg.contains("content") && msg["content"].is_string() ? msg["content"].get<std::string>() : "";
  if (r.contains("usage")) out.usage = r["usage"];
  return out;
}

}  // namespace omni::agent
