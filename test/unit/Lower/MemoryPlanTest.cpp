//===- MemoryPlanTest.cpp - The arena planner on its own ------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Lower/MemoryPlan.h"

#include "gtest/gtest.h"

#include <random>

using namespace sparseloom;

namespace {

/// No two buffers live at the same step share a byte; all are aligned.
void expectValid(const std::vector<BufferRequest> &buffers,
                 const MemoryPlan &plan, uint64_t alignment) {
  ASSERT_EQ(plan.offsets.size(), buffers.size());
  for (size_t i = 0; i < buffers.size(); ++i) {
    EXPECT_EQ(plan.offsets[i] % alignment, 0u);
    EXPECT_LE(plan.offsets[i] + buffers[i].bytes, plan.arenaBytes);
    for (size_t j = i + 1; j < buffers.size(); ++j) {
      const BufferRequest &a = buffers[i], &b = buffers[j];
      if (a.bytes == 0 || b.bytes == 0)
        continue;
      bool time = a.firstStep <= b.lastStep && b.firstStep <= a.lastStep;
      bool memory = plan.offsets[i] < plan.offsets[j] + b.bytes &&
                    plan.offsets[j] < plan.offsets[i] + a.bytes;
      EXPECT_FALSE(time && memory) << "buffers " << i << " and " << j;
    }
  }
  EXPECT_EQ(plan.arenaBytes % alignment, 0u);
}

// A chain a -> b -> c -> d: each buffer dies when the next is made, so two
// slots suffice, however long the chain.
TEST(MemoryPlanTest, ChainReusesTwoSlots) {
  std::vector<BufferRequest> chain;
  for (int i = 0; i < 10; ++i)
    chain.push_back({1000, i, i + 1});
  MemoryPlan plan = planMemory(chain, 64);
  expectValid(chain, plan, 64);
  EXPECT_EQ(plan.arenaBytes, 2u * 1024u);
  EXPECT_EQ(plan.unplannedBytes, 10u * 1000u);
}

// Buffers that all live at once get disjoint ranges: no reuse possible.
TEST(MemoryPlanTest, OverlappingLifetimesGetDisjointRanges) {
  std::vector<BufferRequest> all = {{100, 0, 5}, {200, 1, 5}, {300, 2, 5}};
  MemoryPlan plan = planMemory(all, 64);
  expectValid(all, plan, 64);
  EXPECT_EQ(plan.arenaBytes, 128u + 256u + 320u);
}

// Best fit: a small buffer goes into the hole a dead large one left.
TEST(MemoryPlanTest, SmallBufferFillsHole) {
  std::vector<BufferRequest> buffers = {
      {4096, 0, 1}, // dies at step 1
      {4096, 0, 4}, // lives on
      {1024, 2, 3}, // fits where the first was
  };
  MemoryPlan plan = planMemory(buffers, 64);
  expectValid(buffers, plan, 64);
  EXPECT_EQ(plan.arenaBytes, 8192u);
}

// Zero-byte tensors take no space and never conflict.
TEST(MemoryPlanTest, EmptyBuffers) {
  std::vector<BufferRequest> buffers = {{0, 0, 3}, {64, 0, 3}, {0, 1, 2}};
  MemoryPlan plan = planMemory(buffers, 64);
  expectValid(buffers, plan, 64);
  EXPECT_EQ(plan.arenaBytes, 64u);
}

// Random programs: always valid, never above the unplanned sum, and the
// same input always gives the same plan.
TEST(MemoryPlanTest, RandomPlansAreValidAndDeterministic) {
  std::mt19937 rng(1234);
  for (int round = 0; round < 200; ++round) {
    std::vector<BufferRequest> buffers;
    int n = 1 + int(rng() % 40);
    uint64_t alignedSum = 0;
    for (int i = 0; i < n; ++i) {
      int64_t first = int64_t(rng() % 30);
      int64_t last = first + int64_t(rng() % 10);
      uint64_t bytes = rng() % 5000;
      buffers.push_back({bytes, first, last});
      alignedSum += (bytes + 63) / 64 * 64;
    }
    MemoryPlan plan = planMemory(buffers, 64);
    expectValid(buffers, plan, 64);
    EXPECT_LE(plan.arenaBytes, alignedSum);
    MemoryPlan again = planMemory(buffers, 64);
    EXPECT_EQ(plan.offsets, again.offsets);
  }
}

} // namespace
