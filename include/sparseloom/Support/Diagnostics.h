//===- Diagnostics.h - Errors that name the file and the node ---*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// User-input errors travel as llvm::Error values of class DiagnosticError,
// which carries the file and node they concern. The code that knows the node
// (a pass, the importer) creates the error; the code that knows the file (a
// tool) adds it with withFile(); the tool prints it in the one format every
// SparseLoom tool uses:
//
//   sparseloom-opt: error: model.onnx: node /conv1/Conv: kernel_shape ...
//
// Programming errors are asserts, not diagnostics.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_SUPPORT_DIAGNOSTICS_H
#define SPARSELOOM_SUPPORT_DIAGNOSTICS_H

#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace sparseloom {

class DiagnosticError : public llvm::ErrorInfo<DiagnosticError> {
public:
  static char ID;
  DiagnosticError(std::string file, std::string node, std::string message)
      : file_(std::move(file)), node_(std::move(node)),
        message_(std::move(message)) {}

  const std::string &file() const { return file_; }
  const std::string &node() const { return node_; }
  /// The message without file and node (message() is ErrorInfoBase's full
  /// text).
  const std::string &reason() const { return message_; }
  void setFile(std::string file) { file_ = std::move(file); }

  /// "FILE: node NAME: message" with the parts that are known.
  void log(llvm::raw_ostream &os) const override;
  std::error_code convertToErrorCode() const override;

private:
  std::string file_;
  std::string node_;
  std::string message_;
};

/// An error about the input as a whole.
llvm::Error makeError(const llvm::Twine &message);
/// An error about one node (or value) of the input.
llvm::Error makeNodeError(llvm::StringRef node, const llvm::Twine &message);
/// Adds `file` to every DiagnosticError in `err` that has none, and turns any
/// other error into a DiagnosticError for `file`.
llvm::Error withFile(llvm::Error err, llvm::StringRef file);

/// Prints "TOOL: error: <diagnostic>" for every error in `err` to stderr.
void reportError(llvm::StringRef tool, llvm::Error err);
/// Prints "TOOL: warning: message" to stderr.
void reportWarning(llvm::StringRef tool, const llvm::Twine &message);

} // namespace sparseloom

#endif // SPARSELOOM_SUPPORT_DIAGNOSTICS_H
