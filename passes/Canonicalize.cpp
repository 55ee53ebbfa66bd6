//===- Canonicalize.cpp - Inference-time cleanups of an imported graph ----===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Brings a freshly imported model to the form every later stage assumes:
//  - Constant nodes become weights, so "is this operand constant?" is one
//    question (is it a weight?) everywhere else;
//  - ops that do nothing at inference (Identity, Dropout) disappear, keeping
//    graph output names stable;
//  - BatchNormalization after a Conv is folded into the Conv's weight and
//    bias, so pruning and sparsity analysis see the weights that really run;
//  - shape arithmetic on constants (the Shape -> Gather -> Unsqueeze ->
//    Concat -> Reshape chains exporters write for a dynamic batch) is
//    evaluated, turning Reshape targets into weights;
//  - dead nodes and unread weights are removed.
// The steps feed each other (a fold makes a node dead, removing a Dropout
// exposes a Conv to a BatchNormalization), so they repeat until nothing
// changes. Every step keeps each value typed and the node order topological.
//
// Which nodes a step touches is decided by op properties (OpRegistry.h), not
// by op names; the exceptions are named where they occur.
//
//===----------------------------------------------------------------------===//

#include "ConstantFolding.h"
#include "Passes.h"

#include "sparseloom/IR/Analysis.h"
#include "sparseloom/IR/OpRegistry.h"
#include "sparseloom/Support/Diagnostics.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#define DEBUG_TYPE "canonicalize"

namespace sparseloom {

namespace {

constexpr const char *kMaxFoldElements = "max-fold-elements";
constexpr int64_t kDefaultMaxFoldElements = 4096;

// Statistic names, declared once in the PassInfo below.
constexpr const char *kIdentityRemoved = "identity-removed";
constexpr const char *kDropoutRemoved = "dropout-removed";
constexpr const char *kNoOpsKept = "noops-kept";
constexpr const char *kBatchNormFolded = "batchnorm-folded";
constexpr const char *kConstantsToWeights = "constants-to-weights";
constexpr const char *kShapeOpsFolded = "shape-ops-folded";
constexpr const char *kDeadNodesRemoved = "dead-nodes-removed";
constexpr const char *kWeightsRemoved = "weights-removed";

/// Mutable pointers to the current nodes. Steps iterate over this snapshot so
/// they may erase the node they are looking at; the Node objects themselves
/// do not move when others are erased.
std::vector<Node *> snapshotNodes(Graph &graph) {
  std::vector<Node *> nodes;
  nodes.reserve(graph.numNodes());
  for (const auto &node : graph.nodes())
    nodes.push_back(node.get());
  return nodes;
}

Node *mutableNode(Graph &graph, const Node *node) {
  int index = graph.indexOf(node);
  return index < 0 ? nullptr : graph.nodes()[size_t(index)].get();
}

/// An f32 weight with known values named `name`, or null.
const Weight *f32WeightWithValues(const Graph &graph, llvm::StringRef name) {
  const Weight *w = name.empty() ? nullptr : graph.findWeight(name);
  if (!w || !w->data || !w->data->hasValues() || w->data->dtype() != DType::F32)
    return nullptr;
  return w;
}

/// The type to keep when one value replaces another that must have had the
/// same type: the better-known one.
TensorType betterType(const TensorType &a, const TensorType &b) {
  if (a.dtype == DType::Undefined || (!a.hasRank() && b.hasRank()))
    return b;
  return a;
}

/// True when `folded` agrees with everything `declared` states.
bool matchesDeclaredType(const TensorType &declared, const TensorData &folded) {
  if (declared.dtype != DType::Undefined && declared.dtype != folded.dtype())
    return false;
  if (!declared.hasRank())
    return true;
  if (declared.rank() != folded.dims().size())
    return false;
  for (size_t i = 0; i < declared.rank(); ++i) {
    const Dim &d = (*declared.dims)[i];
    if (d.isKnown() && d.size() != folded.dims()[i])
      return false;
  }
  return true;
}

class CanonicalizePass : public Pass {
public:
  CanonicalizePass(const PassInfo &info, int64_t maxFoldElements)
      : Pass(info), maxFoldElements_(maxFoldElements) {}

  llvm::Error run(Module &module) override;

private:
  llvm::Expected<bool> constantsToWeights(Graph &graph);
  bool removeNoOps(Graph &graph);
  bool foldBatchNorms(Graph &graph);
  bool foldBatchNormInto(Graph &graph, const UseDefInfo &uses, Node &conv,
                         const Node &bn);
  llvm::Expected<bool> foldShapeComputations(Graph &graph, int64_t opset);
  bool removeDeadNodes(Graph &graph);
  bool removeDeadWeights(Graph &graph);

  int64_t maxFoldElements_;
};

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

llvm::Expected<bool> CanonicalizePass::constantsToWeights(Graph &graph) {
  bool changed = false;
  UseDefInfo uses(graph);
  for (Node *node : snapshotNodes(graph)) {
    const OpInfo *info = lookupOp(*node);
    if (!info || !info->has(OpConstantSource) || node->outputs.size() != 1)
      continue;
    // A graph output stays the output of a node: exported ONNX graphs whose
    // outputs are initializers are not accepted by every consumer.
    std::string out = node->outputs[0];
    if (out.empty() || uses.isGraphOutput(out))
      continue;
    auto value = folding::constantNodeValue(*node);
    if (!value)
      return value.takeError();
    SL_DEBUG(debugStream() << DEBUG_TYPE << ": Constant '" << out
                           << "' becomes a weight\n");
    graph.eraseNode(node);
    graph.setWeight(Weight{out, *value, {}});
    statistics().add(kConstantsToWeights);
    changed = true;
  }
  return changed;
}

//===----------------------------------------------------------------------===//
// No-ops at inference
//===----------------------------------------------------------------------===//

/// False when this OpInferenceNoOp node does not forward its input here.
/// Dropout is the one no-op with a mode operand: with training_mode (input
/// 2) not provably false it drops elements, so it must stay.
bool forwardsInput(const Graph &graph, const Node &node) {
  if (node.opType != "Dropout" || node.inputs.size() < 3 ||
      node.inputs[2].empty())
    return true;
  const Weight *mode = graph.findWeight(node.inputs[2]);
  return mode && mode->data->hasValues() && mode->data->numNonZeros() == 0;
}

bool CanonicalizePass::removeNoOps(Graph &graph) {
  bool changed = false;
  // Each removal rewires names, which makes a UseDefInfo stale. Rather than
  // recomputing it per node, a sweep skips nodes whose names an earlier
  // removal in the same sweep touched and leaves them to the next sweep;
  // only chains of no-ops need more than one.
  for (bool progress = true; progress;) {
    progress = false;
    UseDefInfo uses(graph);
    std::set<std::string> touched;
    for (Node *node : snapshotNodes(graph)) {
      const OpInfo *info = lookupOp(*node);
      if (!info || !info->has(OpInferenceNoOp) || node->inputs.empty() ||
          node->outputs.empty())
        continue;
      const std::string in = node->inputs[0], out = node->outputs[0];
      if (in.empty() || out.empty() || touched.count(in) || touched.count(out))
        continue;
      // Extra outputs (Dropout's mask) must be unused: a removed node cannot
      // produce them.
      bool extraUsed = false;
      for (size_t i = 1; i < node->outputs.size(); ++i)
        extraUsed |=
            !node->outputs[i].empty() &&
            (!uses.isDead(node->outputs[i]) || touched.count(node->outputs[i]));
      if (extraUsed || !forwardsInput(graph, *node))
        continue;

      const char *stat =
          node->opType == "Dropout" ? kDropoutRemoved : kIdentityRemoved;
      std::string display = node->displayName();
      if (!uses.isGraphOutput(out)) {
        SL_DEBUG(debugStream()
                 << DEBUG_TYPE << ": removed " << display << "; readers of '"
                 << out << "' read '" << in << "'\n");
        graph.replaceAllUsesWith(out, in);
      } else {
        // `out` is a graph output, whose name users of the model rely on.
        // The producer of `in` can take the name over, unless `in` is
        // itself something that must keep its name (a graph input, a
        // weight, another graph output); then the node has to stay.
        const Node *producer = uses.definingNode(in);
        Node *p = producer ? mutableNode(graph, producer) : nullptr;
        if (!p || uses.isGraphOutput(in) || touched.count(in))
          continue;
        TensorType type = betterType(graph.getType(in), graph.getType(out));
        SL_DEBUG(debugStream() << DEBUG_TYPE << ": removed " << display << "; '"
                               << in << "' is renamed to the graph "
                               << "output '" << out << "'\n");
        graph.eraseNode(node); // keeps the type of `out`, a graph output
        node = nullptr;
        for (std::string &o : p->outputs)
          if (o == in)
            o = out;
        graph.replaceAllUsesWith(in, out);
        graph.eraseType(in);
        graph.setType(out, type);
      }
      if (node)
        graph.eraseNode(node);
      touched.insert(in);
      touched.insert(out);
      statistics().add(stat);
      progress = changed = true;
    }
  }
  return changed;
}

//===----------------------------------------------------------------------===//
// BatchNormalization folding
//===----------------------------------------------------------------------===//

/// The name for a bias created by folding: PyTorch names weights
/// "conv1.weight", so "conv1.bias" is what a reader expects.
std::string biasNameHint(llvm::StringRef weightName) {
  if (weightName.endswith("weight"))
    return (weightName.drop_back(6) + "bias").str();
  return (weightName + "_bias").str();
}

/// Writes `data` as the new value of `conv`'s operand `operand`, in place
/// when nothing else reads the old weight, under a fresh name otherwise.
void replaceOperandWeight(Graph &graph, const UseDefInfo &uses, Node &conv,
                          size_t operand, const std::string &nameHint,
                          TensorDataRef data) {
  if (conv.inputs.size() <= operand)
    conv.inputs.resize(operand + 1);
  const std::string old = conv.inputs[operand];
  const Weight *w = old.empty() ? nullptr : graph.findWeight(old);
  bool exclusive = w && uses.users(old).size() == 1 && !uses.isGraphOutput(old);
  std::string name = exclusive ? old : graph.uniqueName(nameHint);
  // Annotations described the old values (a density, say); they are stale.
  graph.setWeight(Weight{name, std::move(data), {}});
  conv.inputs[operand] = name;
}

bool CanonicalizePass::foldBatchNormInto(Graph &graph, const UseDefInfo &uses,
                                         Node &conv, const Node &bn) {
  const Weight *w =
      f32WeightWithValues(graph, conv.inputs.size() > 1 ? conv.inputs[1] : "");
  if (!w || w->data->dims().empty())
    return false;
  const int64_t channels = w->data->dims()[0];
  if (channels <= 0)
    return false;
  const int64_t perChannel = w->data->numElements() / channels;

  // Conv's optional bias, then BN's scale, B, mean and var: all per-channel.
  const Weight *bias = nullptr;
  if (conv.inputs.size() > 2 && !conv.inputs[2].empty()) {
    bias = f32WeightWithValues(graph, conv.inputs[2]);
    if (!bias || bias->data->numElements() != channels)
      return false;
  }
  std::vector<float> params[4];
  for (int i = 0; i < 4; ++i) {
    const Weight *p = f32WeightWithValues(graph, bn.inputs[size_t(i) + 1]);
    // An element count other than C also rules out pre-opset-9 "spatial=0"
    // BatchNormalization, whose parameters are per element.
    if (!p || p->data->numElements() != channels)
      return false;
    params[i] = p->data->toFloats();
  }
  const std::vector<float> &scale = params[0], &shift = params[1],
                           &mean = params[2], &var = params[3];
  double epsilon = 1e-5;
  if (const Attribute *eps = bn.getAttr("epsilon"))
    if (eps->kind() == Attribute::Kind::Float)
      epsilon = eps->getFloat();

  // y = (conv(x) + b - mean) * scale / sqrt(var + eps) + B, per channel m:
  // scaling output channel m of W by s[m] scales conv's output channel m.
  std::vector<float> weights = w->data->toFloats();
  std::vector<float> biases(size_t(channels), 0.0f);
  if (bias)
    biases = bias->data->toFloats();
  for (int64_t m = 0; m < channels; ++m) {
    double denom = double(var[size_t(m)]) + epsilon;
    if (!(denom > 0))
      return false; // a negative variance: folding would invent NaNs
    double s = double(scale[size_t(m)]) / std::sqrt(denom);
    for (int64_t k = 0; k < perChannel; ++k) {
      float &v = weights[size_t(m * perChannel + k)];
      v = float(double(v) * s);
    }
    biases[size_t(m)] = float(
        (double(biases[size_t(m)]) - mean[size_t(m)]) * s + shift[size_t(m)]);
  }

  // Copy what is needed first: setWeight may move the weights w and bias
  // point into.
  const std::string weightHint = w->name + "_bnfold";
  const std::string biasHint =
      bias ? bias->name + "_bnfold" : biasNameHint(w->name);
  std::vector<int64_t> weightDims = w->data->dims();
  replaceOperandWeight(graph, uses, conv, 1, weightHint,
                       TensorData::fromFloats(weightDims, weights));
  replaceOperandWeight(graph, uses, conv, 2, biasHint,
                       TensorData::fromFloats({channels}, biases));
  return true;
}

bool CanonicalizePass::foldBatchNorms(Graph &graph) {
  bool changed = false;
  UseDefInfo uses(graph);
  std::set<std::string> touched;
  for (Node *bn : snapshotNodes(graph)) {
    const OpInfo *info = lookupOp(*bn);
    if (!info || !info->has(OpAffineNormalization) || bn->inputs.size() < 5 ||
        bn->outputs.empty() || bn->getIntAttr("training_mode", 0) != 0)
      continue;
    if (std::any_of(bn->inputs.begin(), bn->inputs.begin() + 5,
                    [](const std::string &s) { return s.empty(); }))
      continue;
    const std::string x = bn->inputs[0], y = bn->outputs[0];
    if (y.empty() || touched.count(x) || touched.count(y))
      continue;
    // Training-mode outputs (running mean/var) cannot survive the fold.
    bool extraUsed = false;
    for (size_t i = 1; i < bn->outputs.size(); ++i)
      extraUsed |= !bn->outputs[i].empty() && !uses.isDead(bn->outputs[i]);
    if (extraUsed)
      continue;

    // The producer must be a Conv whose output only this BN reads. Conv is
    // named because the fold depends on its weight layout (output channels
    // on axis 0); other OpLinearWithWeight ops lay weights out differently.
    const Node *producer = uses.definingNode(x);
    Node *conv = producer ? mutableNode(graph, producer) : nullptr;
    if (!conv || conv->opType != "Conv" || !lookupOp(*conv) ||
        !lookupOp(*conv)->has(OpLinearWithWeight) ||
        conv->outputs.size() != 1 || uses.isGraphOutput(x) ||
        uses.users(x).size() != 1)
      continue;
    if (!foldBatchNormInto(graph, uses, *conv, *bn))
      continue;

    // The Conv now produces the BN's output under the BN's name, so names
    // downstream (and graph outputs) do not change.
    TensorType type = betterType(graph.getType(y), graph.getType(x));
    std::string display = bn->displayName();
    graph.eraseNode(bn);
    conv->outputs[0] = y;
    graph.eraseType(x);
    graph.setType(y, type);
    touched.insert(x);
    touched.insert(y);
    SL_DEBUG(debugStream() << DEBUG_TYPE << ": folded " << display << " into "
                           << conv->displayName() << "\n");
    statistics().add(kBatchNormFolded);
    changed = true;
  }
  return changed;
}

//===----------------------------------------------------------------------===//
// Shape computations
//===----------------------------------------------------------------------===//

llvm::Expected<bool> CanonicalizePass::foldShapeComputations(Graph &graph,
                                                             int64_t opset) {
  bool changed = false;
  // Stale after the first fold, but only in the safe direction: folding
  // removes readers, so "read only by this node" never becomes wrongly true.
  UseDefInfo uses(graph);
  // Program order is topological, so a fold makes its results weights
  // before any reader is visited: whole chains fold in one sweep.
  for (Node *node : snapshotNodes(graph)) {
    const OpInfo *info = lookupOp(*node);
    if (!info)
      continue;
    bool shapeOnly = info->has(OpReadsShapeOnly);
    if (!shapeOnly && !info->has(OpShapeComputation))
      continue;
    if (std::any_of(
            node->outputs.begin(), node->outputs.end(),
            [&](const std::string &o) { return uses.isGraphOutput(o); }))
      continue; // see constantsToWeights

    std::vector<TensorDataRef> results;
    if (shapeOnly) {
      std::vector<TensorType> types;
      for (const std::string &in : node->inputs)
        types.push_back(graph.getType(in));
      if (!folding::evaluateShapeOnlyNode(*node, types, opset, results))
        continue;
    } else {
      if (!folding::hasEvaluator(*node))
        continue;
      std::vector<TensorDataRef> inputs;
      // Results may exceed max-fold-elements only when the node's own
      // operands die with it and are at least as large: then the fold
      // replaces weights rather than duplicating them (Reshape of a weight).
      int64_t freed = 0;
      std::set<std::string> counted;
      bool allConstant = true;
      for (const std::string &in : node->inputs) {
        if (in.empty()) {
          inputs.push_back(nullptr);
          continue;
        }
        const Weight *w = graph.findWeight(in);
        if (!w || !w->data->hasValues()) {
          allConstant = false;
          break;
        }
        inputs.push_back(w->data);
        if (counted.insert(in).second && uses.users(in).size() == 1 &&
            !uses.isGraphOutput(in))
          freed += w->data->numElements();
      }
      if (!allConstant)
        continue;
      auto folded = folding::evaluateNode(
          *node, inputs, opset, std::max(maxFoldElements_, freed), results);
      if (!folded)
        return folded.takeError();
      if (!*folded)
        continue;
    }

    bool consistent = results.size() == node->outputs.size();
    for (size_t i = 0; consistent && i < results.size(); ++i)
      consistent =
          node->outputs[i].empty() ||
          matchesDeclaredType(graph.getType(node->outputs[i]), *results[i]);
    if (!consistent) {
      // The recorded type disagrees with the computed value; keeping the
      // node is safe, and the verifier or shape inference will say more.
      SL_DEBUG(debugStream()
               << DEBUG_TYPE << ": not folding " << node->displayName()
               << ": result disagrees with its recorded type\n");
      continue;
    }
    SL_DEBUG(debugStream() << DEBUG_TYPE << ": folded " << node->displayName()
                           << "\n");
    std::vector<std::string> outputs = node->outputs;
    graph.eraseNode(node);
    for (size_t i = 0; i < outputs.size(); ++i)
      if (!outputs[i].empty())
        graph.setWeight(Weight{outputs[i], results[i], {}});
    statistics().add(kShapeOpsFolded);
    changed = true;
  }
  return changed;
}

//===----------------------------------------------------------------------===//
// Dead code
//===----------------------------------------------------------------------===//

bool CanonicalizePass::removeDeadNodes(Graph &graph) {
  // Reverse program order with live read counts: removing a node releases
  // its operands, so a whole dead chain goes in one sweep.
  std::map<std::string, int64_t, std::less<>> reads;
  for (const auto &node : graph.nodes())
    for (const std::string &in : node->inputs)
      if (!in.empty())
        ++reads[in];
  for (const std::string &out : graph.outputs)
    ++reads[out];
  std::set<const Node *> dead;
  const auto &nodes = graph.nodes();
  for (size_t i = nodes.size(); i-- > 0;) {
    const Node &node = *nodes[i];
    // Ops the registry does not know may have effects; only pure ones go.
    const OpInfo *info = lookupOp(node);
    if (!info || !info->has(OpPure))
      continue;
    bool unused = std::all_of(
        node.outputs.begin(), node.outputs.end(), [&](const std::string &o) {
          auto it = reads.find(o);
          return o.empty() || it == reads.end() || it->second == 0;
        });
    if (!unused)
      continue;
    SL_DEBUG(debugStream() << DEBUG_TYPE << ": removed dead "
                           << node.displayName() << "\n");
    dead.insert(&node);
    for (const std::string &in : node.inputs)
      if (!in.empty())
        --reads[in];
  }
  graph.eraseNodesIf([&](const Node &n) { return dead.count(&n) != 0; });
  statistics().add(kDeadNodesRemoved, int64_t(dead.size()));
  return !dead.empty();
}

bool CanonicalizePass::removeDeadWeights(Graph &graph) {
  std::set<std::string, std::less<>> read(graph.outputs.begin(),
                                          graph.outputs.end());
  for (const auto &node : graph.nodes())
    read.insert(node->inputs.begin(), node->inputs.end());
  std::vector<std::string> unread;
  for (const auto &entry : graph.weights())
    if (!read.count(entry.first))
      unread.push_back(entry.first);
  for (const std::string &name : unread) {
    SL_DEBUG(debugStream() << DEBUG_TYPE << ": removed unread weight '" << name
                           << "'\n");
    graph.removeWeight(name);
  }
  statistics().add(kWeightsRemoved, int64_t(unread.size()));
  return !unread.empty();
}

//===----------------------------------------------------------------------===//
// Driver
//===----------------------------------------------------------------------===//

llvm::Error CanonicalizePass::run(Module &module) {
  Graph &graph = module.graph;
  const int64_t opset = module.opsetVersion("");
  // Every step only removes nodes (or, for weights, removes weights without
  // adding nodes), so the loop ends.
  for (unsigned round = 1;; ++round) {
    bool changed = false;
    auto constants = constantsToWeights(graph);
    if (!constants)
      return constants.takeError();
    changed |= *constants;
    changed |= removeNoOps(graph);
    changed |= foldBatchNorms(graph);
    auto shapes = foldShapeComputations(graph, opset);
    if (!shapes)
      return shapes.takeError();
    changed |= *shapes;
    changed |= removeDeadNodes(graph);
    changed |= removeDeadWeights(graph);
    SL_DEBUG(debugStream() << DEBUG_TYPE << ": round " << round
                           << (changed ? " changed the graph\n"
                                       : " reached a fixed point\n"));
    if (!changed)
      break;
  }
  // What had to stay: a used Dropout mask, a training-mode Dropout, or an
  // Identity between names that must both survive (input to output).
  for (const auto &node : graph.nodes()) {
    const OpInfo *info = lookupOp(*node);
    if (info && info->has(OpInferenceNoOp))
      statistics().add(kNoOpsKept);
  }
  return llvm::Error::success();
}

} // namespace

const PassInfo &canonicalizePassInfo() {
  static const PassInfo info = [] {
    PassInfo i;
    i.name = "canonicalize";
    i.summary = "Remove inference no-ops, fold BatchNorm into Conv, fold "
                "constant shape computations, remove dead code";
    i.options = {
        {kMaxFoldElements,
         "largest result (in elements) a constant fold may create, unless it "
         "replaces operands at least as large",
         std::to_string(kDefaultMaxFoldElements)},
    };
    i.statistics = {
        {kIdentityRemoved, "Identity (and other no-op) nodes removed"},
        {kDropoutRemoved, "Dropout nodes removed"},
        {kNoOpsKept, "no-op nodes that had to stay (used mask, training "
                     "mode, or input-to-output Identity)"},
        {kBatchNormFolded, "BatchNormalization nodes folded into a Conv"},
        {kConstantsToWeights, "Constant nodes turned into weights"},
        {kShapeOpsFolded, "shape computations evaluated into weights"},
        {kDeadNodesRemoved, "nodes removed because nothing read them"},
        {kWeightsRemoved, "weights removed because nothing read them"},
    };
    i.create = [](const PassOptions &options)
        -> llvm::Expected<std::unique_ptr<Pass>> {
      auto maxFold = options.getInt(kMaxFoldElements, kDefaultMaxFoldElements);
      if (!maxFold)
        return maxFold.takeError();
      if (*maxFold < 0)
        return makeError(llvm::Twine("option '") + kMaxFoldElements +
                         "' must not be negative, got " +
                         llvm::Twine(*maxFold));
      return std::make_unique<CanonicalizePass>(canonicalizePassInfo(),
                                                *maxFold);
    };
    return i;
  }();
  return info;
}

} // namespace sparseloom
