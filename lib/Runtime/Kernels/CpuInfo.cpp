//===- CpuInfo.cpp - Run-time detection of AVX2, FMA and AVX-512 ----------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The fast kernels need AVX2 and FMA from the CPU *and* the OS: the OS must
// save the upper halves of the ymm registers on a context switch, which it
// announces through OSXSAVE and the XCR0 register. Reading cpuid alone would
// say yes on a kernel that does not, and the first ymm instruction would then
// corrupt state silently. The same holds for the zmm and opmask state of
// AVX-512. Compiled without -mavx2, so it runs on any x86-64.
//
//===----------------------------------------------------------------------===//

#include "FastKernels.h"
#include "FastOps.h"

#include <cstdlib>

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

/// AVX-512 with every CPUID.(EAX=7,ECX=0):EBX feature bit of `ebxBits`, on
/// top of AVX2+FMA: the OS must also save the opmask and both halves of the
/// zmm state (XCR0 bits 5, 6, 7). SPARSELOOM_NO_AVX512=1 turns every AVX-512
/// path off (A/B timing; tests that cover the AVX2 kernels on this CPU).
bool detectAvx512(unsigned ebxBits) {
#if defined(__x86_64__) || defined(__i386__)
  if (!detectAvx2Fma())
    return false;
  unsigned xcr0Lo = 0, xcr0Hi = 0;
  __asm__ volatile("xgetbv" : "=a"(xcr0Lo), "=d"(xcr0Hi) : "c"(0));
  if ((xcr0Lo & 0xE6u) != 0xE6u)
    return false;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx) || eax < 7)
    return false;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  if ((ebx & ebxBits) != ebxBits)
    return false;
  const char *off = std::getenv("SPARSELOOM_NO_AVX512");
  return !(off && *off && *off != '0');
#else
  (void)ebxBits;
  return false;
#endif
}

constexpr unsigned kAvx512F = 1u << 16;
constexpr unsigned kAvx512DQ = 1u << 17;
constexpr unsigned kAvx512BW = 1u << 30;
constexpr unsigned kAvx512VL = 1u << 31;

} // namespace

bool cpuHasAvx512f() {
  static const bool hasIt = detectAvx512(kAvx512F);
  return hasIt;
}

bool cpuHasAvx512Ops() {
  // FastOps.h's kernels also use byte/dword masks and conversions (BW, DQ)
  // and the same instructions on ymm (VL).
  static const bool hasIt =
      detectAvx512(kAvx512F | kAvx512DQ | kAvx512BW | kAvx512VL);
  return hasIt;
}

bool cpuHasAvx2Fma() {
  // A function-local static is initialised once, thread-safely.
  static const bool hasIt = detectAvx2Fma();
  return hasIt;
}

} // namespace runtime
} // namespace sparseloom
