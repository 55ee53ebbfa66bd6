//===- OnnxImporter.h - ONNX models into the IR -----------------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Reads `.onnx` (binary protobuf) and `.onnxtext` (ONNX's textual syntax, read
// with ONNX's own parser) files into a Module. Before converting, the model is
// run through SparseLoom's structural checks (empty graph, values defined
// twice, undefined reads, cycles, unsupported attribute and element types;
// these run even without ONNX's checker), ONNX's checker and strict shape
// inference, and models at opsets older than kNormalizedOpset are converted
// with ONNX's version converter, so every pass sees opset >= kNormalizedOpset
// semantics. ONNX's checker, converter and shape inference run in a child
// process where the platform allows it: ONNX 1.12 crashes on some malformed
// models, and a crash must become an error.
//
// Conventions of the result:
//  - weights may be dense initializers, sparse_initializers (kept as
//    SparseCoo storage) or external data files next to the model (read into
//    memory; the exporter writes them inline);
//  - an initializer that is also a graph input becomes a weight and is not
//    listed in Graph::inputs;
//  - the default domain is spelled "" (never "ai.onnx");
//  - nodes are in topological order (an acyclic graph written out of order
//    is sorted, stably);
//  - every value has a type-table entry; dimensions ONNX could not infer are
//    unknown (the "unk__N" names ONNX invents for them are dropped);
//  - a text model without ir_version gets the IR version ONNX 1.12 writes (8).
//
// Every failure is a DiagnosticError naming the node where there is one.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_IMPORT_ONNXIMPORTER_H
#define SPARSELOOM_IMPORT_ONNXIMPORTER_H

#include "sparseloom/IR/Module.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sparseloom {

/// Oldest and newest default-domain opsets accepted on import.
constexpr int64_t kMinImportOpset = 7;
constexpr int64_t kMaxImportOpset = 17;
/// Models older than this are converted up to it.
constexpr int64_t kNormalizedOpset = 13;

struct ImportOptions {
  /// Binds symbolic or unknown input dimensions: input name -> full shape.
  /// Shape inference runs again afterwards.
  std::map<std::string, std::vector<int64_t>> inputShapes;
  /// Run ONNX's checker (on by default; tests of the importer's own checks
  /// switch it off). Models that need opset conversion are always checked:
  /// ONNX's converter assumes a valid model.
  bool runChecker = true;
};

/// Imports a file; `.onnxtext`/`.onnxtxt` is parsed as text, anything else as
/// binary protobuf. Errors carry `path` as their file.
llvm::Expected<std::unique_ptr<Module>>
importOnnxFile(llvm::StringRef path, const ImportOptions &options = {});

/// Imports a serialized ModelProto. `baseDir` resolves external data.
llvm::Expected<std::unique_ptr<Module>>
importOnnxBytes(llvm::StringRef bytes, llvm::StringRef baseDir,
                const ImportOptions &options = {});

/// Imports ONNX textual syntax.
llvm::Expected<std::unique_ptr<Module>>
importOnnxText(llvm::StringRef text, llvm::StringRef baseDir,
               const ImportOptions &options = {});

/// Parses "NAME=1,3,48,192" as used by --input-shape.
llvm::Error
parseInputShapeBinding(llvm::StringRef spec,
                       std::map<std::string, std::vector<int64_t>> &out);

} // namespace sparseloom

#endif // SPARSELOOM_IMPORT_ONNXIMPORTER_H
