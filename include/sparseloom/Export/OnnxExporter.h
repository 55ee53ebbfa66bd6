//===- OnnxExporter.h - The IR back to ONNX ---------------------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Writes a Module as an ONNX ModelProto that passes ONNX's checker. SparseCoo
// weights become sparse_initializers; annotations are not ONNX attributes and
// are dropped (they travel in the textual IR). Elided weights cannot be
// exported: their values are unknown.
//
// importOnnx(exportOnnx(m)) reproduces m; the conformance smoke test checks
// this on ONNX's own test models.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_EXPORT_ONNXEXPORTER_H
#define SPARSELOOM_EXPORT_ONNXEXPORTER_H

#include "sparseloom/IR/Module.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>

namespace sparseloom {

struct ExportOptions {
  /// Run ONNX's checker on the result (fails the export when it complains).
  bool runChecker = true;
};

/// Serialized ModelProto bytes.
llvm::Expected<std::string> exportOnnxBytes(const Module &module,
                                            const ExportOptions &options = {});

/// Writes the model to `path` atomically (temporary file, then rename).
llvm::Error exportOnnxFile(const Module &module, llvm::StringRef path,
                           const ExportOptions &options = {});

} // namespace sparseloom

#endif // SPARSELOOM_EXPORT_ONNXEXPORTER_H
