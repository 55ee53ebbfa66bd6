//===- DepthwiseAvx512.h - Stride-1 depthwise on flat planes ----*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The AVX-512 parts of depthwiseConvAvx2 (FastKernels.h), which calls them
// when cpuHasAvx512Ops() for stride-1 convolutions with OW == W and for
// column stride 2, and splits the channels over its pool
// (DepthwiseAvx512.cpp explains the methods). Kept out of FastKernels.h:
// nothing else calls them.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_RUNTIME_KERNELS_DEPTHWISEAVX512_H
#define SPARSELOOM_RUNTIME_KERNELS_DEPTHWISEAVX512_H

#include "FastKernels.h"

#include <cstddef>
#include <cstdint>

namespace sparseloom {
namespace runtime {

/// Whether depthwiseFlatAvx512 takes a plane `width` floats wide with a
/// kh x kw filter (at most 49 taps, 16 a side; the column masks of
/// width / gcd(16, width) <= 128 vectors).
bool depthwiseFlatAvx512Fits(long width, long kh, long kw);

/// Channels [c0, c1) of a stride-1 depthwise
/// convolution whose output rows are `width` wide like its input's (the caller
/// checks strides, OW == W and depthwiseFlatAvx512Fits): input [C, height,
/// width], weight [C, kh*kw], output [C, outHeight, width] with planes
/// `planeOut` floats apart. No residual. False (nothing written) when the
/// shape does not fit.
bool depthwiseFlatAvx512(const float *input, uint32_t height, uint32_t width,
                         const float *weight, const format::ConvParams &params,
                         uint32_t outHeight, const Epilogue &epilogue,
                         size_t c0, size_t c1, float *output, size_t planeOut);

/// Whether depthwiseStride2Avx512 takes a kh x kw filter with column
/// dilation dw (dw == 1, kw <= 16).
bool depthwiseStride2Avx512Fits(long kh, long kw, long dw);

/// Channels [c0, c1) of a depthwise convolution with column stride 2 (any
/// row stride, padding and row dilation): input [C, height, width], weight
/// [C, kh*kw], output [C, outHeight, outWidth] with planes `planeOut` floats
/// apart. No residual. False (nothing written) when the shape does not fit.
bool depthwiseStride2Avx512(const float *input, uint32_t height, uint32_t width,
                            const float *weight,
                            const format::ConvParams &params,
                            uint32_t outHeight, uint32_t outWidth,
                            const Epilogue &epilogue, size_t c0, size_t c1,
                            float *output, size_t planeOut);

} // namespace runtime
} // namespace sparseloom

#endif // SPARSELOOM_RUNTIME_KERNELS_DEPTHWISEAVX512_H
