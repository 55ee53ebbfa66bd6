//===- ImportDiagnostics.cpp - Naming things in import errors -------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Small helpers every import step uses to phrase its errors: how a node or an
// element type is called, and how ONNX's multi-line exception texts become
// the single line our diagnostic format prints.
//
//===----------------------------------------------------------------------===//

#include "ImportInternal.h"

#include "llvm/ADT/SmallVector.h"

namespace sparseloom {
namespace onnx_import {

std::string nodeDisplayName(const onnx::NodeProto &node) {
  // Same rule as Node::displayName(), so diagnostics before and after the
  // conversion name a node identically.
  if (!node.name().empty())
    return node.name();
  std::string out = node.op_type();
  if (node.output_size() > 0)
    out += " producing '" + node.output(0) + "'";
  return out;
}

std::string onnxDTypeName(int32_t code) {
  if (onnx::TensorProto_DataType_IsValid(code))
    return onnx::TensorProto_DataType_Name(code);
  return "code " + std::to_string(code);
}

std::string flattenOnnxMessage(llvm::StringRef text) {
  // ONNX appends "\n\n==> Context: ..." and splits lists over lines; keep
  // every non-empty line, trimmed, joined with "; ".
  llvm::SmallVector<llvm::StringRef, 8> lines;
  text.split(lines, '\n', /*MaxSplit=*/-1, /*KeepEmpty=*/false);
  std::string out;
  for (llvm::StringRef line : lines) {
    line = line.trim();
    if (line.consume_front("==> Context:"))
      line = line.trim();
    if (line.empty())
      continue;
    if (!out.empty())
      out += "; ";
    out += line.str();
  }
  return out;
}

} // namespace onnx_import
} // namespace sparseloom
