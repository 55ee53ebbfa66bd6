//===- ThreadPoolTest.cpp - The kernels' fork-join pool -------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Every index is visited exactly once, thread indices stay in range, a
// single-thread pool runs inline, and the pool keeps working across many
// back-to-back jobs (also ones the caller finishes before a worker checks
// in) and after its workers have gone to sleep.
//
//===----------------------------------------------------------------------===//

#include "ThreadPool.h"

#include "gtest/gtest.h"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

using namespace sparseloom::runtime;

namespace {

void expectEachIndexOnce(ThreadPool &pool, size_t count, size_t grain) {
  std::vector<std::atomic<int>> hits(count);
  for (auto &h : hits)
    h.store(0);
  std::atomic<unsigned> badThread{0};
  pool.parallelForWithThread(count, grain,
                             [&](unsigned thread, size_t begin, size_t end) {
                               if (thread >= pool.threads())
                                 badThread.fetch_add(1);
                               for (size_t i = begin; i < end; ++i)
                                 hits[i].fetch_add(1);
                             });
  for (size_t i = 0; i < count; ++i)
    ASSERT_EQ(hits[i].load(), 1)
        << "index " << i << " count " << count << " grain " << grain;
  EXPECT_EQ(badThread.load(), 0u);
}

TEST(ThreadPool, CoversEveryIndexOnce) {
  for (unsigned threads : {1u, 2u, 3u, 8u}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.threads(), threads);
    for (size_t count :
         {size_t(0), size_t(1), size_t(2), size_t(7), size_t(64), size_t(1001)})
      for (size_t grain : {size_t(0), size_t(1), size_t(3), size_t(500)})
        expectEachIndexOnce(pool, count, grain);
  }
}

TEST(ThreadPool, DefaultGrainGivesOneRangePerThread) {
  ThreadPool pool(2);
  std::atomic<int> calls{0};
  pool.parallelFor(100, [&](size_t begin, size_t end) {
    EXPECT_EQ(end - begin, 50u);
    calls.fetch_add(1);
  });
  EXPECT_EQ(calls.load(), 2);
}

TEST(ThreadPool, SingleThreadRunsInline) {
  ThreadPool pool(1);
  const auto self = std::this_thread::get_id();
  int calls = 0;
  pool.parallelFor(10, 3, [&](size_t, size_t) {
    EXPECT_EQ(std::this_thread::get_id(), self);
    ++calls;
  });
  EXPECT_EQ(calls, 4);
}

TEST(ThreadPool, ClampsThreadCount) {
  ThreadPool none(0);
  EXPECT_EQ(none.threads(), 1u);
  ThreadPool many(1000, /*pinWorkers=*/false);
  EXPECT_EQ(many.threads(), ThreadPool::kMaxThreads);
  expectEachIndexOnce(many, 300, 1);
}

TEST(ThreadPool, ManyBackToBackJobs) {
  ThreadPool pool(2);
  std::atomic<size_t> sum{0};
  for (int job = 0; job < 5000; ++job)
    pool.parallelFor(
        4, 1, [&](size_t begin, size_t end) { sum.fetch_add(end - begin); });
  EXPECT_EQ(sum.load(), 20000u);
}

TEST(ThreadPool, JobsTheCallerFinishesAlone) {
  // Two chunks of almost no work: the caller often claims both before a
  // worker checks in, closes the job and posts the next; the late worker
  // must then leave the closed job alone (every index still runs once, and
  // the thread index passed is the one running the chunk).
  ThreadPool pool(3);
  std::atomic<size_t> sum{0};
  std::atomic<unsigned> badThread{0};
  for (int job = 0; job < 20000; ++job) {
    std::atomic<int> hits[2] = {{0}, {0}};
    pool.parallelForWithThread(2, 1,
                               [&](unsigned thread, size_t begin, size_t end) {
                                 if (thread >= pool.threads())
                                   badThread.fetch_add(1);
                                 for (size_t i = begin; i < end; ++i)
                                   hits[i].fetch_add(1);
                               });
    ASSERT_EQ(hits[0].load(), 1) << "job " << job;
    ASSERT_EQ(hits[1].load(), 1) << "job " << job;
    sum.fetch_add(2);
  }
  EXPECT_EQ(sum.load(), 40000u);
  EXPECT_EQ(badThread.load(), 0u);
}

TEST(ThreadPool, WakesSleepingWorkers) {
  ThreadPool pool(3);
  for (int round = 0; round < 3; ++round) {
    // Longer than the spin time, so the workers are asleep on the next job.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    expectEachIndexOnce(pool, 50, 1);
  }
}

TEST(ThreadPool, SplitRangePartitions) {
  for (size_t count : {0, 1, 5, 64, 101})
    for (size_t parts : {1, 2, 3, 7}) {
      size_t expectBegin = 0;
      for (size_t i = 0; i < parts; ++i) {
        size_t b, e;
        ThreadPool::splitRange(count, parts, i, b, e);
        EXPECT_EQ(b, expectBegin);
        EXPECT_LE(e - b, count / parts + 1);
        expectBegin = e;
      }
      EXPECT_EQ(expectBegin, count);
    }
}

} // namespace
