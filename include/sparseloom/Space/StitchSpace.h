//===- StitchSpace.h - The k^n stitched variants of one task ----*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// A family of k variants cut into n segments offers k^n stitched variants,
// and each can place its segments on different processors. This header
// describes that space by its per-segment ingredients only (k*n subgraphs,
// each with an accuracy contribution, a size, and a latency per processor),
// which is all the Pareto enumeration needs: it never lists the k^n
// combinations.
//
// Accuracy is carried as an additive *score*: the accuracy estimator
// (AccuracyModel.h) predicts accuracy = link(sum of per-segment scores plus
// a pair term per boundary that depends on the variants on both sides) with
// a monotone increasing link, so comparing score sums orders stitched
// variants exactly as comparing predicted accuracies does. This is what
// makes dynamic programming over segments exact (the pair terms only make
// the DP remember the last segment's variant).
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_SPACE_STITCHSPACE_H
#define SPARSELOOM_SPACE_STITCHSPACE_H

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace sparseloom {

/// One stored subgraph: variant v's segment s.
struct SegmentOption {
  /// Additive accuracy score (higher is more accurate).
  double score = 0;
  /// Bytes of the subgraph (weights and program).
  double memoryBytes = 0;
  /// Latency per processor in milliseconds; +infinity where the processor
  /// cannot run this subgraph (an unsupported op, too little memory).
  std::vector<double> latencyMs;
};

constexpr double kInfeasible = std::numeric_limits<double>::infinity();

struct StitchSpace {
  unsigned numVariants = 0; // k
  unsigned numSegments = 0; // n
  unsigned numProcessors = 0;
  /// options[s][v].
  std::vector<std::vector<SegmentOption>> options;
  /// Whether one stitched variant may run its segments on different
  /// processors; when false every segment of a variant runs on one.
  bool allowSplitPlacement = false;
  /// transferMs[b][p][q]: cost of moving the tensors of boundary b (between
  /// segment b and b+1) from processor p to q; zero on the diagonal. Empty
  /// means free transfers.
  std::vector<std::vector<std::vector<double>>> transferMs;
  /// pairScore[b][v][w]: score added when segment b comes from variant v
  /// and segment b+1 from w (how well the pieces fit across boundary b).
  /// Empty means none.
  std::vector<std::vector<std::vector<double>>> pairScore;

  double transfer(unsigned boundary, unsigned from, unsigned to) const {
    if (from == to || transferMs.empty())
      return 0;
    return transferMs[boundary][from][to];
  }
  double pair(unsigned boundary, unsigned before, unsigned after) const {
    return pairScore.empty() ? 0 : pairScore[boundary][before][after];
  }
};

/// One stitched variant with a placement: its objectives and its choice.
struct StitchPoint {
  double score = 0;
  double latencyMs = 0;
  double memoryBytes = 0;
  std::vector<uint8_t> variantPerSegment;
  std::vector<uint8_t> processorPerSegment;
};

/// a dominates b: at least as good in all three objectives (score higher,
/// latency and memory lower) and strictly better in one.
bool dominates(const StitchPoint &a, const StitchPoint &b);

/// Checks the space is well-formed (sizes agree, k <= 255, no NaN); returns
/// an empty string when it is, else what is wrong.
std::string validateStitchSpace(const StitchSpace &space);

} // namespace sparseloom

#endif // SPARSELOOM_SPACE_STITCHSPACE_H
