//===- Program.h - Loaded programs and sessions (internal) ------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The structs behind the C API's opaque handles, and the error and memory
// helpers every runtime file shares. Nothing here is public: applications see
// sl_program and sl_session only through sparseloom_runtime.h.
//
// A loaded program points into the blob (copied, or the caller's bytes when
// loaded in place) for every table; the only other memory it owns is what
// Prepare allocated (op instances, runtime-packed weights), all of it
// chained in one ProgramStorage so that destroy frees it in one walk and a
// failed load leaks nothing.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_LIB_RUNTIME_PROGRAM_H
#define SPARSELOOM_LIB_RUNTIME_PROGRAM_H

#include "OpPrefetch.h"

#include "sparseloom/ProgramFormat.h"
#include "sparseloom/Runtime/OpRegistry.h"
#include "sparseloom/Runtime/sparseloom_runtime.h"

#include <cstdarg>
#include <cstddef>
#include <cstdint>

namespace sparseloom {
namespace runtime {

/// [offset, offset + size) lies within [0, limit), without overflowing.
inline bool inBounds(uint64_t offset, uint64_t size, uint64_t limit) {
  return offset <= limit && size <= limit - offset;
}

// --- Errors ----------------------------------------------------------------

/// Formats the calling thread's error message and returns `status`. The
/// buffer is thread-local and fixed-size (messages are truncated, never
/// allocated).
sl_status setError(sl_status status, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
sl_status setErrorV(sl_status status, const char *format, va_list args);
/// Prepends "<prefix>: " to the current message (for context added by
/// callers, e.g. "program 2 'seg2': ...").
void prefixError(const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

// --- Memory -----------------------------------------------------------------

/// The caller's allocator, or the default (aligned_alloc/free) for null.
sl_allocator resolveAllocator(const sl_allocator *allocator);

/// Memory from `allocator` at `alignment` (<= 64); sets an
/// SL_ERROR_OUT_OF_MEMORY message naming `what` and returns null on failure.
void *allocateOrFail(const sl_allocator &allocator, size_t bytes,
                     size_t alignment, const char *what);

/// A chain of allocations freed together. Each block carries a 64-byte
/// header (the link), so the payload stays 64-byte aligned.
struct ProgramStorage {
  sl_allocator allocator{};
  struct Block {
    Block *next;
  };
  Block *head = nullptr;
  uint64_t bytes = 0;

  /// Zero-filled, 64-byte aligned; null (error set) on failure.
  void *allocate(size_t bytes, const char *what);
  void releaseAll();
};

// --- Tensors
// ------------------------------------------------------------------

/// Bytes per element of `dtype`; 0 for an unknown value.
size_t dtypeSize(format::DType dtype);
const char *dtypeName(format::DType dtype);
/// Product of the dims, or -1 when it overflows 2^48 elements.
int64_t numElements(const format::TensorDesc &tensor);

/// sl_program_load_ex: verifies and prepares a program (Loader.cpp).
sl_status loadProgram(const void *bytes, size_t size,
                      const sl_load_options *options,
                      const sl_allocator *allocator, sl_program **out);

} // namespace runtime
} // namespace sparseloom

/// A verified, prepared program.
struct sl_program {
  sparseloom::runtime::ProgramStorage storage;
  /// The blob (our copy, or the caller's bytes with SL_LOAD_IN_PLACE).
  const uint8_t *blob = nullptr;
  uint64_t size = 0;
  void *ownedBlob = nullptr; // freed with the program when non-null
  const sparseloom::format::ProgramHeader *header = nullptr;
  const sparseloom::format::TensorDesc *tensors = nullptr;
  const sparseloom::format::OpDesc *ops = nullptr;
  const uint32_t *operands = nullptr;
  const uint32_t *io = nullptr; // inputs, then outputs
  const uint8_t *params = nullptr;
  const char *names = nullptr;
  uint64_t namesSize = 0;
  const uint8_t *weights = nullptr;
  const char *name = "";
  /// numOps prepared ops, in program order.
  sparseloom::runtime::OpInstance *instances = nullptr;
  /// Per op, the lines its Eval reads first (OpPrefetch.h), and whether
  /// sessions prefetch them: only when the program's weights and arena are
  /// too big to stay cached from one run to the next.
  sparseloom::runtime::OpPrefetch *prefetch = nullptr;
  bool prefetchOps = false;

  uint32_t numInputs() const { return header->numInputs; }
  uint32_t numOutputs() const { return header->numOutputs; }
  uint32_t inputId(size_t i) const { return io[i]; }
  uint32_t outputId(size_t i) const { return io[header->numInputs + i]; }
  /// The name at `offset` in the names blob (verified NUL-terminated).
  const char *nameAt(uint32_t offset) const {
    return namesSize ? names + offset : "";
  }
};

/// Fills `info` for tensor `id` of `program`.
void describeTensor(const sl_program &program, uint32_t id,
                    sl_tensor_info &info);

#endif // SPARSELOOM_LIB_RUNTIME_PROGRAM_H
