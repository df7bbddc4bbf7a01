// Tokenizers read from GGUF metadata: byte-level BPE (`tokenizer.ggml.model = gpt2`, pre-tokenizer
// regexes gpt2/default, qwen2, llama-bpe via PCRE2) and SentencePiece (`llama`: scores, byte
// fallback, leading space); special tokens matched whole; a UTF-8-safe streaming detokenizer.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace omni::gguf { class File; }

namespace omni::text {

// ggml's token types (tokenizer.ggml.token_type).
enum class TokenType : int32_t { undefined = 0, normal = 1, unknown = 2, control = 3, user_defined = 4, unused = 5, byte = 6 };

// Everything a tokenizer is built from (what the GGUF metadata holds).
struct TokenizerConfig {
  std::string model = "gpt2";          // "gpt2" (byte-level BPE) or "llama" (SentencePiece)
  std::string pre = "default";         // BPE pre-tokenizer: "default"/"gpt2", "qwen2", "llama-bpe" ...
  std::vector<std::string> tokens;     // token id -> text as stored (BPE: byte-to-unicode form)
  std::vector<float> scores;           // SentencePiece scores (may be empty for BPE)
  std::vector<int32_t> types;          // TokenType per token (empty: all normal)
  std::vector<std::string> merges;     // BPE merges "a b", rank = index
  int32_t bos = -1, eos = -1, eot = -1, unk = -1, pad = -1;
  bool add_bos = false, add_eos = false;
  bool add_space_prefix = true;        // SentencePiece: prepend "▁" to the text
};

class Tokenizer {
 public:
  explicit Tokenizer(TokenizerConfig config);  // throws omni::Error for an unusable vocabulary
  Tokenizer(Tokenizer&&) = default;             // movable (token views stay valid), not copyable
  Tokenizer& operator=(Tokenizer&&) = default;
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;
  // Reads tokenizer.ggml.* keys; throws omni::Error naming a missing key or unknown model/pre.
  static Tokenizer from_gguf(const gguf::File& file);

  // Text -> token ids. add_special: BOS/EOS as the vocabulary asks (add_bos/add_eos);
  // parse_special: control and user-defined token texts in `text` become those tokens.
  std::vector<int32_t> encode(std::string_view text, bool add_special = false, bool parse_special = true) const;
  // The bytes a token stands for (may be part of a UTF-8 character). Control tokens give "" unless
  // render_special.
  std::string token_to_piece(int32_t id, bool render_special = false) const;
  // Token ids -> text (SentencePiece: the leading space added at encoding is removed).
  std::string decode(const std::vector<int32_t>& ids, bool render_special = false) const;

  int n_vocab() const { return int(cfg_.tokens.size()); }
  int32_t bos() const { return cfg_.bos; }
  int32_t eos() const { return cfg_.eos; }
  bool add_bos() const { return cfg_.add_bos; }
  const std::string& model() const { return cfg_.model; }
  const std::string& pre() const { return cfg_.pre; }
  const std::string& token_text(int32_t id) const { return cfg_.tokens.at(size_t(id)); }
  TokenType token_type(int32_t id) const;
  bool is_special(int32_t id) const;       // control or user-defined
  bool is_end_of_generation(int32_t id) const;  // eos, eot, <|im_end|>, <|eot_id|>, <end_of_turn> ...
  const std::vector<int32_t>& end_of_generation_tokens() const { return eog_; }
  int32_t find_token(std::string_view text) const;  // id of a token with exactly this text, or -1

 private:
  struct Regex;  // compiled PCRE2 pattern (shared, immutable)
  void encode_bpe(std::string_view text, std::vector<int32_t>& out) const;
  void encode_spm(std::string_view text, bool at_start, std::vector<int32_t>& out) const;
  void bpe_word(std::string_view word, std::vector<int32_t>& out) const;

  TokenizerConfig cfg_;
  bool is_bpe_ = true;
  bool ignore_merges_ = false;             // llama-bpe: a pre-token in the vocabulary is emitted whole
  std::vector<std::shared_ptr<Regex>> pre_regexes_;
  std::unordered_map<std::string_view, int32_t> token_ids_;  // views into cfg_.tokens
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merge_ranks_;  // (a,b) -> (rank, merged id)
  std::vector<int32_t> specials_;          // control/user-defined ids sorted by text length, longest first
  int32_t byte_tokens_[256];               // BPE: id of each byte's unicode char; SPM: <0xXX> ids
  std::string byte_chars_[256];            // BPE: each byte's unicode char (UTF-8)
  int16_t cp_to_byte_[324];                // BPE: inverse of the byte -> code point table (-1: none)
  std::vector<int32_t> eog_;
};

// Turns a stream of token ids into text without ever splitting a UTF-8 character: bytes of an
// incomplete character are held back until the token that completes it arrives.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tok, bool render_special = false) : tok_(tok), render_special_(render_special) {}
  std::string push(int32_t id);  // text that is now complete (may be empty)
  std::string flush();           // whatever is held back (invalid bytes as U+FFFD)
  void reset() { pending_.clear(); first_ = true; }

 private:
  const Tokenizer& tok_;
  bool render_special_;
  bool first_ = true;
  std::string pending_;
};

// UTF-8 helpers shared by the text layer.
// Length of the complete UTF-8 prefix of s (incomplete trailing sequence excluded).
size_t utf8_complete_prefix(std::string_view s);
// Number of bytes of the UTF-8 sequence starting with byte c (1 for invalid lead bytes).
int utf8_len(unsigned char c);
std::string utf8_encode(uint32_t cp);

}  // namespace omni::text
