//===- Diagnostics.cpp - Errors that name the file and the node -----------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Support/Diagnostics.h"

namespace sparseloom {

char DiagnosticError::ID = 0;

void DiagnosticError::log(llvm::raw_ostream &os) const {
  if (!file_.empty())
    os << file_ << ": ";
  if (!node_.empty())
    os << "node " << node_ << ": ";
  os << message_;
}

std::error_code DiagnosticError::convertToErrorCode() const {
  return llvm::inconvertibleErrorCode();
}

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::make_error<DiagnosticError>("", "", message.str());
}

llvm::Error makeNodeError(llvm::StringRef node, const llvm::Twine &message) {
  return llvm::make_error<DiagnosticError>("", node.str(), message.str());
}

llvm::Error withFile(llvm::Error err, llvm::StringRef file) {
  if (!err)
    return err;
  llvm::Error result = llvm::Error::success();
  llvm::handleAllErrors(
      std::move(err),
      [&](std::unique_ptr<DiagnosticError> diag) {
        if (diag->file().empty())
          diag->setFile(file.str());
        result =
            llvm::joinErrors(std::move(result), llvm::Error(std::move(diag)));
      },
      [&](const llvm::ErrorInfoBase &other) {
        result = llvm::joinErrors(
            std::move(result),
            llvm::make_error<DiagnosticError>(file.str(), "", other.message()));
      });
  return result;
}

void reportError(llvm::StringRef tool, llvm::Error err) {
  llvm::handleAllErrors(std::move(err), [&](const llvm::ErrorInfoBase &info) {
    llvm::errs() << tool << ": error: ";
    info.log(llvm::errs());
    llvm::errs() << "\n";
  });
}

void reportWarning(llvm::StringRef tool, const llvm::Twine &message) {
  llvm::errs() << tool << ": warning: " << message << "\n";
}

} // namespace sparseloom
