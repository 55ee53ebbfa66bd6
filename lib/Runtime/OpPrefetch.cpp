//===- OpPrefetch.cpp - The cache lines an op reads first ----------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//

#include "OpPrefetch.h"

namespace sparseloom {
namespace runtime {

void OpPrefetch::add(const void *address, size_t bytes) {
  if (!address || bytes == 0)
    return;
  constexpr uintptr_t kLine = 64;
  const uintptr_t first = reinterpret_cast<uintptr_t>(address) & ~(kLine - 1);
  const uintptr_t last =
      (reinterpret_cast<uintptr_t>(address) + bytes - 1) & ~(kLine - 1);
  for (uintptr_t line = first; line <= last && count < kCapacity;
       line += kLine) {
    bool listed = false;
    for (uint32_t i = 0; i < count && !listed; ++i)
      listed = reinterpret_cast<uintptr_t>(lines[i]) == line;
    if (!listed)
      lines[count++] = reinterpret_cast<const void *>(line);
  }
}

void OpPrefetch::addCode(const void *entry) {
  if (!entry || codeCount == kCodeEntries)
    return;
  for (uint32_t i = 0; i < codeCount; ++i)
    if (code[i] == entry)
      return;
  code[codeCount++] = entry;
}

} // namespace runtime
} // namespace sparseloom
