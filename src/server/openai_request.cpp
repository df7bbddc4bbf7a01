// OpenAI request validation (chat/completions, completions): types, ranges and media of every field.
#include "server/openai_request.hpp"

#include "models/mmproj_prompt.hpp"

#include "server/media.hpp"

namespace omni::server {

namespace {

[[noreturn]] void bad(const std::string& param, const std::string& msg) { bad_request(msg, param); }

double number(const Json& v, const std::string& name, double lo, double hi) {
  if (!v.is_number()) bad(name, cat("'", name, "' must be a number"));
  double x = v.get<double>();
  if (!(x >= lo && x <= hi)) bad(name, cat("'", name, "' must be between ", lo, " and ", hi));
  return x;
}

int64_t integer(const Json& v, const std::string& name, int64_t lo, int64_t hi) {
  if (!v.is_number_integer() && !v.is_number_unsigned()) bad(name, cat("'", name, "' must be an integer"));
  if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX)) bad(name, cat("'", name, "' is out of range"));
  int64_t x = v.get<int64_t>();
  if (x < lo || x > hi) bad(name, cat("'", name, "' must be between ", lo, " and ", hi));
  return x;
}

std::string transcribe_part(const Json& part, const std::string& where, Services& s) {
  const Json& a = part.contains("input_audio") ? part["input_audio"] : Json();
  if (!a.is_object() || !a.contains("data") || !a["data"].is_string())
    bad(where, cat("'", where, ".input_audio.data' must be a base64 string"));
  std::string format = a.value("format", "wav");
  if (format != "wav" && format != "mp3") bad(where, cat("'", where, ".input_audio.format' must be \"wav\" or \"mp3\""));
  std::string bytes = base64_decode_strict(a["data"].get<std::string>(), where + ".input_audio.data");
  if (!s.decode_audio) unavailable("audio input", "the audio layer is not built in");
  std::vector<float> samples = s.decode_audio(bytes, s.limits.max_audio_seconds);
  if (!s.asr) unavailable("audio input (speech recognition)", "start the server with --asr-model");
  return s.asr->transcribe(samples, "en", "", nullptr).text;
}

std::string content_text(const Json& content, const std::string& where, Services& s,
                         std::vector<vision::Image>* images = nullptr) {
  if (content.is_null()) return "";
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) bad(where, cat("'", where, "' must be a string or an array of content parts"));
  std::string out;
  for (size_t i = 0; i < content.size(); ++i) {
    const Json& part = content[i];
    std::string pw = cat(where, "[", i, "]");
    if (!part.is_object() || !part.contains("type") || !part["type"].is_string()) bad(pw, cat("'", pw, "' must be an object with a 'type'"));
    std::string type = part["type"];
    if (type == "text") {
      if (!part.contains("text") || !part["text"].is_string()) bad(pw, cat("'", pw, ".text' must be a string"));
      if (!out.empty()) out += "\n";
      out += part["text"].get<std::string>();
    } else if (type == "image_url") {
      const Json& iu = part.contains("image_url") ? part["image_url"] : Json();
      std::string url = iu.is_object() && iu.contains("url") && iu["url"].is_string() ? iu["url"].get<std::string>()
                        : iu.is_string() ? iu.get<std::string>() : "";
      if (url.empty()) bad(pw, cat("'", pw, ".image_url.url' must be a string"));
      MediaBytes m = load_media_url(url, s.media_dir, s.limits.max_media_bytes, pw + ".image_url.url");
      if (m.mime.rfind("image/", 0) != 0) bad(pw, cat("'", pw, "' is not an image (", m.mime, ")"));
      if (!s.vision || !images) unavailable("image input", "start the server with -m MODEL and its vision projector --mmproj FILE");
      vision::ImageLimits lim;
      lim.max_bytes = s.limits.max_media_bytes;
      lim.max_pixels = s.limits.max_image_pixels;
      images->push_back(vision::decode_image(reinterpret_cast<const uint8_t*>(m.bytes.data()), m.bytes.size(), lim, pw));
      if (!out.empty()) out += "\n";
      out += models::kImageMarker;
    } else if (type == "input_audio") {
      if (!out.empty()) out += "\n";
      out += transcribe_part(part, pw, s);
    } else {
      bad(pw, cat("unsupported content part type '", type, "' (text, image_url, input_audio)"));
    }
  }
  return out;
}

Json tool_call_schema(const Json& tool) {
  const Json& f = tool["function"];
  Json params = f.contains("parameters") && f["parameters"].is_object() ? f["parameters"] : Json{{"type", "object"}};
  return {{"type", "object"},
          {"properties", {{"name", {{"const", f["name"]}}}, {"arguments", params}}},
          {"required", {"name", "arguments"}},
          {"additionalProperties", false}};
}

}  // namespace

const Json* find_tool(const Json& tools, const std::string& name) {
  for (const auto& t : tools)
    if (t["function"]["name"] == name) return &t;
  return nullptr;
}

void check_model(const Json& body, const std::string& model_id, bool required) {
  if (!body.contains("model")) {
    if (required) bad("model", "'model' is required");
    return;
  }
  if (!body["model"].is_string()) bad("model", "'model' must be a string");
  std::string m = body["model"];
  if (m != model_id && m != "omni" && m != "default")
    throw HttpError(404, "invalid_request_error", "model_not_found",
                    cat("the model '", m, "' does not exist on this server (have: '", model_id, "')"), std::string("model"));
}

ParsedRequest parse_openai_request(const Json& b, bool chat, Services& s) {
  ParsedRequest p;
  auto& sp = p.sampling;
  sp.temperature = 1.0f;
  sp.top_k = 0;
  sp.top_p = 1.0f;
  sp.min_p = 0.0f;
  sp.max_tokens = 256;
  if (b.contains("stream") && !b["stream"].is_null()) {
    if (!b["stream"].is_boolean()) bad("stream", "'stream' must be a boolean");
    p.stream = b["stream"];
  }
  if (b.contains("stream_options") && b["stream_options"].is_object())
    p.include_usage = b["stream_options"].value("include_usage", false);
  for (const char* k : {"max_tokens", "max_completion_tokens"})
    if (b.contains(k) && !b[k].is_null()) sp.max_tokens = int(integer(b[k], k, 1, 1 << 20));
  if (b.contains("temperature") && !b["temperature"].is_null()) sp.temperature = float(number(b["temperature"], "temperature", 0, 2));
  if (b.contains("top_p") && !b["top_p"].is_null()) sp.top_p = float(number(b["top_p"], "top_p", 0, 1));
  if (b.contains("top_k") && !b["top_k"].is_null()) sp.top_k = int(integer(b["top_k"], "top_k", 0, 1 << 20));
  if (b.contains("min_p") && !b["min_p"].is_null()) sp.min_p = float(number(b["min_p"], "min_p", 0, 1));
  if (b.contains("presence_penalty") && !b["presence_penalty"].is_null()) sp.presence_penalty = float(number(b["presence_penalty"], "presence_penalty", -2, 2));
  if (b.contains("frequency_penalty") && !b["frequency_penalty"].is_null()) sp.frequency_penalty = float(number(b["frequency_penalty"], "frequency_penalty", -2, 2));
  if (b.contains("seed") && !b["seed"].is_null()) sp.seed = uint64_t(integer(b["seed"], "seed", INT64_MIN, INT64_MAX));
  if (b.contains("n") && !b["n"].is_null() && integer(b["n"], "n", 1, 128) != 1) bad("n", "only n = 1 is supported");
  if (b.contains("stop") && !b["stop"].is_null()) {
    const Json& st = b["stop"];
    if (st.is_string()) sp.stop.push_back(st);
    else if (st.is_array() && st.size() <= 4) {
      for (const auto& x : st) {
        if (!x.is_string() || x.get<std::string>().empty()) bad("stop", "'stop' entries must be non-empty strings");
        sp.stop.push_back(x);
      }
    } else bad("stop", "'stop' must be a string or an array of up to 4 strings");
  }
  if (b.contains("logit_bias") && !b["logit_bias"].is_null()) {
    if (!b["logit_bias"].is_object()) bad("logit_bias", "'logit_bias' must be an object of token id -> bias");
    for (auto& [k, v] : b["logit_bias"].items()) {
      char* end = nullptr;
      long id = std::strtol(k.c_str(), &end, 10);
      if (k.empty() || *end || id < 0 || id > (1 << 24)) bad("logit_bias", cat("'logit_bias' key '", k, "' is not a token id"));
      sp.logit_bias[int(id)] = float(number(v, "logit_bias", -100, 100));
    }
  }

  if (!chat) {
    if (!b.contains("prompt")) bad("prompt", "'prompt' is required");
    const Json& pr = b["prompt"];
    if (pr.is_string()) p.prompt = pr;
    else if (pr.is_array() && pr.size() == 1 && pr[0].is_string()) p.prompt = pr[0];
    else bad("prompt", "'prompt' must be a string (or an array of one string)");
    if (b.contains("suffix") && !b["suffix"].is_null()) bad("suffix", "'suffix' is not supported");
    return p;
  }

  if (!b.contains("messages") || !b["messages"].is_array() || b["messages"].empty())
    bad("messages", "'messages' must be a non-empty array");
  for (size_t i = 0; i < b["messages"].size(); ++i) {
    const Json& m = b["messages"][i];
    std::string where = cat("messages[", i, "]");
    if (!m.is_object()) bad(where, cat("'", where, "' must be an object"));
    if (!m.contains("role") || !m["role"].is_string()) bad(where, cat("'", where, ".role' must be a string"));
    runtime::ChatMessage cm;
    cm.role = m["role"];
    if (cm.role == "developer") cm.role = "system";
    if (cm.role != "system" && cm.role != "user" && cm.role != "assistant" && cm.role != "tool")
      bad(where, cat("'", where, ".role' must be system, developer, user, assistant or tool"));
    if (!m.contains("content") && !(cm.role == "assistant" && m.contains("tool_calls")))
      bad(where, cat("'", where, ".content' is required"));
    cm.content = content_text(m.contains("content") ? m["content"] : Json(), where + ".content", s, &p.images);
    if (m.contains("tool_calls") && !m["tool_calls"].is_null()) {
      if (!m["tool_calls"].is_array()) bad(where, cat("'", where, ".tool_calls' must be an array"));
      for (const auto& tc : m["tool_calls"]) {
        if (!tc.is_object() || !tc.contains("function") || !tc["function"].is_object() || !tc["function"].contains("name"))
          bad(where, cat("'", where, ".tool_calls' entries need function.name"));
        runtime::ToolCall call;
        call.id = tc.value("id", "");
        call.name = tc["function"].value("name", "");
        call.arguments = tc["function"].value("arguments", "{}");
        cm.tool_calls.push_back(call);
      }
    }
    if (cm.role == "tool") cm.tool_call_id = m.value("tool_call_id", "");
    if (m.contains("name") && m["name"].is_string()) cm.name = m["name"];
    p.messages.push_back(std::move(cm));
  }

  if (b.contains("tools") && !b["tools"].is_null()) {
    if (!b["tools"].is_array()) bad("tools", "'tools' must be an array");
    for (size_t i = 0; i < b["tools"].size(); ++i) {
      const Json& t = b["tools"][i];
      if (!t.is_object() || t.value("type", "") != "function" || !t.contains("function") || !t["function"].is_object() ||
          !t["function"].contains("name") || !t["function"]["name"].is_string())
        bad("tools", cat("'tools[", i, "]' must be {\"type\":\"function\",\"function\":{\"name\":...}}"));
      if (t["function"].contains("parameters") && !t["function"]["parameters"].is_object())
        bad("tools", cat("'tools[", i, "].function.parameters' must be a JSON schema object"));
    }
    p.tools = b["tools"];
  }
  std::string choice = p.tools.empty() ? "none" : "auto";
  const Json* named = nullptr;
  if (b.contains("tool_choice") && !b["tool_choice"].is_null()) {
    const Json& tc = b["tool_choice"];
    if (tc.is_string()) {
      choice = tc;
      if (choice != "none" && choice != "auto" && choice != "required") bad("tool_choice", "'tool_choice' must be none, auto, required or a named function");
    } else if (tc.is_object() && tc.contains("function") && tc["function"].is_object() && tc["function"].contains("name") && tc["function"]["name"].is_string()) {
      choice = "named";
      named = find_tool(p.tools, tc["function"]["name"]);
      if (!named) bad("tool_choice", cat("'tool_choice' names '", tc["function"]["name"].get<std::string>(), "', which is not in 'tools'"));
    } else {
      bad("tool_choice", "'tool_choice' must be none, auto, required or {\"type\":\"function\",\"function\":{\"name\":...}}");
    }
    if (choice != "none" && p.tools.empty()) bad("tool_choice", "'tool_choice' needs 'tools'");
  }
  if (choice == "auto") {
    p.tools_in_prompt = p.tools;
    p.tools_allowed = true;
    p.buffer_output = true;
  } else if (choice == "required" || choice == "named") {
    p.tools_in_prompt = p.tools;
    p.forced_tool = true;
    p.buffer_output = true;
    if (named) p.constraint_schema = tool_call_schema(*named);
    else {
      Json any = Json::array();
      for (const auto& t : p.tools) any.push_back(tool_call_schema(t));
      p.constraint_schema = any.size() == 1 ? any[0] : Json{{"anyOf", any}};
    }
  }

  if (b.contains("response_format") && !b["response_format"].is_null()) {
    const Json& rf = b["response_format"];
    if (!rf.is_object() || !rf.contains("type") || !rf["type"].is_string()) bad("response_format", "'response_format' must be an object with a 'type'");
    std::string type = rf["type"];
    if (type == "json_object") {
      // A JSON object (OpenAI's json_object mode), never a bare array or scalar: any keys and values.
      if (!p.forced_tool) p.constraint_schema = Json{{"type", "object"}, {"additionalProperties", true}};
    } else if (type == "json_schema") {
      const Json& js = rf.contains("json_schema") ? rf["json_schema"] : Json();
      if (!js.is_object() || !js.contains("schema") || !js["schema"].is_object())
        bad("response_format", "'response_format.json_schema.schema' must be a JSON schema object");
      if (!p.forced_tool) p.constraint_schema = js["schema"];
    } else if (type != "text") {
      bad("response_format", "'response_format.type' must be text, json_object or json_schema");
    }
  }
  return p;
}

}  // namespace omni::server
