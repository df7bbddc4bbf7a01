// ThreadPool: every index visited exactly once, for any thread count and grain.
#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "core/thread_pool.hpp"

using namespace omni;

TEST(ThreadPool, ParallelForCoversEachIndexOnce) {
  for (int threads : {1, 2, 3, 4}) {
    ThreadPool pool(threads);
    for (int64_t n : {0, 1, 7, 100, 1000, 4097}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      pool.parallel_for(n, 3, [&](int64_t b, int64_t e, int t) {
        ASSERT_GE(t, 0);
        ASSERT_LT(t, threads);
        for (int64_t i = b; i < e; ++i) hits[size_t(i)]++;
      });
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[size_t(i)].load(), 1) << "n=" << n << " i=" << i;
    }
  }
}

TEST(ThreadPool, RunCallsEveryThreadAndManyTimes) {
  ThreadPool pool(3);
  std::atomic<int> calls{0};
  for (int r = 0; r < 2000; ++r) pool.run([&](int, int n) { EXPECT_EQ(n, 3); calls++; });
  EXPECT_EQ(calls.load(), 6000);
}
