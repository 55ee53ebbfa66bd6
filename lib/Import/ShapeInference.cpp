//===- ShapeInference.cpp - Strict ONNX shape inference -------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Runs ONNX's shape inference in strict mode (type checks on, node-level
// errors thrown) so that a shape conflict is reported instead of leaving a
// value silently untyped. Around the call, three ONNX 1.12 behaviours are
// adjusted: unnamed nodes are named temporarily so an error can point at its
// node, sparse initializers are presented as dense values (both in
// ProtoWorkarounds.cpp), and the "unk__N" names ONNX invents for unknown
// dimensions are removed again.
//
//===----------------------------------------------------------------------===//

#include "ImportInternal.h"

#include "sparseloom/Support/Diagnostics.h"

#include "onnx/defs/schema.h"
#include "onnx/shape_inference/implementation.h"

#include "llvm/ADT/ScopeExit.h"

#include <set>

namespace sparseloom {
namespace onnx_import {

namespace {

/// Parses "(op_type:Add, node name: N): [ShapeInferenceError] message".
llvm::Error shapeInferenceError(llvm::StringRef what,
                                const TemporaryNodeNames &names) {
  std::string text = flattenOnnxMessage(what);
  llvm::StringRef rest(text);
  size_t open = rest.find("(op_type:");
  if (open == llvm::StringRef::npos)
    return makeError("shape inference failed: " + names.rewrite(text));
  rest = rest.substr(open);
  size_t close = rest.find("): ");
  if (close == llvm::StringRef::npos)
    return makeError("shape inference failed: " + names.rewrite(text));
  llvm::StringRef where = rest.substr(0, close);
  llvm::StringRef message = rest.substr(close + 3);
  // Keep only the first error when ONNX lists several.
  message = message.substr(0, message.find("; (op_type:"));
  for (llvm::StringRef tag : {"[ShapeInferenceError]", "[TypeInferenceError]"})
    message.consume_front(tag);
  message = message.trim();

  std::string node;
  size_t namePos = where.find("node name: ");
  if (namePos != llvm::StringRef::npos)
    node = names.displayName(where.substr(namePos + 11).trim());
  std::string detail = names.rewrite(message);
  std::string advice = " (check the shapes declared for the model's inputs, "
                       "outputs and value_info)";
  if (node.empty())
    return makeError("shape inference failed at " + where.drop_front() + ": " +
                     detail + advice);
  return makeNodeError(node, "shape inference failed: " + detail + advice);
}

/// The dim_params a graph's inputs, outputs and value_info mention.
std::set<std::string> collectSymbols(const onnx::GraphProto &graph) {
  std::set<std::string> symbols;
  for (const auto *list :
       {&graph.input(), &graph.output(), &graph.value_info()})
    for (const onnx::ValueInfoProto &info : *list)
      if (info.type().has_tensor_type())
        for (const auto &dim : info.type().tensor_type().shape().dim())
          if (dim.has_dim_param())
            symbols.insert(dim.dim_param());
  return symbols;
}

/// ONNX's shape inference names every dimension it cannot determine
/// ("unk__0", "unk__1", ...). Those names are not the model's: turn them back
/// into unknown dimensions, so the IR says what is known and an exported and
/// re-imported model gets the same types.
void forgetInventedSymbols(onnx::GraphProto &graph,
                           const std::set<std::string> &original) {
  for (auto *list : {graph.mutable_output(), graph.mutable_value_info()})
    for (onnx::ValueInfoProto &info : *list) {
      if (!info.type().has_tensor_type())
        continue;
      auto *shape = info.mutable_type()->mutable_tensor_type();
      if (!shape->has_shape())
        continue;
      for (auto &dim : *shape->mutable_shape()->mutable_dim())
        if (dim.has_dim_param() &&
            llvm::StringRef(dim.dim_param()).startswith("unk__") &&
            !original.count(dim.dim_param()))
          dim.clear_dim_param();
    }
}

} // namespace

llvm::Error inferShapes(onnx::ModelProto &model) {
  onnx::GraphProto &graph = *model.mutable_graph();
  std::set<std::string> symbols = collectSymbols(graph);
  auto run = [&]() -> llvm::Error {
    TemporaryNodeNames names(graph);
    SparseInitializersAsInputs sparseAsInputs(graph);
    auto restore =
        llvm::make_scope_exit([&] { sparseAsInputs.restore(graph); });
    try {
      onnx::ShapeInferenceOptions options(/*check_type=*/true,
                                          /*error_mode=*/1);
      onnx::shape_inference::InferShapes(
          model, onnx::OpSchemaRegistry::Instance(), options);
    } catch (const std::exception &e) {
      return shapeInferenceError(e.what(), names);
    } catch (...) {
      return makeError("shape inference failed with an unknown exception");
    }
    return llvm::Error::success();
  };
  llvm::Error result = run();
  forgetInventedSymbols(graph, symbols);
  return result;
}

} // namespace onnx_import
} // namespace sparseloom
