//===- StitchReportInternal.h - Parts of the family report ------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_LIB_STITCH_STITCHREPORTINTERNAL_H
#define SPARSELOOM_LIB_STITCH_STITCHREPORTINTERNAL_H

#include "sparseloom/IR/Family.h"

#include <nlohmann/json.hpp>

#include <cmath>

namespace sparseloom {

/// Accuracy profile, fronts and selection of a family (an empty object when
/// none of those passes ran).
nlohmann::json stitchSpaceJson(const Family &family);

} // namespace sparseloom

#endif // SPARSELOOM_LIB_STITCH_STITCHREPORTINTERNAL_H
