//===- Analysis.cpp - Graph utilities passes build on ---------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Def-use, topological order, liveness, dominance, subgraph extraction and
// the structural hash. Everything here is computed from scratch from a Graph
// snapshot: the IR keeps no derived state, so a pass that mutates the graph
// simply recomputes what it needs.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/IR/Analysis.h"

#include "sparseloom/Support/Diagnostics.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/xxhash.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <queue>
#include <set>

namespace sparseloom {

//===----------------------------------------------------------------------===//
// UseDefInfo
//===----------------------------------------------------------------------===//

UseDefInfo::UseDefInfo(const Graph &graph) {
  for (const auto &node : graph.nodes()) {
    for (const std::string &out : node->outputs)
      if (!out.empty())
        defs_.emplace(out, node.get());
    // A node reading a value twice (Mul(x, x)) is one user: passes rewire or
    // erase whole nodes, so duplicates would only make them count wrong.
    for (const std::string &in : node->inputs) {
      if (in.empty())
        continue;
      std::vector<const Node *> &users = users_[in];
      if (users.empty() || users.back() != node.get())
        users.push_back(node.get());
    }
  }
  for (const std::string &out : graph.outputs)
    outputs_[out] = true;
}

const Node *UseDefInfo::definingNode(llvm::StringRef value) const {
  auto it = defs_.find(value);
  return it == defs_.end() ? nullptr : it->second;
}

const std::vector<const Node *> &
UseDefInfo::users(llvm::StringRef value) const {
  auto it = users_.find(value);
  return it == users_.end() ? empty_ : it->second;
}

bool UseDefInfo::isGraphOutput(llvm::StringRef value) const {
  return outputs_.find(value) != outputs_.end();
}

bool UseDefInfo::isDead(llvm::StringRef value) const {
  return users(value).empty() && !isGraphOutput(value);
}

//===----------------------------------------------------------------------===//
// Topological order
//===----------------------------------------------------------------------===//

llvm::Expected<std::vector<const Node *>> topologicalOrder(const Graph &graph) {
  const auto &nodes = graph.nodes();
  const size_t n = nodes.size();

  // Graph inputs and weights are available before any node runs, so reading
  // them creates no edge.
  llvm::StringSet<> available;
  for (const std::string &in : graph.inputs)
    available.insert(in);
  for (const auto &entry : graph.weights())
    available.insert(entry.first);
  llvm::StringMap<size_t> producer;
  for (size_t i = 0; i < n; ++i)
    for (const std::string &out : nodes[i]->outputs)
      if (!out.empty() && !available.count(out))
        producer.try_emplace(out, i);

  // preds[i]: (producer index, value) per distinct producer of node i.
  std::vector<std::vector<std::pair<size_t, std::string>>> preds(n);
  std::vector<std::vector<size_t>> succs(n);
  for (size_t i = 0; i < n; ++i) {
    for (const std::string &in : nodes[i]->inputs) {
      if (in.empty() || available.count(in))
        continue;
      auto it = producer.find(in);
      if (it == producer.end())
        return makeNodeError(nodes[i]->displayName(),
                             "reads '" + in +
                                 "', which no node, input or weight defines");
      size_t p = it->second;
      bool seen = std::any_of(preds[i].begin(), preds[i].end(),
                              [&](const auto &e) { return e.first == p; });
      if (seen)
        continue;
      preds[i].emplace_back(p, in);
      succs[p].push_back(i);
    }
  }

  // Kahn's algorithm that always emits the ready node that comes first in
  // the current order: an order that is already valid comes back unchanged,
  // and a shuffled one is repaired with as little movement as possible.
  std::vector<size_t> pending(n);
  std::priority_queue<size_t, std::vector<size_t>, std::greater<size_t>> ready;
  for (size_t i = 0; i < n; ++i) {
    pending[i] = preds[i].size();
    if (pending[i] == 0)
      ready.push(i);
  }
  std::vector<const Node *> order;
  order.reserve(n);
  while (!ready.empty()) {
    size_t i = ready.top();
    ready.pop();
    order.push_back(nodes[i].get());
    for (size_t s : succs[i])
      if (--pending[s] == 0)
        ready.push(s);
  }
  if (order.size() == n)
    return order;

  // Some nodes never became ready. Each of them still waits on a producer
  // that never became ready either, so walking "first waiting producer"
  // links from any of them must come back to a node already visited: that
  // loop is a real cycle, not just a node downstream of one.
  auto firstWaiting = [&](size_t i) -> const std::pair<size_t, std::string> & {
    for (const auto &e : preds[i])
      if (pending[e.first] != 0)
        return e;
    llvm_unreachable("a blocked node waits on a blocked producer");
  };
  size_t start = 0;
  while (pending[start] == 0)
    ++start;
  std::vector<int> visitStep(n, -1);
  std::vector<size_t> walk;
  size_t cur = start;
  while (visitStep[cur] < 0) {
    visitStep[cur] = int(walk.size());
    walk.push_back(cur);
    cur = firstWaiting(cur).first;
  }
  // The cycle is walk[visitStep[cur]..]; name its earliest node so the
  // message does not depend on where the walk started.
  size_t report = cur;
  for (size_t k = size_t(visitStep[cur]); k < walk.size(); ++k)
    report = std::min(report, walk[k]);
  return makeNodeError(nodes[report]->displayName(),
                       "is part of a cycle through '" +
                           firstWaiting(report).second + "'");
}

//===----------------------------------------------------------------------===//
// Liveness
//===----------------------------------------------------------------------===//

Liveness::Liveness(const Graph &graph) {
  const size_t n = graph.numNodes();
  live_.assign(n + 1, {});

  // For each activation: the first gap after its definition and the last gap
  // it must survive to. A value is live across gap g when def <= g <= last.
  struct Range {
    size_t def;
    size_t last;
    bool used;
  };
  std::map<std::string, Range, std::less<>> ranges;
  auto isWeight = [&](llvm::StringRef name) {
    return graph.findWeight(name) != nullptr;
  };
  // Weights live in the bundle's constant storage, not in activation memory,
  // so they never count (also when an old-style model lists them as inputs).
  for (const std::string &in : graph.inputs)
    if (!in.empty() && !isWeight(in))
      ranges.emplace(in, Range{0, 0, false});
  for (size_t i = 0; i < n; ++i)
    for (const std::string &out : graph.nodes()[i]->outputs)
      if (!out.empty() && !isWeight(out))
        ranges.emplace(out, Range{i + 1, i + 1, false});

  for (size_t i = 0; i < n; ++i) {
    for (const std::string &in : graph.nodes()[i]->inputs) {
      auto it = ranges.find(in);
      if (it == ranges.end() || it->second.def > i)
        continue; // a weight, undefined, or read before defined (unverified)
      it->second.last = std::max(it->second.last, i);
      it->second.used = true;
    }
  }
  for (const std::string &out : graph.outputs) {
    auto it = ranges.find(out);
    if (it == ranges.end())
      continue;
    it->second.last = n;
    it->second.used = true;
  }

  // std::map iterates by name, so every gap's list comes out sorted.
  for (const auto &entry : ranges) {
    const Range &r = entry.second;
    if (!r.used)
      continue;
    for (size_t g = r.def; g <= r.last; ++g)
      live_[g].push_back(entry.first);
  }
}

//===----------------------------------------------------------------------===//
// Dominance
//===----------------------------------------------------------------------===//

Dominance::Dominance(const Graph &graph) : graph_(graph) {
  // Number the nodes along a topological order (the node order itself once
  // the graph is verified; topologicalOrder keeps a valid order unchanged).
  // On a cyclic or broken graph fall back to the node order and ignore edges
  // that point backwards, so the result is defined and the loop terminates.
  std::vector<const Node *> order;
  if (auto topo = topologicalOrder(graph)) {
    order = std::move(*topo);
  } else {
    llvm::consumeError(topo.takeError());
    for (const auto &node : graph.nodes())
      order.push_back(node.get());
  }
  for (size_t i = 0; i < order.size(); ++i)
    index_[order[i]] = int(i);

  // Values that graph inputs or weights define are never node outputs, even
  // if a node (wrongly) defines them too, matching topologicalOrder.
  std::set<std::string, std::less<>> rootValues(graph.inputs.begin(),
                                                graph.inputs.end());
  for (const auto &entry : graph.weights())
    rootValues.insert(entry.first);
  std::map<std::string, const Node *, std::less<>> producer;
  for (const Node *node : order)
    for (const std::string &out : node->outputs)
      if (!out.empty() && !rootValues.count(out))
        producer.emplace(out, node);

  // Only activations make edges. A weight is a constant: counting it as an
  // edge from the root would make every Conv/MatMul a child of the root and
  // no block could dominate anything. The same holds for node outputs
  // computed from constants alone (a Constant node feeding an Add), so an
  // edge counts only when its producer depends on a graph input. Reading a
  // graph input directly is an edge from the root.
  std::map<const Node *, bool> carriesActivation;

  // Cooper, Harvey and Kennedy, "A Simple, Fast Dominance Algorithm". A
  // topological order is a reverse postorder of the DAG rooted at the virtual
  // root, so one pass in that order is exact: every predecessor's idom is
  // final before it is needed. The virtual root (idom == nullptr) is -1 and
  // precedes every node.
  auto idxOf = [&](const Node *node) { return node ? index_[node] : -1; };
  auto intersect = [&](const Node *a, const Node *b) {
    while (a != b) {
      while (idxOf(a) > idxOf(b))
        a = idom_[a];
      while (idxOf(b) > idxOf(a))
        b = idom_[b];
    }
    return a;
  };
  for (const Node *node : order) {
    int self = index_[node];
    bool fromRoot = false;
    std::vector<const Node *> preds;
    for (const std::string &in : node->inputs) {
      if (in.empty() || graph.findWeight(in))
        continue;
      if (rootValues.count(in)) {
        fromRoot = true;
        continue;
      }
      auto it = producer.find(in);
      // Undefined names and back edges of an unverified graph (see above)
      // are ignored like constants.
      if (it == producer.end() || index_[it->second] >= self)
        continue;
      if (carriesActivation[it->second])
        preds.push_back(it->second);
    }
    carriesActivation[node] = fromRoot || !preds.empty();
    const Node *idom = nullptr;
    if (!fromRoot && !preds.empty()) {
      idom = preds.front();
      for (const Node *pred : preds)
        idom = intersect(idom, pred);
    }
    idom_[node] = idom;
  }
}

bool Dominance::dominates(const Node *a, const Node *b) const {
  auto ia = index_.find(a), ib = index_.find(b);
  if (ia == index_.end() || ib == index_.end())
    return false;
  // Dominance is reflexive, as in LLVM's DominatorTree.
  for (const Node *cur = b; cur; cur = idom_.at(cur)) {
    if (cur == a)
      return true;
    if (index_.at(cur) < ia->second)
      return false; // dominators only get earlier up the tree
  }
  return false;
}

const Node *Dominance::immediateDominator(const Node *node) const {
  auto it = idom_.find(node);
  return it == idom_.end() ? nullptr : it->second;
}

//===----------------------------------------------------------------------===//
// Subgraph extraction
//===----------------------------------------------------------------------===//

llvm::Expected<std::unique_ptr<Module>>
extractSubgraph(const Module &module, const std::vector<const Node *> &nodes,
                llvm::StringRef subgraphName) {
  const Graph &graph = module.graph;
  if (nodes.empty())
    return makeError("cannot extract subgraph '" + subgraphName +
                     "': no nodes were given");

  // Work in the graph's node order whatever order the caller listed, so the
  // subgraph stays topologically ordered and its interface is deterministic.
  std::vector<int> indices;
  for (const Node *node : nodes) {
    int index = graph.indexOf(node);
    if (index < 0)
      return makeError("cannot extract subgraph '" + subgraphName +
                       "': a node" +
                       (node ? " (" + node->displayName() + ")" : "") +
                       " is not in graph '" + graph.name + "'");
    indices.push_back(index);
  }
  std::sort(indices.begin(), indices.end());
  indices.erase(std::unique(indices.begin(), indices.end()), indices.end());

  std::set<const Node *> inside;
  std::set<std::string, std::less<>> definedInside;
  for (int index : indices) {
    const Node *node = graph.nodes()[size_t(index)].get();
    inside.insert(node);
    for (const std::string &out : node->outputs)
      if (!out.empty())
        definedInside.insert(out);
  }

  auto result = std::make_unique<Module>();
  result->irVersion = module.irVersion;
  result->producerName = module.producerName;
  result->producerVersion = module.producerVersion;
  result->domain = module.domain;
  result->modelVersion = module.modelVersion;
  result->docString = module.docString;
  result->opsetImports = module.opsetImports;
  result->metadata = module.metadata;
  // Module annotations are not copied: they are results about the whole
  // model, which would be wrong for a part of it.
  Graph &sub = result->graph;
  sub.name = subgraphName.str();

  auto copyType = [&](const std::string &value) {
    if (graph.hasType(value))
      sub.setType(value, graph.getType(value));
  };

  // Inputs and weights in order of first use.
  std::set<std::string, std::less<>> seenInputs;
  for (int index : indices) {
    const Node &node = *graph.nodes()[size_t(index)];
    for (const std::string &in : node.inputs) {
      if (in.empty() || definedInside.count(in) || seenInputs.count(in))
        continue;
      seenInputs.insert(in);
      if (const Weight *weight = graph.findWeight(in)) {
        sub.setWeight(*weight); // shares the immutable storage
        copyType(in);
        continue;
      }
      sub.inputs.push_back(in);
      copyType(in);
    }
    sub.addNode(node);
    for (const std::string &out : node.outputs)
      if (!out.empty())
        copyType(out);
  }

  // Outputs in definition order: what the rest of the graph still reads.
  std::set<std::string, std::less<>> readOutside(graph.outputs.begin(),
                                                 graph.outputs.end());
  for (const auto &node : graph.nodes())
    if (!inside.count(node.get()))
      for (const std::string &in : node->inputs)
        readOutside.insert(in);
  for (int index : indices)
    for (const std::string &out : graph.nodes()[size_t(index)]->outputs)
      if (!out.empty() && readOutside.count(out))
        sub.outputs.push_back(out);
  return result;
}

//===----------------------------------------------------------------------===//
// Structural hash
//===----------------------------------------------------------------------===//

namespace {

/// Serializes the structure into a byte string that is hashed once at the
/// end. Every field is fixed-size or length-prefixed and every variable part
/// tagged, so distinct structures cannot serialize alike by concatenation.
/// xxHash64 (not llvm::hash_combine) because the hash is stored in bundles
/// and must not depend on the process or the LLVM build.
class StructureWriter {
public:
  void u64(uint64_t v) {
    for (int i = 0; i < 8; ++i)
      bytes_.push_back(uint8_t(v >> (8 * i)));
  }
  void i64(int64_t v) { u64(uint64_t(v)); }
  void tag(char c) { bytes_.push_back(uint8_t(c)); }
  void str(llvm::StringRef s) {
    u64(s.size());
    bytes_.insert(bytes_.end(), s.bytes_begin(), s.bytes_end());
  }
  void f32(float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, sizeof bits);
    u64(bits);
  }

  void type(const TensorType &t) {
    i64(int64_t(t.dtype));
    if (!t.dims) {
      tag('*');
      return;
    }
    tag('[');
    u64(t.dims->size());
    for (const Dim &d : *t.dims) {
      if (d.isKnown()) {
        tag('k');
        i64(d.size());
      } else if (d.isSymbolic()) {
        tag('s');
        str(d.symbol());
      } else {
        tag('?');
      }
    }
  }

  void tensor(const TensorData &t) {
    // Tensor attributes are small constants that change what the op
    // computes, so unlike weights their values count.
    i64(int64_t(t.dtype()));
    u64(t.dims().size());
    for (int64_t d : t.dims())
      i64(d);
    u64(t.contentHash());
  }

  void attribute(const Attribute &a) {
    i64(int64_t(a.kind()));
    switch (a.kind()) {
    case Attribute::Kind::Int:
      i64(a.getInt());
      break;
    case Attribute::Kind::Float:
      f32(a.getFloat());
      break;
    case Attribute::Kind::String:
      str(a.getString());
      break;
    case Attribute::Kind::Tensor:
      if (a.getTensor())
        tensor(*a.getTensor());
      else
        tag('0');
      break;
    case Attribute::Kind::Ints:
      u64(a.getInts().size());
      for (int64_t v : a.getInts())
        i64(v);
      break;
    case Attribute::Kind::Floats:
      u64(a.getFloats().size());
      for (float v : a.getFloats())
        f32(v);
      break;
    case Attribute::Kind::Strings:
      u64(a.getStrings().size());
      for (const std::string &s : a.getStrings())
        str(s);
      break;
    }
  }

  uint64_t hash() const { return llvm::xxHash64(bytes_); }

private:
  std::vector<uint8_t> bytes_;
};

} // namespace

uint64_t structuralHash(const Graph &graph) {
  // Names are replaced by positions: a node output by (producer index, slot),
  // a graph input by its position, a weight by its ordinal in first-use
  // order. First use rather than the weight table's order, so two variants
  // whose initializers were stored in a different order still hash alike.
  struct Ref {
    char kind; // 'n' node output, 'i' graph input, 'w' weight
    uint64_t a, b;
  };
  llvm::StringMap<Ref> refs;
  for (size_t i = 0; i < graph.inputs.size(); ++i)
    refs.try_emplace(graph.inputs[i], Ref{'i', i, 0});
  std::vector<const Weight *> weightOrder;
  auto noteWeight = [&](llvm::StringRef name) {
    if (refs.count(name))
      return;
    if (const Weight *w = graph.findWeight(name)) {
      refs.try_emplace(name, Ref{'w', weightOrder.size(), 0});
      weightOrder.push_back(w);
    }
  };
  for (size_t i = 0; i < graph.numNodes(); ++i) {
    const Node &node = *graph.nodes()[i];
    for (const std::string &in : node.inputs)
      noteWeight(in);
    for (size_t slot = 0; slot < node.outputs.size(); ++slot)
      if (!node.outputs[slot].empty())
        refs.try_emplace(node.outputs[slot], Ref{'n', i, slot});
  }
  for (const auto &entry : graph.weights())
    noteWeight(entry.first); // unused weights still count, by type

  StructureWriter w;
  auto ref = [&](const std::string &name) {
    if (name.empty()) {
      w.tag('-'); // an omitted optional input
      return;
    }
    auto it = refs.find(name);
    if (it == refs.end()) {
      w.tag('u'); // undefined: the name itself must not matter
      return;
    }
    w.tag(it->second.kind);
    w.u64(it->second.a);
    w.u64(it->second.b);
  };

  w.tag('I');
  w.u64(graph.inputs.size());
  for (const std::string &in : graph.inputs)
    w.type(graph.getType(in));

  w.tag('W');
  w.u64(weightOrder.size());
  for (const Weight *weight : weightOrder) {
    // The data's type, not the values: that is what pruning keeps.
    if (weight->data)
      w.type(weight->data->type());
    else
      w.type(graph.getType(weight->name));
  }

  w.tag('N');
  w.u64(graph.numNodes());
  for (const auto &node : graph.nodes()) {
    w.str(node->opType);
    w.str(node->domain);
    // Annotations are left out: they hold analysis results such as a
    // measured density, which differs between variants of one family.
    w.u64(node->attributes.size());
    for (const auto &attr : node->attributes) {
      w.str(attr.first);
      w.attribute(attr.second);
    }
    w.u64(node->inputs.size());
    for (const std::string &in : node->inputs)
      ref(in);
    w.u64(node->outputs.size());
    for (const std::string &out : node->outputs) {
      if (out.empty()) {
        w.tag('-');
        continue;
      }
      w.tag('t');
      w.type(graph.getType(out));
    }
  }

  w.tag('O');
  w.u64(graph.outputs.size());
  for (const std::string &out : graph.outputs) {
    ref(out);
    w.type(graph.getType(out));
  }
  return w.hash();
}

} // namespace sparseloom
