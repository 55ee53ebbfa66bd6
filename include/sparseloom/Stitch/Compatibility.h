//===- Compatibility.h - Which variants fit together at a cut ---*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// check-compat's logic. At a chosen boundary, the part before the cut from
// member A may feed the part after it from member B when every tensor live
// across the cut has, as A produces it, the interface B's consumers were
// built for (B's own producer's interface):
//  - the same element type and shape (symbolic dimensions by name);
//  - the same layout: the `layout` annotation of the producing node, which a
//    layout pass writes; absent means ONNX's default (row-major, channels
//    first);
//  - the same quantization parameters: the `quant.scale` /
//    `quant.zero-point` annotations of the producing node, else ONNX's QDQ
//    convention (a QuantizeLinear producer's scale and zero point on A's
//    side; on B's side those of a DequantizeLinear consumer, else of B's
//    producer). Constant parameters compare by value.
// A tensor that is a graph input has no producer and only its type counts.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_STITCH_COMPATIBILITY_H
#define SPARSELOOM_STITCH_COMPATIBILITY_H

#include "sparseloom/IR/Family.h"
#include "sparseloom/Stitch/Alignment.h"

#include "llvm/Support/Error.h"

#include <string>

namespace sparseloom {

/// Empty when member `producer`'s value `refValue` (a reference name) may
/// feed member `consumer`'s readers of it; otherwise every reason it may not,
/// e.g. "'x': shape f32[1,10,14,14] from \"channel\", \"dense\" expects
/// f32[1,20,14,14]".
std::string interfaceMismatch(const Family &family, const FamilyValueMap &map,
                              unsigned producer, unsigned consumer,
                              llvm::StringRef refValue);

/// Fills family.state.compatibility: one matrix per chosen boundary over
/// every ordered member pair, with a reason for every "no". Fails when
/// align-family or detect-boundaries has not run.
llvm::Error checkCompatibility(Family &family);

} // namespace sparseloom

#endif // SPARSELOOM_STITCH_COMPATIBILITY_H
