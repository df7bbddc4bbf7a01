// runtime::Model: an LLM loaded from a GGUF file — the mapped weights, the decoder and the
// tokenizer. Immutable after loading, so one Model is shared by any number of Sessions and threads.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "formats/gguf.hpp"
#include "models/llama.hpp"
#include "text/tokenizer.hpp"

namespace omni::runtime {

struct ModelOptions {
  // Reserved for loading choices (e.g. memory locking); the defaults load everything zero-copy.
  bool prefault = false;  // touch every weight page at load (slower load, steadier first token)
};

class Model {
 public:
  // Maps and validates a GGUF file; throws omni::Error naming the problem (unknown architecture,
  // missing tensor, wrong shape, unsupported type, tokenizer problems ...).
  static std::shared_ptr<const Model> load(const std::string& path, const ModelOptions& options = {});

  const text::Tokenizer& tokenizer() const { return *tokenizer_; }
  const text::Tokenizer& vocab() const { return *tokenizer_; }  // token id <-> bytes, specials, bos/eos
  const models::LlamaModel& decoder() const { return *decoder_; }
  const models::LlamaHParams& hparams() const { return decoder_->hparams(); }
  const gguf::File& file() const { return *file_; }

  int n_vocab() const { return hparams().n_vocab; }
  int n_embd() const { return hparams().n_embd; }      // width of rows given to Session::eval_mixed
  int n_ctx_train() const { return hparams().n_ctx_train; }
  const std::string& architecture() const { return hparams().arch; }
  std::string name() const { return file_->get_string("general.name", ""); }
  const std::string& path() const { return file_->path(); }
  uint64_t file_size() const { return file_->file_size(); }
  // The Jinja chat template the file carries (tokenizer.chat_template), or "" when none.
  std::string chat_template_source() const { return file_->get_string("tokenizer.chat_template", ""); }

 private:
  Model() = default;
  std::unique_ptr<gguf::File> file_;  // owns the mapping the decoder points into
  std::unique_ptr<models::LlamaModel> decoder_;
  std::unique_ptr<text::Tokenizer> tokenizer_;
};

}  // namespace omni::runtime
