//===- LowerOps.cpp - The op table and the non-product ops ----------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Which ONNX op becomes which runtime opcode, and how its attributes become
// the opcode's parameter struct. Kernels never interpret ONNX attributes: the
// handlers here resolve defaults, negative axes, auto_pad, ceil_mode and the
// constant operands ONNX passes as inputs (Clip bounds, Slice starts, Pad
// amounts, reduction axes), and drop operands whose only information is a
// shape that the output's static type already states (Reshape's shape,
// Expand's shape, Tile's repeats, Split's sizes). Whatever the runtime could
// not do is rejected here, naming the node and saying what to do instead.
//
// Reshape-like ops (Reshape, Flatten, Squeeze, Unsqueeze, Identity, inference
// Dropout) normally emit nothing: their output is a view of their input's
// arena buffer (see Lowerer.cpp for why sharing a buffer is always safe).
//
//===----------------------------------------------------------------------===//

#include "Lowerer.h"

#include "sparseloom/IR/OpRegistry.h"
#include "sparseloom/Support/Diagnostics.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sparseloom {

using format::KernelId;
using format::Opcode;

namespace lower {

const std::vector<Lowerer::Rule> &Lowerer::rules() {
  using L = Lowerer;
  static const std::vector<Rule> table = {
      // Products (LowerProducts.cpp).
      {"", "Conv", Opcode::Conv, &L::lowerConv},
      {"", "Gemm", Opcode::Gemm, &L::lowerGemm},
      {"", "MatMul", Opcode::MatMul, &L::lowerMatMul},
      // Elementwise binary and variadic, numpy broadcasting.
      {"", "Add", Opcode::Add, &L::lowerElementwise},
      {"", "Sub", Opcode::Sub, &L::lowerElementwise},
      {"", "Mul", Opcode::Mul, &L::lowerElementwise},
      {"", "Div", Opcode::Div, &L::lowerElementwise},
      {"", "Pow", Opcode::Pow, &L::lowerElementwise},
      {"", "Equal", Opcode::Equal, &L::lowerElementwise},
      {"", "Less", Opcode::Less, &L::lowerElementwise},
      {"", "Greater", Opcode::Greater, &L::lowerElementwise},
      {"", "And", Opcode::And, &L::lowerElementwise},
      {"", "Or", Opcode::Or, &L::lowerElementwise},
      {"", "Max", Opcode::Max, &L::lowerElementwise},
      {"", "Min", Opcode::Min, &L::lowerElementwise},
      {"", "Where", Opcode::Where, &L::lowerElementwise},
      {"", "Mod", Opcode::Mod, &L::lowerMod},
      // Elementwise unary.
      {"", "Relu", Opcode::Relu, &L::lowerElementwise},
      {"", "Clip", Opcode::Clip, &L::lowerClip},
      {"", "Sigmoid", Opcode::Sigmoid, &L::lowerElementwise},
      {"", "HardSigmoid", Opcode::HardSigmoid, &L::lowerAlphaBeta},
      {"", "HardSwish", Opcode::HardSwish, &L::lowerElementwise},
      {"", "Tanh", Opcode::Tanh, &L::lowerElementwise},
      {"", "Erf", Opcode::Erf, &L::lowerElementwise},
      {"", "Gelu", Opcode::Gelu, &L::lowerGelu},
      {"com.sparseloom", "Gelu", Opcode::Gelu, &L::lowerGelu},
      {"", "Sqrt", Opcode::Sqrt, &L::lowerElementwise},
      {"", "Exp", Opcode::Exp, &L::lowerElementwise},
      {"", "Log", Opcode::Log, &L::lowerElementwise},
      {"", "Abs", Opcode::Abs, &L::lowerElementwise},
      {"", "Neg", Opcode::Neg, &L::lowerElementwise},
      {"", "Reciprocal", Opcode::Reciprocal, &L::lowerElementwise},
      {"", "Not", Opcode::Not, &L::lowerElementwise},
      {"", "Cast", Opcode::Cast, &L::lowerElementwise},
      {"", "LeakyRelu", Opcode::LeakyRelu, &L::lowerAlphaBeta},
      {"", "Floor", Opcode::Floor, &L::lowerElementwise},
      {"", "Ceil", Opcode::Ceil, &L::lowerElementwise},
      {"", "Elu", Opcode::Elu, &L::lowerAlphaBeta},
      {"", "Softplus", Opcode::Softplus, &L::lowerElementwise},
      {"", "Sin", Opcode::Sin, &L::lowerElementwise},
      {"", "Cos", Opcode::Cos, &L::lowerElementwise},
      // Normalisation and reductions.
      {"", "Softmax", Opcode::Softmax, &L::lowerSoftmax},
      {"", "LogSoftmax", Opcode::LogSoftmax, &L::lowerSoftmax},
      {"", "LayerNormalization", Opcode::LayerNormalization,
       &L::lowerLayerNorm},
      {"", "BatchNormalization", Opcode::BatchNormalization,
       &L::lowerBatchNorm},
      {"", "ReduceMean", Opcode::ReduceMean, &L::lowerReduce},
      {"", "ReduceSum", Opcode::ReduceSum, &L::lowerReduce},
      {"", "ReduceMax", Opcode::ReduceMax, &L::lowerReduce},
      {"", "ReduceMin", Opcode::ReduceMin, &L::lowerReduce},
      {"", "ReduceProd", Opcode::ReduceProd, &L::lowerReduce},
      {"", "ArgMax", Opcode::ArgMax, &L::lowerArgReduce},
      {"", "ArgMin", Opcode::ArgMin, &L::lowerArgReduce},
      // Pooling.
      {"", "MaxPool", Opcode::MaxPool, &L::lowerPool},
      {"", "AveragePool", Opcode::AveragePool, &L::lowerPool},
      {"", "GlobalAveragePool", Opcode::GlobalAveragePool, &L::lowerGlobalPool},
      {"", "GlobalMaxPool", Opcode::GlobalMaxPool, &L::lowerGlobalPool},
      // Data movement.
      {"", "Transpose", Opcode::Transpose, &L::lowerTranspose},
      {"", "Concat", Opcode::Concat, &L::lowerConcat},
      {"", "Split", Opcode::Split, &L::lowerSplit},
      {"", "Slice", Opcode::Slice, &L::lowerSlice},
      {"", "Gather", Opcode::Gather, &L::lowerGather},
      {"", "Expand", Opcode::Expand, &L::lowerDataOnly},
      {"", "Tile", Opcode::Tile, &L::lowerDataOnly},
      {"", "Pad", Opcode::Pad, &L::lowerPad},
      // Views of their input (or Identity copies).
      {"", "Reshape", Opcode::Identity, &L::lowerReshapeLike},
      {"", "Flatten", Opcode::Identity, &L::lowerReshapeLike},
      {"", "Squeeze", Opcode::Identity, &L::lowerReshapeLike},
      {"", "Unsqueeze", Opcode::Identity, &L::lowerReshapeLike},
      {"", "Identity", Opcode::Identity, &L::lowerReshapeLike},
      {"", "Dropout", Opcode::Identity, &L::lowerReshapeLike},
      {"", "Constant", Opcode::Identity, &L::lowerConstant},
  };
  return table;
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

llvm::Error Lowerer::lowerElementwise(const Node &node, Opcode opcode) {
  return emitPlain(node, opcode);
}

llvm::Error Lowerer::lowerMod(const Node &node, Opcode opcode) {
  auto params = zeroed<format::ModParams>();
  params.fmod = uint8_t(node.getIntAttr("fmod", 0) != 0);
  return emitPlain(node, opcode, paramBytes(params));
}

llvm::Error Lowerer::lowerClip(const Node &node, Opcode opcode) {
  if (graph_.getType(node.inputs[0]).dtype != DType::F32)
    return makeNodeError(
        node.displayName(),
        "Clip of " + dtypeName(graph_.getType(node.inputs[0]).dtype).str() +
            " is not supported by the runtime (f32 only)");
  auto lo = constantScalar(node, 1, "Clip's min");
  if (!lo)
    return lo.takeError();
  auto hi = constantScalar(node, 2, "Clip's max");
  if (!hi)
    return hi.takeError();
  auto params = zeroed<format::ClipParams>();
  params.min = *lo ? float(**lo) : -std::numeric_limits<float>::infinity();
  params.max = *hi ? float(**hi) : std::numeric_limits<float>::infinity();
  auto x = use(node, node.inputs[0]);
  if (!x)
    return x.takeError();
  auto y = defineOutput(node, node.outputs[0]);
  if (!y)
    return y.takeError();
  emit(node, opcode, KernelId::Reference, {*x}, {*y}, paramBytes(params));
  return llvm::Error::success();
}

llvm::Error Lowerer::lowerAlphaBeta(const Node &node, Opcode opcode) {
  auto params = zeroed<format::AlphaBetaParams>();
  switch (opcode) {
  case Opcode::HardSigmoid:
    params.alpha = floatAttr(node, "alpha", 0.2f);
    params.beta = floatAttr(node, "beta", 0.5f);
    break;
  case Opcode::LeakyRelu:
    params.alpha = floatAttr(node, "alpha", 0.01f);
    break;
  case Opcode::Elu:
    params.alpha = floatAttr(node, "alpha", 1.0f);
    break;
  default:
    assert(false && "not an alpha/beta op");
  }
  return emitPlain(node, opcode, paramBytes(params));
}

llvm::Error Lowerer::lowerGelu(const Node &node, Opcode opcode) {
  std::string approximate = stringAttr(node, "approximate", "none");
  if (approximate != "none" && approximate != "tanh")
    return makeNodeError(node.displayName(),
                         "Gelu approximate='" + approximate +
                             "' is not supported ('none' or 'tanh')");
  auto params = zeroed<format::GeluParams>();
  params.approximateTanh = approximate == "tanh";
  return emitPlain(node, opcode, paramBytes(params));
}

//===----------------------------------------------------------------------===//
// Normalisation and reductions
//===----------------------------------------------------------------------===//

llvm::Error Lowerer::lowerSoftmax(const Node &node, Opcode opcode) {
  int64_t rank = int64_t(graph_.getType(node.inputs[0]).rank());
  auto axis = normalizeAxis(node, node.getIntAttr("axis", -1), rank, "axis");
  if (!axis)
    return axis.takeError();
  auto params = zeroed<format::AxisParams>();
  params.axis = int32_t(*axis);
  return emitPlain(node, opcode, paramBytes(params));
}

llvm::Error Lowerer::lowerLayerNorm(const Node &node, Opcode opcode) {
  int64_t rank = int64_t(graph_.getType(node.inputs[0]).rank());
  auto axis = normalizeAxis(node, node.getIntAttr("axis", -1), rank, "axis");
  if (!axis)
    return axis.takeError();
  if (node.outputs.size() > 1 &&
      std::all_of(node.outputs.begin() + 1, node.outputs.end(),
                  [&](const std::string &o) { return isUnused(o); })) {
    // Mean and InvStdDev that nothing reads cost a write each: drop them.
    Node yOnly = node;
    yOnly.outputs.resize(1);
    auto params = zeroed<format::LayerNormParams>();
    params.axis = int32_t(*axis);
    params.epsilon = floatAttr(node, "epsilon", 1e-5f);
    return emitPlain(yOnly, opcode, paramBytes(params));
  }
  auto params = zeroed<format::LayerNormParams>();
  params.axis = int32_t(*axis);
  params.epsilon = floatAttr(node, "epsilon", 1e-5f);
  return emitPlain(node, opcode, paramBytes(params));
}

llvm::Error Lowerer::lowerBatchNorm(const Node &node, Opcode opcode) {
  if (node.getIntAttr("training_mode", 0) != 0)
    return makeNodeError(node.displayName(),
                         "BatchNormalization in training mode is not "
                         "supported; export the model in eval mode");
  for (size_t i = 1; i < node.outputs.size(); ++i)
    if (!isUnused(node.outputs[i]))
      return makeNodeError(node.displayName(),
                           "BatchNormalization's running statistics outputs "
                           "are not supported (export in eval mode)");
  if (node.inputs.size() != 5)
    return makeNodeError(node.displayName(),
                         "BatchNormalization needs 5 inputs");
  auto params = zeroed<format::LayerNormParams>();
  params.axis = 1;
  params.epsilon = floatAttr(node, "epsilon", 1e-5f);
  std::vector<uint32_t> inputs;
  for (const std::string &in : node.inputs) {
    auto id = use(node, in);
    if (!id)
      return id.takeError();
    inputs.push_back(*id);
  }
  auto y = defineOutput(node, node.outputs[0]);
  if (!y)
    return y.takeError();
  emit(node, opcode, KernelId::Reference, inputs, {*y}, paramBytes(params));
  return llvm::Error::success();
}

llvm::Error Lowerer::lowerReduce(const Node &node, Opcode opcode) {
  int64_t rank = int64_t(graph_.getType(node.inputs[0]).rank());
  std::vector<int64_t> axes = node.getIntsAttr("axes");
  if (!node.getAttr("axes")) {
    auto fromInput = constantInts(node, 1, "the reduction axes");
    if (!fromInput)
      return fromInput.takeError();
    if (*fromInput)
      axes = **fromInput;
  }
  auto params = zeroed<format::ReduceParams>();
  params.keepDims = uint8_t(node.getIntAttr("keepdims", 1) != 0);
  if (axes.empty()) {
    if (node.getIntAttr("noop_with_empty_axes", 0) != 0) {
      // Reduces nothing: the output is the input.
      auto x = use(node, node.inputs[0]);
      if (!x)
        return x.takeError();
      auto y = defineOutput(node, node.outputs[0]);
      if (!y)
        return y.takeError();
      LoweredOp info;
      info.reason = "reduction over no axes (noop_with_empty_axes): a copy";
      emit(node, Opcode::Identity, KernelId::Reference, {*x}, {*y}, {}, info);
      return llvm::Error::success();
    }
    for (int64_t i = 0; i < rank; ++i)
      axes.push_back(i);
  }
  for (int64_t a : axes) {
    auto axis = normalizeAxis(node, a, rank, "reduction axis");
    if (!axis)
      return axis.takeError();
    if (params.axesMask & (1u << *axis))
      return makeNodeError(node.displayName(), "reduction axis " +
                                                   std::to_string(a) +
                                                   " is listed twice");
    params.axesMask |= 1u << *axis;
  }
  auto x = use(node, node.inputs[0]);
  if (!x)
    return x.takeError();
  auto y = defineOutput(node, node.outputs[0]);
  if (!y)
    return y.takeError();
  emit(node, opcode, KernelId::Reference, {*x}, {*y}, paramBytes(params));
  return llvm::Error::success();
}

llvm::Error Lowerer::lowerArgReduce(const Node &node, Opcode opcode) {
  int64_t rank = int64_t(graph_.getType(node.inputs[0]).rank());
  auto axis = normalizeAxis(node, node.getIntAttr("axis", 0), rank, "axis");
  if (!axis)
    return axis.takeError();
  auto params = zeroed<format::ReduceParams>();
  params.axesMask = 1u << *axis;
  params.keepDims = uint8_t(node.getIntAttr("keepdims", 1) != 0);
  params.selectLastIndex =
      uint8_t(node.getIntAttr("select_last_index", 0) != 0);
  return emitPlain(node, opcode, paramBytes(params));
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

llvm::Error Lowerer::lowerPool(const Node &node, Opcode opcode) {
  const bool isMax = opcode == Opcode::MaxPool;
  if (isMax && node.outputs.size() > 1 && !isUnused(node.outputs[1]))
    return makeNodeError(node.displayName(),
                         "MaxPool's Indices output is not supported by the "
                         "runtime");
  auto xDims = staticDims(node, node.inputs[0]);
  if (!xDims)
    return xDims.takeError();
  auto yDims = staticDims(node, node.outputs[0]);
  if (!yDims)
    return yDims.takeError();
  const size_t rank = xDims->size();
  if (rank != 3 && rank != 4)
    return makeNodeError(node.displayName(),
                         node.opType + " over " + std::to_string(rank - 2) +
                             " spatial dims is not supported (1-D and 2-D "
                             "only)");
  const size_t spatial = rank - 2;
  std::vector<int64_t> kernel = node.getIntsAttr("kernel_shape");
  if (kernel.size() != spatial)
    return makeNodeError(node.displayName(),
                         "kernel_shape must have one entry per spatial dim");
  const bool ceilMode = node.getIntAttr("ceil_mode", 0) != 0;
  const bool includePad =
      !isMax && node.getIntAttr("count_include_pad", 0) != 0;

  auto params = zeroed<format::PoolParams>();
  params.countIncludePad = uint8_t(includePad);
  if (llvm::Error err =
          resolveWindow(node, kernel, *xDims, *yDims, ceilMode, params))
    return err;

  auto x = use(node, node.inputs[0]);
  if (!x)
    return x.takeError();
  auto y = defineOutput(node, node.outputs[0]);
  if (!y)
    return y.takeError();
  uint32_t xOp = *x, yOp = *y;
  if (spatial == 1) {
    xOp = defineView(*x, node.inputs[0] + ".as2d",
                     {(*xDims)[0], (*xDims)[1], 1, (*xDims)[2]});
    yOp = defineView(*y, node.outputs[0] + ".as2d",
                     {(*yDims)[0], (*yDims)[1], 1, (*yDims)[2]});
  }
  emit(node, opcode, KernelId::Reference, {xOp}, {yOp}, paramBytes(params));
  return llvm::Error::success();
}

llvm::Error Lowerer::lowerGlobalPool(const Node &node, Opcode opcode) {
  if (graph_.getType(node.inputs[0]).rank() < 3)
    return makeNodeError(node.displayName(),
                         node.opType + " needs an input of rank >= 3");
  return emitPlain(node, opcode);
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

llvm::Error Lowerer::lowerTranspose(const Node &node, Opcode opcode) {
  const int64_t rank = int64_t(graph_.getType(node.inputs[0]).rank());
  std::vector<int64_t> perm = node.getIntsAttr("perm");
  if (!node.getAttr("perm"))
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  std::vector<bool> seen(size_t(rank), false);
  if (int64_t(perm.size()) != rank)
    return makeNodeError(node.displayName(), "perm must list every axis");
  auto params = zeroed<format::TransposeParams>();
  for (int64_t i = 0; i < rank; ++i) {
    if (perm[size_t(i)] < 0 || perm[size_t(i)] >= rank ||
        seen[size_t(perm[size_t(i)])])
      return makeNodeError(node.displayName(),
                           "perm is not a permutation of the axes");
    seen[size_t(perm[size_t(i)])] = true;
    params.perm[i] = int32_t(perm[size_t(i)]);
  }
  return emitPlain(node, opcode, paramBytes(params));
}

llvm::Error Lowerer::lowerConcat(const Node &node, Opcode opcode) {
  if (!node.getAttr("axis"))
    return makeNodeError(node.displayName(), "Concat needs an axis");
  int64_t rank = int64_t(graph_.getType(node.outputs[0]).rank());
  auto axis = normalizeAxis(node, node.getIntAttr("axis", 0), rank, "axis");
  if (!axis)
    return axis.takeError();
  auto params = zeroed<format::AxisParams>();
  params.axis = int32_t(*axis);
  return emitPlain(node, opcode, paramBytes(params));
}

llvm::Error Lowerer::lowerSplit(const Node &node, Opcode opcode) {
  int64_t rank = int64_t(graph_.getType(node.inputs[0]).rank());
  auto axis = normalizeAxis(node, node.getIntAttr("axis", 0), rank, "axis");
  if (!axis)
    return axis.takeError();
  auto params = zeroed<format::AxisParams>();
  params.axis = int32_t(*axis);
  // The sizes (the `split` input or attribute) are the outputs' dims.
  auto x = use(node, node.inputs[0]);
  if (!x)
    return x.takeError();
  std::vector<uint32_t> outputs;
  for (const std::string &out : node.outputs) {
    if (out.empty())
      return makeNodeError(node.displayName(),
                           "Split with an omitted output is not supported");
    auto id = defineOutput(node, out);
    if (!id)
      return id.takeError();
    outputs.push_back(*id);
  }
  emit(node, opcode, KernelId::Reference, {*x}, outputs, paramBytes(params));
  return llvm::Error::success();
}

llvm::Error Lowerer::lowerGather(const Node &node, Opcode opcode) {
  int64_t rank = int64_t(graph_.getType(node.inputs[0]).rank());
  auto axis = normalizeAxis(node, node.getIntAttr("axis", 0), rank, "axis");
  if (!axis)
    return axis.takeError();
  auto params = zeroed<format::AxisParams>();
  params.axis = int32_t(*axis);
  // Constant indices are checked now, so a bad model fails here rather than
  // at its first inference.
  if (const Weight *indices = constantOperand(node, 1)) {
    auto dims = staticDims(node, node.inputs[0]);
    if (!dims)
      return dims.takeError();
    const int64_t size = (*dims)[size_t(*axis)];
    for (int64_t i : indices->data->toInt64s())
      if (i < -size || i >= size)
        return makeNodeError(node.displayName(),
                             "index " + std::to_string(i) +
                                 " is out of range for axis size " +
                                 std::to_string(size));
  }
  return emitPlain(node, opcode, paramBytes(params));
}

llvm::Error Lowerer::lowerSlice(const Node &node, Opcode opcode) {
  auto dims = staticDims(node, node.inputs[0]);
  if (!dims)
    return dims.takeError();
  auto outDims = staticDims(node, node.outputs[0]);
  if (!outDims)
    return outDims.takeError();
  const int64_t rank = int64_t(dims->size());
  auto starts = constantInts(node, 1, "Slice's starts");
  if (!starts)
    return starts.takeError();
  auto ends = constantInts(node, 2, "Slice's ends");
  if (!ends)
    return ends.takeError();
  auto axes = constantInts(node, 3, "Slice's axes");
  if (!axes)
    return axes.takeError();
  auto steps = constantInts(node, 4, "Slice's steps");
  if (!steps)
    return steps.takeError();
  if (!*starts || !*ends || (*starts)->size() != (*ends)->size())
    return makeNodeError(node.displayName(),
                         "Slice needs starts and ends of equal length");
  const size_t n = (*starts)->size();
  std::vector<int64_t> axisList, stepList(n, 1);
  if (*axes)
    axisList = **axes;
  else
    for (size_t i = 0; i < n; ++i)
      axisList.push_back(int64_t(i));
  if (*steps)
    stepList = **steps;
  if (axisList.size() != n || stepList.size() != n)
    return makeNodeError(node.displayName(),
                         "Slice's axes and steps must match starts");

  auto params = zeroed<format::SliceParams>();
  std::vector<bool> sliced(size_t(rank), false);
  for (int64_t a = 0; a < rank; ++a)
    params.steps[a] = 1;
  for (size_t i = 0; i < n; ++i) {
    auto axis = normalizeAxis(node, axisList[i], rank, "Slice axis");
    if (!axis)
      return axis.takeError();
    if (sliced[size_t(*axis)])
      return makeNodeError(node.displayName(), "Slice lists axis " +
                                                   std::to_string(*axis) +
                                                   " twice");
    sliced[size_t(*axis)] = true;
    const int64_t d = (*dims)[size_t(*axis)], step = stepList[i];
    if (step == 0)
      return makeNodeError(node.displayName(), "Slice step must not be 0");
    // ONNX's clamping rules: negative positions count from the end, then
    // starts clamp to [0, d] ([0, d-1] for a negative step) and ends to
    // [0, d] ([-1, d-1]).
    int64_t start = (*starts)->at(i), end = (*ends)->at(i);
    if (start < 0)
      start = start < -d ? 0 : start + d;
    if (end < 0)
      end = end < -d ? -1 : end + d;
    if (step > 0) {
      start = std::min(std::max<int64_t>(start, 0), d);
      end = std::min(std::max<int64_t>(end, 0), d);
    } else {
      start = std::min(std::max<int64_t>(start, 0), d - 1);
      end = std::min(std::max<int64_t>(end, -1), d - 1);
    }
    int64_t count =
        step > 0 ? std::max<int64_t>(0, (end - start + step - 1) / step)
                 : std::max<int64_t>(0, (start - end - step - 1) / -step);
    if (count != (*outDims)[size_t(*axis)])
      return makeNodeError(node.displayName(),
                           "Slice of axis " + std::to_string(*axis) +
                               " gives " + std::to_string(count) +
                               " elements but the output type says " +
                               std::to_string((*outDims)[size_t(*axis)]) +
                               "; re-run shape inference (infer-shapes)");
    params.starts[*axis] = count == 0 ? 0 : start;
    params.steps[*axis] = step;
  }
  auto x = use(node, node.inputs[0]);
  if (!x)
    return x.takeError();
  auto y = defineOutput(node, node.outputs[0]);
  if (!y)
    return y.takeError();
  emit(node, opcode, KernelId::Reference, {*x}, {*y}, paramBytes(params));
  return llvm::Error::success();
}

llvm::Error Lowerer::lowerDataOnly(const Node &node, Opcode opcode) {
  // Expand's shape and Tile's repeats are implied by the static output.
  auto x = use(node, node.inputs[0]);
  if (!x)
    return x.takeError();
  auto y = defineOutput(node, node.outputs[0]);
  if (!y)
    return y.takeError();
  emit(node, opcode, KernelId::Reference, {*x}, {*y}, {});
  return llvm::Error::success();
}

llvm::Error Lowerer::lowerPad(const Node &node, Opcode opcode) {
  const std::string mode = stringAttr(node, "mode", "constant");
  if (mode != "constant")
    return makeNodeError(node.displayName(),
                         "Pad mode '" + mode +
                             "' is not supported by the runtime (constant "
                             "only)");
  auto dims = staticDims(node, node.inputs[0]);
  if (!dims)
    return dims.takeError();
  const int64_t rank = int64_t(dims->size());
  std::vector<int64_t> pads = node.getIntsAttr("pads");
  if (!node.getAttr("pads")) {
    auto fromInput = constantInts(node, 1, "Pad's pads");
    if (!fromInput)
      return fromInput.takeError();
    if (!*fromInput)
      return makeNodeError(node.displayName(), "Pad needs pads");
    pads = **fromInput;
  }
  auto value = constantScalar(node, 2, "Pad's constant_value");
  if (!value)
    return value.takeError();
  auto axesInput = constantInts(node, 3, "Pad's axes");
  if (!axesInput)
    return axesInput.takeError();
  std::vector<int64_t> axes;
  if (*axesInput)
    axes = **axesInput;
  else
    for (int64_t i = 0; i < rank; ++i)
      axes.push_back(i);
  if (pads.size() != 2 * axes.size())
    return makeNodeError(node.displayName(),
                         "Pad's pads must have two entries per padded axis");
  auto params = zeroed<format::PadParams>();
  for (size_t i = 0; i < axes.size(); ++i) {
    auto axis = normalizeAxis(node, axes[i], rank, "Pad axis");
    if (!axis)
      return axis.takeError();
    params.pads[*axis] = pads[i];
    params.pads[format::kMaxRank + *axis] = pads[i + axes.size()];
  }
  params.value = *value ? float(**value) : 0.0f;
  auto x = use(node, node.inputs[0]);
  if (!x)
    return x.takeError();
  auto y = defineOutput(node, node.outputs[0]);
  if (!y)
    return y.takeError();
  emit(node, opcode, KernelId::Reference, {*x}, {*y}, paramBytes(params));
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Views and constants
//===----------------------------------------------------------------------===//

llvm::Error Lowerer::lowerReshapeLike(const Node &node, Opcode opcode) {
  if (node.opType == "Dropout") {
    for (size_t i = 1; i < node.outputs.size(); ++i)
      if (!isUnused(node.outputs[i]))
        return makeNodeError(node.displayName(),
                             "Dropout's mask output is not supported by the "
                             "runtime");
    if (node.inputs.size() > 2 && !node.inputs[2].empty()) {
      const Weight *mode = constantOperand(node, 2);
      if (!mode || mode->data->numNonZeros() != 0)
        return makeNodeError(node.displayName(),
                             "Dropout in training mode is not supported; "
                             "export the model in eval mode");
    }
  }
  const std::string &in = node.inputs[0], &out = node.outputs[0];
  auto dims = staticDims(node, out);
  if (!dims)
    return dims.takeError();
  auto source = values_.find(in);
  if (options_.aliasReshapes && source != values_.end()) {
    values_[out] = defineView(source->second, out, *dims);
    report_.elidedNodes.push_back(
        {node.displayName(), "aliased to its input's arena buffer"});
    return llvm::Error::success();
  }
  auto x = use(node, in);
  if (!x)
    return x.takeError();
  auto y = defineOutput(node, out);
  if (!y)
    return y.takeError();
  LoweredOp info;
  info.reason = source == values_.end()
                    ? node.opType + " of a weight: a copy into the arena"
                    : node.opType + " as a copy (aliasing is off)";
  emit(node, opcode, KernelId::Reference, {*x}, {*y}, {}, info);
  return llvm::Error::success();
}

llvm::Error Lowerer::lowerConstant(const Node &node, Opcode opcode) {
  // canonicalize turns Constants into weights; one that stays is a graph
  // output, which must live in the arena.
  const Attribute *value = node.getAttr("value");
  if (!value || value->kind() != Attribute::Kind::Tensor ||
      !value->getTensor()->hasValues())
    return makeNodeError(node.displayName(),
                         "only Constant nodes with a 'value' tensor are "
                         "supported; run canonicalize first");
  const TensorDataRef &data = value->getTensor();
  auto dtype = formatDType(node, node.outputs[0], data->dtype());
  if (!dtype)
    return dtype.takeError();
  ProgramTensor t;
  t.name = node.outputs[0] + ".value";
  t.dtype = *dtype;
  t.kind = format::TensorKind::Weight;
  t.dims = data->dims();
  t.data = data->denseBytes();
  t.bytes = t.data.size();
  uint32_t weight = uint32_t(draft_.tensors.size());
  draft_.tensors.push_back(std::move(t));
  auto y = defineOutput(node, node.outputs[0]);
  if (!y)
    return y.takeError();
  LoweredOp info;
  info.reason = "a constant graph output, copied into the arena";
  emit(node, opcode, KernelId::Reference, {weight}, {*y}, {}, info);
  return llvm::Error::success();
}

llvm::Error Lowerer::rejectUnfolded(const Node &node, Opcode) {
  return makeNodeError(node.displayName(),
                       node.opType +
                           " could not be evaluated at compile time; the "
                           "runtime has no kernel for shape computations. "
                           "Bind the input shapes with --input-shape and run "
                           "canonicalize so that it folds");
}

} // namespace lower
} // namespace sparseloom
