//===- Verifier.cpp - Structural checks of the IR -------------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// verify() checks, in this order, and reports the first problem:
//  1. definitions: every value is defined once (graph input, weight or node
//     output), and every node has at least one named output;
//  2. uses: every name a node reads is defined somewhere;
//  3. order: every name is defined before the node that reads it; a cycle is
//     reported as such (via topologicalOrder), anything else as an order that
//     is not topological;
//  4. every graph output is defined;
//  5. types: every defined value has a type entry, and a weight's recorded
//     type is its data's type;
//  6. elementwise ops (OpElementwise in the registry): operands share one
//     element type, and static shapes broadcast (numpy rules) to the static
//     shape of the first output.
// Checks 2 and 3 are separate passes so that a graph with both an undefined
// name and a misordered node reports the undefined name, whose fix is
// independent of the order.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/IR/Verifier.h"

#include "sparseloom/IR/Analysis.h"
#include "sparseloom/IR/OpRegistry.h"
#include "sparseloom/Support/Diagnostics.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace sparseloom {

namespace {

/// Elementwise ops whose ONNX schema gives operands different type
/// parameters, so "all operands share one element type" does not hold. The
/// registry has no property for this and one is not worth adding for a
/// handful of ops; every other elementwise op must have matching operands.
struct ElementwiseException {
  const char *name;
  /// First operand that takes part in the element-type check; operands
  /// before it have their own type (Where's bool condition). -1: none do.
  int firstSameTypeOperand;
  /// False when operands are not numpy-broadcast against each other (the
  /// per-axis scale of the quantization ops).
  bool numpyBroadcast;
};

constexpr ElementwiseException kElementwiseExceptions[] = {
    {"Where", 1, true},
    {"Pow", -1, true}, // exponent type T1 may differ from base type T
    {"QuantizeLinear", -1, false},
    {"DequantizeLinear", -1, false},
};

const ElementwiseException *findException(const Node &node) {
  for (const ElementwiseException &e : kElementwiseExceptions)
    if (node.opType == e.name)
      return &e;
  return nullptr;
}

/// Numpy broadcasting of two static shapes; nullopt when incompatible.
std::optional<std::vector<int64_t>> broadcast(const std::vector<int64_t> &a,
                                              const std::vector<int64_t> &b) {
  size_t rank = std::max(a.size(), b.size());
  std::vector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    // Align from the trailing dimension; missing leading dims act as 1.
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      return std::nullopt;
    out[i] = da == 1 ? db : da;
  }
  return out;
}

std::string formatSizes(const std::vector<int64_t> &sizes) {
  std::string s = "[";
  for (size_t i = 0; i < sizes.size(); ++i)
    s += (i ? "," : "") + std::to_string(sizes[i]);
  return s + "]";
}

llvm::Error verifyElementwise(const Graph &graph, const Node &node) {
  const OpInfo *info = lookupOp(node);
  if (!info || !info->has(OpElementwise))
    return llvm::Error::success();
  const ElementwiseException *exception = findException(node);

  // Element types: every known operand type from the first checked operand
  // on must equal the first known one. Unknown (Undefined) types are skipped:
  // shape inference may not have reached them yet.
  int firstTyped = exception ? exception->firstSameTypeOperand : 0;
  if (firstTyped >= 0) {
    const std::string *firstName = nullptr;
    DType firstType = DType::Undefined;
    for (size_t i = size_t(firstTyped); i < node.inputs.size(); ++i) {
      const std::string &in = node.inputs[i];
      if (in.empty())
        continue;
      DType t = graph.getType(in).dtype;
      if (t == DType::Undefined)
        continue;
      if (!firstName) {
        firstName = &in;
        firstType = t;
        continue;
      }
      if (t != firstType)
        return makeNodeError(node.displayName(),
                             node.opType +
                                 " operands have different element types: '" +
                                 *firstName + "' is " + dtypeName(firstType) +
                                 " but '" + in + "' is " + dtypeName(t));
    }
  }

  if (exception && !exception->numpyBroadcast)
    return llvm::Error::success();
  // Shapes: the static operands must broadcast together; when every operand
  // is static the first output, if static, must have the broadcast shape.
  std::optional<std::vector<int64_t>> shape;
  const std::string *firstStatic = nullptr;
  size_t numStatic = 0;
  bool allStatic = true;
  for (const std::string &in : node.inputs) {
    if (in.empty())
      continue;
    TensorType t = graph.getType(in);
    if (!t.isStatic()) {
      allStatic = false;
      continue;
    }
    std::vector<int64_t> sizes = t.sizes();
    if (numStatic++ == 0) {
      shape = sizes;
      firstStatic = &in;
      continue;
    }
    auto merged = broadcast(*shape, sizes);
    if (!merged)
      return makeNodeError(
          node.displayName(),
          "operand '" + in + "' of shape " + formatSizes(sizes) +
              " does not broadcast with " +
              (numStatic == 2 ? "'" + *firstStatic + "' of shape "
                              : std::string("the earlier operands' shape ")) +
              formatSizes(*shape));
    shape = std::move(merged);
  }
  if (!allStatic || !shape || node.outputs.empty() || node.outputs[0].empty())
    return llvm::Error::success();
  TensorType outType = graph.getType(node.outputs[0]);
  if (outType.isStatic() && outType.sizes() != *shape)
    return makeNodeError(node.displayName(),
                         "output '" + node.outputs[0] + "' has shape " +
                             formatSizes(outType.sizes()) +
                             " but its operands broadcast to " +
                             formatSizes(*shape));
  return llvm::Error::success();
}

} // namespace

llvm::Error verify(const Module &module) {
  const Graph &graph = module.graph;

  // --- 1. Every value is defined exactly once. ---------------------------
  // Maps each defined name to a phrase saying how, for the duplicate message.
  llvm::StringMap<std::string> definedAs;
  for (size_t i = 0; i < graph.inputs.size(); ++i) {
    const std::string &in = graph.inputs[i];
    if (in.empty())
      return makeError("graph input #" + llvm::Twine(i) + " has an empty name");
    if (!definedAs.try_emplace(in, "a graph input").second)
      return makeError("value '" + in +
                       "' is defined more than once: twice as a graph input");
  }
  for (const auto &entry : graph.weights()) {
    const std::string &name = entry.first;
    if (name.empty())
      return makeError("a weight has an empty name");
    if (!entry.second.data)
      return makeError("weight '" + name + "' has no data");
    auto inserted = definedAs.try_emplace(name, "a weight");
    if (!inserted.second)
      return makeError("value '" + name + "' is defined more than once: as " +
                       inserted.first->second + " and as a weight");
  }
  for (const auto &node : graph.nodes()) {
    // An empty output name is an omitted optional output (ONNX writes LSTM's
    // unused Y as ""). Without per-op output schemas we cannot tell which
    // are optional, but a node that names no output at all does nothing.
    bool named = false;
    for (const std::string &out : node->outputs) {
      if (out.empty())
        continue;
      named = true;
      auto inserted =
          definedAs.try_emplace(out, "an output of " + node->displayName());
      if (!inserted.second)
        return makeNodeError(node->displayName(),
                             "defines '" + out +
                                 "', which is already defined as " +
                                 inserted.first->second);
    }
    if (!named)
      return makeNodeError(node->displayName(),
                           "has no named output (every output is omitted)");
  }

  // --- 2. Every name read is defined. ------------------------------------
  for (const auto &node : graph.nodes())
    for (const std::string &in : node->inputs)
      if (!in.empty() && !definedAs.count(in))
        return makeNodeError(node->displayName(),
                             "reads '" + in +
                                 "', which no node, input or weight defines");

  // --- 3. ...and defined before it is read. ------------------------------
  llvm::StringSet<> available;
  for (const std::string &in : graph.inputs)
    available.insert(in);
  for (const auto &entry : graph.weights())
    available.insert(entry.first);
  for (const auto &node : graph.nodes()) {
    for (const std::string &in : node->inputs) {
      if (in.empty() || available.count(in))
        continue;
      // A cycle cannot be fixed by reordering, so say so when there is one.
      // After check 2 the only way topologicalOrder can fail is a cycle.
      if (auto order = topologicalOrder(graph); !order)
        return order.takeError();
      return makeNodeError(node->displayName(),
                           "uses '" + in +
                               "' before it is defined (the node order is not "
                               "topological)");
    }
    for (const std::string &out : node->outputs)
      if (!out.empty())
        available.insert(out);
  }

  // --- 4. Graph outputs. -------------------------------------------------
  for (size_t i = 0; i < graph.outputs.size(); ++i) {
    const std::string &out = graph.outputs[i];
    if (out.empty())
      return makeError("graph output #" + llvm::Twine(i) +
                       " has an empty name");
    if (!definedAs.count(out))
      return makeError("graph output '" + out +
                       "' is not defined by any node, input or weight");
  }

  // --- 5. Types. ---------------------------------------------------------
  for (const std::string &in : graph.inputs)
    if (!graph.hasType(in))
      return makeError("graph input '" + in + "' has no type");
  for (const auto &entry : graph.weights()) {
    const std::string &name = entry.first;
    if (!graph.hasType(name))
      return makeError("weight '" + name + "' has no type");
    TensorType recorded = graph.getType(name);
    TensorType actual = entry.second.data->type();
    if (recorded != actual)
      return makeError("weight '" + name + "' is recorded as " +
                       formatType(recorded) + " but its data is " +
                       formatType(actual));
  }
  for (const auto &node : graph.nodes())
    for (const std::string &out : node->outputs)
      if (!out.empty() && !graph.hasType(out))
        return makeNodeError(node->displayName(),
                             "output '" + out + "' has no type");

  // --- 6. Elementwise operand types and shapes. --------------------------
  for (const auto &node : graph.nodes())
    if (llvm::Error err = verifyElementwise(graph, *node))
      return err;

  return llvm::Error::success();
}

} // namespace sparseloom
