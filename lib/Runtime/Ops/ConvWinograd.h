//===- ConvWinograd.h - Dense 3x3 convs as Winograd F(2x2, 3x3) -*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// A dense 3x3, stride-1 convolution computes each 2x2 block of output pixels
// from a 4x4 block of input with 16 multiplications per (input, output)
// channel pair instead of 36 (Lavin & Gray 2016): the input tiles and the
// weight are transformed (V = B^T d B, U = G g G^T), the 16 positions of
// the transformed tiles are 16 independent products U[xi] (M x C) *
// V[xi] (C x tiles), run by the packed SGEMM, and the output transform
// (A^T M A) adds the bias, the residual and the activation. 2.25x fewer
// multiply-adds; the transforms are additions only and cost a few percent.
//
// Results differ from im2col's by float rounding (the transforms reorder
// the sums): within 1e-5 relative on ResNet, far inside what the zoo and
// ONNX Runtime checks allow. They do not depend on the thread count.
//
// Used by Conv.cpp for DenseGemmAvx2 convs that qualify (convRunsAsWinograd
// in FastKernels.h, from the descriptors alone so that the compiler's scratch
// size and the runtime agree) when the CPU has the AVX-512 transforms; the
// transformed weight (16/9 of the weight's size) is built at load.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_LIB_RUNTIME_OPS_CONVWINOGRAD_H
#define SPARSELOOM_LIB_RUNTIME_OPS_CONVWINOGRAD_H

#include "Ops/Products.h"

namespace sparseloom {
namespace runtime {

class ThreadPool;

namespace ops {

/// One image of a convolution as Winograd sees it.
struct WinogradShape {
  int64_t c, h, w;   // input channels and size
  int64_t m, oh, ow; // output channels and size
  int64_t pt, pl;    // top and left pads
  int64_t tilesH() const { return (oh + 1) / 2; }
  int64_t tilesW() const { return (ow + 1) / 2; }
};

/// Whether this process runs qualifying convs as Winograd: the CPU has the
/// AVX-512 transforms and SPARSELOOM_NO_WINOGRAD is unset or 0 (checked
/// once). The switch trades speed for memory: the transformed weight is
/// built at load, 16/9 of the weight, beside it (docs/Kernels.md).
bool winogradAvailable();

/// Scratch bytes of winogradConv with `threads` threads.
size_t winogradScratchBytes(const WinogradShape &s, unsigned threads);

/// The transformed weight: 16 packed [M, C] matrices, `stride` floats apart.
struct WinogradWeight {
  const float *packed = nullptr;
  size_t stride = 0;
};

/// Transforms a packed [M, C * 9] weight (6-row panels, packWeight's
/// layout) into `out`, allocated from the program's storage.
sl_status prepareWinogradWeight(PrepareContext &ctx, const WinogradShape &s,
                                const float *packedWeight, WinogradWeight &out);

/// y [M, oh, ow] = conv(x [C, h, w]) with epilogue `e` (bias, residual laid
/// out like y, activation), for one image.
void winogradConv(const WinogradShape &s, const WinogradWeight &weight,
                  const float *x, float *y, const Epilogue &e, void *scratch,
                  ThreadPool *pool);

} // namespace ops
} // namespace runtime
} // namespace sparseloom

#endif // SPARSELOOM_LIB_RUNTIME_OPS_CONVWINOGRAD_H
