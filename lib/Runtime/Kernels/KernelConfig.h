//===- KernelConfig.h - Blocking parameters of the fast kernels -*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The register and cache blocking of the SGEMM, shared by the portable code
// that packs weights and sizes scratch (PackedWeight.cpp) and the AVX2 code
// that relies on both (SgemmAvx2.cpp), so the two cannot disagree.
//
// Everything here has internal linkage (constants and static functions):
// this header is included by files compiled with and without -mavx2, and an
// inline function with external linkage could be emitted with AVX2
// instructions and then picked by the linker for the portable callers.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_RUNTIME_KERNELS_KERNELCONFIG_H
#define SPARSELOOM_RUNTIME_KERNELS_KERNELCONFIG_H

#include <cstddef>
#include <cstdint>

namespace sparseloom {
namespace runtime {
namespace kernels {

/// Register tile of the SGEMM microkernel: 6 weight rows x 16 activation
/// columns = 12 ymm accumulators, plus 2 for the activation vectors and one
/// for the broadcast weight, out of AVX2's 16.
constexpr uint32_t kMR = 6;
constexpr uint32_t kNR = 16;
/// Depth of one K block: a 16-wide activation micro-panel of kKC rows is
/// 16 KiB and stays in L1 while the microkernel sweeps the weight panels.
constexpr uint32_t kKC = 256;
/// Columns of one packed activation block (kKC x kNC floats = 1 MiB, in L2).
constexpr uint32_t kNC = 1024;
/// Weight rows per L2 block (24 panels; 144 x kKC floats = 144 KiB).
constexpr uint32_t kMC = 144;
/// PackedMatrixHeader::layout of packWeight's output: panel rows in the high
/// half, a version in the low half.
constexpr uint32_t kPackedLayoutTag = (kMR << 16) | 1u;
/// Scratch slices start on a cache line.
constexpr size_t kScratchAlign = 64;

static inline size_t roundUp(size_t x, size_t to) {
  return (x + to - 1) / to * to;
}
static inline size_t minSize(size_t a, size_t b) { return a < b ? a : b; }
static inline size_t maxSize(size_t a, size_t b) { return a > b ? a : b; }

/// Floats of one thread's packed-activation block.
static inline size_t packedBFloats(uint32_t n, uint32_t k) {
  return minSize(kKC, maxSize(k, 1)) *
         minSize(kNC, roundUp(maxSize(n, 1), kNR));
}
/// Floats of one thread's packed-A block (unpacked SGEMM only).
static inline size_t packedAFloats(uint32_t m, uint32_t k) {
  return minSize(kKC, maxSize(k, 1)) *
         minSize(kMC, roundUp(maxSize(m, 1), kMR));
}
/// Bytes of a per-thread slice holding `floats`, with room to align it.
static inline size_t sliceBytes(size_t floats) {
  return roundUp(floats * sizeof(float), kScratchAlign) + kScratchAlign;
}

} // namespace kernels
} // namespace runtime
} // namespace sparseloom

#endif // SPARSELOOM_RUNTIME_KERNELS_KERNELCONFIG_H
