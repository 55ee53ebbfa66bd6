//===- FileIO.h - Reading inputs and writing outputs safely -----*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Outputs are written to a temporary file in the destination directory and
// renamed into place, so a failed run never leaves a half-written file.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_SUPPORT_FILEIO_H
#define SPARSELOOM_SUPPORT_FILEIO_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>

namespace sparseloom {

/// The whole file; a DiagnosticError for `path` when it cannot be read
/// (missing, a directory, unreadable).
llvm::Expected<std::string> readFile(llvm::StringRef path);

/// Writes `contents` to `path` atomically. "-" writes to stdout.
llvm::Error writeFileAtomically(llvm::StringRef path, llvm::StringRef contents);

} // namespace sparseloom

#endif // SPARSELOOM_SUPPORT_FILEIO_H
