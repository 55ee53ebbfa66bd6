//===- FamilyReport.h - The family's JSON report ----------------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// What the family passes found, as JSON for later stages (the accuracy
// estimator, the stitcher) and for people: the members, the alignment, the
// candidate and chosen boundaries with their live tensors and shapes, per
// segment and variant the FLOPs, parameters, non-zeros and density
// (IR/Cost.h), and the compatibility matrices with a reason for every "no".
// The schema is documented in docs/Stitching.md; sections whose pass has not
// run are null.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_STITCH_FAMILYREPORT_H
#define SPARSELOOM_STITCH_FAMILYREPORT_H

#include "sparseloom/IR/Family.h"

#include "llvm/Support/Error.h"

#include <string>

namespace sparseloom {

/// Version of the report's schema; bumped on incompatible changes.
constexpr int kFamilyReportVersion = 1;

/// The report as pretty-printed JSON text (ends with a newline). Fails only
/// when the family state is inconsistent (boundaries outside the order).
llvm::Expected<std::string> familyReportJson(const Family &family);

} // namespace sparseloom

#endif // SPARSELOOM_STITCH_FAMILYREPORT_H
