// Chat templates: built-in renderers for the prompt formats real GGUF files use (ChatML as in
// Qwen2.5 / Qwen3 with their tool-call blocks, Llama-3, Mistral, Gemma), recognised from the file's
// `tokenizer.chat_template` or chosen by name.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace omni::runtime {

class Model;

struct ToolCall {
  std::string id;         // optional call id (OpenAI "tool_call_id")
  std::string name;       // function name
  std::string arguments;  // JSON object text
};

struct ChatMessage {
  std::string role;       // "system", "user", "assistant" or "tool"
  std::string content;
  std::vector<ToolCall> tool_calls;  // assistant messages that call tools
  std::string tool_call_id;          // tool messages: which call this answers
  std::string name;                  // tool messages: the function's name (optional)
};

class ChatTemplate {
 public:
  // Names: "chatml", "qwen2.5", "qwen3", "llama3", "mistral", "gemma".
  static ChatTemplate from_name(const std::string& name);  // unknown name: error listing the names
  // Recognises a Jinja template by its markers; unknown: error saying to pass --chat-template NAME.
  static ChatTemplate detect(const std::string& jinja_source);
  // The override if not empty, else detect(model's template); no template at all: ChatML.
  static ChatTemplate for_model(const Model& model, const std::string& override_name = "");
  static std::vector<std::string> names();

  const std::string& name() const { return name_; }
  // Renders messages to the prompt text (special tokens as text; tokenize with parse_special).
  // tools: OpenAI-style tool definitions ([{"type":"function","function":{...}}]) or empty.
  // add_generation_prompt: end with the opening of an assistant turn.
  std::string render(const std::vector<ChatMessage>& messages, bool add_generation_prompt = true,
                     const nlohmann::json& tools = nlohmann::json::array()) const;
  // Text that ends an assistant turn in this format (also a stop string for generation).
  std::vector<std::string> stop_strings() const;
  // ChatML (Qwen) only: splits <tool_call>{...}</tool_call> blocks out of generated text; returns
  // the remaining content and appends the parsed calls (malformed blocks stay in the content).
  std::string parse_tool_calls(const std::string& generated, std::vector<ToolCall>& calls) const;

 private:
  explicit ChatTemplate(std::string name) : name_(std::move(name)) {}
  std::string render_chatml(const std::vector<ChatMessage>& m, bool gen, const nlohmann::json& tools) const;
  std::string render_llama3(const std::vector<ChatMessage>& m, bool gen, const nlohmann::json& tools) const;
  std::string render_mistral(const std::vector<ChatMessage>& m, bool gen) const;
  std::string render_gemma(const std::vector<ChatMessage>& m, bool gen) const;
  std::string name_;
};

}  // namespace omni::runtime
