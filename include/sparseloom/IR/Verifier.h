//===- Verifier.h - Structural checks of the IR -----------------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Checks the invariants documented in Module.h and that types are consistent
// where they are known (a weight's recorded type equals its data's type;
// elementwise ops see matching element types). Reports the first problem
// found, naming the node or value.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_IR_VERIFIER_H
#define SPARSELOOM_IR_VERIFIER_H

#include "sparseloom/IR/Module.h"

#include "llvm/Support/Error.h"

namespace sparseloom {

/// Returns success, or a DiagnosticError naming the offending node/value.
llvm::Error verify(const Module &module);

} // namespace sparseloom

#endif // SPARSELOOM_IR_VERIFIER_H
