// The synthetic byte-level BPE vocabulary of random-weight models: GPT-2 byte symbols, merges
// learned from a built-in English/Chinese text, filler tokens and ChatML special tokens.
#include <algorithm>
#include <map>
#include <set>

#include "models/llm_random.hpp"
#include "omni/error.hpp"

namespace omni::models {

namespace {

constexpr const char* kCorpus =
    "turn on the kitchen light. turn off the bedroom fan. open the camera and take a photo.\n"
    "share this table with the team. send the picture to my manager. set the living room temperature to 22 degrees.\n"
    "place a small sofa near the window. what style of furniture fits this room? light wood, minimal, bright.\n"
    "The quick brown fox jumps over the lazy dog 1234567890 times! Hello, world. It's 10:30; we'll see.\n"
    "Please read the message again and tell me what the weather will be like in the morning.\n"
    "I would like to order a coffee with milk, and then remind me about the meeting at three o'clock.\n"
    "The assistant answers questions, controls the lights, plays music and describes what it sees.\n"
    "When the user says stop, the music stops; when the user says next, the next song starts playing.\n"
    "In the evening the house is quiet, the lights are warm and the windows are closed against the rain.\n"
    "There are three apples on the table, two books on the shelf and one cat sleeping on the chair.\n"
    "把这个表格发给李经理。打开相机。把客厅的灯调暗一点。这个房间适合放什么风格的家具？北欧简约风格。\n"
    "今天天气很好，我们一起去公园散步吧。请帮我设置明天早上七点的闹钟。播放一首轻松的音乐。\n"
    "你好，世界！我是一个可以听、看、理解和行动的助手。请告诉我你需要什么帮助。\n";

constexpr const char* kSpecial[3] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};

// GPT-2's byte -> printable code point table, as UTF-8 strings.
std::vector<std::string> byte_symbols() {
  std::vector<int> cps(256, -1);
  for (int b = '!'; b <= '~'; ++b) cps[size_t(b)] = b;
  for (int b = 0xA1; b <= 0xAC; ++b) cps[size_t(b)] = b;
  for (int b = 0xAE; b <= 0xFF; ++b) cps[size_t(b)] = b;
  int n = 0;
  for (int b = 0; b < 256; ++b)
    if (cps[size_t(b)] < 0) cps[size_t(b)] = 256 + n++;
  std::vector<std::string> out(256);
  for (int b = 0; b < 256; ++b) {
    const int cp = cps[size_t(b)];
    std::string s;
    if (cp < 0x80) s += char(cp);
    else {
      s += char(0xC0 | (cp >> 6));
      s += char(0x80 | (cp & 0x3F));
    }
    out[size_t(b)] = s;
  }
  return out;
}

enum class CharClass { letter, digit, space, newline, other };

// Decodes one UTF-8 code point at s[i] (advancing i) and classifies it: ASCII letters and
// non-ASCII characters other than CJK punctuation count as letters.
CharClass next_char(const std::string& s, size_t& i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    ++i;
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return CharClass::letter;
    if (c >= '0' && c <= '9') return CharClass::digit;
    if (c == '\n' || c == '\r') return CharClass::newline;
    if (c == ' ' || c == '\t') return CharClass::space;
    return CharClass::other;
  }
  const int len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
  uint32_t cp = c & (0xFF >> (len + 1));
  for (int k = 1; k < len && i + size_t(k) < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + size_t(k)]) & 0x3F);
  i += size_t(len);
  const bool cjk_punct = (cp >= 0x3000 && cp <= 0x303F) || (cp >= 0xFF00 && cp <= 0xFF20);
  return cjk_punct ? CharClass::other : CharClass::letter;
}

// A simplified form of the qwen2 / llama-bpe pre-split: " ?letters+", digits (1 or up to 3),
// " ?other+", newline runs, space runs.
std::vector<std::string> pre_split(const std::string& text, bool llama3) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < text.size()) {
    const size_t start = i;
    size_t j = i;
    CharClass k = next_char(text, j);
    if (k == CharClass::space && j < text.size()) {
      size_t j2 = j;
      const CharClass k2 = next_char(text, j2);
      if (k2 == CharClass::letter || k2 == CharClass::other) {
        k = k2;
        j = j2;
      }
    }
    i = j;
    if (k == CharClass::letter || k == CharClass::other || k == CharClass::space || k == CharClass::newline) {
      while (i < text.size()) {
        size_t j3 = i;
        if (next_char(text, j3) != k) break;
        i = j3;
      }
    } else if (k == CharClass::digit && llama3) {
      for (int n = 1; n < 3 && i < text.size(); ++n) {
        size_t j3 = i;
        if (next_char(text, j3) != CharClass::digit) break;
        i = j3;
      }
    }
    words.push_back(text.substr(start, i - start));
  }
  return words;
}

}  // namespace

SyntheticVocab build_synthetic_vocab(int64_t n_vocab, bool llama3_split) {
  if (n_vocab < 256 + 3 + 1)
    fail(ErrorCode::invalid_argument, "n_vocab ", n_vocab, " is too small: the byte-level vocabulary needs at least 260 tokens");
  const auto sym = byte_symbols();
  // Words as sequences of symbols, with counts.
  std::map<std::vector<std::string>, int64_t> words;
  for (const auto& w : pre_split(kCorpus, llama3_split)) {
    std::vector<std::string> seq;
    for (unsigned char c : w) seq.push_back(sym[c]);
    words[seq]++;
  }
  SyntheticVocab v;
  v.tokens = sym;
  std::set<std::string> known(sym.begin(), sym.end());
  const int64_t max_tokens = n_vocab - 3 - 1;  // keep room for the specials and one filler
  while (int64_t(v.tokens.size()) < max_tokens) {
    std::map<std::pair<std::string, std::string>, int64_t> pairs;
    for (const auto& [w, c] : words)
      for (size_t i = 0; i + 1 < w.size(); ++i) pairs[{w[i], w[i + 1]}] += c;
    if (pairs.empty()) break;
    // Most frequent pair; ties broken by the smallest pair (deterministic).
    auto best = pairs.begin();
    for (auto it = pairs.begin(); it != pairs.end(); ++it)
      if (it->second > best->second) best = it;
    const auto [a, b] = best->first;
    v.merges.push_back(a + " " + b);
    if (known.insert(a + b).second) v.tokens.push_back(a + b);
    std::map<std::vector<std::string>, int64_t> merged;
    for (const auto& [w, c] : words) {
      std::vector<std::string> o;
      for (size_t i = 0; i < w.size(); ++i) {
        if (i + 1 < w.size() && w[i] == a && w[i + 1] == b) {
          o.push_back(a + b);
          ++i;
        } else {
          o.push_back(w[i]);
        }
      }
      merged[o] += c;
    }
    words = std::move(merged);
  }
  v.token_types.assign(v.tokens.size(), 1);
  for (int64_t i = 0; int64_t(v.tokens.size()) < n_vocab - 3; ++i) {
    v.tokens.push_back(cat("<filler_", i, ">"));
    v.token_types.push_back(1);
  }
  for (const char* s : kSpecial) {
    v.tokens.push_back(s);
    v.token_types.push_back(3);
  }
  v.bos_id = uint32_t(n_vocab - 3);  // <|endoftext|>
  v.eos_id = uint32_t(n_vocab - 1);  // <|im_end|>
  v.pad_id = uint32_t(n_vocab - 3);
  return v;
}

}  // namespace omni::models
