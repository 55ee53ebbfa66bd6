//===- Family.h - The variants of one task, aligned -------------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// A family is the set of sparse variants of one base model (one task). Family
// passes (align-family, detect-boundaries, check-compat, split) need all the
// variants at once, so the pass manager runs over a Family; a single model is
// a family of one, which keeps every module pass usable unchanged.
//
// Per-variant results live in each member's Module/Node annotations (so the
// IR printer and FileCheck see them). Results that relate variants to each
// other (node correspondence, boundaries chosen for the whole family, the
// compatibility matrix, the split segments) live in the FamilyState below,
// owned by the family and filled by the passes in pipeline order.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_IR_FAMILY_H
#define SPARSELOOM_IR_FAMILY_H

#include "sparseloom/IR/Module.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sparseloom {

/// One variant of a family: its name (e.g. "dense", "s90"), where it came
/// from (for error messages), and its IR.
struct FamilyMember {
  std::string variant;
  std::string file;
  std::unique_ptr<Module> module;
};

/// A cut point of the family: a position in the reference topological order
/// (nodes [0, position) run before the cut) and the activation tensors live
/// across it, named in the reference variant.
struct FamilyBoundary {
  size_t position = 0;
  std::vector<std::string> liveTensors;
};

/// Written by align-family: for every member, node i of the reference
/// (member 0) order corresponds to nodeOrder[member][i]. Differences that do
/// not break the correspondence (shapes changed by channel pruning) are
/// listed so check-compat can decide where pieces still fit.
struct FamilyAlignment {
  /// Reference topological order, as node names per member.
  std::vector<std::vector<std::string>> nodeOrder;
  /// Human-readable differences per member ("node X: output shape ...").
  std::vector<std::vector<std::string>> differences;
};

/// Written by check-compat: per chosen boundary, stitchable[a][b] says
/// whether the part before the boundary from member a may feed the part
/// after it from member b; reasons[a][b] explains every "no".
struct BoundaryCompatibility {
  std::vector<std::vector<bool>> stitchable;
  std::vector<std::vector<std::string>> reasons;
};

/// Written by split: member m's segment s as a standalone module.
struct FamilySegments {
  std::vector<std::vector<std::unique_ptr<Module>>> perMember;
};

/// A stitched variant: the member each segment comes from.
using StitchChoiceList = std::vector<uint8_t>;

/// One stitched variant measured on a data split.
struct MeasuredStitch {
  StitchChoiceList choice;
  double accuracy = 0; // 0..1
  int64_t samples = 0;
};

/// How well predictions matched held-out measurements.
struct EstimatorCheck {
  size_t points = 0;
  double meanAbsErrorPoints = 0;
  double maxAbsErrorPoints = 0;
  double rankCorrelation = 0;
};

/// Written by profile-accuracy: what was measured, the fitted estimator
/// (AccuracyModel.h: chain model around the reference) and its validation.
struct FamilyAccuracyProfile {
  /// "top-1" (the data has labels) or "agreement" (top-1 agreement with
  /// the reference variant).
  std::string metric;
  std::string calibrationFile;
  int64_t calibrationSamples = 0;
  std::string testFile; // empty: no validation split
  int64_t testSamples = 0;
  unsigned classes = 0;
  /// Measured on the calibration split: the fitting points, or every
  /// stitch with exhaustive.
  std::vector<MeasuredStitch> calibration;
  /// Measured on the test split: the held-out validation sample (never a
  /// fitting point), or every stitch with exhaustive.
  std::vector<MeasuredStitch> test;
  bool exhaustive = false;
  /// The estimator's parameters: accuracy = chance + (1 - chance) *
  /// sigmoid(referenceLogit + sum_s unary[s][c_s] + sum_b pair[b][c_b][c_b+1]).
  double chance = 0;
  double referenceLogit = 0;
  std::vector<std::vector<double>> unary;
  std::vector<std::vector<std::vector<double>>> pair;
  /// Estimator and naive additive model against the test sample.
  std::optional<EstimatorCheck> estimator, naive;
  size_t fittingPoints = 0;
};

/// One stitched variant with a placement and its objectives.
struct FamilyStitchPoint {
  StitchChoiceList variants;   // member per segment
  StitchChoiceList processors; // processor index per segment
  double estimatedAccuracy = 0;
  /// Exact accuracy on the calibration split, when it was measured.
  std::optional<double> measuredAccuracy;
  double latencyMs = 0;
  double memoryBytes = 0;
  bool original = false; // all segments from one member

  /// What fronts and selection go by: measured where known.
  double accuracy() const {
    return measuredAccuracy ? *measuredAccuracy : estimatedAccuracy;
  }
};

/// Written by enumerate-stitches: the Pareto front per placement.
struct FamilyFront {
  /// A processor id, or "split" for fronts whose segments may run on
  /// different processors.
  std::string placement;
  std::vector<FamilyStitchPoint> points;
};

struct FamilyStitchFronts {
  std::string platformFile;
  std::string platformName;
  std::string latencySource;
  std::vector<std::string> processors;
  /// Bytes of member m's segment s as stored: [s][m].
  std::vector<std::vector<double>> segmentBytes;
  /// Content hash of member m's segment program: [s][m].
  std::vector<std::vector<uint64_t>> segmentProgramHash;
  /// Latency of member m's segment s on processor p (ms): [s][m][p].
  std::vector<std::vector<std::vector<double>>> segmentLatencyMs;
  std::vector<FamilyFront> fronts;
  /// The originals, evaluated the same way (on their best processor).
  std::vector<FamilyStitchPoint> originals;
  double enumerationSeconds = 0;
};

/// Written by select-variants: what this task ships.
struct FamilySelection {
  double budgetBytes = 0;
  /// Bytes of the distinct subgraphs the selected variants use.
  double memoryBytes = 0;
  /// Fraction of the task's reachable SLO grid the selection meets.
  double coverage = 0;
  unsigned gridSize = 0;
  /// The variants shipped: those selection picked, then (the last
  /// `freeStitches` of them) stitches made only of already shipped
  /// subgraphs that no picked variant beats in accuracy and latency.
  std::vector<FamilyStitchPoint> selected;
  size_t freeStitches = 0;
};

/// Results shared across the members, filled by the family passes.
struct FamilyState {
  std::optional<FamilyAlignment> alignment;
  /// Every valid cut point (detect-boundaries), in order.
  std::vector<FamilyBoundary> candidates;
  /// The chosen cut points (a subset of candidates), in order; n segments
  /// have n-1 chosen boundaries.
  std::vector<FamilyBoundary> chosen;
  bool boundariesDetected = false;
  std::vector<BoundaryCompatibility> compatibility; // one per chosen boundary
  std::optional<FamilySegments> segments;
  std::optional<FamilyAccuracyProfile> accuracy;
  std::optional<FamilyStitchFronts> fronts;
  std::optional<FamilySelection> selection;
};

class Family {
public:
  /// The task name (e.g. "digits"); derived from file names when not given.
  std::string task;
  std::vector<FamilyMember> members;
  FamilyState state;

  /// A family of one, for running module pipelines on a single model.
  static Family ofOne(std::unique_ptr<Module> module, std::string file,
                      std::string variant = "model");
  /// The reference member whose order and costs define the boundaries.
  Module &reference() { return *members.front().module; }
  const Module &reference() const { return *members.front().module; }
  size_t size() const { return members.size(); }
};

} // namespace sparseloom

#endif // SPARSELOOM_IR_FAMILY_H
