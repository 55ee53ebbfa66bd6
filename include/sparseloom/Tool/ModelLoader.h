//===- ModelLoader.h - Loading any supported input into the IR --*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// What every tool does first: read a model file, whatever its format, into a
// verified Module. The format follows the extension:
//   .onnx                 binary ONNX (protobuf)
//   .onnxtext, .onnxtxt   ONNX's textual syntax
//   .slir                 SparseLoom's textual IR (docs/IRFormat.md)
// With split-input-file, a text input is cut at lines `// -----` into
// independent cases (lit tests keep many small cases in one file); error
// positions still refer to lines of the whole file.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_TOOL_MODELLOADER_H
#define SPARSELOOM_TOOL_MODELLOADER_H

#include "sparseloom/IR/Module.h"
#include "sparseloom/Import/OnnxImporter.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>
#include <vector>

namespace sparseloom {

enum class InputFormat { OnnxBinary, OnnxText, IRText };

/// The format implied by the file name.
InputFormat inputFormatFor(llvm::StringRef path);

/// Loads and verifies one model. Errors carry `path` as their file.
llvm::Expected<std::unique_ptr<Module>>
loadModel(llvm::StringRef path, const ImportOptions &options = {});

/// One case of a split input: its text, padded with newlines so that line
/// numbers match the original file.
struct InputChunk {
  std::string text;
  unsigned firstLine; // 1-based line of the chunk in the file
};

/// Splits text at lines consisting of `// -----` (or `# -----`).
std::vector<InputChunk> splitInputFile(llvm::StringRef text);

/// Loads and verifies a model from in-memory text of the given format.
llvm::Expected<std::unique_ptr<Module>>
loadModelFromText(llvm::StringRef text, InputFormat format,
                  llvm::StringRef path, const ImportOptions &options = {});

} // namespace sparseloom

#endif // SPARSELOOM_TOOL_MODELLOADER_H
