// matmul (matrix-vector and tiled GEMM paths, every ISA this CPU has, 1..4 threads) against a naive
// float64 product of the reference-dequantized weights with the reference-dequantized converted
// activations; and thread-count independence.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <random>
#include <vector>

#include "core/thread_pool.hpp"
#include "kernels/kernels.hpp"
#include "kernels/ref/ref.hpp"
#include "kernels/x86/kernel_table.hpp"
#include "omni/error.hpp"

namespace omni::kernels {
namespace {

struct Case {
  DType t;
  int64_t k;
};

std::vector<const KernelTable*> all_tables() {
  std::vector<const KernelTable*> v;
  for (Isa i : {Isa::scalar, Isa::avx2, Isa::avx512})
    if (const KernelTable* t = kernel_table(i)) v.push_back(t);
  return v;
}

struct Problem {
  std::vector<uint8_t> w;
  std::vector<float> x;
  std::vector<double> want;  // [n_tokens, n_out]
  std::vector<double> mag;   // sum |w*a| per output, for the tolerance
};

Problem make_problem(std::mt19937& rng, DType t, int64_t n_out, int64_t k, int64_t n_tok) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  Problem p;
  const size_t wr = row_bytes(t, k);
  p.w.resize(wr * size_t(n_out));
  std::vector<float> row(static_cast<size_t>(k));
  std::vector<double> wd(size_t(n_out * k));
  for (int64_t o = 0; o < n_out; ++o) {
    for (auto& v : row) v = nd(rng);
    ref::quantize_row(t, row.data(), p.w.data() + size_t(o) * wr, k);
    ref::dequantize_row(t, p.w.data() + size_t(o) * wr, row.data(), k);
    for (int64_t i = 0; i < k; ++i) wd[size_t(o * k + i)] = row[size_t(i)];
  }
  p.x.resize(size_t(n_tok * k));
  for (auto& v : p.x) v = nd(rng);
  const DType vt = ref::vec_dot_type(t);
  std::vector<uint8_t> conv(row_bytes(vt, k));
  p.want.assign(size_t(n_tok * n_out), 0.0);
  p.mag.assign(size_t(n_tok * n_out), 0.0);
  for (int64_t tk = 0; tk < n_tok; ++tk) {
    ref::convert_activations(t, p.x.data() + tk * k, conv.data(), k);
    ref::dequantize_row(vt, conv.data(), row.data(), k);
    for (int64_t o = 0; o < n_out; ++o) {
      double s = 0.0, m = 0.0;
      for (int64_t i = 0; i < k; ++i) {
        const double v = wd[size_t(o * k + i)] * double(row[size_t(i)]);
        s += v;
        m += std::fabs(v);
      }
      p.want[size_t(tk * n_out + o)] = s;
      p.mag[size_t(tk * n_out + o)] = m;
    }
  }
  return p;
}

// Q8_1 activations carry s = fp16(d * sum q): the min term of q4_1/q5_1 rounds through f16 (2^-11).
void expect_close(const Problem& p, const std::vector<float>& y, const char* what, DType t = DType::f32) {
  const double rel = ref::vec_dot_type(t) == DType::q8_1 ? 2e-3 : 1e-4;
  for (size_t i = 0; i < y.size(); ++i)
    ASSERT_NEAR(double(y[i]), p.want[i], rel * p.mag[i] + 1e-6) << what << " at index " << i;
}

class MatmulAllTypes : public ::testing::TestWithParam<Case> {};

TEST_P(MatmulAllTypes, MatchesFloat64Reference) {
  const Case c = GetParam();
  std::mt19937 rng(uint32_t(c.t) * 7919u + uint32_t(c.k));
  std::vector<std::unique_ptr<ThreadPool>> pools;
  for (int n = 1; n <= 4; ++n) pools.push_back(std::make_unique<ThreadPool>(n));
  int combo = 0;
  for (int64_t n_out : {1, 5, 67})
    for (int64_t n_tok : {1, 2, 3, 7, 16, 33, 128}) {
      if (n_tok == 128 && n_out == 67 && c.k > 512) continue;  // keep the float64 reference quick
      const Problem p = make_problem(rng, c.t, n_out, c.k, n_tok);
      for (const KernelTable* kt : all_tables()) {
        ThreadPool& pool = *pools[size_t(combo++ % 4)];
        std::vector<float> y(size_t(n_out * n_tok), -1.0f);
        matmul_with(*kt, pool, c.t, p.w.data(), n_out, c.k, p.x.data(), n_tok, y.data());
        const std::string what = std::string(kt->name) + " " + dtype_name(c.t) + " n_out=" + std::to_string(n_out) +
                                 " n_tok=" + std::to_string(n_tok) + " threads=" + std::to_string(pool.n_threads());
        expect_close(p, y, what.c_str(), c.t);
        if (HasFatalFailure()) return;
      }
    }
}

INSTANTIATE_TEST_SUITE_P(
    Types, MatmulAllTypes,
    ::testing::Values(Case{DType::f32, 1037}, Case{DType::f16, 300}, Case{DType::bf16, 1037}, Case{DType::q8_0, 1280},
                      Case{DType::q4_0, 320}, Case{DType::q4_0, 224}, Case{DType::q8_0, 96}, Case{DType::q4_1, 96}, Case{DType::q5_0, 160}, Case{DType::q5_1, 224},
                      Case{DType::q4_1, 544}, Case{DType::q5_0, 800}, Case{DType::q5_1, 288},
                      Case{DType::q2_k, 256}, Case{DType::q3_k, 512}, Case{DType::q4_k, 1280}, Case{DType::q5_k, 256},
                      Case{DType::q6_k, 512}, Case{DType::iq4_nl, 64}, Case{DType::iq4_xs, 256}),
    [](const ::testing::TestParamInfo<Case>& i) { return std::string(dtype_name(i.param.t)) + "_k" + std::to_string(i.param.k); });

TEST(Matmul, OneThreadEqualsTwoThreads) {
  std::mt19937 rng(11);
  ThreadPool p1(1), p2(2);
  for (DType t : {DType::q4_k, DType::q8_0, DType::f16, DType::q4_0})
    for (int64_t n_tok : {1, 16}) {
      const Problem p = make_problem(rng, t, 67, 512, n_tok);
      for (const KernelTable* kt : all_tables()) {
        std::vector<float> y1(size_t(67 * n_tok)), y2(y1.size());
        matmul_with(*kt, p1, t, p.w.data(), 67, 512, p.x.data(), n_tok, y1.data());
        matmul_with(*kt, p2, t, p.w.data(), 67, 512, p.x.data(), n_tok, y2.data());
        for (size_t i = 0; i < y1.size(); ++i) ASSERT_NEAR(y1[i], y2[i], 1e-5 * p.mag[i] + 1e-7) << kt->name;
      }
    }
}

// A path over several tokens gives each token the bits of a one-token call on path `one`
// (threads alternating between 1 and 2), and matches the float64 reference.
void expect_each_token_bits(MatmulPath many, MatmulPath one, std::initializer_list<DType> types, int64_t n_out,
                            int64_t n_tok, uint32_t seed) {
  std::mt19937 rng(seed);
  ThreadPool p1(1), p2(2);
  const int64_t k = 512;
  for (DType t : types) {
    const Problem p = make_problem(rng, t, n_out, k, n_tok);
    for (const KernelTable* kt : all_tables()) {
      std::vector<float> all(static_cast<size_t>(n_out * n_tok));
      matmul_with(*kt, p2, t, p.w.data(), n_out, k, p.x.data(), n_tok, all.data(), many);
      expect_close(p, all, kt->name, t);
      for (int64_t tok = 0; tok < n_tok; ++tok) {
        std::vector<float> y(static_cast<size_t>(n_out));
        matmul_with(*kt, tok % 2 ? p1 : p2, t, p.w.data(), n_out, k, p.x.data() + tok * k, 1, y.data(), one);
        for (int64_t o = 0; o < n_out; ++o)
          ASSERT_EQ(y[size_t(o)], all[size_t(tok * n_out + o)]) << kt->name << " " << dtype_name(t) << " token " << tok << " row " << o;
      }
    }
  }
}

// The GEMM path: a token's outputs are bit-identical whatever else is in the batch, one token
// alone included (what the server's batch-invariant decoding relies on).
TEST(Matmul, BatchedPathGivesEachTokenTheSameBitsAtAnyBatchSize) {
  expect_each_token_bits(MatmulPath::gemm, MatmulPath::gemm,
                         {DType::f16, DType::q8_0, DType::q4_0, DType::q5_0, DType::q4_k, DType::q6_k, DType::q2_k, DType::iq4_xs},
                         37, 9, 23);
}

// The matrix-vector path for several tokens: each token's outputs are the bits of a one-token call
// on the default path (the matrix-vector kernel).
TEST(Matmul, EachTokenPathGivesTheOneTokenBits) {
  expect_each_token_bits(MatmulPath::matvec, MatmulPath::automatic,
                         {DType::f32, DType::f16, DType::bf16, DType::q8_0, DType::q4_0, DType::q4_1, DType::q5_0, DType::q5_1,
                          DType::q4_k, DType::q5_k, DType::q6_k, DType::q2_k, DType::q3_k, DType::iq4_nl, DType::iq4_xs},
                         43, 5, 29);
}

TEST(Matmul, PublicEntryUsesActiveTableAndRejectsBadK) {
  ThreadPool pool(2);
  std::mt19937 rng(5);
  const Problem p = make_problem(rng, DType::q4_0, 5, 64, 3);
  std::vector<float> y(15);
  matmul(pool, DType::q4_0, p.w.data(), 5, 64, p.x.data(), 3, y.data());
  expect_close(p, y, "public matmul");
  EXPECT_THROW(matmul(pool, DType::q4_0, p.w.data(), 5, 63, p.x.data(), 3, y.data()), omni::Error);
}

}  // namespace
}  // namespace omni::kernels
