// Vision context (encoder + embedding cache) and the mixed text/image prompt builder.
#include "runtime/multimodal.hpp"

#include "omni/error.hpp"
#include "runtime/session.hpp"

namespace omni::runtime {

VisionContext::VisionContext(std::shared_ptr<const models::VisionModel> mmproj, const Model& text_model,
                             size_t cache_capacity)
    : mmproj_(std::move(mmproj)), capacity_(std::max<size_t>(1, cache_capacity)) {
  models::check_text_width(*mmproj_, text_model.n_embd());
}

std::shared_ptr<const EncodedImage> VisionContext::encode(ThreadPool& pool, const vision::Image& image) {
  const uint64_t key = vision::image_hash(image);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      lru_.erase(it->second.second);
      lru_.push_front(key);
      it->second.second = lru_.begin();
      ++hits_;
      return it->second.first;
    }
    ++misses_;
  }
  auto enc = std::make_shared<EncodedImage>();
  models::VisionInput input = mmproj_->preprocess(image);
  for (const auto& px : input.images) {
    enc->chunks.push_back(mmproj_->encode(pool, px));
    enc->n_tokens += enc->chunks.back().n_tokens;
  }
  for (auto& px : input.images) px.planar.clear();
  enc->layout = std::move(input);
  std::lock_guard<std::mutex> lock(mutex_);
  if (!cache_.count(key)) {
    lru_.push_front(key);
    cache_[key] = {enc, lru_.begin()};
    while (cache_.size() > capacity_) {
      cache_.erase(lru_.back());
      lru_.pop_back();
    }
  }
  return enc;
}

MixedPrompt build_mixed_prompt(const Model& model, VisionContext& vision, ThreadPool& pool, std::string_view text,
                               const std::vector<vision::Image>& images, bool add_bos) {
  const std::string_view marker = models::kImageMarker;
  size_t n_markers = 0;
  for (size_t p = text.find(marker); p != std::string_view::npos; p = text.find(marker, p + marker.size())) ++n_markers;
  if (n_markers != images.size())
    fail(ErrorCode::invalid_argument, "the prompt has ", n_markers, " image marker(s) ", marker, " but ", images.size(),
         " image(s) were given");
  const auto& tok = model.tokenizer();
  const int n_embd = model.n_embd();
  MixedPrompt out;
  if (add_bos && tok.add_bos() && tok.bos() >= 0) out.tokens.push_back(tok.bos());
  auto add_text = [&](std::string_view s) {
    if (s.empty()) return;
    const auto ids = tok.encode(s, false, true);
    out.tokens.insert(out.tokens.end(), ids.begin(), ids.end());
  };
  size_t pos = 0;
  for (size_t k = 0; k < images.size(); ++k) {
    const size_t at = text.find(marker, pos);
    add_text(text.substr(pos, at - pos));
    pos = at + marker.size();
    const auto enc = vision.encode(pool, images[k]);
    out.image_row_starts.push_back(int(out.tokens.size()));
    for (const auto& piece : models::image_prompt_pieces(vision.mmproj(), enc->layout)) {
      if (!piece.is_image()) {
        add_text(piece.text);
        continue;
      }
      const auto& chunk = enc->chunks.at(size_t(piece.image_index));
      out.chunks.push_back({int(out.tokens.size()), chunk.n_tokens, chunk.grid_x, chunk.grid_y});
      out.tokens.insert(out.tokens.end(), size_t(chunk.n_tokens), Session::kEmbeddingInput);
      out.embd.insert(out.embd.end(), chunk.data.begin(), chunk.data.end());
      out.n_image_rows += chunk.n_tokens;
    }
  }
  add_text(text.substr(pos));
  if (out.embd.size() != size_t(out.n_image_rows) * size_t(n_embd))
    fail(ErrorCode::internal, "image embedding rows do not match the text model width");
  return out;
}

std::vector<int32_t> mixed_positions(const Model& model, const MixedPrompt& prompt, int32_t start, size_t from) {
  if (!model.hparams().mrope) return {};
  const size_t n = prompt.tokens.size();
  std::vector<int32_t> t(n), h(n), w(n);
  int32_t pos = start;
  size_t i = 0, c = 0;
  while (i < n) {
    if (c < prompt.chunks.size() && size_t(prompt.chunks[c].start) == i) {
      const auto& ch = prompt.chunks[c++];
      const bool grid = ch.grid_x > 0 && ch.grid_y > 0 && ch.grid_x * ch.grid_y == ch.n_rows;
      const auto p = models::mrope_image_positions(pos, grid ? ch.grid_x : ch.n_rows, grid ? ch.grid_y : 1);
      for (int r = 0; r < ch.n_rows; ++r, ++i) {
        t[i] = p.t[size_t(r)];
        h[i] = p.h[size_t(r)];
        w[i] = p.w[size_t(r)];
      }
      pos = p.next_pos;
      continue;
    }
    t[i] = h[i] = w[i] = pos++;
    ++i;
  }
  std::vector<int32_t> planes;
  planes.reserve(3 * (n - from));
  for (const auto* plane : {&t, &h, &w}) planes.insert(planes.end(), plane->begin() + long(from), plane->end());
  return planes;
}

}  // namespace omni::runtime
