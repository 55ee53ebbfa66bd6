//===- Support.cpp - Errors, memory and small helpers of the runtime ------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Error messages live in one thread-local fixed buffer: the runtime never
// allocates to report a failure (the failure may be that allocation failed),
// and two threads loading programs at once never see each other's message.
//
//===----------------------------------------------------------------------===//

#include "Program.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace sparseloom {
namespace runtime {

namespace {
constexpr size_t kMessageCapacity = 1024;
thread_local char tlsMessage[kMessageCapacity] = "";
} // namespace

sl_status setErrorV(sl_status status, const char *format, va_list args) {
  std::vsnprintf(tlsMessage, kMessageCapacity, format, args);
  return status;
}

sl_status setError(sl_status status, const char *format, ...) {
  va_list args;
  va_start(args, format);
  setErrorV(status, format, args);
  va_end(args);
  return status;
}

void prefixError(const char *format, ...) {
  char prefix[256];
  va_list args;
  va_start(args, format);
  std::vsnprintf(prefix, sizeof(prefix), format, args);
  va_end(args);
  // Room for both parts, then truncated to the message buffer.
  char combined[sizeof(prefix) + kMessageCapacity + 2];
  std::snprintf(combined, sizeof(combined), "%s: %s", prefix, tlsMessage);
  std::memcpy(tlsMessage, combined, kMessageCapacity - 1);
  tlsMessage[kMessageCapacity - 1] = '\0';
}

namespace {
void *defaultAlloc(size_t size, size_t alignment, void *) {
  // aligned_alloc wants a size that is a multiple of the alignment.
  size_t rounded = (size + alignment - 1) / alignment * alignment;
  return std::aligned_alloc(alignment, rounded ? rounded : alignment);
}
void defaultFree(void *ptr, void *) { std::free(ptr); }
} // namespace

sl_allocator resolveAllocator(const sl_allocator *allocator) {
  if (allocator && allocator->alloc && allocator->free)
    return *allocator;
  return sl_allocator{defaultAlloc, defaultFree, nullptr};
}

void *allocateOrFail(const sl_allocator &allocator, size_t bytes,
                     size_t alignment, const char *what) {
  void *p = allocator.alloc(bytes ? bytes : 1, alignment, allocator.user);
  if (!p) {
    setError(SL_ERROR_OUT_OF_MEMORY,
             "out of memory: the allocator returned null for %zu bytes (%s)",
             bytes, what);
    return nullptr;
  }
  return p;
}

void *ProgramStorage::allocate(size_t size, const char *what) {
  constexpr size_t kHeader = 64;
  if (size > SIZE_MAX - kHeader) {
    setError(SL_ERROR_OUT_OF_MEMORY, "out of memory: %zu bytes (%s)", size,
             what);
    return nullptr;
  }
  auto *raw = static_cast<uint8_t *>(
      allocateOrFail(allocator, size + kHeader, 64, what));
  if (!raw)
    return nullptr;
  auto *block = reinterpret_cast<Block *>(raw);
  block->next = head;
  head = block;
  bytes += size + kHeader;
  std::memset(raw + kHeader, 0, size);
  return raw + kHeader;
}

void ProgramStorage::releaseAll() {
  while (head) {
    Block *next = head->next;
    allocator.free(head, allocator.user);
    head = next;
  }
  bytes = 0;
}

size_t dtypeSize(format::DType dtype) {
  switch (dtype) {
  case format::DType::F32:
  case format::DType::I32:
    return 4;
  case format::DType::I64:
    return 8;
  case format::DType::U8:
  case format::DType::I8:
  case format::DType::Bool:
    return 1;
  }
  return 0;
}

const char *dtypeName(format::DType dtype) {
  return sl_dtype_name(static_cast<sl_dtype>(dtype));
}

int64_t numElements(const format::TensorDesc &tensor) {
  constexpr int64_t kLimit = int64_t(1) << 48;
  int64_t count = 1;
  for (unsigned i = 0; i < tensor.rank && i < format::kMaxRank; ++i) {
    int64_t d = tensor.dims[i];
    if (d < 0)
      return -1;
    if (d != 0 && count > kLimit / d)
      return -1;
    count *= d;
  }
  return count;
}

namespace {
struct CrcTable {
  uint32_t entries[256];
  constexpr CrcTable() : entries() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k)
        c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      entries[i] = c;
    }
  }
};
constexpr CrcTable kCrcTable;
} // namespace

uint32_t crc32(const void *data, size_t size, uint32_t crc) {
  const auto *p = static_cast<const uint8_t *>(data);
  crc = ~crc;
  for (size_t i = 0; i < size; ++i)
    crc = kCrcTable.entries[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

} // namespace runtime
} // namespace sparseloom

using namespace sparseloom;

extern "C" {

const char *sl_status_name(sl_status status) {
  switch (status) {
  case SL_OK:
    return "SL_OK";
  case SL_ERROR_INVALID_ARGUMENT:
    return "SL_ERROR_INVALID_ARGUMENT";
  case SL_ERROR_INVALID_PROGRAM:
    return "SL_ERROR_INVALID_PROGRAM";
  case SL_ERROR_UNSUPPORTED:
    return "SL_ERROR_UNSUPPORTED";
  case SL_ERROR_OUT_OF_MEMORY:
    return "SL_ERROR_OUT_OF_MEMORY";
  case SL_ERROR_SHAPE_MISMATCH:
    return "SL_ERROR_SHAPE_MISMATCH";
  case SL_ERROR_DTYPE_MISMATCH:
    return "SL_ERROR_DTYPE_MISMATCH";
  case SL_ERROR_NON_FINITE:
    return "SL_ERROR_NON_FINITE";
  case SL_ERROR_RUNTIME:
    return "SL_ERROR_RUNTIME";
  case SL_ERROR_INTERNAL:
    return "SL_ERROR_INTERNAL";
  case SL_ERROR_INVALID_BUNDLE:
    return "SL_ERROR_INVALID_BUNDLE";
  }
  return "SL_ERROR_UNKNOWN";
}

const char *sl_last_error_message(void) { return runtime::tlsMessage; }

size_t sl_dtype_size(sl_dtype dtype) {
  return runtime::dtypeSize(static_cast<format::DType>(dtype));
}

const char *sl_dtype_name(sl_dtype dtype) {
  switch (dtype) {
  case SL_DTYPE_FLOAT32:
    return "float32";
  case SL_DTYPE_UINT8:
    return "uint8";
  case SL_DTYPE_INT8:
    return "int8";
  case SL_DTYPE_INT32:
    return "int32";
  case SL_DTYPE_INT64:
    return "int64";
  case SL_DTYPE_BOOL:
    return "bool";
  }
  return "unknown";
}

} // extern "C"
