// Validation and parsing of OpenAI chat/completions and completions request bodies into what the
// engine needs: chat messages (audio parts transcribed, images checked), tools and tool_choice,
// response_format, sampling parameters. Every bad field is a 400 naming the field (param).
#pragma once
#include "vision/image.hpp"
#include <string>
#include <vector>

#include "runtime/chat_template.hpp"
#include "runtime/sampling.hpp"
#include "server/services.hpp"

namespace omni::server {

struct ParsedRequest {
  std::vector<runtime::ChatMessage> messages;  // chat
  std::string prompt;                          // completions
  Json tools = Json::array();                  // as given
  Json tools_in_prompt = Json::array();        // what the template renders
  bool tools_allowed = false;                  // auto: tool-call blocks are parsed out of the text
  bool forced_tool = false;                    // required / named: output is {"name","arguments"}
  Json constraint_schema;                      // null: unconstrained
  bool any_json = false;                       // any JSON value or container (json_object uses
                                               // constraint_schema: an object with any members)
  bool buffer_output = false;                  // stream only at the end (tool calls)
  bool stream = false, include_usage = false;
  runtime::SamplingParams sampling;
  std::vector<vision::Image> images;           // image_url parts, in the order of their markers
};

ParsedRequest parse_openai_request(const Json& body, bool chat, Services& services);
const Json* find_tool(const Json& tools, const std::string& name);
// The model id check shared by routes: 404 model_not_found for an unknown id.
void check_model(const Json& body, const std::string& model_id, bool required);

}  // namespace omni::server
