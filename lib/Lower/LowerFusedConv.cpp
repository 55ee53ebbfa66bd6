//===- LowerFusedConv.cpp - A sparse 1x1 conv and its depthwise reader ----===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// An inverted-residual block (MobileNetV2) expands its input with a 1x1
// conv and feeds the result, alone, to a depthwise conv. When the 1x1 conv
// runs sparse (SpmmCsrAvx2), lowering emits the pair as one
// PointwiseDepthwise op (lib/Runtime/Ops/PointwiseDepthwise.cpp), which
// computes the expanded tensor a channel plane at a time and never stores
// it: at 90 % sparsity writing that tensor (up to 4.8 MB) was most of the
// 1x1 conv's time, and the memory plan no longer needs a buffer for it.
// Same bits as the two ops. LowerOptions::fuseDepthwise turns it off.
//
// The pair: Conv (1x1, stride 1, unpadded, one group, constant f32 weight
// and bias, no residual) -> [Relu/Clip marked by fuse-activation] -> Conv
// with group = channels (constant f32 weight [M, 1, kh, kw] and bias)
// -> [Relu/Clip]. The expanded value must have no other reader and not be a
// graph output.
//
//===----------------------------------------------------------------------===//

#include "LowerInternal.h"
#include "Lowerer.h"

#include <algorithm>

namespace sparseloom {

using format::Encoding;
using format::KernelId;
using format::Opcode;

namespace lower {

namespace {

/// `w` when it is an f32 constant, else null.
const Weight *floatConstant(const Weight *w) {
  return w && w->data->dtype() == DType::F32 ? w : nullptr;
}

} // namespace

const Node *Lowerer::matchDepthwiseReader(const Node &pointwise,
                                          const format::ConvParams &params,
                                          const std::string &value) {
  if (!options_.fuse || !options_.fuseDepthwise ||
      options_.kernelPolicy == KernelPolicy::Reference || !isPointwise(params))
    return nullptr;
  const Weight *w = floatConstant(constantOperand(pointwise, 1));
  const bool hasBias =
      pointwise.inputs.size() > 2 && !pointwise.inputs[2].empty();
  if (!w || (hasBias && !floatConstant(constantOperand(pointwise, 2))))
    return nullptr;
  if (uses_.isGraphOutput(value) || uses_.users(value).size() != 1)
    return nullptr;
  const Node &dw = *uses_.users(value)[0];
  if (!dw.domain.empty() || dw.opType != "Conv" || dw.inputs.size() < 2 ||
      dw.inputs[0] != value || dw.outputs.size() != 1 || consumed_.count(&dw))
    return nullptr;
  const TensorType inType = graph_.getType(value);
  const TensorType outType = graph_.getType(dw.outputs[0]);
  if (inType.dtype != DType::F32 || !inType.isStatic() ||
      outType.dtype != DType::F32 || !outType.isStatic())
    return nullptr;
  const std::vector<int64_t> in = inType.sizes(), out = outType.sizes();
  if (in.size() != 4 || out.size() != 4)
    return nullptr;
  const int64_t channels = in[1];
  const Weight *w2 = floatConstant(constantOperand(dw, 1));
  const bool dwBias = dw.inputs.size() > 2 && !dw.inputs[2].empty();
  if (!w2 || (dwBias && !floatConstant(constantOperand(dw, 2))) ||
      dw.getIntAttr("group", 1) != channels || out[1] != channels)
    return nullptr;
  const std::vector<int64_t> &w2Dims = w2->data->dims();
  if (w2Dims.size() != 4 || w2Dims[0] != channels || w2Dims[1] != 1)
    return nullptr;
  // Only where the expanded tensor would not stay in L2: then writing it
  // and reading it back is what fusing saves. Smaller ones ran as fast or
  // faster apart (MobileNetV2's 28x28 to 7x7 blocks: the depthwise conv
  // dominates the pair, and its kernel runs best on all channels at once).
  // A strided depthwise conv writes a quarter of what it reads, so there
  // the expanded tensor weighs more and the bar is lower.
  const std::vector<int64_t> strides = dw.getIntsAttr("strides");
  const bool strided = std::any_of(strides.begin(), strides.end(),
                                   [](int64_t s) { return s > 1; });
  if (in[1] * in[2] * in[3] * int64_t(sizeof(float)) <
      (strided ? options_.fuseStridedDepthwiseMinBytes
               : options_.fuseDepthwiseMinBytes))
    return nullptr;
  // Only where the 1x1 conv runs sparse: a dense one multiplies whole
  // panels of rows, and one row at a time would be slower.
  const std::vector<float> weight = w->data->toFloats();
  const int64_t k = int64_t(weight.size()) / channels;
  WeightStats stats = measureWeight(weight, channels, k);
  stats.pattern = weightPattern(*w);
  const ProductShape shape{channels, k, in[2] * in[3]};
  const KernelDecision decision =
      chooseProductKernel(shape, stats, options_.kernelPolicy, thresholds_);
  return decision.kernel == KernelId::SpmmCsrAvx2 ? &dw : nullptr;
}

llvm::Error
Lowerer::lowerPointwiseDepthwise(const Node &pointwise,
                                 const FusedActivation &pointwiseAct,
                                 const Node &depthwise) {
  auto dwAct = matchActivation(depthwise, depthwise.outputs[0]);
  if (!dwAct)
    return dwAct.takeError();
  const std::string &expanded = depthwise.inputs[0];
  const std::string &outValue =
      dwAct->node ? dwAct->node->outputs[0] : depthwise.outputs[0];
  auto midDims = staticDims(depthwise, expanded);
  if (!midDims)
    return midDims.takeError();
  auto yDims = staticDims(depthwise, depthwise.outputs[0]);
  if (!yDims)
    return yDims.takeError();
  const Weight &w2 = *constantOperand(depthwise, 1);
  const std::vector<int64_t> &w2Dims = w2.data->dims();

  auto params = zeroed<format::PointwiseDepthwiseParams>();
  format::ConvParams &pw = params.pointwise, &dw = params.depthwise;
  pw.kernel[0] = pw.kernel[1] = 1;
  pw.strides[0] = pw.strides[1] = 1;
  pw.dilations[0] = pw.dilations[1] = 1;
  pw.group = 1;
  setActivation(pw, pointwiseAct);
  if (llvm::Error err =
          resolveWindow(depthwise, llvm::ArrayRef<int64_t>(w2Dims).slice(2),
                        *midDims, *yDims, /*allowCeil=*/false, dw))
    return err;
  dw.group = int32_t((*midDims)[1]);
  setActivation(dw, *dwAct);

  auto x = use(pointwise, pointwise.inputs[0]);
  if (!x)
    return x.takeError();
  auto y = defineOutput(depthwise, outValue);
  if (!y)
    return y.takeError();
  if (pointwiseAct.node)
    markFused(*pointwiseAct.node, "fused into " + pointwise.displayName());
  markFused(depthwise,
            "fused with " + pointwise.displayName() + " (PointwiseDepthwise)");
  if (dwAct->node)
    markFused(*dwAct->node, "fused into " + pointwise.displayName());

  const Weight &w1 = *constantOperand(pointwise, 1);
  const bool hasBias =
      pointwise.inputs.size() > 2 && !pointwise.inputs[2].empty();
  ProductRequest request =
      convRequest(w1, hasBias ? constantOperand(pointwise, 2) : nullptr,
                  w1.data->dims(), (*midDims)[2] * (*midDims)[3]);
  ProductPlan plan = planProduct(std::move(request));
  uint32_t w2Op = floatWeight(w2.name, w2.name, w2Dims, w2.data->toFloats());
  uint32_t b2Op = format::kNoTensor;
  if (depthwise.inputs.size() > 2 && !depthwise.inputs[2].empty()) {
    auto id = use(depthwise, depthwise.inputs[2]);
    if (!id)
      return id.takeError();
    b2Op = *id;
  }
  std::vector<uint32_t> inputs = {*x, plan.weight, plan.bias, w2Op};
  if (b2Op != format::kNoTensor)
    inputs.push_back(b2Op);

  LoweredOp info;
  info.sourceOps = "Conv";
  if (pointwiseAct.node)
    info.sourceOps += "+" + pointwiseAct.node->opType;
  info.sourceOps += "+Conv";
  if (dwAct->node)
    info.sourceOps += "+" + dwAct->node->opType;
  info.encoding = encodingName(draft_.tensors[plan.weight].encoding);
  info.weightDensity = plan.density;
  info.reason = plan.decision.reason + "; fused with the depthwise " +
                depthwise.displayName() +
                ", which reads each expanded channel as it is computed";
  emit(pointwise, Opcode::PointwiseDepthwise, plan.decision.kernel, inputs,
       {*y}, paramBytes(params), info);
  return llvm::Error::success();
}

} // namespace lower
} // namespace sparseloom
