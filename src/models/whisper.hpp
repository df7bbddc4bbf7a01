// Whisper ASR on whisper.cpp legacy ggml files (all sizes, multilingual and .en, f32/f16/quantized),
// with OpenAI Whisper semantics (erf GELU, attention over exactly n_audio_ctx frames): encoder,
// decoder with self/cross-attention caches, and transcription (greedy / beam search, temperature
// fallback, timestamps, language detection, translate, initial prompt, 30 s seeking, VAD gating).
#pragma once
#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.hpp"
#include "core/thread_pool.hpp"
#include "formats/whisper_ggml.hpp"
#include "models/silero_vad.hpp"

namespace omni::whisper {

// Special token ids for a model's vocabulary size (spec §1.6).
struct SpecialTokens {
  int eot, sot, translate, transcribe, solm, prev, nosp, notimestamps, beg;
  int n_languages;
  bool multilingual;
  int lang(int k) const { return sot + 1 + k; }
};

// Language code <-> index in OpenAI's order ("en" = 0, "zh" = 1 ...); -1 when unknown.
int language_index(const std::string& code);
const char* language_code(int index);

// OpenAI Whisper's repetition measure: text bytes over zlib-compressed bytes (0 for empty text).
double compression_ratio(const std::string& text);

struct Options {
  std::string language = "en";   // a code, or "auto" to detect
  bool translate = false;
  bool timestamps = true;
  int beam_size = 1;             // > 1: beam search at temperature 0
  int best_of = 5;               // samples per fallback temperature > 0
  std::vector<float> temperatures = {0.0f, 0.2f, 0.4f, 0.6f, 0.8f, 1.0f};
  float compression_ratio_threshold = 2.4f;  // OpenAI's: text bytes / zlib-compressed bytes above
                                             // this means repetitive output -> next temperature
  float entropy_threshold = 2.4f;      // whisper.cpp's repetition check on the last 32 tokens
  float logprob_threshold = -1.0f;
  float no_speech_threshold = 0.6f;
  std::string initial_prompt;
  int max_tokens = 0;                  // > 0: stop each window after this many sampled tokens
  bool use_vad = false;                // needs `vad` set
  const vad::SileroVad* vad = nullptr;
  vad::VadParams vad_params;
  std::function<void(double)> progress;          // fraction done, 0..1
  std::vector<float>* first_prompt_logits = nullptr;  // filled with the raw logits of the last prompt
                                                      // position of the first window
};

struct Segment {
  double start = 0, end = 0;  // seconds
  std::string text;
  std::vector<int> tokens;
  float avg_logprob = 0, no_speech_prob = 0;
};

struct Transcript {
  std::string text;
  std::string language;
  std::vector<Segment> segments;
  double duration_s = 0;
};

// A linear layer: weights [n_out, k] of any supported type, optional f32 bias.
struct Linear {
  DType type = DType::f32;
  const void* w = nullptr;
  int64_t n_out = 0, k = 0;
  const float* b = nullptr;
};

struct LayerNorm {
  const float* g = nullptr;
  const float* b = nullptr;
};

struct Attention {
  Linear q, k, v, o;
  LayerNorm ln;
};

struct Block {
  Attention attn, cross;  // cross only in decoder blocks
  LayerNorm mlp_ln;
  Linear mlp0, mlp2;
};

// Cross-attention keys/values of one encoded 30 s window.
struct EncoderOutput {
  int64_t n_ctx = 0;
  std::vector<std::vector<float>> k, v;  // per decoder layer: [n_head, n_ctx, d_head] (head-major)
};

// Self-attention cache of one decoded sequence.
struct DecoderState {
  int n_past = 0;
  int64_t row = 0;                       // n_text_state
  std::vector<std::vector<float>> k, v;  // per layer: [n_text_ctx, n_text_state]
  void copy_from(const DecoderState& o) {  // copies only the filled positions
    n_past = o.n_past;
    for (size_t l = 0; l < k.size(); ++l) {
      std::copy_n(o.k[l].data(), size_t(o.n_past * row), k[l].data());
      std::copy_n(o.v[l].data(), size_t(o.n_past * row), v[l].data());
    }
  }
};


class Model {
 public:
  explicit Model(const std::string& path);  // throws omni::Error on a bad file
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const whisper_ggml::WhisperHParams& hparams() const { return hp_; }
  const SpecialTokens& tokens() const { return st_; }
  DType weight_type() const { return wtype_; }
  const std::vector<float>& mel_filters() const { return mel_filters_; }
  const std::string& token_text(int id) const;
  std::string size_name() const;  // "tiny", "base" ...

  // Transcribes 16 kHz mono audio. Thread-safe: all state is per call.
  Transcript transcribe(const std::vector<float>& samples, const Options& options, ThreadPool& pool) const;

  // Low level (tests, benchmarks): encode a [n_mels, 3000] mel window.
  std::shared_ptr<EncoderOutput> encode(const float* mel_window, ThreadPool& pool) const;
  // Runs tokens at positions pos0.. through the decoder; returns logits [n, n_vocab] when all_logits,
  // else the last row only.
  std::vector<float> decode(const EncoderOutput& enc, DecoderState& state, const std::vector<int>& tokens,
                            ThreadPool& pool, bool all_logits = false) const;
  std::unique_ptr<DecoderState> new_state() const;
  // Encodes the first 30 s of `samples` and returns the raw logits after `prompt`.
  std::vector<float> logits_after_prompt(const std::vector<float>& samples, const std::vector<int>& prompt,
                                         ThreadPool& pool) const;
  // Detects the language of a mel window: (code, probability).
  std::pair<std::string, float> detect_language(const EncoderOutput& enc, ThreadPool& pool) const;

  // Byte-level BPE encoding of text with the model's vocabulary (greedy merges by rank = token id).
  std::vector<int> tokenize(const std::string& text) const;

 private:
  friend struct Decoding;
  void batch_forward(const EncoderOutput& enc, std::vector<DecoderState*>& states, const std::vector<int>& tokens,
                     const std::vector<int>& state_index, ThreadPool& pool, std::vector<float>& logits,
                     const std::vector<int>& logit_rows) const;

  size_t file_vocab_size() const { return n_file_vocab_; }
  whisper_ggml::WhisperFile file_;
  size_t n_file_vocab_ = 0;
  whisper_ggml::WhisperHParams hp_;
  SpecialTokens st_{};
  DType wtype_ = DType::f32;
  std::vector<float> mel_filters_;
  std::vector<std::string> vocab_;  // n_vocab strings (synthesized past the file's entries)
  std::vector<uint8_t> arena_;      // aligned copies of every tensor
  // encoder
  DType conv_type_ = DType::f16;
  const void* conv1_w_ = nullptr;
  const void* conv2_w_ = nullptr;
  const float* conv1_b_ = nullptr;
  const float* conv2_b_ = nullptr;
  const float* enc_pos_ = nullptr;
  std::vector<Block> enc_blocks_;
  LayerNorm ln_post_;
  // decoder
  const void* tok_emb_ = nullptr;  // [n_vocab, St] of wtype_
  const float* dec_pos_ = nullptr;
  std::vector<Block> dec_blocks_;
  LayerNorm dec_ln_;
};

}  // namespace omni::whisper
