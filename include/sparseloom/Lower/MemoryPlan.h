//===- MemoryPlan.h - Offsets in one activation arena -----------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Every activation of a program lives at a fixed offset in one arena, decided
// here at compile time from liveness (as TensorFlow Lite Micro plans its
// arena offline). A buffer is live over an inclusive range of steps: step 0
// is before the first op (graph inputs are written there), op i runs at step
// i + 1, and graph outputs stay live until the step after the last op. Two
// buffers whose ranges intersect never overlap in memory; in particular an
// op's output never shares bytes with its own inputs.
//
// The planner is greedy by size with best fit: buffers in decreasing size
// (ties: earlier first step, then index, so the plan is deterministic), each
// placed in the smallest gap between the already placed buffers it conflicts
// with that fits it, or above all of them. Offsets and sizes are rounded up
// to `alignment`.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_LOWER_MEMORYPLAN_H
#define SPARSELOOM_LOWER_MEMORYPLAN_H

#include <cstdint>
#include <vector>

namespace sparseloom {

struct BufferRequest {
  uint64_t bytes = 0;
  int64_t firstStep = 0; // inclusive
  int64_t lastStep = 0;  // inclusive, >= firstStep
};

struct MemoryPlan {
  std::vector<uint64_t> offsets; // one per request
  uint64_t arenaBytes = 0;       // multiple of the alignment
  uint64_t unplannedBytes = 0;   // sum of the buffer sizes, no reuse
};

MemoryPlan planMemory(const std::vector<BufferRequest> &buffers,
                      uint64_t alignment = 64);

} // namespace sparseloom

#endif // SPARSELOOM_LOWER_MEMORYPLAN_H
