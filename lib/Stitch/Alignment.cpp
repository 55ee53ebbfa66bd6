//===- Alignment.cpp - Aligning the variants of a family ------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Matching works along the reference's topological order. A reference node
// whose activation inputs are already matched can only correspond to a
// member node that reads the matched values in the same operand slots, so
// the candidates are the users of its first activation input (or, for nodes
// that read only weights, the member's other weight-only nodes). Among
// candidates of the same op, one with the same output names wins, then the
// one at the same position in the member's order, then one with equal
// attributes: sibling nodes that read one value (the branches of an
// inception block) are told apart that way. Siblings that differ in nothing
// but are listed in another order under other names cannot be told apart
// without search; they make the wiring check below fail, which is reported
// as unalignable.
//
// When the structural hashes are equal the graphs are identical up to names
// and weight values, node for node in program order, so the correspondence is
// positional and the matching is skipped: the common case of an
// unstructured-pruned family costs one hash per member.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Stitch/Alignment.h"

#include "sparseloom/IR/Analysis.h"
#include "sparseloom/IR/Printer.h"
#include "sparseloom/Support/Diagnostics.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cassert>
#include <map>
#include <set>

namespace sparseloom {

namespace {

/// Keys of every node of one graph, computed once (alignmentNodeKey scans
/// the graph for each call).
class NodeKeys {
public:
  explicit NodeKeys(const Graph &graph) {
    llvm::StringMap<unsigned> counts;
    for (const auto &node : graph.nodes())
      if (!node->name.empty())
        ++counts[node->name];
    for (const auto &node : graph.nodes()) {
      std::string key;
      if (!node->name.empty() && counts[node->name] == 1) {
        key = node->name;
      } else {
        key = node->opType + " producing '";
        for (const std::string &out : node->outputs)
          if (!out.empty()) {
            key += out;
            break;
          }
        key += "'";
      }
      byNode_[node.get()] = key;
      byKey_[key] = node.get();
    }
  }
  const std::string &key(const Node *node) const { return byNode_.at(node); }
  const Node *find(llvm::StringRef key) const {
    auto it = byKey_.find(key);
    return it == byKey_.end() ? nullptr : it->second;
  }

private:
  std::map<const Node *, std::string> byNode_;
  llvm::StringMap<const Node *> byKey_;
};

std::string attrText(const Attribute &attr) {
  std::string text;
  llvm::raw_string_ostream os(text);
  printAttribute(attr, os);
  return os.str();
}

std::string opsetText(const Module &module) {
  std::string text;
  for (const auto &entry : module.opsetImports)
    text += (text.empty() ? "" : ", ") + ("\"" + entry.first + "\" = ") +
            std::to_string(entry.second);
  return text.empty() ? "none" : text;
}

/// Matches one member against the reference.
class MemberMatcher {
public:
  MemberMatcher(const FamilyMember &ref,
                const std::vector<const Node *> &refOrder,
                const FamilyMember &member)
      : ref_(ref), refGraph_(ref.module->graph), refOrder_(refOrder),
        member_(member), graph_(member.module->graph), keys_(graph_),
        uses_(graph_) {}

  /// Fills `order` (member keys in reference order) and `differences`.
  llvm::Error run(std::vector<std::string> &order,
                  std::vector<std::string> &differences);

private:
  bool isRefWeight(llvm::StringRef name) const {
    return refGraph_.findWeight(name) != nullptr;
  }
  bool isWeight(llvm::StringRef name) const {
    return graph_.findWeight(name) != nullptr;
  }
  /// Empty when `cand` can be the counterpart of `refNode`, else what
  /// differs (the first thing found).
  std::string mismatch(const Node &refNode, const Node &cand) const;
  const Node *chooseCandidate(const Node &refNode, size_t position,
                              std::string &whyNone) const;
  void noteDifferences(const Node &refNode, const Node &node);
  llvm::Error unalignable(const Node *node, const Node *refNode,
                          const llvm::Twine &what) const;

  const FamilyMember &ref_;
  const Graph &refGraph_;
  const std::vector<const Node *> &refOrder_;
  const FamilyMember &member_;
  const Graph &graph_;
  NodeKeys keys_;
  UseDefInfo uses_;

  std::vector<const Node *> order_; // the member's topological order
  std::map<const Node *, size_t> position_;
  std::set<const Node *> matched_;
  llvm::StringMap<std::string> valueMap_; // reference value -> member value
  std::vector<std::string> *differences_ = nullptr;
  std::vector<std::pair<const Node *, std::string>> nodeDifferences_;
};

llvm::Error MemberMatcher::unalignable(const Node *node, const Node *refNode,
                                       const llvm::Twine &what) const {
  std::string where = refNode ? " (reference node " + refNode->displayName() +
                                    " of " + ref_.file + ")"
                              : " (reference " + ref_.file + ")";
  llvm::Error err =
      node ? makeNodeError(node->displayName(),
                           "cannot be aligned with the reference" + where +
                               ": " + what +
                               "; the files are not variants of one base model")
           : makeError("cannot be aligned with the reference" + where + ": " +
                       what + "; the files are not variants of one base model");
  return withFile(std::move(err), member_.file);
}

std::string MemberMatcher::mismatch(const Node &refNode,
                                    const Node &cand) const {
  if (cand.opType != refNode.opType || cand.domain != refNode.domain)
    return "it is " + cand.opType + " where the reference has " +
           refNode.opType;
  if (cand.inputs.size() != refNode.inputs.size())
    return "it has " + std::to_string(cand.inputs.size()) +
           " inputs where the reference has " +
           std::to_string(refNode.inputs.size());
  if (cand.outputs.size() != refNode.outputs.size())
    return "it has " + std::to_string(cand.outputs.size()) +
           " outputs where the reference has " +
           std::to_string(refNode.outputs.size());
  for (size_t i = 0; i < refNode.inputs.size(); ++i) {
    const std::string &r = refNode.inputs[i], &c = cand.inputs[i];
    std::string slot = "input " + std::to_string(i);
    if (r.empty() != c.empty())
      return slot + " is " + (c.empty() ? "omitted" : "given") +
             " where the reference's is " + (r.empty() ? "omitted" : "given");
    if (r.empty())
      continue;
    if (isRefWeight(r) != isWeight(c))
      return slot + " '" + c + "' is " +
             (isWeight(c) ? "a weight" : "an activation") +
             " where the reference's '" + r + "' is " +
             (isRefWeight(r) ? "a weight" : "an activation");
    if (isRefWeight(r))
      continue;
    auto it = valueMap_.find(r);
    if (it == valueMap_.end() || it->second != c)
      return slot + " reads '" + c + "' where the reference reads '" + r + "'" +
             (it == valueMap_.end() ? ""
                                    : " (which is '" + it->second + "' here)");
  }
  for (size_t i = 0; i < refNode.outputs.size(); ++i)
    if (refNode.outputs[i].empty() != cand.outputs[i].empty())
      return "output " + std::to_string(i) + " is " +
             (cand.outputs[i].empty() ? "omitted" : "given") +
             " where the reference's is not";
  return "";
}

const Node *MemberMatcher::chooseCandidate(const Node &refNode, size_t position,
                                           std::string &whyNone) const {
  // Candidates: users of the first activation input, or weight-only nodes.
  std::vector<const Node *> candidates;
  const std::string *anchor = nullptr;
  for (const std::string &in : refNode.inputs)
    if (!in.empty() && !isRefWeight(in)) {
      anchor = &in;
      break;
    }
  if (anchor) {
    auto it = valueMap_.find(*anchor);
    assert(it != valueMap_.end() && "inputs are matched before their users");
    for (const Node *user : uses_.users(it->second))
      if (!matched_.count(user))
        candidates.push_back(user);
  } else {
    for (const Node *node : order_) {
      if (matched_.count(node))
        continue;
      bool weightOnly = true;
      for (const std::string &in : node->inputs)
        weightOnly &= in.empty() || isWeight(in);
      if (weightOnly)
        candidates.push_back(node);
    }
  }

  const Node *best = nullptr;
  int bestScore = -1;
  for (const Node *cand : candidates) {
    if (!mismatch(refNode, *cand).empty())
      continue;
    // Members of one exporter keep names: a same-named output is the
    // strongest evidence, then the position, then equal attributes.
    int score = 0;
    if (!cand->outputs.empty() && cand->outputs == refNode.outputs)
      score += 4;
    if (position_.at(cand) == position)
      score += 2;
    if (cand->attributes == refNode.attributes)
      score += 1;
    if (score > bestScore) {
      best = cand;
      bestScore = score;
    }
  }
  if (best)
    return best;

  // Explain with the most plausible counterpart: the node at the same
  // position when it is a candidate, else the first candidate, else the
  // node at the same position.
  const Node *closest = nullptr;
  if (position < order_.size() &&
      std::find(candidates.begin(), candidates.end(), order_[position]) !=
          candidates.end())
    closest = order_[position];
  else if (!candidates.empty())
    closest = candidates.front();
  else if (position < order_.size())
    closest = order_[position];
  if (closest)
    whyNone = mismatch(refNode, *closest);
  if (whyNone.empty())
    whyNone = "no node of the member reads the corresponding inputs";
  return nullptr;
}

void MemberMatcher::noteDifferences(const Node &refNode, const Node &node) {
  std::string where = "node " + node.displayName() + ": ";
  auto note = [&](std::string text) {
    differences_->push_back(where + text);
    nodeDifferences_.emplace_back(&node, std::move(text));
  };
  // Attributes, in name order over both maps.
  std::set<std::string> names;
  for (const auto &a : refNode.attributes)
    names.insert(a.first);
  for (const auto &a : node.attributes)
    names.insert(a.first);
  for (const std::string &name : names) {
    const Attribute *r = refNode.getAttr(name), *c = node.getAttr(name);
    if (r && c && *r == *c)
      continue;
    note("attribute '" + name + "' " + (c ? attrText(*c) : "absent") +
         ", reference " + (r ? attrText(*r) : "absent"));
  }
  for (size_t i = 0; i < refNode.inputs.size(); ++i) {
    const std::string &r = refNode.inputs[i];
    if (r.empty() || !isRefWeight(r))
      continue;
    TensorType rt = refGraph_.getType(r), ct = graph_.getType(node.inputs[i]);
    if (rt != ct)
      note("weight input " + std::to_string(i) + " '" + node.inputs[i] + "' " +
           formatType(ct) + ", reference " + formatType(rt));
  }
  for (size_t i = 0; i < refNode.outputs.size(); ++i) {
    const std::string &r = refNode.outputs[i];
    if (r.empty())
      continue;
    TensorType rt = refGraph_.getType(r), ct = graph_.getType(node.outputs[i]);
    if (rt != ct)
      note("output " + std::to_string(i) + " '" + node.outputs[i] + "' " +
           formatType(ct) + ", reference " + formatType(rt));
  }
}

llvm::Error MemberMatcher::run(std::vector<std::string> &order,
                               std::vector<std::string> &differences) {
  differences_ = &differences;
  if (member_.module->opsetImports != ref_.module->opsetImports)
    return withFile(makeError("opset imports (" + opsetText(*member_.module) +
                              ") differ from those of the reference " +
                              ref_.file + " (" + opsetText(*ref_.module) +
                              "); export every variant with the same opset"),
                    member_.file);

  auto topo = topologicalOrder(graph_);
  if (!topo)
    return withFile(topo.takeError(), member_.file);
  order_ = std::move(*topo);
  for (size_t i = 0; i < order_.size(); ++i)
    position_[order_[i]] = i;

  if (graph_.inputs.size() != refGraph_.inputs.size())
    return unalignable(nullptr, nullptr,
                       "it has " + llvm::Twine(graph_.inputs.size()) +
                           " graph inputs where the reference has " +
                           llvm::Twine(refGraph_.inputs.size()));
  for (size_t i = 0; i < refGraph_.inputs.size(); ++i) {
    valueMap_[refGraph_.inputs[i]] = graph_.inputs[i];
    TensorType rt = refGraph_.getType(refGraph_.inputs[i]);
    TensorType ct = graph_.getType(graph_.inputs[i]);
    if (rt != ct)
      differences.push_back("graph input " + std::to_string(i) + " '" +
                            graph_.inputs[i] + "' " + formatType(ct) +
                            ", reference " + formatType(rt));
  }

  // Identical structure: the correspondence is positional.
  bool identical = graph_.numNodes() == refGraph_.numNodes() &&
                   structuralHash(graph_) == structuralHash(refGraph_);
  // The hash is over program order; positions carry over only when that is
  // the order alignment walks (always, for a verified graph).
  for (size_t i = 0; identical && i < refOrder_.size(); ++i)
    identical = refOrder_[i] == refGraph_.nodes()[i].get() &&
                order_[i] == graph_.nodes()[i].get();
  for (size_t i = 0; i < refOrder_.size(); ++i) {
    const Node &refNode = *refOrder_[i];
    const Node *node = nullptr;
    if (identical) {
      node = order_[i];
      assert(mismatch(refNode, *node).empty() && "equal hashes, equal nodes");
    } else {
      std::string why;
      node = chooseCandidate(refNode, i, why);
      if (!node) {
        const Node *at = i < order_.size() ? order_[i] : nullptr;
        return unalignable(at, &refNode, why);
      }
      noteDifferences(refNode, *node);
    }
    matched_.insert(node);
    order.push_back(keys_.key(node));
    for (size_t k = 0; k < refNode.outputs.size(); ++k)
      if (!refNode.outputs[k].empty())
        valueMap_[refNode.outputs[k]] = node->outputs[k];
  }

  if (order_.size() != refOrder_.size()) {
    // An inserted layer often matches a reference node with other shapes
    // first; that recorded difference is where the member really departs.
    std::string firstDifference;
    if (!differences.empty())
      firstDifference =
          "; the first difference before it: " + differences.front();
    for (const Node *node : order_)
      if (!matched_.count(node))
        return unalignable(
            node, nullptr,
            "it has no counterpart (the member has " +
                llvm::Twine(order_.size()) + " nodes, the reference " +
                llvm::Twine(refOrder_.size()) + firstDifference + ")");
  }
  if (graph_.outputs.size() != refGraph_.outputs.size())
    return unalignable(nullptr, nullptr,
                       "it has " + llvm::Twine(graph_.outputs.size()) +
                           " graph outputs where the reference has " +
                           llvm::Twine(refGraph_.outputs.size()));
  for (size_t i = 0; i < refGraph_.outputs.size(); ++i) {
    auto it = valueMap_.find(refGraph_.outputs[i]);
    if (it == valueMap_.end() || it->second != graph_.outputs[i])
      return unalignable(nullptr, nullptr,
                         "graph output " + llvm::Twine(i) + " is '" +
                             graph_.outputs[i] +
                             "', which does not correspond to the "
                             "reference's '" +
                             refGraph_.outputs[i] + "'");
  }

  // Differences go into the IR too, where FileCheck and later passes see
  // them next to the node (replacing those of an earlier run).
  std::map<const Node *, std::string> perNode;
  for (const auto &entry : nodeDifferences_) {
    std::string &text = perNode[entry.first];
    text += (text.empty() ? "" : "; ") + entry.second;
  }
  for (const auto &node : member_.module->graph.nodes()) {
    node->annotations.erase("align.difference");
    auto it = perNode.find(node.get());
    if (it != perNode.end())
      node->annotations["align.difference"] = it->second;
  }
  return llvm::Error::success();
}

} // namespace

std::string alignmentNodeKey(const Graph &graph, const Node &node) {
  return NodeKeys(graph).key(&node);
}

llvm::Error alignFamily(Family &family) {
  assert(!family.members.empty() && "a family has at least one member");
  const FamilyMember &ref = family.members.front();
  auto refOrder = topologicalOrder(ref.module->graph);
  if (!refOrder)
    return withFile(refOrder.takeError(), ref.file);

  FamilyAlignment alignment;
  alignment.nodeOrder.resize(family.size());
  alignment.differences.resize(family.size());
  NodeKeys refKeys(ref.module->graph);
  for (const Node *node : *refOrder)
    alignment.nodeOrder[0].push_back(refKeys.key(node));

  for (size_t m = 1; m < family.size(); ++m) {
    MemberMatcher matcher(ref, *refOrder, family.members[m]);
    if (llvm::Error err =
            matcher.run(alignment.nodeOrder[m], alignment.differences[m]))
      return err;
  }
  for (size_t m = 0; m < family.size(); ++m) {
    Module &module = *family.members[m].module;
    module.annotations["align.nodes"] = int64_t(refOrder->size());
    module.annotations["align.differences"] =
        int64_t(alignment.differences[m].size());
  }
  family.state.alignment = std::move(alignment);
  return llvm::Error::success();
}

llvm::Expected<std::vector<const Node *>> alignedNodes(const Family &family,
                                                       unsigned member) {
  assert(family.state.alignment && "align-family has not run");
  assert(member < family.size() && "no such member");
  const Graph &graph = family.members[member].module->graph;
  NodeKeys keys(graph);
  std::vector<const Node *> nodes;
  for (const std::string &key : family.state.alignment->nodeOrder[member]) {
    const Node *node = keys.find(key);
    if (!node)
      return withFile(makeNodeError(key, "is listed by the family alignment "
                                         "but no longer in the graph; run "
                                         "align-family again after changing "
                                         "a member"),
                      family.members[member].file);
    nodes.push_back(node);
  }
  return nodes;
}

llvm::Expected<FamilyValueMap> FamilyValueMap::build(const Family &family) {
  FamilyValueMap map;
  map.toMember_.resize(family.size());
  map.toReference_.resize(family.size());
  auto refNodes = alignedNodes(family, 0);
  if (!refNodes)
    return refNodes.takeError();
  const Graph &refGraph = family.reference().graph;
  for (unsigned m = 0; m < family.size(); ++m) {
    auto nodes = alignedNodes(family, m);
    if (!nodes)
      return nodes.takeError();
    const Graph &graph = family.members[m].module->graph;
    if (nodes->size() != refNodes->size() ||
        graph.inputs.size() != refGraph.inputs.size())
      return withFile(makeError("the family alignment does not match this "
                                "member; run align-family again"),
                      family.members[m].file);
    auto add = [&](const std::string &r, const std::string &v) {
      if (r.empty() || v.empty())
        return;
      map.toMember_[m][r] = v;
      map.toReference_[m][v] = r;
    };
    for (size_t i = 0; i < refGraph.inputs.size(); ++i)
      add(refGraph.inputs[i], graph.inputs[i]);
    for (size_t i = 0; i < refNodes->size(); ++i) {
      const Node &r = *(*refNodes)[i], &n = *(*nodes)[i];
      for (size_t k = 0; k < r.outputs.size() && k < n.outputs.size(); ++k)
        add(r.outputs[k], n.outputs[k]);
    }
  }
  return map;
}

std::string FamilyValueMap::toMember(unsigned member,
                                     llvm::StringRef refName) const {
  auto it = toMember_[member].find(refName);
  return it == toMember_[member].end() ? std::string() : it->second;
}

std::string FamilyValueMap::toReference(unsigned member,
                                        llvm::StringRef memberName) const {
  auto it = toReference_[member].find(memberName);
  return it == toReference_[member].end() ? std::string() : it->second;
}

} // namespace sparseloom
