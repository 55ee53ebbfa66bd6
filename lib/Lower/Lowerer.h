//===- Lowerer.h - One module's lowering, step by step ----------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The state of one lowerModule call. Nodes are visited in topological order;
// each is mapped by the rule table (LowerOps.cpp) to a handler that resolves
// its attributes into the opcode's parameter struct and emits zero or more
// program ops: zero for a Reshape aliased to its input, or for a node fused
// into the op before it (an activation, a bias Add, a residual Add). The
// handlers of the products (Conv, Gemm, MatMul) live in LowerProducts.cpp;
// the tensor table, liveness, memory plan and report in Lowerer.cpp.
// Private to lib/Lower.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_LIB_LOWER_LOWERER_H
#define SPARSELOOM_LIB_LOWER_LOWERER_H

#include "LowerInternal.h"

#include "sparseloom/IR/Analysis.h"
#include "sparseloom/IR/Module.h"
#include "sparseloom/Lower/Lower.h"
#include "sparseloom/Support/Diagnostics.h"

#include "llvm/Support/Error.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace sparseloom {
namespace lower {

/// A zero-initialised parameter struct (padding included), so that equal
/// parameters always serialize to equal bytes.
template <typename T> T zeroed() {
  T value;
  std::memset(&value, 0, sizeof(T));
  return value;
}

template <typename T> std::vector<uint8_t> paramBytes(const T &value) {
  std::vector<uint8_t> bytes(sizeof(T));
  std::memcpy(bytes.data(), &value, sizeof(T));
  return bytes;
}

/// A float attribute (an int one converted), or the default.
inline float floatAttr(const Node &node, llvm::StringRef name,
                       float defaultValue) {
  const Attribute *a = node.getAttr(name);
  if (a && a->kind() == Attribute::Kind::Float)
    return a->getFloat();
  if (a && a->kind() == Attribute::Kind::Int)
    return float(a->getInt());
  return defaultValue;
}

inline std::string stringAttr(const Node &node, llvm::StringRef name,
                              llvm::StringRef defaultValue) {
  const Attribute *a = node.getAttr(name);
  if (a && a->kind() == Attribute::Kind::String)
    return a->getString();
  return defaultValue.str();
}

/// The begin/end padding of one spatial axis of a Conv or pooling window
/// under ONNX's auto_pad (NOTSET keeps `begin`/`end`). False for an unknown
/// auto_pad value.
inline bool resolveAutoPad(llvm::StringRef autoPad, int64_t in,
                           int64_t effectiveKernel, int64_t stride,
                           int64_t &begin, int64_t &end) {
  if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    // Output ceil(in / stride); the padding that makes it, extra at the end
    // (UPPER) or the beginning (LOWER).
    int64_t out = (in + stride - 1) / stride;
    int64_t total =
        std::max<int64_t>(0, (out - 1) * stride + effectiveKernel - in);
    begin = autoPad == "SAME_UPPER" ? total / 2 : (total + 1) / 2;
    end = total - begin;
    return true;
  }
  if (autoPad == "VALID") {
    begin = end = 0;
    return true;
  }
  return autoPad == "NOTSET";
}

/// Reads a Conv or pooling node's strides, dilations, pads and auto_pad,
/// resolves them per spatial dim against the static input and output sizes
/// and writes kernel/strides/dilations/pads into `params` (ConvParams and
/// PoolParams share those fields; a 1-D window goes to slot 1, H = 1). The
/// output size must follow the floor formula, or lie up to the ceil formula
/// when `allowCeil` (pooling's ceil_mode, which the output shape carries, so
/// the pads stay ONNX's and count_include_pad's divisor stays right).
template <typename Params>
llvm::Error resolveWindow(const Node &node, llvm::ArrayRef<int64_t> kernel,
                          llvm::ArrayRef<int64_t> xDims,
                          llvm::ArrayRef<int64_t> yDims, bool allowCeil,
                          Params &params) {
  const size_t spatial = xDims.size() - 2;
  std::vector<int64_t> strides = node.getIntsAttr("strides");
  std::vector<int64_t> dilations = node.getIntsAttr("dilations");
  std::vector<int64_t> pads = node.getIntsAttr("pads");
  if (strides.empty())
    strides.assign(spatial, 1);
  if (dilations.empty())
    dilations.assign(spatial, 1);
  if (pads.empty())
    pads.assign(2 * spatial, 0);
  if (strides.size() != spatial || dilations.size() != spatial ||
      pads.size() != 2 * spatial)
    return makeNodeError(node.displayName(),
                         "strides, dilations and pads must match the "
                         "spatial rank");
  const std::string autoPad = stringAttr(node, "auto_pad", "NOTSET");
  for (size_t i = 0; i < 2; ++i)
    params.kernel[i] = params.strides[i] = params.dilations[i] = 1;
  for (size_t s = 0; s < spatial; ++s) {
    const size_t slot = spatial == 1 ? 1 : s; // 1-D lowers as H = 1
    const int64_t in = xDims[2 + s], out = yDims[2 + s];
    const int64_t k = kernel[s], st = strides[s], d = dilations[s];
    if (k < 1 || st < 1 || d < 1)
      return makeNodeError(node.displayName(),
                           "kernel, stride and dilation must be positive");
    const int64_t effective = (k - 1) * d + 1;
    int64_t begin = pads[s], end = pads[s + spatial];
    if (!resolveAutoPad(autoPad, in, effective, st, begin, end))
      return makeNodeError(node.displayName(),
                           "auto_pad '" + autoPad + "' is not valid");
    if (in + begin + end < effective)
      return makeNodeError(node.displayName(),
                           "the window is larger than the padded input");
    const int64_t floorOut = (in + begin + end - effective) / st + 1;
    const int64_t ceilOut = (in + begin + end - effective + st - 1) / st + 1;
    if (out < floorOut || out > (allowCeil ? ceilOut : floorOut))
      return makeNodeError(node.displayName(),
                           "the output size " + std::to_string(out) +
                               " of spatial dim " + std::to_string(s) +
                               " does not follow from the attributes; "
                               "re-run shape inference (infer-shapes)");
    params.kernel[slot] = int32_t(k);
    params.strides[slot] = int32_t(st);
    params.dilations[slot] = int32_t(d);
    params.pads[slot] = int32_t(begin);
    params.pads[slot + 2] = int32_t(end);
  }
  return llvm::Error::success();
}

/// A Relu or Clip that the product before it applies in its epilogue.
struct FusedActivation {
  const Node *node = nullptr;
  format::Activation kind = format::Activation::None;
  float min = 0.0f;
  float max = 0.0f;
};

/// The fused activation's part of a Conv/Gemm parameter struct.
template <typename P> void setActivation(P &params, const FusedActivation &a) {
  params.activation = a.kind;
  params.actMin = a.kind == format::Activation::Clip ? a.min : 0.0f;
  params.actMax = a.kind == format::Activation::Clip ? a.max : 0.0f;
}

/// The sparsity-analysis pattern annotated on a weight, "" if none.
std::string weightPattern(const Weight &w);

/// A residual Add that a Conv applies in its epilogue (its other operand
/// becomes the Conv's input Z).
struct FusedResidual {
  const Node *add = nullptr;
  std::string value; // Z
};

/// A product with a constant weight, as planProduct takes it.
struct ProductRequest {
  std::vector<float> weight;       // row-major [m, k]
  std::vector<int64_t> weightDims; // as stored; dims[0] = m
  std::string weightKey;           // dedup key: the weight plus its transform
  std::string weightName;
  std::optional<std::vector<float>> bias; // m entries
  std::string biasKey, biasName;
  ProductShape shape;
  std::string pattern; // sparsity-analysis pattern of the weight, if known
};

/// The ProductRequest of a Conv with constant weight `w` (stored as
/// `weightDims`, output channels first) and bias `b` (or null), whose
/// image has `pixels` output pixels.
ProductRequest convRequest(const Weight &w, const Weight *b,
                           std::vector<int64_t> weightDims, int64_t pixels);

/// What planProduct decided and made.
struct ProductPlan {
  KernelDecision decision;
  uint32_t weight = format::kNoTensor;
  uint32_t bias = format::kNoTensor;
  double density = 1.0;
};

class Lowerer {
public:
  Lowerer(const Module &module, const LowerOptions &options,
          LoweringReport &report);

  llvm::Expected<std::vector<uint8_t>> run();

  using Handler = llvm::Error (Lowerer::*)(const Node &, format::Opcode);
  struct Rule {
    const char *domain;
    const char *opType;
    format::Opcode opcode;
    Handler handler;
  };
  /// The op table (LowerOps.cpp): every op lowering supports.
  static const std::vector<Rule> &rules();

private:
  // --- Handlers (LowerOps.cpp) --------------------------------------------
  llvm::Error lowerElementwise(const Node &node, format::Opcode opcode);
  llvm::Error lowerClip(const Node &node, format::Opcode opcode);
  llvm::Error lowerAlphaBeta(const Node &node, format::Opcode opcode);
  llvm::Error lowerGelu(const Node &node, format::Opcode opcode);
  llvm::Error lowerMod(const Node &node, format::Opcode opcode);
  llvm::Error lowerSoftmax(const Node &node, format::Opcode opcode);
  llvm::Error lowerConcat(const Node &node, format::Opcode opcode);
  llvm::Error lowerSplit(const Node &node, format::Opcode opcode);
  llvm::Error lowerGather(const Node &node, format::Opcode opcode);
  llvm::Error lowerLayerNorm(const Node &node, format::Opcode opcode);
  llvm::Error lowerBatchNorm(const Node &node, format::Opcode opcode);
  llvm::Error lowerReduce(const Node &node, format::Opcode opcode);
  llvm::Error lowerArgReduce(const Node &node, format::Opcode opcode);
  llvm::Error lowerPool(const Node &node, format::Opcode opcode);
  llvm::Error lowerGlobalPool(const Node &node, format::Opcode opcode);
  llvm::Error lowerTranspose(const Node &node, format::Opcode opcode);
  llvm::Error lowerSlice(const Node &node, format::Opcode opcode);
  llvm::Error lowerDataOnly(const Node &node, format::Opcode opcode);
  llvm::Error lowerPad(const Node &node, format::Opcode opcode);
  llvm::Error lowerReshapeLike(const Node &node, format::Opcode opcode);
  llvm::Error lowerConstant(const Node &node, format::Opcode opcode);
  llvm::Error rejectUnfolded(const Node &node, format::Opcode opcode);

  // --- Products (LowerProducts.cpp) ----------------------------------------
  llvm::Error lowerConv(const Node &node, format::Opcode opcode);
  llvm::Error lowerGemm(const Node &node, format::Opcode opcode);
  llvm::Error lowerMatMul(const Node &node, format::Opcode opcode);
  /// Chooses the kernel of a product, encodes its weight for that kernel
  /// and makes the weight and bias tensors.
  ProductPlan planProduct(ProductRequest request);
  /// The Relu/Clip after `value` that `producer`'s fuse.activation
  /// annotation allows folding, if the pattern still holds.
  llvm::Expected<FusedActivation> matchActivation(const Node &producer,
                                                  const std::string &value);
  /// The residual Add after `conv` that its fuse.residual annotation
  /// allows folding, if the pattern still holds and Z already has a tensor.
  FusedResidual matchResidual(const Node &conv);

  // --- Pointwise + depthwise (LowerFusedConv.cpp) --------------------------
  /// The depthwise Conv that alone reads `value`, the output of 1x1 conv
  /// `pointwise` (params resolved, its activation already matched), when
  /// the pair can run as one PointwiseDepthwise op: the 1x1 conv would run
  /// SpmmCsrAvx2, both weights are constant. Null otherwise.
  const Node *matchDepthwiseReader(const Node &pointwise,
                                   const format::ConvParams &params,
                                   const std::string &value);
  /// Emits the pair as one op.
  llvm::Error lowerPointwiseDepthwise(const Node &pointwise,
                                      const FusedActivation &pointwiseAct,
                                      const Node &depthwise);

  // --- Tensors (Lowerer.cpp) -----------------------------------------------
  /// The static dims of `value`, or an error naming `node`.
  llvm::Expected<std::vector<int64_t>> staticDims(const Node &node,
                                                  const std::string &value);
  llvm::Expected<format::DType>
  formatDType(const Node &node, const std::string &value, DType dtype);
  /// A new activation tensor (with its own arena buffer) for node output
  /// `value`.
  llvm::Expected<uint32_t> defineOutput(const Node &node,
                                        const std::string &value);
  /// A tensor named `name` viewing tensor `base`'s buffer with other dims.
  uint32_t defineView(uint32_t base, const std::string &name,
                      std::vector<int64_t> dims);
  /// The tensor that holds `value` for `node` to read: its activation, or
  /// its weight stored dense.
  llvm::Expected<uint32_t> use(const Node &node, const std::string &value);
  /// A dense f32 weight tensor from explicit values (deduplicated by key).
  uint32_t floatWeight(const std::string &key, const std::string &name,
                       std::vector<int64_t> dims,
                       const std::vector<float> &values);
  /// An encoded weight tensor (deduplicated by key and encoding).
  uint32_t encodedWeight(const std::string &key, const std::string &name,
                         std::vector<int64_t> dims, format::Encoding encoding,
                         std::vector<uint8_t> bytes);

  // --- Constant operands (Lowerer.cpp) -------------------------------------
  /// The weight behind operand `index` of `node` when it is a constant with
  /// values, else null.
  const Weight *constantOperand(const Node &node, size_t index) const;
  /// Integer constant operand; nullopt when the operand is omitted; an error
  /// saying what to do when it is computed at run time.
  llvm::Expected<std::optional<std::vector<int64_t>>>
  constantInts(const Node &node, size_t index, const char *what);
  llvm::Expected<std::optional<double>>
  constantScalar(const Node &node, size_t index, const char *what);
  /// axis in [-rank, rank) -> [0, rank), or an error naming the node.
  llvm::Expected<int64_t> normalizeAxis(const Node &node, int64_t axis,
                                        int64_t rank, const char *what);
  /// True when value is read by nothing and is not a graph output.
  bool isUnused(const std::string &value) const;

  // --- Emission (Lowerer.cpp) ----------------------------------------------
  void emit(const Node &node, format::Opcode opcode, format::KernelId kernel,
            std::vector<uint32_t> inputs, std::vector<uint32_t> outputs,
            std::vector<uint8_t> params, LoweredOp info = {});
  /// Emits with every input and output of `node` as operands, no params.
  llvm::Error emitPlain(const Node &node, format::Opcode opcode,
                        std::vector<uint8_t> params = {},
                        format::KernelId kernel = format::KernelId::Reference);
  void markFused(const Node &node, const std::string &why);

  llvm::Error defineGraphInputs();
  llvm::Error defineGraphOutputs();
  /// Gives a depthwise conv's output that a sparse 1x1 conv alone reads
  /// padded planes (PaddedPlanes.cpp).
  void padPlanesForSparseReaders();
  void planMemoryAndScratch();

  const Module &module_;
  const Graph &graph_;
  const LowerOptions &options_;
  LoweringReport &report_;
  const KernelThresholds &thresholds_;
  UseDefInfo uses_;
  ProgramDraft draft_;
  /// IR activation value -> tensor id.
  std::map<std::string, uint32_t> values_;
  /// Weight tensors by dedup key.
  std::map<std::string, uint32_t> weights_;
  /// Nodes already emitted as part of an earlier op.
  std::set<const Node *> consumed_;
};

} // namespace lower
} // namespace sparseloom

#endif // SPARSELOOM_LIB_LOWER_LOWERER_H
