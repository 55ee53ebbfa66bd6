//===- Selection.cpp - Choosing the stitched variants to ship -------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Space/Selection.h"

#include "sparseloom/Support/Diagnostics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

namespace sparseloom {

namespace {

double bestLatency(const SelectionCandidate &c) {
  double best = std::numeric_limits<double>::infinity();
  for (double l : c.latencyMs)
    best = std::min(best, l);
  return best;
}

/// a is at least as good as b everywhere that matters to selection
/// (accuracy, latency on every processor, subgraphs needed) and better
/// somewhere.
bool dominatesCandidate(const SelectionCandidate &a,
                        const SelectionCandidate &b, double aBytes,
                        double bBytes) {
  if (a.accuracy < b.accuracy || aBytes > bBytes)
    return false;
  bool better = a.accuracy > b.accuracy || aBytes < bBytes;
  for (size_t p = 0; p < a.latencyMs.size(); ++p) {
    if (a.latencyMs[p] > b.latencyMs[p])
      return false;
    better |= a.latencyMs[p] < b.latencyMs[p];
  }
  return better;
}

std::string megabytes(double bytes) {
  char text[32];
  snprintf(text, sizeof(text), "%.3f MB", bytes / 1e6);
  return text;
}

} // namespace

SloGrid makeSloGrid(const std::vector<const SelectionCandidate *> &candidates,
                    unsigned gridSize) {
  SloGrid grid;
  double minL = std::numeric_limits<double>::infinity(), maxL = 0;
  double minA = 1, maxA = 0;
  for (const SelectionCandidate *c : candidates) {
    double l = bestLatency(*c);
    if (!std::isfinite(l))
      continue;
    minL = std::min(minL, l);
    maxL = std::max(maxL, l);
    minA = std::min(minA, c->accuracy);
    maxA = std::max(maxA, c->accuracy);
  }
  if (!std::isfinite(minL) || gridSize == 0)
    return grid;
  // Evenly spaced, ends included: the slowest deadline is met by every
  // variant, the highest floor only by the most accurate one.
  for (unsigned i = 0; i < gridSize; ++i) {
    double t = gridSize == 1 ? 1.0 : double(i) / double(gridSize - 1);
    grid.deadlinesMs.push_back(minL + t * (maxL - minL));
    grid.accuracyFloors.push_back(minA + t * (maxA - minA));
  }
  return grid;
}

llvm::Expected<SelectionResult>
selectVariants(const SelectionProblem &problem) {
  const size_t numTasks = problem.taskNames.size();
  auto bytesOf = [&](const SelectionCandidate &c,
                     const std::set<uint64_t> &shipped) {
    double bytes = 0;
    for (uint64_t id : c.subgraphs)
      if (!shipped.count(id)) {
        auto it = problem.subgraphBytes.find(id);
        bytes += it == problem.subgraphBytes.end() ? 0 : it->second;
      }
    return bytes;
  };
  for (const SelectionCandidate &c : problem.candidates) {
    if (c.task >= numTasks)
      return makeError("selection: a candidate names task " +
                       std::to_string(c.task) + " of only " +
                       std::to_string(numTasks));
    for (uint64_t id : c.subgraphs)
      if (!problem.subgraphBytes.count(id))
        return makeError("selection: subgraph " + std::to_string(id) +
                         " has no size");
  }

  // Per task: the candidates no other candidate of the task dominates, and
  // each one's SLO coverage.
  const std::set<uint64_t> none;
  std::vector<std::vector<size_t>> perTask(numTasks);
  for (size_t i = 0; i < problem.candidates.size(); ++i)
    if (std::isfinite(bestLatency(problem.candidates[i])))
      perTask[problem.candidates[i].task].push_back(i);
  std::vector<std::vector<bool>> covers(problem.candidates.size());
  const unsigned g = problem.gridSize;
  for (size_t t = 0; t < numTasks; ++t) {
    if (perTask[t].empty())
      return makeError("selection: task '" + problem.taskNames[t] +
                       "' has no stitched variant that can run on any "
                       "processor");
    std::vector<size_t> kept;
    for (size_t i : perTask[t]) {
      const SelectionCandidate &c = problem.candidates[i];
      bool dominated = false;
      for (size_t j : perTask[t])
        if (j != i && dominatesCandidate(problem.candidates[j], c,
                                         bytesOf(problem.candidates[j], none),
                                         bytesOf(c, none)))
          dominated = true;
      if (!dominated)
        kept.push_back(i);
    }
    perTask[t] = kept;
    std::vector<const SelectionCandidate *> views;
    for (size_t i : kept)
      views.push_back(&problem.candidates[i]);
    SloGrid grid = makeSloGrid(views, g);
    for (size_t i : kept) {
      const SelectionCandidate &c = problem.candidates[i];
      double latency = bestLatency(c);
      covers[i].assign(size_t(g) * g, false);
      for (unsigned d = 0; d < g; ++d)
        for (unsigned a = 0; a < g; ++a)
          covers[i][d * g + a] = latency <= grid.deadlinesMs[d] + 1e-12 &&
                                 c.accuracy >= grid.accuracyFloors[a] - 1e-12;
    }
  }

  SelectionResult result;
  result.coverage.assign(numTasks, 0);
  std::set<uint64_t> shipped;
  std::vector<std::vector<bool>> covered(numTasks,
                                         std::vector<bool>(size_t(g) * g));
  std::vector<unsigned> shippedPerTask(numTasks, 0);
  std::vector<bool> taken(problem.candidates.size(), false);
  auto take = [&](size_t i) {
    const SelectionCandidate &c = problem.candidates[i];
    result.memoryBytes += bytesOf(c, shipped);
    shipped.insert(c.subgraphs.begin(), c.subgraphs.end());
    for (size_t p = 0; p < covers[i].size(); ++p)
      if (covers[i][p])
        covered[c.task][p] = true;
    taken[i] = true;
    ++shippedPerTask[c.task];
    result.selected.push_back(i);
  };

  // Every task first gets its cheapest variant (ties: most accurate).
  for (size_t t = 0; t < numTasks; ++t) {
    size_t best = perTask[t].front();
    for (size_t i : perTask[t]) {
      double bi = bytesOf(problem.candidates[i], shipped),
             bb = bytesOf(problem.candidates[best], shipped);
      if (bi < bb || (bi == bb && problem.candidates[i].accuracy >
                                      problem.candidates[best].accuracy))
        best = i;
    }
    double need = bytesOf(problem.candidates[best], shipped);
    if (result.memoryBytes + need > problem.memoryBudgetBytes)
      return makeError(
          "the memory budget (" + megabytes(problem.memoryBudgetBytes) +
          ") cannot hold one variant of every task: the smallest variant of "
          "task '" +
          problem.taskNames[t] + "' needs " + megabytes(need) + " more, " +
          megabytes(result.memoryBytes) +
          " are used by earlier tasks; raise the budget or drop a task");
    take(best);
  }

  // Greedy: most newly covered SLOs per added byte; free variants first.
  for (;;) {
    size_t best = SIZE_MAX;
    double bestRatio = 0, bestGain = 0;
    for (size_t t = 0; t < numTasks; ++t) {
      if (problem.maxPerTask && shippedPerTask[t] >= problem.maxPerTask)
        continue;
      for (size_t i : perTask[t]) {
        if (taken[i])
          continue;
        double gain = 0;
        for (size_t p = 0; p < covers[i].size(); ++p)
          gain += covers[i][p] && !covered[t][p];
        if (gain == 0)
          continue;
        double bytes = bytesOf(problem.candidates[i], shipped);
        if (result.memoryBytes + bytes > problem.memoryBudgetBytes)
          continue;
        double ratio = gain / std::max(bytes, 1.0);
        bool better =
            best == SIZE_MAX || ratio > bestRatio ||
            (ratio == bestRatio &&
             (gain > bestGain ||
              (gain == bestGain && problem.candidates[i].accuracy >
                                       problem.candidates[best].accuracy)));
        if (better) {
          best = i;
          bestRatio = ratio;
          bestGain = gain;
        }
      }
    }
    if (best == SIZE_MAX)
      break;
    take(best);
  }
  // Coverage counts the SLOs some candidate of the task can meet at all
  // (a deadline below the fastest variant's latency with a floor above the
  // most accurate one's accuracy is unreachable by any selection).
  for (size_t t = 0; t < numTasks; ++t) {
    double count = 0, reachable = 0;
    for (size_t p = 0; p < covered[t].size(); ++p) {
      bool any = false;
      for (size_t i : perTask[t])
        any |= bool(covers[i][p]);
      reachable += any;
      count += covered[t][p];
    }
    result.coverage[t] = reachable > 0 ? count / reachable : 0;
  }
  return result;
}

} // namespace sparseloom
