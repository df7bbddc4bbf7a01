// Byte-level context-free grammars for constrained decoding: an expression builder (sequences,
// alternatives, byte sets, rule references, bounded/unbounded repetition), lowering to flat rules
// that the token-mask engine walks, and a parser for llama.cpp-style GBNF text.
#pragma once
#include <bitset>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace omni::runtime::grammar {

using ByteSet = std::bitset<256>;

// A grammar expression (built by the JSON-Schema compiler and the GBNF parser).
struct Expr {
  enum Kind { seq, alt, bytes, ref, repeat } kind = seq;
  std::vector<Expr> kids;     // seq / alt: the parts; repeat: kids[0]
  ByteSet set;                // bytes: one byte from this set
  int rule = -1;              // ref: rule id
  int min = 0, max = -1;      // repeat: bounds (max -1 = unbounded)

  static Expr empty() { return Expr{}; }
  static Expr byte_set(const ByteSet& s);
  static Expr byte_range(uint8_t lo, uint8_t hi);
  static Expr literal(const std::string& bytes);  // a sequence of single bytes
  static Expr sequence(std::vector<Expr> parts);
  static Expr choice(std::vector<Expr> options);
  static Expr reference(int rule);
  static Expr rep(Expr x, int min, int max);
  static Expr optional(Expr x) { return rep(std::move(x), 0, 1); }
  // One UTF-8 encoded code point in [lo, hi] (surrogates excluded).
  static Expr utf8_range(uint32_t lo, uint32_t hi);
};

// Flat form walked by the engine: all rules concatenated into `elems`. A rule is its alternatives,
// each a run of elements ended by k_alt (another alternative follows) or k_end (the rule ends).
struct Element {
  enum Type : uint8_t { k_end = 0, k_alt = 1, k_ref = 2, k_set = 3 } type;
  uint32_t value;  // k_ref: rule id; k_set: index into Grammar::sets
};

class Grammar {
 public:
  // Builder API: declare rules (for recursion), then define them.
  int declare(const std::string& name);            // returns the rule id (same name: same id)
  void define(int rule, Expr body);
  int add(const std::string& name, Expr body) { int r = declare(name); define(r, std::move(body)); return r; }
  void set_root(int rule) { root_ = rule; }

  // Lowers the expressions to flat rules and checks the grammar: every declared rule defined, no
  // left recursion (it would never end). Throws omni::Error(invalid_argument) naming the rule.
  void finalize();

  // Parses GBNF text ("root ::= ..."). Throws omni::Error(invalid_argument) with line numbers.
  static Grammar parse_gbnf(const std::string& text, const std::string& root = "root");

  // Flat form (after finalize()).
  const std::vector<Element>& elems() const { return elems_; }
  const std::vector<ByteSet>& sets() const { return sets_; }
  uint32_t rule_start(int rule) const { return rule_start_[rule]; }
  int root() const { return root_; }
  size_t n_rules() const { return names_.size(); }
  const std::string& rule_name(int r) const { return names_[r]; }
  bool finalized() const { return finalized_; }
  // Minimum number of bytes needed to finish from element position `pos` to the end of its rule.
  uint32_t min_bytes_from(uint32_t pos) const { return min_from_[pos]; }
  std::string to_gbnf() const;  // readable dump (for debugging and tests)

 private:
  int new_helper_rule(const std::string& base);
  void lower_alternatives(const Expr& e, std::vector<std::vector<Element>>& alts, const std::string& base);
  void lower_sequence(const Expr& e, std::vector<Element>& out, const std::string& base);
  uint32_t set_index(const ByteSet& s);

  std::vector<std::string> names_;
  std::map<std::string, int> by_name_;
  std::vector<std::shared_ptr<Expr>> bodies_;
  std::vector<std::vector<std::vector<Element>>> lowered_;
  std::vector<Element> elems_;
  std::vector<uint32_t> rule_start_;
  std::vector<ByteSet> sets_;
  std::map<std::string, uint32_t> set_ids_;
  std::vector<uint32_t> min_from_;
  int root_ = 0;
  bool finalized_ = false;
};

}  // namespace omni::runtime::grammar
