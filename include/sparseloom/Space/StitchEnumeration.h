//===- StitchEnumeration.h - Fronts of a profiled family --------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// What enumerate-stitches does once a family is split and its accuracy
// profiled: build the stitch space (per-segment scores and pair scores from
// the estimator, bytes and latency per processor per subgraph, transfer
// costs at boundaries), compute the Pareto front per processor and, where
// the platform allows it, across processors, and record the fronts in
// family.state.fronts. Never lists the k^n combinations.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_SPACE_STITCHENUMERATION_H
#define SPARSELOOM_SPACE_STITCHENUMERATION_H

#include "sparseloom/IR/Family.h"
#include "sparseloom/Space/AccuracyModel.h"
#include "sparseloom/Space/LatencyModel.h"
#include "sparseloom/Space/Platform.h"
#include "sparseloom/Space/StitchSpace.h"

#include "llvm/Support/Error.h"

namespace sparseloom {

/// Per-subgraph costs the caller measured or derived: [segment][member].
struct SegmentCosts {
  /// Bytes of the subgraph as it ships (its program).
  std::vector<std::vector<double>> bytes;
  /// A content hash of that program: equal subgraphs (across variants, or
  /// tasks) have equal hashes, so selection can count them once.
  std::vector<std::vector<uint64_t>> programHash;
  /// Its work, for the latency source.
  std::vector<std::vector<SegmentWork>> work;
  /// Bytes of the activations crossing boundary b (per sample).
  std::vector<double> boundaryBytes;
};

struct EnumerationOptions {
  /// Front resolution relative to each objective's span (0: exact).
  double relativeResolution = 0;
  std::string platformFile; // for reports
};

/// The stitch space of a profiled family (scores from
/// family.state.accuracy, costs from `costs`).
llvm::Expected<StitchSpace> buildStitchSpace(const Family &family,
                                             const Platform &platform,
                                             const LatencySource &latency,
                                             const SegmentCosts &costs);

/// Fills family.state.fronts: one front per processor, one "split" front
/// when the platform allows split placement, and one "any" front over all
/// of them.
llvm::Error enumerateFamilyStitches(Family &family, const Platform &platform,
                                    const LatencySource &latency,
                                    const SegmentCosts &costs,
                                    const EnumerationOptions &options);

/// The estimator recorded by profile-accuracy (its naive model is not
/// recorded).
AccuracyModel accuracyModelOf(const FamilyAccuracyProfile &profile);

} // namespace sparseloom

#endif // SPARSELOOM_SPACE_STITCHENUMERATION_H
