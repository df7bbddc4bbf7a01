// mmproj GGUF loading (llama.cpp's clip.* keys and v.* / mm.* tensors), validation and the
// per-family preprocessing. The towers themselves live in vit.cpp and qwen2vl_vision.cpp.
#include "models/mmproj.hpp"

#include <cmath>

#include "kernels/kernels.hpp"
#include "omni/error.hpp"

namespace omni::models {

const char* projector_name(ProjectorType p) {
  switch (p) {
    case ProjectorType::mlp: return "mlp";
    case ProjectorType::idefics3: return "idefics3";
    case ProjectorType::qwen2vl: return "qwen2vl_merger";
    case ProjectorType::qwen25vl: return "qwen2.5vl_merger";
  }
  return "?";
}

std::unique_ptr<VisionModel> VisionModel::load(const std::string& path) { return from_file(gguf::File::open(path)); }

std::unique_ptr<VisionModel> VisionModel::from_file(gguf::File file) {
  std::unique_ptr<VisionModel> m(new VisionModel(std::move(file)));
  m->load_hparams();
  m->load_tensors();
  return m;
}

VisionModel::VisionModel(gguf::File file) : file_(std::move(file)) {}

void VisionModel::load_hparams() {
  const auto& f = file_;
  const std::string where = "mmproj '" + f.path() + "'";
  if (f.get_string("general.architecture", "") != "clip")
    fail(ErrorCode::invalid_file, where, ": general.architecture is '", f.get_string("general.architecture", ""),
         "', expected 'clip' (is this a text model rather than an mmproj file?)");
  if (!f.get_bool("clip.has_vision_encoder", false))
    fail(ErrorCode::unsupported, where, ": clip.has_vision_encoder is not true (no vision tower in this file)");
  std::string proj = f.get_string("clip.projector_type", "");
  if (proj.empty()) proj = f.get_string("clip.vision.projector_type", "");
  if (proj == "mlp") hp_.projector = ProjectorType::mlp;
  else if (proj == "idefics3") hp_.projector = ProjectorType::idefics3;
  else if (proj == "qwen2vl_merger") hp_.projector = ProjectorType::qwen2vl;
  else if (proj == "qwen2.5vl_merger" || proj == "qwen2.5o") hp_.projector = ProjectorType::qwen25vl;
  else
    fail(ErrorCode::unsupported, where, ": projector type '", proj,
         "' is not supported (supported: mlp, idefics3, qwen2vl_merger, qwen2.5vl_merger)");

  auto req = [&](const std::string& key) -> int64_t {
    const auto& v = f.get(key);
    const int64_t x = v.as_int(key);
    if (x <= 0 || x > (1 << 20)) fail(ErrorCode::invalid_file, where, ": ", key, " = ", x, " is out of range");
    return x;
  };
  hp_.n_embd = int(req("clip.vision.embedding_length"));
  hp_.n_head = int(req("clip.vision.attention.head_count"));
  hp_.n_layer = int(req("clip.vision.block_count"));
  hp_.image_size = int(req("clip.vision.image_size"));
  hp_.patch_size = int(req("clip.vision.patch_size"));
  hp_.eps = float(f.get("clip.vision.attention.layer_norm_epsilon").as_float("clip.vision.attention.layer_norm_epsilon"));
  if (hp_.n_embd % hp_.n_head)
    fail(ErrorCode::invalid_file, where, ": embedding_length ", hp_.n_embd, " is not divisible by head_count ", hp_.n_head);
  for (const char* key : {"clip.vision.image_mean", "clip.vision.image_std"}) {
    const auto& arr = f.get(key).as_array(key);
    if (arr.size() != 3) fail(ErrorCode::invalid_file, where, ": ", key, " must have 3 values, has ", arr.size());
    auto& dst = std::string(key).find("mean") != std::string::npos ? hp_.mean : hp_.std;
    for (int c = 0; c < 3; ++c) dst[c] = float(arr[c].as_float(key));
  }
  for (float s : hp_.std)
    if (!(s > 0)) fail(ErrorCode::invalid_file, where, ": clip.vision.image_std has a non-positive value");
  const bool use_gelu = f.get_bool("clip.use_gelu", false), use_silu = f.get_bool("clip.use_silu", false);
  if (use_gelu && use_silu) fail(ErrorCode::invalid_file, where, ": both clip.use_gelu and clip.use_silu are set");
  hp_.act = use_silu ? FfnActivation::silu : use_gelu ? FfnActivation::gelu_tanh : FfnActivation::gelu_quick;
  hp_.scale_factor = int(f.get_int("clip.vision.projector.scale_factor", 0));
  hp_.preproc_image_size = int(f.get_int("clip.vision.preproc_image_size", 0));
  hp_.n_wa_pattern = int(f.get_int("clip.vision.n_wa_pattern", 0));
  if (hp_.projector == ProjectorType::idefics3 && hp_.scale_factor < 2)
    fail(ErrorCode::invalid_file, where, ": idefics3 needs clip.vision.projector.scale_factor >= 2");
  if (hp_.projector == ProjectorType::qwen25vl && hp_.n_wa_pattern <= 0)
    fail(ErrorCode::invalid_file, where, ": qwen2.5vl_merger needs clip.vision.n_wa_pattern");
  if (hp_.projector == ProjectorType::qwen25vl || hp_.projector == ProjectorType::qwen2vl) {
    if (hp_.patch_size != 14) fail(ErrorCode::unsupported, where, ": Qwen vision towers need patch size 14, file has ", hp_.patch_size);
    if ((hp_.n_embd / hp_.n_head) % 4) fail(ErrorCode::invalid_file, where, ": Qwen head dim must be a multiple of 4");
  } else if (hp_.image_size % hp_.patch_size) {
    fail(ErrorCode::invalid_file, where, ": image_size ", hp_.image_size, " is not a multiple of patch_size ", hp_.patch_size);
  }
  if (const auto* pp = f.find("clip.vision.image_grid_pinpoints")) {
    const auto& arr = pp->as_array("clip.vision.image_grid_pinpoints");
    for (size_t i = 0; i + 1 < arr.size(); i += 2)
      hp_.pinpoints.push_back({int(arr[i].as_int()), int(arr[i + 1].as_int())});
  }
}

VisionTensor VisionModel::tensor(const std::string& name, bool required, bool as_f32) const {
  VisionTensor t;
  t.info = file_.find_tensor(name);
  if (!t.info) {
    if (required) fail(ErrorCode::invalid_file, "mmproj '", file_.path(), "': missing tensor '", name, "'");
    return t;
  }
  if (!traits(t.info->type).supported)
    fail(ErrorCode::unsupported, "mmproj '", file_.path(), "': tensor '", name, "' has unsupported type ", dtype_name(t.info->type));
  if (as_f32 || t.info->n_dims <= 1) {
    t.f32.resize(size_t(t.info->n_elements()));
    for (int64_t r = 0; r < t.info->n_rows(); ++r)
      kernels::dequantize_row(t.info->type, t.info->data + size_t(r) * row_bytes(t.info->type, t.info->ne[0]),
                              t.f32.data() + r * t.info->ne[0], t.info->ne[0]);
  }
  return t;
}

void VisionModel::load_tensors() {
  const std::string where = "mmproj '" + file_.path() + "'";
  const int E = hp_.n_embd, P = hp_.patch_size;
  const bool qwen = hp_.projector == ProjectorType::qwen25vl || hp_.projector == ProjectorType::qwen2vl;
  auto expect = [&](const VisionTensor& t, std::vector<int64_t> ne) {
    if (!t) return;
    for (size_t i = 0; i < 4; ++i) {
      const int64_t want = i < ne.size() ? ne[i] : 1;
      if (want >= 0 && t.info->ne[i] != want)
        fail(ErrorCode::invalid_file, where, ": tensor '", t.info->name, "' has shape ", t.info->shape_string(),
             ", expected dimension ", i, " to be ", want);
    }
  };
  patch_w = tensor("v.patch_embd.weight", true);
  expect(patch_w, {P, P, 3, E});
  patch_b = tensor("v.patch_embd.bias", false);
  expect(patch_b, {E});
  if (qwen) {
    patch_w1 = tensor("v.patch_embd.weight.1", true);
    expect(patch_w1, {P, P, 3, E});
    if (patch_b || file_.find_tensor("v.class_embd"))
      fail(ErrorCode::invalid_file, where, ": Qwen vision towers have no patch bias or class embedding");
  } else {
    const int n_patches = (hp_.image_size / P) * (hp_.image_size / P);
    class_embd = tensor("v.class_embd", hp_.projector == ProjectorType::mlp);
    expect(class_embd, {E});
    pos_embd = tensor("v.position_embd.weight", true, true);
    expect(pos_embd, {E, n_patches + (class_embd ? 1 : 0)});
  }
  pre_ln_w = tensor("v.pre_ln.weight", false);
  pre_ln_b = tensor("v.pre_ln.bias", false);
  post_ln_w = tensor("v.post_ln.weight", false);
  post_ln_b = tensor("v.post_ln.bias", false);
  layers.resize(size_t(hp_.n_layer));
  for (int i = 0; i < hp_.n_layer; ++i) {
    auto& L = layers[size_t(i)];
    const std::string p = "v.blk." + std::to_string(i) + ".";
    L.ln1_w = tensor(p + "ln1.weight", true);
    L.ln1_b = tensor(p + "ln1.bias", false);
    L.ln2_w = tensor(p + "ln2.weight", true);
    L.ln2_b = tensor(p + "ln2.bias", false);
    L.q_w = tensor(p + "attn_q.weight", true);
    L.k_w = tensor(p + "attn_k.weight", true);
    L.v_w = tensor(p + "attn_v.weight", true);
    L.o_w = tensor(p + "attn_out.weight", true);
    L.q_b = tensor(p + "attn_q.bias", qwen);
    L.k_b = tensor(p + "attn_k.bias", qwen);
    L.v_b = tensor(p + "attn_v.bias", qwen);
    L.o_b = tensor(p + "attn_out.bias", false);
    for (auto* t : {&L.q_w, &L.k_w, &L.v_w, &L.o_w}) expect(*t, {E, E});
    for (auto* t : {&L.ln1_w, &L.ln1_b, &L.ln2_w, &L.ln2_b, &L.q_b, &L.k_b, &L.v_b, &L.o_b}) expect(*t, {E});
    L.up_w = tensor(p + "ffn_up.weight", true);
    L.up_b = tensor(p + "ffn_up.bias", false);
    L.down_w = tensor(p + "ffn_down.weight", true);
    L.down_b = tensor(p + "ffn_down.bias", false);
    L.gate_w = tensor(p + "ffn_gate.weight", false);
    L.gate_b = tensor(p + "ffn_gate.bias", false);
    if (L.down_w.info->ne[0] == E && L.up_w.info->ne[0] != E) {  // legacy converters swapped fc1 / fc2
      std::swap(L.up_w, L.down_w);
      std::swap(L.up_b, L.down_b);
    }
    const int64_t n_ff = L.up_w.info->ne[1];
    expect(L.up_w, {E, n_ff});
    expect(L.down_w, {n_ff, E});
    expect(L.gate_w, {E, n_ff});
    expect(L.up_b, {n_ff});
    expect(L.gate_b, {n_ff});
    expect(L.down_b, {E});
    hp_.n_ff = int(n_ff);
    if (hp_.act == FfnActivation::silu && !L.gate_w)
      fail(ErrorCode::invalid_file, where, ": clip.use_silu is set but ", p, "ffn_gate.weight is missing");
  }
  switch (hp_.projector) {
    case ProjectorType::mlp:
      mm0_w = tensor("mm.0.weight", true);
      mm0_b = tensor("mm.0.bias", false);
      mm2_w = tensor("mm.2.weight", false);
      mm2_b = tensor("mm.2.bias", false);
      if (file_.find_tensor("mm.3.weight"))
        fail(ErrorCode::unsupported, where, ": the mlp_norm projector (Yi-VL, mm.3.*) is not supported");
      expect(mm0_w, {E, -1});
      if (mm2_w) expect(mm2_w, {mm0_w.info->ne[1], -1});
      hp_.n_embd_out = int(mm2_w ? mm2_w.info->ne[1] : mm0_w.info->ne[1]);
      break;
    case ProjectorType::idefics3:
      mm_fc_w = tensor("mm.model.fc.weight", true);
      expect(mm_fc_w, {int64_t(E) * hp_.scale_factor * hp_.scale_factor, -1});
      if ((hp_.image_size / P) % hp_.scale_factor)
        fail(ErrorCode::unsupported, where, ": patch grid ", hp_.image_size / P, " is not divisible by scale factor ", hp_.scale_factor);
      hp_.n_embd_out = int(mm_fc_w.info->ne[1]);
      break;
    case ProjectorType::qwen2vl:
    case ProjectorType::qwen25vl:
      mm0_w = tensor("mm.0.weight", true);
      mm0_b = tensor("mm.0.bias", true);
      mm2_w = tensor("mm.2.weight", true);
      mm2_b = tensor("mm.2.bias", true);
      expect(mm0_w, {4 * int64_t(E), -1});
      expect(mm2_w, {mm0_w.info->ne[1], -1});
      if (!post_ln_w) fail(ErrorCode::invalid_file, where, ": missing tensor 'v.post_ln.weight' (the merger's ln_q)");
      hp_.n_embd_out = int(mm2_b.info->ne[0]);
      break;
  }
  if (mm0_b) expect(mm0_b, {mm0_w.info->ne[1]});
  if (mm2_b && mm2_w) expect(mm2_b, {mm2_w.info->ne[1]});
}

int VisionModel::tokens_for(int width, int height) const {
  const int P = hp_.patch_size;
  switch (hp_.projector) {
    case ProjectorType::mlp: return (width / P) * (height / P);
    case ProjectorType::idefics3: return (width / P) * (height / P) / (hp_.scale_factor * hp_.scale_factor);
    default: return (width / (2 * P)) * (height / (2 * P));
  }
}

VisionInput VisionModel::preprocess(const vision::Image& img) const {
  using namespace vision;
  VisionInput in;
  const int S = hp_.image_size;
  switch (hp_.projector) {
    case ProjectorType::mlp: {
      if (hp_.pinpoints.empty() || (img.width <= S && img.height <= S)) {
        const Image fitted = hp_.pinpoints.empty() ? resize_fit_pad(img, S, S, ResizeAlgo::bicubic, {122, 116, 104})
                                                   : resize_bilinear(img, S, S);
        in.images.push_back(normalize(fitted, hp_.mean, hp_.std));
        break;
      }
      const Size best = llava_best_resolution(img.width, img.height, hp_.pinpoints);
      in.images.push_back(normalize(resize_bilinear(img, S, S), hp_.mean, hp_.std));
      const Image refined = resize_fit_pad(img, best.width, best.height, ResizeAlgo::bicubic, {0, 0, 0});
      in.tiles_x = best.width / S;
      in.tiles_y = best.height / S;
      for (int y = 0; y + S <= best.height; y += S)
        for (int x = 0; x + S <= best.width; x += S) in.images.push_back(normalize(crop(refined, x, y, S, S), hp_.mean, hp_.std));
      break;
    }
    case ProjectorType::idefics3: {
      in.images.push_back(normalize(resize_bilinear(img, S, S), hp_.mean, hp_.std));  // global image
      const Size r = idefics3_refined_size(img.width, img.height, S, hp_.preproc_image_size);
      if (r.width > 0) {
        const Image refined = resize_fit_pad(img, r.width, r.height, ResizeAlgo::bicubic, {0, 0, 0});
        in.tiles_x = r.width / S;
        in.tiles_y = r.height / S;
        for (int y = 0; y < in.tiles_y; ++y)
          for (int x = 0; x < in.tiles_x; ++x) in.images.push_back(normalize(crop(refined, x * S, y * S, S, S), hp_.mean, hp_.std));
      }
      break;
    }
    case ProjectorType::qwen2vl:
    case ProjectorType::qwen25vl: {
      const Size s = qwen_smart_size(img.width, img.height, 2 * hp_.patch_size, hp_.min_pixels, hp_.max_pixels);
      in.images.push_back(normalize(resize_fit_pad(img, s.width, s.height, ResizeAlgo::bilinear, {0, 0, 0}), hp_.mean, hp_.std));
      break;
    }
  }
  return in;
}

VisionEmbedding VisionModel::encode(ThreadPool& pool, const vision::PixelImage& px) const {
  if (hp_.projector == ProjectorType::qwen2vl || hp_.projector == ProjectorType::qwen25vl) {
    const int F = 2 * hp_.patch_size;
    if (px.width % F || px.height % F || px.width <= 0 || px.height <= 0)
      fail(ErrorCode::invalid_argument, "Qwen vision input must be a multiple of ", F, " pixels, got ", px.width, "x", px.height);
    return encode_qwen2vl(*this, pool, px);
  }
  if (px.width != hp_.image_size || px.height != hp_.image_size)
    fail(ErrorCode::invalid_argument, "vision input must be ", hp_.image_size, "x", hp_.image_size, ", got ", px.width, "x", px.height);
  return encode_vit(*this, pool, px);
}

VisionEmbedding embed_image(const VisionModel& m, ThreadPool& pool, const VisionInput& input) {
  std::vector<size_t> order(input.images.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  if (m.hparams().projector == ProjectorType::idefics3 && order.size() > 1) {  // global image goes last
    order.erase(order.begin());
    order.push_back(0);
  }
  VisionEmbedding all;
  for (size_t i : order) {
    VisionEmbedding e = m.encode(pool, input.images[i]);
    if (input.images.size() == 1) return e;
    all.n_tokens += e.n_tokens;
    all.data.insert(all.data.end(), e.data.begin(), e.data.end());
  }
  return all;
}

}  // namespace omni::models
