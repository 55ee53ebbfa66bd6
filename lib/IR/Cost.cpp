//===- Cost.cpp - FLOPs and parameters of nodes and modules ---------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Per-op FLOP formulas live in one table (kFormulas) because they really are
// per op: a Conv and a Softmax share nothing. Everything the table does not
// name falls back on op properties (elementwise: one per output element;
// data movement, shape queries, constants, no-ops: zero), so a new
// elementwise op needs no change here.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/IR/Cost.h"

#include "sparseloom/IR/OpRegistry.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <algorithm>

namespace sparseloom {

namespace {

/// What a formula reads: the node, the graph's types, and a flag it raises
/// when it had to guess a size.
class CostContext {
public:
  CostContext(const Graph &graph, const Node &node)
      : graph_(graph), node_(node) {}

  const Node &node() const { return node_; }
  bool approximate() const { return approximate_; }
  void markApproximate() { approximate_ = true; }

  bool hasInput(size_t i) const {
    return i < node_.inputs.size() && !node_.inputs[i].empty();
  }
  bool hasOutput(size_t i) const {
    return i < node_.outputs.size() && !node_.outputs[i].empty();
  }

  /// Size of dimension `d` of `value` (negative d counts from the end).
  /// Symbolic sizes count 1; unknown sizes, ranks or values count 1 and make
  /// the estimate approximate.
  double dim(llvm::StringRef value, int64_t d) {
    const TensorType &type = typeOf(value);
    if (!type.hasRank()) {
      markApproximate();
      return 1;
    }
    int64_t rank = int64_t(type.rank());
    if (d < 0)
      d += rank;
    if (d < 0 || d >= rank) {
      markApproximate();
      return 1;
    }
    const Dim &dimension = (*type.dims)[size_t(d)];
    if (dimension.isKnown())
      return double(dimension.size());
    if (dimension.isUnknown())
      markApproximate();
    return 1;
  }

  /// Product of dimensions [from, rank) of `value`.
  double elements(llvm::StringRef value, int64_t from = 0) {
    const TensorType &type = typeOf(value);
    if (!type.hasRank()) {
      markApproximate();
      return 1;
    }
    double product = 1;
    for (int64_t d = from; d < int64_t(type.rank()); ++d)
      product *= dim(value, d);
    return product;
  }

  double inputElements(size_t i) {
    if (!hasInput(i)) {
      markApproximate();
      return 1;
    }
    return elements(node_.inputs[i]);
  }
  /// Elements of output 0; when its type is unknown, the largest input (the
  /// usual broadcast result) is the better guess.
  double outputElements() {
    if (hasOutput(0) && typeOf(node_.outputs[0]).hasRank())
      return elements(node_.outputs[0]);
    markApproximate();
    double largest = 1;
    for (const std::string &in : node_.inputs)
      if (!in.empty() && typeOf(in).hasRank())
        largest = std::max(largest, elements(in));
    return largest;
  }

private:
  /// The recorded type without copying it (formulas ask for it per
  /// dimension); an unknown type when none is recorded.
  const TensorType &typeOf(llvm::StringRef value) const {
    static const TensorType unknown;
    auto it = graph_.types().find(value);
    return it == graph_.types().end() ? unknown : it->second;
  }

  const Graph &graph_;
  const Node &node_;
  bool approximate_ = false;
};

using FlopFormula = double (*)(CostContext &);

/// Conv: weight [M, C/g, k...]; every output element is a dot product of
/// length C/g * prod(k). Dilation changes which inputs are read, not how many.
double convFlops(CostContext &c) {
  const Node &n = c.node();
  double out = c.outputElements();
  double reduction = 1;
  if (c.hasInput(1)) {
    reduction = c.elements(n.inputs[1], 1);
  } else {
    c.markApproximate();
  }
  return 2 * out * reduction + (c.hasInput(2) ? out : 0);
}

/// ConvTranspose: weight [C, M/g, k...]; every input element is scattered
/// into M/g * prod(k) outputs with a multiply-add each.
double convTransposeFlops(CostContext &c) {
  const Node &n = c.node();
  double in = c.inputElements(0);
  double fanOut = c.hasInput(1) ? c.elements(n.inputs[1], 1) : 1;
  if (!c.hasInput(1))
    c.markApproximate();
  return 2 * in * fanOut + (c.hasInput(2) ? c.outputElements() : 0);
}

/// Gemm: Y[M,N] = A'[M,K] B'[K,N] (+ C); K comes from A, transposed or not.
double gemmFlops(CostContext &c) {
  const Node &n = c.node();
  double out = c.outputElements();
  double k = 1;
  if (c.hasInput(0))
    k = c.dim(n.inputs[0], n.getIntAttr("transA", 0) ? 0 : 1);
  else
    c.markApproximate();
  return 2 * out * k + (c.hasInput(2) ? out : 0);
}

/// MatMul (numpy semantics, batched): K is A's last dimension.
double matMulFlops(CostContext &c) {
  const Node &n = c.node();
  double out = c.outputElements();
  double k = c.hasInput(0) ? c.dim(n.inputs[0], -1) : 1;
  if (!c.hasInput(0))
    c.markApproximate();
  return 2 * out * k;
}

/// Pooling with a window: one comparison or addition per window element.
double windowPoolFlops(CostContext &c) {
  std::vector<int64_t> kernel = c.node().getIntsAttr("kernel_shape");
  double window = 1;
  for (int64_t k : kernel)
    window *= double(k);
  if (kernel.empty())
    c.markApproximate();
  return c.outputElements() * window;
}

/// Reductions and global pooling read every input element once.
double perInputElement(CostContext &c) { return c.inputElements(0); }

template <int PerElement> double perOutputElement(CostContext &c) {
  return PerElement * c.outputElements();
}

double zeroFlops(CostContext &) { return 0; }

/// The one table of per-op formulas. Per-element constants are the usual
/// operation counts: BatchNormalization at inference is a scale and a shift
/// (2); LayerNormalization a mean, a centring, a square, a variance mean, a
/// normalization, a scale and a shift, plus the reciprocal square root
/// amortized (8); Softmax a max, a subtraction, an exponential, a sum and a
/// division (5).
const llvm::StringMap<FlopFormula> &formulas() {
  static const llvm::StringMap<FlopFormula> table = {
      {"Conv", convFlops},
      {"ConvTranspose", convTransposeFlops},
      {"Gemm", gemmFlops},
      {"MatMul", matMulFlops},
      {"BatchNormalization", perOutputElement<2>},
      {"LayerNormalization", perOutputElement<8>},
      {"Softmax", perOutputElement<5>},
      {"LogSoftmax", perOutputElement<5>},
      {"ReduceMean", perInputElement},
      {"ReduceSum", perInputElement},
      {"ReduceMax", perInputElement},
      {"MaxPool", windowPoolFlops},
      {"AveragePool", windowPoolFlops},
      {"GlobalAveragePool", perInputElement},
      {"GlobalMaxPool", perInputElement},
      // Fills memory, computes nothing.
      {"ConstantOfShape", zeroFlops},
      {"Range", perOutputElement<1>},
  };
  return table;
}

/// Ops that move or reinterpret data, read shapes, produce constants or
/// vanish at inference do no arithmetic.
bool isZeroCostByProperty(const OpInfo &info) {
  return info.has(OpDataMovement) || info.has(OpReadsShapeOnly) ||
         info.has(OpConstantSource) || info.has(OpInferenceNoOp);
}

} // namespace

NodeCost estimateNodeCost(const Graph &graph, const Node &node) {
  NodeCost cost;
  // Parameters: the weights read directly, each once per node.
  llvm::StringSet<> seen;
  for (const std::string &in : node.inputs) {
    if (in.empty() || !seen.insert(in).second)
      continue;
    if (const Weight *w = graph.findWeight(in)) {
      cost.parameters += w->data->numElements();
      cost.nonzeros += w->data->numNonZeros();
    }
  }

  CostContext context(graph, node);
  const OpInfo *info = lookupOp(node);
  bool defaultDomain = node.domain.empty() || node.domain == "ai.onnx";
  auto formula = formulas().find(node.opType);
  if (defaultDomain && formula != formulas().end()) {
    cost.flops = formula->second(context);
  } else if (info && isZeroCostByProperty(*info)) {
    cost.flops = 0;
  } else if (info && info->has(OpElementwise)) {
    cost.flops = context.outputElements();
  } else {
    // An op without a formula: one operation per output element is the
    // least surprising guess; say that it is one.
    cost.flops = context.outputElements();
    context.markApproximate();
  }
  cost.approximate = context.approximate();
  return cost;
}

ModuleCost estimateModuleCost(const Module &module) {
  ModuleCost total;
  const Graph &graph = module.graph;
  llvm::StringSet<> counted;
  for (const auto &node : graph.nodes()) {
    NodeCost cost = estimateNodeCost(graph, *node);
    total.flops += cost.flops;
    total.approximateNodes += cost.approximate ? 1 : 0;
    for (const std::string &in : node->inputs) {
      if (in.empty() || counted.count(in))
        continue;
      if (const Weight *w = graph.findWeight(in)) {
        counted.insert(in);
        total.parameters += w->data->numElements();
        total.nonzeros += w->data->numNonZeros();
      }
    }
  }
  return total;
}

} // namespace sparseloom
