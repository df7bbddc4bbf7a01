// Tier-0 template matcher: template syntax -> NFA, prefilter on required words, best-score search.
#include "agent/template_matcher.hpp"

#include <algorithm>
#include <cmath>
#include <regex>
#include <sstream>
#include <unordered_map>

#include "agent/text_normalize.hpp"
#include "omni/error.hpp"

namespace omni::agent {

using nlohmann::json;

namespace {

constexpr double k_filler_score = 0.9;  // a skipped filler word explains itself almost fully
constexpr double k_text_score = 0.5;    // a word swallowed by a free-text slot explains half
constexpr int k_max_text_words = 8;

std::string token_key(const WordToken& t) {
  if (!t.is_number) return t.text;
  std::ostringstream os;
  os << "#num=" << t.number;
  return os.str();
}

struct Node {
  enum Kind { seq, alt, opt, lit, slot } kind = seq;
  std::vector<Node> kids;
  int token = -1;  // lit
  int slot_index = -1;   // slot
};

struct Slot {
  enum Kind { list, number, text } kind = list;
  std::string arg;                                     // "position.x"
  std::vector<std::pair<std::vector<int>, json>> phrases;  // list: token ids -> value
};

struct Edge {
  enum Kind { eps, lit, slot } kind;
  int target;
  int arg;  // token id or slot index
};

struct CompiledTemplate {
  const ActionSpec* action = nullptr;
  const UtteranceTemplate* source = nullptr;
  std::vector<std::vector<Edge>> states;
  int start = 0, accept = 0;
  std::vector<std::vector<int>> required_groups;  // each: at least one of these token ids must occur
  std::vector<Slot> slots;
};

struct Candidate {
  double score;
  size_t template_index;
  json action;
};

}  // namespace

struct TemplateMatcher::Impl {
  const Catalog* catalog = nullptr;
  std::unordered_map<std::string, int> dict;
  std::vector<CompiledTemplate> templates;
  std::vector<std::vector<int>> fillers;  // token-id sequences

  int intern(const std::string& key) {
    auto it = dict.find(key);
    if (it != dict.end()) return it->second;
    int id = static_cast<int>(dict.size());
    dict.emplace(key, id);
    return id;
  }

  std::vector<int> intern_phrase(const std::string& text) {
    std::vector<int> ids;
    for (const auto& t : normalize_utterance(text)) ids.push_back(intern(token_key(t)));
    return ids;
  }

  // ---- template parsing ----
  struct Parser {
    Impl* impl;
    CompiledTemplate* tpl;
    const std::string& s;
    size_t i = 0;
    std::string where;

    Node parse_alternatives(char close) {
      Node alt;
      alt.kind = Node::alt;
      alt.kids.push_back(parse_seq(close));
      while (i < s.size() && s[i] == '|') {
        ++i;
        alt.kids.push_back(parse_seq(close));
      }
      if (close) {
        if (i >= s.size() || s[i] != close) fail(ErrorCode::invalid_file, where, ": missing '", std::string(1, close), "'");
        ++i;
      } else if (i < s.size()) {
        fail(ErrorCode::invalid_file, where, ": unexpected '", std::string(1, s[i]), "' at offset ", i);
      }
      return alt.kids.size() == 1 ? alt.kids[0] : alt;
    }

    Node parse_seq(char close) {
      Node seq;
      seq.kind = Node::seq;
      std::string text;
      auto flush_text = [&]() {
        for (const auto& t : normalize_utterance(text)) {
          Node lit;
          lit.kind = Node::lit;
          lit.token = impl->intern(token_key(t));
          seq.kids.push_back(lit);
        }
        text.clear();
      };
      while (i < s.size()) {
        char c = s[i];
        if (c == '|' || c == ')' || c == ']') break;
        if (c == '(' || c == '[') {
          flush_text();
          ++i;
          Node inner = parse_alternatives(c == '(' ? ')' : ']');
          if (c == '[') {
            Node opt;
            opt.kind = Node::opt;
            opt.kids.push_back(std::move(inner));
            seq.kids.push_back(std::move(opt));
          } else {
            seq.kids.push_back(std::move(inner));
          }
        } else if (c == '{') {
          flush_text();
          size_t j = s.find('}', i);
          if (j == std::string::npos) fail(ErrorCode::invalid_file, where, ": missing '}'");
          std::string body = s.substr(i + 1, j - i - 1);
          i = j + 1;
          seq.kids.push_back(make_slot(body));
        } else {
          text += c;
          ++i;
        }
      }
      flush_text();
      return seq;
    }

    Node make_slot(const std::string& body) {
      std::string arg = body, list = body;
      size_t colon = body.find(':');
      if (colon != std::string::npos) {
        arg = body.substr(0, colon);
        list = body.substr(colon + 1);
      }
      if (arg.empty() || list.empty()) fail(ErrorCode::invalid_file, where, ": empty slot '{", body, "}'");
      Slot slot;
      slot.arg = arg;
      if (list == "number") {
        slot.kind = Slot::number;
      } else if (list == "text") {
        slot.kind = Slot::text;
      } else {
        const SlotList* l = impl->catalog->list(list);
        if (!l) fail(ErrorCode::invalid_file, where, ": unknown slot list '", list, "'");
        slot.kind = Slot::list;
        for (const auto& v : l->values)
          for (const auto& p : v.phrases) {
            auto ids = impl->intern_phrase(p);
            if (!ids.empty()) slot.phrases.emplace_back(std::move(ids), v.value);
          }
        // Longer phrases first: "living room" before "room".
        std::stable_sort(slot.phrases.begin(), slot.phrases.end(),
                         [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
      }
      Node n;
      n.kind = Node::slot;
      n.slot_index = static_cast<int>(tpl->slots.size());
      tpl->slots.push_back(std::move(slot));
      return n;
    }
  };

  // Groups of tokens of which every path through `n` consumes at least one (per group).
  static std::vector<std::vector<int>> required(const Node& n) {
    switch (n.kind) {
      case Node::lit: return {{n.token}};
      case Node::seq: {
        std::vector<std::vector<int>> out;
        for (const auto& k : n.kids) for (auto& g : required(k)) out.push_back(std::move(g));
        return out;
      }
      case Node::alt: {
        std::vector<int> group;
        for (const auto& k : n.kids) {
          auto r = required(k);
          if (r.empty()) return {};
          group.insert(group.end(), r[0].begin(), r[0].end());
        }
        return {group};
      }
      default: return {};
    }
  }

  // Thompson construction (no loops: templates have no repetition).
  static void build(CompiledTemplate& t, const Node& n, int from, int to) {
    auto new_state = [&]() {
      t.states.emplace_back();
      return static_cast<int>(t.states.size()) - 1;
    };
    switch (n.kind) {
      case Node::lit: t.states[from].push_back({Edge::lit, to, n.token}); break;
      case Node::slot: t.states[from].push_back({Edge::slot, to, n.slot_index}); break;
      case Node::opt:
        t.states[from].push_back({Edge::eps, to, 0});
        build(t, n.kids[0], from, to);
        break;
      case Node::alt:
        for (const auto& k : n.kids) build(t, k, from, to);
        break;
      case Node::seq: {
        if (n.kids.empty()) { t.states[from].push_back({Edge::eps, to, 0}); break; }
        int cur = from;
        for (size_t k = 0; k < n.kids.size(); ++k) {
          int next = k + 1 == n.kids.size() ? to : new_state();
          build(t, n.kids[k], cur, next);
          cur = next;
        }
        break;
      }
    }
  }

  // ---- matching ----
  struct Search {
    const CompiledTemplate& t;
    const std::vector<WordToken>& words;
    const std::vector<int>& ids;
    const std::vector<std::vector<int>>& filler_ends;  // per position: ends of filler phrases
    const std::string& text;
    std::vector<double> best;
    std::vector<std::pair<int, json>> captures;
    std::vector<std::pair<double, std::vector<std::pair<int, json>>>> results;
    size_t n;

    void run(int state, size_t pos, double score) {
      double& b = best[state * (n + 1) + pos];
      if (score <= b + 1e-9) return;
      b = score;
      if (state == t.accept && pos == n) {
        results.emplace_back(score, captures);
        return;
      }
      for (int e : filler_ends[pos]) run(state, e, score + k_filler_score * (e - pos));
      for (const Edge& edge : t.states[state]) {
        switch (edge.kind) {
          case Edge::eps: run(edge.target, pos, score); break;
          case Edge::lit:
            if (pos < n && ids[pos] == edge.arg) run(edge.target, pos + 1, score + 1);
            break;
          case Edge::slot: {
            const Slot& slot = t.slots[edge.arg];
            if (slot.kind == Slot::number) {
              if (pos < n && words[pos].is_number) {
                double v = words[pos].number;
                json value = std::floor(v) == v && std::fabs(v) < 1e15 ? json(static_cast<int64_t>(v)) : json(v);
                captures.emplace_back(edge.arg, value);
                run(edge.target, pos + 1, score + 1);
                captures.pop_back();
              }
            } else if (slot.kind == Slot::text) {
              for (size_t len = 1; len <= static_cast<size_t>(k_max_text_words) && pos + len <= n; ++len) {
                size_t b0 = words[pos].begin, b1 = words[pos + len - 1].end;
                captures.emplace_back(edge.arg, text.substr(b0, b1 - b0));
                run(edge.target, pos + len, score + k_text_score * len);
                captures.pop_back();
              }
            } else {
              for (const auto& [phrase, value] : slot.phrases) {
                if (pos + phrase.size() > n) continue;
                bool ok = true;
                for (size_t k = 0; k < phrase.size() && ok; ++k) ok = ids[pos + k] == phrase[k];
                if (!ok) continue;
                captures.emplace_back(edge.arg, value);
                run(edge.target, pos + phrase.size(), score + static_cast<double>(phrase.size()));
                captures.pop_back();
              }
            }
            break;
          }
        }
      }
    }
  };
};

TemplateMatcher::TemplateMatcher(const Catalog& catalog) : impl_(std::make_unique<Impl>()) {
  impl_->catalog = &catalog;
  for (const auto& f : catalog.filler_words()) {
    auto ids = impl_->intern_phrase(f);
    if (!ids.empty()) impl_->fillers.push_back(std::move(ids));
  }
  static const std::regex suffix_re("([A-Za-z]+)\\[([A-Za-z]+)\\]");
  for (const auto& action : catalog.actions()) {
    for (const auto& ut : action.templates) {
      CompiledTemplate t;
      t.action = &action;
      t.source = &ut;
      std::string text = std::regex_replace(ut.text, suffix_re, "($1|$1$2)");
      Impl::Parser p{impl_.get(), &t, text, 0, "catalog action '" + action.name + "' template \"" + ut.text + "\""};
      Node root = p.parse_alternatives(0);
      t.states.resize(2);
      t.start = 0;
      t.accept = 1;
      Impl::build(t, root, 0, 1);
      t.required_groups = Impl::required(root);
      if (t.required_groups.empty() && t.slots.empty())
        fail(ErrorCode::invalid_file, p.where, ": matches the empty utterance");
      impl_->templates.push_back(std::move(t));
    }
  }
}

TemplateMatcher::~TemplateMatcher() = default;
TemplateMatcher::TemplateMatcher(TemplateMatcher&&) noexcept = default;

size_t TemplateMatcher::n_templates() const { return impl_->templates.size(); }

std::optional<TemplateMatch> TemplateMatcher::match(const std::string& utterance, double min_confidence) const {
  const auto words = normalize_utterance(utterance);
  const size_t n = words.size();
  if (n == 0) return std::nullopt;
  std::vector<int> ids(n, -1);
  std::vector<char> present(impl_->dict.size(), 0);
  for (size_t i = 0; i < n; ++i) {
    auto it = impl_->dict.find(token_key(words[i]));
    if (it != impl_->dict.end()) {
      ids[i] = it->second;
      present[it->second] = 1;
    }
  }
  std::vector<std::vector<int>> filler_ends(n + 1);
  for (size_t i = 0; i < n; ++i)
    for (const auto& f : impl_->fillers) {
      if (i + f.size() > n) continue;
      bool ok = true;
      for (size_t k = 0; k < f.size() && ok; ++k) ok = ids[i + k] == f[k];
      if (ok) filler_ends[i].push_back(static_cast<int>(i + f.size()));
    }

  std::vector<Candidate> candidates;
  for (size_t ti = 0; ti < impl_->templates.size(); ++ti) {
    const CompiledTemplate& t = impl_->templates[ti];
    bool possible = true;
    for (const auto& g : t.required_groups) {
      bool any = false;
      for (int id : g) any = any || present[id];
      if (!any) { possible = false; break; }
    }
    if (!possible) continue;
    Impl::Search s{t, words, ids, filler_ends, utterance, {}, {}, {}, n};
    s.best.assign(t.states.size() * (n + 1), -1.0);
    s.run(t.start, 0, 0.0);
    for (auto& [score, caps] : s.results) {
      json action = json::object();
      action["action"] = t.action->name;
      for (auto it = t.source->set.begin(); it != t.source->set.end(); ++it) action[it.key()] = it.value();
      for (auto& [slot_idx, value] : caps) {
        const std::string& arg = t.slots[slot_idx].arg;
        size_t dot = arg.find('.');
        if (dot == std::string::npos) {
          action[arg] = value;
        } else {
          json& parent = action[arg.substr(0, dot)];
          if (!parent.is_object()) parent = json::object();
          parent[arg.substr(dot + 1)] = value;
        }
      }
      candidates.push_back({score, ti, std::move(action)});
    }
  }
  std::stable_sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
  for (auto& c : candidates) {
    double confidence = std::min(1.0, c.score / static_cast<double>(n));
    if (confidence < min_confidence) break;
    if (!impl_->catalog->validate_action(c.action).empty()) continue;
    const CompiledTemplate& t = impl_->templates[c.template_index];
    return TemplateMatch{std::move(c.action), t.action->name, t.source->text, confidence};
  }
  return std::nullopt;
}

}  // namespace omni::agent
