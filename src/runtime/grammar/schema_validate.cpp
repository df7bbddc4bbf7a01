// JSON Schema validation (the supported subset); see schema_validate.hpp.
#include "runtime/grammar/schema_validate.hpp"

#include <cmath>
#include <regex>

#include "omni/error.hpp"

namespace omni::runtime::grammar {

using nlohmann::json;

size_t utf8_length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

namespace {

const json& resolve_ref(const json& schema, const json& root) {
  const std::string ref = schema.at("$ref").get<std::string>();
  if (ref.rfind("#", 0) != 0) fail(ErrorCode::unsupported, "schema: only local $ref are supported, got '", ref, "'");
  const json* node = &root;
  json::json_pointer ptr(ref.substr(1));
  if (!root.contains(ptr)) fail(ErrorCode::invalid_argument, "schema: $ref '", ref, "' does not resolve");
  node = &root.at(ptr);
  return *node;
}

bool type_matches(const std::string& type, const json& v) {
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_boolean();
  if (type == "null") return v.is_null();
  if (type == "integer") return v.is_number_integer() || (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>());
  if (type == "number") return v.is_number();
  return false;
}

std::string check(const json& s, const json& v, const json& root, const std::string& at, int depth) {
  if (depth > 64) return at + ": schema nesting too deep";
  if (s.is_boolean()) return s.get<bool>() ? "" : at + ": no value allowed";
  if (!s.is_object()) return at + ": schema is not an object";
  if (s.contains("$ref")) return check(resolve_ref(s, root), v, root, at, depth + 1);
  const std::string where = at.empty() ? "/" : at;
  if (s.contains("type")) {
    const json& t = s["type"];
    bool ok = false;
    if (t.is_string()) ok = type_matches(t.get<std::string>(), v);
    else if (t.is_array()) for (const auto& x : t) ok = ok || (x.is_string() && type_matches(x.get<std::string>(), v));
    if (!ok) return where + ": expected type " + t.dump() + ", got " + v.dump();
  }
  if (s.contains("const") && s["const"] != v) return where + ": must be " + s["const"].dump();
  if (s.contains("enum")) {
    bool found = false;
    for (const auto& e : s["enum"]) found = found || e == v;
    if (!found) return where + ": " + v.dump() + " is not one of " + s["enum"].dump();
  }
  if (s.contains("oneOf")) {
    int n_ok = 0;
    std::string first;
    for (const auto& sub : s["oneOf"]) {
      std::string e = check(sub, v, root, at, depth + 1);
      if (e.empty()) ++n_ok; else if (first.empty()) first = e;
    }
    if (n_ok != 1) return n_ok == 0 ? where + ": matches none of oneOf (" + first + ")" : where + ": matches several of oneOf";
  }
  if (s.contains("anyOf")) {
    bool any = false;
    std::string first;
    for (const auto& sub : s["anyOf"]) {
      std::string e = check(sub, v, root, at, depth + 1);
      if (e.empty()) { any = true; break; }
      if (first.empty()) first = e;
    }
    if (!any) return where + ": matches none of anyOf (" + first + ")";
  }
  if (s.contains("allOf")) for (const auto& sub : s["allOf"]) {
    std::string e = check(sub, v, root, at, depth + 1);
    if (!e.empty()) return e;
  }
  if (v.is_string()) {
    const std::string& str = v.get_ref<const std::string&>();
    size_t len = utf8_length(str);
    if (s.contains("minLength") && len < s["minLength"].get<size_t>()) return where + ": shorter than minLength";
    if (s.contains("maxLength") && len > s["maxLength"].get<size_t>()) return where + ": longer than maxLength";
    if (s.contains("pattern")) {
      try {
        std::regex re(s["pattern"].get<std::string>(), std::regex::ECMAScript);
        if (!std::regex_search(str, re)) return where + ": does not match pattern " + s["pattern"].dump();
      } catch (const std::regex_error&) {
        return where + ": invalid pattern " + s["pattern"].dump();
      }
    }
  }
  if (v.is_number()) {
    double x = v.get<double>();
    if (s.contains("minimum") && x < s["minimum"].get<double>()) return where + ": below minimum " + s["minimum"].dump();
    if (s.contains("maximum") && x > s["maximum"].get<double>()) return where + ": above maximum " + s["maximum"].dump();
    if (s.contains("exclusiveMinimum") && s["exclusiveMinimum"].is_number() && x <= s["exclusiveMinimum"].get<double>()) return where + ": not above exclusiveMinimum";
    if (s.contains("exclusiveMaximum") && s["exclusiveMaximum"].is_number() && x >= s["exclusiveMaximum"].get<double>()) return where + ": not below exclusiveMaximum";
  }
  if (v.is_array()) {
    if (s.contains("minItems") && v.size() < s["minItems"].get<size_t>()) return where + ": fewer than minItems";
    if (s.contains("maxItems") && v.size() > s["maxItems"].get<size_t>()) return where + ": more than maxItems";
    if (s.contains("items")) {
      for (size_t i = 0; i < v.size(); ++i) {
        std::string e = check(s["items"], v[i], root, at + "/" + std::to_string(i), depth + 1);
        if (!e.empty()) return e;
      }
    }
  }
  if (v.is_object()) {
    const json empty = json::object();
    const json& props = s.contains("properties") ? s["properties"] : empty;
    if (s.contains("required")) for (const auto& r : s["required"]) {
      if (!v.contains(r.get<std::string>())) return where + ": missing required property '" + r.get<std::string>() + "'";
    }
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (props.contains(it.key())) {
        std::string e = check(props[it.key()], it.value(), root, at + "/" + it.key(), depth + 1);
        if (!e.empty()) return e;
      } else if (s.contains("additionalProperties")) {
        const json& ap = s["additionalProperties"];
        if (ap.is_boolean() && !ap.get<bool>()) return where + ": property '" + it.key() + "' is not allowed";
        if (ap.is_object()) {
          std::string e = check(ap, it.value(), root, at + "/" + it.key(), depth + 1);
          if (!e.empty()) return e;
        }
      }
    }
  }
  return "";
}

}  // namespace

std::string validate_json(const json& schema, const json& value, const json* root) {
  return check(schema, value, root ? *root : schema, "", 0);
}

}  // namespace omni::runtime::grammar
