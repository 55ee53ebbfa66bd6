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

llvm::Error writeDirectoryAtomically(llvm::StringRef dir,
                                     const std::vector<DirectoryEntry> &files) {
  bool exists = llvm::sys::fs::exists(dir);
  if (exists && !llvm::sys::fs::is_directory(dir))
    return llvm::make_error<DiagnosticError>(
        dir.str(), "", "is not a directory; -o names an output directory");
  llvm::SmallString<256> parent(dir);
  llvm::sys::path::remove_filename(parent);
  if (parent.empty())
    parent = ".";
  // createUniqueDirectory puts a relative model under the system temporary
  // directory; the temporary must sit next to DIR so the final renames stay
  // on one filesystem.
  if (std::error_code ec = llvm::sys::fs::make_absolute(parent))
    return llvm::make_error<DiagnosticError>(
        dir.str(), "", "cannot resolve its directory: " + ec.message());
  llvm::SmallString<256> model(parent);
  llvm::sys::path::append(model, llvm::sys::path::filename(dir) + ".tmp%%%%%%");
  llvm::SmallString<256> temp;
  if (std::error_code ec = llvm::sys::fs::createUniqueDirectory(model, temp))
    return llvm::make_error<DiagnosticError>(
        dir.str(), "", "cannot create a directory next to it: " + ec.message());
  auto fail = [&](const std::string &path, const std::string &what) {
    llvm::sys::fs::remove_directories(temp);
    return llvm::make_error<DiagnosticError>(path, "", what);
  };
  for (const DirectoryEntry &file : files) {
    llvm::SmallString<256> path(temp);
    llvm::sys::path::append(path, file.name);
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    if (!ec) {
      os << file.contents;
      os.close();
      if (os.has_error())
        ec = os.error();
    }
    if (ec)
      return fail(path.str().str(), "cannot write: " + ec.message());
  }
  if (!exists) {
    if (std::error_code ec = llvm::sys::fs::rename(temp, dir))
      return fail(dir.str(), "cannot write: " + ec.message());
    return llvm::Error::success();
  }
  for (const DirectoryEntry &file : files) {
    llvm::SmallString<256> from(temp), to(dir);
    llvm::sys::path::append(from, file.name);
    llvm::sys::path::append(to, file.name);
    if (std::error_code ec = llvm::sys::fs::rename(from, to))
      return fail(to.str().str(), "cannot write: " + ec.message());
  }
  llvm::sys::fs::remove_directories(temp);
  return llvm::Error::success();
}

} // namespace sparseloom
