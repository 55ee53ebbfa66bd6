//===- FastKernels.h - Optimised math kernels (AVX2, AVX-512) ---*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The fast paths behind Conv, Gemm and MatMul: a blocked, packed SGEMM, sparse
// (CSR and 4x1 block) times dense products, and depthwise convolution. The
// op-level glue (im2col, choosing the path from the op's KernelId) lives in
// the op kernels; these functions only see matrices.
//
// Conventions: row-major; C = act(W * B + bias) where W is the weight matrix
// [M, K] (rows = output channels, as stored by the compiler), B is the dense
// activation matrix [K, N] with leading dimension ldb, C is [M, N] with
// leading dimension ldc, bias has M entries (or is null). Work is split
// across `pool` when it is non-null. Every function here requires AVX2+FMA:
// callers check cpuHasAvx2Fma() (the runtime falls back to the reference
// kernels otherwise); the dense SGEMM entry points switch to their AVX-512
// form by themselves when cpuHasAvx512f(). Names follow XNNPACK: op, variant,
// ISA.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_RUNTIME_KERNELS_FASTKERNELS_H
#define SPARSELOOM_RUNTIME_KERNELS_FASTKERNELS_H

#include "sparseloom/ProgramFormat.h"

#include <cstddef>
#include <cstdint>

namespace sparseloom {
namespace runtime {

class ThreadPool;

/// True when the CPU and OS support AVX2 and FMA (checked once).
bool cpuHasAvx2Fma();
/// True when the CPU and OS also support AVX-512F (zmm and opmask state
/// enabled in XCR0), unless the environment sets SPARSELOOM_NO_AVX512=1
/// (checked once). The dense SGEMM entry points below then run their
/// AVX-512 form (SgemmAvx512.cpp) on the same packed weights and scratch.
bool cpuHasAvx512f();

/// The fused epilogue of a product: optional per-row bias, optional residual,
/// then activation. Each is a separate float operation, in that order,
/// C = act((W * B + bias) + residual), so the result is bit-identical to a
/// product with a bias followed by an Add op and an activation op.
///
/// `residual` (a Conv's Z input, a ResNet shortcut) is a matrix laid out
/// like C: the value added to C[i][j] is residual[i * residualLd + j], or
/// residual[j * residualLd + i] where C is written transposed (transC).
/// Only some kernels read it (sgemmPackedTransAvx2, sgemmPackedAvx2,
/// spmmCsrAvx2 and the portable reference); the others require it null,
/// and their callers add it in a pass of their own (Ops/Conv.cpp,
/// residualInStore).
struct Epilogue {
  const float *bias = nullptr; // M entries or null
  const float *residual = nullptr;
  size_t residualLd = 0;
  format::Activation activation = format::Activation::None;
  float actMin = 0.f;
  float actMax = 0.f;
};

/// A read-only view of an encoded sparse weight (Csr or BlockSparse): the
/// SparseMatrixHeader and its arrays, already bounds-checked by the loader.
struct SparseMatrixView {
  uint32_t rows = 0;
  uint32_t cols = 0;
  uint32_t blockRows = 1;
  uint32_t blockCols = 1;
  const uint32_t *rowPtr = nullptr; // rows / blockRows + 1
  const uint32_t *colIdx = nullptr;
  const float *values = nullptr;
};

// --- Dense SGEMM on a packed weight ------------------------------------------

/// Bytes needed to pack a [M, K] weight for sgemmPackedAvx2.
size_t packedWeightBytes(uint32_t m, uint32_t k);
/// The PackedMatrixHeader panelWidth/layout values the packed data uses.
uint32_t packedWeightPanelWidth();
uint32_t packedWeightLayoutTag();
/// Packs row-major W [M, K] into `out` (packedWeightBytes(m, k) bytes, 64-byte
/// aligned). Used by the compiler when it encodes a weight, and by the
/// runtime when a program carries a Dense weight for a fast kernel.
void packWeight(const float *w, uint32_t m, uint32_t k, float *out);

/// Scratch bytes sgemmPackedAvx2 needs for an [K, N] right-hand side, where
/// `threads` must be at least the pool's threads() (1 without a pool): each
/// thread packs its own activation panel. Any alignment will do.
size_t sgemmScratchBytes(uint32_t m, uint32_t n, uint32_t k, unsigned threads);
/// C[M,N] = epilogue(Wpacked[M,K] * B[K,N]).
void sgemmPackedAvx2(const float *packedW, uint32_t m, uint32_t n, uint32_t k,
                     const float *b, size_t ldb, float *c, size_t ldc,
                     const Epilogue &epilogue, float *scratch,
                     ThreadPool *pool);
/// The same product for activations stored the other way round, as Gemm and
/// MatMul keep them ([tokens, features]): with transB, B[k][n] is read from
/// b[n * ldb + k]; with transC, C[m][n] is written to c[n * ldc + m] (the
/// bias still has M entries). Same scratch as sgemmPackedAvx2.
void sgemmPackedTransAvx2(const float *packedW, uint32_t m, uint32_t n,
                          uint32_t k, const float *b, size_t ldb, bool transB,
                          float *c, size_t ldc, bool transC,
                          const Epilogue &epilogue, float *scratch,
                          ThreadPool *pool);

/// General row-major C[M,N] = A[M,K] * B[K,N] (+ C when accumulate), both
/// operands unpacked activations (MatMul of two activations, attention).
size_t sgemmScratchBytesUnpacked(uint32_t m, uint32_t n, uint32_t k,
                                 unsigned threads);
void sgemmAvx2(uint32_t m, uint32_t n, uint32_t k, const float *a, size_t lda,
               bool transA, const float *b, size_t ldb, bool transB, float *c,
               size_t ldc, float alpha, float beta, float *scratch,
               ThreadPool *pool);

/// The AVX-512F forms of sgemmPackedTransAvx2 and sgemmAvx2, which call
/// them when cpuHasAvx512f() (and never for n == 1, m == 0, n == 0 or
/// k == 0, which they handle themselves). Same arguments, same scratch.
/// Called directly only by tests and benchmarks, after checking
/// cpuHasAvx512f().
void sgemmPackedTransAvx512(const float *packedW, uint32_t m, uint32_t n,
                            uint32_t k, const float *b, size_t ldb, bool transB,
                            float *c, size_t ldc, bool transC,
                            const Epilogue &epilogue, float *scratch,
                            ThreadPool *pool);
void sgemmAvx512(uint32_t m, uint32_t n, uint32_t k, const float *a, size_t lda,
                 bool transA, const float *b, size_t ldb, bool transB, float *c,
                 size_t ldc, float alpha, float beta, float *scratch,
                 ThreadPool *pool);

// --- Sparse weight times dense activations -----------------------------------

/// C[M,N] = epilogue(Wsparse[M,K] * B[K,N]) for Csr (1x1 blocks).
/// `scratch` (spmmCsrScratchBytes(K, N) bytes, any alignment, or null): where
/// B is copied first when its rows are not 64-byte aligned (N = 49 or 196
/// at ldb = N), so that no vector load of B splits a cache line; the
/// result is the same, bit for bit, with or without it.
void spmmCsrAvx2(const SparseMatrixView &w, uint32_t n, const float *b,
                 size_t ldb, float *c, size_t ldc, const Epilogue &epilogue,
                 ThreadPool *pool, float *scratch);
/// The scratch spmmCsrAvx2 uses for a [K, N] right-hand side (0 when its
/// rows are whole vectors, N % 16 == 0, or N == 1).
size_t spmmCsrScratchBytes(uint32_t k, uint32_t n);
/// B as the CSR rows read it (spmmCsrAvx2 prepares it so itself): with
/// `realign`, rows that are not 64-byte aligned copied to aligned ones in
/// `scratch` (spmmCsrScratchBytes(K, N) bytes, or null: B as it is), and
/// on AVX-512 CPUs, for N = 16j + 1, B's last column gathered there as K
/// contiguous floats. Same bits from any form.
struct CsrOperand {
  const float *b;
  size_t ldb;
  const float *tail; // B's last column, contiguous, or null
};
CsrOperand alignCsrOperand(uint32_t k, uint32_t n, const float *b, size_t ldb,
                           float *scratch, bool realign, ThreadPool *pool);
/// Rows [r0, r1) of spmmCsrAvx2's product over all n columns of `b`, on the
/// calling thread, with the same bits. Row r is written at c + r * ldc;
/// ldc = 0 writes every row to the same place (one row at a time: the
/// pointwise-depthwise conv computes one channel plane per call).
void spmmCsrRowsAvx2(const SparseMatrixView &w, size_t r0, size_t r1,
                     const CsrOperand &b, uint32_t n, float *c, size_t ldc,
                     const Epilogue &epilogue);
/// Same for 4x1 blocks (blockRows = 4, blockCols = 1).
void spmmBlock4x1Avx2(const SparseMatrixView &w, uint32_t n, const float *b,
                      size_t ldb, float *c, size_t ldc,
                      const Epilogue &epilogue, ThreadPool *pool);

/// Code the product kernels run beyond their entry points, named so that
/// the executor can prefetch it (lib/Runtime/OpPrefetch.h): the loop
/// spmmCsrAvx2 (spmmBlock4x1Avx2 when `blocks4x1`) runs for one column, and
/// the one sgemmPackedTransAvx2 runs for one column. Null without AVX2.
const void *spmmColumnCode(bool blocks4x1);
const void *sgemvCode();

/// dst[c][r] = src[r][c] for a [rows, cols] matrix: turns [tokens, features]
/// activations into the [K, N] operand the SpMM kernels read, and their
/// [M, N] result back.
void transposeAvx2(const float *src, uint32_t rows, uint32_t cols, size_t lds,
                   float *dst, size_t ldd, ThreadPool *pool);

// --- Choosing dense or sparse per layer --------------------------------------

/// The fastest of DenseGemmAvx2, SpmmCsrAvx2 and SpmmBlock4x1Avx2 for an
/// [M, K] weight times a [K, N] activation, from a cost model calibrated on
/// these kernels (docs/Kernels.md gives the measurements). `density` is the
/// fraction of nonzero weights; `blockDensity4x1` the fraction of nonzero
/// 4x1 blocks when the weight is stored that way (pass a value > 1 to rule
/// the block kernel out, e.g. when M is not a multiple of 4). Portable: the
/// compiler calls it when it encodes a weight.
format::KernelId recommendLinearKernel(uint32_t m, uint32_t k, uint32_t n,
                                       double density, double blockDensity4x1);
/// The estimated time in nanoseconds of one such product with `kernel` on
/// one core (the model recommendLinearKernel compares).
double estimateLinearKernelNs(format::KernelId kernel, uint32_t m, uint32_t k,
                              uint32_t n, double density,
                              double blockDensity4x1);

/// Whether a dense convolution of this geometry runs as Winograd F(2x2,
/// 3x3) where the CPU has the AVX-512 transforms (Ops/ConvWinograd.h): 3x3,
/// stride 1, dilation 1, one group, at least 32 input and output channels
/// (fewer, and the transforms cost more than they save), an output of at
/// least 8x8 (below, half-empty edge tiles eat the gain; ResNet's 7x7 stage
/// stays on im2col). Portable: the compiler's kernel choice asks it too.
bool convRunsAsWinograd(int64_t c, int64_t m, int64_t kh, int64_t kw,
                        int64_t sh, int64_t sw, int64_t dh, int64_t dw,
                        int64_t group, int64_t oh, int64_t ow);
/// How much faster such a conv runs dense (Winograd) than the im2col SGEMM
/// the dense/sparse crossovers were measured on: the crossover densities
/// of those convs are divided by it (docs/Kernels.md, "Winograd").
double winogradDenseSpeedup();

// --- Depthwise convolution (NCHW) --------------------------------------------

/// One image: input [C, H, W], weight [C, 1, kH, kW], output [C, OH, OW]
/// with its planes `planeOut` (at least OH * OW) floats apart; the floats
/// between them are not written. Any kernel size, stride, dilation and
/// padding; 3x3 and 5x5 at stride 1 and 2 have unrolled paths. The bias and
/// activation come from `epilogue` (params.activation is not read).
void depthwiseConvAvx2(const float *input, uint32_t channels, uint32_t height,
                       uint32_t width, const float *weight,
                       const format::ConvParams &params, uint32_t outHeight,
                       uint32_t outWidth, float *output, size_t planeOut,
                       const Epilogue &epilogue, ThreadPool *pool);

} // namespace runtime
} // namespace sparseloom

#endif // SPARSELOOM_RUNTIME_KERNELS_FASTKERNELS_H
