// Images in LLM prompts: a vision encoder bound to a text model (widths checked), an LRU cache of
// encoded images keyed by image hash (a multi-turn conversation does not re-encode a picture), and
// the builder that expands each image marker of a prompt into the family's marker tokens and
// embedding rows, ready for Session::eval_mixed.
#pragma once
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "models/mmproj.hpp"
#include "models/mmproj_prompt.hpp"
#include "runtime/model.hpp"

namespace omni::runtime {

struct EncodedImage {
  models::VisionInput layout;                   // tile grid (pixel data dropped after encoding)
  std::vector<models::VisionEmbedding> chunks;  // one per pixel image, in VisionInput order
  int n_tokens = 0;                             // all embedding rows
};

class VisionContext {
 public:
  // Throws invalid_argument when the projector's width differs from the text model's.
  VisionContext(std::shared_ptr<const models::VisionModel> mmproj, const Model& text_model, size_t cache_capacity = 16);

  // Encodes (or returns the cached encoding of) an image. Thread-safe.
  std::shared_ptr<const EncodedImage> encode(ThreadPool& pool, const vision::Image& image);

  const models::VisionModel& mmproj() const { return *mmproj_; }
  std::shared_ptr<const models::VisionModel> mmproj_shared() const { return mmproj_; }
  size_t cache_hits() const { return hits_; }
  size_t cache_misses() const { return misses_; }

 private:
  std::shared_ptr<const models::VisionModel> mmproj_;
  size_t capacity_;
  std::mutex mutex_;
  std::list<uint64_t> lru_;  // most recent first
  std::unordered_map<uint64_t, std::pair<std::shared_ptr<const EncodedImage>, std::list<uint64_t>::iterator>> cache_;
  size_t hits_ = 0, misses_ = 0;
};

// A prompt ready for Session::eval_mixed: tokens (Session::kEmbeddingInput where a row of embd
// goes) and the embedding rows [n_image_rows, n_embd].
struct MixedPrompt {
  std::vector<int32_t> tokens;
  std::vector<float> embd;
  int n_image_rows = 0;
  std::vector<int> image_row_starts;  // index in tokens where each image's first row is
  struct Chunk {
    int start, n_rows, grid_x, grid_y;  // one encoded pixel image: its rows and merged grid
  };
  std::vector<Chunk> chunks;
};

// RoPE positions for evaluating prompt.tokens[from..] after `start` (the position of tokens[0]):
// empty for ordinary models (consecutive positions), three planes t, h, w for M-RoPE models
// (qwen2vl): text tokens (p, p, p); an image's rows (p, p + row, p + col), the text after it
// resuming at p + max(nx, ny). Ready for Session::eval_mixed.
std::vector<int32_t> mixed_positions(const Model& model, const MixedPrompt& prompt, int32_t start, size_t from = 0);

// Splits `text` at models::kImageMarker ("<__media__>"); the k-th marker takes images[k] (a count
// mismatch is an invalid_argument error). Text is tokenized with special tokens parsed; add_bos
// prepends BOS when the vocabulary wants it.
MixedPrompt build_mixed_prompt(const Model& model, VisionContext& vision, ThreadPool& pool, std::string_view text,
                               const std::vector<vision::Image>& images, bool add_bos);

}  // namespace omni::runtime
