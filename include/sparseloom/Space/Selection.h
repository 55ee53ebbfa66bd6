//===- Selection.h - Choosing the stitched variants to ship -----*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The Pareto fronts offer far more stitched variants than a device can
// store. Selection picks, for every task, the variants to ship so that their
// subgraphs fit one memory budget together.
//
// Objective: SLO coverage. Each task gets a grid of SLOs (latency deadline x
// accuracy floor) spanning its front; an SLO is covered when a shipped
// variant meets it on some processor. Selection maximises the covered
// fraction, summed over tasks. Memory is the size of the *union* of shipped
// subgraphs: a variant whose subgraphs are already shipped (by another
// variant of the task, or by another task, when dedup found them equal)
// costs nothing, which is exactly what makes stitching cheap.
//
// Coverage is monotone submodular, so the greedy rule (largest coverage gain
// per added byte, with ties to higher accuracy) is the standard choice; it
// starts from the smallest variant of every task, so every task ships at
// least one variant or selection fails naming the task.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_SPACE_SELECTION_H
#define SPARSELOOM_SPACE_SELECTION_H

#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sparseloom {

/// One stitched variant offered to selection.
struct SelectionCandidate {
  unsigned task = 0;
  /// Index in the task's front, for the caller.
  size_t frontIndex = 0;
  double accuracy = 0; // predicted, 0..1
  /// Latency per processor (ms); +infinity where it cannot run.
  std::vector<double> latencyMs;
  /// Ids of the subgraphs it needs (shared ids = stored once).
  std::vector<uint64_t> subgraphs;
};

struct SelectionProblem {
  std::vector<std::string> taskNames;
  std::vector<SelectionCandidate> candidates;
  /// Bytes of every subgraph id the candidates mention.
  std::map<uint64_t, double> subgraphBytes;
  double memoryBudgetBytes = 0;
  /// SLO grid resolution per task: gridSize x gridSize points.
  unsigned gridSize = 16;
  /// At most this many variants per task (0: no limit).
  unsigned maxPerTask = 0;
};

struct SelectionResult {
  /// Indices into problem.candidates, in the order they were picked.
  std::vector<size_t> selected;
  double memoryBytes = 0;
  /// Per task, the fraction of the reachable SLOs of its grid (those some
  /// candidate meets) that the selection meets, 0..1.
  std::vector<double> coverage;
};

/// Greedy SLO-coverage selection under the memory budget. Fails when the
/// budget cannot hold even the smallest variant of every task (naming the
/// task and the bytes needed) or when a task has no candidate.
llvm::Expected<SelectionResult> selectVariants(const SelectionProblem &problem);

/// The SLO grid of one task: deadlines and floors spanning its candidates'
/// best-processor latencies and accuracies.
struct SloGrid {
  std::vector<double> deadlinesMs;
  std::vector<double> accuracyFloors;
};
SloGrid makeSloGrid(const std::vector<const SelectionCandidate *> &candidates,
                    unsigned gridSize);

} // namespace sparseloom

#endif // SPARSELOOM_SPACE_SELECTION_H
