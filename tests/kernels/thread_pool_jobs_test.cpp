// The thread pool as the kernels use it: parallel_for jobs that workers join while chunks remain
// (the caller does not wait for late workers) interleaved with run() jobs that every thread must
// execute exactly once; many back-to-back tiny jobs exercise the generation hand-off.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "core/thread_pool.hpp"

namespace omni {
namespace {

TEST(ThreadPoolJobs, InterleavedRunAndParallelForStayExact) {
  for (int threads : {2, 3, 4}) {
    ThreadPool pool(threads);
    std::vector<int64_t> data(1000, 0);
    std::vector<std::atomic<int>> per_thread(static_cast<size_t>(threads));
    int64_t expected_runs = 0;
    for (int iter = 0; iter < 1000; ++iter) {
      const int64_t n = 1 + iter % 37;
      pool.parallel_for(n, 1 + iter % 3, [&](int64_t b, int64_t e, int t) {
        ASSERT_GE(t, 0);
        ASSERT_LT(t, threads);
        for (int64_t i = b; i < e; ++i) data[size_t(i)] += i + 1;
      });
      if (iter % 5 == 0) {
        pool.run([&](int t, int nt) {
          EXPECT_EQ(nt, threads);
          per_thread[size_t(t)]++;
        });
        ++expected_runs;
      }
    }
    // Index i was in range for every iteration with n > i.
    for (int64_t i = 0; i < 37; ++i) {
      int64_t times = 0;
      for (int iter = 0; iter < 1000; ++iter) times += (1 + iter % 37) > i;
      EXPECT_EQ(data[size_t(i)], times * (i + 1)) << "threads=" << threads << " i=" << i;
    }
    for (int t = 0; t < threads; ++t) EXPECT_EQ(per_thread[size_t(t)].load(), expected_runs) << "thread " << t;
  }
}

TEST(ThreadPoolJobs, WorkersJoinLongJobs) {
  // Chunks that take a while: the worker gets to take some of them (retried, for a busy machine).
  ThreadPool pool(2);
  bool worker_helped = false;
  for (int attempt = 0; attempt < 50 && !worker_helped; ++attempt) {
    std::atomic<int> by_worker{0};
    pool.parallel_for(32, 1, [&](int64_t, int64_t, int t) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      if (t != 0) by_worker++;
    });
    worker_helped = by_worker.load() > 0;
  }
  EXPECT_TRUE(worker_helped);
}

TEST(ThreadPoolJobs, AcceptsStoredCallables) {
  ThreadPool pool(3);
  std::atomic<int64_t> sum{0};
  const auto body = [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) sum += i;
  };
  pool.parallel_for(100, 1, body);  // an lvalue callable
  EXPECT_EQ(sum.load(), 4950);
}

}  // namespace
}  // namespace omni
