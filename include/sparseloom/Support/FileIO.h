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
#include <vector>

namespace sparseloom {

/// The whole file; a DiagnosticError for `path` when it cannot be read
/// (missing, a directory, unreadable).
llvm::Expected<std::string> readFile(llvm::StringRef path);

/// Writes `contents` to `path` atomically. "-" writes to stdout.
llvm::Error writeFileAtomically(llvm::StringRef path, llvm::StringRef contents);

/// A file to write into a directory: its name inside it and its bytes.
struct DirectoryEntry {
  std::string name;
  std::string contents;
};

/// Writes every entry into DIR (created when missing; other files in it
/// are kept): all of them go to a fresh directory next to DIR first and
/// move into place only when every write succeeded, so a failure leaves
/// DIR as it was.
llvm::Error writeDirectoryAtomically(llvm::StringRef dir,
                                     const std::vector<DirectoryEntry> &files);

} // namespace sparseloom

#endif // SPARSELOOM_SUPPORT_FILEIO_H
