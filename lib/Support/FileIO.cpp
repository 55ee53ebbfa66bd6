//===- FileIO.cpp - Reading inputs and writing outputs safely -------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Support/FileIO.h"

#include "sparseloom/Support/Diagnostics.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

namespace sparseloom {

llvm::Expected<std::string> readFile(llvm::StringRef path) {
  if (llvm::sys::fs::is_directory(path))
    return llvm::make_error<DiagnosticError>(
        path.str(), "", "cannot read: is a directory, expected a file");
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return llvm::make_error<DiagnosticError>(
        path.str(), "", "cannot open: " + buffer.getError().message());
  return (*buffer)->getBuffer().str();
}

llvm::Error writeFileAtomically(llvm::StringRef path,
                                llvm::StringRef contents) {
  if (path == "-") {
    llvm::outs() << contents;
    llvm::outs().flush();
    return llvm::Error::success();
  }
  llvm::SmallString<256> dir(path);
  llvm::sys::path::remove_filename(dir);
  if (dir.empty())
    dir = ".";
  llvm::SmallString<256> model(dir);
  llvm::sys::path::append(model,
                          llvm::sys::path::filename(path) + ".tmp%%%%%%");
  int fd = -1;
  llvm::SmallString<256> tempPath;
  if (std::error_code ec = llvm::sys::fs::createUniqueFile(model, fd, tempPath))
    return llvm::make_error<DiagnosticError>(path.str(), "",
                                             "cannot write: " + ec.message());
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << contents;
    os.close();
    if (os.has_error()) {
      std::string message = os.error().message();
      os.clear_error();
      llvm::sys::fs::remove(tempPath);
      return llvm::make_error<DiagnosticError>(path.str(), "",
                                               "cannot write: " + message);
    }
  }
  if (std::error_code ec = llvm::sys::fs::rename(tempPath, path)) {
    llvm::sys::fs::remove(tempPath);
    return llvm::make_error<DiagnosticError>(path.str(), "",
                                             "cannot write: " + ec.message());
  }
  return llvm::Error::success();
}

} // namespace sparseloom
