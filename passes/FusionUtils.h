//===- FusionUtils.h - Matching helpers of the fusion passes ----*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// What fuse-layernorm, fuse-gelu and fuse-activation share: walking a
// single-use chain, recognising constant scalars, naming the fused node after
// the pattern it replaces, and removing the matched nodes together with the
// constants only they read. Private to the passes library.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_PASSES_FUSIONUTILS_H
#define SPARSELOOM_PASSES_FUSIONUTILS_H

#include "sparseloom/IR/Analysis.h"
#include "sparseloom/IR/Module.h"

#include "llvm/ADT/StringRef.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace sparseloom {
namespace fusion {

/// True when `node` is the default-domain op `opType`.
inline bool isOp(const Node *node, llvm::StringRef opType) {
  return node && (node->domain.empty() || node->domain == "ai.onnx") &&
         node->opType == opType;
}

/// The value of a constant holding exactly one number (any rank), or
/// nullopt.
inline std::optional<double> constantScalar(const Graph &graph,
                                            llvm::StringRef name) {
  const Weight *w = name.empty() ? nullptr : graph.findWeight(name);
  if (!w || !w->data->hasValues() || w->data->numElements() != 1 ||
      (w->data->dtype() != DType::F32 && w->data->dtype() != DType::F64))
    return std::nullopt;
  return w->data->elementAsDouble(0);
}

inline bool isNear(std::optional<double> value, double expected,
                   double relTol = 1e-4) {
  return value && std::fabs(*value - expected) <=
                      relTol * std::max(1.0, std::fabs(expected));
}

/// The one node that reads `value`, when exactly one does and the value is
/// not a graph output (so the pattern may swallow it).
inline const Node *soleUser(const UseDefInfo &uses, const std::string &value) {
  if (value.empty() || uses.isGraphOutput(value))
    return nullptr;
  const auto &users = uses.users(value);
  return users.size() == 1 ? users.front() : nullptr;
}

/// For a binary node reading `known`, the other operand ("" when the node
/// is not binary or does not read `known`).
inline std::string otherOperand(const Node &node, const std::string &known) {
  if (node.inputs.size() != 2)
    return "";
  if (node.inputs[0] == known)
    return node.inputs[1];
  if (node.inputs[1] == known)
    return node.inputs[0];
  return "";
}

/// A name for the node replacing a pattern: the anchor's scope
/// ("/layers.0/ln1/" of "/layers.0/ln1/Div") plus `opType`, made unique.
inline std::string fusedNodeName(const Graph &graph, const Node &anchor,
                                 llvm::StringRef opType) {
  llvm::StringRef name = anchor.name;
  size_t slash = name.rfind('/');
  std::string base =
      slash == llvm::StringRef::npos
          ? (name.empty() ? opType.str() : (name + "_" + opType).str())
          : (name.take_front(slash + 1) + opType).str();
  std::set<std::string> taken;
  for (const auto &node : graph.nodes())
    taken.insert(node->name);
  std::string candidate = base;
  for (int i = 1; taken.count(candidate); ++i)
    candidate = base + "_" + std::to_string(i);
  return candidate;
}

/// Replaces the matched `nodes` by `fused`, placed where the last of them
/// was (its inputs are defined before the first matched node, its output is
/// the last one's), and removes the weights in `constants` nothing reads any
/// more. `fused`'s output types must be recorded by the caller.
inline Node &replaceNodes(Graph &graph, const std::vector<const Node *> &nodes,
                          Node fused,
                          const std::vector<std::string> &constants) {
  int last = -1;
  for (const Node *n : nodes)
    last = std::max(last, graph.indexOf(n));
  // Output types of the erased nodes go with them; keep the final one's.
  std::vector<TensorType> keep;
  for (const std::string &out : fused.outputs)
    keep.push_back(graph.getType(out));
  Node &inserted = graph.insertNode(size_t(last), std::move(fused));
  std::set<const Node *> doomed(nodes.begin(), nodes.end());
  graph.eraseNodesIf([&](const Node &n) { return doomed.count(&n) != 0; });
  for (size_t i = 0; i < inserted.outputs.size(); ++i)
    graph.setType(inserted.outputs[i], keep[i]);
  std::set<std::string> read(graph.outputs.begin(), graph.outputs.end());
  for (const auto &node : graph.nodes())
    read.insert(node->inputs.begin(), node->inputs.end());
  for (const std::string &name : constants)
    if (!read.count(name) && graph.findWeight(name))
      graph.removeWeight(name);
  return inserted;
}

} // namespace fusion
} // namespace sparseloom

#endif // SPARSELOOM_PASSES_FUSIONUTILS_H
