// `omni quantize IN.gguf OUT.gguf TYPE`: re-encodes a GGUF model's weights to another type (plain
// or llama.cpp-style mixed recipes such as q4_k_m), keeping all other metadata.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>

#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "core/thread_pool.hpp"
#include "formats/gguf.hpp"
#include "formats/gguf_quant.hpp"
#include "kernels/kernels.hpp"
#include "omni/error.hpp"

namespace omni::cli {

extern const CommandSpec k_quantize_spec = {
    "quantize",
    "omni quantize IN.gguf OUT.gguf TYPE [--threads N]",
    "Convert a GGUF model's weights to another type (f16, q8_0, q4_k_m ...).",
    "TYPE is one of f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q4_k q5_k q6_k q4_k_m q5_k_m.\n"
    "Plain types apply to every 2-D weight. The mixed recipes follow llama.cpp's Q4_K_M / Q5_K_M:\n"
    "Q4_K (Q5_K) for most 2-D weights, Q6_K for the output head (token_embd when the head is tied)\n"
    "and for attn_v / ffn_down in the first and last eighth of the layers and every third one in\n"
    "between. 1-D tensors, norms and biases stay f32. A row length that is not a multiple of 256\n"
    "falls back to a 32-element type (q4_k -> q5_0, q5_k -> q5_1, q6_k -> q8_0). All metadata is\n"
    "kept; general.file_type is updated.",
    {{"threads", 'j', true, "N", "worker threads (default: all cores)"}},
    3,
    3,
};

int run_quantize(const Args& args) {
  const std::string in = args.positional()[0], out = args.positional()[1], type_name = args.positional()[2];
  const auto target = gguf::quant_target(type_name);
  if (!target) {
    std::string names;
    for (const auto& n : gguf::quant_target_names()) names += " " + n;
    fail(ErrorCode::invalid_argument, "unknown type '", type_name, "' (known:", names, ")");
  }
  if (in == out) fail(ErrorCode::invalid_argument, "the output must be a different file from the input");
  const int64_t threads = args.get_int("threads", 0);
  if (threads < 0 || threads > 1024) fail(ErrorCode::invalid_argument, "--threads must be between 0 and 1024");
  const gguf::File src = gguf::File::open(in);

  gguf::Writer w;
  for (const auto& [k, v] : src.metadata()) w.set(k, v);
  w.set("general.file_type", gguf::Value::of_u32(target->file_type));
  const bool quantized = target->file_type != 0 && target->file_type != 1 && target->file_type != 32;
  if (quantized) w.set("general.quantization_version", gguf::Value::of_u32(2));

  const std::string arch = src.get_string("general.architecture", "");
  int64_t n_layer = arch.empty() ? 0 : src.get_int(arch + ".block_count", 0);
  if (n_layer <= 0)
    for (const auto& t : src.tensors())
      if (t.name.rfind("blk.", 0) == 0) n_layer = std::max<int64_t>(n_layer, std::strtoll(t.name.c_str() + 4, nullptr, 10) + 1);
  const bool has_output = src.find_tensor("output.weight") != nullptr;

  std::vector<DType> out_types;
  std::map<std::string, int> counts;
  for (const auto& t : src.tensors()) {
    const DType dt = gguf::tensor_type_for(*target, t.name, t.n_dims, t.ne[0], n_layer, has_output);
    if (dt != t.type && !traits(t.type).supported)
      fail(ErrorCode::unsupported, "tensor '", t.name, "' in '", in, "' has type ", dtype_name(t.type),
           ", which Omni cannot convert");
    std::vector<int64_t> shape(t.ne, t.ne + std::max(1, t.n_dims));
    w.add_tensor_info(t.name, dt, shape);
    out_types.push_back(dt);
    counts[dtype_name(dt)]++;
  }

  ThreadPool pool(static_cast<int>(threads));
  std::vector<std::vector<float>> scratch(size_t(std::max(1, pool.n_threads())));
  ProgressBar bar("quantize", w.total_tensor_bytes(), ProgressBar::Unit::bytes);
  w.write(out, [&](size_t index, int64_t row0, int64_t n_rows, uint8_t* dst) {
    const auto& t = src.tensors()[index];
    const DType dt = out_types[index];
    const int64_t n = t.ne[0];
    const size_t src_rb = row_bytes(t.type, n), dst_rb = row_bytes(dt, n);
    const uint8_t* from = t.data + size_t(row0) * src_rb;
    if (dt == t.type) {
      std::memcpy(dst, from, size_t(n_rows) * src_rb);
    } else {
      pool.parallel_for(n_rows, 4, [&](int64_t b, int64_t e, int thread) {
        auto& buf = scratch[size_t(thread)];
        buf.resize(size_t(n));
        for (int64_t r = b; r < e; ++r) {
          kernels::dequantize_row(t.type, from + size_t(r) * src_rb, buf.data(), n);
          kernels::quantize_row(dt, buf.data(), dst + size_t(r) * dst_rb, n);
        }
      });
    }
    bar.add(size_t(n_rows) * dst_rb);
  }, size_t(16) << 20);
  bar.finish();
  const gguf::File check = gguf::File::open(out);  // the result must read back
  std::cerr << "wrote " << out << ": " << check.tensors().size() << " tensors,";
  for (const auto& [name, c] : counts) std::cerr << " " << name << " " << c;
  std::cerr << ", " << ProgressBar::format_bytes(double(check.file_size())) << " (was "
            << ProgressBar::format_bytes(double(src.file_size())) << ")\n";
  return 0;
}

}  // namespace omni::cli
