// Readers for whisper.cpp's legacy ggml files: Whisper models ("ggml-*.bin": hparams, mel filters,
// vocabulary, tensor records) and the Silero VAD file. mmap, zero-copy; every count and size is
// validated, and truncated or malformed files give omni::Error naming the problem and the offset.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/dtype.hpp"
#include "core/mapped_file.hpp"

namespace omni::whisper_ggml {

constexpr uint32_t kMagic = 0x67676d6c;

struct TensorRecord {
  std::string name;
  DType type = DType::f32;
  int n_dims = 0;
  int64_t ne[4] = {1, 1, 1, 1};  // ggml order: ne[0] varies fastest
  const uint8_t* data = nullptr;
  size_t n_bytes = 0;
  size_t offset = 0;  // of the data in the file
  int64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
};

struct WhisperHParams {
  int32_t n_vocab = 0, n_audio_ctx = 0, n_audio_state = 0, n_audio_head = 0, n_audio_layer = 0;
  int32_t n_text_ctx = 0, n_text_state = 0, n_text_head = 0, n_text_layer = 0, n_mels = 0;
  int32_t ftype = 0;  // raw value (qntvr * 1000 + ftype)
};

struct WhisperFile {
  MappedFile file;
  WhisperHParams hp;
  int n_fft = 0;                    // 201
  std::vector<float> mel_filters;   // [n_mels, n_fft]
  std::vector<std::string> vocab;   // the file's n_file_vocab byte strings
  size_t header_bytes = 0;          // bytes up to the end of the vocabulary (the "header-only" prefix)
  std::map<std::string, TensorRecord> tensors;
};

// Reads a whole Whisper model file (header + tensors). Tensor names/shapes are validated by the model.
WhisperFile read_whisper_file(const std::string& path);

struct SileroHParams {
  std::string model_type;  // "silero-16k"
  int32_t version[3] = {0, 0, 0};
  int32_t n_window = 0, n_context = 0, n_encoder_layers = 0;
  std::vector<int32_t> enc_in, enc_out, enc_kernel;
  int32_t lstm_input_size = 0, lstm_hidden_size = 0, final_conv_in = 0, final_conv_out = 0;
};

struct SileroFile {
  MappedFile file;
  SileroHParams hp;
  std::map<std::string, TensorRecord> tensors;
};

SileroFile read_silero_file(const std::string& path);

// Name of a header ftype (after % 1000) and the weight type it implies.
DType whisper_ftype_to_dtype(int32_t ftype, const std::string& where);

}  // namespace omni::whisper_ggml
