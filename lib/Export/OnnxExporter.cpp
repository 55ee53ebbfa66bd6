//===- OnnxExporter.cpp - The IR back to ONNX -----------------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Builds a ModelProto from a Module so that importing it reproduces the
// Module (the importer's conventions are mirrored here):
//  - weights become initializers (SparseCoo ones sparse_initializers) and
//    are not graph inputs, except below IR version 4 where ONNX requires
//    every initializer to be listed as an input too;
//  - every typed value that is not a graph input or output gets a
//    value_info entry, so re-import does not depend on shape inference
//    rediscovering the same types; values of unknown element type get none;
//  - annotations are not ONNX attributes and are dropped.
// Files are written to a temporary next to the target and renamed, so a
// failed export never leaves a half-written model behind.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Export/OnnxExporter.h"

#include "ExportInternal.h"

#include "sparseloom/Support/Diagnostics.h"

#include "onnx/checker.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <set>

namespace sparseloom {

namespace {

using namespace onnx_export;

constexpr const char *kElidedAdvice =
    "has elided values; print IR with --print-weights=all";

void addValueInfo(
    const Graph &graph, const std::string &name,
    google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> &list) {
  onnx::ValueInfoProto &info = *list.Add();
  info.set_name(name);
  exportType(graph.getType(name), *info.mutable_type());
}

llvm::Error exportAttribute(const Node &node, const std::string &name,
                            const Attribute &attr, onnx::AttributeProto &out) {
  out.set_name(name);
  switch (attr.kind()) {
  case Attribute::Kind::Int:
    out.set_type(onnx::AttributeProto::INT);
    out.set_i(attr.getInt());
    break;
  case Attribute::Kind::Float:
    out.set_type(onnx::AttributeProto::FLOAT);
    out.set_f(attr.getFloat());
    break;
  case Attribute::Kind::String:
    out.set_type(onnx::AttributeProto::STRING);
    out.set_s(attr.getString());
    break;
  case Attribute::Kind::Tensor:
    if (!attr.getTensor()->hasValues())
      return makeNodeError(node.displayName(),
                           "attribute '" + name + "' " + kElidedAdvice);
    out.set_type(onnx::AttributeProto::TENSOR);
    exportDenseTensor(*attr.getTensor(), "", *out.mutable_t());
    break;
  case Attribute::Kind::Ints:
    out.set_type(onnx::AttributeProto::INTS);
    for (int64_t v : attr.getInts())
      out.add_ints(v);
    break;
  case Attribute::Kind::Floats:
    out.set_type(onnx::AttributeProto::FLOATS);
    for (float v : attr.getFloats())
      out.add_floats(v);
    break;
  case Attribute::Kind::Strings:
    out.set_type(onnx::AttributeProto::STRINGS);
    for (const std::string &v : attr.getStrings())
      out.add_strings(v);
    break;
  }
  return llvm::Error::success();
}

llvm::Error exportGraph(const Module &module, onnx::GraphProto &out) {
  const Graph &graph = module.graph;
  out.set_name(graph.name);

  for (const auto &entry : graph.weights()) {
    const Weight &weight = entry.second;
    const TensorData &data = *weight.data;
    if (!data.hasValues())
      return makeError("weight " + weight.name + " " + kElidedAdvice);
    if (data.kind() == TensorData::Kind::SparseCoo)
      exportSparseTensor(data, weight.name, *out.add_sparse_initializer());
    else
      exportDenseTensor(data, weight.name, *out.add_initializer());
  }

  for (const std::string &input : graph.inputs)
    addValueInfo(graph, input, *out.mutable_input());
  // IR versions before 4 require every initializer to be a graph input.
  if (module.irVersion < 4)
    for (const auto &entry : graph.weights())
      addValueInfo(graph, entry.first, *out.mutable_input());

  std::set<std::string> boundary(graph.outputs.begin(), graph.outputs.end());
  for (const auto &nodePtr : graph.nodes()) {
    const Node &node = *nodePtr;
    onnx::NodeProto &proto = *out.add_node();
    proto.set_op_type(node.opType);
    proto.set_domain(node.domain);
    if (!node.name.empty())
      proto.set_name(node.name);
    for (const std::string &in : node.inputs)
      proto.add_input(in);
    for (const std::string &res : node.outputs)
      proto.add_output(res);
    for (const auto &[name, attr] : node.attributes)
      if (llvm::Error err =
              exportAttribute(node, name, attr, *proto.add_attribute()))
        return err;
    for (const std::string &res : node.outputs) {
      if (res.empty() || boundary.count(res))
        continue;
      onnx::TypeProto type;
      if (!exportType(graph.getType(res), type))
        continue;
      onnx::ValueInfoProto &info = *out.add_value_info();
      info.set_name(res);
      *info.mutable_type() = std::move(type);
    }
  }

  for (const std::string &output : graph.outputs)
    addValueInfo(graph, output, *out.mutable_output());
  return llvm::Error::success();
}

llvm::Error buildModel(const Module &module, onnx::ModelProto &model) {
  model.set_ir_version(module.irVersion);
  model.set_producer_name(module.producerName);
  model.set_producer_version(module.producerVersion);
  model.set_domain(module.domain);
  model.set_model_version(module.modelVersion);
  model.set_doc_string(module.docString);
  for (const auto &[domain, version] : module.opsetImports) {
    onnx::OperatorSetIdProto &imp = *model.add_opset_import();
    imp.set_domain(domain);
    imp.set_version(version);
  }
  for (const auto &[key, value] : module.metadata) {
    onnx::StringStringEntryProto &prop = *model.add_metadata_props();
    prop.set_key(key);
    prop.set_value(value);
  }
  return exportGraph(module, *model.mutable_graph());
}

llvm::Error writeAtomically(llvm::StringRef path, llvm::StringRef bytes) {
  llvm::SmallString<256> tmp;
  int fd = -1;
  if (std::error_code ec =
          llvm::sys::fs::createUniqueFile(path + ".tmp%%%%%%", fd, tmp))
    return makeError("cannot write '" + path + "': " + ec.message());
  std::error_code ec;
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << bytes;
    os.close();
    if (os.has_error()) {
      ec = os.error();
      os.clear_error(); // or raw_fd_ostream aborts on destruction
    }
  }
  if (!ec)
    ec = llvm::sys::fs::rename(tmp, path);
  if (ec) {
    llvm::sys::fs::remove(tmp);
    return makeError("cannot write '" + path + "': " + ec.message());
  }
  return llvm::Error::success();
}

} // namespace

llvm::Expected<std::string> exportOnnxBytes(const Module &module,
                                            const ExportOptions &options) {
  try {
    onnx::ModelProto model;
    if (llvm::Error err = buildModel(module, model))
      return err;
    if (options.runChecker) {
      try {
        onnx::checker::check_model(model);
      } catch (const std::exception &e) {
        std::string text = e.what();
        for (char &c : text)
          if (c == '\n')
            c = ' ';
        return makeError("the exported model fails the ONNX checker: " +
                         llvm::StringRef(text).trim());
      }
    }
    std::string bytes;
    if (!model.SerializeToString(&bytes))
      return makeError(
          "cannot serialize the model (ONNX files are limited to 2 GB)");
    return bytes;
  } catch (const std::exception &e) {
    return makeError(llvm::Twine("export failed: ") + e.what());
  }
}

llvm::Error exportOnnxFile(const Module &module, llvm::StringRef path,
                           const ExportOptions &options) {
  auto bytes = exportOnnxBytes(module, options);
  if (!bytes)
    return bytes.takeError();
  return writeAtomically(path, *bytes);
}

} // namespace sparseloom
