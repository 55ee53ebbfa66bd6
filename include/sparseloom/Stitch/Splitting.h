//===- Splitting.h - Cutting variants into segments, stitching --*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// split's logic, and its inverse. The chosen boundaries cut the reference
// topological order into n ranges; segment s of every member is the range's
// nodes (through the alignment) as a standalone module:
//  - inputs: the values it reads that earlier segments produce (the tensors
//    live across its boundary, in the boundary's order) and the graph inputs
//    it reads (in graph order);
//  - outputs: the values it produces that later segments read (in the next
//    boundary's order), then the graph outputs it produces: a graph output
//    produced before a cut is an output of its segment and does not cross
//    the boundary;
//  - weights: only those its nodes read.
// A value read two or more segments after it is produced is an output of its
// producer's segment and an input of each reader's; the segments between do
// not pass it through (the executor keeps it).
//
// composeStitched puts segments back together, each from a chosen member:
// with one member for every segment it rebuilds that member (same structure
// and weights), which is the invariant the tests check.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_STITCH_SPLITTING_H
#define SPARSELOOM_STITCH_SPLITTING_H

#include "sparseloom/IR/Family.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sparseloom {

/// The node ranges [begin, end) of the reference order, one per segment:
/// the chosen boundaries cut it (no boundary: one segment of every node).
/// Fails when the boundaries are not strictly increasing inside the order.
llvm::Expected<std::vector<std::pair<size_t, size_t>>>
segmentRanges(const Family &family);

/// The name of member m's segment s: "<task>.<variant>.seg<s>" (also its
/// file stem under --emit=onnx).
std::string segmentName(const Family &family, unsigned member, unsigned seg);

/// Fills family.state.segments. Fails when align-family or
/// detect-boundaries has not run, or a segment would produce nothing.
llvm::Error splitFamily(Family &family);

/// The model that runs segment s of member memberPerSegment[s] for every s.
/// Requires split; refuses a combination the compatibility matrix forbids
/// (check-compat must have run when the combination mixes members), naming
/// the boundary, the members and the reason.
llvm::Expected<std::unique_ptr<Module>>
composeStitched(const Family &family,
                llvm::ArrayRef<unsigned> memberPerSegment);

} // namespace sparseloom

#endif // SPARSELOOM_STITCH_SPLITTING_H
