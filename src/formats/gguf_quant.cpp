// Quantization recipes (which type each tensor gets) and llama.cpp's file-type numbers.
#include "formats/gguf_quant.hpp"

#include <cctype>
#include <cstdlib>

namespace omni::gguf {

namespace {

const std::vector<QuantTarget>& targets() {
  static const std::vector<QuantTarget> t = {
      {"f32", DType::f32, std::nullopt, 0},      {"f16", DType::f16, std::nullopt, 1},
      {"bf16", DType::bf16, std::nullopt, 32},   {"q8_0", DType::q8_0, std::nullopt, 7},
      {"q4_0", DType::q4_0, std::nullopt, 2},    {"q4_1", DType::q4_1, std::nullopt, 3},
      {"q5_0", DType::q5_0, std::nullopt, 8},    {"q5_1", DType::q5_1, std::nullopt, 9},
      {"q4_k", DType::q4_k, std::nullopt, 14},   {"q5_k", DType::q5_k, std::nullopt, 16},
      {"q6_k", DType::q6_k, std::nullopt, 18},   {"q4_k_m", DType::q4_k, DType::q6_k, 15},
      {"q5_k_m", DType::q5_k, DType::q6_k, 17},
  };
  return t;
}

// The block index of "blk.N.xxx", or -1.
int64_t layer_of(const std::string& name) {
  if (name.rfind("blk.", 0) != 0) return -1;
  return std::strtoll(name.c_str() + 4, nullptr, 10);
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// llama.cpp's use_more_bits(): the first and last eighth of the layers and every third in between.
bool use_more_bits(int64_t layer, int64_t n_layer) {
  return layer < n_layer / 8 || layer >= 7 * n_layer / 8 || (layer - n_layer / 8) % 3 == 2;
}

DType fit_row(DType t, int64_t ne0) {
  if (ne0 % block_size(t) == 0) return t;
  DType fallback = DType::f16;
  switch (t) {
    case DType::q4_k: fallback = DType::q5_0; break;
    case DType::q5_k: fallback = DType::q5_1; break;
    case DType::q6_k: fallback = DType::q8_0; break;
    case DType::q2_k: case DType::q3_k: fallback = DType::q4_0; break;
    default: break;
  }
  return ne0 % block_size(fallback) == 0 ? fallback : DType::f16;
}

}  // namespace

std::optional<QuantTarget> quant_target(const std::string& name) {
  std::string lower = name;
  for (auto& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& t : targets())
    if (t.name == lower) return t;
  return std::nullopt;
}

std::vector<std::string> quant_target_names() {
  std::vector<std::string> names;
  for (const auto& t : targets()) names.push_back(t.name);
  return names;
}

DType tensor_type_for(const QuantTarget& target, const std::string& name, int n_dims, int64_t ne0,
                      int64_t n_layer, bool has_output) {
  if (n_dims < 2 || name.find("norm") != std::string::npos || ends_with(name, ".bias")) return DType::f32;
  DType t = target.base;
  if (target.hi) {
    const bool head = name == "output.weight" || (!has_output && name == "token_embd.weight");
    const int64_t layer = layer_of(name);
    const bool favoured = (name.find(".attn_v.") != std::string::npos || name.find(".ffn_down.") != std::string::npos) &&
                          layer >= 0 && use_more_bits(layer, n_layer);
    if (head || favoured) t = *target.hi;
  }
  return fit_row(t, ne0);
}

}  // namespace omni::gguf
