//===- Module.h - Values, nodes, graphs and modules -------------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The graph IR every pass works on. It mirrors ONNX closely on purpose: values
// are named (names are the SSA identity, as in ONNX), a node lists the names
// it reads and writes, and weights are named constant values. Keeping ONNX's
// naming makes import/export an identity and error messages point at names a
// user can find in their model.
//
// Invariants (checked by verify()):
//  - every value is defined exactly once: as a graph input, a weight, or a
//    node output;
//  - every name a node reads is defined, and the node order is a topological
//    order (the graph is acyclic);
//  - every defined value has an entry in the type table.
// Derived information (use lists, liveness) is computed on demand by
// IR/Analysis.h rather than cached, so mutations cannot leave it stale.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_IR_MODULE_H
#define SPARSELOOM_IR_MODULE_H

#include "sparseloom/IR/Attribute.h"
#include "sparseloom/IR/TensorData.h"
#include "sparseloom/IR/Types.h"

#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringRef.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sparseloom {

/// An operation. `inputs` may contain empty strings for omitted optional
/// inputs, exactly like ONNX.
struct Node {
  std::string opType;
  std::string domain; // "" is the default ONNX domain
  std::string name;   // source location: the ONNX node name
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  AttributeMap attributes;
  AttributeMap annotations; // written by passes, never exported as ONNX attrs

  const Attribute *getAttr(llvm::StringRef attrName) const;
  int64_t getIntAttr(llvm::StringRef attrName, int64_t defaultValue) const;
  std::vector<int64_t> getIntsAttr(llvm::StringRef attrName) const;
  /// Name for diagnostics: the node name, or "<op> producing <output>".
  std::string displayName() const;
};

/// A named constant tensor (an ONNX initializer).
struct Weight {
  std::string name;
  TensorDataRef data;
  AttributeMap annotations;
};

/// Weights in insertion order with lookup by name.
using WeightMap =
    llvm::MapVector<std::string, Weight, std::map<std::string, unsigned>>;

class Graph {
public:
  std::string name;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;

  // --- Nodes, in program order. ------------------------------------------
  const std::vector<std::unique_ptr<Node>> &nodes() const { return nodes_; }
  size_t numNodes() const { return nodes_.size(); }
  /// Appends a node; the types of its outputs are set separately.
  Node &addNode(Node node);
  /// Inserts before position `index` in the node order.
  Node &insertNode(size_t index, Node node);
  /// Removes the node; it must have no remaining users of its outputs unless
  /// the caller rewires them. Types of its outputs are dropped.
  void eraseNode(const Node *node);
  /// Removes every node for which `pred` is true (and their output types).
  template <typename Pred> void eraseNodesIf(Pred pred) {
    std::vector<const Node *> doomed;
    for (const auto &n : nodes_)
      if (pred(*n))
        doomed.push_back(n.get());
    for (const Node *n : doomed)
      eraseNode(n);
  }
  /// Index of the node in program order, or -1.
  int indexOf(const Node *node) const;
  /// Reorders nodes to match `order` (a permutation of the current nodes).
  void setNodeOrder(const std::vector<const Node *> &order);

  // --- Weights. -----------------------------------------------------------
  const WeightMap &weights() const { return weights_; }
  Weight *findWeight(llvm::StringRef weightName);
  const Weight *findWeight(llvm::StringRef weightName) const;
  /// Adds or replaces a weight and records its type.
  Weight &setWeight(Weight weight);
  void removeWeight(llvm::StringRef weightName);

  // --- Value types. -------------------------------------------------------
  bool hasType(llvm::StringRef valueName) const;
  /// The recorded type, or an unknown type.
  TensorType getType(llvm::StringRef valueName) const;
  void setType(const std::string &valueName, TensorType type);
  void eraseType(llvm::StringRef valueName);
  const std::map<std::string, TensorType, std::less<>> &types() const {
    return types_;
  }

  /// Rewrites every read of `from` (node inputs and graph outputs) to `to`.
  void replaceAllUsesWith(llvm::StringRef from, const std::string &to);
  /// A name not yet used by any value, derived from `hint`.
  std::string uniqueName(llvm::StringRef hint) const;

private:
  std::vector<std::unique_ptr<Node>> nodes_;
  WeightMap weights_;
  std::map<std::string, TensorType, std::less<>> types_;
};

/// A whole model: one graph plus model-level metadata.
class Module {
public:
  int64_t irVersion = 8;
  std::string producerName;
  std::string producerVersion;
  std::string domain;
  int64_t modelVersion = 0;
  std::string docString;
  /// Operator set per domain ("" is the default ONNX domain).
  std::map<std::string, int64_t> opsetImports;
  /// ONNX metadata_props, in file order.
  std::vector<std::pair<std::string, std::string>> metadata;
  /// Free-form results that passes attach to the whole module.
  AttributeMap annotations;
  Graph graph;

  /// The opset version of `domain`, or 0 when not imported.
  int64_t opsetVersion(llvm::StringRef opDomain) const;
  /// Deep copy (tensor storage is shared, it is immutable).
  std::unique_ptr<Module> clone() const;
};

} // namespace sparseloom

#endif // SPARSELOOM_IR_MODULE_H
