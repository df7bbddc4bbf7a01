// The token-mask engine: walks a prefix trie of the vocabulary's byte strings with a pushdown
// automaton over a Grammar, giving the set of tokens that keep the output a valid prefix. Parser
// states (sets of PDA stacks) are interned with cached byte transitions and cached masks, so a
// state seen before costs one bitmask application. A token budget (max_tokens) makes the mask
// steer towards completion in time: output always completes within the budget when the budget is
// at least the grammar's shortest output and the vocabulary has every single byte.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/grammar/grammar.hpp"
#include "runtime/sampling.hpp"

namespace omni::text { class Tokenizer; }

namespace omni::runtime::grammar {

// Token id -> bytes, the end-of-generation ids, and the prefix trie over the byte strings.
class TokenVocabulary {
 public:
  // token_bytes[id]: the bytes of a token; "" for tokens that may never appear (control tokens).
  TokenVocabulary(std::vector<std::string> token_bytes, std::vector<int> eog_tokens);
  // From a model's tokenizer (specials excluded, end-of-generation tokens kept as EOS).
  static std::shared_ptr<const TokenVocabulary> from_tokenizer(const text::Tokenizer& tok);

  int n_vocab() const { return int(bytes_.size()); }
  const std::string& bytes(int id) const { return bytes_[size_t(id)]; }
  bool is_eog(int id) const { return id >= 0 && id < n_vocab() && eog_flag_[size_t(id)]; }
  const std::vector<int>& eog_tokens() const { return eog_; }
  size_t n_trie_nodes() const { return nodes_.size(); }

  struct Node {
    uint32_t child_begin = 0, child_end = 0;  // children are nodes_[child_begin, child_end)
    uint32_t tok_begin = 0, tok_end = 0;      // tokens ending here: term_[tok_begin, tok_end)
    uint8_t byte = 0;
  };
  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<int>& terminal_tokens() const { return term_; }

 private:
  void build(std::vector<int>& ids, size_t lo, size_t hi, size_t depth, uint32_t node);
  std::vector<std::string> bytes_;
  std::vector<char> eog_flag_;
  std::vector<int> eog_;
  std::vector<Node> nodes_;  // nodes_[0] is the root
  std::vector<int> term_;
};

// A grammar bound to a vocabulary with its state and mask caches; shared by any number of
// GrammarConstraint objects and threads (internally locked).
class CompiledGrammar {
 public:
  CompiledGrammar(Grammar grammar, std::shared_ptr<const TokenVocabulary> vocab);
  ~CompiledGrammar();

  struct Mask {
    std::vector<uint64_t> bits;  // n_vocab bits
    int n_allowed = 0;
    int single = -1;             // the only allowed token when n_allowed == 1
    uint32_t max_end_dist = 0;   // largest distance-to-finish after any allowed token
  };

  int initial_state() const { return initial_; }
  int step(int state, uint8_t byte);         // -1 when the byte is not allowed
  int step_bytes(int state, const std::string& bytes);  // -1 when not allowed
  bool accepting(int state);
  uint32_t distance(int state);              // fewest bytes until the output may end
  // Allowed tokens in `state`; with budget >= 0 only tokens after which distance <= budget.
  std::shared_ptr<const Mask> mask(int state, int64_t budget = -1);

  const Grammar& grammar() const { return grammar_; }
  const TokenVocabulary& vocab() const { return *vocab_; }
  size_t n_states() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  Grammar grammar_;
  std::shared_ptr<const TokenVocabulary> vocab_;
  int initial_ = 0;
};

// runtime::TokenConstraint over a CompiledGrammar: masks logits, advances on accepted tokens,
// reports completion and forced tokens. One per generation (not shared between threads).
class GrammarConstraint : public runtime::TokenConstraint {
 public:
  // max_tokens > 0: the output (with its EOS) must fit in that many tokens.
  explicit GrammarConstraint(std::shared_ptr<CompiledGrammar> grammar, int max_tokens = 0);

  void mask(float* logits, int n_vocab) override;
  void accept(int token) override;          // throws omni::Error(invalid_argument) if not allowed
  bool is_complete() const override;
  std::vector<int> forced_tokens() override;

  // The allowed-token mask for the current state (bit i = token i allowed).
  std::shared_ptr<const CompiledGrammar::Mask> current_mask();
  const std::string& text() const { return text_; }  // bytes accepted so far
  bool finished() const { return finished_; }       // an EOS token was accepted
  int n_accepted() const { return n_accepted_; }
  void reset();

 private:
  std::shared_ptr<CompiledGrammar> g_;
  int max_tokens_;
  int state_;
  int n_accepted_ = 0;
  bool finished_ = false;
  std::string text_;
};

// Convenience: a vocabulary-bound grammar from a JSON schema or GBNF text.
std::shared_ptr<CompiledGrammar> compile_for_vocab(const Grammar& grammar, std::shared_ptr<const TokenVocabulary> vocab);

}  // namespace omni::runtime::grammar

namespace omni::runtime::grammar {
// A synthetic BPE-like vocabulary for benchmarks: every single byte, JSON punctuation pieces, and
// random ASCII words and CJK pieces up to n_vocab tokens; the last id is EOS.
std::shared_ptr<const TokenVocabulary> synthetic_vocabulary(int n_vocab, uint64_t seed);
}  // namespace omni::runtime::grammar
