//===- GraphConversion.cpp - A checked ONNX model into a Module -----------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The last import step: by now the model is structurally sound, valid,
// at opset >= kNormalizedOpset and carries inferred types in value_info, so
// the conversion is a field-by-field copy. Decisions made here:
//  - an initializer that is also listed as a graph input (required below
//    IR version 4, allowed later as an overridable default) becomes a weight
//    and is dropped from Graph::inputs: SparseLoom compiles for fixed
//    weights, and the exporter lists it as an input again when the IR
//    version requires it;
//  - "ai.onnx" is spelled "" (the default domain) in opset imports and nodes;
//  - every defined value gets an entry in the type table, unknown when
//    neither the model nor shape inference gave it a type.
//
//===----------------------------------------------------------------------===//

#include "ImportInternal.h"

#include "sparseloom/Support/Diagnostics.h"

#include <unordered_map>

namespace sparseloom {
namespace onnx_import {

namespace {

std::string normalizeDomain(const std::string &domain) {
  return domain == "ai.onnx" ? std::string() : domain;
}

llvm::Expected<Attribute> convertAttribute(const onnx::AttributeProto &attr,
                                           const std::string &nodeName) {
  switch (attr.type()) {
  case onnx::AttributeProto::FLOAT:
    return Attribute(attr.f());
  case onnx::AttributeProto::INT:
    return Attribute(int64_t(attr.i()));
  case onnx::AttributeProto::STRING:
    return Attribute(attr.s());
  case onnx::AttributeProto::TENSOR: {
    auto data = convertTensor(attr.t(), "attribute '" + attr.name() + "'");
    if (!data)
      // The tensor converter does not know the node; add it.
      return makeNodeError(nodeName, llvm::toString(data.takeError()));
    return Attribute(*data);
  }
  case onnx::AttributeProto::FLOATS:
    return Attribute(
        std::vector<float>(attr.floats().begin(), attr.floats().end()));
  case onnx::AttributeProto::INTS:
    return Attribute(
        std::vector<int64_t>(attr.ints().begin(), attr.ints().end()));
  case onnx::AttributeProto::STRINGS:
    return Attribute(
        std::vector<std::string>(attr.strings().begin(), attr.strings().end()));
  default:
    // GraphChecks.cpp rejected every other type before.
    return makeNodeError(
        nodeName, "attribute '" + attr.name() + "' of type " +
                      onnx::AttributeProto_AttributeType_Name(attr.type()) +
                      " is not supported");
  }
}

llvm::Expected<Node> convertNode(const onnx::NodeProto &proto) {
  Node node;
  node.opType = proto.op_type();
  node.domain = normalizeDomain(proto.domain());
  node.name = proto.name();
  node.inputs.assign(proto.input().begin(), proto.input().end());
  node.outputs.assign(proto.output().begin(), proto.output().end());
  std::string display = nodeDisplayName(proto);
  for (const onnx::AttributeProto &attr : proto.attribute()) {
    if (node.attributes.count(attr.name()))
      return makeNodeError(display,
                           "attribute '" + attr.name() + "' is given twice");
    auto value = convertAttribute(attr, display);
    if (!value)
      return value.takeError();
    node.attributes.emplace(attr.name(), std::move(*value));
  }
  return node;
}

} // namespace

llvm::Expected<std::unique_ptr<Module>>
convertModel(const onnx::ModelProto &model) {
  auto module = std::make_unique<Module>();
  module->irVersion = model.ir_version();
  module->producerName = model.producer_name();
  module->producerVersion = model.producer_version();
  module->domain = model.domain();
  module->modelVersion = model.model_version();
  module->docString = model.doc_string();
  for (const auto &imp : model.opset_import())
    module->opsetImports.emplace(normalizeDomain(imp.domain()), imp.version());
  for (const auto &prop : model.metadata_props())
    module->metadata.emplace_back(prop.key(), prop.value());

  const onnx::GraphProto &proto = model.graph();
  Graph &graph = module->graph;
  graph.name = proto.name();

  for (const onnx::TensorProto &init : proto.initializer()) {
    auto data = convertTensor(init, "weight '" + init.name() + "'");
    if (!data)
      return data.takeError();
    graph.setWeight(Weight{init.name(), *data, {}});
  }
  for (const onnx::SparseTensorProto &init : proto.sparse_initializer()) {
    const std::string &name = init.values().name();
    auto data = convertSparseTensor(init, "sparse weight '" + name + "'");
    if (!data)
      return data.takeError();
    graph.setWeight(Weight{name, *data, {}});
  }

  // Declared and inferred types; shape inference has merged them, so the
  // first declaration of a name is as good as any.
  std::unordered_map<std::string, const onnx::TypeProto *> declared;
  for (const auto *list :
       {&proto.input(), &proto.output(), &proto.value_info()})
    for (const onnx::ValueInfoProto &info : *list)
      declared.emplace(info.name(), &info.type());
  auto typeOf = [&](const std::string &name) -> llvm::Expected<TensorType> {
    auto it = declared.find(name);
    if (it == declared.end())
      return TensorType();
    return convertType(*it->second, name);
  };

  for (const onnx::ValueInfoProto &input : proto.input()) {
    if (graph.findWeight(input.name()))
      continue;
    auto type = typeOf(input.name());
    if (!type)
      return type.takeError();
    graph.inputs.push_back(input.name());
    graph.setType(input.name(), std::move(*type));
  }
  for (const onnx::NodeProto &nodeProto : proto.node()) {
    auto node = convertNode(nodeProto);
    if (!node)
      return node.takeError();
    for (const std::string &out : node->outputs) {
      if (out.empty())
        continue;
      auto type = typeOf(out);
      if (!type)
        return type.takeError();
      graph.setType(out, std::move(*type));
    }
    graph.addNode(std::move(*node));
  }
  for (const onnx::ValueInfoProto &output : proto.output())
    graph.outputs.push_back(output.name());
  return module;
}

} // namespace onnx_import
} // namespace sparseloom
