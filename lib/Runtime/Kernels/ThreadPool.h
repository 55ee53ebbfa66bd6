//===- ThreadPool.h - The runtime's fork-join worker pool -------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// A small fork-join pool for the kernels: `parallelFor` hands index ranges to
// the workers and the calling thread, and returns when all are done. It is
// built for the runtime's hot path, so a call allocates nothing (the callable
// is passed by reference through a plain function pointer, never wrapped in a
// std::function) and takes no lock while workers are spinning.
//
// Workers are created once, optionally pinned to a core each, spin briefly
// after a job (the next op's kernel usually follows within microseconds) and
// then sleep on a condition variable so an idle runtime costs no CPU. With
// threads == 1 there are no workers at all: every call runs inline.
//
// Work is claimed in chunks from an atomic counter, so a core that another
// process slows down takes fewer chunks, and the caller does not wait for a
// worker that had not started when the last chunk was claimed. Kernels make the
// result of each output element independent of which thread computes it, which
// keeps outputs bit-identical for any thread count and schedule.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_RUNTIME_KERNELS_THREADPOOL_H
#define SPARSELOOM_RUNTIME_KERNELS_THREADPOOL_H

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <type_traits>

namespace sparseloom {
namespace runtime {

class ThreadPool {
public:
  /// The most threads one pool runs (the caller included).
  static constexpr unsigned kMaxThreads = 64;

  /// Starts `threads - 1` workers (the caller is the last thread). `threads`
  /// is clamped to [1, kMaxThreads]. When `pinWorkers` is set, worker i runs
  /// on the i-th CPU of the process's affinity mask (wrapping around), which
  /// keeps its caches warm between ops; the caller's thread is left alone.
  explicit ThreadPool(unsigned threads, bool pinWorkers = true);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  /// Threads that take part in a parallelFor, the caller included.
  unsigned threads() const { return threads_; }

  /// Calls fn(begin, end) on at most threads() disjoint, near-equal ranges
  /// covering [0, count) and returns when all calls have returned. `fn`
  /// must not throw and must not call parallelFor on the same pool.
  template <typename F> void parallelFor(size_t count, F &&fn) {
    parallelFor(count, (count + threads_ - 1) / threads_, fn);
  }

  /// Same with ranges of `grain` indices (the last may be shorter), claimed
  /// dynamically: use several chunks per thread when their costs differ.
  template <typename F> void parallelFor(size_t count, size_t grain, F &&fn) {
    parallelForWithThread(
        count, grain,
        [&fn](unsigned, size_t begin, size_t end) { fn(begin, end); });
  }

  /// Same, calling fn(thread, begin, end) where `thread` in [0, threads())
  /// names the thread running the call (0 = the caller), so a kernel can
  /// give each thread its own slice of a scratch buffer.
  template <typename F>
  void parallelForWithThread(size_t count, size_t grain, F &&fn) {
    if (count == 0)
      return;
    if (grain == 0)
      grain = 1;
    if (threads_ == 1 || count <= grain) {
      for (size_t begin = 0; begin < count; begin += grain)
        fn(0u, begin, begin + grain < count ? begin + grain : count);
      return;
    }
    using Fn = std::remove_reference_t<F>;
    run(
        count, grain,
        [](void *ctx, unsigned thread, size_t begin, size_t end) {
          (*static_cast<Fn *>(ctx))(thread, begin, end);
        },
        const_cast<void *>(static_cast<const void *>(&fn)));
  }

  /// The `index`-th of `parts` near-equal contiguous ranges of [0, count):
  /// a helper for kernels that partition work themselves.
  static void splitRange(size_t count, size_t parts, size_t index,
                         size_t &begin, size_t &end) {
    size_t base = count / parts, extra = count % parts;
    begin = index * base + (index < extra ? index : extra);
    end = begin + base + (index < extra ? 1 : 0);
  }

private:
  using TaskFn = void (*)(void *ctx, unsigned thread, size_t begin, size_t end);

  void run(size_t count, size_t grain, TaskFn fn, void *ctx);
  void workerLoop(unsigned index);
  void drainChunks(unsigned thread);

  unsigned threads_ = 1;
  bool pin_ = false;
  std::thread workers_[kMaxThreads];

  // The current job, published by incrementing generation_.
  TaskFn jobFn_ = nullptr;
  void *jobCtx_ = nullptr;
  size_t jobCount_ = 0;
  size_t jobGrain_ = 1;
  std::atomic<size_t> nextChunk_{0};
  std::atomic<uint64_t> generation_{0};
  // Check-in protocol (ThreadPool.cpp): workers that took part in a job,
  // those that have left it, and the last generation whose chunks are all
  // claimed. Counted over the pool's life, never reset.
  std::atomic<uint64_t> entered_{0};
  std::atomic<uint64_t> exited_{0};
  std::atomic<uint64_t> closed_{0};
  std::atomic<bool> waiting_{false}; // the caller sleeps on done_
  std::atomic<bool> stop_{false};

  std::mutex mutex_;
  std::condition_variable wake_; // workers: a new job or stop
  std::condition_variable done_; // caller: a worker checked out
};

} // namespace runtime
} // namespace sparseloom

#endif // SPARSELOOM_RUNTIME_KERNELS_THREADPOOL_H
