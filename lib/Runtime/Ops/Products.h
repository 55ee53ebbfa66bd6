//===- Products.h - Weight x activation products ----------------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Conv, Gemm and MatMul all reduce to C[M, N] = epilogue(W[M, K] * B[K, N])
// where W is a constant weight whose rows are output channels (the fast
// kernels' convention, lib/Runtime/Kernels/FastKernels.h) and B holds the
// activations, one column per output pixel or per row of the input. This
// file holds what the three share: reading the weight in whichever encoding
// the compiler stored (Dense, PackedPanels, Csr, BlockSparse), checking that
// the encoding suits the kernel the compiler chose, and dispatching one
// product to the fast kernel or to the portable reference.
//
// The reference reads every encoding: it decodes one weight row at a time
// into scratch, so a program compiled for AVX2 runs unchanged (and gives the
// same results up to float rounding) on a CPU without it.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_LIB_RUNTIME_OPS_PRODUCTS_H
#define SPARSELOOM_LIB_RUNTIME_OPS_PRODUCTS_H

#include "Ops/OpUtil.h"

#include "Kernels/FastKernels.h"

namespace sparseloom {
namespace runtime {
namespace ops {

/// A weight as the matrix [rows = output channels, cols = reduction].
struct WeightMatrix {
  Encoding encoding = Encoding::Dense;
  uint32_t rows = 0, cols = 0;
  /// Dense: row-major [rows, cols], or [cols, rows] when `transposed`
  /// (MatMul's B and Gemm's B without transB store the reduction first).
  const float *dense = nullptr;
  bool transposed = false;
  /// PackedPanels (from the blob, or packed by the runtime at load).
  const float *packed = nullptr;
  uint32_t panelWidth = 0;
  /// Csr / BlockSparse.
  SparseMatrixView sparse;
};

/// Resolves Weight tensor `tensorId` as a [rows, cols] matrix for the op's
/// requested kernel (desc->kernel) and the kernel that will run
/// (op.kernelId): checks that the encoding suits the requested kernel and
/// that an encoded matrix has exactly rows x cols (an encoded weight is
/// always stored with output channels as rows), packs a Dense weight when
/// the dense fast kernel runs, and allocates the result in program storage.
/// `denseTransposed`: a Dense tensor stores [cols, rows].
sl_status prepareWeightMatrix(PrepareContext &ctx, uint32_t tensorId,
                              uint32_t rows, uint32_t cols,
                              bool denseTransposed, const WeightMatrix *&out);

/// The kernel ids a product op accepts for an input that is an activation
/// (no weight): Reference, and DenseGemmAvx2 where the op supports it.
sl_status checkKernelForActivation(PrepareContext &ctx, bool allowDenseGemm);

/// Row `row` of the weight as cols floats into `out` (any encoding).
void decodeRow(const WeightMatrix &w, uint32_t row, float *out);

/// C[rows, n] = epilogue(W * B[cols, n]) with `kernel` (the op's effective
/// kernel id). `scratch` holds productScratchBytes(...) bytes.
void weightProduct(KernelId kernel, const WeightMatrix &w, uint32_t n,
                   const float *b, size_t ldb, float *c, size_t ldc,
                   const Epilogue &epilogue, void *scratch, ThreadPool *pool);
size_t productScratchBytes(KernelId kernel, Encoding encoding, uint32_t rows,
                           uint32_t n, uint32_t cols, unsigned threads);
/// Names the code weightProduct (or, for DenseGemmAvx2, the packed SGEMM
/// it calls) runs for `n` columns on `kernel`, down to the one-column loop,
/// for the executor's prefetch (lib/Runtime/OpPrefetch.h).
void prefetchProductCode(PrepareContext &ctx, KernelId kernel, uint32_t n);

/// Applies bias and activation to C[rows, n] in place (reference epilogue).
void applyEpilogue(float *c, uint32_t rows, uint32_t n, size_t ldc,
                   const Epilogue &epilogue);
/// The activation alone on `count` contiguous floats.
void applyActivation(float *c, int64_t count, format::Activation act, float lo,
                     float hi);
/// Checks a fused activation field (None/Relu/Clip with lo <= hi).
sl_status checkActivation(PrepareContext &ctx, format::Activation act, float lo,
                          float hi);

/// Rounds `bytes` up to the 64-byte scratch alignment.
inline size_t alignScratch(size_t bytes) { return (bytes + 63) / 64 * 64; }

} // namespace ops
} // namespace runtime
} // namespace sparseloom

#endif // SPARSELOOM_LIB_RUNTIME_OPS_PRODUCTS_H
