//===- SegmentWorkAnalysis.h - Segment work, patterns known ----*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// describeSegment (sparseloom/Space/LatencyModel.h) reads the weights'
// sparsity-pattern annotations; a segment fresh from split has none. This
// runs sparsity-analysis on a copy first, so the segment itself is left as
// it was. Shared by enumerate-stitches (latencies) and encode-weights
// (per-processor storage).
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_PASSES_SEGMENTWORKANALYSIS_H
#define SPARSELOOM_PASSES_SEGMENTWORKANALYSIS_H

#include "sparseloom/IR/Module.h"
#include "sparseloom/Space/LatencyModel.h"

#include "llvm/Support/Error.h"

namespace sparseloom {

/// The work of `segment`, its nodes in graph order, each weight's sparsity
/// pattern analysed.
llvm::Expected<SegmentWork> analyzeSegmentWork(const Module &segment);

} // namespace sparseloom

#endif // SPARSELOOM_PASSES_SEGMENTWORKANALYSIS_H
