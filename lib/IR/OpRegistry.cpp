//===- OpRegistry.cpp - The operators SparseLoom knows --------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The table behind OpRegistry.h. The list is the operator set of the model
// zoo and the performance families (torch exports at opset 13, including the
// ops of a transformer's padding mask). An op missing here is not rejected by
// import; it is rejected later, by lowering, with the node named.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/IR/OpRegistry.h"

namespace sparseloom {

namespace {

constexpr uint32_t kPure = OpPure;
constexpr uint32_t kElementwise = OpPure | OpElementwise;
// Integer arithmetic that shape subgraphs are made of: foldable when constant.
constexpr uint32_t kShapeArith = OpPure | OpElementwise | OpShapeComputation;
constexpr uint32_t kMove = OpPure | OpDataMovement;
constexpr uint32_t kShapeMove = OpPure | OpDataMovement | OpShapeComputation;
constexpr uint32_t kLinear = OpPure | OpLinearWithWeight;

const std::vector<OpInfo> &table() {
  static const std::vector<OpInfo> ops = {
      // Linear ops whose weight operand pruning makes sparse.
      {"Conv", "", kLinear, 1},
      {"ConvTranspose", "", kLinear, 1},
      {"Gemm", "", kLinear, 1},
      {"MatMul", "", kLinear, 1},
      // Elementwise arithmetic; also appears in shape subgraphs.
      {"Add", "", kShapeArith, -1},
      {"Sub", "", kShapeArith, -1},
      {"Mul", "", kShapeArith, -1},
      {"Div", "", kShapeArith, -1},
      {"Equal", "", kShapeArith, -1},
      {"Where", "", kShapeArith, -1},
      {"Not", "", kShapeArith, -1},
      {"Cast", "", kShapeArith, -1},
      {"Less", "", kElementwise, -1},
      {"Greater", "", kElementwise, -1},
      {"And", "", kElementwise, -1},
      {"Or", "", kElementwise, -1},
      {"Pow", "", kElementwise, -1},
      {"Sqrt", "", kElementwise, -1},
      {"Exp", "", kElementwise, -1},
      {"Log", "", kElementwise, -1},
      {"Neg", "", kElementwise, -1},
      {"Abs", "", kElementwise, -1},
      {"Reciprocal", "", kElementwise, -1},
      {"Erf", "", kElementwise, -1},
      {"Tanh", "", kElementwise, -1},
      {"Sigmoid", "", kElementwise, -1},
      {"HardSigmoid", "", kElementwise, -1},
      {"HardSwish", "", kElementwise, -1},
      {"Relu", "", kElementwise, -1},
      {"LeakyRelu", "", kElementwise, -1},
      {"Clip", "", kElementwise, -1},
      {"Min", "", kElementwise, -1},
      {"Max", "", kElementwise, -1},
      // Normalization, activations over an axis, reductions, pooling.
      {"BatchNormalization", "", kPure | OpAffineNormalization, -1},
      {"LayerNormalization", "", kPure, -1},
      {"Softmax", "", kPure, -1},
      {"LogSoftmax", "", kPure, -1},
      {"ReduceMean", "", kPure, -1},
      {"ReduceSum", "", kPure | OpShapeComputation, -1},
      {"ReduceMax", "", kPure, -1},
      {"MaxPool", "", kPure, -1},
      {"AveragePool", "", kPure, -1},
      {"GlobalAveragePool", "", kPure, -1},
      {"GlobalMaxPool", "", kPure, -1},
      // Data movement.
      {"Reshape", "", kShapeMove, -1},
      {"Flatten", "", kShapeMove, -1},
      {"Transpose", "", kShapeMove, -1},
      {"Squeeze", "", kShapeMove, -1},
      {"Unsqueeze", "", kShapeMove, -1},
      {"Concat", "", kShapeMove, -1},
      {"Split", "", kShapeMove, -1},
      {"Slice", "", kShapeMove, -1},
      {"Gather", "", kShapeMove, -1},
      {"Expand", "", kShapeMove, -1},
      {"Tile", "", kMove, -1},
      {"Pad", "", kMove, -1},
      // Shape queries and constants.
      {"Shape", "", kPure | OpReadsShapeOnly | OpShapeComputation, -1},
      {"Size", "", kPure | OpReadsShapeOnly | OpShapeComputation, -1},
      {"Constant", "", kPure | OpConstantSource, -1},
      {"ConstantOfShape", "", kPure | OpShapeComputation, -1},
      {"Range", "", kPure | OpShapeComputation, -1},
      // No-ops at inference.
      {"Identity", "", kPure | OpInferenceNoOp, -1},
      {"Dropout", "", kPure | OpInferenceNoOp, -1},
  };
  return ops;
}

} // namespace

const OpInfo *lookupOp(llvm::StringRef domain, llvm::StringRef name) {
  if (!domain.empty() && domain != "ai.onnx")
    return nullptr;
  for (const OpInfo &op : table())
    if (name == op.name)
      return &op;
  return nullptr;
}

const std::vector<OpInfo> &allOps() { return table(); }

} // namespace sparseloom
