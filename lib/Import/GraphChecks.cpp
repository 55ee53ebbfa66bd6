//===- GraphChecks.cpp - SparseLoom's own checks of an ONNX graph ---------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Structural checks the IR's invariants depend on (Module.h): every value
// defined exactly once, every read defined, an acyclic graph in topological
// order, and only attribute and element types the IR can hold. ONNX's
// checker covers part of this, but it can be switched off, it reports a
// dangling read and a cycle with the same text, and it runs after these
// checks here so that the user sees an error that names the node and says
// what to fix. Acyclic graphs whose nodes are merely out of order (some
// exporters write them so) are put into topological order rather than
// rejected.
//
//===----------------------------------------------------------------------===//

#include "ImportInternal.h"

#include "sparseloom/Support/Diagnostics.h"

#include <algorithm>
#include <queue>
#include <set>
#include <unordered_map>

namespace sparseloom {
namespace onnx_import {

namespace {

/// How a value is defined; used to say where the first definition was.
struct Definition {
  enum Kind { Input, Initializer, NodeOutput } kind;
  int node = -1; // for NodeOutput
};

std::string describe(const Definition &def, const onnx::GraphProto &graph) {
  switch (def.kind) {
  case Definition::Input:
    return "a graph input";
  case Definition::Initializer:
    return "an initializer";
  case Definition::NodeOutput:
    return "node " + nodeDisplayName(graph.node(def.node));
  }
  return "";
}

llvm::Error checkAttributes(const onnx::NodeProto &node) {
  for (const onnx::AttributeProto &attr : node.attribute()) {
    if (!attr.ref_attr_name().empty())
      return makeNodeError(
          nodeDisplayName(node),
          "attribute '" + attr.name() +
              "' refers to a function attribute; only model graphs "
              "can be imported");
    switch (attr.type()) {
    case onnx::AttributeProto::FLOAT:
    case onnx::AttributeProto::INT:
    case onnx::AttributeProto::STRING:
    case onnx::AttributeProto::TENSOR:
    case onnx::AttributeProto::FLOATS:
    case onnx::AttributeProto::INTS:
    case onnx::AttributeProto::STRINGS:
      break;
    case onnx::AttributeProto::UNDEFINED:
      return makeNodeError(nodeDisplayName(node),
                           "attribute '" + attr.name() + "' has no type");
    default:
      // Subgraphs (If/Loop/Scan bodies), sparse tensors and type protos have
      // no representation in the IR (Attribute.h).
      return makeNodeError(
          nodeDisplayName(node),
          "attribute '" + attr.name() + "' of type " +
              onnx::AttributeProto_AttributeType_Name(attr.type()) +
              " is not supported");
    }
  }
  return llvm::Error::success();
}

llvm::Error checkInitializerType(const onnx::TensorProto &tensor) {
  int32_t code = tensor.data_type();
  if (code != 0 && !isSupportedOnnxDType(code))
    return makeError("weight '" + tensor.name() + "' has element type " +
                     onnxDTypeName(code) +
                     ", which SparseLoom does not support");
  return llvm::Error::success();
}

/// Orders the nodes topologically (stable: among ready nodes the earliest in
/// file order goes first, so an already sorted graph is left unchanged).
/// Returns an error naming a node on a cycle if there is one.
llvm::Error orderNodes(onnx::GraphProto &graph) {
  int n = graph.node_size();
  std::unordered_map<std::string, int> producer;
  for (int i = 0; i < n; ++i)
    for (const std::string &out : graph.node(i).output())
      if (!out.empty())
        producer[out] = i;

  const size_t count = size_t(n);
  std::vector<std::set<int>> deps(count), users(count);
  for (int i = 0; i < n; ++i)
    for (const std::string &in : graph.node(i).input()) {
      auto it = producer.find(in);
      if (it != producer.end()) {
        deps[size_t(i)].insert(it->second);
        users[size_t(it->second)].insert(i);
      }
    }

  std::vector<size_t> pending(count);
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int i = 0; i < n; ++i) {
    pending[size_t(i)] = deps[size_t(i)].size();
    if (!pending[size_t(i)])
      ready.push(i);
  }
  std::vector<int> order;
  order.reserve(count);
  while (!ready.empty()) {
    int i = ready.top();
    ready.pop();
    order.push_back(i);
    for (int user : users[size_t(i)])
      if (--pending[size_t(user)] == 0)
        ready.push(user);
  }

  if (int(order.size()) != n) {
    // Every unplaced node waits on another unplaced node; following those
    // edges from any of them must revisit a node, which lies on a cycle.
    std::vector<int> walk;
    std::vector<int> seenAt(count, -1);
    int v = 0;
    while (pending[size_t(v)] == 0)
      ++v;
    while (seenAt[size_t(v)] < 0) {
      seenAt[size_t(v)] = int(walk.size());
      walk.push_back(v);
      for (int d : deps[size_t(v)])
        if (pending[size_t(d)] != 0) {
          v = d;
          break;
        }
    }
    // walk[seenAt[v]..] is the cycle, each node reading from the next one;
    // print it in data-flow order starting at its earliest node.
    std::vector<int> cycle(walk.begin() + seenAt[size_t(v)], walk.end());
    std::reverse(cycle.begin(), cycle.end());
    std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()),
                cycle.end());
    std::string path;
    for (int c : cycle)
      path += nodeDisplayName(graph.node(c)) + " -> ";
    path += nodeDisplayName(graph.node(cycle.front()));
    return makeNodeError(nodeDisplayName(graph.node(cycle.front())),
                         "the graph has a cycle (" + path +
                             "); ONNX graphs must be acyclic");
  }

  if (std::is_sorted(order.begin(), order.end()))
    return llvm::Error::success();
  std::vector<onnx::NodeProto> sorted;
  sorted.reserve(count);
  for (int i : order)
    sorted.push_back(graph.node(i));
  graph.clear_node();
  for (onnx::NodeProto &node : sorted)
    *graph.add_node() = std::move(node);
  return llvm::Error::success();
}

} // namespace

llvm::Error checkAndOrderGraph(onnx::GraphProto &graph) {
  if (graph.node_size() == 0 && graph.output_size() == 0)
    return makeError("the model's graph is empty (no nodes and no outputs)");

  std::unordered_map<std::string, Definition> defs;
  auto define = [&](const std::string &name, Definition def,
                    const std::string &where) -> llvm::Error {
    auto [it, inserted] = defs.emplace(name, def);
    if (inserted)
      return llvm::Error::success();
    // A graph input that also has an initializer is an input with a default
    // value (IR < 4 even requires it); that is not a second definition.
    if (it->second.kind == Definition::Input &&
        def.kind == Definition::Initializer) {
      it->second = def;
      return llvm::Error::success();
    }
    std::string text =
        "value '" + name + "' is defined twice, by " +
        describe(it->second, graph) + " and by " +
        (def.kind == Definition::NodeOutput ? "this node"
                                            : describe(def, graph)) +
        "; every value must be defined exactly once";
    return where.empty() ? makeError(text) : makeNodeError(where, text);
  };

  for (const onnx::ValueInfoProto &input : graph.input()) {
    if (input.name().empty())
      return makeError("a graph input has an empty name");
    if (llvm::Error err = define(input.name(), {Definition::Input}, ""))
      return err;
    if (auto type = convertType(input.type(), input.name()); !type)
      return type.takeError();
  }
  // Initializers are checked against inputs only: two initializers of one
  // name are duplicates even if an input of that name exists.
  std::set<std::string> initializerNames;
  auto defineInitializer = [&](const onnx::TensorProto &tensor) -> llvm::Error {
    if (tensor.name().empty())
      return makeError("an initializer has an empty name");
    if (!initializerNames.insert(tensor.name()).second)
      return makeError(
          "value '" + tensor.name() +
          "' is defined twice, by two initializers; every value must "
          "be defined exactly once");
    if (llvm::Error err = checkInitializerType(tensor))
      return err;
    return define(tensor.name(), {Definition::Initializer}, "");
  };
  for (const onnx::TensorProto &init : graph.initializer())
    if (llvm::Error err = defineInitializer(init))
      return err;
  for (const onnx::SparseTensorProto &init : graph.sparse_initializer())
    if (llvm::Error err = defineInitializer(init.values()))
      return err;

  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto &node = graph.node(i);
    if (llvm::Error err = checkAttributes(node))
      return err;
    for (const std::string &out : node.output())
      if (!out.empty())
        if (llvm::Error err =
                define(out, {Definition::NodeOutput, i}, nodeDisplayName(node)))
          return err;
  }
  for (const onnx::NodeProto &node : graph.node())
    for (const std::string &in : node.input())
      if (!in.empty() && !defs.count(in))
        return makeNodeError(
            nodeDisplayName(node),
            "input '" + in +
                "' is not defined: it is not a graph input, an "
                "initializer or the output of any node");
  for (const onnx::ValueInfoProto &output : graph.output()) {
    if (!defs.count(output.name()))
      return makeError(
          "graph output '" + output.name() +
          "' is not defined: it is not a graph input, an initializer "
          "or the output of any node");
    if (auto type = convertType(output.type(), output.name()); !type)
      return type.takeError();
  }
  for (const onnx::ValueInfoProto &info : graph.value_info())
    if (auto type = convertType(info.type(), info.name()); !type)
      return type.takeError();

  return orderNodes(graph);
}

} // namespace onnx_import
} // namespace sparseloom
