// Google Benchmark programs for single kernels on one thread: vec_dot per weight type and ISA
// (hot cache: bytes/s of weights), and matmul at a decode and a prompt batch.
// Run: build/<dir>/bench/bench_kernels [--benchmark_filter=q4_k]
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/thread_pool.hpp"
#include "kernels/kernels.hpp"
#include "kernels/x86/kernel_table.hpp"

namespace {

using omni::DType;
using namespace omni::kernels;

const DType kTypes[] = {DType::f32,  DType::f16,  DType::bf16, DType::q8_0, DType::q4_0, DType::q4_1,
                        DType::q5_0, DType::q5_1, DType::q4_k, DType::q5_k, DType::q6_k};

std::vector<uint8_t> random_rows(DType t, int64_t rows, int64_t k) {
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const size_t rb = omni::row_bytes(t, k);
  std::vector<uint8_t> w(rb * size_t(rows));
  std::vector<float> row(static_cast<size_t>(k));
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : row) v = nd(rng);
    quantize_row(t, row.data(), w.data() + rb * size_t(r), k);
  }
  return w;
}

// vec_dot over 64 rows of 4096 (L2-resident): the kernel's compute throughput.
void bm_vec_dot(benchmark::State& state, DType t, Isa isa) {
  const KernelTable* kt = kernel_table(isa);
  if (!kt) {
    state.SkipWithError("ISA not available on this CPU");
    return;
  }
  const int64_t k = 4096, rows = 64;
  const std::vector<uint8_t> w = random_rows(t, rows, k);
  std::vector<float> x(static_cast<size_t>(k), 0.5f);
  std::vector<uint8_t> act(omni::row_bytes(vec_dot_type(t), k));
  convert_activations_with(*kt, t, x.data(), act.data(), k);
  const size_t rb = omni::row_bytes(t, k);
  for (auto _ : state)
    for (int64_t r = 0; r < rows; ++r) benchmark::DoNotOptimize(vec_dot_with(*kt, t, k, w.data() + rb * size_t(r), act.data()));
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(rb) * rows);
}

// matmul 4096 x 1024 on one thread at a batch: FLOP rate in the counters.
void bm_matmul(benchmark::State& state, DType t) {
  const int64_t k = 4096, n = 1024, batch = state.range(0);
  const std::vector<uint8_t> w = random_rows(t, n, k);
  std::vector<float> x(size_t(k * batch), 0.25f), y(size_t(n * batch));
  omni::ThreadPool pool(1);
  for (auto _ : state) matmul(pool, t, w.data(), n, k, x.data(), batch, y.data());
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(k) * double(n) * double(batch) * double(state.iterations()) / 1e9,
                                                 benchmark::Counter::kIsRate);
}

const int kRegistered = [] {
  for (DType t : kTypes) {
    for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512}) {
      const char* isa_name = isa == Isa::scalar ? "scalar" : isa == Isa::avx2 ? "avx2" : "avx512";
      benchmark::RegisterBenchmark((std::string("vec_dot/") + omni::dtype_name(t) + "/" + isa_name).c_str(),
                                   [t, isa](benchmark::State& s) { bm_vec_dot(s, t, isa); });
    }
    benchmark::RegisterBenchmark((std::string("matmul/") + omni::dtype_name(t)).c_str(),
                                 [t](benchmark::State& s) { bm_matmul(s, t); })
        ->Arg(1)
        ->Arg(16)
        ->Arg(128)
        ->Unit(benchmark::kMillisecond);
  }
  return 0;
}();

}  // namespace

BENCHMARK_MAIN();
