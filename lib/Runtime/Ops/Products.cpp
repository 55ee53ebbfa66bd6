//===- Products.cpp - Weight x activation products for Conv/Gemm/MatMul ---===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//

#include "Ops/Products.h"
#include "Ops/VectorMath.h"

#include <algorithm>
#include <cassert>

namespace sparseloom {
namespace runtime {
namespace ops {

using format::PackedMatrixHeader;
using format::SparseMatrixHeader;

sl_status checkActivation(PrepareContext &ctx, format::Activation act, float lo,
                          float hi) {
  switch (act) {
  case format::Activation::None:
  case format::Activation::Relu:
    return SL_OK;
  case format::Activation::Clip:
    if (!(lo <= hi))
      return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                      "fused Clip needs min <= max (got %g, %g)", double(lo),
                      double(hi));
    return SL_OK;
  }
  return ctx.fail(SL_ERROR_INVALID_PROGRAM, "unknown fused activation %u",
                  unsigned(act));
}

sl_status checkKernelForActivation(PrepareContext &ctx, bool allowDenseGemm) {
  KernelId k = ctx.op.desc->kernel;
  if (k == KernelId::Reference ||
      (allowDenseGemm && k == KernelId::DenseGemmAvx2))
    return SL_OK;
  return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                  "kernel %s needs a constant weight operand, but it is an "
                  "activation",
                  kernelIdName(k));
}

/// Names what a product's Eval reads first for the executor's prefetch:
/// the WeightMatrix, then the first line of each array its kernel streams
/// (the hardware prefetchers take over once a stream has started).
static const WeightMatrix *finishWeightMatrix(PrepareContext &ctx,
                                              const WeightMatrix *w) {
  ctx.prefetchBeforeEval(w, sizeof(*w));
  if (w->packed)
    ctx.prefetchBeforeEval(w->packed, 1);
  else if (w->dense)
    ctx.prefetchBeforeEval(w->dense, 1);
  ctx.prefetchBeforeEval(w->sparse.rowPtr, 1);
  ctx.prefetchBeforeEval(w->sparse.colIdx, 1);
  ctx.prefetchBeforeEval(w->sparse.values, 1);
  return w;
}

sl_status prepareWeightMatrix(PrepareContext &ctx, uint32_t tensorId,
                              uint32_t rows, uint32_t cols,
                              bool denseTransposed, const WeightMatrix *&out) {
  const TensorDesc &t = ctx.op.tensors[tensorId];
  const KernelId requested = ctx.op.desc->kernel;
  const KernelId effective = ctx.op.kernelId;
  assert(t.kind == TensorKind::Weight && "not a weight");
  if (t.dtype != DType::F32)
    return ctx.fail(SL_ERROR_INVALID_PROGRAM, "the weight must be float32");

  bool fits = false;
  switch (requested) {
  case KernelId::Reference:
    fits = true;
    break;
  case KernelId::DenseGemmAvx2:
    fits =
        t.encoding == Encoding::Dense || t.encoding == Encoding::PackedPanels;
    break;
  case KernelId::SpmmCsrAvx2:
    fits = t.encoding == Encoding::Csr;
    break;
  case KernelId::SpmmBlock4x1Avx2:
    fits = t.encoding == Encoding::BlockSparse;
    break;
  case KernelId::DepthwiseAvx2:
    fits = false;
    break;
  }
  static const char *encodings[] = {"Dense", "Csr", "BlockSparse",
                                    "PackedPanels"};
  if (!fits)
    return ctx.fail(
        SL_ERROR_INVALID_PROGRAM, "kernel %s cannot read a %s weight",
        kernelIdName(requested), encodings[unsigned(t.encoding) & 3]);

  auto *w = static_cast<WeightMatrix *>(ctx.allocate(sizeof(WeightMatrix)));
  if (!w)
    return SL_ERROR_OUT_OF_MEMORY;
  *w = WeightMatrix();
  w->encoding = t.encoding;
  w->rows = rows;
  w->cols = cols;
  const uint8_t *bytes = ctx.weightBytes(tensorId);

  if (t.encoding == Encoding::Dense) {
    if (uint64_t(count(t)) != uint64_t(rows) * cols)
      return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                      "the weight has %lld elements, expected %ux%u",
                      (long long)count(t), rows, cols);
    w->dense = reinterpret_cast<const float *>(bytes);
    w->transposed = denseTransposed;
    if (effective == KernelId::DenseGemmAvx2) {
      // The program carries the weight unpacked: pack it once, here.
      float *packed =
          static_cast<float *>(ctx.allocate(packedWeightBytes(rows, cols)));
      if (!packed)
        return SL_ERROR_OUT_OF_MEMORY;
      const float *rowMajor = w->dense;
      float *temp = nullptr;
      if (denseTransposed) {
        temp = static_cast<float *>(
            ctx.allocateTemporary(sizeof(float) * size_t(rows) * cols));
        if (!temp)
          return SL_ERROR_OUT_OF_MEMORY;
        for (uint32_t k = 0; k < cols; ++k)
          for (uint32_t r = 0; r < rows; ++r)
            temp[size_t(r) * cols + k] = w->dense[size_t(k) * rows + r];
        rowMajor = temp;
      }
      packWeight(rowMajor, rows, cols, packed);
      ctx.releaseTemporary(temp);
      w->encoding = Encoding::PackedPanels;
      w->packed = packed;
      w->panelWidth = packedWeightPanelWidth();
    }
    out = finishWeightMatrix(ctx, w);
    return SL_OK;
  }

  if (t.encoding == Encoding::PackedPanels) {
    PackedMatrixHeader h;
    std::memcpy(&h, bytes, sizeof(h));
    if (h.rows != rows || h.cols != cols)
      return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                      "the packed weight is %ux%u, expected %ux%u (output "
                      "channels x reduction)",
                      h.rows, h.cols, rows, cols);
    if (requested == KernelId::DenseGemmAvx2 &&
        (h.panelWidth != packedWeightPanelWidth() ||
         h.layout != packedWeightLayoutTag()))
      return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                      "the packed weight's layout (panel %u, tag 0x%x) is "
                      "not the one DenseGemmAvx2 reads (panel %u, tag 0x%x)",
                      h.panelWidth, h.layout, packedWeightPanelWidth(),
                      packedWeightLayoutTag());
    w->packed = reinterpret_cast<const float *>(bytes + h.dataOffset);
    w->panelWidth = h.panelWidth;
    out = finishWeightMatrix(ctx, w);
    return SL_OK;
  }

  SparseMatrixHeader h;
  std::memcpy(&h, bytes, sizeof(h));
  if (h.rows != rows || h.cols != cols)
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "the sparse weight is %ux%u, expected %ux%u (output "
                    "channels x reduction)",
                    h.rows, h.cols, rows, cols);
  if (requested == KernelId::SpmmBlock4x1Avx2 &&
      (h.blockRows != 4 || h.blockCols != 1))
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "SpmmBlock4x1Avx2 needs 4x1 blocks, the weight has %ux%u",
                    h.blockRows, h.blockCols);
  w->sparse.rows = h.rows;
  w->sparse.cols = h.cols;
  w->sparse.blockRows = h.blockRows;
  w->sparse.blockCols = h.blockCols;
  w->sparse.rowPtr = reinterpret_cast<const uint32_t *>(bytes + h.rowPtrOffset);
  w->sparse.colIdx = reinterpret_cast<const uint32_t *>(bytes + h.colIdxOffset);
  w->sparse.values = reinterpret_cast<const float *>(bytes + h.valuesOffset);
  out = finishWeightMatrix(ctx, w);
  return SL_OK;
}

void decodeRow(const WeightMatrix &w, uint32_t row, float *out) {
  const size_t cols = w.cols;
  switch (w.encoding) {
  case Encoding::Dense:
    if (!w.transposed) {
      std::memcpy(out, w.dense + row * cols, cols * sizeof(float));
    } else {
      for (size_t k = 0; k < cols; ++k)
        out[k] = w.dense[k * w.rows + row];
    }
    return;
  case Encoding::PackedPanels: {
    // Panel p holds rows [p*pw, p*pw+pw) interleaved: element (r, k) at
    // k * pw + r within the panel (docs/Kernels.md).
    const size_t pw = w.panelWidth;
    const float *panel = w.packed + (row / pw) * cols * pw;
    const size_t r = row % pw;
    for (size_t k = 0; k < cols; ++k)
      out[k] = panel[k * pw + r];
    return;
  }
  case Encoding::Csr:
  case Encoding::BlockSparse: {
    const SparseMatrixView &s = w.sparse;
    std::fill(out, out + cols, 0.f);
    const uint32_t br = row / s.blockRows, rr = row % s.blockRows;
    const size_t blockSize = size_t(s.blockRows) * s.blockCols;
    for (uint32_t i = s.rowPtr[br]; i < s.rowPtr[br + 1]; ++i) {
      // Blocks are stored row-major (blockRows x blockCols).
      const float *block = s.values + i * blockSize + rr * s.blockCols;
      const size_t col = size_t(s.colIdx[i]) * s.blockCols;
      for (uint32_t cc = 0; cc < s.blockCols; ++cc)
        out[col + cc] = block[cc];
    }
    return;
  }
  case Encoding::PaddedPlanes: // activations only; the loader refuses it
    break;
  }
}

void applyActivation(float *c, int64_t count, format::Activation act, float lo,
                     float hi) {
  if (act == format::Activation::Relu)
    clampArray(c, c, count, 0.f, INFINITY);
  else if (act == format::Activation::Clip)
    clampArray(c, c, count, lo, hi);
}

void applyEpilogue(float *c, uint32_t rows, uint32_t n, size_t ldc,
                   const Epilogue &e) {
  for (uint32_t m = 0; m < rows; ++m) {
    float *row = c + m * ldc;
    if (e.bias) {
      const float bias = e.bias[m];
      for (uint32_t j = 0; j < n; ++j)
        row[j] += bias;
    }
    applyActivation(row, n, e.activation, e.actMin, e.actMax);
  }
}

namespace {

/// c_row += v * b_row over n columns.
inline void axpy(float *c, float v, const float *b, uint32_t n) {
  for (uint32_t j = 0; j < n; ++j)
    c[j] += v * b[j];
}

void referenceProduct(const WeightMatrix &w, uint32_t n, const float *b,
                      size_t ldb, float *c, size_t ldc, const Epilogue &e,
                      float *rowScratch) {
  for (uint32_t m = 0; m < w.rows; ++m) {
    float *cr = c + m * ldc;
    std::fill(cr, cr + n, 0.f);
    if (w.encoding == Encoding::Csr || w.encoding == Encoding::BlockSparse) {
      // Walk the nonzeros directly: the reference stays sparse-fast.
      const SparseMatrixView &s = w.sparse;
      const uint32_t br = m / s.blockRows, rr = m % s.blockRows;
      const size_t blockSize = size_t(s.blockRows) * s.blockCols;
      for (uint32_t i = s.rowPtr[br]; i < s.rowPtr[br + 1]; ++i) {
        const float *block = s.values + i * blockSize + rr * s.blockCols;
        const size_t col = size_t(s.colIdx[i]) * s.blockCols;
        for (uint32_t cc = 0; cc < s.blockCols; ++cc)
          axpy(cr, block[cc], b + (col + cc) * ldb, n);
      }
      continue;
    }
    const float *row;
    if (w.encoding == Encoding::Dense && !w.transposed) {
      row = w.dense + size_t(m) * w.cols;
    } else {
      decodeRow(w, m, rowScratch);
      row = rowScratch;
    }
    // No skipping of zeros here: a dense weight keeps IEEE semantics
    // (0 * Inf is NaN), as in ONNX Runtime.
    for (uint32_t k = 0; k < w.cols; ++k)
      axpy(cr, row[k], b + k * ldb, n);
  }
  applyEpilogue(c, w.rows, n, ldc, e);
}

} // namespace

void weightProduct(KernelId kernel, const WeightMatrix &w, uint32_t n,
                   const float *b, size_t ldb, float *c, size_t ldc,
                   const Epilogue &epilogue, void *scratch, ThreadPool *pool) {
  switch (kernel) {
  case KernelId::DenseGemmAvx2:
    sgemmPackedAvx2(w.packed, w.rows, n, w.cols, b, ldb, c, ldc, epilogue,
                    static_cast<float *>(scratch), pool);
    return;
  case KernelId::SpmmCsrAvx2:
    spmmCsrAvx2(w.sparse, n, b, ldb, c, ldc, epilogue, pool,
                static_cast<float *>(scratch));
    return;
  case KernelId::SpmmBlock4x1Avx2:
    spmmBlock4x1Avx2(w.sparse, n, b, ldb, c, ldc, epilogue, pool);
    return;
  case KernelId::Reference:
  case KernelId::DepthwiseAvx2:
    referenceProduct(w, n, b, ldb, c, ldc, epilogue,
                     static_cast<float *>(scratch));
    return;
  }
}

void prefetchProductCode(PrepareContext &ctx, KernelId kernel, uint32_t n) {
  switch (kernel) {
  case KernelId::DenseGemmAvx2:
    ctx.prefetchCodeBeforeEval(codeAddress(&sgemmPackedTransAvx2));
    if (n == 1)
      ctx.prefetchCodeBeforeEval(sgemvCode());
    return;
  case KernelId::SpmmCsrAvx2:
  case KernelId::SpmmBlock4x1Avx2: {
    const bool blocks = kernel == KernelId::SpmmBlock4x1Avx2;
    ctx.prefetchCodeBeforeEval(codeAddress(&weightProduct));
    ctx.prefetchCodeBeforeEval(blocks ? codeAddress(&spmmBlock4x1Avx2)
                                      : codeAddress(&spmmCsrAvx2));
    if (n == 1)
      ctx.prefetchCodeBeforeEval(spmmColumnCode(blocks));
    return;
  }
  case KernelId::Reference:
  case KernelId::DepthwiseAvx2:
    return;
  }
}

size_t productScratchBytes(KernelId kernel, Encoding encoding, uint32_t rows,
                           uint32_t n, uint32_t cols, unsigned threads) {
  switch (kernel) {
  case KernelId::DenseGemmAvx2:
    return alignScratch(sgemmScratchBytes(rows, n, cols, threads));
  case KernelId::SpmmCsrAvx2:
    return alignScratch(spmmCsrScratchBytes(cols, n));
  case KernelId::SpmmBlock4x1Avx2:
    return 0;
  case KernelId::Reference:
  case KernelId::DepthwiseAvx2:
    // One decoded weight row (Packed and transposed Dense weights).
    return encoding == Encoding::Csr || encoding == Encoding::BlockSparse
               ? 0
               : alignScratch(sizeof(float) * size_t(cols));
  }
  return 0;
}

} // namespace ops
} // namespace runtime
} // namespace sparseloom
