//===- FamilySelection.cpp - Choose what each task ships ------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Candidates are the distinct stitches on any of a task's fronts. A stitch
// found on one processor's front can usually run on the others too, so its
// latency is computed on every processor from the per-subgraph latencies:
// selection then sees the full choice of placements. Split placements (a
// stitch whose segments run on different processors) enter as their own
// candidates with the latency of that placement.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Space/FamilySelection.h"

#include "sparseloom/Space/Selection.h"
#include "sparseloom/Space/StitchSpace.h"
#include "sparseloom/Support/Diagnostics.h"

#include <map>

namespace sparseloom {

llvm::Error selectFamilyVariants(const std::vector<Family *> &families,
                                 const FamilySelectionOptions &options) {
  if (families.empty())
    return makeError("select-variants: no task to select for");
  if (!(options.budgetBytes > 0))
    return makeError("select-variants: the memory budget must be positive "
                     "(budget=BYTES)");
  SelectionProblem problem;
  problem.memoryBudgetBytes = options.budgetBytes;
  problem.gridSize = options.gridSize;
  problem.maxPerTask = options.maxPerTask;
  // The point each candidate stands for, to record the pick.
  std::vector<FamilyStitchPoint> points;
  for (unsigned t = 0; t < families.size(); ++t) {
    const Family &family = *families[t];
    if (!family.state.fronts)
      return makeError("select-variants: task '" + family.task +
                       "' has no fronts: run enumerate-stitches first");
    const FamilyStitchFronts &fronts = *family.state.fronts;
    problem.taskNames.push_back(family.task);
    const unsigned procs = unsigned(fronts.processors.size());
    const unsigned n = unsigned(fronts.segmentBytes.size());
    auto idOf = [&](unsigned s, unsigned m) -> uint64_t {
      if (options.subgraphId)
        return options.subgraphId(t, s, m);
      return (uint64_t(t) << 40) | (uint64_t(s) << 20) | m;
    };
    std::map<std::pair<StitchChoiceList, StitchChoiceList>, bool> seen;
    for (const FamilyFront &front : fronts.fronts) {
      bool split = front.placement == "split";
      for (const FamilyStitchPoint &point : front.points) {
        // Single-processor placements of one stitch are one candidate.
        StitchChoiceList placement =
            split ? point.processors : StitchChoiceList{};
        if (!seen.emplace(std::make_pair(point.variants, placement), true)
                 .second)
          continue;
        SelectionCandidate candidate;
        candidate.task = t;
        candidate.frontIndex = points.size();
        candidate.accuracy = point.accuracy();
        candidate.latencyMs.assign(procs, kInfeasible);
        if (split) {
          // Only this placement: its latency counts on the processor that
          // runs the first segment (the request's entry point).
          candidate.latencyMs[point.processors.front()] = point.latencyMs;
        } else {
          for (unsigned p = 0; p < procs; ++p) {
            double total = 0;
            for (unsigned s = 0; s < n; ++s)
              total += fronts.segmentLatencyMs[s][point.variants[s]][p];
            candidate.latencyMs[p] = total;
          }
        }
        for (unsigned s = 0; s < n; ++s) {
          uint64_t id = idOf(s, point.variants[s]);
          candidate.subgraphs.push_back(id);
          problem.subgraphBytes[id] = fronts.segmentBytes[s][point.variants[s]];
        }
        problem.candidates.push_back(std::move(candidate));
        points.push_back(point);
      }
    }
  }
  auto result = selectVariants(problem);
  if (!result)
    return result.takeError();
  for (unsigned t = 0; t < families.size(); ++t) {
    FamilySelection selection;
    selection.budgetBytes = options.budgetBytes;
    selection.gridSize = options.gridSize;
    selection.coverage = result->coverage[t];
    std::map<uint64_t, double> used;
    for (size_t i : result->selected) {
      const SelectionCandidate &c = problem.candidates[i];
      if (c.task != t)
        continue;
      FamilyStitchPoint point = points[c.frontIndex];
      bool split = false;
      for (uint8_t p : point.processors)
        split |= p != point.processors.front();
      if (!split) {
        // Record the fastest processor the stitch can run on.
        unsigned best = 0;
        for (unsigned p = 1; p < c.latencyMs.size(); ++p)
          if (c.latencyMs[p] < c.latencyMs[best])
            best = p;
        point.processors.assign(point.variants.size(), uint8_t(best));
        point.latencyMs = c.latencyMs[best];
      }
      for (uint64_t id : c.subgraphs)
        used[id] = problem.subgraphBytes[id];
      selection.selected.push_back(std::move(point));
    }
    for (const auto &[id, bytes] : used)
      selection.memoryBytes += bytes;
    families[t]->state.selection = std::move(selection);
  }
  return llvm::Error::success();
}

} // namespace sparseloom
