//===- ConstantFolding.h - Reference evaluators for constant ops -*- C++
//-*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Small, obviously-correct evaluators that canonicalize uses to compute at
// compile time what a node would compute at run time when every operand is a
// constant: the integer shape arithmetic that exporters emit around Reshape
// (Shape -> Gather -> Unsqueeze -> Concat), plus Constant nodes. They favour
// clarity over speed: they only ever see shape vectors and small tensors, and
// the caller caps the size of what they may produce.
//
// Private to the passes library; not a public API.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_PASSES_CONSTANTFOLDING_H
#define SPARSELOOM_PASSES_CONSTANTFOLDING_H

#include "sparseloom/IR/Module.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace sparseloom {
namespace folding {

/// True when an evaluator exists for the node's op (default domain only).
bool hasEvaluator(const Node &node);

/// Evaluates `node` from constant operands. `inputs[i]` is the value of
/// operand i, or null for an omitted optional operand. Returns true and sets
/// `results` (one tensor per node output) when the node was evaluated; false
/// when it is outside what the evaluators handle (an element type, attribute
/// or op they do not cover, or a result above `maxElements` elements), in
/// which case the node simply stays. Returns an error naming the node when
/// the constants prove the model wrong (an index out of range, a reshape
/// that changes the element count...).
llvm::Expected<bool> evaluateNode(const Node &node,
                                  llvm::ArrayRef<TensorDataRef> inputs,
                                  int64_t opset, int64_t maxElements,
                                  std::vector<TensorDataRef> &results);

/// Evaluates an op that reads only the shapes of its operands (Shape, Size)
/// from their recorded types. False when the dimensions it needs are not
/// all known.
bool evaluateShapeOnlyNode(const Node &node,
                           llvm::ArrayRef<TensorType> inputTypes, int64_t opset,
                           std::vector<TensorDataRef> &results);

/// The value of a Constant node (`value`, `sparse_value`, `value_float`,
/// `value_floats`, `value_int`, `value_ints`, `value_string`,
/// `value_strings`), or an error when it has none of them.
llvm::Expected<TensorDataRef> constantNodeValue(const Node &node);

} // namespace folding
} // namespace sparseloom

#endif // SPARSELOOM_PASSES_CONSTANTFOLDING_H
