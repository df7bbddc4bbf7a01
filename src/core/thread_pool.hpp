// ThreadPool: a persistent pool of worker threads that the caller joins (thread 0) for each job.
// Workers spin briefly waiting for the next job, then sleep. Kernels split work with parallel_for;
// results never depend on the number of threads beyond float reassociation.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace omni {

// A non-owning reference to a callable (no allocation, unlike std::function); the callable must
// outlive the call that receives it (the pool never keeps it past run() / parallel_for()).
template <class Sig>
class FunctionRef;
template <class R, class... A>
class FunctionRef<R(A...)> {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, FunctionRef> &&
                                              std::is_invocable_r_v<R, F&, A...>>>
  FunctionRef(F&& f) noexcept  // NOLINT: implicit, like std::function
      : obj_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* o, A... a) -> R { return (*static_cast<std::remove_reference_t<F>*>(o))(std::forward<A>(a)...); }) {}
  R operator()(A... a) const { return call_(obj_, std::forward<A>(a)...); }

 private:
  void* obj_;
  R (*call_)(void*, A...);
};

class ThreadPool {
 public:
  // n_threads counts the calling thread; 0 means "all hardware threads".
  explicit ThreadPool(int n_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int n_threads() const { return n_threads_; }

  // Runs fn(thread_index, n_threads) once on every thread (the caller is index 0) and returns
  // when all have finished. Not re-entrant: fn must not call run() on the same pool.
  void run(FunctionRef<void(int, int)> fn);

  // Splits [0, n) into contiguous chunks of at least `grain` items handed out dynamically;
  // fn(begin, end, thread_index). Workers join while chunks remain: a worker that is late (e.g.
  // descheduled on a busy machine) is not waited for once the caller has taken the last chunk.
  void parallel_for(int64_t n, int64_t grain, FunctionRef<void(int64_t, int64_t, int)> fn);

 private:
  void worker_loop(int index);
  uint64_t publish(const FunctionRef<void(int)>* job, bool shared);  // starts a generation, wakes workers

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  // The current job (lives on the caller's stack), called with the thread index; read by a worker
  // only once the generation checks below say that the job is still running.
  std::atomic<const FunctionRef<void(int)>*> job_{nullptr};
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> all_generation_{0};   // generation of the current run() job
  std::atomic<uint64_t> open_generation_{0};  // generation of the parallel_for job still open, or 0
  std::atomic<int> pending_{0};               // run(): workers that have not finished
  std::atomic<int> active_{0};                // parallel_for: workers inside (or joining) the job
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  std::mutex run_mutex_;  // serialises concurrent callers
};

}  // namespace omni
