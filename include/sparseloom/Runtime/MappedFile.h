//===- MappedFile.h - A read-only file mapped into memory -------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Host utility of the runtime (lib/Runtime/Host, standard library and POSIX
// only): a whole file, read-only, at a page-aligned address, so that a
// bundle can be opened in place (sl_bundle_open needs 64-byte aligned bytes
// that outlive it) without reading it into memory first. Where mmap is not
// available the file is read into 64-byte aligned memory instead.
//
//   MappedFile file;
//   std::string error;
//   if (!MappedFile::open("app.loom", file, error)) report(error);
//   sl_bundle_open(file.data(), file.size(), nullptr, &bundle);
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_RUNTIME_MAPPEDFILE_H
#define SPARSELOOM_RUNTIME_MAPPEDFILE_H

#include <cstddef>
#include <cstdint>
#include <string>

namespace sparseloom {
namespace runtime {

class MappedFile {
public:
  MappedFile() = default;
  ~MappedFile();
  MappedFile(MappedFile &&other) noexcept;
  MappedFile &operator=(MappedFile &&other) noexcept;
  MappedFile(const MappedFile &) = delete;
  MappedFile &operator=(const MappedFile &) = delete;

  /// Maps `path`. On failure returns false with `error` = "PATH: cannot
  /// open: REASON" (missing, a directory, unreadable).
  static bool open(const std::string &path, MappedFile &out,
                   std::string &error);

  /// 64-byte aligned (page-aligned when mapped); non-null even for an empty
  /// file.
  const uint8_t *data() const { return data_; }
  size_t size() const { return size_; }

private:
  void release();

  const uint8_t *data_ = nullptr;
  size_t size_ = 0;
  void *mapping_ = nullptr; // munmap'ed on release when non-null
  void *buffer_ = nullptr;  // freed on release when non-null (no mmap)
};

} // namespace runtime
} // namespace sparseloom

#endif // SPARSELOOM_RUNTIME_MAPPEDFILE_H
