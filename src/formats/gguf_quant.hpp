// Quantization recipes for GGUF model files: which tensor type each tensor gets for a target
// ("q4_k_m" -> Q4_K for most 2-D weights, Q6_K for attn_v/ffn_down in the layers llama.cpp
// favours and for the output head), and llama.cpp's general.file_type numbers.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.hpp"

namespace omni::gguf {

struct QuantTarget {
  std::string name;         // "q4_k_m"
  DType base;               // type of most 2-D weights
  std::optional<DType> hi;  // mixed recipes: type of attn_v / ffn_down / output head
  uint32_t file_type;       // llama.cpp LLAMA_FTYPE value written to general.file_type
};

// Targets accepted by make-model and quantize; nullopt for an unknown name.
std::optional<QuantTarget> quant_target(const std::string& name);
std::vector<std::string> quant_target_names();

// Type for one tensor under a target. n_layer: block count (for the mixed recipes' layer choice);
// has_output: whether the model has a separate output.weight (if not, token_embd is the head).
// 1-D tensors and norms stay f32; a row length that does not fit the block size falls back to a
// 32-element type (q4_k -> q5_0, q5_k -> q5_1, q6_k -> q8_0) and then to f16.
DType tensor_type_for(const QuantTarget& target, const std::string& name, int n_dims, int64_t ne0,
                      int64_t n_layer, bool has_output);

}  // namespace omni::gguf
