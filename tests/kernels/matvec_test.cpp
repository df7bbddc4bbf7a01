// The multi-row matrix x vector kernels (KernelTable::matvec with their prepared activations, every
// ISA this CPU has, and the AVX-512 table without VBMI too) against the scalar reference vec_dot of
// each row: many row lengths (every residue of blocks per kernel unit), odd row counts, unaligned
// weight starts and row strides; and a row's result must not depend on the rows it is grouped with.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/fp16.hpp"
#include "kernels/ref/ref.hpp"
#include "kernels/x86/kernel_table.hpp"

namespace omni::kernels {
namespace {

struct Variant {
  std::string name;
  KernelTable table;
};

// Every table with matvec kernels: the ISA tables as dispatched, plus AVX-512 without the VBMI ones.
std::vector<Variant> variants() {
  std::vector<Variant> v;
  for (Isa i : {Isa::avx2, Isa::avx512})
    if (const KernelTable* t = kernel_table(i)) v.push_back({t->name, *t});
  if (const KernelTable* t = kernel_table(Isa::avx512)) {
    Variant nv{"avx512 without vbmi", *t};
    fill_matvec_avx512(nv.table, false);
    v.push_back(nv);
  }
  return v;
}

const DType kTypes[] = {DType::f16, DType::bf16, DType::q4_0, DType::q4_1, DType::q5_0, DType::q5_1, DType::q8_0,
                        DType::iq4_nl, DType::q4_k, DType::q5_k, DType::q6_k, DType::q2_k,
                        DType::q3_k, DType::iq4_xs};

std::vector<int64_t> lengths_for(DType t) {
  std::vector<int64_t> v;
  if (block_size(t) == 1) {
    for (int64_t n = 1; n <= 70; ++n) v.push_back(n);  // every masked tail
    for (int64_t n : {896, 1037, 4864}) v.push_back(n);
  } else if (block_size(t) == 32) {
    for (int64_t nb = 1; nb <= 20; ++nb) v.push_back(32 * nb);  // every residue mod 4 and 8
    for (int64_t nb : {28, 37, 152}) v.push_back(32 * nb);       // 896, an odd count, 4864
  } else {
    for (int64_t nb : {1, 2, 3, 5, 19}) v.push_back(256 * nb);
  }
  return v;
}

// 64-byte aligned buffer (prepared activations must be aligned).
struct Aligned {
  std::unique_ptr<uint8_t[]> buf;
  uint8_t* p;
  explicit Aligned(size_t n) : buf(new uint8_t[n + 64]) {
    p = buf.get() + (64 - reinterpret_cast<uintptr_t>(buf.get()) % 64) % 64;
  }
};

struct Problem {
  std::vector<uint8_t> w;  // rows at w.data() + offset + r * stride
  size_t offset, stride;
  std::vector<uint8_t> act;  // converted activations
  std::vector<float> want;   // reference vec_dot per row
  std::vector<double> mag;   // sum |w*a| per row
};

Problem make_problem(std::mt19937& rng, DType t, int64_t k, int64_t n_rows, size_t offset, size_t pad) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::uniform_real_distribution<float> sc(-2.0f, 2.0f);
  Problem p;
  const size_t rb = row_bytes(t, k);
  p.offset = offset;
  p.stride = rb + pad;
  p.w.assign(offset + p.stride * size_t(n_rows), 0xA5);
  std::vector<float> x(static_cast<size_t>(k)), wd(static_cast<size_t>(k)), ad(static_cast<size_t>(k));
  const DType vt = ref::vec_dot_type(t);
  for (auto& v : x) v = nd(rng) * std::pow(10.0f, sc(rng));
  p.act.resize(row_bytes(vt, k));
  ref::convert_activations(t, x.data(), p.act.data(), k);
  ref::dequantize_row(vt, p.act.data(), ad.data(), k);
  for (int64_t r = 0; r < n_rows; ++r) {
    const float s = std::pow(10.0f, sc(rng));
    for (auto& v : x) v = nd(rng) * s;
    uint8_t* row = p.w.data() + offset + size_t(r) * p.stride;
    ref::quantize_row(t, x.data(), row, k);
    ref::dequantize_row(t, row, wd.data(), k);
    double m = 0.0;
    for (int64_t i = 0; i < k; ++i) m += std::fabs(double(wd[size_t(i)]) * ad[size_t(i)]);
    p.want.push_back(ref::vec_dot(t, k, row, p.act.data()));
    p.mag.push_back(m);
  }
  return p;
}

// Runs kt's matvec for type t (prepared activation when the table has a prep) over rows [r0, r1).
void run_matvec(const KernelTable& kt, DType t, int64_t k, const Problem& p, int64_t r0, int64_t r1, float* y) {
  const MatvecFn mv = kt.matvec[uint32_t(t)];
  const MatvecPrep& mp = kt.matvec_prep[uint32_t(t)];
  const uint8_t* a = p.act.data();
  std::unique_ptr<Aligned> prepared;
  if (mp.prep) {
    prepared = std::make_unique<Aligned>(mp.bytes(k));
    mp.prep(p.act.data(), k, prepared->p);
    a = prepared->p;
  }
  mv(k, p.w.data() + p.offset + size_t(r0) * p.stride, p.stride, r1 - r0, a, y);
}

TEST(Matvec, KernelsExistForHotTypes) {
  if (const KernelTable* t = kernel_table(Isa::avx512)) {
    for (DType d : {DType::f16, DType::bf16, DType::q4_0, DType::q4_1, DType::q5_0, DType::q5_1, DType::q8_0,
                    DType::iq4_nl, DType::q4_k, DType::q5_k, DType::q2_k, DType::q3_k, DType::iq4_xs})
      EXPECT_NE(t->matvec[uint32_t(d)], nullptr) << dtype_name(d);
  }
}

TEST(Matvec, MatchesReferenceVecDot) {
  std::mt19937 rng(7);
  int checked = 0;
  for (const Variant& v : variants())
    for (DType t : kTypes) {
      if (!v.table.matvec[uint32_t(t)]) continue;
      for (int64_t k : lengths_for(t))
        for (int64_t n_rows : {1, 3, 4, 7, 13}) {
          // Block rows start at any byte; f16/bf16 rows at any element (the reference reads them as
          // uint16_t) and their strides stay even.
          const size_t esz = block_size(t) == 1 ? 2 : 1;
          const size_t offset = esz * (size_t(k / block_size(t) + n_rows) % 5), pad = esz * (n_rows % 2 ? 0 : 7);
          const Problem p = make_problem(rng, t, k, n_rows, offset, pad);
          std::vector<float> y(size_t(n_rows) + 1, -1.0f);
          run_matvec(v.table, t, k, p, 0, n_rows, y.data());
          for (int64_t r = 0; r < n_rows; ++r)
            ASSERT_NEAR(y[size_t(r)], p.want[size_t(r)], 2e-5 * p.mag[size_t(r)] + 1e-30)
                << v.name << " " << dtype_name(t) << " k=" << k << " rows=" << n_rows << " row " << r;
          EXPECT_EQ(y[size_t(n_rows)], -1.0f) << "wrote past the last row";
          ++checked;
        }
    }
  if (kernel_table(Isa::avx512)) {
    EXPECT_GT(checked, 0);
  }
}

TEST(Matvec, LowBitKQuantsOnRandomBlockBytes) {
  // Q2_K / Q3_K / IQ4_XS blocks of random bytes (every scale, min, hmask and quant bit pattern, e.g.
  // Q3_K scales of -32) with sane f16 scale fields, against activations at full Q8_K range (every
  // |x| the same: all quants +-127) and ordinary ones.
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> ud(0.01f, 1.0f);
  struct Layout {
    DType t;
    size_t block, f16_fields[2];
    int n_f16;
  };
  const Layout layouts[] = {{DType::q2_k, sizeof(BlockQ2_K), {80, 82}, 2},
                            {DType::q3_k, sizeof(BlockQ3_K), {108, 0}, 1},
                            {DType::iq4_xs, sizeof(BlockIQ4_XS), {0, 0}, 1}};
  const int64_t k = 256 * 5, n_rows = 9;
  for (const Variant& v : variants())
    for (const Layout& l : layouts) {
      if (!v.table.matvec[uint32_t(l.t)]) continue;
      for (int full_range = 0; full_range < 2; ++full_range) {
        Problem p;
        p.offset = 1;
        p.stride = row_bytes(l.t, k);
        p.w.resize(p.offset + p.stride * n_rows);
        for (auto& b : p.w) b = uint8_t(rng());
        for (int64_t r = 0; r < n_rows; ++r)
          for (int64_t i = 0; i < k / 256; ++i)
            for (int f = 0; f < l.n_f16; ++f) {
              const uint16_t h = f32_to_fp16((rng() % 2 ? -1.0f : 1.0f) * ud(rng));
              std::memcpy(p.w.data() + p.offset + size_t(r) * p.stride + size_t(i) * l.block + l.f16_fields[f], &h, 2);
            }
        std::vector<float> x(static_cast<size_t>(k)), wd(static_cast<size_t>(k)), ad(static_cast<size_t>(k));
        std::normal_distribution<float> nd(0.0f, 1.0f);
        for (auto& e : x) e = full_range ? (rng() % 2 ? -3.0f : 3.0f) : nd(rng);
        p.act.resize(row_bytes(ref::vec_dot_type(l.t), k));
        ref::convert_activations(l.t, x.data(), p.act.data(), k);
        ref::dequantize_row(ref::vec_dot_type(l.t), p.act.data(), ad.data(), k);
        for (int64_t r = 0; r < n_rows; ++r) {
          const uint8_t* row = p.w.data() + p.offset + size_t(r) * p.stride;
          ref::dequantize_row(l.t, row, wd.data(), k);
          double m = 0.0;
          for (int64_t i = 0; i < k; ++i) m += std::fabs(double(wd[size_t(i)]) * ad[size_t(i)]);
          p.want.push_back(ref::vec_dot(l.t, k, row, p.act.data()));
          p.mag.push_back(m);
        }
        std::vector<float> y(static_cast<size_t>(n_rows));
        run_matvec(v.table, l.t, k, p, 0, n_rows, y.data());
        for (int64_t r = 0; r < n_rows; ++r)
          ASSERT_NEAR(y[size_t(r)], p.want[size_t(r)], 2e-5 * p.mag[size_t(r)] + 1e-30)
              << v.name << " " << dtype_name(l.t) << " full_range=" << full_range << " row " << r;
      }
    }
}

TEST(Matvec, RowResultIndependentOfGrouping) {
  // Thread chunks give a kernel any run of rows; each row's value must be bit-identical.
  std::mt19937 rng(8);
  for (const Variant& v : variants())
    for (DType t : kTypes) {
      if (!v.table.matvec[uint32_t(t)]) continue;
      const int64_t k = block_size(t) == 1 ? 1001 : block_size(t) == 32 ? 32 * 29 : 256 * 3, n = 11;
      const Problem p = make_problem(rng, t, k, n, block_size(t) == 1 ? 2 : 3, 0);
      std::vector<float> all(static_cast<size_t>(n)), one(static_cast<size_t>(n));
      run_matvec(v.table, t, k, p, 0, n, all.data());
      for (int64_t r = 0; r < n; ++r) run_matvec(v.table, t, k, p, r, r + 1, one.data() + r);
      std::vector<float> split(static_cast<size_t>(n));
      run_matvec(v.table, t, k, p, 0, 6, split.data());
      run_matvec(v.table, t, k, p, 6, n, split.data() + 6);
      for (int64_t r = 0; r < n; ++r) {
        EXPECT_EQ(all[size_t(r)], one[size_t(r)]) << v.name << " " << dtype_name(t) << " row " << r;
        EXPECT_EQ(all[size_t(r)], split[size_t(r)]) << v.name << " " << dtype_name(t) << " row " << r;
      }
    }
}

}  // namespace
}  // namespace omni::kernels
