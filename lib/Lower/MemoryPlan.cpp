//===- MemoryPlan.cpp - Offsets in one activation arena -------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Greedy-by-size best-fit placement (MemoryPlan.h). Placing large buffers
// first matters: small ones then fill the holes between them, which is where
// most of the saving over first-come placement comes from. The cost is
// quadratic in the number of buffers, a few thousand at most for one model.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Lower/MemoryPlan.h"

#include <algorithm>
#include <cassert>
#include <numeric>

namespace sparseloom {

namespace {

uint64_t alignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

bool overlapInTime(const BufferRequest &a, const BufferRequest &b) {
  return a.firstStep <= b.lastStep && b.firstStep <= a.lastStep;
}

} // namespace

MemoryPlan planMemory(const std::vector<BufferRequest> &buffers,
                      uint64_t alignment) {
  assert(alignment > 0 && (alignment & (alignment - 1)) == 0 &&
         "alignment must be a power of two");
  MemoryPlan plan;
  plan.offsets.assign(buffers.size(), 0);
  std::vector<size_t> order(buffers.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (buffers[a].bytes != buffers[b].bytes)
      return buffers[a].bytes > buffers[b].bytes;
    return buffers[a].firstStep < buffers[b].firstStep;
  });

  std::vector<size_t> placed;
  for (size_t index : order) {
    const BufferRequest &request = buffers[index];
    assert(request.firstStep <= request.lastStep && "empty live range");
    plan.unplannedBytes += request.bytes;
    const uint64_t size = alignUp(request.bytes, alignment);
    if (size == 0)
      continue; // an empty tensor needs no bytes; offset 0 is as good as any
    // The placed buffers live at the same time, by offset.
    std::vector<std::pair<uint64_t, uint64_t>> busy; // [begin, end)
    for (size_t other : placed)
      if (overlapInTime(request, buffers[other]))
        busy.push_back(
            {plan.offsets[other],
             plan.offsets[other] + alignUp(buffers[other].bytes, alignment)});
    std::sort(busy.begin(), busy.end());
    uint64_t best = UINT64_MAX, bestGap = UINT64_MAX, cursor = 0;
    for (const auto &range : busy) {
      if (range.first > cursor) {
        uint64_t gap = range.first - cursor;
        if (gap >= size && gap < bestGap) {
          best = cursor;
          bestGap = gap;
        }
      }
      cursor = std::max(cursor, range.second);
    }
    if (best == UINT64_MAX)
      best = cursor; // above everything live at the same time
    plan.offsets[index] = best;
    plan.arenaBytes = std::max(plan.arenaBytes, best + size);
    placed.push_back(index);
  }
  return plan;
}

} // namespace sparseloom
