//===- ModuleComparison.h - Structural equality of Modules ------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Compares two Modules field by field and describes the first difference.
// The ONNX round-trip checks (ImportTests and the conformance smoke test) use
// it to prove import(export(import(x))) == import(x) without depending on the
// textual printer; weights compare by storage kind and exact bytes, not only
// by content hash, so a sparse weight that came back dense is a difference.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_TEST_MODULECOMPARISON_H
#define SPARSELOOM_TEST_MODULECOMPARISON_H

#include "sparseloom/IR/Module.h"

#include <string>

namespace sparseloom {
namespace testsupport {

/// An empty string when `a` and `b` are structurally identical, otherwise a
/// one-line description of the first difference found.
std::string describeModuleDifference(const Module &a, const Module &b);

} // namespace testsupport
} // namespace sparseloom

#endif // SPARSELOOM_TEST_MODULECOMPARISON_H
