// runtime::Model loading: maps the GGUF file, builds the decoder and the tokenizer from it.
#include "runtime/model.hpp"

#include <malloc.h>

#include "omni/error.hpp"

namespace omni::runtime {

std::shared_ptr<const Model> Model::load(const std::string& path, const ModelOptions& options) {
  std::shared_ptr<Model> m(new Model());
  m->file_ = std::make_unique<gguf::File>(gguf::File::open(path));
  m->decoder_ = std::make_unique<models::LlamaModel>(models::LlamaModel::load(*m->file_));
  m->tokenizer_ = std::make_unique<text::Tokenizer>(text::Tokenizer::from_gguf(*m->file_));
  if (m->tokenizer_->n_vocab() != m->n_vocab())
    fail(ErrorCode::invalid_file, path, ": tokenizer has ", m->tokenizer_->n_vocab(), " tokens, the model ", m->n_vocab());
  // The tokenizer keeps its own copy of the vocabulary: free the metadata's (a 151,936-token
  // vocabulary and its merges are ~20 MiB of small strings) and give the pages back.
  m->file_->release({"tokenizer.ggml.tokens", "tokenizer.ggml.merges", "tokenizer.ggml.scores", "tokenizer.ggml.token_type"});
  ::malloc_trim(0);
  if (options.prefault) {
    volatile uint8_t sink = 0;
    for (const auto& t : m->file_->tensors())
      for (uint64_t i = 0; i < t.n_bytes; i += 4096) sink = sink + t.data[i];
    (void)sink;
  }
  return m;
}

}  // namespace omni::runtime
