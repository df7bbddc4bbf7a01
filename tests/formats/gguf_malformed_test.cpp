// GGUF reader against a corpus of malformed files built byte by byte: every one must give
// omni::Error with a message naming the problem (never a crash, never a huge allocation), while
// the valid edge cases the spec allows are accepted.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <unistd.h>

#include "formats/gguf.hpp"
#include "gguf_bytes.hpp"
#include "omni/error.hpp"

using omni::Error;
using omni::ErrorCode;
using omni::gguf::File;
using omni::test::GgufBytes;

namespace {

constexpr uint64_t kHuge = ~uint64_t(0);

// A small valid file: 2 metadata pairs, 2 f32 tensors of 8 elements (32 bytes each, so the file
// ends exactly at the end of the last tensor and every prefix is truncated).
GgufBytes valid_file() {
  GgufBytes g;
  g.header(3, 2, 2).kv_str("general.architecture", "llama").kv_u32("llama.block_count", 2);
  g.tensor("a", {8}, 0, 0).tensor("b", {4, 2}, 0, 32).pad();
  g.fill(32, 1).fill(32, 100);
  return g;
}

struct BadCase {
  std::string name;
  GgufBytes bytes;
  std::string expect;  // a substring the error message must contain
};

// Header + one KV pair whose bytes follow `kv` (no tensors).
GgufBytes one_kv(const std::function<void(GgufBytes&)>& kv) {
  GgufBytes g;
  g.header(3, 0, 1);
  kv(g);
  return g;
}

// Header with one tensor info from `ti`, padding and `data_bytes` bytes of data.
GgufBytes one_tensor(const std::function<void(GgufBytes&)>& ti, size_t data_bytes = 64) {
  GgufBytes g;
  g.header(3, 1, 0);
  ti(g);
  g.pad().zeros(data_bytes);
  return g;
}

std::vector<BadCase> corpus() {
  std::vector<BadCase> c;
  auto add = [&](std::string n, GgufBytes b, std::string e) { c.push_back({std::move(n), std::move(b), std::move(e)}); };
  add("empty", GgufBytes{}, "truncated");
  add("bad_magic", GgufBytes{}.raw("GGUG").u32(3).i64(0).i64(0), "bad magic");
  add("ggml_magic", GgufBytes{}.raw("lmgg").u32(1).i64(0).i64(0), "not a GGUF file");
  add("magic_only", GgufBytes{}.raw("GGUF"), "truncated");
  add("version_0", GgufBytes{}.header(0, 0, 0), "version 0");
  add("version_1", GgufBytes{}.header(1, 0, 0), "version 1");
  add("version_4", GgufBytes{}.header(4, 0, 0), "version 4");
  add("version_big_endian", GgufBytes{}.header(0x03000000, 0, 0), "byte-swapped");
  add("negative_n_tensors", GgufBytes{}.header(3, -1, 0), "negative tensor count");
  add("negative_n_kv", GgufBytes{}.header(3, 0, -5), "negative metadata count");
  add("huge_n_kv", GgufBytes{}.header(3, 0, int64_t(1) << 62), "cannot fit");
  add("huge_n_tensors", GgufBytes{}.header(3, int64_t(1) << 60, 0), "cannot fit");
  add("truncated_kv", GgufBytes{}.header(3, 0, 1).str("general.name"), "truncated");
  add("key_len_2^64", one_kv([](GgufBytes& g) { g.u64(kHuge).raw("abc").i32(4).u32(1); }), "1 GiB");
  add("key_len_past_end", one_kv([](GgufBytes& g) { g.u64(1000).raw("abcdefgh"); }), "past the end");
  add("key_len_2^30+1", one_kv([](GgufBytes& g) { g.u64((uint64_t(1) << 30) + 1).raw("xxxxxxxxxxxxxxxx"); }), "1 GiB");
  add("empty_key", one_kv([](GgufBytes& g) { g.str("").i32(4).u32(1); }), "empty key");
  add("duplicate_key", GgufBytes{}.header(3, 0, 2).kv_u32("a.b", 1).kv_u32("a.b", 2), "duplicate metadata key 'a.b'");
  add("value_type_13", one_kv([](GgufBytes& g) { g.str("k").i32(13).u32(0); }), "unknown value type id 13");
  add("value_type_negative", one_kv([](GgufBytes& g) { g.str("k").i32(-1).u32(0); }), "unknown value type id -1");
  add("nested_array_9_deep", one_kv([](GgufBytes& g) {
        g.str("k").i32(9);
        for (int i = 0; i < 9; ++i) g.i32(9).u64(1);
        g.i32(4).u64(1).u32(7);
      }), "nested more than 8 levels");
  add("nested_array_inner_past_end", one_kv([](GgufBytes& g) { g.str("k").i32(9).i32(9).u64(2).i32(4).u64(1).u32(7).i32(4).u64(500).u32(1); }), "remain");
  add("nested_array_outer_count_past_end", one_kv([](GgufBytes& g) { g.str("k").i32(9).i32(9).u64(1000).i32(4).u64(0); }), "remain");
  add("nested_array_inner_type_99", one_kv([](GgufBytes& g) { g.str("k").i32(9).i32(9).u64(1).i32(99).u64(0); }), "unknown element type id 99");
  add("array_elem_type_99", one_kv([](GgufBytes& g) { g.str("k").i32(9).i32(99).u64(0); }), "unknown element type id 99");
  add("array_count_2^64", one_kv([](GgufBytes& g) { g.str("k").i32(9).i32(4).u64(kHuge).u32(1); }), "exceeds the limit");
  add("array_count_2^31", one_kv([](GgufBytes& g) { g.str("k").i32(9).i32(0).u64(uint64_t(1) << 31).u32(1); }), "exceeds the limit");
  add("array_count_past_end", one_kv([](GgufBytes& g) { g.str("k").i32(9).i32(4).u64(1000).u32(1).u32(2); }), "remain");
  add("array_u64_count_overflow", one_kv([](GgufBytes& g) { g.str("k").i32(9).i32(10).u64(uint64_t(1) << 29).u64(1); }), "remain");
  add("string_array_past_end", one_kv([](GgufBytes& g) { g.str("k").i32(9).i32(8).u64(100).str("a").str("b"); }), "remain");
  add("string_array_item_len", one_kv([](GgufBytes& g) { g.str("k").i32(9).i32(8).u64(2).str("a").u64(kHuge - 3); }), "1 GiB");
  add("string_value_past_end", one_kv([](GgufBytes& g) { g.str("k").i32(8).u64(50).raw("short"); }), "past the end");
  add("truncated_u64_value", one_kv([](GgufBytes& g) { g.str("k").i32(10).u32(1); }), "truncated");
  add("alignment_u64", one_kv([](GgufBytes& g) { g.str("general.alignment").i32(10).u64(32); }), "must be a u32");
  add("alignment_array", one_kv([](GgufBytes& g) { g.str("general.alignment").i32(9).i32(4).u64(1).u32(32); }), "must be a u32");
  add("alignment_0", one_kv([](GgufBytes& g) { g.kv_u32("general.alignment", 0); }), "power of two");
  add("alignment_48", one_kv([](GgufBytes& g) { g.kv_u32("general.alignment", 48); }), "power of two");
  add("tensor_name_64", one_tensor([](GgufBytes& g) { g.tensor(std::string(64, 'x'), {8}, 0, 0); }), "limit is 63");
  add("duplicate_tensor", GgufBytes{}.header(3, 2, 0).tensor("w", {8}, 0, 0).tensor("w", {8}, 0, 32).pad().zeros(64),
      "duplicate tensor name 'w'");
  add("duplicate_tensor_c_string", GgufBytes{}.header(3, 2, 0).tensor("w", {8}, 0, 0).tensor(std::string("w\0x", 3), {8}, 0, 32).pad().zeros(64),
      "duplicate tensor name");
  add("n_dims_5", one_tensor([](GgufBytes& g) { g.tensor("w", {1, 1, 1, 1, 8}, 0, 0); }), "5 dimensions");
  add("n_dims_2^32-1", one_tensor([](GgufBytes& g) { g.str("w").u32(0xFFFFFFFF).i64(8); }), "dimensions");
  add("dim_zero", one_tensor([](GgufBytes& g) { g.tensor("w", {8, 0}, 0, 0); }), "dimension 1 is 0");
  add("dim_negative", one_tensor([](GgufBytes& g) { g.tensor("w", {-8}, 0, 0); }), "dimension 0 is -8");
  add("dims_overflow_int64", one_tensor([](GgufBytes& g) { g.tensor("w", {int64_t(1) << 40, int64_t(1) << 40}, 0, 0); }), "overflows int64");
  add("dims_overflow_4d", one_tensor([](GgufBytes& g) { g.tensor("w", {1 << 20, 1 << 20, 1 << 20, 1 << 20}, 0, 0); }), "overflows int64");
  add("bytes_overflow", one_tensor([](GgufBytes& g) { g.tensor("w", {int64_t(1) << 62}, 0, 0); }), "byte size overflows");
  add("type_43", one_tensor([](GgufBytes& g) { g.tensor("w", {8}, 43, 0); }), "unknown ggml type id 43");
  add("type_1000", one_tensor([](GgufBytes& g) { g.tensor("w", {8}, 1000, 0); }), "unknown ggml type id 1000");
  add("type_negative", one_tensor([](GgufBytes& g) { g.tensor("w", {8}, -2, 0); }), "unknown ggml type id -2");
  add("type_removed_q4_2", one_tensor([](GgufBytes& g) { g.tensor("w", {32}, 4, 0); }), "type id 4 (q4_2), which was removed");
  add("type_removed_q4_0_4_4", one_tensor([](GgufBytes& g) { g.tensor("w", {32}, 31, 0); }), "q4_0_4_4");
  add("q4_0_ne0_16", one_tensor([](GgufBytes& g) { g.tensor("w", {16, 2}, 2, 0); }), "not a multiple of the block size 32");
  add("q4_k_ne0_128", one_tensor([](GgufBytes& g) { g.tensor("w", {128}, 12, 0); }), "block size 256");
  add("misaligned_offset", one_tensor([](GgufBytes& g) { g.tensor("w", {8}, 0, 4); }), "not a multiple of the alignment");
  add("data_past_end", one_tensor([](GgufBytes& g) { g.tensor("w", {64}, 0, 0); }, 100), "past the end of the file");
  add("offset_past_end", one_tensor([](GgufBytes& g) { g.tensor("w", {8}, 0, 1 << 20); }), "past the end of the file");
  add("offset_near_2^64", one_tensor([](GgufBytes& g) { g.tensor("w", {8}, 0, kHuge - 31); }), "past the end of the file");
  add("overlapping", GgufBytes{}.header(3, 2, 0).tensor("a", {16}, 0, 0).tensor("b", {16}, 0, 32).pad().zeros(128), "overlap");
  add("same_offset", GgufBytes{}.header(3, 2, 0).tensor("a", {8}, 0, 0).tensor("b", {8}, 0, 0).pad().zeros(64), "overlap");
  add("data_start_past_end", GgufBytes{}.header(3, 1, 0).tensor("a", {8}, 0, 0), "past the end of the file");
  add("truncated_tensor_info", GgufBytes{}.header(3, 1, 0).str("a").u32(2).i64(8), "cannot fit");
  add("truncated_tensor_offset", GgufBytes{}.header(3, 1, 0).str("a").u32(1).i64(8).i32(0).u32(0), "truncated");
  add("bad_alignment_then_tensor",
      GgufBytes{}.header(3, 1, 1).kv_u32("general.alignment", 64).tensor("a", {8}, 0, 32).pad(64).zeros(128),
      "alignment 64");
  return c;
}

}  // namespace

TEST(GgufMalformed, CorpusHasEnoughCases) { EXPECT_GE(corpus().size(), 30u); }

TEST(GgufMalformed, EveryCaseIsRejectedWithAHelpfulMessage) {
  for (auto& bc : corpus()) {
    SCOPED_TRACE(bc.name);
    // Copy into an exactly-sized heap buffer so ASan catches any read past the end.
    std::vector<uint8_t> buf(bc.bytes.b);
    try {
      (void)File::parse(buf.data(), buf.size(), bc.name);
      ADD_FAILURE() << "accepted malformed file " << bc.name;
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(bc.expect), std::string::npos) << msg;
      EXPECT_NE(msg.find(bc.name), std::string::npos) << "message does not name the file: " << msg;
      EXPECT_NE(msg.find("at byte"), std::string::npos) << msg;
      EXPECT_TRUE(e.code() == ErrorCode::invalid_file || e.code() == ErrorCode::unsupported ||
                  e.code() == ErrorCode::too_large)
          << omni::error_code_name(e.code());
    }
  }
}

TEST(GgufMalformed, VersionsAndTypesUseTheRightCodes) {
  auto code_of = [](const GgufBytes& g) {
    try {
      (void)File::parse(g.b.data(), g.b.size());
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::internal;
  };
  EXPECT_EQ(code_of(GgufBytes{}.header(4, 0, 0)), ErrorCode::unsupported);
  EXPECT_EQ(code_of(GgufBytes{}.header(1, 0, 0)), ErrorCode::unsupported);
  EXPECT_EQ(code_of(GgufBytes{}.raw("GGUX").u32(3).i64(0).i64(0)), ErrorCode::invalid_file);
  EXPECT_EQ(code_of(one_tensor([](GgufBytes& g) { g.tensor("w", {32}, 5, 0); })), ErrorCode::unsupported);
}

TEST(GgufMalformed, ErrorGivesTheByteOffsetOfTheBadField) {
  // Header (24) + key "k" (8 + 1) -> the value type sits at byte 33.
  auto g = one_kv([](GgufBytes& b) { b.str("k").i32(77).u32(0); });
  try {
    (void)File::parse(g.b.data(), g.b.size(), "x.gguf");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'x.gguf' at byte 33"), std::string::npos) << e.what();
  }
}

TEST(GgufMalformed, EveryTruncationOfAValidFileIsRejected) {
  const auto full = valid_file();
  {
    File f = File::parse(full.b.data(), full.b.size());  // the full file is valid
    ASSERT_EQ(f.tensors().size(), 2u);
    EXPECT_EQ(f.tensor("b").data[0], 100);
  }
  for (size_t n = 0; n < full.b.size(); ++n) {
    std::vector<uint8_t> prefix(full.b.begin(), full.b.begin() + long(n));
    EXPECT_THROW((void)File::parse(prefix.data(), prefix.size()), Error) << "prefix of " << n << " bytes accepted";
  }
}

TEST(GgufMalformed, EverySingleByteCorruptionIsHandled) {
  // Each byte of the header area replaced by 0xFF or 0x80: either a clean Error or a valid parse.
  const auto full = valid_file();
  int rejected = 0;
  for (size_t i = 0; i < full.b.size() - 64; ++i)
    for (uint8_t v : {uint8_t(0xFF), uint8_t(0x80), uint8_t(0x00)}) {
      auto buf = full.b;
      if (buf[i] == v) continue;
      buf[i] = v;
      try {
        File f = File::parse(buf.data(), buf.size());
        for (const auto& t : f.tensors()) EXPECT_LE(t.data + t.n_bytes, buf.data() + buf.size());
      } catch (const Error&) {
        ++rejected;
      }
    }
  EXPECT_GT(rejected, 100);
}

TEST(GgufMalformed, HugeArrayDoesNotAllocate) {
  // 2^29 u8 elements claimed but the file holds 4: rejected before any allocation.
  auto g = one_kv([](GgufBytes& b) { b.str("k").i32(9).i32(0).u64(uint64_t(1) << 29).u32(0); });
  EXPECT_THROW((void)File::parse(g.b.data(), g.b.size()), Error);
}

TEST(GgufAccepted, EdgeCasesTheSpecAllows) {
  // Version 2, a bool byte of 2, an empty array, a scalar tensor (n_dims 0), alignment 64.
  GgufBytes g;
  g.header(2, 2, 3).kv_u32("general.alignment", 64);
  g.str("flag").i32(7).u8(2);
  g.str("empty").i32(9).i32(8).u64(0);
  g.tensor("scalar", {}, 0, 0).tensor("v", {16}, 0, 64).pad(64).fill(4, 9).zeros(60).fill(64, 0);
  File f = File::parse(g.b.data(), g.b.size());
  EXPECT_EQ(f.version(), 2u);
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_TRUE(f.get("flag").as_bool());
  EXPECT_TRUE(f.get("empty").as_array().empty());
  EXPECT_EQ(f.get("empty").elem_type, omni::gguf::ValueType::string);
  const auto& s = f.tensor("scalar");
  EXPECT_EQ(s.n_dims, 0);
  EXPECT_EQ(s.n_elements(), 1);
  EXPECT_EQ(s.n_bytes, 4u);
  EXPECT_EQ(s.data[0], 9);
  EXPECT_EQ(f.data_offset() % 64, 0u);
  EXPECT_EQ(f.tensor("v").n_bytes, 64u);
}

TEST(GgufAccepted, NoTensorsMeansNoPadding) {
  auto g = one_kv([](GgufBytes& b) { b.kv_u32("x", 1); });
  File f = File::parse(g.b.data(), g.b.size());
  EXPECT_EQ(f.data_offset(), g.b.size());
  EXPECT_EQ(f.get_int("x", 0), 1);
}

TEST(GgufOpen, MissingFileAndMalformedFileNameThePath) {
  EXPECT_THROW((void)File::open("/nonexistent/dir/model.gguf"), Error);
  const auto path = std::filesystem::temp_directory_path() / ("omni_gguf_bad_magic_" + std::to_string(::getpid()) + ".gguf");
  {
    std::ofstream(path, std::ios::binary) << "NOPE1234567890123456789012345";
  }
  try {
    (void)File::open(path.string());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
}

TEST(GgufMalformed, TooManyArrayElementsIsRefusedAsTooLarge) {
  // 2^23 + 1 one-byte elements really present: refused by the metadata memory guard, not parsed.
  const uint64_t n = (uint64_t(1) << 23) + 1;
  auto g = one_kv([&](GgufBytes& b) { b.str("k").i32(9).i32(0).u64(n); });
  g.zeros(size_t(n));
  try {
    (void)File::parse(g.b.data(), g.b.size(), "big.gguf");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::too_large) << e.what();
    EXPECT_NE(std::string(e.what()).find("array elements"), std::string::npos) << e.what();
  }
}
