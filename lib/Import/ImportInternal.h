//===- ImportInternal.h - Pieces of the ONNX importer -----------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The importer runs as a sequence of steps over an onnx::ModelProto, each in
// its own file:
//
//   ExternalData.cpp      pull external weight bytes into the proto
//   GraphChecks.cpp       SparseLoom's own structural checks (run even when
//                         ONNX's checker is off) and topological ordering
//   ModelPreparation.cpp  opset range, input-shape binding, ONNX checker,
//                         version conversion, then shape inference
//   ShapeInference.cpp    strict ONNX shape inference
//   ProtoWorkarounds.cpp  temporary edits that work around ONNX 1.12 limits
//   ProcessIsolation.cpp  runs the ONNX calls in a child process
//   TensorConversion.cpp  TensorProto / SparseTensorProto / TypeProto -> IR
//   GraphConversion.cpp   the checked proto -> Module
//   OnnxImporter.cpp      the public entry points that order the steps
//   ImportDiagnostics.cpp how errors name nodes, types and ONNX's messages
//
// This header is private to lib/Import.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_LIB_IMPORT_IMPORTINTERNAL_H
#define SPARSELOOM_LIB_IMPORT_IMPORTINTERNAL_H

#include "sparseloom/IR/Module.h"
#include "sparseloom/IR/TensorData.h"
#include "sparseloom/IR/Types.h"
#include "sparseloom/Import/OnnxImporter.h"

#include "onnx/onnx_pb.h"

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace sparseloom {
namespace onnx_import {

//===----------------------------------------------------------------------===//
// Naming helpers shared by the steps.
//===----------------------------------------------------------------------===//

/// The name used for `node` in diagnostics; mirrors Node::displayName() so a
/// node is called the same before and after import.
std::string nodeDisplayName(const onnx::NodeProto &node);

/// "FLOAT", "COMPLEX64", ... or "code N" for a code ONNX does not define.
std::string onnxDTypeName(int32_t code);

/// Turns an ONNX exception text (multi-line, with "==> Context:" trailers)
/// into one line for a diagnostic.
std::string flattenOnnxMessage(llvm::StringRef text);

/// ONNX's checker and shape inference identify a node in their messages only
/// by its name, and most exported nodes have none. While an instance lives,
/// every unnamed node carries a unique temporary name; the messages can then
/// be translated back to the names diagnostics use (nodeDisplayName).
class TemporaryNodeNames {
public:
  explicit TemporaryNodeNames(onnx::GraphProto &graph);
  ~TemporaryNodeNames();
  TemporaryNodeNames(const TemporaryNodeNames &) = delete;
  TemporaryNodeNames &operator=(const TemporaryNodeNames &) = delete;

  /// The diagnostic name of the node ONNX called `onnxName`.
  std::string displayName(llvm::StringRef onnxName) const;
  /// `text` with every temporary name replaced by the node's display name.
  std::string rewrite(llvm::StringRef text) const;

private:
  onnx::GraphProto &graph_;
  std::vector<std::pair<std::string, std::string>> temporary_; // temp, display
  std::vector<int> renamed_;
};

/// ONNX 1.12 handles sparse_initializers badly: shape inference types them as
/// sparse tensors, which no dense operator accepts, and the version converter
/// drops them. Yet a sparse initializer is only a storage format for a dense
/// weight (that is how runtimes load it). While ONNX runs, the sparse
/// initializers are set aside and declared as dense graph inputs of the same
/// type instead; restore() puts them back into the graph ONNX produced.
class SparseInitializersAsInputs {
public:
  explicit SparseInitializersAsInputs(onnx::GraphProto &graph);
  SparseInitializersAsInputs(const SparseInitializersAsInputs &) = delete;
  SparseInitializersAsInputs &
  operator=(const SparseInitializersAsInputs &) = delete;

  /// Removes the stand-in inputs from `graph` (the original graph, or the one
  /// the version converter built from it) and gives it the sparse
  /// initializers back. Must be called exactly once.
  void restore(onnx::GraphProto &graph);

private:
  google::protobuf::RepeatedPtrField<onnx::SparseTensorProto> saved_;
  std::set<std::string> standIns_;
};

//===----------------------------------------------------------------------===//
// Steps.
//===----------------------------------------------------------------------===//

/// Replaces every externally stored tensor (initializers, sparse
/// initializers, tensor attributes) by its bytes read from `baseDir`.
llvm::Error resolveExternalData(onnx::ModelProto &model,
                                llvm::StringRef baseDir);

/// SparseLoom's own checks of the main graph: non-empty, every value defined
/// once, every read defined, supported attribute and element types, acyclic.
/// Nodes that are acyclic but out of order are put in topological order.
llvm::Error checkAndOrderGraph(onnx::GraphProto &graph);

/// The default-domain opset, or 0 when the model imports none.
int64_t defaultOpset(const onnx::ModelProto &model);

/// Opset range check, input-shape binding, ONNX checker, version conversion
/// and strict shape inference, in that order; the ONNX calls run isolated.
llvm::Error prepareModel(onnx::ModelProto &model, const ImportOptions &options);

/// Strict shape inference; the inferred types land in value_info/outputs.
llvm::Error inferShapes(onnx::ModelProto &model);

/// Runs `work` in a child process and returns what it returned; a crash of
/// the child (ONNX dereferencing a malformed model) is an error saying that
/// ONNX crashed while doing `what`.
llvm::Expected<std::string> runIsolated(llvm::function_ref<std::string()> work,
                                        llvm::StringRef what);

/// Converts the prepared model.
llvm::Expected<std::unique_ptr<Module>>
convertModel(const onnx::ModelProto &model);

//===----------------------------------------------------------------------===//
// Tensor and type conversion.
//===----------------------------------------------------------------------===//

/// A dense tensor (raw_data or the typed field of its element type).
/// `what` names the tensor in errors ("weight 'W'", "attribute 'value'").
llvm::Expected<TensorDataRef> convertTensor(const onnx::TensorProto &tensor,
                                            llvm::StringRef what);

/// A COO sparse tensor with linear or coordinate indices.
llvm::Expected<TensorDataRef>
convertSparseTensor(const onnx::SparseTensorProto &sparse,
                    llvm::StringRef what);

/// The tensor type of a value; an absent type is an unknown TensorType.
/// Non-tensor types and unsupported element types are errors.
llvm::Expected<TensorType> convertType(const onnx::TypeProto &type,
                                       llvm::StringRef valueName);

} // namespace onnx_import
} // namespace sparseloom

#endif // SPARSELOOM_LIB_IMPORT_IMPORTINTERNAL_H
