// `omni make-model --arch mmproj`: writes a random-weight vision projector (mmproj GGUF).
#include <iostream>

#include "cli/commands.hpp"
#include "models/mmproj_random.hpp"
#include "omni/error.hpp"

namespace omni::cli {

int run_make_model_mmproj(const Args& args) {
  const std::string projector = args.require("projector");
  const auto shape = models::mmproj_shape(projector, args.get("shape", "tiny"));
  const std::string type_name = args.get("type", "f16");
  const auto type = dtype_from_name(type_name);
  if (!type || !(*type == DType::f32 || *type == DType::f16 || *type == DType::bf16 || *type == DType::q8_0 ||
                 *type == DType::q4_0 || *type == DType::q4_k || *type == DType::q6_k))
    fail(ErrorCode::invalid_argument, "--type for an mmproj must be f32, f16, bf16, q8_0, q4_0, q4_k or q6_k (got '",
         type_name, "')");
  const std::string out = args.require("output");
  models::write_random_mmproj(out, shape, *type, uint64_t(args.get_int("seed", 1)));
  std::cerr << "wrote " << out << ": " << shape.projector << " image " << shape.image_size << " patch "
            << shape.patch_size << " n_embd=" << shape.n_embd << " n_layer=" << shape.n_layer
            << " -> text width " << shape.n_embd_out << "\n";
  return 0;
}

}  // namespace omni::cli
