// Action catalog loading (YAML or JSON via yaml-cpp), checks, schemas and reply rendering.
#include "agent/catalog.hpp"

#include <fstream>
#include <regex>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "agent/text_normalize.hpp"
#include "omni/error.hpp"
#include "runtime/grammar/schema_validate.hpp"

namespace omni::agent {

using nlohmann::json;

namespace {

// YAML -> JSON. Plain scalars become numbers / true / false / null only when they look exactly
// like JSON ones, so YAML 1.1 words such as "on", "off", "yes" stay strings.
json yaml_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Sequence: {
      json a = json::array();
      for (const auto& x : node) a.push_back(yaml_to_json(x));
      return a;
    }
    case YAML::NodeType::Map: {
      json o = json::object();
      for (const auto& kv : node) o[kv.first.as<std::string>()] = yaml_to_json(kv.second);
      return o;
    }
    case YAML::NodeType::Scalar: {
      const std::string s = node.Scalar();
      if (node.Tag() == "!") return s;  // quoted
      if (s == "true") return true;
      if (s == "false") return false;
      if (s == "null" || s == "~") return nullptr;
      static const std::regex int_re("-?(0|[1-9][0-9]*)"), num_re("-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][-+]?[0-9]+)?");
      if (std::regex_match(s, int_re)) {
        try { return std::stoll(s); } catch (...) { return s; }
      }
      if (std::regex_match(s, num_re)) return std::stod(s);
      return s;
    }
  }
  return nullptr;
}

std::string str_field(const json& o, const char* key, const std::string& where, bool required) {
  if (!o.contains(key)) {
    if (required) fail(ErrorCode::invalid_file, where, ": missing '", key, "'");
    return "";
  }
  if (!o[key].is_string()) fail(ErrorCode::invalid_file, where, ": '", key, "' must be a string");
  return o[key].get<std::string>();
}

std::string scalar_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) {
    std::ostringstream os;
    os << v.get<double>();
    return os.str();
  }
  if (v.is_object() && v.contains("x") && v.contains("z")) return "(" + scalar_text(v["x"]) + ", " + scalar_text(v["z"]) + ")";
  return v.dump();
}

}  // namespace

Catalog Catalog::parse(const std::string& text, const std::string& origin) {
  json doc;
  try {
    doc = yaml_to_json(YAML::Load(text));
  } catch (const YAML::Exception& e) {
    fail(ErrorCode::invalid_file, "catalog ", origin, ": not valid YAML/JSON: ", e.what());
  }
  if (!doc.is_object()) fail(ErrorCode::invalid_file, "catalog ", origin, ": the top level must be a mapping");
  Catalog c;
  c.name_ = doc.value("name", origin);
  if (doc.contains("fillers")) {
    if (!doc["fillers"].is_array()) fail(ErrorCode::invalid_file, "catalog ", origin, ": 'fillers' must be a list");
    for (const auto& f : doc["fillers"]) c.fillers_.push_back(scalar_text(f));
  }
  if (doc.contains("lists")) {
    if (!doc["lists"].is_object()) fail(ErrorCode::invalid_file, "catalog ", origin, ": 'lists' must be a mapping");
    for (auto it = doc["lists"].begin(); it != doc["lists"].end(); ++it) {
      SlotList list;
      list.name = it.key();
      if (list.name == "number" || list.name == "text")
        fail(ErrorCode::invalid_file, "catalog ", origin, ": list name '", list.name, "' is built in");
      if (!it.value().is_array()) fail(ErrorCode::invalid_file, "catalog ", origin, ": list '", list.name, "' must be a sequence");
      for (const auto& v : it.value()) {
        SlotValue sv;
        if (v.is_object()) {
          if (!v.contains("value")) fail(ErrorCode::invalid_file, "catalog ", origin, ": an entry of list '", list.name, "' has no 'value'");
          sv.value = v["value"];
          if (v.contains("phrases")) for (const auto& p : v["phrases"]) sv.phrases.push_back(scalar_text(p));
        } else {
          sv.value = v;
        }
        if (sv.phrases.empty()) sv.phrases.push_back(scalar_text(sv.value));
        list.values.push_back(std::move(sv));
      }
      c.lists_[list.name] = std::move(list);
    }
  }
  if (!doc.contains("actions") || !doc["actions"].is_array() || doc["actions"].empty())
    fail(ErrorCode::invalid_file, "catalog ", origin, ": 'actions' must be a non-empty list");
  for (const auto& a : doc["actions"]) {
    if (!a.is_object()) fail(ErrorCode::invalid_file, "catalog ", origin, ": every action must be a mapping");
    ActionSpec spec;
    spec.name = str_field(a, "name", "catalog " + origin + " action", true);
    const std::string where = "catalog " + origin + " action '" + spec.name + "'";
    static const std::regex name_re("[a-z_][a-z0-9_]*");
    if (!std::regex_match(spec.name, name_re)) fail(ErrorCode::invalid_file, where, ": the name must be snake_case");
    if (c.find(spec.name)) fail(ErrorCode::invalid_file, where, ": defined twice");
    spec.description = str_field(a, "description", where, false);
    spec.parameters = a.value("parameters", json{{"type", "object"}, {"properties", json::object()}});
    if (!spec.parameters.is_object() || spec.parameters.value("type", "object") != "object")
      fail(ErrorCode::invalid_file, where, ": 'parameters' must be an object schema");
    if (!spec.parameters.contains("type")) spec.parameters["type"] = "object";
    if (!spec.parameters.contains("properties")) spec.parameters["properties"] = json::object();
    if (spec.parameters["properties"].contains("action")) fail(ErrorCode::invalid_file, where, ": 'action' is reserved");
    if (a.contains("templates")) {
      for (const auto& t : a["templates"]) {
        UtteranceTemplate ut;
        if (t.is_string()) {
          ut.text = t.get<std::string>();
        } else if (t.is_object() && t.contains("text") && t["text"].is_string()) {
          ut.text = t["text"].get<std::string>();
          if (t.contains("set")) {
            if (!t["set"].is_object()) fail(ErrorCode::invalid_file, where, ": template 'set' must be a mapping");
            ut.set = t["set"];
          }
        } else {
          fail(ErrorCode::invalid_file, where, ": a template must be a string or {text, set}");
        }
        spec.templates.push_back(std::move(ut));
      }
    }
    if (a.contains("examples")) for (const auto& e : a["examples"]) spec.examples.push_back(e);
    if (a.contains("executor")) {
      const json& ex = a["executor"];
      if (ex.is_string()) {
        spec.executor.type = ex.get<std::string>();
      } else if (ex.is_object()) {
        spec.executor.type = str_field(ex, "type", where + " executor", true);
        spec.executor.config = ex;
        spec.executor.config.erase("type");
      } else {
        fail(ErrorCode::invalid_file, where, ": 'executor' must be a type name or a mapping");
      }
      static const char* known[] = {"http", "mqtt", "exec", "scene", "log"};
      bool ok = false;
      for (const char* k : known) ok = ok || spec.executor.type == k;
      if (!ok) fail(ErrorCode::invalid_file, where, ": unknown executor type '", spec.executor.type, "' (http, mqtt, exec, scene, log)");
    }
    spec.confirm = a.value("confirm", false);
    spec.reply = str_field(a, "reply", where, false);
    spec.reply_zh = str_field(a, "reply_zh", where, false);
    c.actions_.push_back(std::move(spec));
  }
  // Examples must be valid actions: they teach tier 1 and document the catalog.
  for (const auto& a : c.actions_) {
    for (const auto& e : a.examples) {
      if (!e.is_object() || !e.contains("action")) fail(ErrorCode::invalid_file, "catalog ", origin, " action '", a.name, "': an example needs 'utterance' and 'action'");
      std::string err = c.validate_action(e["action"]);
      if (!err.empty()) fail(ErrorCode::invalid_file, "catalog ", origin, " action '", a.name, "': example is invalid: ", err);
    }
  }
  return c;
}

Catalog Catalog::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorCode::not_found, "catalog file not found or unreadable: ", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path);
}

Catalog Catalog::demo() { return parse(demo_text(), "demo"); }

const ActionSpec* Catalog::find(const std::string& name) const {
  for (const auto& a : actions_) if (a.name == name) return &a;
  return nullptr;
}

const SlotList* Catalog::list(const std::string& name) const {
  auto it = lists_.find(name);
  return it == lists_.end() ? nullptr : &it->second;
}

json Catalog::action_schema(const ActionSpec& a) const {
  json s = a.parameters;
  json props = json::object();
  props["action"] = json{{"const", a.name}};
  for (auto it = a.parameters["properties"].begin(); it != a.parameters["properties"].end(); ++it) props[it.key()] = it.value();
  s["properties"] = props;
  json req = json::array({"action"});
  if (a.parameters.contains("required")) for (const auto& r : a.parameters["required"]) req.push_back(r);
  s["required"] = req;
  s["additionalProperties"] = false;
  s["type"] = "object";
  return s;
}

json Catalog::union_schema() const {
  json one = json::array();
  for (const auto& a : actions_) one.push_back(action_schema(a));
  return json{{"oneOf", one}};
}

std::string Catalog::validate_action(const json& action) const {
  if (!action.is_object()) return "the action must be a JSON object";
  if (!action.contains("action") || !action["action"].is_string()) return "the action object has no \"action\" name";
  const ActionSpec* a = find(action["action"].get<std::string>());
  if (!a) return "unknown action '" + action["action"].get<std::string>() + "'";
  return runtime::grammar::validate_json(action_schema(*a), action);
}

std::string Catalog::render_reply(const json& action, bool zh) const {
  if (!action.is_object() || !action.contains("action")) return "";
  const ActionSpec* a = find(action.value("action", ""));
  if (!a) return "";
  std::string tpl = zh && !a->reply_zh.empty() ? a->reply_zh : a->reply;
  if (tpl.empty()) return "Done: " + a->name + ".";
  std::string out;
  for (size_t i = 0; i < tpl.size();) {
    if (tpl[i] == '{') {
      size_t j = tpl.find('}', i);
      if (j != std::string::npos) {
        std::string key = tpl.substr(i + 1, j - i - 1);
        if (action.contains(key)) {
          std::string v = scalar_text(action[key]);
          bool localized = false;
          if (zh)  // a Chinese phrase for the value from the slot lists ("current_table" -> "表格")
            for (const auto& [name, list] : lists_) {
              for (const auto& sv : list.values)
                if (sv.value == action[key])
                  for (const auto& p : sv.phrases)
                    if (!localized && has_cjk(p)) { v = p; localized = true; }
              if (localized) break;
            }
          if (!localized) for (char& ch : v) if (ch == '_') ch = ' ';
          out += v;
        }
        i = j + 1;
        continue;
      }
    }
    out += tpl[i++];
  }
  // Collapse the double spaces left by missing optional arguments.
  std::string clean;
  for (char ch : out) if (!(ch == ' ' && !clean.empty() && clean.back() == ' ')) clean += ch;
  size_t p;
  while ((p = clean.find(" .")) != std::string::npos) clean.erase(p, 1);
  while ((p = clean.find("the .")) != std::string::npos) clean.replace(p, 5, ".");
  return clean;
}

}  // namespace omni::agent
