// The text side of a generation loop: token pieces through a UTF-8-safe decoder, output cut before
// the first stop string, and a tail that may still become a stop string held back from streaming.
// Shared by Session::generate and the batch scheduler so both stream exactly the same text.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "text/tokenizer.hpp"

namespace omni::runtime {

class GenerationText {
 public:
  GenerationText(const text::Tokenizer& tok, std::vector<std::string> stop);
  // Appends a generated token; returns the text that became final (may be empty).
  std::string push(int32_t token);
  // At the end: the text still held back (nothing after a stop string).
  std::string finish();
  bool stopped() const { return stopped_; }  // a stop string was found; text() ends before it
  const std::string& text() const { return text_; }

 private:
  text::StreamDecoder dec_;
  std::vector<std::string> stop_;
  size_t max_stop_ = 0;
  std::string text_;
  size_t emitted_ = 0;  // bytes of text_ handed out
  bool stopped_ = false;
};

}  // namespace omni::runtime
