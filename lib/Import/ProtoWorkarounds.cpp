//===- ProtoWorkarounds.cpp - Temporary edits around ONNX calls -----------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Edits of a ModelProto that last only while ONNX's checker, version
// converter or shape inference run, each working around an ONNX 1.12
// behaviour described in ImportInternal.h: temporary names for unnamed nodes
// (so ONNX's messages can point at a node) and sparse initializers presented
// as dense inputs (which ONNX's tools otherwise mistype or drop).
//
//===----------------------------------------------------------------------===//

#include "ImportInternal.h"

namespace sparseloom {
namespace onnx_import {

TemporaryNodeNames::TemporaryNodeNames(onnx::GraphProto &graph)
    : graph_(graph) {
  for (int i = 0; i < graph.node_size(); ++i) {
    onnx::NodeProto &node = *graph.mutable_node(i);
    if (!node.name().empty())
      continue;
    // The trailing "__" keeps node 1's name from being a prefix of node 12's.
    std::string temp = "__sparseloom_node_" + std::to_string(i) + "__";
    temporary_.emplace_back(temp, nodeDisplayName(node));
    node.set_name(temp);
    renamed_.push_back(i);
  }
}

TemporaryNodeNames::~TemporaryNodeNames() {
  for (int i : renamed_)
    if (i < graph_.node_size())
      graph_.mutable_node(i)->clear_name();
}

std::string TemporaryNodeNames::displayName(llvm::StringRef onnxName) const {
  for (const auto &[temp, display] : temporary_)
    if (onnxName == temp)
      return display;
  return onnxName.str();
}

std::string TemporaryNodeNames::rewrite(llvm::StringRef text) const {
  std::string out = text.str();
  for (const auto &[temp, display] : temporary_)
    for (size_t pos = out.find(temp); pos != std::string::npos;
         pos = out.find(temp, pos + display.size()))
      out.replace(pos, temp.size(), display);
  return out;
}

SparseInitializersAsInputs::SparseInitializersAsInputs(
    onnx::GraphProto &graph) {
  if (graph.sparse_initializer_size() == 0)
    return;
  std::set<std::string> inputs;
  for (const auto &input : graph.input())
    inputs.insert(input.name());
  saved_.Swap(graph.mutable_sparse_initializer());
  for (const onnx::SparseTensorProto &sparse : saved_) {
    const std::string &name = sparse.values().name();
    if (inputs.count(name))
      continue; // already declared (an IR < 4 style input)
    onnx::ValueInfoProto &input = *graph.add_input();
    input.set_name(name);
    auto &tensor = *input.mutable_type()->mutable_tensor_type();
    tensor.set_elem_type(sparse.values().data_type());
    auto &shape = *tensor.mutable_shape();
    for (int64_t d : sparse.dims())
      shape.add_dim()->set_dim_value(d);
    standIns_.insert(name);
  }
}

void SparseInitializersAsInputs::restore(onnx::GraphProto &graph) {
  if (!standIns_.empty()) {
    google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> kept;
    for (onnx::ValueInfoProto &input : *graph.mutable_input())
      if (!standIns_.count(input.name()))
        *kept.Add() = std::move(input);
    graph.mutable_input()->Swap(&kept);
    standIns_.clear();
  }
  graph.mutable_sparse_initializer()->Swap(&saved_);
  saved_.Clear();
}

} // namespace onnx_import
} // namespace sparseloom
