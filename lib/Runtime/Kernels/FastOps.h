//===- FastOps.h - AVX-512 sparse rows and fast non-GEMM ops ----*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The fast paths that sit beside FastKernels.h's products: an AVX-512 form of
// the CSR SpMM row loop (SpmmAvx512.cpp), the transcendental functions and
// Softmax rows (VectorMathAvx512.cpp), and the elementwise, LayerNorm and
// MaxPool loops of the non-GEMM ops (ElementwiseAvx512.cpp). The op kernels
// in lib/Runtime/Ops keep their portable loops and call these only after
// checking cpuHasAvx512Ops(), so one binary runs anywhere (docs/Kernels.md,
// "Non-GEMM ops").
//
// Every function works on plain arrays; threads are the caller's business
// (the ops split rows over the pool). Results of one function never depend
// on how its caller splits a range: tails go through the same lanes, masked.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_RUNTIME_KERNELS_FASTOPS_H
#define SPARSELOOM_RUNTIME_KERNELS_FASTOPS_H

#include "FastKernels.h"

#include <cstddef>
#include <cstdint>

namespace sparseloom {
namespace runtime {

/// True when the CPU and OS support AVX-512F, BW, DQ and VL (zmm and opmask
/// state enabled in XCR0), unless SPARSELOOM_NO_AVX512 is set to something
/// other than 0 (checked once; the same switch as the dense SGEMM's).
bool cpuHasAvx512Ops();

// --- Sparse products (SpmmAvx512.cpp) ---------------------------------------

/// The AVX-512 form of SpmmAvx2.cpp's CSR row loop: rows [r0, r1) of
/// C = epilogue(W * B) over columns [n0, n1), 64-column tiles (16 FMA
/// chains) and masked 16-column tails, adding Epilogue::residual in the
/// store. Each output element sums its row's nonzeros in four interleaved
/// streams, whatever tile it falls in, so the result does not depend on
/// how columns are split. spmmCsrAvx2 calls it when cpuHasAvx512Ops().
/// `tail`: column n1 - 1 of B as K contiguous floats, or null (the rows
/// then read it in place when they need it).
void spmmCsrRowsAvx512(const SparseMatrixView &w, size_t r0, size_t r1,
                       const float *b, size_t ldb, float *c, size_t ldc,
                       size_t n0, size_t n1, const Epilogue &epilogue,
                       const float *tail);

// --- Transcendental functions (VectorMathAvx512.cpp) ------------------------

/// The functions of Ops/VectorMath.h (same order, same meaning).
enum class FastFunction { Exp, Erf, Tanh, Sigmoid, GeluErf, GeluTanh };

/// y[i] = f(x[i]) for i < n, sixteen lanes at a time with the formulas of
/// VectorMath.h; x and y may be the same array.
void vectorFunctionAvx512(FastFunction f, const float *x, float *y, int64_t n);

// --- Elementwise, normalisation, pooling (ElementwiseAvx512.cpp) ------------
// (softmaxRowAvx512 lives in VectorMathAvx512.cpp, beside its exp.)

enum class FastBinary { Add, Sub, Mul, Div };

/// z[i] = x[i * sx] op y[i * sy] for i < n, with sx and sy each 0 (a
/// broadcast scalar) or 1. z may be x or y (same-shape in-place).
void binaryAvx512(FastBinary op, const float *x, int64_t sx, const float *y,
                  int64_t sy, float *z, int64_t n);

/// y[i] = min(max(x[i], lo), hi) with NaN passing through (Relu is
/// [0, inf)); x and y may be the same array.
void clampAvx512(const float *x, float *y, int64_t n, float lo, float hi);

/// y[i] = min(max(x[i] + z[i], lo), hi): a residual Add and the Relu/Clip
/// after it in one pass (Relu is [0, inf), no activation (-inf, inf)). The
/// sum is rounded before the clamp, so y is bit-identical to binaryAvx512
/// Add followed by clampAvx512. y may be x or z.
void addClampAvx512(const float *x, const float *z, float *y, int64_t n,
                    float lo, float hi);

/// Softmax of one contiguous row of n > 0 elements (the max subtracted,
/// exp as VectorMath's clamped one, the sum in double).
void softmaxRowAvx512(const float *x, float *y, int64_t n);

/// LayerNormalization of one contiguous row of n > 0 elements: mean and
/// variance in double, y = (x - mean) * inv * scale + bias, where scale
/// and bias have n entries or, when scaleAll / biasAll, one (bias may be
/// null). Returns the mean and inv = 1 / sqrt(var + epsilon) as floats.
void layerNormRowAvx512(const float *x, float *y, int64_t n, float epsilon,
                        const float *scale, bool scaleAll, const float *bias,
                        bool biasAll, float &meanOut, float &invOut);

/// The widest input row maxPoolPlaneAvx512 takes (its row buffer is on
/// the stack).
constexpr int64_t kMaxPoolFastWidth = 4096;

/// MaxPool of one [h, w] plane into [oh, ow], dilation 1, stride sw of 1
/// or 2 along W (any sh), pads pt (top) and pl (left); windows are clipped
/// to the input, as the reference does. w + pl and (ow - 1) * sw + kw must
/// not exceed kMaxPoolFastWidth. Returns false when an input row it read
/// held a NaN: y is then wrong and the caller must use its NaN-aware
/// kernel (NaN rows nobody reads cannot change the result). Without NaN,
/// the max is exact, so y equals the portable kernel's (up to the sign of
/// a zero).
bool maxPoolPlaneAvx512(const float *x, int64_t h, int64_t w, float *y,
                        int64_t oh, int64_t ow, int64_t kh, int64_t kw,
                        int64_t sh, int64_t sw, int64_t pt, int64_t pl);

// --- Convolution input unfolding (Im2colAvx512.cpp) ------------------------

/// What im2colAvx512 needs of a convolution: input [C, H, W] (one image),
/// output ow columns per row, kernel, strides, dilations, top/left pads.
struct UnfoldGeom {
  int64_t h, w, ow;
  int64_t kh, kw, sh, sw, dh, dw, pt, pl;
};

/// dst[t] = xr[src + t * stride] where 0 <= src + t * stride < w, else 0,
/// for t < count: one row segment of an unfolded input (stride 2 as two
/// loads and a permute per 16 outputs). Also fills Conv.cpp's phase planes.
void unfoldSegmentAvx512(const float *xr, int64_t w, int64_t src,
                         int64_t stride, float *dst, int64_t count);
/// The same at stride 2 for `rows` rows at once: row r of dst (count
/// floats, rows `count` apart) is unfoldSegmentAvx512(x + r * rowStep, w,
/// src, 2, ...). Masks are built once for all rows: Conv.cpp's phase planes
/// of a strided 1x1 conv (ResNet's downsamples) are many short rows.
void unfoldRowsStride2Avx512(const float *x, int64_t rowStep, int64_t rows,
                             int64_t w, int64_t src, float *dst, int64_t count);

/// Conv.cpp's im2col for channels [c0, c1) of one image: row (c, i, j) of
/// cols ([C * kh * kw, p1 - p0]) holds, for output pixels [p0, p1), input
/// (c, oh * sh - pt + i * dh, ow * sw - pl + j * dw), or 0 in the padding.
void im2colAvx512(const UnfoldGeom &g, const float *x, int64_t p0, int64_t p1,
                  int64_t c0, int64_t c1, float *cols);

// --- Winograd F(2x2, 3x3) transforms (WinogradAvx512.cpp) ------------------

/// One image of a 3x3, stride-1 convolution cut into 2x2 output tiles:
/// input [C, h, w], output [M, oh, ow], top/left pads, tilesW tiles per row
/// (ceil(ow / 2)).
struct WinogradTiles {
  int64_t h, w, oh, ow, pt, pl, tilesW;
};

/// Input transform of tile rows [th0, th1) (all tiles of each row) for
/// channels [c0, c1): v[xi * vStride + c * ldv + t] = (B^T d B)[xi] for
/// tile t = (th - th0) * tilesW + tw, xi = 0..15 (row-major 4x4).
void winogradInputAvx512(const WinogradTiles &g, const float *x, int64_t th0,
                         int64_t th1, int64_t c0, int64_t c1, float *v,
                         size_t ldv, size_t vStride);

/// Output transform of the same tiles for output channels [m0, m1):
/// y = act(A^T M A + bias (+ residual)) from m[xi * mStride + o * ldm + t],
/// written into y [M, oh, ow] (tiles past the image edge are cut).
void winogradOutputAvx512(const WinogradTiles &g, const float *m, int64_t th0,
                          int64_t th1, int64_t m0, int64_t m1, size_t ldm,
                          size_t mStride, const Epilogue &e, float *y);

} // namespace runtime
} // namespace sparseloom

#endif // SPARSELOOM_RUNTIME_KERNELS_FASTOPS_H
