//===- OpPrefetch.h - The cache lines an op reads first --------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Before an op computes anything, its Eval follows a chain of pointers: the
// op's descriptor and operand ids, the tensor descriptors of its operands,
// its parameters, what Prepare decided (a weight plan, a WeightMatrix), the
// first bytes of each weight array, and the code of every function down to
// the kernel's loop. In a model whose big layers stream megabytes of weights
// through the caches, each of those lines misses by the time a small op
// runs, one memory latency after another because the next address is only
// known once a line arrives: BERT-base's 2x768 classifier spent about 1 500
// of its 6 000 cycles on its descriptors and 2 000 on code
// (docs/Runtime.md, "Prefetching the next op").
//
// The loader therefore lists, per op, the lines that chain ends on and the
// code entries on its path (all fixed once the program is prepared), and
// the executor prefetches op i+1's list when it starts op i: the misses then
// overlap with op i and with each other. A list is a fixed array, so the
// executor reads it without following another pointer.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_LIB_RUNTIME_OPPREFETCH_H
#define SPARSELOOM_LIB_RUNTIME_OPPREFETCH_H

#include <cstddef>
#include <cstdint>

namespace sparseloom {
namespace runtime {

/// Weights plus arena from which a program's ops get their lines prefetched.
constexpr uint64_t kPrefetchFootprint = uint64_t(1) << 20;

struct OpPrefetch {
  /// Enough for a product op: its instance, descriptor, operand ids and
  /// parameters, three or four tensor descriptors, its kernel entry, and
  /// what Prepare names (its plan, the first line of each weight array).
  static constexpr unsigned kCapacity = 24;
  /// Code entry points: Eval and, for a product, the functions it calls on
  /// the path Prepare chose (down to the kernel's loop).
  static constexpr unsigned kCodeEntries = 6;
  /// Lines prefetched from each code entry: most of a dispatch function or
  /// a small kernel (they are 0.7-1.7 KiB; the rest streams in behind).
  static constexpr unsigned kCodeLines = 16;

  const void *lines[kCapacity] = {};
  const void *code[kCodeEntries] = {};
  uint32_t count = 0;
  uint32_t codeCount = 0;

  /// Lists each cache line of [address, address + bytes) that is not listed
  /// yet, while room is left.
  void add(const void *address, size_t bytes);
  /// Lists the code at `entry` (a function's address), if new and room is
  /// left.
  void addCode(const void *entry);
};

/// A function's address as the prefetch lists hold it.
template <typename Fn> const void *codeAddress(Fn *function) {
  return reinterpret_cast<const void *>(function);
}

/// Prefetches the listed lines (a hint: no fault, no wait; nothing where the
/// compiler has no prefetch builtin).
inline void prefetchLines(const OpPrefetch &list) {
#if defined(__GNUC__)
  // GCC 12 finds nothing here but prefetches, calls the function const and
  // deletes its calls; an empty volatile asm is an effect it must keep.
  __asm__ __volatile__("");
  for (uint32_t i = 0; i < list.count; ++i)
    __builtin_prefetch(list.lines[i], 0, 3);
  // Code through the data side lands in L2 (and fills the shared TLB), where
  // the instruction fetch finds it; locality 1 keeps it out of L1d.
  for (uint32_t i = 0; i < list.codeCount; ++i)
    for (unsigned l = 0; l < OpPrefetch::kCodeLines; ++l)
      __builtin_prefetch(static_cast<const char *>(list.code[i]) + 64 * l, 0,
                         1);
#else
  (void)list;
#endif
}

} // namespace runtime
} // namespace sparseloom

#endif // SPARSELOOM_LIB_RUNTIME_OPPREFETCH_H
