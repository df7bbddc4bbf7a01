// JSON Schema -> Grammar compiler; see json_schema.hpp.
#include "runtime/grammar/json_schema.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "omni/error.hpp"

namespace omni::runtime::grammar {

using nlohmann::json;

namespace {

std::string digits(int64_t v) { return std::to_string(v); }

// Decimal integer strings in [lo, hi] (0 <= lo <= hi), as alternatives of digit-set sequences.
void same_length_range(const std::string& a, const std::string& b, std::vector<Expr>& prefix, std::vector<Expr>& out) {
  if (a.empty()) {
    out.push_back(Expr::sequence(prefix));
    return;
  }
  if (a[0] == b[0]) {
    prefix.push_back(Expr::byte_range(a[0], a[0]));
    same_length_range(a.substr(1), b.substr(1), prefix, out);
    prefix.pop_back();
    return;
  }
  const size_t rest = a.size() - 1;
  if (rest == 0) {
    prefix.push_back(Expr::byte_range(a[0], b[0]));
    out.push_back(Expr::sequence(prefix));
    prefix.pop_back();
    return;
  }
  prefix.push_back(Expr::byte_range(a[0], a[0]));
  same_length_range(a.substr(1), std::string(rest, '9'), prefix, out);
  prefix.pop_back();
  if (a[0] + 1 <= b[0] - 1) {
    prefix.push_back(Expr::byte_range(a[0] + 1, b[0] - 1));
    for (size_t k = 0; k < rest; ++k) prefix.push_back(Expr::byte_range('0', '9'));
    out.push_back(Expr::sequence(prefix));
    prefix.resize(prefix.size() - rest - 1);
  }
  prefix.push_back(Expr::byte_range(b[0], b[0]));
  same_length_range(std::string(rest, '0'), b.substr(1), prefix, out);
  prefix.pop_back();
}

void nonneg_range(int64_t lo, int64_t hi, std::vector<Expr>& out) {
  std::string a = digits(lo), b = digits(hi);
  std::vector<Expr> prefix;
  while (a.size() < b.size()) {
    same_length_range(a, std::string(a.size(), '9'), prefix, out);
    a = "1" + std::string(a.size(), '0');
  }
  same_length_range(a, b, prefix, out);
}

Expr integer_range(int64_t lo, int64_t hi) {
  std::vector<Expr> opts;
  if (lo < 0) {
    int64_t nhi = std::min<int64_t>(hi, -1);
    std::vector<Expr> neg;
    nonneg_range(-nhi, -lo, neg);
    opts.push_back(Expr::sequence({Expr::literal("-"), Expr::choice(std::move(neg))}));
  }
  if (hi >= 0) nonneg_range(std::max<int64_t>(lo, 0), hi, opts);
  return Expr::choice(std::move(opts));
}

class Compiler {
 public:
  explicit Compiler(const json& root) : root_(root) {}

  Grammar run() {
    int r = g_.declare("root");
    g_.define(r, value(root_, "#"));
    g_.set_root(r);
    g_.finalize();
    return std::move(g_);
  }

  Grammar& grammar() { return g_; }

  int common(const std::string& name) {
    auto it = common_.find(name);
    if (it != common_.end()) return it->second;
    int r = g_.declare(name);
    common_[name] = r;
    if (name == "ws") g_.define(r, Expr::optional(Expr::literal(" ")));
    else if (name == "char") {
      ByteSet plain;
      for (int c = 0x20; c < 0x80; ++c) if (c != '"' && c != '\\') plain.set(c);
      ByteSet esc;
      for (char c : std::string("\"\\/bfnrt")) esc.set(uint8_t(c));
      ByteSet hexd;
      for (char c : std::string("0123456789abcdefABCDEF")) hexd.set(uint8_t(c));
      ByteSet hex_nod = hexd;
      hex_nod.reset('d'); hex_nod.reset('D');
      ByteSet low8;
      for (char c : std::string("01234567")) low8.set(uint8_t(c));
      ByteSet dD; dD.set('d'); dD.set('D');
      Expr u = Expr::choice({Expr::sequence({Expr::byte_set(hex_nod), Expr::byte_set(hexd), Expr::byte_set(hexd), Expr::byte_set(hexd)}),
                             Expr::sequence({Expr::byte_set(dD), Expr::byte_set(low8), Expr::byte_set(hexd), Expr::byte_set(hexd)})});
      g_.define(r, Expr::choice({Expr::byte_set(plain), Expr::utf8_range(0x80, 0x10FFFF),
                                 Expr::sequence({Expr::literal("\\"), Expr::choice({Expr::byte_set(esc), Expr::sequence({Expr::literal("u"), u})})})}));
    } else if (name == "string") {
      g_.define(r, Expr::sequence({Expr::literal("\""), Expr::rep(Expr::reference(common("char")), 0, -1), Expr::literal("\"")}));
    } else if (name == "integer") {
      g_.define(r, Expr::sequence({Expr::optional(Expr::literal("-")),
                                   Expr::choice({Expr::literal("0"), Expr::sequence({Expr::byte_range('1', '9'), Expr::rep(Expr::byte_range('0', '9'), 0, 15)})})}));
    } else if (name == "number") {
      g_.define(r, Expr::sequence({Expr::reference(common("integer")),
                                   Expr::optional(Expr::sequence({Expr::literal("."), Expr::rep(Expr::byte_range('0', '9'), 1, 15)})),
                                   Expr::optional(Expr::sequence({Expr::byte_set(ByteSet().set('e').set('E')),
                                                                  Expr::optional(Expr::byte_set(ByteSet().set('+').set('-'))),
                                                                  Expr::rep(Expr::byte_range('0', '9'), 1, 2)}))}));
    } else if (name == "boolean") {
      g_.define(r, Expr::choice({Expr::literal("true"), Expr::literal("false")}));
    } else if (name == "null") {
      g_.define(r, Expr::literal("null"));
    } else if (name == "value") {
      int arr = common("array"), obj = common("object");
      g_.define(r, Expr::choice({Expr::reference(obj), Expr::reference(arr), Expr::reference(common("string")),
                                 Expr::reference(common("number")), Expr::reference(common("boolean")), Expr::reference(common("null"))}));
    } else if (name == "array") {
      Expr v = Expr::reference(common("value"));
      Expr sep = Expr::sequence({Expr::literal(","), Expr::reference(common("ws"))});
      g_.define(r, Expr::sequence({Expr::literal("["),
                                   Expr::optional(Expr::sequence({v, Expr::rep(Expr::sequence({sep, v}), 0, -1)})),
                                   Expr::literal("]")}));
    } else if (name == "object") {
      Expr kv = Expr::sequence({Expr::reference(common("string")), Expr::literal(":"), Expr::reference(common("ws")),
                                Expr::reference(common("value"))});
      Expr sep = Expr::sequence({Expr::literal(","), Expr::reference(common("ws"))});
      g_.define(r, Expr::sequence({Expr::literal("{"),
                                   Expr::optional(Expr::sequence({kv, Expr::rep(Expr::sequence({sep, kv}), 0, -1)})),
                                   Expr::literal("}")}));
    } else {
      fail(ErrorCode::internal, "json schema: unknown common rule ", name);
    }
    return r;
  }

  Expr value(const json& s, const std::string& at) {
    if (s.is_boolean()) {
      if (s.get<bool>()) return Expr::reference(common("value"));
      fail(ErrorCode::unsupported, "json schema ", at, ": 'false' allows no value");
    }
    if (!s.is_object()) fail(ErrorCode::invalid_argument, "json schema ", at, ": a schema must be an object or boolean");
    static const std::set<std::string> known = {
        "type", "properties", "required", "additionalProperties", "enum", "const", "oneOf", "anyOf", "allOf", "$ref",
        "$defs", "definitions", "items", "minItems", "maxItems", "minLength", "maxLength", "minimum", "maximum",
        "exclusiveMinimum", "exclusiveMaximum", "pattern", "title", "description", "default", "examples", "$schema",
        "$id", "$comment", "format", "strict", "name", "deprecated", "readOnly", "writeOnly"};
    for (auto it = s.begin(); it != s.end(); ++it)
      if (!known.count(it.key())) fail(ErrorCode::unsupported, "json schema ", at, ": keyword '", it.key(), "' is not supported");
    if (s.contains("format") && s["format"].is_string()) {
      static const std::set<std::string> harmless = {};
      if (!harmless.count(s["format"].get<std::string>()))
        fail(ErrorCode::unsupported, "json schema ", at, ": format '", s["format"].get<std::string>(), "' is not supported");
    }
    if (s.contains("$ref")) return ref(s["$ref"], at);
    if (s.contains("const")) return Expr::literal(s["const"].dump());
    if (s.contains("enum")) {
      if (!s["enum"].is_array() || s["enum"].empty()) fail(ErrorCode::invalid_argument, "json schema ", at, ": 'enum' must be a non-empty list");
      std::vector<Expr> opts;
      for (const auto& v : s["enum"]) {
        if (s.contains("type") && s["type"].is_string() && !matches_type(s["type"].get<std::string>(), v)) continue;
        opts.push_back(Expr::literal(v.dump()));
      }
      if (opts.empty()) fail(ErrorCode::invalid_argument, "json schema ", at, ": no enum value has the declared type");
      return Expr::choice(std::move(opts));
    }
    for (const char* key : {"oneOf", "anyOf"}) {
      if (!s.contains(key)) continue;
      if (!s[key].is_array() || s[key].empty()) fail(ErrorCode::invalid_argument, "json schema ", at, ": '", key, "' must be a non-empty list");
      std::vector<Expr> opts;
      for (size_t k = 0; k < s[key].size(); ++k) {
        json sub = s[key][k];
        if (sub.is_object() && s.contains("type") && !sub.contains("type") && !sub.contains("$ref") && !sub.contains("enum") && !sub.contains("const"))
          sub["type"] = s["type"];
        opts.push_back(value(sub, at + "/" + key + "/" + std::to_string(k)));
      }
      return Expr::choice(std::move(opts));
    }
    if (s.contains("allOf")) {
      if (!s["allOf"].is_array() || s["allOf"].size() != 1)
        fail(ErrorCode::unsupported, "json schema ", at, ": 'allOf' is supported with exactly one member");
      return value(s["allOf"][0], at + "/allOf/0");
    }
    std::vector<std::string> types;
    if (s.contains("type")) {
      if (s["type"].is_string()) types.push_back(s["type"].get<std::string>());
      else if (s["type"].is_array()) for (const auto& t : s["type"]) types.push_back(t.get<std::string>());
      else fail(ErrorCode::invalid_argument, "json schema ", at, ": 'type' must be a string or list");
    } else if (s.contains("properties") || s.contains("additionalProperties") || s.contains("required")) {
      types.push_back("object");
    } else if (s.contains("items") || s.contains("minItems") || s.contains("maxItems")) {
      types.push_back("array");
    } else if (s.contains("minLength") || s.contains("maxLength") || s.contains("pattern")) {
      types.push_back("string");
    } else if (s.contains("minimum") || s.contains("maximum")) {
      types.push_back("number");
    } else {
      return Expr::reference(common("value"));
    }
    std::vector<Expr> opts;
    for (const auto& t : types) opts.push_back(typed(t, s, at));
    return Expr::choice(std::move(opts));
  }

 private:
  static bool matches_type(const std::string& t, const json& v) {
    if (t == "string") return v.is_string();
    if (t == "integer") return v.is_number_integer();
    if (t == "number") return v.is_number();
    if (t == "boolean") return v.is_boolean();
    if (t == "null") return v.is_null();
    if (t == "object") return v.is_object();
    if (t == "array") return v.is_array();
    return false;
  }

  Expr ref(const json& r, const std::string& at) {
    if (!r.is_string()) fail(ErrorCode::invalid_argument, "json schema ", at, ": '$ref' must be a string");
    std::string p = r.get<std::string>();
    if (p.empty() || p[0] != '#') fail(ErrorCode::unsupported, "json schema ", at, ": only local '$ref' (#/...) is supported, got '", p, "'");
    auto it = refs_.find(p);
    if (it != refs_.end()) return Expr::reference(it->second);
    json::json_pointer ptr;
    try {
      ptr = json::json_pointer(p.substr(1));
    } catch (const std::exception&) {
      fail(ErrorCode::invalid_argument, "json schema ", at, ": bad '$ref' '", p, "'");
    }
    if (!root_.contains(ptr)) fail(ErrorCode::invalid_argument, "json schema ", at, ": '$ref' '", p, "' does not resolve");
    int rule = g_.declare("ref" + std::to_string(refs_.size()));
    refs_[p] = rule;
    g_.define(rule, value(root_.at(ptr), p));
    return Expr::reference(rule);
  }

  Expr typed(const std::string& t, const json& s, const std::string& at) {
    if (t == "null") return Expr::reference(common("null"));
    if (t == "boolean") return Expr::reference(common("boolean"));
    if (t == "string") return string_expr(s, at);
    if (t == "integer") {
      bool has_min = s.contains("minimum") || s.contains("exclusiveMinimum");
      bool has_max = s.contains("maximum") || s.contains("exclusiveMaximum");
      if (!has_min && !has_max) return Expr::reference(common("integer"));
      auto num = [&](const char* key) -> double {
        if (!s[key].is_number()) fail(ErrorCode::unsupported, "json schema ", at, ": '", key, "' must be a number");
        return s[key].get<double>();
      };
      const int64_t big = 999999999999999LL;
      int64_t lo = -big, hi = big;
      if (s.contains("minimum")) lo = int64_t(std::ceil(num("minimum")));
      if (s.contains("exclusiveMinimum")) lo = std::max(lo, int64_t(std::floor(num("exclusiveMinimum"))) + 1);
      if (s.contains("maximum")) hi = int64_t(std::floor(num("maximum")));
      if (s.contains("exclusiveMaximum")) hi = std::min(hi, int64_t(std::ceil(num("exclusiveMaximum"))) - 1);
      if (lo < -big || hi > big) fail(ErrorCode::unsupported, "json schema ", at, ": integer bounds beyond 15 digits");
      if (lo > hi) fail(ErrorCode::invalid_argument, "json schema ", at, ": minimum is above maximum");
      return integer_range(lo, hi);
    }
    if (t == "number") {
      for (const char* k : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
        if (s.contains(k)) fail(ErrorCode::unsupported, "json schema ", at, ": '", k, "' is supported for integers only");
      return Expr::reference(common("number"));
    }
    if (t == "array") return array_expr(s, at);
    if (t == "object") return object_expr(s, at);
    fail(ErrorCode::unsupported, "json schema ", at, ": unknown type '", t, "'");
  }

  Expr string_expr(const json& s, const std::string& at) {
    if (s.contains("pattern")) {
      if (s.contains("minLength") || s.contains("maxLength"))
        fail(ErrorCode::unsupported, "json schema ", at, ": 'pattern' together with a length limit is not supported");
      return Expr::sequence({Expr::literal("\""), pattern_expr(s["pattern"], at), Expr::literal("\"")});
    }
    int mn = s.value("minLength", 0), mx = s.contains("maxLength") ? s["maxLength"].get<int>() : -1;
    if (mn < 0 || (mx >= 0 && mx < mn)) fail(ErrorCode::invalid_argument, "json schema ", at, ": bad minLength/maxLength");
    if (mn > 10000 || mx > 10000) fail(ErrorCode::unsupported, "json schema ", at, ": string length limits above 10000");
    if (mn == 0 && mx < 0) return Expr::reference(common("string"));
    return Expr::sequence({Expr::literal("\""), Expr::rep(Expr::reference(common("char")), mn, mx), Expr::literal("\"")});
  }

  Expr array_expr(const json& s, const std::string& at) {
    Expr item = s.contains("items") ? value(s["items"], at + "/items") : Expr::reference(common("value"));
    int item_rule = g_.declare("item" + std::to_string(n_items_++));
    g_.define(item_rule, std::move(item));
    Expr it = Expr::reference(item_rule);
    int mn = s.value("minItems", 0), mx = s.contains("maxItems") ? s["maxItems"].get<int>() : -1;
    if (mn < 0 || (mx >= 0 && mx < mn)) fail(ErrorCode::invalid_argument, "json schema ", at, ": bad minItems/maxItems");
    if (mn > 1000 || mx > 1000) fail(ErrorCode::unsupported, "json schema ", at, ": item limits above 1000");
    Expr sep_item = Expr::sequence({Expr::literal(","), Expr::reference(common("ws")), it});
    Expr body;
    if (mx == 0) {
      body = Expr::empty();
    } else {
      Expr non_empty = Expr::sequence({it, Expr::rep(sep_item, std::max(0, mn - 1), mx < 0 ? -1 : mx - 1)});
      body = mn == 0 ? Expr::optional(std::move(non_empty)) : std::move(non_empty);
    }
    return Expr::sequence({Expr::literal("["), std::move(body), Expr::literal("]")});
  }

  Expr object_expr(const json& s, const std::string& at) {
    const json props = s.value("properties", json::object());
    if (!props.is_object()) fail(ErrorCode::invalid_argument, "json schema ", at, ": 'properties' must be an object");
    std::set<std::string> required;
    if (s.contains("required")) for (const auto& r : s["required"]) required.insert(r.get<std::string>());
    for (const auto& r : required)
      if (!props.contains(r)) fail(ErrorCode::unsupported, "json schema ", at, ": required property '", r, "' has no schema in 'properties'");
    if (s.contains("additionalProperties") && !(s["additionalProperties"].is_boolean() && !s["additionalProperties"].get<bool>())) {
      if (!props.empty()) fail(ErrorCode::unsupported, "json schema ", at, ": additionalProperties together with properties is not supported");
      Expr v = value(s["additionalProperties"], at + "/additionalProperties");
      int vr = g_.declare("mapval" + std::to_string(n_items_++));
      g_.define(vr, std::move(v));
      Expr kv = Expr::sequence({Expr::reference(common("string")), Expr::literal(":"), Expr::reference(common("ws")), Expr::reference(vr)});
      Expr sep = Expr::sequence({Expr::literal(","), Expr::reference(common("ws"))});
      return Expr::sequence({Expr::literal("{"), Expr::optional(Expr::sequence({kv, Expr::rep(Expr::sequence({sep, kv}), 0, -1)})), Expr::literal("}")});
    }
    // Properties in schema order; optional ones may be skipped. rest(i, first): what may follow.
    // Order: discriminators (a "const" value) first, then required, then optional properties,
    // each group by name (nlohmann::json keeps keys sorted, so the schema's own order is lost).
    std::vector<std::string> order;
    for (int group = 0; group < 3; ++group)
      for (auto it = props.begin(); it != props.end(); ++it) {
        int gk = it.value().is_object() && it.value().contains("const") ? 0 : required.count(it.key()) ? 1 : 2;
        if (gk == group) order.push_back(it.key());
      }
    std::vector<std::pair<std::string, Expr>> kvs;
    for (const auto& key : order) {
      Expr v = value(props[key], at + "/properties/" + key);
      kvs.emplace_back(key, Expr::sequence({Expr::literal(json(key).dump()), Expr::literal(":"), Expr::reference(common("ws")), std::move(v)}));
    }
    const int n = int(kvs.size());
    const int id = n_objects_++;
    std::vector<int> rest_first(n + 1), rest_after(n + 1);
    for (int i = 0; i <= n; ++i) {
      rest_first[i] = g_.declare("obj" + std::to_string(id) + "-first" + std::to_string(i));
      rest_after[i] = g_.declare("obj" + std::to_string(id) + "-after" + std::to_string(i));
    }
    for (int i = n; i >= 0; --i) {
      if (i == n) {
        g_.define(rest_first[i], Expr::empty());
        g_.define(rest_after[i], Expr::empty());
        continue;
      }
      bool req = required.count(kvs[i].first) > 0;
      std::vector<Expr> first_opts{Expr::sequence({kvs[i].second, Expr::reference(rest_after[i + 1])})};
      std::vector<Expr> after_opts{Expr::sequence({Expr::literal(","), Expr::reference(common("ws")), kvs[i].second, Expr::reference(rest_after[i + 1])})};
      if (!req) {
        first_opts.push_back(Expr::reference(rest_first[i + 1]));
        after_opts.push_back(Expr::reference(rest_after[i + 1]));
      }
      g_.define(rest_first[i], Expr::choice(std::move(first_opts)));
      g_.define(rest_after[i], Expr::choice(std::move(after_opts)));
    }
    return Expr::sequence({Expr::literal("{"), Expr::reference(rest_first[0]), Expr::literal("}")});
  }

  // ---- simple anchored regular expressions over string content ----
  struct Re {
    const std::string& p;
    size_t i;
    const std::string& at;
    Compiler* c;
    [[noreturn]] void bad(const std::string& why) { fail(ErrorCode::unsupported, "json schema ", at, ": pattern ", json(p).dump(), ": ", why); }
    static ByteSet allowed() {  // characters a pattern may produce unescaped inside a JSON string
      ByteSet b;
      for (int x = 0x20; x < 0x7F; ++x) if (x != '"' && x != '\\') b.set(x);
      return b;
    }
    Expr set_expr(ByteSet s, bool with_unicode) {
      s &= allowed();
      if (s.none() && !with_unicode) bad("a character class that no string character can satisfy");
      if (!with_unicode) return Expr::byte_set(s);
      std::vector<Expr> o;
      if (s.any()) o.push_back(Expr::byte_set(s));
      o.push_back(Expr::utf8_range(0x80, 0x10FFFF));
      return Expr::choice(std::move(o));
    }
    ByteSet class_escape(char e, bool* ok) {
      ByteSet b;
      *ok = true;
      if (e == 'd') for (int x = '0'; x <= '9'; ++x) b.set(x);
      else if (e == 'w') { for (int x = '0'; x <= '9'; ++x) b.set(x); for (int x = 'a'; x <= 'z'; ++x) b.set(x); for (int x = 'A'; x <= 'Z'; ++x) b.set(x); b.set('_'); }
      else if (e == 's') b.set(' ');
      else *ok = false;
      return b;
    }
    Expr atom() {
      char ch = p[i];
      if (ch == '(') {
        ++i;
        if (p.compare(i, 2, "?:") == 0) i += 2;
        Expr e = alternatives();
        if (i >= p.size() || p[i] != ')') bad("missing ')'");
        ++i;
        return e;
      }
      if (ch == '.') { ++i; return set_expr(allowed(), true); }
      if (ch == '[') {
        ++i;
        bool neg = i < p.size() && p[i] == '^';
        if (neg) ++i;
        ByteSet b;
        bool first = true;
        while (i < p.size() && (p[i] != ']' || first)) {
          first = false;
          char x = p[i++];
          if (x == '\\' && i < p.size()) {
            bool ok;
            ByteSet cls = class_escape(p[i], &ok);
            if (ok) { b |= cls; ++i; continue; }
            x = p[i++];
          }
          if (static_cast<unsigned char>(x) >= 0x80) bad("non-ASCII characters in classes are not supported");
          if (i + 1 < p.size() && p[i] == '-' && p[i + 1] != ']') {
            char y = p[i + 1];
            i += 2;
            if (y < x) bad("range out of order");
            for (int z = x; z <= y; ++z) b.set(uint8_t(z));
          } else {
            b.set(uint8_t(x));
          }
        }
        if (i >= p.size()) bad("missing ']'");
        ++i;
        if (neg) return set_expr(~b, true);
        return set_expr(b, false);
      }
      if (ch == '\\') {
        if (i + 1 >= p.size()) bad("trailing backslash");
        char e = p[i + 1];
        i += 2;
        bool ok;
        ByteSet cls = class_escape(e, &ok);
        if (ok) return set_expr(cls, false);
        if (std::isalnum(static_cast<unsigned char>(e))) bad(std::string("escape \\") + e + " is not supported");
        ByteSet one;
        one.set(uint8_t(e));
        return set_expr(one, false);
      }
      if (ch == '^' || ch == '$') bad("anchors are only allowed at the ends");
      if (std::string("*+?{|)").find(ch) != std::string::npos) bad(std::string("unexpected '") + ch + "'");
      // a literal character (UTF-8 sequences pass through byte by byte)
      unsigned char u = ch;
      int len = u < 0x80 ? 1 : (u >> 5) == 6 ? 2 : (u >> 4) == 14 ? 3 : 4;
      std::string lit = p.substr(i, len);
      i += len;
      if (len == 1) {
        ByteSet one;
        one.set(u);
        return set_expr(one, false);
      }
      return Expr::literal(lit);
    }
    Expr piece() {
      Expr a = atom();
      while (i < p.size() && std::string("*+?{").find(p[i]) != std::string::npos) {
        char q = p[i++];
        if (q == '*') a = Expr::rep(std::move(a), 0, -1);
        else if (q == '+') a = Expr::rep(std::move(a), 1, -1);
        else if (q == '?') a = Expr::rep(std::move(a), 0, 1);
        else {
          size_t close = p.find('}', i);
          if (close == std::string::npos) bad("missing '}'");
          std::string body = p.substr(i, close - i);
          i = close + 1;
          int mn = 0, mx = 0;
          try {
            size_t comma = body.find(',');
            mn = std::stoi(body.substr(0, comma));
            mx = comma == std::string::npos ? mn : (comma + 1 == body.size() ? -1 : std::stoi(body.substr(comma + 1)));
          } catch (...) {
            bad("bad {m,n}");
          }
          if (mn < 0 || mn > 1000 || mx > 1000 || (mx >= 0 && mx < mn)) bad("bad {m,n}");
          a = Expr::rep(std::move(a), mn, mx);
        }
      }
      return a;
    }
    Expr sequence() {
      std::vector<Expr> parts;
      while (i < p.size() && p[i] != '|' && p[i] != ')' && !(p[i] == '$' && i + 1 == p.size())) parts.push_back(piece());
      return Expr::sequence(std::move(parts));
    }
    Expr alternatives() {
      std::vector<Expr> o{sequence()};
      while (i < p.size() && p[i] == '|') {
        ++i;
        o.push_back(sequence());
      }
      return Expr::choice(std::move(o));
    }
  };

  Expr pattern_expr(const json& pat, const std::string& at) {
    if (!pat.is_string()) fail(ErrorCode::invalid_argument, "json schema ", at, ": 'pattern' must be a string");
    const std::string p = pat.get<std::string>();
    if (p.size() < 2 || p.front() != '^' || p.back() != '$' || (p.size() >= 3 && p[p.size() - 2] == '\\'))
      fail(ErrorCode::unsupported, "json schema ", at, ": only patterns anchored with ^...$ are supported, got ", pat.dump());
    Re re{p, 1, at, this};
    Expr e = re.alternatives();
    if (re.i != p.size() - 1) re.bad("unexpected ')'");
    return e;
  }

  const json& root_;
  Grammar g_;
  std::map<std::string, int> common_;
  std::map<std::string, int> refs_;
  int n_items_ = 0, n_objects_ = 0;
};

}  // namespace

Grammar compile_json_schema(const json& schema) {
  Compiler c(schema);
  return c.run();
}

Grammar any_json_grammar(bool container_only) {
  Compiler c(json::object());
  Grammar& g = c.grammar();
  int r = g.declare("root");
  if (container_only) g.define(r, Expr::choice({Expr::reference(c.common("object")), Expr::reference(c.common("array"))}));
  else g.define(r, Expr::reference(c.common("value")));
  g.set_root(r);
  g.finalize();
  return std::move(g);
}

}  // namespace omni::runtime::grammar
