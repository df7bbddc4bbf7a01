// GGUF writer -> reader round trips (every value type, every tensor type, streaming mode) and
// reading every golden model file in tests/data.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "formats/gguf.hpp"
#include "gguf_bytes.hpp"
#include "omni/error.hpp"

using namespace omni;
using namespace omni::gguf;
namespace fs = std::filesystem;

namespace {

Value scalar(ValueType t, std::variant<uint64_t, int64_t, double, bool, std::string> v) {
  Value r;
  r.type = t;
  std::visit([&](auto&& x) { r.v = x; }, v);
  return r;
}

Value array_of(ValueType elem, std::vector<Value> items) {
  Value r;
  r.type = ValueType::array;
  r.elem_type = elem;
  r.v = std::move(items);
  return r;
}

std::vector<uint8_t> pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  uint32_t x = seed * 2654435761u + 1;
  for (auto& b : v) {
    x = x * 1664525u + 1013904223u;
    b = uint8_t(x >> 24);
  }
  return v;
}

std::vector<std::pair<std::string, DType>> all_valid_types() {
  std::vector<std::pair<std::string, DType>> out;
  for (uint32_t id = 0; id < kDTypeCount; ++id)
    if (auto tr = dtype_traits(id)) out.emplace_back(tr->name, DType(id));
  return out;
}

}  // namespace

TEST(GgufRoundTrip, EveryValueType) {
  Writer w;
  w.set("t.u8", scalar(ValueType::u8, uint64_t(200)));
  w.set("t.i8", scalar(ValueType::i8, int64_t(-100)));
  w.set("t.u16", scalar(ValueType::u16, uint64_t(60000)));
  w.set("t.i16", scalar(ValueType::i16, int64_t(-30000)));
  w.set("t.u32", Value::of_u32(4000000000u));
  w.set("t.i32", Value::of_i32(-2000000000));
  w.set("t.f32", Value::of_f32(1.5e-6f));
  w.set("t.bool", Value::of_bool(true));
  w.set("t.string", Value::of_string("héllo\nwörld"));
  w.set("t.u64", Value::of_u64(~uint64_t(0) - 5));
  w.set("t.i64", scalar(ValueType::i64, int64_t(-(int64_t(1) << 60))));
  w.set("t.f64", scalar(ValueType::f64, 3.141592653589793));
  w.set("a.strings", Value::of_strings({"a", "", "ccc"}));
  w.set("a.i32", Value::of_i32s({1, -2, 3}));
  w.set("a.f32", Value::of_f32s({0.5f, -0.25f}));
  w.set("a.u8", array_of(ValueType::u8, {scalar(ValueType::u8, uint64_t(1)), scalar(ValueType::u8, uint64_t(255))}));
  w.set("a.bool", array_of(ValueType::boolean, {Value::of_bool(false), Value::of_bool(true)}));
  w.set("a.f64", array_of(ValueType::f64, {scalar(ValueType::f64, -1e300)}));
  w.set("a.i64", array_of(ValueType::i64, {scalar(ValueType::i64, int64_t(-7))}));
  w.set("a.u64", array_of(ValueType::u64, {Value::of_u64(1) , Value::of_u64(uint64_t(1) << 63)}));
  w.set("a.u16", array_of(ValueType::u16, {scalar(ValueType::u16, uint64_t(65535))}));
  w.set("a.i16", array_of(ValueType::i16, {scalar(ValueType::i16, int64_t(-32768))}));
  w.set("a.i8", array_of(ValueType::i8, {scalar(ValueType::i8, int64_t(-128))}));
  w.set("a.empty", array_of(ValueType::u32, {}));
  w.set("t.u32", Value::of_u32(4000000001u));  // replaces, keeps position
  const auto bytes = w.to_bytes();
  File f = File::parse(bytes.data(), bytes.size());
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.metadata().size(), 24u);
  EXPECT_EQ(f.metadata()[4].first, "t.u32");
  EXPECT_EQ(f.get("t.u8").as_uint(), 200u);
  EXPECT_EQ(f.get("t.u8").type, ValueType::u8);
  EXPECT_EQ(f.get("t.i8").as_int(), -100);
  EXPECT_EQ(f.get("t.u16").as_uint(), 60000u);
  EXPECT_EQ(f.get("t.i16").as_int(), -30000);
  EXPECT_EQ(f.get("t.u32").as_uint(), 4000000001u);
  EXPECT_EQ(f.get("t.i32").as_int(), -2000000000);
  EXPECT_EQ(float(f.get("t.f32").as_float()), 1.5e-6f);
  EXPECT_EQ(f.get("t.f32").type, ValueType::f32);
  EXPECT_TRUE(f.get("t.bool").as_bool());
  EXPECT_EQ(f.get("t.string").as_string(), "héllo\nwörld");
  EXPECT_EQ(f.get("t.u64").as_uint(), ~uint64_t(0) - 5);
  EXPECT_THROW((void)f.get("t.u64").as_int("t.u64"), Error);
  EXPECT_EQ(f.get("t.i64").as_int(), -(int64_t(1) << 60));
  EXPECT_EQ(f.get("t.f64").as_float(), 3.141592653589793);
  const auto& s = f.get("a.strings").as_array();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[2].as_string(), "ccc");
  EXPECT_EQ(s[1].as_string(), "");
  EXPECT_EQ(f.get("a.i32").as_array()[1].as_int(), -2);
  EXPECT_EQ(f.get("a.i32").elem_type, ValueType::i32);
  EXPECT_EQ(f.get("a.f32").as_array()[1].as_float(), -0.25);
  EXPECT_EQ(f.get("a.u8").as_array()[1].as_uint(), 255u);
  EXPECT_TRUE(f.get("a.bool").as_array()[1].as_bool());
  EXPECT_EQ(f.get("a.f64").as_array()[0].as_float(), -1e300);
  EXPECT_EQ(f.get("a.i64").as_array()[0].as_int(), -7);
  EXPECT_EQ(f.get("a.u64").as_array()[1].as_uint(), uint64_t(1) << 63);
  EXPECT_EQ(f.get("a.u16").as_array()[0].as_uint(), 65535u);
  EXPECT_EQ(f.get("a.i16").as_array()[0].as_int(), -32768);
  EXPECT_EQ(f.get("a.i8").as_array()[0].as_int(), -128);
  EXPECT_TRUE(f.get("a.empty").as_array().empty());
  EXPECT_EQ(f.get("a.empty").elem_type, ValueType::u32);
  // Typed accessors and errors naming the key.
  EXPECT_EQ(f.get_int("missing", 7), 7);
  EXPECT_EQ(f.get_string("t.string", ""), "héllo\nwörld");
  try {
    (void)f.get_string("t.u32", "");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("t.u32"), std::string::npos);
  }
  try {
    (void)f.get("no.such.key");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::not_found);
    EXPECT_NE(std::string(e.what()).find("no.such.key"), std::string::npos);
  }
  EXPECT_THROW((void)f.tensor("nope"), Error);
}

TEST(GgufRoundTrip, EveryTensorType) {
  Writer w;
  std::map<std::string, std::vector<uint8_t>> expect;
  uint32_t seed = 1;
  for (const auto& [name, t] : all_valid_types()) {
    const int64_t ne0 = block_size(t) * 2;
    const std::vector<int64_t> shape = {ne0, 3};
    const auto data = pattern(row_bytes(t, ne0) * 3, seed++);
    w.add_tensor("w." + name, t, shape, data.data(), data.size());
    expect["w." + name] = data;
  }
  const auto bytes = w.to_bytes();
  File f = File::parse(bytes.data(), bytes.size());
  ASSERT_EQ(f.tensors().size(), expect.size());
  uint64_t expected_offset = 0;
  for (const auto& t : f.tensors()) {
    SCOPED_TRACE(t.name);
    const auto& e = expect.at(t.name);
    EXPECT_EQ(t.n_bytes, e.size());
    EXPECT_EQ(t.n_dims, 2);
    EXPECT_EQ(t.ne[1], 3);
    EXPECT_EQ(std::string(dtype_name(t.type)), t.name.substr(2));
    EXPECT_EQ(std::memcmp(t.data, e.data(), e.size()), 0);
    // ggml's contiguity rule: each offset is the padded sum of the previous sizes.
    EXPECT_EQ(t.offset, expected_offset);
    expected_offset += (t.n_bytes + 31) / 32 * 32;
    EXPECT_EQ((f.data_offset() + t.offset) % 32, 0u);
  }
  EXPECT_EQ(f.data_offset() + expected_offset, bytes.size());  // data section ends padded
}

TEST(GgufRoundTrip, CustomAlignmentAndStreamingMatchInMemory) {
  const auto a = pattern(row_bytes(DType::q8_0, 64) * 5, 7);
  const auto b = pattern(4 * 10, 8);
  Writer mem;
  mem.set("general.alignment", Value::of_u32(64));
  mem.set("general.architecture", Value::of_string("llama"));
  mem.add_tensor("a", DType::q8_0, {64, 5}, a.data(), a.size());
  mem.add_tensor("b", DType::f32, {10}, b.data(), b.size());
  const auto bytes = mem.to_bytes();

  Writer st;
  st.set("general.alignment", Value::of_u32(64));
  st.set("general.architecture", Value::of_string("llama"));
  st.add_tensor_info("a", DType::q8_0, {64, 5});
  st.add_tensor("b", DType::f32, {10}, b.data(), b.size());
  EXPECT_EQ(st.total_tensor_bytes(), a.size() + b.size());
  const auto path = fs::temp_directory_path() / ("omni_gguf_stream_test_" + std::to_string(::getpid()) + ".gguf");
  std::vector<int64_t> chunks;
  const size_t rb = row_bytes(DType::q8_0, 64);
  st.write(path.string(), [&](size_t index, int64_t row0, int64_t n_rows, uint8_t* dst) {
    EXPECT_EQ(index, 0u);
    chunks.push_back(n_rows);
    std::memcpy(dst, a.data() + size_t(row0) * rb, size_t(n_rows) * rb);
  }, rb * 2);  // 2 rows per chunk -> 2 + 2 + 1
  EXPECT_EQ(chunks, (std::vector<int64_t>{2, 2, 1}));
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> disk((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(disk, bytes);
  File f = File::open(path.string());
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.data_offset() % 64, 0u);
  EXPECT_EQ(f.tensor("b").offset % 64, 0u);
  EXPECT_EQ(std::memcmp(f.tensor("a").data, a.data(), a.size()), 0);
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));
  fs::remove(path);
}

TEST(GgufRoundTrip, WriterRejectsBadInput) {
  Writer w;
  std::vector<uint8_t> d(18);
  EXPECT_THROW(w.add_tensor("q", DType::q4_0, {16}, d.data(), d.size()), Error);  // not whole blocks
  EXPECT_THROW(w.add_tensor("q", DType::q4_0, {32}, d.data(), 17), Error);         // wrong size
  EXPECT_THROW(w.add_tensor(std::string(64, 'n'), DType::q4_0, {32}, d.data(), 18), Error);
  EXPECT_THROW(w.set("general.alignment", Value::of_u32(48)), Error);
  w.add_tensor("q", DType::q4_0, {32}, d.data(), 18);
  EXPECT_THROW(w.add_tensor("q", DType::q4_0, {32}, d.data(), 18), Error);  // duplicate
  w.add_tensor_info("s", DType::f32, {4});
  EXPECT_THROW((void)w.to_bytes(), Error);  // streamed tensor without a producer
}

TEST(GgufRoundTrip, ReaderAgreesWithHandBuiltBytes) {
  // The writer's output for a tiny file equals the bytes laid out by hand from the spec.
  Writer w;
  w.set("k", Value::of_u32(5));
  const float x[2] = {1.0f, 2.0f};
  w.add_tensor("t", DType::f32, {2}, x, 8);
  omni::test::GgufBytes g;
  g.header(3, 1, 1).kv_u32("k", 5).tensor("t", {2}, 0, 0).pad().f32(1.0f).f32(2.0f).pad();
  EXPECT_EQ(w.to_bytes(), g.b);
}

TEST(GgufRoundTrip, NestedArraysReadFromHandBuiltBytesAndRoundTrip) {
  // k = [[1, 2], [], [3]] as u32 arrays, and s = [["a"], ["b", "cd"]]: laid out by hand from the
  // spec (an array element type of 9 means every element is itself type + count + items).
  omni::test::GgufBytes g;
  g.header(3, 0, 2);
  g.str("k").i32(9).i32(9).u64(3);
  g.i32(4).u64(2).u32(1).u32(2);
  g.i32(4).u64(0);
  g.i32(4).u64(1).u32(3);
  g.str("s").i32(9).i32(9).u64(2);
  g.i32(8).u64(1).str("a");
  g.i32(8).u64(2).str("b").str("cd");
  g.pad();
  File f = File::parse(g.b.data(), g.b.size());
  const auto& k = f.get("k").as_array("k");
  ASSERT_EQ(k.size(), 3u);
  EXPECT_EQ(f.get("k").elem_type, ValueType::array);
  ASSERT_EQ(k[0].as_array().size(), 2u);
  EXPECT_EQ(k[0].as_array()[1].as_uint(), 2u);
  EXPECT_TRUE(k[1].as_array().empty());
  EXPECT_EQ(k[2].as_array()[0].as_uint(), 3u);
  const auto& s = f.get("s").as_array("s");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1].elem_type, ValueType::string);
  EXPECT_EQ(s[1].as_array()[1].as_string(), "cd");

  // The writer produces the same bytes for the same values.
  Writer w;
  w.set("k", f.get("k"));
  w.set("s", f.get("s"));
  EXPECT_EQ(w.to_bytes(), g.b);

  // Nesting deeper than 8 levels is refused by the writer too.
  Value v = Value::of_i32s({1});
  for (int i = 0; i < 8; ++i) {
    Value outer;
    outer.type = ValueType::array;
    outer.elem_type = ValueType::array;
    outer.v = std::vector<Value>{v};
    v = outer;
  }
  Writer deep;
  deep.set("deep", v);
  EXPECT_THROW((void)deep.to_bytes(), Error);
}

TEST(GgufRoundTrip, ReleasedMetadataIsAnErrorNamingTheKey) {
  Writer w;
  w.set("tokenizer.ggml.tokens", Value::of_strings({"a", "b", "c"}));
  w.set("general.name", Value::of_string("x"));
  const auto bytes = w.to_bytes();
  File f = File::parse(bytes.data(), bytes.size());
  EXPECT_EQ(f.release({"tokenizer.ggml.tokens", "no.such.key"}), 3u);
  EXPECT_EQ(f.get_string("general.name", ""), "x");  // other keys stay readable
  try {
    (void)f.get("tokenizer.ggml.tokens");
    FAIL() << "a released key was readable";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'tokenizer.ggml.tokens' was released"), std::string::npos) << e.what();
  }
  EXPECT_EQ(f.release({"tokenizer.ggml.tokens"}), 0u);  // releasing twice frees nothing more
}

// --- golden files ------------------------------------------------------------------------

TEST(GgufGolden, EveryGoldenModelReads) {
  int n_files = 0;
  for (const char* dir : {"llm", "vision"}) {
    for (const auto& e : fs::directory_iterator(fs::path(OMNI_TEST_DATA) / dir)) {
      if (e.path().extension() != ".gguf") continue;
      SCOPED_TRACE(e.path().string());
      ++n_files;
      File f = File::open(e.path().string());
      EXPECT_EQ(f.version(), 3u);
      EXPECT_EQ(f.data_offset() % f.alignment(), 0u);
      ASSERT_FALSE(f.tensors().empty());
      EXPECT_FALSE(f.get_string("general.architecture", "").empty());
      uint64_t expected_offset = 0;
      for (const auto& t : f.tensors()) {
        EXPECT_EQ(t.offset, expected_offset) << t.name;  // files written contiguously
        expected_offset += (t.n_bytes + f.alignment() - 1) / f.alignment() * f.alignment();
        EXPECT_EQ(t.n_bytes, row_bytes(t.type, t.ne[0]) * uint64_t(t.n_rows()));
        EXPECT_TRUE(traits(t.type).supported) << t.name;
      }
      EXPECT_LE(f.data_offset() + expected_offset, f.file_size());
      if (std::string(dir) == "llm") {
        const std::string arch = f.get_string("general.architecture", "");
        const int64_t n_embd = f.get_int(arch + ".embedding_length", -1);
        const int64_t n_layer = f.get_int(arch + ".block_count", -1);
        const auto& tokens = f.get("tokenizer.ggml.tokens").as_array();
        const auto& emb = f.tensor("token_embd.weight");
        EXPECT_EQ(emb.ne[0], n_embd);
        EXPECT_EQ(emb.ne[1], int64_t(tokens.size()));
        EXPECT_EQ(tokens[0x62].as_string(), "b");  // token i is the GPT-2 symbol of byte i
        EXPECT_EQ(tokens[0x20].as_string(), "\xC4\xA0");  // space maps to U+0120
        EXPECT_NE(f.find_tensor(cat("blk.", n_layer - 1, ".ffn_down.weight")), nullptr);
        EXPECT_EQ(f.find_tensor(cat("blk.", n_layer, ".ffn_down.weight")), nullptr);
        // Norm weights are f32 near 1 (mkgguf.py draws 1 + 0.1 * normal).
        const auto& norm = f.tensor("output_norm.weight");
        ASSERT_EQ(norm.type, DType::f32);
        float first;
        std::memcpy(&first, norm.data, 4);
        EXPECT_GT(first, 0.3f);
        EXPECT_LT(first, 1.7f);
      }
    }
  }
  EXPECT_GE(n_files, 9);
}

TEST(GgufGolden, QuantizedGoldenTypesMatchTheirNames) {
  File f = File::open(std::string(OMNI_TEST_DATA) + "/llm/mini-qwen2-q4_k_m.gguf");
  std::map<DType, int> count;
  for (const auto& t : f.tensors()) count[t.type]++;
  EXPECT_GT(count[DType::q6_k] + count[DType::q8_0], 0);
  EXPECT_GT(count[DType::f32], 0);
  File g = File::open(std::string(OMNI_TEST_DATA) + "/llm/mini-llama-bf16.gguf");
  EXPECT_EQ(g.tensor("blk.0.attn_q.weight").type, DType::bf16);
  EXPECT_EQ(g.get_string("tokenizer.ggml.pre", ""), "llama-bpe");
}
