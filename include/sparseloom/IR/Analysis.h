//===- Analysis.h - Graph utilities passes build on -------------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Derived views of a Graph, computed on demand: who defines and who reads each
// value, a topological order, liveness over the node order (what is live
// across each gap between nodes, the basis of boundary detection), dominance
// over the node order, subgraph extraction, and a structural hash that
// ignores weight values (two variants of a pruned family hash equal).
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_IR_ANALYSIS_H
#define SPARSELOOM_IR_ANALYSIS_H

#include "sparseloom/IR/Module.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sparseloom {

/// Def-use information for one graph snapshot. Invalidated by any mutation.
class UseDefInfo {
public:
  explicit UseDefInfo(const Graph &graph);

  /// The node defining `value`, or nullptr for graph inputs, weights and
  /// undefined names.
  const Node *definingNode(llvm::StringRef value) const;
  /// The nodes reading `value`, in program order, one entry per reading node.
  const std::vector<const Node *> &users(llvm::StringRef value) const;
  /// True when the value is a graph output.
  bool isGraphOutput(llvm::StringRef value) const;
  /// True when nothing reads the value and it is not a graph output.
  bool isDead(llvm::StringRef value) const;

private:
  std::map<std::string, const Node *, std::less<>> defs_;
  std::map<std::string, std::vector<const Node *>, std::less<>> users_;
  std::map<std::string, bool, std::less<>> outputs_;
  std::vector<const Node *> empty_;
};

/// A topological order of the nodes (stable: keeps the current order where
/// it is already valid). Fails naming a node on a cycle, or naming a node
/// that reads an undefined value.
llvm::Expected<std::vector<const Node *>> topologicalOrder(const Graph &graph);

/// Liveness over the current node order. A *gap* g (0 <= g <= numNodes) lies
/// just before node g; gap numNodes is after the last node.
class Liveness {
public:
  explicit Liveness(const Graph &graph);
  /// Activation values (not weights, not graph inputs unless still read later)
  /// defined before gap g and read at or after it, or graph outputs defined
  /// before it. Sorted by name.
  const std::vector<std::string> &liveAcross(size_t gap) const {
    return live_[gap];
  }
  size_t numGaps() const { return live_.size(); }

private:
  std::vector<std::vector<std::string>> live_;
};

/// Dominance over the node order of a DAG: node A dominates node B when every
/// path from a graph input to B passes through A. Only activation edges
/// count: weights, and node outputs computed from constants alone, are not
/// paths (else every Conv would hang off the root). Used to prove a cut point
/// does not split a block.
class Dominance {
public:
  explicit Dominance(const Graph &graph);
  bool dominates(const Node *a, const Node *b) const;
  /// Immediate dominator, or nullptr when it is the virtual root: nodes
  /// reached directly from a graph input, or from no activation at all.
  const Node *immediateDominator(const Node *node) const;

private:
  const Graph &graph_;
  std::map<const Node *, const Node *> idom_;
  std::map<const Node *, int> index_;
};

/// Builds a standalone module from `nodes` of `module`'s graph: values read
/// but not defined inside become graph inputs (weights are copied as weights),
/// values defined inside and read outside (or graph outputs) become graph
/// outputs. Order of inputs/outputs follows first use/definition. Metadata
/// and opset imports are copied.
llvm::Expected<std::unique_ptr<Module>>
extractSubgraph(const Module &module, const std::vector<const Node *> &nodes,
                llvm::StringRef subgraphName);

/// Hash of the graph's structure: ops, domains, attributes, connectivity and
/// value types, and weight types; ignores weight values, value names and
/// node names.
uint64_t structuralHash(const Graph &graph);

} // namespace sparseloom

#endif // SPARSELOOM_IR_ANALYSIS_H
