//===- OpRegistry.h - The operators SparseLoom knows ------------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// One table of the ONNX operators SparseLoom supports, each with properties
// that passes query instead of keeping op-name lists of their own (a pass asks
// "is this elementwise?", not "is this Add, Sub or Mul?"). Adding an op is one
// row in lib/IR/OpRegistry.cpp (docs/AddingAnOp.md).
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_IR_OPREGISTRY_H
#define SPARSELOOM_IR_OPREGISTRY_H

#include "sparseloom/IR/Module.h"

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <vector>

namespace sparseloom {

/// Properties of an operator (bit flags).
enum OpProperty : uint32_t {
  /// No side effects; outputs depend only on inputs and attributes.
  OpPure = 1u << 0,
  /// Output i depends on input elements at the same (broadcast) position.
  OpElementwise = 1u << 1,
  /// Forwards its first input unchanged at inference (Identity, Dropout).
  OpInferenceNoOp = 1u << 2,
  /// Only rearranges or reinterprets data (Reshape, Transpose, Squeeze...).
  OpDataMovement = 1u << 3,
  /// Reads only the shapes of its inputs, not their values (Shape, Size).
  OpReadsShapeOnly = 1u << 4,
  /// Has a weight operand whose values are multiply-accumulated (Conv, Gemm,
  /// MatMul): what pruning makes sparse.
  OpLinearWithWeight = 1u << 5,
  /// Folds into a preceding linear op at inference (BatchNormalization).
  OpAffineNormalization = 1u << 6,
  /// Evaluated at compile time when all inputs are constants (cheap integer
  /// shape arithmetic); see passes/Canonicalize.cpp.
  OpShapeComputation = 1u << 7,
  /// Produces its output from attributes alone (Constant).
  OpConstantSource = 1u << 8,
};

struct OpInfo {
  const char *name;
  const char *domain; // "" for the default ONNX domain
  uint32_t properties;
  /// For OpLinearWithWeight: the operand index holding the weight.
  int weightOperand;

  bool has(OpProperty p) const { return (properties & p) != 0; }
};

/// The op, or nullptr when SparseLoom does not support it. "ai.onnx" is
/// treated as the default domain.
const OpInfo *lookupOp(llvm::StringRef domain, llvm::StringRef name);
inline const OpInfo *lookupOp(const Node &node) {
  return lookupOp(node.domain, node.opType);
}
/// Every supported op, in table order.
const std::vector<OpInfo> &allOps();

} // namespace sparseloom

#endif // SPARSELOOM_IR_OPREGISTRY_H
