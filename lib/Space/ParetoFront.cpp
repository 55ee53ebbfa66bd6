//===- ParetoFront.cpp - Pareto fronts by DP and by brute force -----------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Pruning a set of 3-objective points is a sweep: sorted by score (best
// first), a point is dominated exactly when some earlier point has latency
// and memory no worse. A prefix-minimum tree over latency ranks answers
// "least memory among earlier points with latency <= mine" in O(log N), so
// the whole prune is O(N log N) with small constants.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Space/ParetoFront.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <tuple>

namespace sparseloom {

bool dominates(const StitchPoint &a, const StitchPoint &b) {
  bool noWorse = a.score >= b.score && a.latencyMs <= b.latencyMs &&
                 a.memoryBytes <= b.memoryBytes;
  bool better = a.score > b.score || a.latencyMs < b.latencyMs ||
                a.memoryBytes < b.memoryBytes;
  return noWorse && better;
}

std::string validateStitchSpace(const StitchSpace &space) {
  if (space.numVariants == 0 || space.numSegments == 0)
    return "the stitch space is empty (no variants or no segments)";
  if (space.numVariants > 255)
    return "at most 255 variants per task are supported";
  if (space.numProcessors == 0 || space.numProcessors > 255)
    return "the number of processors must be between 1 and 255";
  if (space.options.size() != space.numSegments)
    return "options must have one row per segment";
  for (const auto &row : space.options) {
    if (row.size() != space.numVariants)
      return "options must have one entry per variant in every segment";
    for (const SegmentOption &option : row) {
      if (option.latencyMs.size() != space.numProcessors)
        return "every segment option needs one latency per processor";
      if (std::isnan(option.score) || std::isnan(option.memoryBytes) ||
          !std::isfinite(option.score) || !std::isfinite(option.memoryBytes))
        return "accuracy scores and memory sizes must be finite numbers";
      for (double latency : option.latencyMs)
        if (std::isnan(latency) || latency < 0)
          return "latencies must be non-negative (infinity = cannot run)";
    }
  }
  if (!space.transferMs.empty()) {
    if (space.transferMs.size() + 1 != space.numSegments)
      return "transferMs must have one matrix per boundary (segments - 1)";
    for (const auto &matrix : space.transferMs) {
      if (matrix.size() != space.numProcessors)
        return "every transfer matrix must be processors x processors";
      for (const auto &row : matrix)
        if (row.size() != space.numProcessors)
          return "every transfer matrix must be processors x processors";
    }
  }
  if (!space.pairScore.empty()) {
    if (space.pairScore.size() + 1 != space.numSegments)
      return "pairScore must have one matrix per boundary (segments - 1)";
    for (const auto &matrix : space.pairScore) {
      if (matrix.size() != space.numVariants)
        return "every pair-score matrix must be variants x variants";
      for (const auto &row : matrix) {
        if (row.size() != space.numVariants)
          return "every pair-score matrix must be variants x variants";
        for (double score : row)
          if (!std::isfinite(score))
            return "pair scores must be finite numbers";
      }
    }
  }
  return "";
}

namespace {

/// A partial stitch during the DP: objectives so far, its last choice, and
/// the back-pointer node of the choices before it (-1 at segment 0). Nodes
/// are created only for partials that survive pruning, so memory grows with
/// the fronts, not with everything generated.
struct Partial {
  double score;
  double latencyMs;
  double memoryBytes;
  int32_t previous;
  uint8_t variant;
  uint8_t processor;
};

/// Back-pointers: the choice made at one segment and the node before it.
struct ChoiceNode {
  int32_t previous; // -1 at segment 0
  uint8_t variant;
  uint8_t processor;
};

double quantize(double value, double step) {
  return step > 0 ? std::floor(value / step) : value;
}

/// Prefix minimum over ranks 0..i, for "the least memory among points with
/// latency no worse than mine".
class PrefixMin {
public:
  explicit PrefixMin(size_t size) : tree_(size + 1, kInfeasible) {}
  double query(size_t rank) const {
    double best = kInfeasible;
    for (size_t i = rank + 1; i > 0; i -= i & (~i + 1))
      best = std::min(best, tree_[i]);
    return best;
  }
  void update(size_t rank, double value) {
    for (size_t i = rank + 1; i < tree_.size(); i += i & (~i + 1))
      tree_[i] = std::min(tree_[i], value);
  }

private:
  std::vector<double> tree_;
};

/// Keeps the points no other point dominates (after quantizing each
/// objective with `resolution`). Order of the result: score descending,
/// then latency, memory ascending.
template <typename T, typename Key>
std::vector<T> pruneDominated(std::vector<T> points,
                              const FrontResolution &resolution, Key key) {
  struct Keyed {
    double score, latency, memory;
    uint32_t latencyRank;
    uint32_t index;
  };
  std::vector<Keyed> keyed;
  keyed.reserve(points.size());
  std::vector<double> latencies;
  latencies.reserve(points.size());
  for (size_t i = 0; i < points.size(); ++i) {
    auto [score, latency, memory] = key(points[i]);
    keyed.push_back({quantize(score, resolution.score),
                     quantize(latency, resolution.latencyMs),
                     quantize(memory, resolution.memoryBytes), 0, uint32_t(i)});
    latencies.push_back(keyed.back().latency);
  }
  std::sort(latencies.begin(), latencies.end());
  latencies.erase(std::unique(latencies.begin(), latencies.end()),
                  latencies.end());
  for (Keyed &p : keyed)
    p.latencyRank = uint32_t(
        std::lower_bound(latencies.begin(), latencies.end(), p.latency) -
        latencies.begin());
  // Ties are broken by the original index so the result is deterministic.
  std::sort(keyed.begin(), keyed.end(), [](const Keyed &a, const Keyed &b) {
    return std::tie(b.score, a.latency, a.memory, a.index) <
           std::tie(a.score, b.latency, b.memory, b.index);
  });
  PrefixMin leastMemory(latencies.size());
  std::vector<T> kept;
  for (const Keyed &p : keyed) {
    // Every earlier point scores at least as well; one with latency and
    // memory no worse dominates p (or duplicates it).
    if (leastMemory.query(p.latencyRank) <= p.memory)
      continue;
    leastMemory.update(p.latencyRank, p.memory);
    kept.push_back(std::move(points[p.index]));
  }
  return kept;
}

bool processorAllowed(const FrontOptions &options, unsigned p) {
  return !options.processor || *options.processor == p;
}

} // namespace

std::vector<StitchPoint> paretoFilter(std::vector<StitchPoint> points) {
  return pruneDominated(
      std::move(points), FrontResolution{}, [](const StitchPoint &p) {
        return std::make_tuple(p.score, p.latencyMs, p.memoryBytes);
      });
}

FrontResolution effectiveResolution(const StitchSpace &space,
                                    const FrontOptions &options) {
  FrontResolution result = options.resolution;
  if (options.relativeResolution <= 0)
    return result;
  // Spans are sums over segments of (largest - smallest) choice, an upper
  // bound on the range of totals; transfers are ignored (they only widen
  // the latency range slightly).
  double scoreSpan = 0, latencySpan = 0, memorySpan = 0;
  for (const auto &row : space.options) {
    double sMin = kInfeasible, sMax = -kInfeasible, lMin = kInfeasible,
           lMax = 0, mMin = kInfeasible, mMax = 0;
    for (const SegmentOption &option : row) {
      sMin = std::min(sMin, option.score);
      sMax = std::max(sMax, option.score);
      mMin = std::min(mMin, option.memoryBytes);
      mMax = std::max(mMax, option.memoryBytes);
      for (unsigned p = 0; p < space.numProcessors; ++p)
        if (std::isfinite(option.latencyMs[p]) &&
            processorAllowed(options, p)) {
          lMin = std::min(lMin, option.latencyMs[p]);
          lMax = std::max(lMax, option.latencyMs[p]);
        }
    }
    scoreSpan += sMax - sMin;
    memorySpan += mMax - mMin;
    if (std::isfinite(lMin))
      latencySpan += lMax - lMin;
  }
  double rel = options.relativeResolution;
  result.score = std::max(result.score, rel * scoreSpan);
  result.latencyMs = std::max(result.latencyMs, rel * latencySpan);
  result.memoryBytes = std::max(result.memoryBytes, rel * memorySpan);
  return result;
}

std::vector<StitchPoint> paretoFrontDP(const StitchSpace &space,
                                       const FrontOptions &options,
                                       FrontStats *stats) {
  assert(validateStitchSpace(space).empty() && "invalid stitch space");
  const unsigned n = space.numSegments, k = space.numVariants,
                 numProcs = space.numProcessors;
  const FrontResolution resolution = effectiveResolution(space, options);
  FrontResolution stageResolution = resolution;
  stageResolution.score /= n;
  stageResolution.latencyMs /= n;
  stageResolution.memoryBytes /= n;
  auto partialKey = [](const Partial &p) {
    return std::make_tuple(p.score, p.latencyMs, p.memoryBytes);
  };

  // A partial's future depends on the processor that ran its last segment
  // (transfers) and, with pair scores, on that segment's variant: partials
  // are only compared within one such state.
  const bool byVariant = !space.pairScore.empty();
  const unsigned numStates = byVariant ? numProcs * k : numProcs;
  auto stateOf = [&](unsigned processor, unsigned variant) {
    return byVariant ? processor * k + variant : processor;
  };
  std::vector<ChoiceNode> nodes;
  std::vector<std::vector<Partial>> fronts(numStates), next(numStates);
  FrontStats localStats;
  for (unsigned s = 0; s < n; ++s) {
    // The partials of segment s-1 are final now: give them nodes.
    std::vector<std::vector<int32_t>> nodeOf(numStates);
    for (unsigned state = 0; state < numStates; ++state)
      for (const Partial &partial : fronts[state]) {
        nodeOf[state].push_back(int32_t(nodes.size()));
        nodes.push_back({partial.previous, partial.variant, partial.processor});
      }
    for (auto &front : next)
      front.clear();
    for (unsigned q = 0; q < numProcs; ++q) {
      if (!processorAllowed(options, q))
        continue;
      for (unsigned v = 0; v < k; ++v) {
        const SegmentOption &option = space.options[s][v];
        double latency = option.latencyMs[q];
        if (!std::isfinite(latency))
          continue;
        auto &target = next[stateOf(q, v)];
        if (s == 0) {
          target.push_back({option.score, latency, option.memoryBytes, -1,
                            uint8_t(v), uint8_t(q)});
          continue;
        }
        for (unsigned state = 0; state < numStates; ++state) {
          const auto &front = fronts[state];
          if (front.empty())
            continue;
          unsigned p = front.front().processor;
          if (p != q && !space.allowSplitPlacement)
            continue;
          double transfer = space.transfer(s - 1, p, q);
          for (size_t i = 0; i < front.size(); ++i) {
            const Partial &prev = front[i];
            target.push_back(
                {prev.score + space.pair(s - 1, prev.variant, v) + option.score,
                 prev.latencyMs + transfer + latency,
                 prev.memoryBytes + option.memoryBytes, nodeOf[state][i],
                 uint8_t(v), uint8_t(q)});
          }
        }
      }
    }
    for (auto &front : next) {
      localStats.candidatesGenerated += front.size();
      front = pruneDominated(std::move(front), stageResolution, partialKey);
    }
    std::swap(fronts, next);
    size_t kept = 0;
    for (const auto &front : fronts)
      kept += front.size();
    localStats.peakPartialPoints = std::max(localStats.peakPartialPoints, kept);
  }

  std::vector<Partial> finals;
  for (const auto &front : fronts)
    finals.insert(finals.end(), front.begin(), front.end());
  finals = pruneDominated(std::move(finals), resolution, partialKey);

  std::vector<StitchPoint> result;
  result.reserve(finals.size());
  for (const Partial &partial : finals) {
    StitchPoint point;
    point.score = partial.score;
    point.latencyMs = partial.latencyMs;
    point.memoryBytes = partial.memoryBytes;
    point.variantPerSegment.assign(n, 0);
    point.processorPerSegment.assign(n, 0);
    point.variantPerSegment[n - 1] = partial.variant;
    point.processorPerSegment[n - 1] = partial.processor;
    int32_t i = partial.previous;
    for (unsigned s = n - 1; s-- > 0;) {
      assert(i >= 0 && "back-pointer chain shorter than the segments");
      point.variantPerSegment[s] = nodes[i].variant;
      point.processorPerSegment[s] = nodes[i].processor;
      i = nodes[i].previous;
    }
    result.push_back(std::move(point));
  }
  if (stats)
    *stats = localStats;
  return result;
}

std::vector<StitchPoint> paretoFrontBruteForce(const StitchSpace &space,
                                               const FrontOptions &options) {
  assert(validateStitchSpace(space).empty() && "invalid stitch space");
  const unsigned n = space.numSegments, k = space.numVariants,
                 numProcs = space.numProcessors;
  std::vector<StitchPoint> all;
  std::vector<unsigned> variants(n, 0), procs(n, 0);
  // Odometer over variants, and over placements (per segment when split
  // placement is allowed, else one processor for the whole variant).
  auto advance = [](std::vector<unsigned> &digits, unsigned base) {
    for (unsigned &digit : digits) {
      if (++digit < base)
        return true;
      digit = 0;
    }
    return false;
  };
  do {
    std::fill(procs.begin(), procs.end(), 0);
    do {
      if (!space.allowSplitPlacement &&
          std::any_of(procs.begin(), procs.end(),
                      [&](unsigned p) { return p != procs[0]; }))
        continue;
      if (!std::all_of(procs.begin(), procs.end(), [&](unsigned p) {
            return processorAllowed(options, p);
          }))
        continue;
      StitchPoint point;
      bool feasible = true;
      for (unsigned s = 0; s < n && feasible; ++s) {
        const SegmentOption &option = space.options[s][variants[s]];
        double latency = option.latencyMs[procs[s]];
        feasible = std::isfinite(latency);
        point.score += option.score;
        if (s > 0) {
          point.score += space.pair(s - 1, variants[s - 1], variants[s]);
          point.latencyMs += space.transfer(s - 1, procs[s - 1], procs[s]);
        }
        point.latencyMs += latency;
        point.memoryBytes += option.memoryBytes;
        point.variantPerSegment.push_back(uint8_t(variants[s]));
        point.processorPerSegment.push_back(uint8_t(procs[s]));
      }
      if (feasible)
        all.push_back(std::move(point));
    } while (advance(procs, numProcs));
  } while (advance(variants, k));
  return paretoFilter(std::move(all));
}

} // namespace sparseloom
