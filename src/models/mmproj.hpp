// Vision projectors in llama.cpp's mmproj GGUF format: hyper-parameters, tensors, preprocessing
// and the encoders of three families — `mlp` (LLaVA-1.5/1.6, CLIP), `idefics3` (SmolVLM, SigLIP +
// pixel shuffle) and `qwen2.5vl_merger` / `qwen2vl_merger` (Qwen2.5-VL / Qwen2-VL). Semantics follow
// the original (Hugging Face) models: class token first, every stored block run, erf-GELU in the
// LLaVA and Qwen projectors. Spec: mmproj-vision.md. Towers: vit.cpp (CLIP/SigLIP), qwen2vl_vision.cpp.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/thread_pool.hpp"
#include "formats/gguf.hpp"
#include "vision/image.hpp"
#include "vision/preprocess.hpp"

namespace omni::models {

enum class ProjectorType { mlp, idefics3, qwen2vl, qwen25vl };
const char* projector_name(ProjectorType p);

enum class FfnActivation { gelu_tanh, gelu_quick, silu };

struct VisionHParams {
  ProjectorType projector = ProjectorType::mlp;
  int n_embd = 0, n_head = 0, n_layer = 0, n_ff = 0;
  int image_size = 0, patch_size = 0;
  float eps = 1e-6f;
  std::array<float, 3> mean{}, std{};
  FfnActivation act = FfnActivation::gelu_quick;
  int scale_factor = 0;         // idefics3 pixel shuffle
  int preproc_image_size = 0;   // idefics3 longest edge (0: global image only)
  int n_wa_pattern = 0;         // qwen2.5vl: full attention every n-th layer
  int64_t min_pixels = 8 * 28 * 28, max_pixels = 4096 * 28 * 28;  // qwen dynamic resolution
  std::vector<vision::Size> pinpoints;  // llava-1.6 candidate resolutions
  int n_embd_out = 0;           // projector output width = the text model's embedding width
};

// A tensor of the mmproj file: a view into the mapping (2-D weights) and, for small vectors,
// a float32 copy (norm weights, biases, class/position embeddings — whatever their stored type).
struct VisionTensor {
  const gguf::TensorInfo* info = nullptr;
  std::vector<float> f32;  // filled for 1-D tensors and position tables
  explicit operator bool() const { return info != nullptr; }
};

struct VisionLayer {
  VisionTensor ln1_w, ln1_b, ln2_w, ln2_b;
  VisionTensor q_w, q_b, k_w, k_b, v_w, v_b, o_w, o_b;
  VisionTensor up_w, up_b, gate_w, gate_b, down_w, down_b;
};

// One image (or tile) through the tower: the tokens it produces, row-major [n_tokens][n_embd_out].
struct VisionEmbedding {
  int n_tokens = 0;
  int grid_x = 0, grid_y = 0;  // merged token grid (qwen: nx, ny); 0 when not a grid
  std::vector<float> data;
};

// A preprocessed image: the pixel images to encode, in the family's order, and their layout.
struct VisionInput {
  std::vector<vision::PixelImage> images;  // llava: [overview, tiles...]; idefics3: [global, tiles...]
  int tiles_x = 0, tiles_y = 0;            // idefics3 / llava-1.6 tile grid (0: no tiles)
};

class VisionModel {
 public:
  // Loads and validates an mmproj GGUF; unknown projectors and missing tensors are refused by name.
  static std::unique_ptr<VisionModel> load(const std::string& path);
  static std::unique_ptr<VisionModel> from_file(gguf::File file);

  const VisionHParams& hparams() const { return hp_; }
  const gguf::File& file() const { return file_; }

  VisionInput preprocess(const vision::Image& img) const;
  // Encodes one pixel image; throws invalid_argument when its size does not suit the tower.
  VisionEmbedding encode(ThreadPool& pool, const vision::PixelImage& pixels) const;
  // Tokens one pixel image of this size produces.
  int tokens_for(int width, int height) const;

  // The tensors (used by the tower implementations).
  VisionTensor patch_w, patch_w1, patch_b, class_embd, pos_embd, pre_ln_w, pre_ln_b, post_ln_w, post_ln_b;
  VisionTensor mm0_w, mm0_b, mm2_w, mm2_b, mm_fc_w;
  std::vector<VisionLayer> layers;

 private:
  explicit VisionModel(gguf::File file);
  void load_hparams();
  void load_tensors();
  VisionTensor tensor(const std::string& name, bool required, bool as_f32 = false) const;

  gguf::File file_;
  VisionHParams hp_;
};

// One pre-norm transformer block of a vision tower, in place on x [n_pos, n_embd]:
// x += Attn(Norm1(x)); x += FFN(Norm2(x)). rope (optional) rotates q and k [n_pos, n_embd] after
// the projections; window_starts restricts attention to contiguous windows (empty: full);
// scratch (optional) holds buffers reused from block to block instead of allocated per block.
using RopeFn = void (*)(float* qk, int64_t n_pos, int n_head, int head_dim, const void* ctx);
struct BlockScratch {
  std::vector<float> h, q, k, v, o, up, gate, attention;
};
struct BlockOptions {
  bool rms_norm = false;
  RopeFn rope = nullptr;
  const void* rope_ctx = nullptr;
  std::vector<int64_t> window_starts;
  BlockScratch* scratch = nullptr;
};
void vision_block(const VisionModel& m, const VisionLayer& L, ThreadPool& pool, std::vector<float>& x, int64_t n_pos,
                  const BlockOptions& opt);
// Patch embedding: conv with stride P as a matmul over patches -> [n_patches, n_embd] (raster order).
std::vector<float> patch_embed(const VisionModel& m, const VisionTensor& w, ThreadPool& pool, const vision::PixelImage& px);

// Encodes every pixel image of a preprocessed input and concatenates the tokens in the order the
// decoder consumes them (idefics3: tiles first, global image last; llava: overview first).
VisionEmbedding embed_image(const VisionModel& m, ThreadPool& pool, const VisionInput& input);

// Tower implementations (one file each).
VisionEmbedding encode_vit(const VisionModel& m, ThreadPool& pool, const vision::PixelImage& px);
VisionEmbedding encode_qwen2vl(const VisionModel& m, ThreadPool& pool, const vision::PixelImage& px);

}  // namespace omni::models
