// Random mmproj writer: deterministic weights from a seed, streamed row by row into a GGUF file.
#include "models/mmproj_random.hpp"

#include <cmath>

#include "formats/gguf.hpp"
#include "kernels/kernels.hpp"
#include "omni/error.hpp"

namespace omni::models {
namespace {

std::string canonical_projector(const std::string& p) {
  if (p == "llava" || p == "mlp") return "mlp";
  if (p == "smolvlm" || p == "idefics3") return "idefics3";
  if (p == "qwen2.5-vl" || p == "qwen2.5vl" || p == "qwen2.5vl_merger" || p == "qwen25vl") return "qwen2.5vl_merger";
  fail(ErrorCode::invalid_argument, "unknown projector '", p, "' (choose llava, smolvlm or qwen2.5-vl)");
}

uint64_t splitmix(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Uniform values with the given standard deviation (sqrt(3) * sd bounds), centred on `mean`.
void fill_random(float* dst, int64_t n, uint64_t seed, float mean, float sd) {
  uint64_t s = seed;
  const float a = sd * 1.7320508f;
  for (int64_t i = 0; i < n; ++i) dst[i] = mean + a * (float(splitmix(s) >> 40) * (2.0f / 16777216.0f) - 1.0f);
}

struct Spec {
  std::string name;
  std::vector<int64_t> ne;  // ggml order
  DType type;
  float mean, sd;
};

}  // namespace

std::vector<std::string> mmproj_shape_names() { return {"tiny", "smolvlm-256m", "llava-1.5-7b", "qwen2.5-vl-3b"}; }

MmprojShape mmproj_shape(const std::string& projector, const std::string& shape) {
  const std::string p = canonical_projector(projector);
  if (shape == "tiny") {
    if (p == "mlp") return {p, 48, 8, 64, 4, 160, 3, 96};
    if (p == "idefics3") return {p, 64, 8, 64, 4, 128, 2, 96, 2, 0, 0};
    return {p, 560, 14, 64, 4, 96, 4, 96, 0, 0, 2};
  }
  if (shape == "smolvlm-256m" && p == "idefics3") return {p, 512, 16, 768, 12, 3072, 12, 576, 4, 2048, 0};
  if (shape == "llava-1.5-7b" && p == "mlp") return {p, 336, 14, 1024, 16, 4096, 23, 4096};
  if (shape == "qwen2.5-vl-3b" && p == "qwen2.5vl_merger") return {p, 560, 14, 1280, 16, 3420, 32, 2048, 0, 0, 8};
  fail(ErrorCode::invalid_argument, "no shape '", shape, "' for projector ", p,
       " (tiny for every projector; smolvlm-256m for smolvlm, llava-1.5-7b for llava, qwen2.5-vl-3b for qwen2.5-vl)");
}

void write_random_mmproj(const std::string& path, const MmprojShape& c, DType type, uint64_t seed) {
  const bool qwen = c.projector == "qwen2.5vl_merger", idefics = c.projector == "idefics3";
  const int64_t E = c.n_embd, FF = c.n_ff, P = c.patch_size, D = c.n_embd_out;
  const int64_t n_p = (c.image_size / P) * (c.image_size / P);
  std::vector<Spec> specs;
  auto mat = [&](const std::string& name, int64_t in, int64_t out) {
    const DType t = in % block_size(type) == 0 ? type : DType::f16;
    specs.push_back({name, {in, out}, t, 0.0f, 1.0f / std::sqrt(float(in))});
  };
  auto vec = [&](const std::string& name, int64_t n, float mean, float sd) { specs.push_back({name, {n}, DType::f32, mean, sd}); };
  const DType patch_type = type == DType::f32 ? DType::f32 : DType::f16;
  specs.push_back({"v.patch_embd.weight", {P, P, 3, E}, patch_type, 0.0f, 1.0f / std::sqrt(float(3 * P * P * (qwen ? 2 : 1)))});
  if (qwen) specs.push_back({"v.patch_embd.weight.1", {P, P, 3, E}, patch_type, 0.0f, 1.0f / std::sqrt(float(6 * P * P))});
  if (idefics) {
    vec("v.patch_embd.bias", E, 0, 0.05f);
    specs.push_back({"v.position_embd.weight", {E, n_p}, DType::f32, 0.0f, 0.1f});
  } else if (!qwen) {
    vec("v.class_embd", E, 0, 0.5f);
    specs.push_back({"v.position_embd.weight", {E, n_p + 1}, DType::f32, 0.0f, 0.1f});
    vec("v.pre_ln.weight", E, 1, 0.1f);
    vec("v.pre_ln.bias", E, 0, 0.05f);
  }
  for (int i = 0; i < c.n_layer; ++i) {
    const std::string p = "v.blk." + std::to_string(i) + ".";
    vec(p + "ln1.weight", E, 1, 0.1f);
    if (!qwen) vec(p + "ln1.bias", E, 0, 0.05f);
    for (const char* n : {"attn_q", "attn_k", "attn_v", "attn_out"}) {
      mat(p + n + ".weight", E, E);
      vec(p + n + ".bias", E, 0, 0.05f);
    }
    vec(p + "ln2.weight", E, 1, 0.1f);
    if (!qwen) vec(p + "ln2.bias", E, 0, 0.05f);
    if (qwen) {
      mat(p + "ffn_gate.weight", E, FF);
      vec(p + "ffn_gate.bias", FF, 0, 0.05f);
    }
    mat(p + "ffn_up.weight", E, FF);
    vec(p + "ffn_up.bias", FF, 0, 0.05f);
    mat(p + "ffn_down.weight", FF, E);
    vec(p + "ffn_down.bias", E, 0, 0.05f);
  }
  if (idefics) {
    vec("v.post_ln.weight", E, 1, 0.1f);
    vec("v.post_ln.bias", E, 0, 0.05f);
    mat("mm.model.fc.weight", E * c.scale_factor * c.scale_factor, D);
  } else if (qwen) {
    vec("v.post_ln.weight", E, 1, 0.1f);
    mat("mm.0.weight", 4 * E, 4 * E);
    vec("mm.0.bias", 4 * E, 0, 0.05f);
    mat("mm.2.weight", 4 * E, D);
    vec("mm.2.bias", D, 0, 0.05f);
  } else {
    mat("mm.0.weight", E, D);
    vec("mm.0.bias", D, 0, 0.05f);
    mat("mm.2.weight", D, D);
    vec("mm.2.bias", D, 0, 0.05f);
  }

  gguf::Writer w;
  using gguf::Value;
  const bool clip_mean = !idefics;
  const std::vector<float> mean = clip_mean ? std::vector<float>{0.48145466f, 0.4578275f, 0.40821073f} : std::vector<float>{0.5f, 0.5f, 0.5f};
  const std::vector<float> stdv = clip_mean ? std::vector<float>{0.26862954f, 0.26130258f, 0.27577711f} : std::vector<float>{0.5f, 0.5f, 0.5f};
  w.set("general.architecture", Value::of_string("clip"));
  w.set("general.type", Value::of_string("mmproj"));
  w.set("general.name", Value::of_string("omni random " + c.projector));
  w.set("clip.has_vision_encoder", Value::of_bool(true));
  w.set("clip.projector_type", Value::of_string(c.projector));
  w.set("clip.vision.embedding_length", Value::of_u32(uint32_t(E)));
  w.set("clip.vision.attention.head_count", Value::of_u32(uint32_t(c.n_head)));
  w.set("clip.vision.feed_forward_length", Value::of_u32(uint32_t(FF)));
  w.set("clip.vision.block_count", Value::of_u32(uint32_t(c.n_layer)));
  w.set("clip.vision.projection_dim", Value::of_u32(uint32_t(D)));
  w.set("clip.vision.attention.layer_norm_epsilon", Value::of_f32(c.projector == "mlp" ? 1e-5f : 1e-6f));
  w.set("clip.vision.image_size", Value::of_u32(uint32_t(c.image_size)));
  w.set("clip.vision.patch_size", Value::of_u32(uint32_t(P)));
  w.set("clip.vision.image_mean", Value::of_f32s(mean));
  w.set("clip.vision.image_std", Value::of_f32s(stdv));
  if (qwen) {
    w.set("clip.use_silu", Value::of_bool(true));
    w.set("clip.vision.n_wa_pattern", Value::of_u32(uint32_t(c.n_wa_pattern)));
    w.set("clip.vision.spatial_merge_size", Value::of_u32(2));
  } else {
    w.set("clip.use_gelu", Value::of_bool(idefics));
  }
  if (idefics) w.set("clip.vision.projector.scale_factor", Value::of_u32(uint32_t(c.scale_factor)));
  if (c.preproc_image_size) w.set("clip.vision.preproc_image_size", Value::of_u32(uint32_t(c.preproc_image_size)));

  for (const auto& s : specs) w.add_tensor_info(s.name, s.type, s.ne);
  std::vector<float> row;
  w.write(path, [&](size_t index, int64_t row_begin, int64_t n_rows, uint8_t* dst) {
    const Spec& s = specs[index];
    const int64_t n = s.ne[0];
    row.resize(size_t(n));
    const size_t rb = row_bytes(s.type, n);
    for (int64_t r = 0; r < n_rows; ++r) {
      fill_random(row.data(), n, seed * 1000003ull + index * 7919ull + uint64_t(row_begin + r) * 104729ull, s.mean, s.sd);
      kernels::quantize_row(s.type, row.data(), dst + size_t(r) * rb, n);
    }
  });
}

}  // namespace omni::models
