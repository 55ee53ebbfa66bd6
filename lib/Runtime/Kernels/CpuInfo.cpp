//===- CpuInfo.cpp - Run-time detection of AVX2 and FMA -------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The fast kernels need AVX2 and FMA from the CPU *and* the OS: the OS must
// save the upper halves of the ymm registers on a context switch, which it
// announces through OSXSAVE and the XCR0 register. Reading cpuid alone would
// say yes on a kernel that does not, and the first ymm instruction would then
// corrupt state silently. Compiled without -mavx2, so it runs on any x86-64.
//
//===----------------------------------------------------------------------===//

#include "FastKernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace sparseloom {
namespace runtime {

namespace {

bool detectAvx2Fma() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx) || eax < 7)
    return false;
  __cpuid(1, eax, ebx, ecx, edx);
  const bool fma = ecx & (1u << 12);
  const bool osxsave = ecx & (1u << 27);
  const bool avx = ecx & (1u << 28);
  if (!fma || !osxsave || !avx)
    return false;
  // XCR0 bits 1 (SSE state) and 2 (AVX state) must both be enabled.
  unsigned xcr0Lo = 0, xcr0Hi = 0;
  __asm__ volatile("xgetbv" : "=a"(xcr0Lo), "=d"(xcr0Hi) : "c"(0));
  if ((xcr0Lo & 0x6u) != 0x6u)
    return false;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  return ebx & (1u << 5); // AVX2
#else
  return false;
#endif
}

} // namespace

bool cpuHasAvx2Fma() {
  // A function-local static is initialised once, thread-safely.
  static const bool hasIt = detectAvx2Fma();
  return hasIt;
}

} // namespace runtime
} // namespace sparseloom
