// `omni bench kernels`: measures the machine's read bandwidth, then matrix-vector GB/s and GEMM
// GFLOP/s of every weight type at the LLM's typical shapes; prints a table or one JSON object.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "core/dtype.hpp"
#include "core/thread_pool.hpp"
#include "kernels/kernels.hpp"
#include "omni/error.hpp"

namespace omni::cli {

extern const CommandSpec k_bench_kernels_spec = {
    "bench kernels",
    "omni bench kernels [--threads N] [--json] [--types a,b] [--quick]",
    "Measure memory bandwidth and matmul kernel speed on this machine.",
    "First measures the read bandwidth (a multi-threaded streaming sum over a buffer much larger than the\n"
    "last-level cache, best of several runs). Then, for each weight type, measures the matrix-vector speed\n"
    "(GB/s of weights streamed; weights rotate through copies larger than the cache) and the tiled GEMM\n"
    "speed (GFLOP/s) at batch 16 and 128, at shapes k x n = 896x4864, 4864x896, 4096x4096, 896x151936.\n"
    "Decode speed is bounded by the read bandwidth: a good matrix-vector kernel reaches 75% or more of it.",
    {
        {"threads", 't', true, "N", "threads to use (default: all hardware threads)"},
        {"json", 0, false, "", "print one JSON object instead of a table"},
        {"types", 0, true, "LIST", "comma-separated weight types (default: f32,f16,bf16,q8_0,q4_0,q4_1,q5_0,q5_1,q4_k,q5_k,q6_k)"},
        {"quick", 0, false, "", "fewer shapes and shorter timings (a few seconds)"},
    },
    0,
    0};

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Result {
  std::string type, op;
  int64_t k, n, batch;
  double gbs, gflops;
};

// Multi-threaded streaming read bandwidth in GB/s: the buffer (much larger than the LLC) is read
// in segments of `segment` bytes, rotating so that no segment is still cached; best segment time.
// (Best-of short segments also stays meaningful on a machine shared with other work.)
double measure_read_bandwidth(ThreadPool& pool, size_t bytes, size_t segment, int passes, double min_seconds) {
  const size_t words = bytes / 8, seg_words = segment / 8, n_seg = words / seg_words;
  std::vector<uint64_t> buf(words);
  pool.run([&](int t, int nt) {  // first touch by the thread that reads it
    const size_t b = words * size_t(t) / size_t(nt), e = words * size_t(t + 1) / size_t(nt);
    for (size_t i = b; i < e; ++i) buf[i] = i * 0x9E3779B97F4A7C15ull;
  });
  std::vector<uint64_t> sums(size_t(pool.n_threads()) * 8);
  double best = 0.0;
  // Pass 0 is not timed: after the first touch the last-written segments may still sit in the LLC.
  // At least `passes` timed passes, and more until min_seconds have passed.
  const auto start = Clock::now();
  for (int pass = 0; pass <= passes || seconds_since(start) < min_seconds; ++pass)
    for (size_t s = 0; s < n_seg; ++s) {
      const uint64_t* base = buf.data() + s * seg_words;
      const auto t0 = Clock::now();
      pool.run([&](int t, int nt) {
        const size_t b = seg_words * size_t(t) / size_t(nt), e = seg_words * size_t(t + 1) / size_t(nt);
        uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        size_t i = b;
        for (; i + 4 <= e; i += 4) {
          s0 += base[i];
          s1 += base[i + 1];
          s2 += base[i + 2];
          s3 += base[i + 3];
        }
        for (; i < e; ++i) s0 += base[i];
        sums[size_t(t) * 8] += s0 + s1 + s2 + s3;
      });
      const double dt = seconds_since(t0);
      if (pass > 0) best = std::max(best, double(seg_words * 8) / dt / 1e9);
    }
  volatile uint64_t sink = 0;
  for (auto v : sums) sink = sink + v;
  (void)sink;
  return best;
}

// n rows of k weights of type t: a few distinct quantized rows replicated (values do not affect speed).
std::vector<uint8_t> make_weights(DType t, int64_t n, int64_t k, size_t copies, std::mt19937& rng) {
  const size_t rb = row_bytes(t, k);
  constexpr int kDistinct = 8;
  std::vector<uint8_t> distinct(rb * kDistinct);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> row(static_cast<size_t>(k));
  for (int r = 0; r < kDistinct; ++r) {
    for (auto& v : row) v = nd(rng);
    kernels::quantize_row(t, row.data(), distinct.data() + rb * size_t(r), k);
  }
  std::vector<uint8_t> w(rb * size_t(n) * copies);
  for (size_t r = 0; r < size_t(n) * copies; ++r) std::memcpy(w.data() + rb * r, distinct.data() + rb * (r % kDistinct), rb);
  return w;
}

struct Shape {
  int64_t k, n;
};

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace

int run_bench_kernels(const Args& args) {
  const int64_t threads = args.get_int("threads", 0);
  if (threads < 0 || threads > 1024) fail(ErrorCode::invalid_argument, "--threads must be 0 (all hardware threads) or between 1 and 1024");
  const bool json = args.has("json"), quick = args.has("quick");
  const std::vector<std::string> type_names =
      split_list(args.get("types", "f32,f16,bf16,q8_0,q4_0,q4_1,q5_0,q5_1,q4_k,q5_k,q6_k"));
  std::vector<DType> types;
  for (const auto& name : type_names) {
    const auto t = dtype_from_name(name);
    if (!t || !traits(*t).supported || *t == DType::q8_1 || *t == DType::q8_k)
      fail(ErrorCode::invalid_argument, "--types: '", name, "' is not a weight type Omni can multiply");
    types.push_back(*t);
  }
  if (types.empty()) fail(ErrorCode::invalid_argument, "--types: the list is empty");

  ThreadPool pool{static_cast<int>(threads)};
  const bool progress = !json && isatty(STDERR_FILENO);
  const double min_time = quick ? 0.05 : 0.25;
  const std::vector<Shape> shapes = quick ? std::vector<Shape>{{896, 4864}, {4096, 4096}}
                                          : std::vector<Shape>{{896, 4864}, {4864, 896}, {4096, 4096}, {896, 151936}};
  const std::vector<int64_t> batches = quick ? std::vector<int64_t>{16, 128} : std::vector<int64_t>{16, 128};
  constexpr size_t kRotateBytes = size_t(192) << 20;  // matvec weights rotate through > LLC

  if (progress) std::fprintf(stderr, "measuring read bandwidth...\n");
  const double bw = measure_read_bandwidth(pool, quick ? (size_t(256) << 20) : (size_t(512) << 20), size_t(16) << 20,
                                          quick ? 2 : 4, quick ? 1.0 : 3.0);

  std::vector<Result> results;
  std::mt19937 rng(42);
  const size_t total = types.size() * shapes.size();
  size_t done = 0;
  for (DType t : types) {
    for (const Shape& s : shapes) {
      if (s.k % block_size(t) != 0) continue;  // e.g. K-quants need k % 256 == 0 (not 896)
      if (progress) std::fprintf(stderr, "\r[%zu/%zu] %-5s %lldx%lld   ", ++done, total, dtype_name(t), (long long)s.k, (long long)s.n);
      const size_t wbytes = row_bytes(t, s.k) * size_t(s.n);
      const size_t copies = std::clamp<size_t>(kRotateBytes / std::max<size_t>(1, wbytes) + 1, 1, 64);
      const std::vector<uint8_t> w = make_weights(t, s.n, s.k, copies, rng);
      const int64_t max_batch = *std::max_element(batches.begin(), batches.end());
      std::vector<float> x(size_t(s.k * max_batch)), y(size_t(s.n * max_batch));
      std::normal_distribution<float> nd(0.0f, 1.0f);
      for (auto& v : x) v = nd(rng);
      // matrix x vector: one call per copy in turn (each streams cold weights); best call time
      {
        kernels::matmul(pool, t, w.data(), s.n, s.k, x.data(), 1, y.data());  // warm-up
        double best = 1e30;
        int64_t iters = 0;
        const auto t0 = Clock::now();
        while (iters < 2 * int64_t(copies) || seconds_since(t0) < min_time) {
          const auto t1 = Clock::now();
          // copy (iters + 1): copy 0 was just read by the warm-up and may still be cached
          kernels::matmul(pool, t, w.data() + wbytes * size_t((iters + 1) % int64_t(copies)), s.n, s.k, x.data(), 1,
                          y.data());
          best = std::min(best, seconds_since(t1));
          ++iters;
        }
        results.push_back({dtype_name(t), "matvec", s.k, s.n, 1, double(wbytes) / best / 1e9,
                           2.0 * double(s.k) * double(s.n) / best / 1e9});
      }
      for (int64_t b : batches) {
        kernels::matmul(pool, t, w.data(), s.n, s.k, x.data(), b, y.data());  // warm-up
        double best = 1e30;
        const auto t0 = Clock::now();
        int runs = 0;
        while (runs < 2 || seconds_since(t0) < min_time) {
          const auto t1 = Clock::now();
          kernels::matmul(pool, t, w.data(), s.n, s.k, x.data(), b, y.data());
          best = std::min(best, seconds_since(t1));
          ++runs;
        }
        results.push_back({dtype_name(t), "gemm", s.k, s.n, b, double(wbytes) / best / 1e9,
                           2.0 * double(s.k) * double(s.n) * double(b) / best / 1e9});
      }
    }
  }
  if (progress) std::fprintf(stderr, "\r%60s\r", "");

  const std::string isa = kernels::active_isa();
  if (json) {
    std::printf("{\"read_bandwidth_gbs\": %.2f, \"threads\": %d, \"isa\": \"%s\", \"results\": [", bw, pool.n_threads(),
                isa.c_str());
    for (size_t i = 0; i < results.size(); ++i) {
      const Result& r = results[i];
      std::printf("%s{\"type\": \"%s\", \"op\": \"%s\", \"k\": %lld, \"n\": %lld, \"batch\": %lld, \"gbs\": %.2f, "
                  "\"gflops\": %.2f}",
                  i ? ", " : "", r.type.c_str(), r.op.c_str(), (long long)r.k, (long long)r.n, (long long)r.batch,
                  r.gbs, r.gflops);
    }
    std::printf("]}\n");
    return 0;
  }
  std::printf("read bandwidth: %.1f GB/s   threads: %d   isa: %s\n\n", bw, pool.n_threads(), isa.c_str());
  std::printf("%-6s %-7s %6s %7s %6s %9s %9s %8s\n", "type", "op", "k", "n", "batch", "GB/s", "GFLOP/s", "%bw");
  for (const Result& r : results) {
    std::printf("%-6s %-7s %6lld %7lld %6lld %9.2f %9.2f", r.type.c_str(), r.op.c_str(), (long long)r.k, (long long)r.n,
                (long long)r.batch, r.gbs, r.gflops);
    if (r.op == "matvec") std::printf(" %7.0f%%", 100.0 * r.gbs / bw);
    std::printf("\n");
  }
  return 0;
}

}  // namespace omni::cli
