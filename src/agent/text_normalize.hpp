// Utterance normalization for the tier-0 matcher: lower-case words, punctuation dropped, each CJK
// character its own token, numbers (digits, English number words, Chinese numerals) as one token.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace omni::agent {

struct WordToken {
  std::string text;      // normalized ("light", "灯", "#num" for numbers)
  bool is_number = false;
  double number = 0;     // value when is_number
  size_t begin = 0;      // byte range in the original text
  size_t end = 0;
  bool cjk = false;      // a CJK character (joined without spaces when captured)
};

// Splits and normalizes; never throws (invalid UTF-8 bytes are treated as separators).
std::vector<WordToken> normalize_utterance(const std::string& text);

// True when the text contains CJK characters (replies are then given in Chinese when possible).
bool has_cjk(const std::string& text);

}  // namespace omni::agent
