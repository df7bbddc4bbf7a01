// Byte-level BPE and SentencePiece tokenizers (see tokenizer.hpp), special-token splitting, and the
// streaming detokenizer.
#include "text/tokenizer.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <cstring>

#include "formats/gguf.hpp"
#include "omni/error.hpp"

namespace omni::text {

// ---------------------------------------------------------------- UTF-8 and byte mapping

int utf8_len(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) return 2;
  if ((c & 0xF0) == 0xE0) return 3;
  if ((c & 0xF8) == 0xF0) return 4;
  return 1;
}

std::string utf8_encode(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += char(cp);
  } else if (cp < 0x800) {
    s += char(0xC0 | (cp >> 6));
    s += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += char(0xE0 | (cp >> 12));
    s += char(0x80 | ((cp >> 6) & 0x3F));
    s += char(0x80 | (cp & 0x3F));
  } else {
    s += char(0xF0 | (cp >> 18));
    s += char(0x80 | ((cp >> 12) & 0x3F));
    s += char(0x80 | ((cp >> 6) & 0x3F));
    s += char(0x80 | (cp & 0x3F));
  }
  return s;
}

size_t utf8_complete_prefix(std::string_view s) {
  // Look back at most 3 bytes for a lead byte whose sequence runs past the end.
  const size_t n = s.size();
  for (size_t back = 1; back <= 4 && back <= n; ++back) {
    const unsigned char c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    const int len = utf8_len(c);
    return (size_t(len) > back) ? n - back : n;
  }
  return n;
}

namespace {

// GPT-2's byte -> unicode code point table (printable bytes map to themselves).
void byte_to_codepoint_table(uint32_t out[256]) {
  bool direct[256] = {};
  for (int b = '!'; b <= '~'; ++b) direct[b] = true;
  for (int b = 0xA1; b <= 0xAC; ++b) direct[b] = true;
  for (int b = 0xAE; b <= 0xFF; ++b) direct[b] = true;
  uint32_t next = 256;
  for (int b = 0; b < 256; ++b) out[b] = direct[b] ? uint32_t(b) : next++;
}

// Decodes one UTF-8 code point at s[i] (advances i); invalid bytes decode as themselves.
uint32_t next_codepoint(std::string_view s, size_t& i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  const int len = utf8_len(c);
  if (len == 1 || i + size_t(len) > s.size()) { ++i; return c; }
  uint32_t cp = c & (0xFF >> (len + 1));
  for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += size_t(len);
  return cp;
}

const char* const kPreGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
const char* const kPreQwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kPreLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

uint64_t pair_key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }

}  // namespace

struct Tokenizer::Regex {
  pcre2_code* code = nullptr;
  explicit Regex(const char* pattern) {
    int err = 0;
    PCRE2_SIZE off = 0;
    code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern), PCRE2_ZERO_TERMINATED,
                         PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &off, nullptr);
    if (!code) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof msg);
      fail(ErrorCode::internal, "pre-tokenizer regex does not compile at ", off, ": ", reinterpret_cast<char*>(msg));
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // optional speed-up; falls back to the interpreter
  }
  ~Regex() { pcre2_code_free(code); }
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Splits s into the regex's matches, keeping any unmatched stretch as its own piece.
  void split(std::string_view s, std::vector<std::string_view>& out) const {
    pcre2_match_data* md = pcre2_match_data_create_from_pattern(code, nullptr);
    size_t pos = 0, last = 0;
    while (pos < s.size()) {
      const int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), pos, 0, md, nullptr);
      if (rc < 0) break;
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
      const size_t b = ov[0], e = ov[1];
      if (b > last) out.push_back(s.substr(last, b - last));
      if (e > b) out.push_back(s.substr(b, e - b));
      last = e;
      pos = (e > b) ? e : e + size_t(utf8_len(static_cast<unsigned char>(s[e])));
    }
    if (last < s.size()) out.push_back(s.substr(last));
    pcre2_match_data_free(md);
  }
};

// ---------------------------------------------------------------- construction

Tokenizer::Tokenizer(TokenizerConfig config) : cfg_(std::move(config)) {
  std::fill(std::begin(cp_to_byte_), std::end(cp_to_byte_), int16_t(-1));
  const int n = int(cfg_.tokens.size());
  if (n == 0) fail(ErrorCode::invalid_file, "tokenizer: the vocabulary is empty");
  if (!cfg_.types.empty() && int(cfg_.types.size()) != n)
    fail(ErrorCode::invalid_file, "tokenizer: token_type has ", cfg_.types.size(), " entries for ", n, " tokens");
  if (!cfg_.scores.empty() && int(cfg_.scores.size()) != n)
    fail(ErrorCode::invalid_file, "tokenizer: scores has ", cfg_.scores.size(), " entries for ", n, " tokens");
  for (int32_t* id : {&cfg_.bos, &cfg_.eos, &cfg_.eot, &cfg_.unk, &cfg_.pad})
    if (*id >= n) *id = -1;  // out-of-range special ids are ignored, as llama.cpp does
  token_ids_.reserve(size_t(n));
  for (int i = 0; i < n; ++i) token_ids_.emplace(std::string_view(cfg_.tokens[size_t(i)]), i);

  if (cfg_.model == "gpt2") {
    is_bpe_ = true;
    const std::string& p = cfg_.pre;
    const char* pattern = kPreGpt2;
    if (p == "qwen2" || p == "deepseek-r1-qwen") pattern = kPreQwen2;
    else if (p == "llama-bpe" || p == "llama3" || p == "smaug-bpe") { pattern = kPreLlama3; ignore_merges_ = true; }
    else if (p == "default" || p == "gpt2" || p == "gpt-2" || p.empty() || p == "smollm") pattern = kPreGpt2;
    else fail(ErrorCode::unsupported, "tokenizer: unsupported BPE pre-tokenizer '", p,
              "' (supported: default, gpt2, qwen2, llama-bpe)");
    pre_regexes_.push_back(std::make_shared<Regex>(pattern));
    uint32_t cps[256];
    byte_to_codepoint_table(cps);
    for (int b = 0; b < 256; ++b) {
      byte_chars_[b] = utf8_encode(cps[b]);
      cp_to_byte_[cps[b]] = int16_t(b);
      auto it = token_ids_.find(byte_chars_[b]);
      byte_tokens_[b] = it == token_ids_.end() ? -1 : it->second;
    }
    merge_ranks_.reserve(cfg_.merges.size());
    for (size_t r = 0; r < cfg_.merges.size(); ++r) {
      const std::string& m = cfg_.merges[r];
      for (size_t sp = m.find(' '); sp != std::string::npos; sp = m.find(' ', sp + 1)) {
        const std::string_view mv(m);
        auto a = token_ids_.find(mv.substr(0, sp)), b = token_ids_.find(mv.substr(sp + 1));
        const std::string joined = m.substr(0, sp) + m.substr(sp + 1);
        auto ab = token_ids_.find(joined);
        if (a == token_ids_.end() || b == token_ids_.end()) continue;
        if (ab != token_ids_.end()) merge_ranks_.emplace(pair_key(a->second, b->second), std::make_pair(int32_t(r), ab->second));
        break;
      }
    }
    cfg_.merges.clear();  // only needed to build merge_ranks_
    cfg_.merges.shrink_to_fit();
  } else if (cfg_.model == "llama") {
    is_bpe_ = false;
    if (cfg_.scores.empty()) cfg_.scores.assign(size_t(n), 0.0f);
    for (int b = 0; b < 256; ++b) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "<0x%02X>", b);
      auto it = token_ids_.find(buf);
      byte_tokens_[b] = it == token_ids_.end() ? -1 : it->second;
    }
  } else {
    fail(ErrorCode::unsupported, "tokenizer: unsupported tokenizer model '", cfg_.model,
         "' (supported: gpt2 = byte-level BPE, llama = SentencePiece)");
  }

  for (int i = 0; i < n; ++i)
    if (is_special(i) && !cfg_.tokens[size_t(i)].empty()) specials_.push_back(i);
  std::stable_sort(specials_.begin(), specials_.end(), [&](int32_t a, int32_t b) {
    return cfg_.tokens[size_t(a)].size() > cfg_.tokens[size_t(b)].size();
  });

  auto add_eog = [&](int32_t id) {
    if (id >= 0 && std::find(eog_.begin(), eog_.end(), id) == eog_.end()) eog_.push_back(id);
  };
  add_eog(cfg_.eos);
  add_eog(cfg_.eot);
  for (const char* t : {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>"}) {
    const int32_t id = find_token(t);
    if (id >= 0 && token_type(id) == TokenType::control) add_eog(id);
  }
}

Tokenizer Tokenizer::from_gguf(const gguf::File& f) {
  TokenizerConfig c;
  c.model = f.get_string("tokenizer.ggml.model", "");
  if (c.model.empty()) fail(ErrorCode::not_found, f.path(), ": no tokenizer (tokenizer.ggml.model is missing)");
  c.pre = f.get_string("tokenizer.ggml.pre", "default");
  for (const auto& v : f.get("tokenizer.ggml.tokens").as_array("tokenizer.ggml.tokens"))
    c.tokens.push_back(v.as_string("tokenizer.ggml.tokens"));
  if (const auto* v = f.find("tokenizer.ggml.scores"))
    for (const auto& s : v->as_array("tokenizer.ggml.scores")) c.scores.push_back(float(s.as_float("tokenizer.ggml.scores")));
  if (const auto* v = f.find("tokenizer.ggml.token_type"))
    for (const auto& s : v->as_array("tokenizer.ggml.token_type")) c.types.push_back(int32_t(s.as_int("tokenizer.ggml.token_type")));
  if (const auto* v = f.find("tokenizer.ggml.merges"))
    for (const auto& s : v->as_array("tokenizer.ggml.merges")) c.merges.push_back(s.as_string("tokenizer.ggml.merges"));
  c.bos = int32_t(f.get_int("tokenizer.ggml.bos_token_id", -1));
  c.eos = int32_t(f.get_int("tokenizer.ggml.eos_token_id", -1));
  c.eot = int32_t(f.get_int("tokenizer.ggml.eot_token_id", -1));
  c.unk = int32_t(f.get_int("tokenizer.ggml.unknown_token_id", -1));
  c.pad = int32_t(f.get_int("tokenizer.ggml.padding_token_id", -1));
  c.add_bos = f.get_bool("tokenizer.ggml.add_bos_token", c.model == "llama");
  c.add_eos = f.get_bool("tokenizer.ggml.add_eos_token", false);
  c.add_space_prefix = f.get_bool("tokenizer.ggml.add_space_prefix", true);
  return Tokenizer(std::move(c));
}

// ---------------------------------------------------------------- queries

TokenType Tokenizer::token_type(int32_t id) const {
  if (id < 0 || id >= n_vocab()) return TokenType::undefined;
  return cfg_.types.empty() ? TokenType::normal : TokenType(cfg_.types[size_t(id)]);
}

bool Tokenizer::is_special(int32_t id) const {
  const TokenType t = token_type(id);
  return t == TokenType::control || t == TokenType::user_defined;
}

bool Tokenizer::is_end_of_generation(int32_t id) const {
  return std::find(eog_.begin(), eog_.end(), id) != eog_.end();
}

int32_t Tokenizer::find_token(std::string_view text) const {
  auto it = token_ids_.find(text);
  return it == token_ids_.end() ? -1 : it->second;
}

// ---------------------------------------------------------------- encoding

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  std::vector<int32_t> out;
  if (add_special && cfg_.add_bos && cfg_.bos >= 0) out.push_back(cfg_.bos);
  bool at_start = true;  // SentencePiece adds its leading space to text after a special token
  auto encode_text = [&](std::string_view seg) {
    if (seg.empty()) return;
    if (is_bpe_) encode_bpe(seg, out);
    else encode_spm(seg, at_start, out);
    at_start = false;
  };
  size_t seg_begin = 0;
  if (parse_special && !specials_.empty()) {
    bool first_byte[256] = {};
    for (int32_t id : specials_) first_byte[static_cast<unsigned char>(cfg_.tokens[size_t(id)][0])] = true;
    size_t i = 0;
    while (i < text.size()) {
      int32_t hit = -1;
      if (first_byte[static_cast<unsigned char>(text[i])]) {
        for (int32_t id : specials_) {
          const std::string& t = cfg_.tokens[size_t(id)];
          if (text.compare(i, t.size(), t) == 0) { hit = id; break; }
        }
      }
      if (hit < 0) { ++i; continue; }
      encode_text(text.substr(seg_begin, i - seg_begin));
      out.push_back(hit);
      at_start = true;
      i += cfg_.tokens[size_t(hit)].size();
      seg_begin = i;
    }
  }
  encode_text(text.substr(seg_begin));
  if (add_special && cfg_.add_eos && cfg_.eos >= 0) out.push_back(cfg_.eos);
  return out;
}

void Tokenizer::encode_bpe(std::string_view text, std::vector<int32_t>& out) const {
  std::vector<std::string_view> words;
  pre_regexes_[0]->split(text, words);
  for (std::string_view w : words) bpe_word(w, out);
}

void Tokenizer::bpe_word(std::string_view word, std::vector<int32_t>& out) const {
  if (ignore_merges_) {
    std::string mapped;
    for (char c : word) mapped += byte_chars_[static_cast<unsigned char>(c)];
    auto it = token_ids_.find(mapped);
    if (it != token_ids_.end()) { out.push_back(it->second); return; }
  }
  std::vector<int32_t> parts;
  parts.reserve(word.size());
  for (char c : word) {
    const int32_t id = byte_tokens_[static_cast<unsigned char>(c)];
    if (id >= 0) parts.push_back(id);
    else if (cfg_.unk >= 0) parts.push_back(cfg_.unk);
  }
  // Lowest-rank pair first; every non-overlapping occurrence of it merged left to right.
  while (parts.size() > 1) {
    int32_t best_rank = INT32_MAX, best_a = -1, best_b = -1, merged = -1;
    for (size_t k = 0; k + 1 < parts.size(); ++k) {
      auto it = merge_ranks_.find(pair_key(parts[k], parts[k + 1]));
      if (it != merge_ranks_.end() && it->second.first < best_rank) {
        best_rank = it->second.first;
        best_a = parts[k];
        best_b = parts[k + 1];
        merged = it->second.second;
      }
    }
    if (merged < 0) break;
    size_t o = 0;
    for (size_t k = 0; k < parts.size();) {
      if (k + 1 < parts.size() && parts[k] == best_a && parts[k + 1] == best_b) {
        parts[o++] = merged;
        k += 2;
      } else {
        parts[o++] = parts[k++];
      }
    }
    parts.resize(o);
  }
  out.insert(out.end(), parts.begin(), parts.end());
}

void Tokenizer::encode_spm(std::string_view text, bool at_start, std::vector<int32_t>& out) const {
  std::string s;
  if (cfg_.add_space_prefix && at_start) s += "\xE2\x96\x81";
  for (char c : text) {
    if (c == ' ') s += "\xE2\x96\x81";
    else s += c;
  }
  // Symbols start as single UTF-8 characters; the adjacent pair whose concatenation is the
  // highest-scoring vocabulary token is merged first (ties: leftmost).
  std::vector<std::string> sym;
  for (size_t i = 0; i < s.size();) {
    size_t len = std::min(size_t(utf8_len(static_cast<unsigned char>(s[i]))), s.size() - i);
    sym.emplace_back(s.substr(i, len));
    i += len;
  }
  while (sym.size() > 1) {
    float best = 0;
    size_t best_k = SIZE_MAX;
    for (size_t k = 0; k + 1 < sym.size(); ++k) {
      const std::string joined = sym[k] + sym[k + 1];
      auto it = token_ids_.find(joined);
      if (it == token_ids_.end()) continue;
      const TokenType t = token_type(it->second);
      if (t != TokenType::normal && t != TokenType::user_defined && t != TokenType::undefined) continue;
      const float sc = cfg_.scores[size_t(it->second)];
      if (best_k == SIZE_MAX || sc > best) { best = sc; best_k = k; }
    }
    if (best_k == SIZE_MAX) break;
    sym[best_k] += sym[best_k + 1];
    sym.erase(sym.begin() + std::ptrdiff_t(best_k) + 1);
  }
  for (const std::string& p : sym) {
    auto it = token_ids_.find(p);
    if (it != token_ids_.end()) { out.push_back(it->second); continue; }
    for (char c : p) {  // byte fallback
      const int32_t id = byte_tokens_[static_cast<unsigned char>(c)];
      if (id >= 0) out.push_back(id);
      else if (cfg_.unk >= 0) out.push_back(cfg_.unk);
    }
  }
}

// ---------------------------------------------------------------- decoding

std::string Tokenizer::token_to_piece(int32_t id, bool render_special) const {
  if (id < 0 || id >= n_vocab()) fail(ErrorCode::invalid_argument, "token id ", id, " is outside the vocabulary (", n_vocab(), ")");
  const std::string& t = cfg_.tokens[size_t(id)];
  const TokenType type = token_type(id);
  if (type == TokenType::control) return render_special ? t : std::string();
  if (type == TokenType::user_defined) return t;
  if (is_bpe_) {
    std::string out;
    for (size_t i = 0; i < t.size();) {
      const size_t start = i;
      const uint32_t cp = next_codepoint(t, i);
      if (cp < 324 && cp_to_byte_[cp] >= 0) out += char(cp_to_byte_[cp]);
      else out.append(t, start, i - start);  // not a byte character: keep it as written
    }
    return out;
  }
  if (type == TokenType::byte) {
    unsigned v = 0;
    if (t.size() == 6 && std::sscanf(t.c_str(), "<0x%02X>", &v) == 1) return std::string(1, char(v));
    return t;
  }
  if (type == TokenType::unknown) return "\xE2\x96\x85";
  std::string out;
  for (size_t i = 0; i < t.size();) {
    if (t.compare(i, 3, "\xE2\x96\x81") == 0) { out += ' '; i += 3; }
    else out += t[i++];
  }
  return out;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool render_special) const {
  StreamDecoder d(*this, render_special);
  std::string out;
  for (int32_t id : ids) out += d.push(id);
  return out + d.flush();
}

std::string StreamDecoder::push(int32_t id) {
  std::string piece = tok_.token_to_piece(id, render_special_);
  if (first_ && tok_.model() == "llama" && !piece.empty()) {
    if (piece[0] == ' ') piece.erase(0, 1);  // the leading space SentencePiece encoding added
  }
  if (!piece.empty()) first_ = false;
  pending_ += piece;
  const size_t n = utf8_complete_prefix(pending_);
  std::string out = pending_.substr(0, n);
  pending_.erase(0, n);
  if (pending_.size() >= 4) {  // cannot become valid any more
    out += "\xEF\xBF\xBD";
    pending_.clear();
  }
  return out;
}

std::string StreamDecoder::flush() {
  std::string out;
  if (!pending_.empty()) out = "\xEF\xBF\xBD";
  pending_.clear();
  return out;
}

}  // namespace omni::text
