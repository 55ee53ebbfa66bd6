//===- FuseLayerNorm.cpp - Decomposed layer norms to LayerNormalization ---===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// torch exports nn.LayerNorm at opsets below 17 as nine nodes:
//
//   m = ReduceMean(x, axes)          (keepdims = 1)
//   d = Sub(x, m)
//   p = Pow(d, 2)                    (or Mul(d, d))
//   v = ReduceMean(p, axes)
//   e = Add(v, epsilon)              (either operand order)
//   s = Sqrt(e)
//   n = Div(d, s)
//   g = Mul(n, gamma)                (optional, either order)
//   y = Add(g, beta)                 (optional, either order)
//
// which the runtime would run as nine passes over the activation. This pass
// replaces each such chain by one LayerNormalization(x, gamma, beta) with
// axis = the first reduced axis and the exported epsilon. Every intermediate
// must be read only inside the pattern; the reduced axes must be a suffix of
// x's axes (what LayerNormalization normalises over); gamma and beta must
// broadcast exactly like LayerNormalization's scale and bias (one value per
// normalised element), and are reshaped to the normalised shape if they were
// stored with leading 1s. Without gamma the scale is a new weight of ones.
//
// LayerNormalization is an ONNX op from opset 17, so the module's default
// opset is raised to 17 when it is lower. Between opsets 13 and 17 no op
// SparseLoom supports changed meaning (RoiAlign did; a module using it is
// left alone), so the rest of the graph means the same, and the exported
// model is standard ONNX that ONNX Runtime runs.
//
//===----------------------------------------------------------------------===//

#include "FusionUtils.h"
#include "Passes.h"

#include "sparseloom/IR/Analysis.h"
#include "sparseloom/Support/Diagnostics.h"

#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <numeric>

#define DEBUG_TYPE "fuse-layernorm"

namespace sparseloom {

namespace {

constexpr const char *kFused = "layernorms-fused";
constexpr int64_t kLayerNormOpset = 17;

using fusion::constantScalar;
using fusion::isNear;
using fusion::isOp;
using fusion::otherOperand;
using fusion::soleUser;

/// The normalised axes of a ReduceMean with keepdims = 1 over x of `rank`,
/// sorted; empty when they cannot be read.
std::vector<int64_t> reducedAxes(const Node &mean, int64_t rank) {
  if (mean.getIntAttr("keepdims", 1) != 1 || !mean.getAttr("axes"))
    return {};
  std::vector<int64_t> axes = mean.getIntsAttr("axes");
  for (int64_t &a : axes) {
    if (a < -rank || a >= rank)
      return {};
    if (a < 0)
      a += rank;
  }
  std::sort(axes.begin(), axes.end());
  return axes;
}

/// A weight usable as LayerNormalization's scale or bias for normalised
/// shape `shape`: its values, when it broadcasts to exactly that shape (its
/// dims, right-aligned, equal the shape's, with only leading 1s in front).
std::optional<std::vector<float>>
affineOperand(const Graph &graph, const std::string &name,
              const std::vector<int64_t> &shape) {
  const Weight *w = graph.findWeight(name);
  if (!w || !w->data->hasValues() || w->data->dtype() != DType::F32)
    return std::nullopt;
  const std::vector<int64_t> &dims = w->data->dims();
  int64_t elements =
      std::accumulate(shape.begin(), shape.end(), int64_t(1),
                      [](int64_t a, int64_t b) { return a * b; });
  if (w->data->numElements() != elements || dims.size() < shape.size())
    return std::nullopt;
  size_t lead = dims.size() - shape.size();
  for (size_t i = 0; i < dims.size(); ++i)
    if (i < lead ? dims[i] != 1 : dims[i] != shape[i - lead])
      return std::nullopt;
  return w->data->toFloats();
}

class FuseLayerNormPass : public Pass {
public:
  FuseLayerNormPass() : Pass(fuseLayerNormPassInfo()) {}

  llvm::Error run(Module &module) override {
    for (const auto &node : module.graph.nodes())
      if (isOp(node.get(), "RoiAlign")) {
        SL_DEBUG(debugStream() << DEBUG_TYPE << ": RoiAlign changes meaning "
                               << "at opset 16; not fusing\n");
        return llvm::Error::success();
      }
    // Each fusion invalidates use lists; restart the scan after one.
    while (fuseOne(module)) {
      statistics().add(kFused);
      int64_t &opset = module.opsetImports[""];
      opset = std::max(opset, kLayerNormOpset);
    }
    return llvm::Error::success();
  }

private:
  bool fuseOne(Module &module);
};

bool FuseLayerNormPass::fuseOne(Module &module) {
  Graph &graph = module.graph;
  UseDefInfo uses(graph);
  for (const auto &owned : graph.nodes()) {
    const Node *mean = owned.get();
    if (!isOp(mean, "ReduceMean") || mean->inputs.size() != 1)
      continue;
    const std::string x = mean->inputs[0];
    TensorType xType = graph.getType(x);
    if (xType.dtype != DType::F32 || !xType.hasRank())
      continue;
    const int64_t rank = int64_t(xType.rank());
    std::vector<int64_t> axes = reducedAxes(*mean, rank);
    // A suffix of the axes: [a, a+1, ..., rank-1].
    if (axes.empty() || axes.back() != rank - 1 ||
        axes.back() - axes.front() + 1 != int64_t(axes.size()))
      continue;

    const Node *sub = soleUser(uses, mean->outputs[0]);
    if (!isOp(sub, "Sub") || sub->inputs.size() != 2 || sub->inputs[0] != x ||
        sub->inputs[1] != mean->outputs[0])
      continue;
    const std::string d = sub->outputs[0];
    if (uses.isGraphOutput(d) || uses.users(d).size() != 2)
      continue;
    const Node *square = nullptr, *div = nullptr;
    for (const Node *user : uses.users(d)) {
      if (isOp(user, "Div") && user->inputs.size() == 2 && user->inputs[0] == d)
        div = user;
      else if ((isOp(user, "Pow") && user->inputs.size() == 2 &&
                user->inputs[0] == d &&
                isNear(constantScalar(graph, user->inputs[1]), 2.0)) ||
               (isOp(user, "Mul") && user->inputs.size() == 2 &&
                user->inputs[0] == d && user->inputs[1] == d))
        square = user;
    }
    if (!square || !div)
      continue;
    const Node *variance = soleUser(uses, square->outputs[0]);
    if (!isOp(variance, "ReduceMean") || variance->inputs.size() != 1 ||
        reducedAxes(*variance, rank) != axes)
      continue;
    const Node *addEps = soleUser(uses, variance->outputs[0]);
    if (!isOp(addEps, "Add"))
      continue;
    std::string epsName = otherOperand(*addEps, variance->outputs[0]);
    std::optional<double> epsilon = constantScalar(graph, epsName);
    if (!epsilon || *epsilon < 0)
      continue;
    const Node *sqrt = soleUser(uses, addEps->outputs[0]);
    if (!isOp(sqrt, "Sqrt"))
      continue;
    if (soleUser(uses, sqrt->outputs[0]) != div ||
        div->inputs[1] != sqrt->outputs[0])
      continue;

    // The normalised shape must be known to check gamma and beta.
    std::vector<int64_t> shape;
    bool known = true;
    for (int64_t a = axes.front(); a < rank; ++a) {
      const Dim &dim = (*xType.dims)[size_t(a)];
      known &= dim.isKnown();
      shape.push_back(dim.size());
    }
    if (!known)
      continue;

    std::vector<const Node *> matched = {mean,   sub,  square, variance,
                                         addEps, sqrt, div};
    std::vector<std::string> constants = {epsName};
    if (isOp(square, "Pow"))
      constants.push_back(square->inputs[1]);
    std::string y = div->outputs[0];
    std::string gammaName, betaName;
    std::optional<std::vector<float>> gamma, beta;
    if (const Node *mul = soleUser(uses, y); isOp(mul, "Mul")) {
      gammaName = otherOperand(*mul, y);
      gamma = affineOperand(graph, gammaName, shape);
      if (gamma) {
        matched.push_back(mul);
        y = mul->outputs[0];
        if (const Node *add = soleUser(uses, y); isOp(add, "Add")) {
          betaName = otherOperand(*add, y);
          beta = affineOperand(graph, betaName, shape);
          if (beta) {
            matched.push_back(add);
            y = add->outputs[0];
          }
        }
      }
    }
    if (graph.getType(y).hasRank() && graph.getType(y).rank() != xType.rank())
      continue; // defensive: affineOperand already rules out broadcasting up

    // The scale and bias operands, reshaped to the normalised shape when
    // stored with leading 1s (or made: ones, without gamma).
    auto operandFor = [&](const std::string &name,
                          const std::optional<std::vector<float>> &values,
                          const char *hint, float fill) -> std::string {
      const Weight *w = name.empty() ? nullptr : graph.findWeight(name);
      if (values && w && w->data->dims() == shape)
        return name;
      std::string fresh = graph.uniqueName(name.empty() ? div->outputs[0] + hint
                                                        : name + ".reshaped");
      std::vector<float> data =
          values ? *values
                 : std::vector<float>(
                       size_t(std::accumulate(
                           shape.begin(), shape.end(), int64_t(1),
                           [](int64_t a, int64_t b) { return a * b; })),
                       fill);
      graph.setWeight(Weight{fresh, TensorData::fromFloats(shape, data), {}});
      if (!name.empty())
        constants.push_back(name);
      return fresh;
    };
    Node fused;
    fused.opType = "LayerNormalization";
    fused.name = fusion::fusedNodeName(graph, *div, "LayerNormalization");
    fused.inputs = {x,
                    operandFor(gamma ? gammaName : "", gamma, ".scale", 1.0f)};
    if (beta)
      fused.inputs.push_back(operandFor(betaName, beta, ".bias", 0.0f));
    fused.outputs = {y};
    fused.attributes["axis"] = Attribute(axes.front());
    fused.attributes["epsilon"] = Attribute(float(*epsilon));
    SL_DEBUG(debugStream() << DEBUG_TYPE << ": " << matched.size()
                           << " nodes from " << mean->displayName() << " to '"
                           << y << "' become " << fused.name << "\n");
    fusion::replaceNodes(graph, matched, std::move(fused), constants);
    return true;
  }
  return false;
}

} // namespace

const PassInfo &fuseLayerNormPassInfo() {
  static const PassInfo info = {
      "fuse-layernorm",
      "Replace decomposed layer norms (ReduceMean, Sub, Pow, ReduceMean, "
      "Add, Sqrt, Div, Mul, Add) by LayerNormalization",
      {},
      {{kFused, "layer norms fused into LayerNormalization"}},
      [](const PassOptions &) -> llvm::Expected<std::unique_ptr<Pass>> {
        return std::make_unique<FuseLayerNormPass>();
      }};
  return info;
}

} // namespace sparseloom
