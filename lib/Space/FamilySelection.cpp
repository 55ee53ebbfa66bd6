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
#include "sparseloom/Space/StitchEnumeration.h"
#include "sparseloom/Space/StitchSpace.h"
#include "sparseloom/Support/Diagnostics.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace sparseloom {

namespace {

/// Stitches made only of shipped subgraphs cost no memory. Adds those that
/// no shipped variant beats in both accuracy and latency (on its fastest
/// processor): more points to meet SLOs with, for free. This is where
/// stitching saves memory: k^n choices from the k·n pieces on the device.
void addFreeStitches(const Family &family, FamilySelection &selection,
                     unsigned maxPerTask) {
  const FamilyStitchFronts &fronts = *family.state.fronts;
  const size_t n = fronts.segmentBytes.size(), procs = fronts.processors.size();
  std::vector<std::vector<uint8_t>> shipped(n);
  std::set<StitchChoiceList> selected;
  for (const FamilyStitchPoint &p : selection.selected) {
    selected.insert(p.variants);
    for (size_t s = 0; s < n; ++s)
      if (std::find(shipped[s].begin(), shipped[s].end(), p.variants[s]) ==
          shipped[s].end())
        shipped[s].push_back(p.variants[s]);
  }
  size_t combinations = 1;
  for (const auto &members : shipped)
    combinations *= std::max<size_t>(members.size(), 1);
  if (combinations > 4096 || !family.state.accuracy)
    return; // too many to list; the fronts already hold the best of them
  const AccuracyModel model = accuracyModelOf(*family.state.accuracy);
  std::map<StitchChoiceList, double> measured;
  for (const MeasuredStitch &m : family.state.accuracy->calibration)
    measured[m.choice] = m.accuracy;

  std::vector<FamilyStitchPoint> pool = selection.selected;
  std::vector<bool> isFree(pool.size(), false);
  StitchChoiceList choice(n);
  for (size_t index = 0; index < combinations; ++index) {
    size_t rest = index;
    bool allowed = true;
    for (size_t s = 0; s < n; ++s) {
      choice[s] = shipped[s][rest % shipped[s].size()];
      rest /= shipped[s].size();
      if (s > 0 && s - 1 < family.state.compatibility.size())
        allowed &= bool(family.state.compatibility[s - 1]
                            .stitchable[choice[s - 1]][choice[s]]);
    }
    if (!allowed || selected.count(choice))
      continue;
    FamilyStitchPoint point;
    point.variants = choice;
    point.estimatedAccuracy = model.predict(choice);
    if (auto it = measured.find(choice); it != measured.end())
      point.measuredAccuracy = it->second;
    point.latencyMs = kInfeasible;
    for (size_t p = 0; p < procs; ++p) {
      double total = 0;
      for (size_t s = 0; s < n; ++s)
        total += fronts.segmentLatencyMs[s][choice[s]][p];
      if (total < point.latencyMs) {
        point.latencyMs = total;
        point.processors.assign(n, uint8_t(p));
      }
    }
    if (!std::isfinite(point.latencyMs))
      continue;
    for (size_t s = 0; s < n; ++s)
      point.memoryBytes += fronts.segmentBytes[s][choice[s]];
    point.original = std::all_of(choice.begin(), choice.end(),
                                 [&](uint8_t v) { return v == choice[0]; });
    pool.push_back(std::move(point));
    isFree.push_back(true);
  }
  // Free points no other point (shipped or free) dominates in accuracy and
  // latency, most accurate first.
  std::vector<size_t> order;
  for (size_t i = 0; i < pool.size(); ++i)
    if (isFree[i])
      order.push_back(i);
  std::vector<FamilyStitchPoint> added;
  for (size_t i : order) {
    bool dominated = false;
    for (size_t j = 0; j < pool.size() && !dominated; ++j)
      dominated = j != i && pool[j].accuracy() >= pool[i].accuracy() &&
                  pool[j].latencyMs <= pool[i].latencyMs &&
                  (pool[j].accuracy() > pool[i].accuracy() ||
                   pool[j].latencyMs < pool[i].latencyMs || j < i);
    if (!dominated)
      added.push_back(pool[i]);
  }
  std::stable_sort(added.begin(), added.end(),
                   [](const FamilyStitchPoint &a, const FamilyStitchPoint &b) {
                     return a.accuracy() > b.accuracy();
                   });
  for (FamilyStitchPoint &point : added) {
    if (maxPerTask && selection.selected.size() >= maxPerTask)
      break;
    selection.selected.push_back(std::move(point));
    ++selection.freeStitches;
  }
}

} // namespace

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
    // A subgraph is its program's content: identical programs (in two
    // variants, or two tasks) are stored once, so they count once.
    auto idOf = [&](unsigned s, unsigned m) -> uint64_t {
      return fronts.segmentProgramHash[s][m];
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
    addFreeStitches(*families[t], selection, options.maxPerTask);
    families[t]->state.selection = std::move(selection);
  }
  return llvm::Error::success();
}

} // namespace sparseloom
