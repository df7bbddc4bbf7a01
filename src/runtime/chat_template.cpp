// Built-in chat template renderers (ChatML / Qwen2.5 / Qwen3 with tools, Llama-3, Mistral, Gemma)
// and recognition of a GGUF's Jinja template by its markers.
#include "runtime/chat_template.hpp"

#include "omni/error.hpp"
#include "runtime/model.hpp"

namespace omni::runtime {

namespace {

// JSON as Python's json.dumps writes it (", " and ": " separators), which is what the Jinja
// `tojson` filter of Hugging Face templates produces.
std::string py_json(const nlohmann::json& j) {
  if (j.is_object()) {
    std::string s = "{";
    bool first = true;
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (!first) s += ", ";
      first = false;
      s += nlohmann::json(it.key()).dump() + ": " + py_json(it.value());
    }
    return s + "}";
  }
  if (j.is_array()) {
    std::string s = "[";
    for (size_t i = 0; i < j.size(); ++i) s += (i ? ", " : "") + py_json(j[i]);
    return s + "]";
  }
  return j.dump();
}

// Tool-call arguments given as JSON text, rendered like `arguments | tojson` of a parsed object.
std::string args_json(const std::string& text) {
  if (text.empty()) return "{}";
  try {
    return py_json(nlohmann::json::parse(text));
  } catch (const nlohmann::json::exception&) {
    return text;
  }
}

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

const char* const kQwenDefaultSystem = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";

}  // namespace

std::vector<std::string> ChatTemplate::names() { return {"chatml", "qwen2.5", "qwen3", "llama3", "mistral", "gemma"}; }

ChatTemplate ChatTemplate::from_name(const std::string& name) {
  for (const auto& n : names())
    if (n == name) return ChatTemplate(n);
  if (name == "qwen" || name == "qwen2") return ChatTemplate("qwen2.5");
  if (name == "llama-3" || name == "llama3.1") return ChatTemplate("llama3");
  std::string list;
  for (const auto& n : names()) list += (list.empty() ? "" : ", ") + n;
  fail(ErrorCode::invalid_argument, "unknown chat template '", name, "' (choose one of: ", list, ")");
}

ChatTemplate ChatTemplate::detect(const std::string& src) {
  auto has = [&](const char* s) { return src.find(s) != std::string::npos; };
  if (has("<|im_start|>")) {
    if (has("You are Qwen, created by Alibaba Cloud")) return ChatTemplate("qwen2.5");
    if (has("<think>") || has("enable_thinking") || has("<tool_call>")) return ChatTemplate("qwen3");
    return ChatTemplate("chatml");
  }
  if (has("<|start_header_id|>")) return ChatTemplate("llama3");
  if (has("<start_of_turn>")) return ChatTemplate("gemma");
  if (has("[INST]")) return ChatTemplate("mistral");
  std::string list;
  for (const auto& n : names()) list += (list.empty() ? "" : ", ") + n;
  fail(ErrorCode::unsupported, "the model's chat template is not one Omni recognises; choose one with --chat-template NAME (",
       list, ")");
}

ChatTemplate ChatTemplate::for_model(const Model& model, const std::string& override_name) {
  if (!override_name.empty()) return from_name(override_name);
  const std::string src = model.chat_template_source();
  if (src.empty()) return ChatTemplate("chatml");
  return detect(src);
}

std::vector<std::string> ChatTemplate::stop_strings() const {
  if (name_ == "llama3") return {"<|eot_id|>", "<|eom_id|>"};
  if (name_ == "mistral") return {"</s>"};
  if (name_ == "gemma") return {"<end_of_turn>"};
  return {"<|im_end|>"};
}

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages, bool gen, const nlohmann::json& tools) const {
  for (const auto& m : messages)
    if (m.role != "system" && m.role != "user" && m.role != "assistant" && m.role != "tool")
      fail(ErrorCode::invalid_argument, "chat message role '", m.role, "' (expected system, user, assistant or tool)");
  if (!tools.is_null() && !tools.is_array()) fail(ErrorCode::invalid_argument, "tools must be a JSON array");
  if (name_ == "llama3") return render_llama3(messages, gen, tools);
  if (name_ == "mistral") return render_mistral(messages, gen);
  if (name_ == "gemma") return render_gemma(messages, gen);
  return render_chatml(messages, gen, tools);
}

std::string ChatTemplate::render_chatml(const std::vector<ChatMessage>& msgs, bool gen, const nlohmann::json& tools) const {
  const bool qwen25 = name_ == "qwen2.5";
  const bool has_tools = tools.is_array() && !tools.empty();
  const bool first_system = !msgs.empty() && msgs[0].role == "system";
  std::string s;
  if (has_tools) {
    s += "<|im_start|>system\n";
    if (first_system) s += msgs[0].content + (qwen25 ? "" : "\n\n");
    else if (qwen25) s += kQwenDefaultSystem;
    s += qwen25 ? "\n\n# Tools\n\n" : "# Tools\n\n";
    s += "You may call one or more functions to assist with the user query.\n\n"
         "You are provided with function signatures within <tools></tools> XML tags:\n<tools>";
    for (const auto& t : tools) s += "\n" + py_json(t);
    s += "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
         "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
         "<args-json-object>}\n</tool_call><|im_end|>\n";
  } else if (first_system) {
    s += "<|im_start|>system\n" + msgs[0].content + "<|im_end|>\n";
  } else if (qwen25) {
    s += std::string("<|im_start|>system\n") + kQwenDefaultSystem + "<|im_end|>\n";
  }
  for (size_t i = first_system ? 1 : 0; i < msgs.size(); ++i) {
    const ChatMessage& m = msgs[i];
    if (m.role == "tool") {
      if (i == 0 || msgs[i - 1].role != "tool") s += "<|im_start|>user";
      s += "\n<tool_response>\n" + m.content + "\n</tool_response>";
      if (i + 1 == msgs.size() || msgs[i + 1].role != "tool") s += "<|im_end|>\n";
    } else if (m.role == "assistant" && !m.tool_calls.empty()) {
      s += "<|im_start|>assistant";
      if (!m.content.empty()) s += "\n" + m.content;
      for (const auto& c : m.tool_calls)
        s += "\n<tool_call>\n{\"name\": " + nlohmann::json(c.name).dump() + ", \"arguments\": " + args_json(c.arguments) + "}\n</tool_call>";
      s += "<|im_end|>\n";
    } else if (m.role == "assistant" && name_ == "qwen3" && m.content.find("</think>") != std::string::npos) {
      // Qwen3 keeps only the answer of earlier turns, not their reasoning.
      std::string answer = m.content.substr(m.content.rfind("</think>") + 8);
      answer.erase(0, answer.find_first_not_of('\n') == std::string::npos ? answer.size() : answer.find_first_not_of('\n'));
      s += "<|im_start|>assistant\n" + answer + "<|im_end|>\n";
    } else {
      s += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
    }
  }
  if (gen) s += "<|im_start|>assistant\n";
  return s;
}

std::string ChatTemplate::render_llama3(const std::vector<ChatMessage>& msgs, bool gen, const nlohmann::json& tools) const {
  const bool has_tools = tools.is_array() && !tools.empty();
  std::string s = "<|begin_of_text|>";
  auto turn = [&](const std::string& role, const std::string& content) {
    s += "<|start_header_id|>" + role + "<|end_header_id|>\n\n" + trim(content) + "<|eot_id|>";
  };
  bool tools_done = !has_tools;
  for (const ChatMessage& m : msgs) {
    if (m.role == "user" && !tools_done) {  // Llama 3.1 puts the tool list in the first user turn
      std::string c = "Given the following functions, please respond with a JSON for a function call with its proper "
                      "arguments that best answers the given prompt.\n\nRespond in the format {\"name\": function name, "
                      "\"parameters\": dictionary of argument name and its value}.Do not use variables.\n\n";
      for (const auto& t : tools) c += py_json(t) + "\n\n";
      turn("user", c + m.content);
      tools_done = true;
    } else if (m.role == "assistant" && !m.tool_calls.empty()) {
      std::string c;
      for (const auto& call : m.tool_calls)
        c += "{\"name\": " + nlohmann::json(call.name).dump() + ", \"parameters\": " + args_json(call.arguments) + "}";
      turn("assistant", c);
    } else if (m.role == "tool") {
      turn("ipython", m.content);
    } else {
      turn(m.role, m.content);
    }
  }
  if (gen) s += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return s;
}

std::string ChatTemplate::render_mistral(const std::vector<ChatMessage>& msgs, bool gen) const {
  std::string s = "<s>", system;
  for (const ChatMessage& m : msgs) {
    if (m.role == "system") {
      system += (system.empty() ? "" : "\n\n") + m.content;
    } else if (m.role == "user" || m.role == "tool") {
      s += "[INST] " + (system.empty() ? "" : system + "\n\n") + m.content + "[/INST]";
      system.clear();
    } else {
      s += " " + m.content + "</s>";
    }
  }
  (void)gen;  // the open [/INST] already invites the assistant's answer
  return s;
}

std::string ChatTemplate::render_gemma(const std::vector<ChatMessage>& msgs, bool gen) const {
  std::string s = "<bos>", system;
  for (const ChatMessage& m : msgs) {
    if (m.role == "system") {
      system += (system.empty() ? "" : "\n\n") + m.content;
      continue;
    }
    const std::string role = m.role == "assistant" ? "model" : "user";
    std::string content = trim(m.content);
    if (role == "user" && !system.empty()) {
      content = system + "\n\n" + content;
      system.clear();
    }
    s += "<start_of_turn>" + role + "\n" + content + "<end_of_turn>\n";
  }
  if (gen) s += "<start_of_turn>model\n";
  return s;
}

std::string ChatTemplate::parse_tool_calls(const std::string& text, std::vector<ToolCall>& calls) const {
  std::string rest;
  size_t pos = 0;
  for (;;) {
    const size_t b = text.find("<tool_call>", pos);
    if (b == std::string::npos) break;
    const size_t e = text.find("</tool_call>", b);
    if (e == std::string::npos) break;
    const std::string body = text.substr(b + 11, e - b - 11);
    try {
      const auto j = nlohmann::json::parse(body);
      ToolCall c;
      c.name = j.at("name").get<std::string>();
      const auto& args = j.contains("arguments") ? j["arguments"] : j.value("parameters", nlohmann::json::object());
      c.arguments = args.is_string() ? args.get<std::string>() : args.dump();
      calls.push_back(std::move(c));
      rest += text.substr(pos, b - pos);
    } catch (const nlohmann::json::exception&) {
      rest += text.substr(pos, e + 12 - pos);
    }
    pos = e + 12;
  }
  rest += text.substr(pos);
  return trim(rest);
}

}  // namespace omni::runtime
