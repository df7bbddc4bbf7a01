// Grammar expressions, lowering to flat rules, checks (left recursion, minimum lengths) and the
// GBNF parser; see grammar.hpp.
#include "runtime/grammar/grammar.hpp"

#include <algorithm>
#include <functional>
#include <limits>
#include <sstream>

#include "omni/error.hpp"

namespace omni::runtime::grammar {

namespace {
constexpr uint32_t k_inf = std::numeric_limits<uint32_t>::max() / 4;
uint32_t sat_add(uint32_t a, uint32_t b) { return std::min<uint64_t>(uint64_t(a) + b, k_inf); }

std::string encode_utf8(uint32_t cp) {
  std::string s;
  if (cp < 0x80) s += char(cp);
  else if (cp < 0x800) { s += char(0xC0 | (cp >> 6)); s += char(0x80 | (cp & 0x3F)); }
  else if (cp < 0x10000) { s += char(0xE0 | (cp >> 12)); s += char(0x80 | ((cp >> 6) & 0x3F)); s += char(0x80 | (cp & 0x3F)); }
  else { s += char(0xF0 | (cp >> 18)); s += char(0x80 | ((cp >> 12) & 0x3F)); s += char(0x80 | ((cp >> 6) & 0x3F)); s += char(0x80 | (cp & 0x3F)); }
  return s;
}

// Splits [lo, hi] (same UTF-8 length, no surrogates) into pieces whose bytes vary independently.
void utf8_pieces(uint32_t lo, uint32_t hi, std::vector<Expr>& out) {
  static const uint32_t bounds[] = {0x7F, 0x7FF, 0xFFFF, 0x10FFFF};
  for (uint32_t b : bounds) {
    if (lo <= b && hi > b) {
      utf8_pieces(lo, b, out);
      utf8_pieces(b + 1, hi, out);
      return;
    }
  }
  if (hi < 0x80) {
    out.push_back(Expr::byte_range(uint8_t(lo), uint8_t(hi)));
    return;
  }
  const int n = hi < 0x800 ? 2 : hi < 0x10000 ? 3 : 4;
  for (int i = 1; i < n; ++i) {
    uint32_t m = (1u << (6 * i)) - 1;
    if ((lo & ~m) != (hi & ~m)) {
      if ((lo & m) != 0) {
        utf8_pieces(lo, lo | m, out);
        utf8_pieces((lo | m) + 1, hi, out);
        return;
      }
      if ((hi & m) != m) {
        utf8_pieces(lo, (hi & ~m) - 1, out);
        utf8_pieces(hi & ~m, hi, out);
        return;
      }
    }
  }
  std::string a = encode_utf8(lo), b = encode_utf8(hi);
  std::vector<Expr> parts;
  for (size_t k = 0; k < a.size(); ++k) parts.push_back(Expr::byte_range(uint8_t(a[k]), uint8_t(b[k])));
  out.push_back(Expr::sequence(std::move(parts)));
}
}  // namespace

Expr Expr::byte_set(const ByteSet& s) {
  Expr e;
  e.kind = bytes;
  e.set = s;
  return e;
}
Expr Expr::byte_range(uint8_t lo, uint8_t hi) {
  ByteSet s;
  for (int c = lo; c <= hi; ++c) s.set(c);
  return byte_set(s);
}
Expr Expr::literal(const std::string& text) {
  std::vector<Expr> parts;
  for (unsigned char c : text) parts.push_back(byte_range(c, c));
  return sequence(std::move(parts));
}
Expr Expr::sequence(std::vector<Expr> parts) {
  if (parts.size() == 1) return std::move(parts[0]);
  Expr e;
  e.kind = seq;
  e.kids = std::move(parts);
  return e;
}
Expr Expr::choice(std::vector<Expr> options) {
  if (options.size() == 1) return std::move(options[0]);
  Expr e;
  e.kind = alt;
  e.kids = std::move(options);
  return e;
}
Expr Expr::reference(int r) {
  Expr e;
  e.kind = ref;
  e.rule = r;
  return e;
}
Expr Expr::rep(Expr x, int mn, int mx) {
  Expr e;
  e.kind = repeat;
  e.kids.push_back(std::move(x));
  e.min = mn;
  e.max = mx;
  return e;
}
Expr Expr::utf8_range(uint32_t lo, uint32_t hi) {
  std::vector<Expr> out;
  hi = std::min<uint32_t>(hi, 0x10FFFF);
  if (lo <= 0xD7FF) utf8_pieces(lo, std::min<uint32_t>(hi, 0xD7FF), out);
  if (hi >= 0xE000) utf8_pieces(std::max<uint32_t>(lo, 0xE000), hi, out);
  return choice(std::move(out));
}

int Grammar::declare(const std::string& name) {
  auto it = by_name_.find(name);
  if (it != by_name_.end()) return it->second;
  int id = int(names_.size());
  names_.push_back(name);
  by_name_[name] = id;
  bodies_.push_back(nullptr);
  return id;
}

void Grammar::define(int rule, Expr body) {
  if (rule < 0 || size_t(rule) >= names_.size()) fail(ErrorCode::internal, "grammar: define of an undeclared rule");
  if (bodies_[rule]) fail(ErrorCode::invalid_argument, "grammar: rule '", names_[rule], "' is defined twice");
  bodies_[rule] = std::make_shared<Expr>(std::move(body));
}

int Grammar::new_helper_rule(const std::string& base) {
  std::string name = base;
  for (int k = 1; by_name_.count(name); ++k) name = base + "-" + std::to_string(k);
  return declare(name);
}

uint32_t Grammar::set_index(const ByteSet& s) {
  std::string key = s.to_string();
  auto it = set_ids_.find(key);
  if (it != set_ids_.end()) return it->second;
  uint32_t id = uint32_t(sets_.size());
  sets_.push_back(s);
  set_ids_[key] = id;
  return id;
}

void Grammar::lower_alternatives(const Expr& e, std::vector<std::vector<Element>>& alts, const std::string& base) {
  if (e.kind == Expr::alt) {
    for (const auto& k : e.kids) {
      alts.emplace_back();
      lower_sequence(k, alts.back(), base);
    }
  } else {
    alts.emplace_back();
    lower_sequence(e, alts.back(), base);
  }
}

void Grammar::lower_sequence(const Expr& e, std::vector<Element>& out, const std::string& base) {
  switch (e.kind) {
    case Expr::seq:
      for (const auto& k : e.kids) lower_sequence(k, out, base);
      break;
    case Expr::bytes:
      if (e.set.none()) fail(ErrorCode::invalid_argument, "grammar: rule '", base, "' has an empty character set");
      out.push_back({Element::k_set, set_index(e.set)});
      break;
    case Expr::ref:
      if (e.rule < 0 || size_t(e.rule) >= names_.size()) fail(ErrorCode::internal, "grammar: bad rule reference");
      out.push_back({Element::k_ref, uint32_t(e.rule)});
      break;
    case Expr::alt: {
      int h = new_helper_rule(base + "-alt");
      bodies_[h] = std::make_shared<Expr>(e);
      out.push_back({Element::k_ref, uint32_t(h)});
      break;
    }
    case Expr::repeat: {
      const Expr& x = e.kids[0];
      if (e.max >= 0 && e.max < e.min) fail(ErrorCode::invalid_argument, "grammar: rule '", base, "' has a repetition with max < min");
      Expr item = x;
      bool single = x.kind == Expr::bytes || x.kind == Expr::ref;
      if (!single && (e.min > 1 || e.max != e.min)) {
        int xr = new_helper_rule(base + "-item");
        bodies_[xr] = std::make_shared<Expr>(x);
        item = Expr::reference(xr);
      }
      for (int i = 0; i < e.min; ++i) lower_sequence(item, out, base);
      if (e.max < 0) {
        int r = new_helper_rule(base + "-star");
        bodies_[r] = std::make_shared<Expr>(Expr::choice({Expr::sequence({item, Expr::reference(r)}), Expr::empty()}));
        out.push_back({Element::k_ref, uint32_t(r)});
      } else if (e.max > e.min) {
        int prev = -1;
        for (int k = 1; k <= e.max - e.min; ++k) {
          int r = new_helper_rule(base + "-opt");
          Expr body = prev < 0 ? Expr::choice({item, Expr::empty()})
                               : Expr::choice({Expr::sequence({item, Expr::reference(prev)}), Expr::empty()});
          bodies_[r] = std::make_shared<Expr>(std::move(body));
          prev = r;
        }
        out.push_back({Element::k_ref, uint32_t(prev)});
      }
      break;
    }
  }
}

void Grammar::finalize() {
  if (finalized_) return;
  if (names_.empty()) fail(ErrorCode::invalid_argument, "grammar: no rules");
  lowered_.clear();
  for (size_t r = 0; r < names_.size(); ++r) {  // names_ grows while helpers are added
    if (!bodies_[r]) fail(ErrorCode::invalid_argument, "grammar: rule '", names_[r], "' is used but never defined");
    std::vector<std::vector<Element>> alts;
    Expr body = *bodies_[r];
    const std::string name = names_[r];  // names_ grows (and moves) while helpers are added
    lower_alternatives(body, alts, name);
    lowered_.push_back(std::move(alts));
  }
  const size_t n = names_.size();
  // Flatten.
  elems_.clear();
  rule_start_.assign(n, 0);
  for (size_t r = 0; r < n; ++r) {
    rule_start_[r] = uint32_t(elems_.size());
    for (size_t a = 0; a < lowered_[r].size(); ++a) {
      for (const auto& el : lowered_[r][a]) elems_.push_back(el);
      elems_.push_back({a + 1 < lowered_[r].size() ? Element::k_alt : Element::k_end, 0});
    }
  }
  // Minimum lengths (fixed point) and nullable rules.
  std::vector<uint32_t> min_len(n, k_inf);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t r = 0; r < n; ++r)
      for (const auto& alt : lowered_[r]) {
        uint32_t len = 0;
        for (const auto& el : alt) len = sat_add(len, el.type == Element::k_set ? 1 : min_len[el.value]);
        if (len < min_len[r]) { min_len[r] = len; changed = true; }
      }
  }
  min_from_.assign(elems_.size(), 0);
  for (size_t r = 0; r < n; ++r) {
    size_t pos = rule_start_[r];
    for (const auto& alt : lowered_[r]) {
      uint32_t acc = 0;
      min_from_[pos + alt.size()] = 0;
      for (size_t k = alt.size(); k-- > 0;) {
        acc = sat_add(acc, alt[k].type == Element::k_set ? 1 : min_len[alt[k].value]);
        min_from_[pos + k] = acc;
      }
      pos += alt.size() + 1;
    }
  }
  if (min_len[root_] >= k_inf) fail(ErrorCode::invalid_argument, "grammar: the root rule '", names_[root_], "' can never finish");
  // Left recursion: a rule reachable from itself without consuming a byte.
  std::vector<std::vector<int>> first_refs(n);
  for (size_t r = 0; r < n; ++r)
    for (const auto& alt : lowered_[r])
      for (const auto& el : alt) {
        if (el.type == Element::k_set) break;
        first_refs[r].push_back(int(el.value));
        if (min_len[el.value] != 0) break;
      }
  std::vector<int> color(n, 0);
  std::function<void(int)> visit = [&](int r) {
    color[r] = 1;
    for (int s : first_refs[r]) {
      if (color[s] == 1) fail(ErrorCode::invalid_argument, "grammar: rule '", names_[s], "' is left-recursive");
      if (color[s] == 0) visit(s);
    }
    color[r] = 2;
  };
  for (size_t r = 0; r < n; ++r) if (!color[r]) visit(int(r));
  finalized_ = true;
}

std::string Grammar::to_gbnf() const {
  std::ostringstream os;
  auto set_text = [&](const ByteSet& s) {
    std::string t = "[";
    for (int c = 0; c < 256; ++c) {
      if (!s.test(c)) continue;
      int d = c;
      while (d + 1 < 256 && s.test(d + 1)) ++d;
      auto one = [](int x) {
        char buf[8];
        if (x >= 0x21 && x < 0x7F && x != '\\' && x != ']' && x != '-' && x != '^') return std::string(1, char(x));
        snprintf(buf, sizeof buf, "\\x%02X", x);
        return std::string(buf);
      };
      t += one(c);
      if (d > c) t += "-" + one(d);
      c = d;
    }
    return t + "]";
  };
  for (size_t r = 0; r < lowered_.size(); ++r) {
    os << names_[r] << " ::=";
    for (size_t a = 0; a < lowered_[r].size(); ++a) {
      if (a) os << " |";
      for (const auto& el : lowered_[r][a]) os << " " << (el.type == Element::k_set ? set_text(sets_[el.value]) : names_[el.value]);
      if (lowered_[r][a].empty()) os << " \"\"";
    }
    os << "\n";
  }
  return os.str();
}

// ---- GBNF ----
namespace {

struct GbnfParser {
  const std::string& s;
  Grammar& g;
  size_t i = 0;

  [[noreturn]] void error(const std::string& what) {
    int line = 1 + int(std::count(s.begin(), s.begin() + std::min(i, s.size()), '\n'));
    fail(ErrorCode::invalid_argument, "GBNF line ", line, ": ", what);
  }
  void skip(bool newlines) {
    while (i < s.size()) {
      if (s[i] == '#') { while (i < s.size() && s[i] != '\n') ++i; }
      else if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || (newlines && s[i] == '\n')) ++i;
      else break;
    }
  }
  static bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; }
  std::string name() {
    size_t b = i;
    while (i < s.size() && name_char(s[i])) ++i;
    if (b == i) error("expected a rule name");
    return s.substr(b, i - b);
  }
  bool at_rule_start() {
    size_t j = i;
    while (j < s.size() && name_char(s[j])) ++j;
    if (j == i) return false;
    while (j < s.size() && (s[j] == ' ' || s[j] == '\t')) ++j;
    return s.compare(j, 3, "::=") == 0;
  }
  uint32_t code_point() {
    if (i >= s.size()) error("unexpected end of text");
    unsigned char c = s[i];
    if (c == '\\') {
      ++i;
      if (i >= s.size()) error("unfinished escape");
      char e = s[i++];
      auto hex = [&](int n) {
        uint32_t v = 0;
        for (int k = 0; k < n; ++k) {
          if (i >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i]))) error("bad hex escape");
          char h = s[i++];
          v = v * 16 + (std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
        }
        return v;
      };
      switch (e) {
        case 'n': return '\n'; case 't': return '\t'; case 'r': return '\r';
        case '\\': return '\\'; case '"': return '"'; case ']': return ']'; case '[': return '[';
        case '-': return '-'; case '^': return '^';
        case 'x': return hex(2); case 'u': return hex(4); case 'U': return hex(8);
        default: error(std::string("unknown escape \\") + e);
      }
    }
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > s.size()) error("invalid UTF-8 in grammar text");
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (int k = 1; k < len; ++k) cp = (cp << 6) | (s[i + k] & 0x3F);
    i += len;
    return cp;
  }
  Expr char_class() {
    ++i;  // [
    bool negate = i < s.size() && s[i] == '^';
    if (negate) ++i;
    std::vector<std::pair<uint32_t, uint32_t>> ranges;
    while (i < s.size() && s[i] != ']') {
      uint32_t lo = code_point(), hi = lo;
      if (i + 1 < s.size() && s[i] == '-' && s[i + 1] != ']') {
        ++i;
        hi = code_point();
      }
      if (hi < lo) error("character range out of order");
      ranges.emplace_back(lo, hi);
    }
    if (i >= s.size()) error("missing ']'");
    ++i;
    std::sort(ranges.begin(), ranges.end());
    if (negate) {
      std::vector<std::pair<uint32_t, uint32_t>> comp;
      uint32_t next = 0;
      for (auto [lo, hi] : ranges) {
        if (lo > next) comp.emplace_back(next, lo - 1);
        next = std::max(next, hi + 1);
      }
      if (next <= 0x10FFFF) comp.emplace_back(next, 0x10FFFF);
      ranges = comp;
    }
    std::vector<Expr> opts;
    ByteSet ascii;
    for (auto [lo, hi] : ranges) {
      for (uint32_t c = lo; c <= std::min<uint32_t>(hi, 0x7F); ++c) ascii.set(c);
      if (hi >= 0x80) opts.push_back(Expr::utf8_range(std::max<uint32_t>(lo, 0x80), hi));
    }
    if (ascii.any()) opts.insert(opts.begin(), Expr::byte_set(ascii));
    if (opts.empty()) error("empty character class");
    return Expr::choice(std::move(opts));
  }
  Expr primary() {
    char c = s[i];
    if (c == '"') {
      ++i;
      std::string bytes;
      while (i < s.size() && s[i] != '"') bytes += encode_utf8(code_point());
      if (i >= s.size()) error("missing closing '\"'");
      ++i;
      return Expr::literal(bytes);
    }
    if (c == '[') return char_class();
    if (c == '.') {
      ++i;
      return Expr::utf8_range(0, 0x10FFFF);
    }
    if (c == '(') {
      ++i;
      Expr e = alternatives();
      skip(true);
      if (i >= s.size() || s[i] != ')') error("missing ')'");
      ++i;
      return e;
    }
    if (name_char(c)) return Expr::reference(g.declare(name()));
    error(std::string("unexpected '") + c + "'");
  }
  int number() {
    size_t b = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (b == i) error("expected a number");
    return std::stoi(s.substr(b, std::min<size_t>(i - b, 6)));
  }
  Expr sequence() {
    std::vector<Expr> parts;
    while (true) {
      skip(false);
      if (i < s.size() && s[i] == '\n') {  // a rule may continue on the next line
        skip(true);
        if (i >= s.size() || at_rule_start()) break;
      }
      if (i >= s.size() || s[i] == '|' || s[i] == ')') break;
      Expr e = primary();
      while (i < s.size() && (s[i] == '*' || s[i] == '+' || s[i] == '?' || s[i] == '{')) {
        char q = s[i++];
        if (q == '*') e = Expr::rep(std::move(e), 0, -1);
        else if (q == '+') e = Expr::rep(std::move(e), 1, -1);
        else if (q == '?') e = Expr::rep(std::move(e), 0, 1);
        else {
          skip(false);
          int mn = number(), mx = mn;
          skip(false);
          if (i < s.size() && s[i] == ',') {
            ++i;
            skip(false);
            mx = i < s.size() && s[i] == '}' ? -1 : number();
            skip(false);
          }
          if (i >= s.size() || s[i] != '}') error("missing '}'");
          ++i;
          if (mx >= 0 && mx < mn) error("repetition {m,n} with n < m");
          e = Expr::rep(std::move(e), mn, mx);
        }
      }
      parts.push_back(std::move(e));
    }
    return Expr::sequence(std::move(parts));
  }
  Expr alternatives() {
    std::vector<Expr> opts;
    opts.push_back(sequence());
    while (i < s.size() && s[i] == '|') {
      ++i;
      opts.push_back(sequence());
    }
    return Expr::choice(std::move(opts));
  }
};

}  // namespace

Grammar Grammar::parse_gbnf(const std::string& text, const std::string& root) {
  Grammar g;
  GbnfParser p{text, g};
  std::map<int, bool> defined;
  p.skip(true);
  if (p.i >= text.size()) fail(ErrorCode::invalid_argument, "GBNF: empty grammar");
  while (p.i < text.size()) {
    std::string name = p.name();
    p.skip(false);
    if (text.compare(p.i, 3, "::=") != 0) p.error("expected '::=' after rule name '" + name + "'");
    p.i += 3;
    int r = g.declare(name);
    if (defined[r]) p.error("rule '" + name + "' is defined twice");
    defined[r] = true;
    Expr body = p.alternatives();
    g.define(r, std::move(body));
    p.skip(true);
  }
  auto it = g.by_name_.find(root);
  if (it == g.by_name_.end()) fail(ErrorCode::invalid_argument, "GBNF: no '", root, "' rule");
  g.set_root(it->second);
  g.finalize();
  return g;
}

}  // namespace omni::runtime::grammar
