// Every SIMD kernel (each instruction set this CPU has, forced through the dispatch tables) against
// the scalar reference: dequantize bit-exact, activation conversion byte-identical, vec_dot within
// a tolerance scaled by sum |w*a|, over many lengths and unaligned pointers.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/fp16.hpp"
#include "kernels/ref/ref.hpp"
#include "kernels/x86/kernel_table.hpp"

namespace omni::kernels {
namespace {

const std::vector<DType> kWeightTypes = {DType::f32,  DType::f16,  DType::bf16, DType::q8_0,   DType::q4_0,
                                         DType::q4_1, DType::q5_0, DType::q5_1, DType::q2_k,   DType::q3_k,
                                         DType::q4_k, DType::q5_k, DType::q6_k, DType::iq4_nl, DType::iq4_xs};

std::vector<const KernelTable*> simd_tables() {
  std::vector<const KernelTable*> v;
  for (Isa i : {Isa::avx2, Isa::avx512})
    if (const KernelTable* t = kernel_table(i)) v.push_back(t);
  return v;
}

// Lengths to test for a type: every block multiple up to ~300 elements for 32-blocks (and odd
// lengths for 1-element types), several for 256-blocks.
std::vector<int64_t> lengths_for(DType t) {
  const int64_t bs = block_size(t);
  std::vector<int64_t> v;
  if (bs == 1) {
    for (int64_t n = 1; n <= 300; ++n) v.push_back(n);
    v.push_back(1037);
  } else if (bs == 32) {
    for (int64_t n = 32; n <= 320; n += 32) v.push_back(n);
    v.push_back(32 * 37);
  } else {
    for (int64_t nb : {1, 2, 3, 5, 8}) v.push_back(nb * bs);
  }
  return v;
}

// Random values with varied magnitudes per 32-group, some exact zeros and ties.
std::vector<float> random_floats(std::mt19937& rng, int64_t n) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::uniform_real_distribution<float> scale(-3.0f, 3.0f);
  std::vector<float> x(static_cast<size_t>(n));
  float s = 1.0f;
  for (int64_t i = 0; i < n; ++i) {
    if (i % 32 == 0) s = std::pow(10.0f, scale(rng));
    x[size_t(i)] = nd(rng) * s;
  }
  if (n >= 64) {
    for (int i = 0; i < 32; ++i) x[size_t(i)] = 0.0f;  // an all-zero block
    x[40] = 63.5f;                                     // exact .5 after scaling by 127/127
    x[41] = -127.0f;
    x[42] = 127.0f;
  }
  return x;
}

// Byte offset for an "unaligned" buffer of type t: any byte count for block formats, whole elements
// for f32/f16/bf16 (a misaligned float* would be undefined behaviour in the scalar reference).
size_t unalign(DType t, size_t off) { return block_size(t) == 1 ? off * traits(t).type_size : off; }

// A byte buffer whose data starts `offset` bytes past an aligned address.
struct Unaligned {
  std::vector<uint8_t> buf;
  size_t off;
  Unaligned(size_t bytes, size_t offset) : buf(bytes + 64), off(offset) {}
  uint8_t* data() { return buf.data() + off; }
};

TEST(SimdKernels, TablesExistForThisCpu) {
  ASSERT_NE(kernel_table(Isa::scalar), nullptr);
  if (__builtin_cpu_supports("avx2")) {
    EXPECT_NE(kernel_table(Isa::avx2), nullptr);
  }
  EXPECT_STRNE(active_table().name, "");
}

TEST(SimdKernels, DequantizeBitExact) {
  std::mt19937 rng(1);
  for (const KernelTable* kt : simd_tables())
    for (DType t : kWeightTypes)
      for (int64_t n : lengths_for(t)) {
        const size_t off = unalign(t, size_t(n % 4));
        const std::vector<float> x = random_floats(rng, n);
        Unaligned q(row_bytes(t, n), off);
        ref::quantize_row(t, x.data(), q.data(), n);
        std::vector<float> want(static_cast<size_t>(n)), got(size_t(n) + 1);
        ref::dequantize_row(t, q.data(), want.data(), n);
        dequantize_row_with(*kt, t, q.data(), got.data() + 1, n);  // destination not 8-byte aligned
        const float* g = got.data() + 1;
        ASSERT_EQ(0, std::memcmp(want.data(), g, size_t(n) * 4))
            << kt->name << " " << dtype_name(t) << " n=" << n;
      }
}

TEST(SimdKernels, ConvertActivationsByteIdentical) {
  std::mt19937 rng(2);
  for (const KernelTable* kt : simd_tables())
    for (DType t : kWeightTypes)
      for (int64_t n : lengths_for(t)) {
        const DType vt = ref::vec_dot_type(t);
        const size_t off = size_t((n / block_size(t)) % 4);
        std::vector<float> xbuf(size_t(n) + 1);
        const std::vector<float> x = random_floats(rng, n);
        std::memcpy(xbuf.data() + (off & 1), x.data(), size_t(n) * 4);  // unaligned float source too
        Unaligned want(row_bytes(vt, n), 0), got(row_bytes(vt, n), unalign(vt, off));
        ref::convert_activations(t, x.data(), want.data(), n);
        convert_activations_with(*kt, t, xbuf.data() + (off & 1), got.data(), n);
        ASSERT_EQ(0, std::memcmp(want.data(), got.data(), row_bytes(vt, n)))
            << kt->name << " " << dtype_name(t) << " n=" << n;
      }
}

TEST(SimdKernels, VecDotMatchesReference) {
  std::mt19937 rng(3);
  for (const KernelTable* kt : simd_tables())
    for (DType t : kWeightTypes)
      for (int64_t n : lengths_for(t)) {
        const DType vt = ref::vec_dot_type(t);
        const std::vector<float> wx = random_floats(rng, n), ax = random_floats(rng, n);
        Unaligned w(row_bytes(t, n), unalign(t, size_t(n % 3) + 1)), a(row_bytes(vt, n), unalign(vt, size_t(n % 2) + 2));
        ref::quantize_row(t, wx.data(), w.data(), n);
        ref::convert_activations(t, ax.data(), a.data(), n);
        std::vector<float> wd(static_cast<size_t>(n)), ad(static_cast<size_t>(n));
        ref::dequantize_row(t, w.data(), wd.data(), n);
        ref::dequantize_row(vt, a.data(), ad.data(), n);
        double mag = 0.0;
        for (int64_t i = 0; i < n; ++i) mag += std::fabs(double(wd[size_t(i)]) * ad[size_t(i)]);
        const float want = ref::vec_dot(t, n, w.data(), a.data());
        const float got = vec_dot_with(*kt, t, n, w.data(), a.data());
        ASSERT_NEAR(got, want, 2e-5 * mag + 1e-30) << kt->name << " " << dtype_name(t) << " n=" << n;
      }
}

// A row of random bytes with every f16 scale field set to a finite random value: every quant, scale
// and high-bit pattern occurs, independently of what the quantizers produce.
std::vector<uint8_t> random_block_row(std::mt19937& rng, DType t, int64_t n) {
  std::vector<uint8_t> b(row_bytes(t, n));
  for (auto& c : b) c = uint8_t(rng());
  std::uniform_real_distribution<float> ud(-0.05f, 0.05f);
  auto put = [&](uint8_t* p) {
    const uint16_t h = f32_to_fp16(ud(rng));
    std::memcpy(p, &h, 2);
  };
  const size_t bs = traits(t).type_size;
  for (size_t off = 0; off < b.size(); off += bs) {
    uint8_t* p = b.data() + off;
    switch (t) {
      case DType::q4_1: case DType::q5_1: case DType::q4_k: case DType::q5_k: put(p); put(p + 2); break;
      case DType::q2_k: put(p + 80); put(p + 82); break;
      case DType::q3_k: put(p + 108); break;
      case DType::q6_k: put(p + 208); break;
      default: put(p); break;  // q4_0 q5_0 q8_0 iq4_nl iq4_xs: d first
    }
  }
  return b;
}

TEST(SimdKernels, RandomBlocksDequantizeAndDot) {
  std::mt19937 rng(4);
  for (const KernelTable* kt : simd_tables())
    for (DType t : kWeightTypes) {
      if (block_size(t) == 1) continue;
      for (int64_t n : lengths_for(t)) {
        const DType vt = ref::vec_dot_type(t);
        const std::vector<uint8_t> w = random_block_row(rng, t, n);
        std::vector<float> want(static_cast<size_t>(n)), got(static_cast<size_t>(n));
        ref::dequantize_row(t, w.data(), want.data(), n);
        dequantize_row_with(*kt, t, w.data(), got.data(), n);
        ASSERT_EQ(0, std::memcmp(want.data(), got.data(), size_t(n) * 4)) << kt->name << " " << dtype_name(t) << " n=" << n;
        const std::vector<float> ax = random_floats(rng, n);
        std::vector<uint8_t> a(row_bytes(vt, n));
        ref::convert_activations(t, ax.data(), a.data(), n);
        std::vector<float> ad(static_cast<size_t>(n));
        ref::dequantize_row(vt, a.data(), ad.data(), n);
        double mag = 0.0;
        for (int64_t i = 0; i < n; ++i) mag += std::fabs(double(want[size_t(i)]) * ad[size_t(i)]);
        ASSERT_NEAR(vec_dot_with(*kt, t, n, w.data(), a.data()), ref::vec_dot(t, n, w.data(), a.data()), 2e-5 * mag + 1e-30)
            << kt->name << " " << dtype_name(t) << " n=" << n;
      }
    }
}

TEST(SimdKernels, VecDotQ8NegativeExtremes) {
  // Weights at -127/+127 against activations at the extremes (int8 sign trick limits).
  for (const KernelTable* kt : simd_tables()) {
    std::vector<float> w(256), a(256);
    for (int i = 0; i < 256; ++i) {
      w[size_t(i)] = (i % 3 == 0) ? -1.0f : 1.0f;
      a[size_t(i)] = (i % 5 == 0) ? 1.0f : -1.0f;
    }
    std::vector<uint8_t> wq(row_bytes(DType::q8_0, 256)), aq(row_bytes(DType::q8_0, 256));
    ref::quantize_row(DType::q8_0, w.data(), wq.data(), 256);
    ref::convert_activations(DType::q8_0, a.data(), aq.data(), 256);
    const float want = ref::vec_dot(DType::q8_0, 256, wq.data(), aq.data());
    EXPECT_NEAR(vec_dot_with(*kt, DType::q8_0, 256, wq.data(), aq.data()), want, 1e-5 * 256) << kt->name;
    EXPECT_GT(std::fabs(want), 1.0f);
  }
}

}  // namespace
}  // namespace omni::kernels
