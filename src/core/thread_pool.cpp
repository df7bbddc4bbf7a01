// ThreadPool implementation: a generation counter, workers that spin and then sleep, and two kinds
// of job: run() (every worker exactly once; the caller waits for all) and parallel_for() (workers
// join while the job is open; the caller closes it after the last chunk and waits only for the
// workers that joined). Joining and closing use the Dekker pattern on seq_cst atomics: a worker
// announces itself (active_) before checking that the job is open, the caller closes before
// checking active_, so either the worker sees the job closed or the caller waits for it.
#include "core/thread_pool.hpp"

#include <algorithm>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace omni {

static inline void cpu_relax() {
#if defined(__x86_64__)
  _mm_pause();
#endif
}

ThreadPool::ThreadPool(int n_threads) {
  if (n_threads <= 0) n_threads = std::max(1u, std::thread::hardware_concurrency());
  n_threads_ = n_threads;
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  while (true) {
    // Spin for a short while (cheap hand-off between back-to-back kernel calls), then sleep.
    for (int spins = 0; generation_.load(std::memory_order_acquire) == seen && spins < 20000; ++spins) cpu_relax();
    if (generation_.load(std::memory_order_acquire) == seen) {
      std::unique_lock<std::mutex> lock(mutex_);
      sleepers_.fetch_add(1);
      wake_.wait(lock, [&] { return generation_.load() != seen; });
      sleepers_.fetch_sub(1);
    }
    seen = generation_.load(std::memory_order_acquire);
    if (stop_) return;
    if (all_generation_.load(std::memory_order_acquire) == seen) {
      (*job_.load(std::memory_order_relaxed))(index);
      pending_.fetch_sub(1, std::memory_order_acq_rel);
    } else {
      active_.fetch_add(1);                        // seq_cst: announce, then check
      if (open_generation_.load() == seen) (*job_.load(std::memory_order_relaxed))(index);
      active_.fetch_sub(1, std::memory_order_release);
    }
  }
}

uint64_t ThreadPool::publish(const FunctionRef<void(int)>* job, bool shared) {
  job_.store(job, std::memory_order_relaxed);
  const uint64_t g = generation_.load(std::memory_order_relaxed) + 1;
  if (shared) {
    open_generation_.store(g, std::memory_order_release);
  } else {
    pending_.store(n_threads_ - 1, std::memory_order_relaxed);
    all_generation_.store(g, std::memory_order_release);
  }
  generation_.store(g);  // seq_cst: publish, then look for sleepers
  if (sleepers_.load() > 0) {
    { std::lock_guard<std::mutex> lock(mutex_); }  // a worker between its check and wait() holds it
    wake_.notify_all();
  }
  return g;
}

void ThreadPool::run(FunctionRef<void(int, int)> fn) {
  if (n_threads_ == 1) {
    fn(0, 1);
    return;
  }
  std::lock_guard<std::mutex> run_lock(run_mutex_);
  const int n = n_threads_;
  auto body = [&](int thread) { fn(thread, n); };
  const FunctionRef<void(int)> job(body);
  publish(&job, false);
  fn(0, n_threads_);
  // Wait for the workers: spin, then yield (an oversubscribed machine may have descheduled one).
  for (int spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) {
    if (spins < 4096) {
      cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, FunctionRef<void(int64_t, int64_t, int)> fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  if (n_threads_ == 1 || n <= grain) {
    fn(0, n, 0);
    return;
  }
  // Chunks: about 4 per thread, but never smaller than grain.
  const int64_t chunk = std::max<int64_t>(grain, (n + 4 * n_threads_ - 1) / (4 * n_threads_));
  std::lock_guard<std::mutex> run_lock(run_mutex_);
  std::atomic<int64_t> next{0};
  auto body = [&](int thread) {
    while (true) {
      const int64_t begin = next.fetch_add(chunk, std::memory_order_relaxed);
      if (begin >= n) break;
      fn(begin, std::min(n, begin + chunk), thread);
    }
  };
  const FunctionRef<void(int)> job(body);
  publish(&job, true);
  body(0);
  open_generation_.store(0);  // seq_cst: close, then wait for the workers that joined
  for (int spins = 0; active_.load() != 0; ++spins) {
    if (spins < 4096) {
      cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }
}

}  // namespace omni
