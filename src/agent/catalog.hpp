// The action catalog: what actions exist, their argument schemas, example utterance templates
// (tier 0), slot value lists with synonyms, executor bindings, policy and reply templates.
// Loaded from YAML or JSON (catalogs/demo.yaml is the built-in default).
#pragma once
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace omni::agent {

// One value of a slot list: the canonical value put into the action and the phrases that mean it.
struct SlotValue {
  nlohmann::json value;               // usually a string ("nordic"), may be a number or object
  std::vector<std::string> phrases;   // "nordic", "scandinavian", "北欧", "北欧风格" ...
};

// A named list of slot values ("room", "style"). Built-in lists: "number" (digits, English number
// words, Chinese numerals) and "text" (any non-empty span, lower confidence).
struct SlotList {
  std::string name;
  std::vector<SlotValue> values;
};

// One utterance template: "(turn|switch) on [the] {room} light[s]" with fixed arguments to set.
// Syntax: (a|b) alternatives, [x] optional, {slot} or {arg:list} a slot ("arg" may be dotted:
// {position.x:number}), words separated by spaces; Chinese text may be written without spaces.
struct UtteranceTemplate {
  std::string text;
  nlohmann::json set = nlohmann::json::object();  // fixed arguments ({"state":"on"})
};

struct ExecutorBinding {
  std::string type = "log";                        // http | mqtt | exec | scene | log
  nlohmann::json config = nlohmann::json::object(); // url / topic / argv ... (strings may use {arg})
};

struct ActionSpec {
  std::string name;
  std::string description;
  nlohmann::json parameters;   // JSON Schema of the arguments object (without "action")
  std::vector<UtteranceTemplate> templates;
  std::vector<nlohmann::json> examples;  // few-shot {"utterance":..., "action":{...}} for tier 1
  ExecutorBinding executor;
  bool confirm = false;        // risky: wait for a yes/no turn before executing
  std::string reply;           // English reply template ("Turning {state} the {room} lights.")
  std::string reply_zh;        // optional Chinese reply template
};

class Catalog {
 public:
  // Parses YAML or JSON text (JSON is YAML); `origin` names the source in errors.
  static Catalog parse(const std::string& text, const std::string& origin);
  static Catalog load_file(const std::string& path);
  static Catalog demo();                 // the built-in demo catalog (catalogs/demo.yaml)
  static const std::string& demo_text(); // its YAML text

  const std::vector<ActionSpec>& actions() const { return actions_; }
  const ActionSpec* find(const std::string& name) const;  // null when unknown
  const std::map<std::string, SlotList>& lists() const { return lists_; }
  const SlotList* list(const std::string& name) const;
  const std::string& name() const { return name_; }
  const std::vector<std::string>& filler_words() const { return fillers_; }

  // Schema of one complete action object: {"action":{"const":name}, ...parameters}, closed.
  nlohmann::json action_schema(const ActionSpec& action) const;
  // {"oneOf":[action_schema(a) for every action]}: the tier-1 constraint.
  nlohmann::json union_schema() const;
  // Checks an action object against the catalog; returns "" when valid, else what is wrong.
  std::string validate_action(const nlohmann::json& action) const;
  // Fills a reply template with the action's arguments ({room} -> "bedroom"); zh picks reply_zh.
  std::string render_reply(const nlohmann::json& action, bool zh) const;

 private:
  std::string name_;
  std::vector<ActionSpec> actions_;
  std::map<std::string, SlotList> lists_;
  std::vector<std::string> fillers_;
};

}  // namespace omni::agent
