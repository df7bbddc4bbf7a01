// Writes the fuzzer's seed corpus: small valid GGUF files (every value type, several tensor types,
// custom alignment, no tensors) made with gguf::Writer. Usage: gguf_fuzz_seeds OUT_DIR
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "formats/gguf.hpp"
#include "omni/error.hpp"

using namespace omni;
using namespace omni::gguf;

static void save(const std::filesystem::path& dir, const std::string& name, const Writer& w) {
  const auto bytes = w.to_bytes();
  std::ofstream(dir / name, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: gguf_fuzz_seeds OUT_DIR\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  try {
    {
      Writer w;
      save(dir, "empty.gguf", w);
    }
    {
      Writer w;
      w.set("general.architecture", Value::of_string("llama"));
      w.set("llama.block_count", Value::of_u32(2));
      w.set("llama.rope.freq_base", Value::of_f32(10000.0f));
      w.set("flag", Value::of_bool(true));
      w.set("big", Value::of_u64(1ull << 40));
      w.set("tokenizer.ggml.tokens", Value::of_strings({"a", "b", "ab", "<s>"}));
      w.set("tokenizer.ggml.token_type", Value::of_i32s({1, 1, 1, 3}));
      w.set("scores", Value::of_f32s({0.5f, -1.0f}));
      save(dir, "metadata.gguf", w);
    }
    const DType types[] = {DType::f32, DType::f16, DType::bf16, DType::q8_0, DType::q4_0, DType::q4_1,
                           DType::q5_0, DType::q5_1, DType::q4_k, DType::q6_k};
    for (DType t : types) {
      Writer w;
      w.set("general.architecture", Value::of_string("qwen2"));
      const int64_t n = block_size(t) == 1 ? 8 : block_size(t);
      std::vector<uint8_t> data(row_bytes(t, n) * 2, 0x3c);
      w.add_tensor("w", t, {n, 2}, data.data(), data.size());
      std::vector<uint8_t> v(16, 0);
      w.add_tensor("v", DType::f32, {4}, v.data(), v.size());
      save(dir, std::string("tensor_") + dtype_name(t) + ".gguf", w);
    }
    {
      Writer w;
      w.set("general.alignment", Value::of_u32(64));
      std::vector<uint8_t> a(12, 1), b(4 * 3 * 2, 2);
      w.add_tensor("a", DType::f32, {3}, a.data(), a.size());
      w.add_tensor("blk.0.b", DType::f32, {3, 2}, b.data(), b.size());
      w.add_tensor("c", DType::f16, {2, 1, 1, 2}, a.data(), 8);
      save(dir, "align64.gguf", w);
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "gguf_fuzz_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
