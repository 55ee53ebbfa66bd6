//===- Module.cpp - Values, nodes, graphs and modules ---------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/IR/Module.h"

#include <algorithm>
#include <cassert>

namespace sparseloom {

//===----------------------------------------------------------------------===//
// Node
//===----------------------------------------------------------------------===//

const Attribute *Node::getAttr(llvm::StringRef attrName) const {
  auto it = attributes.find(attrName.str());
  return it == attributes.end() ? nullptr : &it->second;
}

int64_t Node::getIntAttr(llvm::StringRef attrName, int64_t defaultValue) const {
  const Attribute *a = getAttr(attrName);
  return a && a->kind() == Attribute::Kind::Int ? a->getInt() : defaultValue;
}

std::vector<int64_t> Node::getIntsAttr(llvm::StringRef attrName) const {
  const Attribute *a = getAttr(attrName);
  return a && a->kind() == Attribute::Kind::Ints ? a->getInts()
                                                 : std::vector<int64_t>();
}

std::string Node::displayName() const {
  if (!name.empty())
    return name;
  std::string out = opType;
  if (!outputs.empty())
    out += " producing '" + outputs.front() + "'";
  return out;
}

//===----------------------------------------------------------------------===//
// Graph
//===----------------------------------------------------------------------===//

Node &Graph::addNode(Node node) {
  nodes_.push_back(std::make_unique<Node>(std::move(node)));
  return *nodes_.back();
}

Node &Graph::insertNode(size_t index, Node node) {
  assert(index <= nodes_.size());
  auto it = nodes_.insert(nodes_.begin() + long(index),
                          std::make_unique<Node>(std::move(node)));
  return **it;
}

void Graph::eraseNode(const Node *node) {
  auto it = std::find_if(nodes_.begin(), nodes_.end(),
                         [&](const auto &n) { return n.get() == node; });
  assert(it != nodes_.end() && "node is not in this graph");
  for (const std::string &out : (*it)->outputs)
    if (!out.empty() &&
        std::find(outputs.begin(), outputs.end(), out) == outputs.end())
      types_.erase(out);
  nodes_.erase(it);
}

int Graph::indexOf(const Node *node) const {
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].get() == node)
      return int(i);
  return -1;
}

void Graph::setNodeOrder(const std::vector<const Node *> &order) {
  assert(order.size() == nodes_.size());
  std::vector<std::unique_ptr<Node>> reordered;
  reordered.reserve(nodes_.size());
  for (const Node *n : order) {
    auto it = std::find_if(nodes_.begin(), nodes_.end(),
                           [&](const auto &p) { return p.get() == n; });
    assert(it != nodes_.end() && *it && "order is not a permutation");
    reordered.push_back(std::move(*it));
  }
  nodes_ = std::move(reordered);
}

Weight *Graph::findWeight(llvm::StringRef weightName) {
  auto it = weights_.find(weightName.str());
  return it == weights_.end() ? nullptr : &it->second;
}

const Weight *Graph::findWeight(llvm::StringRef weightName) const {
  auto it = weights_.find(weightName.str());
  return it == weights_.end() ? nullptr : &it->second;
}

Weight &Graph::setWeight(Weight weight) {
  assert(weight.data && "a weight needs data");
  types_[weight.name] = weight.data->type();
  std::string key = weight.name;
  weights_[key] = std::move(weight);
  return weights_[key];
}

void Graph::removeWeight(llvm::StringRef weightName) {
  weights_.erase(weightName.str());
  types_.erase(weightName.str());
}

bool Graph::hasType(llvm::StringRef valueName) const {
  return types_.find(valueName) != types_.end();
}

TensorType Graph::getType(llvm::StringRef valueName) const {
  auto it = types_.find(valueName);
  return it == types_.end() ? TensorType() : it->second;
}

void Graph::setType(const std::string &valueName, TensorType type) {
  types_[valueName] = std::move(type);
}

void Graph::eraseType(llvm::StringRef valueName) {
  auto it = types_.find(valueName);
  if (it != types_.end())
    types_.erase(it);
}

void Graph::replaceAllUsesWith(llvm::StringRef from, const std::string &to) {
  for (auto &n : nodes_)
    for (std::string &in : n->inputs)
      if (in == from)
        in = to;
  for (std::string &out : outputs)
    if (out == from)
      out = to;
}

std::string Graph::uniqueName(llvm::StringRef hint) const {
  std::string base = hint.empty() ? std::string("v") : hint.str();
  if (!hasType(base) && !findWeight(base))
    return base;
  for (unsigned i = 1;; ++i) {
    std::string candidate = base + "_" + std::to_string(i);
    if (!hasType(candidate) && !findWeight(candidate))
      return candidate;
  }
}

//===----------------------------------------------------------------------===//
// Module
//===----------------------------------------------------------------------===//

int64_t Module::opsetVersion(llvm::StringRef opDomain) const {
  // "ai.onnx" is an alias of the default domain.
  std::string key = opDomain == "ai.onnx" ? std::string() : opDomain.str();
  auto it = opsetImports.find(key);
  if (it == opsetImports.end() && key.empty())
    it = opsetImports.find("ai.onnx");
  return it == opsetImports.end() ? 0 : it->second;
}

std::unique_ptr<Module> Module::clone() const {
  auto m = std::make_unique<Module>();
  m->irVersion = irVersion;
  m->producerName = producerName;
  m->producerVersion = producerVersion;
  m->domain = domain;
  m->modelVersion = modelVersion;
  m->docString = docString;
  m->opsetImports = opsetImports;
  m->metadata = metadata;
  m->annotations = annotations;
  m->graph.name = graph.name;
  m->graph.inputs = graph.inputs;
  m->graph.outputs = graph.outputs;
  for (const auto &n : graph.nodes())
    m->graph.addNode(*n);
  for (const auto &entry : graph.weights())
    m->graph.setWeight(entry.second);
  for (const auto &entry : graph.types())
    m->graph.setType(entry.first, entry.second);
  return m;
}

} // namespace sparseloom
