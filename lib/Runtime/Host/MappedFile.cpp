//===- MappedFile.cpp - A read-only file mapped into memory ---------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// mmap where the platform has it (a bundle is then paged in as the runtime
// touches it, and several processes share one copy); otherwise one read into
// 64-byte aligned memory. Either way the bytes stay put until the object is
// destroyed, which is what reading a bundle in place needs.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Runtime/MappedFile.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define SPARSELOOM_HAVE_MMAP 1
#endif

using namespace sparseloom::runtime;

namespace {
/// What data() points at for an empty file (aligned, never dereferenced).
alignas(64) const uint8_t kEmpty[64] = {};
} // namespace

MappedFile::~MappedFile() { release(); }

MappedFile::MappedFile(MappedFile &&other) noexcept {
  *this = std::move(other);
}

MappedFile &MappedFile::operator=(MappedFile &&other) noexcept {
  if (this != &other) {
    release();
    data_ = other.data_;
    size_ = other.size_;
    mapping_ = other.mapping_;
    buffer_ = other.buffer_;
    other.data_ = nullptr;
    other.size_ = 0;
    other.mapping_ = nullptr;
    other.buffer_ = nullptr;
  }
  return *this;
}

void MappedFile::release() {
#ifdef SPARSELOOM_HAVE_MMAP
  if (mapping_)
    munmap(mapping_, size_);
#endif
  std::free(buffer_);
  data_ = nullptr;
  size_ = 0;
  mapping_ = nullptr;
  buffer_ = nullptr;
}

bool MappedFile::open(const std::string &path, MappedFile &out,
                      std::string &error) {
  out.release();
#ifdef SPARSELOOM_HAVE_MMAP
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = path + ": cannot open: " + std::strerror(errno);
    return false;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    error = path + ": cannot open: " + std::strerror(errno);
    ::close(fd);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    error = path + ": cannot open: " +
            (S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
    ::close(fd);
    return false;
  }
  size_t size = size_t(st.st_size);
  if (size == 0) {
    ::close(fd);
    out.data_ = kEmpty;
    return true;
  }
  void *mapping = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  int mapErrno = errno;
  ::close(fd);
  if (mapping == MAP_FAILED) {
    error = path + ": cannot map: " + std::strerror(mapErrno);
    return false;
  }
  out.mapping_ = mapping;
  out.data_ = static_cast<const uint8_t *>(mapping);
  out.size_ = size;
  return true;
#else
  std::FILE *f = std::fopen(path.c_str(), "rb");
  if (!f) {
    error = path + ": cannot open: " + std::strerror(errno);
    return false;
  }
  std::fseek(f, 0, SEEK_END);
  long end = std::ftell(f);
  std::fseek(f, 0, SEEK_SET);
  if (end < 0) {
    std::fclose(f);
    error = path + ": cannot open: not a regular file";
    return false;
  }
  size_t size = size_t(end);
  if (size == 0) {
    std::fclose(f);
    out.data_ = kEmpty;
    return true;
  }
  void *buffer = std::aligned_alloc(64, (size + 63) / 64 * 64);
  if (!buffer || std::fread(buffer, 1, size, f) != size) {
    std::free(buffer);
    std::fclose(f);
    error = path + ": cannot read";
    return false;
  }
  std::fclose(f);
  out.buffer_ = buffer;
  out.data_ = static_cast<const uint8_t *>(buffer);
  out.size_ = size;
  return true;
#endif
}
