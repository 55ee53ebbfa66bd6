//===- ThreadPool.cpp - The runtime's fork-join worker pool ---------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Hand-off protocol: the caller writes the job fields and bumps generation_
// (under the mutex, so a worker that is about to sleep cannot miss it).
// Every worker, spinning or woken, sees the new generation, checks in
// (entered_), and claims chunks until none are left, then checks out
// (exited_). The caller claims chunks too; when none are left it closes the
// job (closed_ = its generation) and waits only until every worker that
// checked in has checked out. A worker that checks in after the close sees
// it and leaves without touching the job, so the caller never waits for a
// worker that had not started: on a loaded machine a worker preempted by
// another process used to hold up every op until the scheduler ran it again
// (a 2-thread MobileNetV2 took 2.2x its 1-thread time with a compiler busy
// on the other core), while now the caller simply does the work itself.
//
// The check-in and the close are a store-then-load pair on each side
// (worker: entered_ then closed_; caller: closed_ then the counters), all
// sequentially consistent, so at least one side sees the other: either the
// caller counts the worker and waits for it, or the worker sees the close.
// The job fields of generation g are only rewritten after job g is closed
// and every worker that checked in for it has left.
//
//===----------------------------------------------------------------------===//

#include "ThreadPool.h"

#include <cassert>
#include <chrono>

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace sparseloom {
namespace runtime {

namespace {

/// How long a worker (or the waiting caller) spins before it sleeps. Long
/// enough to bridge the gap between two ops' kernels, short enough that an
/// idle runtime gives the core back almost at once.
constexpr std::chrono::microseconds kSpinTime(100);

inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

/// Spins until pred() holds or kSpinTime has passed; returns pred().
template <typename Pred> bool spinFor(Pred pred) {
  auto start = std::chrono::steady_clock::now();
  for (unsigned i = 1;; ++i) {
    if (pred())
      return true;
    cpuRelax();
    // Reading the clock costs ~20 ns; do it every 64 pauses.
    if ((i & 63) == 0 && std::chrono::steady_clock::now() - start > kSpinTime)
      return pred();
  }
}

void pinCurrentThread(unsigned index) {
#if defined(__linux__)
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0)
    return;
  unsigned numAllowed = CPU_COUNT(&allowed);
  if (numAllowed < 2)
    return; // pinning to the only CPU changes nothing
  unsigned want = index % numAllowed, seen = 0;
  for (unsigned cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed))
      continue;
    if (seen++ != want)
      continue;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    // Best effort: a failure (e.g. a cgroup forbids it) leaves the thread
    // where the scheduler put it, which is still correct.
    (void)pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
    return;
  }
#else
  (void)index;
#endif
}

} // namespace

ThreadPool::ThreadPool(unsigned threads, bool pinWorkers)
    : threads_(threads == 0 ? 1
                            : (threads > kMaxThreads ? kMaxThreads : threads)),
      pin_(pinWorkers) {
  for (unsigned i = 1; i < threads_; ++i)
    workers_[i] = std::thread([this, i] { workerLoop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  for (unsigned i = 1; i < threads_; ++i)
    workers_[i].join();
}

void ThreadPool::drainChunks(unsigned thread) {
  for (;;) {
    size_t chunk = nextChunk_.fetch_add(1, std::memory_order_relaxed);
    size_t begin = chunk * jobGrain_;
    if (begin >= jobCount_)
      return;
    size_t end = begin + jobGrain_ < jobCount_ ? begin + jobGrain_ : jobCount_;
    jobFn_(jobCtx_, thread, begin, end);
  }
}

void ThreadPool::run(size_t count, size_t grain, TaskFn fn, void *ctx) {
  assert(threads_ > 1 && "single-threaded pools run inline");
  jobFn_ = fn;
  jobCtx_ = ctx;
  jobCount_ = count;
  jobGrain_ = grain;
  nextChunk_.store(0, std::memory_order_relaxed);
  uint64_t generation;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    generation = generation_.fetch_add(1, std::memory_order_release) + 1;
  }
  wake_.notify_all();

  drainChunks(0);

  // No chunk is left to claim: close the job, then wait for the workers
  // that checked in before the close (see the file comment).
  closed_.store(generation, std::memory_order_seq_cst);
  auto finished = [this] {
    // exited_ first: if it then equals entered_, nobody was inside at the
    // moment exited_ was read, and later arrivals see the close.
    const uint64_t out = exited_.load(std::memory_order_seq_cst);
    return entered_.load(std::memory_order_seq_cst) == out;
  };
  if (spinFor(finished))
    return;
  std::unique_lock<std::mutex> lock(mutex_);
  waiting_.store(true, std::memory_order_seq_cst);
  done_.wait(lock, finished);
  waiting_.store(false, std::memory_order_relaxed);
}

void ThreadPool::workerLoop(unsigned index) {
  if (pin_)
    pinCurrentThread(index);
  // Generation 0 is the state at construction; reading generation_ here
  // instead could miss a job the caller posted before this thread ran.
  uint64_t seen = 0;
  for (;;) {
    auto newJob = [&] {
      return generation_.load(std::memory_order_acquire) != seen;
    };
    if (!spinFor(newJob)) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, newJob);
    }
    seen = generation_.load(std::memory_order_acquire);
    if (stop_.load(std::memory_order_relaxed))
      return;
    entered_.fetch_add(1, std::memory_order_seq_cst);
    // A job closed before this check-in is left alone: its fields may
    // already belong to the next one.
    if (closed_.load(std::memory_order_seq_cst) < seen)
      drainChunks(index);
    exited_.fetch_add(1, std::memory_order_seq_cst);
    if (waiting_.load(std::memory_order_seq_cst)) {
      // Taking the mutex orders this wake-up after the caller's last check
      // of the counters if the caller is on its way to sleep.
      { std::lock_guard<std::mutex> lock(mutex_); }
      done_.notify_one();
    }
  }
}

} // namespace runtime
} // namespace sparseloom
