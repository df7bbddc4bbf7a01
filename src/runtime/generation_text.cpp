// GenerationText: stop strings and UTF-8-safe streaming of generated text.
#include "runtime/generation_text.hpp"

#include <algorithm>

namespace omni::runtime {

GenerationText::GenerationText(const text::Tokenizer& tok, std::vector<std::string> stop)
    : dec_(tok), stop_(std::move(stop)) {
  for (const auto& s : stop_) max_stop_ = std::max(max_stop_, s.size());
}

std::string GenerationText::push(int32_t token) {
  text_ += dec_.push(token);
  if (max_stop_ > 0) {
    const size_t from = emitted_ > max_stop_ ? emitted_ - max_stop_ : 0;
    size_t cut = std::string::npos;
    for (const auto& s : stop_)
      if (!s.empty()) cut = std::min(cut, text_.find(s, from));
    if (cut != std::string::npos) {
      text_.resize(cut);
      stopped_ = true;
    }
  }
  size_t safe = text_.size();
  if (!stopped_) {  // hold back a tail that may begin a stop string
    for (const auto& s : stop_)
      for (size_t k = std::min(s.size() - 1, text_.size()); k > 0; --k)
        if (text_.compare(text_.size() - k, k, s, 0, k) == 0) { safe = std::min(safe, text_.size() - k); break; }
  }
  safe = std::max(safe, emitted_);
  std::string out = text_.substr(emitted_, safe - emitted_);
  emitted_ = safe;
  return out;
}

std::string GenerationText::finish() {
  if (stopped_) return {};
  text_ += dec_.flush();
  std::string out = text_.substr(emitted_);
  emitted_ = text_.size();
  return out;
}

}  // namespace omni::runtime
