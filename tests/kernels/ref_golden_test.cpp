// Golden tests of the scalar reference block kernels against ggml's own output in tests/data/quant:
// bit-exact dequantization, byte-exact simple quantizers, and quantizer round-trip RMSE vs ggml's.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/dtype.hpp"
#include "kernels/ref/ref.hpp"

namespace {
using omni::DType;
namespace ref = omni::kernels::ref;

std::vector<uint8_t> read_file(const std::string& name) {
  const std::string path = std::string(OMNI_TEST_DATA) + "/quant/" + name;
  std::ifstream f(path, std::ios::binary);
  EXPECT_TRUE(f.good()) << "cannot open " << path;
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

std::vector<float> as_floats(const std::vector<uint8_t>& b) {
  std::vector<float> v(b.size() / 4);
  std::memcpy(v.data(), b.data(), v.size() * 4);
  return v;
}

struct Golden {
  int64_t rows = 0, cols = 0;
  std::vector<float> input;
  nlohmann::json types;
};

const Golden& golden() {
  static const Golden g = [] {
    Golden g;
    const auto idx = read_file("index.json");
    const auto j = nlohmann::json::parse(idx.begin(), idx.end());
    g.rows = j.at("rows").get<int64_t>();
    g.cols = j.at("cols").get<int64_t>();
    g.input = as_floats(read_file(j.at("input").get<std::string>()));
    g.types = j.at("types");
    return g;
  }();
  return g;
}

bool same_bits(float a, float b) {
  if (std::isnan(a) && std::isnan(b)) return true;
  return std::memcmp(&a, &b, 4) == 0;
}

double rmse(const float* a, const float* b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  return std::sqrt(s / double(n));
}

TEST(RefGolden, IndexListsEveryExpectedType) {
  const auto& g = golden();
  ASSERT_EQ(g.input.size(), size_t(g.rows * g.cols));
  for (const char* name : {"q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k",
                           "iq4_nl", "iq4_xs", "f16", "bf16"})
    EXPECT_TRUE(g.types.contains(name)) << name;
}

TEST(RefGolden, DequantizeMatchesGgmlBitForBit) {
  const auto& g = golden();
  for (const auto& [name, info] : g.types.items()) {
    SCOPED_TRACE(name);
    const auto t = omni::dtype_from_name(name);
    ASSERT_TRUE(t.has_value());
    ASSERT_EQ(uint32_t(*t), info.at("ggml_type_id").get<uint32_t>());
    const size_t rb = omni::row_bytes(*t, g.cols);
    ASSERT_EQ(rb, info.at("bytes_per_row").get<size_t>());
    const auto q = read_file(info.at("quantized").get<std::string>());
    const auto expect = as_floats(read_file(info.at("dequantized").get<std::string>()));
    ASSERT_EQ(q.size(), rb * size_t(g.rows));
    ASSERT_EQ(expect.size(), size_t(g.rows * g.cols));
    std::vector<float> got(size_t(g.rows * g.cols), -12345.0f);
    for (int64_t r = 0; r < g.rows; ++r) ref::dequantize_row(*t, q.data() + r * rb, got.data() + r * g.cols, g.cols);
    int64_t mismatches = 0, first = -1;
    for (size_t i = 0; i < got.size(); ++i)
      if (!same_bits(got[i], expect[i])) { if (first < 0) first = int64_t(i); ++mismatches; }
    EXPECT_EQ(mismatches, 0) << "first mismatch at " << first << ": got " << got[size_t(std::max<int64_t>(first, 0))]
                             << " want " << expect[size_t(std::max<int64_t>(first, 0))];
  }
}

// The simple reference quantizers are deterministic formulas (spec §3.18, §4.2, §5): our bytes must
// equal ggml's.
TEST(RefGolden, SimpleQuantizersMatchGgmlBytes) {
  const auto& g = golden();
  for (const char* name : {"q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "f16", "bf16"}) {
    SCOPED_TRACE(name);
    const DType t = *omni::dtype_from_name(name);
    const size_t rb = omni::row_bytes(t, g.cols);
    const auto expect = read_file(g.types.at(name).at("quantized").get<std::string>());
    std::vector<uint8_t> got(rb * size_t(g.rows), 0xAB);
    for (int64_t r = 0; r < g.rows; ++r) ref::quantize_row(t, g.input.data() + r * g.cols, got.data() + r * rb, g.cols);
    ASSERT_EQ(got.size(), expect.size());
    size_t first = got.size();
    for (size_t i = 0; i < got.size(); ++i) if (got[i] != expect[i]) { first = i; break; }
    EXPECT_EQ(first, got.size()) << "first differing byte at " << first;
  }
}

// Every weight quantizer: round-trip RMSE (ours) <= 1.02 x ggml's, per row and overall.
TEST(RefGolden, QuantizerRmseWithinTwoPercentOfGgml) {
  const auto& g = golden();
  std::printf("%-8s %5s %14s %14s %8s\n", "type", "row", "ours", "ggml", "ratio");
  for (const auto& [name, info] : g.types.items()) {
    SCOPED_TRACE(name);
    const DType t = *omni::dtype_from_name(name);
    const size_t rb = omni::row_bytes(t, g.cols);
    const auto theirs = as_floats(read_file(info.at("dequantized").get<std::string>()));
    std::vector<uint8_t> q(rb);
    std::vector<float> ours(size_t(g.rows * g.cols));
    for (int64_t r = 0; r < g.rows; ++r) {
      ref::quantize_row(t, g.input.data() + r * g.cols, q.data(), g.cols);
      ref::dequantize_row(t, q.data(), ours.data() + r * g.cols, g.cols);
    }
    for (int64_t r = -1; r < g.rows; ++r) {
      const int64_t off = r < 0 ? 0 : r * g.cols, len = r < 0 ? g.rows * g.cols : g.cols;
      const double e_ours = rmse(ours.data() + off, g.input.data() + off, len);
      const double e_ggml = rmse(theirs.data() + off, g.input.data() + off, len);
      std::printf("%-8s %5s %14.8g %14.8g %8.4f\n", name.c_str(), r < 0 ? "all" : std::to_string(r).c_str(),
                  e_ours, e_ggml, e_ggml > 0 ? e_ours / e_ggml : 1.0);
      EXPECT_LE(e_ours, 1.02 * e_ggml + 1e-12) << "row " << r;
    }
  }
}

}  // namespace
