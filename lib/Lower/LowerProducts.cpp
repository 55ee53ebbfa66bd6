//===- LowerProducts.cpp - Conv, Gemm and MatMul --------------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The ops where the time goes. Each product with a constant weight is brought
// to one form, C[M, N] = act(W[M, K] x B[K, N] + bias), the form of the fast
// kernels (FastKernels.h), before its kernel is chosen:
//
//  - Conv: W is the weight [M, C*kh*kw] as stored; B the (im2col'ed) input of
//    one image. One group only; depthwise convolutions (group = C = M) get
//    the depthwise kernel, other grouped ones the reference kernel. A 1-D
//    convolution becomes a 2-D one with H = 1 (views of its tensors).
//  - Gemm with a constant B and transA = 0: alpha is folded into W, B is
//    stored transposed when transB = 0 (the weight is always [N, K] after
//    lowering, transB = 1), beta into a per-output-channel bias C.
//  - MatMul of an activation [..., K] by a constant [K, N]: a Gemm on 2-D
//    views of its operands ([prod(...), K] and [prod(...), N], the same
//    arena bytes), with the weight transposed to [N, K]. A following Add of
//    a constant [N] bias (how torch exports Linear on 3-D input) becomes the
//    Gemm's bias.
//
// Then the kernel rule of KernelSelection.h picks dense, CSR or 4x1 blocks
// and the weight is encoded for that kernel. A Relu or Clip that
// fuse-activation marked is applied in the product's epilogue, and so is a
// residual Add after a Conv: its other operand Z becomes the Conv's fourth
// input (X, W, B or none, Z) and the epilogue computes act(x + bias + Z).
//
//===----------------------------------------------------------------------===//

#include "Lowerer.h"

#include "Runtime/Kernels/FastKernels.h"

#include "sparseloom/Support/Diagnostics.h"

#include <limits>

namespace sparseloom {

using format::Activation;
using format::Encoding;
using format::KernelId;
using format::Opcode;

namespace lower {

namespace {

constexpr const char *kFuseActivation = "fuse.activation";
constexpr const char *kFuseResidual = "fuse.residual";

/// W[rows, cols] transposed (row-major in, row-major out).
std::vector<float> transpose(const std::vector<float> &w, int64_t rows,
                             int64_t cols) {
  std::vector<float> t(w.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      t[size_t(c * rows + r)] = w[size_t(r * cols + c)];
  return t;
}

} // namespace

//===----------------------------------------------------------------------===//
// Shared parts
//===----------------------------------------------------------------------===//

std::string weightPattern(const Weight &w) {
  auto it = w.annotations.find("sparsity.pattern");
  return it != w.annotations.end() &&
                 it->second.kind() == Attribute::Kind::String
             ? it->second.getString()
             : "";
}

llvm::Expected<FusedActivation>
Lowerer::matchActivation(const Node &producer, const std::string &value) {
  FusedActivation none;
  if (!options_.fuse || !producer.annotations.count(kFuseActivation) ||
      uses_.isGraphOutput(value))
    return none;
  const auto &users = uses_.users(value);
  if (users.size() != 1)
    return none;
  const Node &act = *users[0];
  if (!act.domain.empty() || act.inputs.empty() || act.inputs[0] != value ||
      act.outputs.size() != 1 || consumed_.count(&act) ||
      graph_.getType(act.outputs[0]).dtype != DType::F32)
    return none;
  FusedActivation fused;
  fused.node = &act;
  if (act.opType == "Relu") {
    fused.kind = Activation::Relu;
    return fused;
  }
  if (act.opType != "Clip")
    return none;
  fused.kind = Activation::Clip;
  fused.min = -std::numeric_limits<float>::infinity();
  fused.max = std::numeric_limits<float>::infinity();
  for (size_t i = 1; i < act.inputs.size() && i < 3; ++i) {
    if (act.inputs[i].empty())
      continue;
    const Weight *bound = constantOperand(act, i);
    if (!bound || bound->data->numElements() != 1)
      return none; // a bound computed at run time cannot be an epilogue
    (i == 1 ? fused.min : fused.max) = float(bound->data->elementAsDouble(0));
  }
  return fused;
}

FusedResidual Lowerer::matchResidual(const Node &conv) {
  FusedResidual none;
  auto mark = conv.annotations.find(kFuseResidual);
  if (!options_.fuse || mark == conv.annotations.end() ||
      mark->second.kind() != Attribute::Kind::String ||
      conv.outputs.size() != 1)
    return none;
  const std::string &product = conv.outputs[0];
  const std::string &z = mark->second.getString();
  if (z == product || uses_.isGraphOutput(product) ||
      uses_.users(product).size() != 1)
    return none;
  const Node &add = *uses_.users(product)[0];
  if (!add.domain.empty() || add.opType != "Add" || add.inputs.size() != 2 ||
      add.outputs.size() != 1 || consumed_.count(&add))
    return none;
  if (!(add.inputs[0] == product && add.inputs[1] == z) &&
      !(add.inputs[1] == product && add.inputs[0] == z))
    return none;
  // No broadcasting, and Z already has its tensor (an activation defined
  // before the Conv, or a graph input).
  const TensorType type = graph_.getType(product);
  if (type.dtype != DType::F32 || !type.isStatic() ||
      graph_.getType(z) != type || graph_.getType(add.outputs[0]) != type ||
      !values_.count(z))
    return none;
  FusedResidual fused;
  fused.add = &add;
  fused.value = z;
  return fused;
}

ProductPlan Lowerer::planProduct(ProductRequest request) {
  const int64_t m = request.shape.m, k = request.shape.k;
  WeightStats stats = measureWeight(request.weight, m, k);
  stats.pattern = request.pattern;
  ProductPlan plan;
  plan.density = stats.density;
  plan.decision = chooseProductKernel(request.shape, stats,
                                      options_.kernelPolicy, thresholds_);
  const uint32_t rows = uint32_t(m), cols = uint32_t(k);
  switch (plan.decision.encoding) {
  case Encoding::Dense:
    plan.weight = floatWeight(request.weightKey, request.weightName,
                              request.weightDims, request.weight);
    break;
  case Encoding::PackedPanels:
    plan.weight = encodedWeight(request.weightKey, request.weightName,
                                request.weightDims, Encoding::PackedPanels,
                                encodePackedPanels(request.weight, rows, cols));
    break;
  case Encoding::Csr:
    plan.weight =
        encodedWeight(request.weightKey, request.weightName, request.weightDims,
                      Encoding::Csr, encodeCsr(request.weight, rows, cols));
    break;
  case Encoding::BlockSparse:
    plan.weight = encodedWeight(request.weightKey, request.weightName,
                                request.weightDims, Encoding::BlockSparse,
                                encodeBlock4x1(request.weight, rows, cols));
    break;
  case Encoding::PaddedPlanes:
    llvm_unreachable("kernel selection never picks an activation layout");
  }
  if (request.bias)
    plan.bias =
        floatWeight(request.biasKey, request.biasName, {m}, *request.bias);
  return plan;
}

//===----------------------------------------------------------------------===//
// Conv
//===----------------------------------------------------------------------===//

ProductRequest convRequest(const Weight &w, const Weight *b,
                           std::vector<int64_t> weightDims, int64_t pixels) {
  ProductRequest request;
  request.weight = w.data->toFloats();
  request.weightDims = std::move(weightDims);
  request.weightKey = request.weightName = w.name;
  request.pattern = weightPattern(w);
  if (b) {
    request.bias = b->data->toFloats();
    request.biasKey = request.biasName = b->name;
  }
  // W viewed as [M, C * kh * kw]; N is one image's output pixels.
  const int64_t m = request.weightDims[0];
  request.shape = {m, int64_t(request.weight.size()) / m, pixels};
  return request;
}

llvm::Error Lowerer::lowerConv(const Node &node, Opcode opcode) {
  auto xDims = staticDims(node, node.inputs[0]);
  if (!xDims)
    return xDims.takeError();
  auto yDims = staticDims(node, node.outputs[0]);
  if (!yDims)
    return yDims.takeError();
  if (node.inputs.size() < 2 || node.inputs[1].empty())
    return makeNodeError(node.displayName(), "Conv needs a weight");
  auto wDims = staticDims(node, node.inputs[1]);
  if (!wDims)
    return wDims.takeError();
  const size_t rank = xDims->size();
  if (rank != 3 && rank != 4)
    return makeNodeError(
        node.displayName(),
        "Conv over " + std::to_string(int64_t(rank) - 2) +
            " spatial dims is not supported by the runtime (1-D and 2-D "
            "only); reshape the model to 2-D convolutions");
  if (graph_.getType(node.inputs[0]).dtype != DType::F32)
    return makeNodeError(node.displayName(),
                         "Conv of a non-f32 input is not supported");
  const size_t spatial = rank - 2;
  const int64_t group = node.getIntAttr("group", 1);
  const int64_t channels = (*xDims)[1], outChannels = (*wDims)[0];
  if (wDims->size() != rank || group < 1 || channels % group != 0 ||
      outChannels % group != 0 || (*wDims)[1] * group != channels)
    return makeNodeError(node.displayName(),
                         "the weight shape does not match the input "
                         "channels and group");
  std::vector<int64_t> kernel = node.getIntsAttr("kernel_shape");
  if (!kernel.empty() && !std::equal(kernel.begin(), kernel.end(),
                                     wDims->begin() + 2, wDims->end()))
    return makeNodeError(node.displayName(),
                         "kernel_shape disagrees with the weight's shape");
  kernel.assign(wDims->begin() + 2, wDims->end());
  auto params = zeroed<format::ConvParams>();
  params.group = int32_t(group);
  if (llvm::Error err = resolveWindow(node, kernel, *xDims, *yDims,
                                      /*allowCeil=*/false, params))
    return err;
  int64_t outPixels = 1;
  for (size_t s = 0; s < spatial; ++s)
    outPixels *= (*yDims)[2 + s];

  // A residual Add, then an activation after it (or after the Conv).
  const FusedResidual residual = matchResidual(node);
  const std::string &sumValue =
      residual.add ? residual.add->outputs[0] : node.outputs[0];
  auto act = matchActivation(node, sumValue);
  if (!act)
    return act.takeError();
  setActivation(params, *act);
  const std::string &outValue = act->node ? act->node->outputs[0] : sumValue;
  std::string sourceOps = residual.add ? "Conv+Add" : "Conv";
  if (act->node)
    sourceOps += "+" + act->node->opType;

  // A sparse 1x1 conv read only by a depthwise conv runs with it as one op
  // (LowerFusedConv.cpp).
  if (!residual.add && rank == 4)
    if (const Node *dw = matchDepthwiseReader(node, params, outValue))
      return lowerPointwiseDepthwise(node, *act, *dw);

  auto x = use(node, node.inputs[0]);
  if (!x)
    return x.takeError();
  uint32_t zOp = format::kNoTensor;
  if (residual.add) {
    auto z = use(node, residual.value);
    if (!z)
      return z.takeError();
    zOp = *z;
  }
  auto y = defineOutput(node, outValue);
  if (!y)
    return y.takeError();
  if (residual.add)
    markFused(*residual.add,
              "residual added in the epilogue of " + node.displayName());
  if (act->node)
    markFused(*act->node, "fused into " + node.displayName());
  uint32_t xOp = *x, yOp = *y;
  std::vector<int64_t> weightDims = *wDims;
  if (spatial == 1) {
    xOp = defineView(*x, node.inputs[0] + ".as2d",
                     {(*xDims)[0], (*xDims)[1], 1, (*xDims)[2]});
    yOp = defineView(*y, outValue + ".as2d",
                     {(*yDims)[0], (*yDims)[1], 1, (*yDims)[2]});
    if (residual.add)
      zOp = defineView(zOp, residual.value + ".as2d",
                       {(*yDims)[0], (*yDims)[1], 1, (*yDims)[2]});
    weightDims = {(*wDims)[0], (*wDims)[1], 1, (*wDims)[2]};
  }
  // Inputs X, W, then B and Z, each optional (an absent bias before Z is
  // kNoTensor).
  auto withOptional = [&](std::vector<uint32_t> inputs, uint32_t bias) {
    if (bias != format::kNoTensor || zOp != format::kNoTensor)
      inputs.push_back(bias);
    if (zOp != format::kNoTensor)
      inputs.push_back(zOp);
    return inputs;
  };

  const Weight *w = constantOperand(node, 1);
  const bool hasBias = node.inputs.size() > 2 && !node.inputs[2].empty();
  const Weight *b = hasBias ? constantOperand(node, 2) : nullptr;
  const bool constantOperands =
      w && w->data->dtype() == DType::F32 &&
      (!hasBias || (b && b->data->dtype() == DType::F32));
  LoweredOp info;
  info.sourceOps = sourceOps;
  if (constantOperands && group == 1) {
    ProductRequest request = convRequest(*w, b, weightDims, outPixels);
    // Dense, such a conv runs as Winograd on the CPUs the crossovers were
    // calibrated on (KernelThresholds.inc), so sparse must beat that.
    if (spatial == 2 &&
        runtime::convRunsAsWinograd(
            channels, outChannels, params.kernel[0], params.kernel[1],
            params.strides[0], params.strides[1], params.dilations[0],
            params.dilations[1], group, (*yDims)[2], (*yDims)[3]))
      request.shape.denseSpeedup = runtime::winogradDenseSpeedup();
    ProductPlan plan = planProduct(std::move(request));
    info.encoding = encodingName(draft_.tensors[plan.weight].encoding);
    info.reason = plan.decision.reason;
    info.weightDensity = plan.density;
    emit(node, opcode, plan.decision.kernel,
         withOptional({xOp, plan.weight}, plan.bias), {yOp}, paramBytes(params),
         info);
    return llvm::Error::success();
  }

  // Depthwise, grouped, or a weight computed at run time.
  const bool depthwise = group == channels && outChannels == channels &&
                         (*wDims)[1] == 1 && constantOperands;
  KernelId kernelId = KernelId::Reference;
  if (depthwise && options_.kernelPolicy != KernelPolicy::Reference) {
    kernelId = KernelId::DepthwiseAvx2;
    info.reason = "depthwise convolution (group = channels)";
  } else {
    info.reason =
        options_.kernelPolicy == KernelPolicy::Reference ? "forced: reference"
        : !constantOperands ? "the weight or bias is computed at run time"
                            : "grouped convolution (" + std::to_string(group) +
                                  " groups): no fast path";
  }
  uint32_t weightOp;
  if (w && w->data->dtype() == DType::F32) {
    weightOp = floatWeight(w->name, w->name, weightDims, w->data->toFloats());
    info.encoding = "Dense";
    info.weightDensity = w->data->density();
  } else {
    auto id = use(node, node.inputs[1]);
    if (!id)
      return id.takeError();
    weightOp = *id;
    if (spatial == 1 &&
        draft_.tensors[weightOp].kind == format::TensorKind::Activation)
      weightOp = defineView(weightOp, node.inputs[1] + ".as2d", weightDims);
    else if (spatial == 1)
      return makeNodeError(node.displayName(), "a 1-D Conv weight must be f32");
  }
  uint32_t biasOp = format::kNoTensor;
  if (hasBias) {
    auto id = use(node, node.inputs[2]);
    if (!id)
      return id.takeError();
    biasOp = *id;
  }
  emit(node, opcode, kernelId, withOptional({xOp, weightOp}, biasOp), {yOp},
       paramBytes(params), info);
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Gemm
//===----------------------------------------------------------------------===//

llvm::Error Lowerer::lowerGemm(const Node &node, Opcode opcode) {
  const int64_t transA = node.getIntAttr("transA", 0);
  const int64_t transB = node.getIntAttr("transB", 0);
  const float alpha = floatAttr(node, "alpha", 1.0f);
  const float beta = floatAttr(node, "beta", 1.0f);
  auto aDims = staticDims(node, node.inputs[0]);
  if (!aDims)
    return aDims.takeError();
  auto yDims = staticDims(node, node.outputs[0]);
  if (!yDims)
    return yDims.takeError();
  const Weight *b = constantOperand(node, 1);
  const bool hasC = node.inputs.size() > 2 && !node.inputs[2].empty();
  const Weight *c = hasC ? constantOperand(node, 2) : nullptr;

  // The fast form needs a constant f32 B and a bias that is one value per
  // output column (or absent).
  bool fast = b && !transA && aDims->size() == 2 &&
              graph_.getType(node.inputs[0]).dtype == DType::F32 &&
              b->data->dtype() == DType::F32 && b->data->dims().size() == 2;
  const int64_t n = fast ? b->data->dims()[transB ? 0 : 1] : 0;
  const int64_t k = fast ? b->data->dims()[transB ? 1 : 0] : 0;
  if (fast && hasC) {
    fast = c && c->data->dtype() == DType::F32 &&
           (c->data->numElements() == 1 ||
            (c->data->numElements() == n && c->data->dims().back() == n));
  }

  auto act = matchActivation(node, node.outputs[0]);
  if (!act)
    return act.takeError();
  auto params = zeroed<format::GemmParams>();
  setActivation(params, *act);
  LoweredOp info;
  info.sourceOps = act->node ? "Gemm+" + act->node->opType : "Gemm";
  const std::string &outValue =
      act->node ? act->node->outputs[0] : node.outputs[0];

  if (!fast) {
    params.transA = uint8_t(transA != 0);
    params.transB = uint8_t(transB != 0);
    params.alpha = alpha;
    params.beta = beta;
    std::vector<uint32_t> inputs;
    for (size_t i = 0; i < node.inputs.size() && i < 3; ++i) {
      if (node.inputs[i].empty())
        continue;
      auto id = use(node, node.inputs[i]);
      if (!id)
        return id.takeError();
      inputs.push_back(*id);
    }
    auto y = defineOutput(node, outValue);
    if (!y)
      return y.takeError();
    if (act->node)
      markFused(*act->node, "fused into " + node.displayName());
    info.reason = "general Gemm (transA, a bias that is not per output "
                  "column, or B computed at run time): no fast path";
    emit(node, opcode, KernelId::Reference, inputs, {*y}, paramBytes(params),
         info);
    return llvm::Error::success();
  }

  ProductRequest request;
  std::vector<float> weight = b->data->toFloats();
  if (!transB)
    weight = transpose(weight, k, n);
  if (alpha != 1.0f)
    for (float &v : weight)
      v *= alpha;
  request.weight = std::move(weight);
  request.weightDims = {n, k};
  request.weightName = b->name;
  request.weightKey = b->name + (transB ? "" : "^T") +
                      (alpha != 1.0f ? "*" + std::to_string(alpha) : "");
  request.pattern = weightPattern(*b);
  if (c) {
    std::vector<float> values = c->data->toFloats();
    std::vector<float> bias(size_t(n), values[0]);
    if (values.size() == size_t(n))
      bias = values;
    for (float &v : bias)
      v *= beta;
    request.bias = std::move(bias);
    request.biasName = c->name;
    request.biasKey =
        c->name + (beta != 1.0f ? "*" + std::to_string(beta) : "");
  }
  request.shape = {n, k, (*aDims)[0], ActivationLayout::Rows};
  params.transA = 0;
  params.transB = 1;
  params.alpha = 1.0f;
  params.beta = 1.0f;

  auto x = use(node, node.inputs[0]);
  if (!x)
    return x.takeError();
  auto y = defineOutput(node, outValue);
  if (!y)
    return y.takeError();
  if (act->node)
    markFused(*act->node, "fused into " + node.displayName());
  ProductPlan plan = planProduct(std::move(request));
  info.encoding = encodingName(draft_.tensors[plan.weight].encoding);
  info.reason = plan.decision.reason;
  info.weightDensity = plan.density;
  std::vector<uint32_t> inputs = {*x, plan.weight};
  if (plan.bias != format::kNoTensor)
    inputs.push_back(plan.bias);
  emit(node, opcode, plan.decision.kernel, inputs, {*y}, paramBytes(params),
       info);
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// MatMul
//===----------------------------------------------------------------------===//

llvm::Error Lowerer::lowerMatMul(const Node &node, Opcode opcode) {
  auto aDims = staticDims(node, node.inputs[0]);
  if (!aDims)
    return aDims.takeError();
  auto yDims = staticDims(node, node.outputs[0]);
  if (!yDims)
    return yDims.takeError();
  const Weight *b = constantOperand(node, 1);
  const bool aIsF32 = graph_.getType(node.inputs[0]).dtype == DType::F32;
  const bool byWeight = b && b->data->dtype() == DType::F32 &&
                        b->data->dims().size() == 2 && aIsF32 &&
                        !aDims->empty() && values_.count(node.inputs[0]);

  if (!byWeight) {
    // Two activations (attention), or shapes only the reference handles.
    // The unpacked SGEMM is for two activations; a constant operand that
    // is not a 2-D weight (a batched one) stays on the reference kernel.
    auto bType = graph_.getType(node.inputs[1]);
    const bool activations =
        values_.count(node.inputs[0]) && values_.count(node.inputs[1]);
    const bool fastPair = activations && aIsF32 && bType.dtype == DType::F32 &&
                          aDims->size() >= 2 && bType.rank() >= 2 &&
                          options_.kernelPolicy != KernelPolicy::Reference;
    if (llvm::Error err =
            emitPlain(node, opcode, {},
                      fastPair ? KernelId::DenseGemmAvx2 : KernelId::Reference))
      return err;
    LoweredOp &info = report_.ops.back();
    info.reason = fastPair ? "product of two activations: unpacked SGEMM"
                  : options_.kernelPolicy == KernelPolicy::Reference
                      ? "forced: reference"
                      : "a constant operand that is not a 2-D weight, a "
                        "vector or non-f32 operands: reference";
    return llvm::Error::success();
  }

  const int64_t k = b->data->dims()[0], n = b->data->dims()[1];
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < aDims->size(); ++i)
    rows *= (*aDims)[i];

  // A bias Add after the product: y = MatMul(x, W) + bias[N].
  std::string productValue = node.outputs[0];
  const Node *biasAdd = nullptr;
  const Weight *bias = nullptr;
  if (options_.fuse && !uses_.isGraphOutput(productValue) &&
      uses_.users(productValue).size() == 1) {
    const Node &add = *uses_.users(productValue)[0];
    if (add.opType == "Add" && add.domain.empty() && add.inputs.size() == 2 &&
        add.outputs.size() == 1 && !consumed_.count(&add)) {
      size_t other = add.inputs[0] == productValue ? 1 : 0;
      const Weight *c = constantOperand(add, other);
      bool perColumn = c && c->data->dtype() == DType::F32 &&
                       c->data->numElements() == n &&
                       c->data->dims().size() <= yDims->size() &&
                       add.inputs[1 - other] == productValue;
      if (perColumn)
        for (size_t i = 0; i + 1 < c->data->dims().size(); ++i)
          perColumn &= c->data->dims()[i] == 1;
      if (perColumn &&
          graph_.getType(add.outputs[0]) == graph_.getType(productValue)) {
        biasAdd = &add;
        bias = c;
        productValue = add.outputs[0];
      }
    }
  }
  auto act = matchActivation(node, productValue);
  if (!act)
    return act.takeError();
  const std::string &outValue =
      act->node ? act->node->outputs[0] : productValue;

  auto params = zeroed<format::GemmParams>();
  setActivation(params, *act);
  params.transA = 0;
  params.transB = 1;
  params.alpha = 1.0f;
  params.beta = 1.0f;

  ProductRequest request;
  request.weight = transpose(b->data->toFloats(), k, n);
  request.weightDims = {n, k};
  request.weightName = b->name;
  request.weightKey = b->name + "^T";
  request.pattern = weightPattern(*b);
  if (bias) {
    request.bias = bias->data->toFloats();
    request.biasKey = request.biasName = bias->name;
  }
  request.shape = {n, k, rows, ActivationLayout::Rows};

  auto x = use(node, node.inputs[0]);
  if (!x)
    return x.takeError();
  auto y = defineOutput(node, outValue);
  if (!y)
    return y.takeError();
  LoweredOp info;
  info.sourceOps = "MatMul";
  if (biasAdd) {
    markFused(*biasAdd, "bias folded into " + node.displayName());
    info.sourceOps += "+Add";
  }
  if (act->node) {
    markFused(*act->node, "fused into " + node.displayName());
    info.sourceOps += "+" + act->node->opType;
  }
  uint32_t xView = defineView(*x, node.inputs[0] + ".as2d", {rows, k});
  uint32_t yView = defineView(*y, outValue + ".as2d", {rows, n});
  ProductPlan plan = planProduct(std::move(request));
  info.encoding = encodingName(draft_.tensors[plan.weight].encoding);
  info.reason = plan.decision.reason;
  info.weightDensity = plan.density;
  std::vector<uint32_t> inputs = {xView, plan.weight};
  if (plan.bias != format::kNoTensor)
    inputs.push_back(plan.bias);
  emit(node, Opcode::Gemm, plan.decision.kernel, inputs, {yView},
       paramBytes(params), info);
  return llvm::Error::success();
}

} // namespace lower
} // namespace sparseloom
