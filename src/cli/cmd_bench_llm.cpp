// `omni bench llm`: prompt processing (pp512) and decode (tg128) speed of a GGUF model, with the
// achieved weight-read GB/s next to the machine's measured read bandwidth. Prints JSON with --json.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/commands.hpp"
#include "kernels/kernels.hpp"
#include "omni/error.hpp"
#include "runtime/session.hpp"

namespace omni::cli {

extern const CommandSpec k_bench_llm_spec = {
    "bench llm",
    "omni bench llm -m MODEL.gguf [--threads N] [--json] [--pp 512] [--tg 128] [--reps 2]",
    "Measure prompt-processing and decode speed of a GGUF LLM.",
    "pp: one batch of --pp random tokens through the GEMM path (tokens/s). tg: --tg tokens decoded one\n"
    "at a time after a 1-token prompt (tokens/s, ms/token). Decode is memory-bound: the achieved GB/s is\n"
    "the bytes of weights read per token x tokens/s, shown next to the read bandwidth measured here with\n"
    "a multi-threaded streaming read. Best of --reps runs. --json prints one object (pp512_tps,\n"
    "tg128_tps, tg_gbs, read_bandwidth_gbs, threads, ...).",
    {
        {"model", 'm', true, "MODEL", "GGUF model file"},
        {"threads", 't', true, "N", "threads (default: all cores)"},
        {"json", 0, false, "", "print one JSON object"},
        {"pp", 0, true, "N", "prompt tokens (default 512)"},
        {"tg", 0, true, "N", "generated tokens (default 128)"},
        {"reps", 'r', true, "N", "repetitions, best kept (default 2)"},
        {"kv", 0, true, "TYPE", "KV cache type f16 (default) or f32"},
    },
    0,
    0};

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Best-of-reps multi-threaded streaming read of `bytes`, in GB/s.
double read_bandwidth_gbs(ThreadPool& pool, size_t bytes, int reps) {
  const size_t words = bytes / 8;
  std::vector<uint64_t> buf(words);
  pool.run([&](int t, int nt) {
    const size_t b = words * size_t(t) / size_t(nt), e = words * size_t(t + 1) / size_t(nt);
    for (size_t i = b; i < e; ++i) buf[i] = i;
  });
  std::vector<uint64_t> sums(size_t(pool.n_threads()) * 8);
  double best = 0;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = Clock::now();
    pool.run([&](int t, int nt) {
      const size_t b = words * size_t(t) / size_t(nt), e = words * size_t(t + 1) / size_t(nt);
      uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      size_t i = b;
      for (; i + 4 <= e; i += 4) { s0 += buf[i]; s1 += buf[i + 1]; s2 += buf[i + 2]; s3 += buf[i + 3]; }
      for (; i < e; ++i) s0 += buf[i];
      sums[size_t(t) * 8] = s0 + s1 + s2 + s3;
    });
    best = std::max(best, double(bytes) / seconds_since(t0) / 1e9);
  }
  volatile uint64_t sink = sums[0];
  (void)sink;
  return best;
}

// Resident set size and its peak in MiB (/proc/self/status), 0 when unavailable.
std::pair<double, double> rss_mib() {
  std::ifstream f("/proc/self/status");
  std::string key;
  double rss = 0, hwm = 0;
  while (f >> key) {
    if (key == "VmRSS:") f >> rss;
    else if (key == "VmHWM:") f >> hwm;
    else f.ignore(1 << 12, '\n');
  }
  return {rss / 1024.0, hwm / 1024.0};
}

}  // namespace

int run_bench_llm(const Args& args) {
  const int pp = int(args.get_int("pp", 512)), tg = int(args.get_int("tg", 128)), reps = int(args.get_int("reps", 2));
  if (pp <= 0 || tg <= 0 || reps <= 0) fail(ErrorCode::invalid_argument, "--pp, --tg and --reps must be positive");
  const int n_threads = int(args.get_int("threads", 0));
  ThreadPool pool(n_threads);
  const bool json = args.has("json");
  auto model = runtime::Model::load(args.require("model"));

  runtime::SessionOptions so;
  so.n_ctx = pp + tg + 8;
  so.n_batch = pp;
  so.kv_type = args.get("kv", "f16") == "f32" ? DType::f32 : DType::f16;
  runtime::Session s(model, so, &pool);
  std::mt19937 rng(42);
  std::uniform_int_distribution<int32_t> pick(0, model->n_vocab() - 1);
  std::vector<int32_t> prompt(static_cast<size_t>(pp), 0);
  for (auto& t : prompt) t = pick(rng);

  double pp_best = 1e30, tg_best = 1e30;
  for (int r = 0; r < reps; ++r) {
    s.reset();
    if (!json) std::fprintf(stderr, "pp%d run %d/%d...\n", pp, r + 1, reps);
    auto t0 = Clock::now();
    s.eval(prompt);
    pp_best = std::min(pp_best, seconds_since(t0));

    s.reset();
    if (!json) std::fprintf(stderr, "tg%d run %d/%d...\n", tg, r + 1, reps);
    int32_t tok = prompt[0];
    const float* logits = s.eval(std::span<const int32_t>(&tok, 1));
    t0 = Clock::now();
    for (int i = 0; i < tg; ++i) {
      tok = int32_t(std::max_element(logits, logits + model->n_vocab()) - logits);
      logits = s.eval(std::span<const int32_t>(&tok, 1));
    }
    tg_best = std::min(tg_best, seconds_since(t0));
  }
  const double pp_tps = pp / pp_best, tg_tps = tg / tg_best;
  const double wbytes = double(model->decoder().weight_bytes_per_token());
  const double tg_gbs = wbytes * tg_tps / 1e9;
  const auto [rss, hwm] = rss_mib();  // before the bandwidth buffer exists
  if (!json) std::fprintf(stderr, "measuring read bandwidth...\n");
  const double bw = read_bandwidth_gbs(pool, size_t(256) << 20, 3);
  const double file_mib = double(model->file_size()) / (1 << 20), kv_mib = double(s.kv_cache_bytes()) / (1 << 20);
  if (json) {
    nlohmann::ordered_json j;
    j["model"] = model->path();
    j["architecture"] = model->architecture();
    j["file_mib"] = file_mib;
    j["weight_bytes_per_token"] = wbytes;
    j["threads"] = pool.n_threads();
    j["isa"] = kernels::active_isa();
    j["pp"] = pp;
    j["tg"] = tg;
    j["pp" + std::to_string(pp) + "_tps"] = pp_tps;
    j["tg" + std::to_string(tg) + "_tps"] = tg_tps;
    j["pp512_tps"] = pp_tps;  // the keys; measured with --pp/--tg (default 512/128)
    j["tg128_tps"] = tg_tps;
    j["pp_ms_per_token"] = 1000.0 / pp_tps;
    j["tg_ms_per_token"] = 1000.0 / tg_tps;
    j["tg_gbs"] = tg_gbs;
    j["read_bandwidth_gbs"] = bw;
    j["tg_fraction_of_bandwidth"] = tg_gbs / bw;
    j["kv_cache_mib"] = kv_mib;
    j["rss_mib"] = rss;
    j["peak_rss_mib"] = hwm;
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("model: %s (%s, %.1f MiB, %.1f MiB of weights read per token)\n", model->path().c_str(),
                model->architecture().c_str(), file_mib, wbytes / (1 << 20));
    std::printf("threads: %d   isa: %s   read bandwidth: %.2f GB/s\n", pool.n_threads(), kernels::active_isa().c_str(), bw);
    std::printf("pp%-4d %9.2f tokens/s  %8.3f ms/token\n", pp, pp_tps, 1000.0 / pp_tps);
    std::printf("tg%-4d %9.2f tokens/s  %8.3f ms/token  %.2f GB/s (%.0f%% of read bandwidth)\n", tg, tg_tps,
                1000.0 / tg_tps, tg_gbs, 100.0 * tg_gbs / bw);
    std::printf("memory: RSS %.1f MiB (peak %.1f) = file %.1f MiB + KV cache %.1f MiB + %.1f MiB other\n", rss, hwm,
                file_mib, kv_mib, rss - file_mib - kv_mib);
  }
  return 0;
}

}  // namespace omni::cli
