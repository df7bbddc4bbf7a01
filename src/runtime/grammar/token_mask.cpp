// Token-mask engine: vocabulary trie, interned PDA states with cached transitions and masks, and
// the GrammarConstraint that joins the sampler chain; see token_mask.hpp.
#include "runtime/grammar/token_mask.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "omni/error.hpp"
#include "text/tokenizer.hpp"

namespace omni::runtime::grammar {

// ---- vocabulary ----

TokenVocabulary::TokenVocabulary(std::vector<std::string> token_bytes, std::vector<int> eog_tokens)
    : bytes_(std::move(token_bytes)), eog_flag_(bytes_.size(), 0) {
  for (int t : eog_tokens) {
    if (t < 0 || size_t(t) >= bytes_.size()) fail(ErrorCode::invalid_argument, "vocabulary: end-of-generation token ", t, " out of range");
    if (!eog_flag_[size_t(t)]) eog_.push_back(t);
    eog_flag_[size_t(t)] = 1;
  }
  std::vector<int> ids;
  ids.reserve(bytes_.size());
  for (size_t i = 0; i < bytes_.size(); ++i)
    if (!bytes_[i].empty() && !eog_flag_[i]) ids.push_back(int(i));
  std::sort(ids.begin(), ids.end(), [&](int a, int b) { return bytes_[size_t(a)] < bytes_[size_t(b)]; });
  nodes_.reserve(ids.size() * 2);
  nodes_.emplace_back();
  build(ids, 0, ids.size(), 0, 0);
}

// Builds the children of `node` from ids[lo, hi) (sorted, all sharing `depth` leading bytes).
void TokenVocabulary::build(std::vector<int>& ids, size_t lo, size_t hi, size_t depth, uint32_t node) {
  // Tokens that end exactly at this depth come first in sorted order.
  size_t i = lo;
  nodes_[node].tok_begin = uint32_t(term_.size());
  while (i < hi && bytes_[size_t(ids[i])].size() == depth) term_.push_back(ids[i++]);
  nodes_[node].tok_end = uint32_t(term_.size());
  // Group the rest by their byte at `depth`.
  std::vector<std::pair<size_t, size_t>> groups;
  while (i < hi) {
    uint8_t b = uint8_t(bytes_[size_t(ids[i])][depth]);
    size_t j = i;
    while (j < hi && uint8_t(bytes_[size_t(ids[j])][depth]) == b) ++j;
    groups.emplace_back(i, j);
    i = j;
  }
  uint32_t first = uint32_t(nodes_.size());
  nodes_[node].child_begin = first;
  nodes_[node].child_end = first + uint32_t(groups.size());
  for (const auto& g : groups) {
    Node n;
    n.byte = uint8_t(bytes_[size_t(ids[g.first])][depth]);
    nodes_.push_back(n);
  }
  for (size_t k = 0; k < groups.size(); ++k) build(ids, groups[k].first, groups[k].second, depth + 1, first + uint32_t(k));
}

std::shared_ptr<const TokenVocabulary> TokenVocabulary::from_tokenizer(const text::Tokenizer& tok) {
  std::vector<std::string> bytes(static_cast<size_t>(tok.n_vocab()));
  std::vector<int> eog;
  for (int i = 0; i < tok.n_vocab(); ++i) {
    if (tok.is_end_of_generation(i)) {
      eog.push_back(i);
      continue;
    }
    if (tok.is_special(i)) continue;
    bytes[size_t(i)] = tok.token_to_piece(i, false);
  }
  if (eog.empty() && tok.eos() >= 0) eog.push_back(tok.eos());
  return std::make_shared<TokenVocabulary>(std::move(bytes), std::move(eog));
}

// ---- compiled grammar ----

namespace {
using Stack = std::vector<uint32_t>;
constexpr size_t k_max_stack = 4096;
constexpr size_t k_max_masks = 2048;
}  // namespace

struct CompiledGrammar::Impl {
  struct State {
    std::vector<Stack> stacks;
    bool accepting = false;
    uint32_t dist = 0;
    std::vector<int32_t> trans;  // 256 entries once used: -2 unknown, -1 dead, else state id
  };
  const Grammar* g = nullptr;
  const TokenVocabulary* vocab = nullptr;
  std::vector<std::vector<uint32_t>> alt_starts;  // per rule
  std::vector<State> states;
  std::unordered_map<std::string, int> index;
  std::unordered_map<int, std::shared_ptr<const Mask>> masks;
  std::unordered_map<uint64_t, std::shared_ptr<const Mask>> budget_masks;
  std::mutex mu;

  // For states that loop on many bytes (inside a free string), the tokens made only of those
  // bytes are allowed as a block, and trie subtrees made only of them are not walked.
  struct LoopClass {
    std::vector<uint64_t> tokens;  // bit per token: every byte in the class
    std::vector<char> pure;        // per trie node: every byte below it is in the class
  };
  std::unordered_map<std::string, std::shared_ptr<const LoopClass>> loop_classes;

  std::shared_ptr<const LoopClass> loop_class(const ByteSet& bytes) {
    const std::string key = bytes.to_string();
    auto it = loop_classes.find(key);
    if (it != loop_classes.end()) return it->second;
    auto lc = std::make_shared<LoopClass>();
    const auto& nodes = vocab->nodes();
    lc->pure.assign(nodes.size(), 1);
    for (size_t n = nodes.size(); n-- > 0;) {  // children have larger indices than their parent
      char ok = 1;
      for (uint32_t c = nodes[n].child_begin; c < nodes[n].child_end && ok; ++c) ok = bytes.test(nodes[c].byte) && lc->pure[c];
      lc->pure[n] = ok;
    }
    lc->tokens.assign(size_t(vocab->n_vocab() + 63) / 64, 0);
    for (int t = 0; t < vocab->n_vocab(); ++t) {
      const std::string& b = vocab->bytes(t);
      if (b.empty() || vocab->is_eog(t)) continue;
      bool all = true;
      for (unsigned char ch : b) all = all && bytes.test(ch);
      if (all) lc->tokens[size_t(t) >> 6] |= uint64_t(1) << (t & 63);
    }
    loop_classes.emplace(key, lc);
    return lc;
  }

  void expand(Stack& stack, std::set<Stack>& out) {
    if (stack.size() > k_max_stack) return;  // runaway nesting: treat as dead
    if (stack.empty()) {
      out.insert(stack);
      return;
    }
    const uint32_t p = stack.back();
    const Element& e = g->elems()[p];
    switch (e.type) {
      case Element::k_set:
        out.insert(stack);
        return;
      case Element::k_end:
      case Element::k_alt: {
        stack.pop_back();
        expand(stack, out);
        stack.push_back(p);
        return;
      }
      case Element::k_ref: {
        Stack base = stack;
        base.pop_back();
        const Element& next = g->elems()[p + 1];
        if (next.type != Element::k_end && next.type != Element::k_alt) base.push_back(p + 1);
        for (uint32_t a : alt_starts[e.value]) {
          Stack s = base;
          s.push_back(a);
          expand(s, out);
        }
        return;
      }
    }
  }

  int intern(std::set<Stack>&& set) {
    if (set.empty()) return -1;
    std::string key;
    for (const auto& s : set) {
      key.append(reinterpret_cast<const char*>(s.data()), s.size() * sizeof(uint32_t));
      key.append(4, '\xff');
    }
    auto it = index.find(key);
    if (it != index.end()) return it->second;
    State st;
    st.dist = std::numeric_limits<uint32_t>::max();
    for (const auto& s : set) {
      if (s.empty()) st.accepting = true;
      uint64_t d = 0;
      for (uint32_t pos : s) d += g->min_bytes_from(pos);
      st.dist = uint32_t(std::min<uint64_t>(st.dist, std::min<uint64_t>(d, std::numeric_limits<uint32_t>::max())));
    }
    st.stacks.assign(set.begin(), set.end());
    int id = int(states.size());
    states.push_back(std::move(st));
    index.emplace(std::move(key), id);
    return id;
  }

  int step(int state, uint8_t byte) {
    State* st = &states[size_t(state)];
    if (st->trans.empty()) st->trans.assign(256, -2);
    int32_t cached = st->trans[byte];
    if (cached != -2) return cached;
    std::set<Stack> next;
    for (const auto& s : st->stacks) {
      if (s.empty()) continue;
      const Element& e = g->elems()[s.back()];
      if (e.type != Element::k_set || !g->sets()[e.value].test(byte)) continue;
      Stack n = s;
      n.back() += 1;
      expand(n, next);
    }
    int id = intern(std::move(next));
    states[size_t(state)].trans[byte] = id;  // `st` may dangle after intern()
    return id;
  }

  std::shared_ptr<const Mask> compute_mask(int state, int64_t budget) {
    auto m = std::make_shared<Mask>();
    const int n_vocab = vocab->n_vocab();
    m->bits.assign(size_t(n_vocab + 63) / 64, 0);
    const auto& nodes = vocab->nodes();
    const auto& term = vocab->terminal_tokens();
    int last = -1;
    auto allow = [&](int t) {
      uint64_t& w = m->bits[size_t(t) >> 6];
      uint64_t bit = uint64_t(1) << (t & 63);
      if (!(w & bit)) {
        w |= bit;
        ++m->n_allowed;
        last = t;
      }
    };
    // Bytes on which this state loops back to itself (free-string content).
    ByteSet loop;
    std::shared_ptr<const LoopClass> lc;
    {
      for (int byte = 0; byte < 256; ++byte)
        if (step(state, uint8_t(byte)) == state) loop.set(size_t(byte));
      // Tokens of the block end in `state` itself: allowed unless the budget rules that out (then
      // the pure subtrees are skipped without allowing anything).
      const bool block_fits = budget < 0 || int64_t(states[size_t(state)].dist) <= budget;
      if (loop.count() >= 32) lc = loop_class(loop);
      if (lc && block_fits) {
        bool any = false;
        for (size_t w = 0; w < m->bits.size(); ++w) {
          m->bits[w] |= lc->tokens[w];
          any = any || lc->tokens[w];
        }
        if (any) m->max_end_dist = states[size_t(state)].dist;
      }
    }
    // work items: node, state, whether every byte so far looped on `state`
    struct Item {
      uint32_t node;
      int state;
      bool pure;
    };
    std::vector<Item> work;
    work.push_back({0u, state, true});
    while (!work.empty()) {
      auto [n, s, pure] = work.back();
      work.pop_back();
      const auto& nd = nodes[n];
      for (uint32_t c = nd.child_begin; c < nd.child_end; ++c) {
        const bool c_pure = pure && lc && loop.test(nodes[c].byte);
        if (c_pure && lc->pure[c]) continue;  // every token below is in the block already allowed
        int s2 = step(s, nodes[c].byte);
        if (s2 < 0) continue;
        const auto& cn = nodes[c];
        if (cn.tok_end > cn.tok_begin) {
          uint32_t d = states[size_t(s2)].dist;
          if (budget < 0 || int64_t(d) <= budget) {
            for (uint32_t k = cn.tok_begin; k < cn.tok_end; ++k) allow(term[k]);
            m->max_end_dist = std::max(m->max_end_dist, d);
          }
        }
        if (cn.child_end > cn.child_begin) work.push_back({c, s2, c_pure});
      }
    }
    if (lc) {  // the block was OR-ed in directly: count again
      m->n_allowed = 0;
      for (size_t w = 0; w < m->bits.size(); ++w) {
        uint64_t b = m->bits[w];
        if (!b) continue;
        m->n_allowed += __builtin_popcountll(b);
        last = int(w * 64) + __builtin_ctzll(b);
      }
    }
    if (states[size_t(state)].accepting || m->n_allowed == 0)  // dead end: let generation stop
      for (int t : vocab->eog_tokens()) allow(t);
    m->single = m->n_allowed == 1 ? last : -1;
    return m;
  }
};

CompiledGrammar::CompiledGrammar(Grammar grammar, std::shared_ptr<const TokenVocabulary> vocab)
    : impl_(std::make_unique<Impl>()), grammar_(std::move(grammar)), vocab_(std::move(vocab)) {
  if (!grammar_.finalized()) grammar_.finalize();
  if (!vocab_) fail(ErrorCode::invalid_argument, "compiled grammar needs a vocabulary");
  impl_->g = &grammar_;
  impl_->vocab = vocab_.get();
  impl_->alt_starts.resize(grammar_.n_rules());
  const auto& el = grammar_.elems();
  for (size_t r = 0; r < grammar_.n_rules(); ++r) {
    uint32_t p = grammar_.rule_start(int(r));
    impl_->alt_starts[r].push_back(p);
    while (el[p].type != Element::k_end) {
      if (el[p].type == Element::k_alt) impl_->alt_starts[r].push_back(p + 1);
      ++p;
    }
  }
  std::set<Stack> init;
  for (uint32_t a : impl_->alt_starts[size_t(grammar_.root())]) {
    Stack s{a};
    impl_->expand(s, init);
  }
  initial_ = impl_->intern(std::move(init));
  if (initial_ < 0) fail(ErrorCode::invalid_argument, "grammar accepts nothing");
}

CompiledGrammar::~CompiledGrammar() = default;

int CompiledGrammar::step(int state, uint8_t byte) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->step(state, byte);
}

int CompiledGrammar::step_bytes(int state, const std::string& bytes) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (unsigned char c : bytes) {
    state = impl_->step(state, c);
    if (state < 0) return -1;
  }
  return state;
}

bool CompiledGrammar::accepting(int state) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->states[size_t(state)].accepting;
}

uint32_t CompiledGrammar::distance(int state) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->states[size_t(state)].dist;
}

size_t CompiledGrammar::n_states() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->states.size();
}

std::shared_ptr<const CompiledGrammar::Mask> CompiledGrammar::mask(int state, int64_t budget) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (budget < 0) {
    auto it = impl_->masks.find(state);
    if (it != impl_->masks.end()) return it->second;
    if (impl_->masks.size() >= k_max_masks) impl_->masks.clear();
    auto m = impl_->compute_mask(state, -1);
    impl_->masks.emplace(state, m);
    return m;
  }
  uint64_t key = (uint64_t(uint32_t(state)) << 32) | uint64_t(std::min<int64_t>(budget, 0xffffffffLL));
  auto it = impl_->budget_masks.find(key);
  if (it != impl_->budget_masks.end()) return it->second;
  if (impl_->budget_masks.size() >= k_max_masks) impl_->budget_masks.clear();
  auto m = impl_->compute_mask(state, budget);
  impl_->budget_masks.emplace(key, m);
  return m;
}

std::shared_ptr<CompiledGrammar> compile_for_vocab(const Grammar& grammar, std::shared_ptr<const TokenVocabulary> vocab) {
  return std::make_shared<CompiledGrammar>(grammar, std::move(vocab));
}

// ---- constraint ----

GrammarConstraint::GrammarConstraint(std::shared_ptr<CompiledGrammar> grammar, int max_tokens)
    : g_(std::move(grammar)), max_tokens_(max_tokens), state_(g_->initial_state()) {}

void GrammarConstraint::reset() {
  state_ = g_->initial_state();
  n_accepted_ = 0;
  finished_ = false;
  text_.clear();
}

std::shared_ptr<const CompiledGrammar::Mask> GrammarConstraint::current_mask() {
  auto m = g_->mask(state_);
  if (max_tokens_ > 0) {
    // After this token and before EOS, at most `left` tokens remain (each at least one byte, and
    // the distance counts bytes: a safe bound).
    int64_t left = int64_t(max_tokens_) - n_accepted_ - 2;
    if (int64_t(m->max_end_dist) > left) m = g_->mask(state_, std::max<int64_t>(left, -1) < 0 ? 0 : left);
    if (left < 0) {
      // Only EOS fits: allow it when complete (the mask above already has it when accepting).
      auto only = std::make_shared<CompiledGrammar::Mask>();
      only->bits.assign(m->bits.size(), 0);
      if (g_->accepting(state_))
        for (int t : g_->vocab().eog_tokens()) {
          only->bits[size_t(t) >> 6] |= uint64_t(1) << (t & 63);
          ++only->n_allowed;
          only->single = t;
        }
      if (only->n_allowed != 1) only->single = -1;
      if (only->n_allowed > 0) m = only;
    }
  }
  return m;
}

void GrammarConstraint::mask(float* logits, int n_vocab) {
  auto m = current_mask();
  const int n_bits = std::min(n_vocab, g_->vocab().n_vocab());
  const float ninf = -std::numeric_limits<float>::infinity();
  const int n_words = n_bits / 64;
  for (int w = 0; w < n_words; ++w) {
    uint64_t b = m->bits[size_t(w)];
    float* l = logits + size_t(w) * 64;
    if (b == ~uint64_t(0)) continue;
    if (b == 0) {
      for (int k = 0; k < 64; ++k) l[k] = ninf;
      continue;
    }
    for (int k = 0; k < 64; ++k)
      if (!((b >> k) & 1)) l[k] = ninf;
  }
  for (int t = n_words * 64; t < n_bits; ++t)
    if (!((m->bits[size_t(t) >> 6] >> (t & 63)) & 1)) logits[t] = ninf;
  for (int t = n_bits; t < n_vocab; ++t) logits[t] = ninf;
}

void GrammarConstraint::accept(int token) {
  if (finished_) fail(ErrorCode::invalid_argument, "grammar: token ", token, " after the end of generation");
  const auto& v = g_->vocab();
  if (token < 0 || token >= v.n_vocab()) fail(ErrorCode::invalid_argument, "grammar: token ", token, " is outside the vocabulary");
  if (v.is_eog(token)) {
    if (!g_->accepting(state_)) fail(ErrorCode::invalid_argument, "grammar: end of generation before the output is complete");
    finished_ = true;
    ++n_accepted_;
    return;
  }
  const std::string& bytes = v.bytes(token);
  if (bytes.empty()) fail(ErrorCode::invalid_argument, "grammar: token ", token, " (a control token) is not allowed");
  int next = g_->step_bytes(state_, bytes);
  if (next < 0) fail(ErrorCode::invalid_argument, "grammar: token ", token, " is not allowed here");
  state_ = next;
  text_ += bytes;
  ++n_accepted_;
}

bool GrammarConstraint::is_complete() const { return finished_ || g_->accepting(state_); }

std::vector<int> GrammarConstraint::forced_tokens() {
  if (finished_) return {};
  auto m = current_mask();
  if (m->n_allowed == 1 && m->single >= 0 && !g_->vocab().is_eog(m->single)) return {m->single};
  return {};
}

}  // namespace omni::runtime::grammar

namespace omni::runtime::grammar {

std::shared_ptr<const TokenVocabulary> synthetic_vocabulary(int n_vocab, uint64_t seed) {
  if (n_vocab < 300) fail(ErrorCode::invalid_argument, "synthetic vocabulary needs at least 300 tokens");
  std::vector<std::string> toks;
  std::set<std::string> seen;
  auto add = [&](const std::string& t) {
    if (seen.insert(t).second) toks.push_back(t);
  };
  for (int i = 0; i < 256; ++i) add(std::string(1, char(i)));
  for (const char* p : {"{\"", "\":", "\":\"", "\",\"", "\"}", "\",", "},", "\": ", "\", \"", " {", "{}", "[]", "true", "false", "null"})
    add(p);
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  auto next = [&]() {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  const std::string alpha = "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 {}[]\":,.-";
  const uint32_t cjk_lo = 0x4E00, cjk_span = 0x9FFF - 0x4E00;
  while (int(toks.size()) < n_vocab - 1) {
    std::string t;
    if (next() % 6 == 0) {
      int n = 1 + int(next() % 3);
      for (int k = 0; k < n; ++k) {
        uint32_t cp = cjk_lo + uint32_t(next() % cjk_span);
        t += char(0xE0 | (cp >> 12));
        t += char(0x80 | ((cp >> 6) & 0x3F));
        t += char(0x80 | (cp & 0x3F));
      }
    } else {
      if (next() % 2 == 0) t += ' ';
      int len = 2 + int(next() % 9);
      for (int k = 0; k < len; ++k) t += alpha[next() % alpha.size()];
    }
    add(t);
  }
  toks.push_back("");
  return std::make_shared<TokenVocabulary>(std::move(toks), std::vector<int>{n_vocab - 1});
}

}  // namespace omni::runtime::grammar
