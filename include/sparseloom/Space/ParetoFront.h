//===- ParetoFront.h - Pareto fronts of a stitch space ----------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The Pareto front over (accuracy score ↑, latency ↓, memory ↓) of a stitch
// space, computed by dynamic programming over segments: after segment s the
// DP keeps, per processor that ran segment s (and, with pair scores, per
// variant of segment s), only the partial stitches no other partial stitch
// dominates. All three objectives are sums over segments (plus pair scores
// and transfer costs across boundaries), so a partial stitch dominated at
// segment s stays dominated whatever follows: the DP front equals the
// brute-force front, which is also provided, for tests on small spaces.
//
// A resolution r bounds the front's size on very large spaces: each of the
// n segments prunes in cells of r/n per objective and the final front in
// cells of r (values in one cell count as equal). A replaced point loses
// less than a cell each time, so every exact front point has a returned
// point at least as good up to less than 2r per objective. It is given
// absolutely, or relative to each objective's span (the largest possible
// total minus the smallest), which suits tasks whose latencies range from
// microseconds to seconds. The default 0 is exact.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_SPACE_PARETOFRONT_H
#define SPARSELOOM_SPACE_PARETOFRONT_H

#include "sparseloom/Space/StitchSpace.h"

#include <cstddef>
#include <optional>
#include <vector>

namespace sparseloom {

struct FrontResolution {
  double score = 0;
  double latencyMs = 0;
  double memoryBytes = 0;
};

struct FrontOptions {
  /// Run every segment on this processor; when unset, placements follow
  /// StitchSpace::allowSplitPlacement (per segment, or one per variant).
  std::optional<unsigned> processor;
  FrontResolution resolution;
  /// Per objective, at least this fraction of the objective's span (e.g.
  /// 0.001: a thousandth of the accuracy, latency and memory ranges).
  double relativeResolution = 0;
};

/// The absolute resolution `options` asks for on `space`.
FrontResolution effectiveResolution(const StitchSpace &space,
                                    const FrontOptions &options);

struct FrontStats {
  /// The largest number of partial stitches kept after any segment.
  size_t peakPartialPoints = 0;
  /// Partial stitches generated in total (before pruning).
  size_t candidatesGenerated = 0;
  /// The most back-pointer nodes held at once (one per partial stitch that
  /// survived a segment, until no live partial descends from it).
  size_t peakChoiceNodes = 0;
  /// The most bytes the DP's own buffers held at once (fronts, back
  /// pointers, merge buffers; capacities, not sizes).
  size_t peakBytes = 0;
};

/// The Pareto front by dynamic programming, sorted by score descending then
/// latency, memory ascending. The space must pass validateStitchSpace.
std::vector<StitchPoint> paretoFrontDP(const StitchSpace &space,
                                       const FrontOptions &options = {},
                                       FrontStats *stats = nullptr);

/// The same front by listing every combination (k^n, times placements):
/// only for tests and small spaces.
std::vector<StitchPoint>
paretoFrontBruteForce(const StitchSpace &space,
                      const FrontOptions &options = {});

/// Keeps the non-dominated points of `points` (exact dominance), sorted as
/// above; duplicates in all three objectives keep the first.
std::vector<StitchPoint> paretoFilter(std::vector<StitchPoint> points);

} // namespace sparseloom

#endif // SPARSELOOM_SPACE_PARETOFRONT_H
