//===- PackedWeight.cpp - Weight packing and scratch sizing ---------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The portable half of the dense SGEMM: the packed weight layout and how
// much scratch a call needs. The compiler packs weights with these functions
// (on any host, AVX2 or not) and sizes the program's scratch with them, so
// they must not be compiled with -mavx2.
//
// Packed layout (PackedMatrixHeader::layout = kPackedLayoutTag): the [M, K]
// weight is cut into panels of kMR = 6 rows; panel p holds, for k = 0..K-1,
// the six values W[6p..6p+5][k] one after the other, rows past M as zeros.
// The microkernel then reads its six weights per k from consecutive floats,
// and a K block of a panel is one contiguous range.
//
//===----------------------------------------------------------------------===//

#include "FastKernels.h"
#include "KernelConfig.h"

#include <cassert>
#include <cstring>

namespace sparseloom {
namespace runtime {

using namespace kernels;

size_t packedWeightBytes(uint32_t m, uint32_t k) {
  return roundUp(m, kMR) * size_t(k) * sizeof(float);
}

uint32_t packedWeightPanelWidth() { return kMR; }

uint32_t packedWeightLayoutTag() { return kPackedLayoutTag; }

void packWeight(const float *w, uint32_t m, uint32_t k, float *out) {
  assert((w || m == 0 || k == 0) && out && "null matrix");
  const size_t panels = roundUp(m, kMR) / kMR;
  for (size_t p = 0; p < panels; ++p) {
    float *panel = out + p * size_t(k) * kMR;
    for (uint32_t r = 0; r < kMR; ++r) {
      size_t row = p * kMR + r;
      if (row >= m) {
        for (uint32_t kk = 0; kk < k; ++kk)
          panel[size_t(kk) * kMR + r] = 0.f;
        continue;
      }
      const float *src = w + row * k;
      for (uint32_t kk = 0; kk < k; ++kk)
        panel[size_t(kk) * kMR + r] = src[kk];
    }
  }
}

size_t sgemmScratchBytes(uint32_t m, uint32_t n, uint32_t k, unsigned threads) {
  (void)m;
  size_t perThread = sliceBytes(packedBFloats(n, k));
  // A single-column product with a strided column gathers it once.
  size_t gemv = n == 1 ? sliceBytes(k) : 0;
  return size_t(threads ? threads : 1) * perThread + gemv;
}

size_t sgemmScratchBytesUnpacked(uint32_t m, uint32_t n, uint32_t k,
                                 unsigned threads) {
  size_t perThread =
      sliceBytes(packedBFloats(n, k)) + sliceBytes(packedAFloats(m, k));
  return size_t(threads ? threads : 1) * perThread;
}

} // namespace runtime
} // namespace sparseloom
