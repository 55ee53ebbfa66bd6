//===- Gemm.cpp - Gemm and MatMul: reference and fast-kernel glue ---------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Gemm (Y = alpha * A' * B' + beta * C, with optional transposes and a fused
// activation) and MatMul (numpy semantics: 1-D promotion, broadcast batch
// dims). Both come in two shapes:
//
//  * A weight product: B is a constant 2-D weight. The fast kernels see it
//    as W[N, K] (output features x reduction: an encoded weight is always
//    stored that way, a Dense one is packed that way at load) and the
//    activations as [K, M]. DenseGemmAvx2 reads A and writes Y in their
//    [M, K]/[M, N] layouts directly (sgemmPackedTransAvx2), except with
//    AVX-512, whose wide tile writes Y^T into scratch faster than Y itself
//    (then transposed once, see weightPath); the sparse
//    kernels need A transposed into scratch and their result transposed
//    back, except for a single row (M == 1), where both views coincide.
//  * An activation product (attention's Q x K^T): both operands computed at
//    run time; DenseGemmAvx2 uses the unpacked SGEMM, Reference loops.
//
// Gemm's bias C is fused into the kernel epilogue when it is a constant
// per-feature vector and alpha is 1 (beta folded in at load); any other C
// is added after the product, followed by the activation.
//
//===----------------------------------------------------------------------===//

#include "Ops/Products.h"

#include "Kernels/ThreadPool.h"

#include <algorithm>

namespace sparseloom {
namespace runtime {

using namespace ops;

namespace {

/// What Prepare decided for a product op (in program storage).
struct ProductPlan {
  const WeightMatrix *weight = nullptr; // null: activation product
  const float *bias = nullptr;          // fused per-feature bias (Gemm)
  bool fused = false; // bias and activation in the kernel epilogue
};

/// Portable [rows, cols] -> [cols, rows] transpose.
void transposeRef(const float *src, uint32_t rows, uint32_t cols, size_t lds,
                  float *dst, size_t ldd) {
  for (uint32_t r = 0; r < rows; ++r)
    for (uint32_t c = 0; c < cols; ++c)
      dst[c * ldd + r] = src[r * lds + c];
}

void transpose(KernelId kernel, const float *src, uint32_t rows, uint32_t cols,
               float *dst, ThreadPool *pool) {
  if (kernel == KernelId::Reference)
    transposeRef(src, rows, cols, cols, dst, rows);
  else
    transposeAvx2(src, rows, cols, cols, dst, rows, pool);
}

/// Scratch of a weight product: [At (K x M)][Yt (N x M)][kernel scratch].
size_t weightPathScratch(KernelId kernel, Encoding encoding, uint32_t m,
                         uint32_t n, uint32_t k, bool aTransposed,
                         unsigned threads) {
  if (kernel == KernelId::DenseGemmAvx2) {
    // [Yt (N x M) for the AVX-512 kernel][kernel scratch].
    size_t yt = m > 1 ? alignScratch(sizeof(float) * size_t(n) * m) : 0;
    return yt + productScratchBytes(kernel, encoding, n, m, k, threads);
  }
  size_t at =
      (!aTransposed && m > 1) ? alignScratch(sizeof(float) * size_t(k) * m) : 0;
  size_t yt = m > 1 ? alignScratch(sizeof(float) * size_t(n) * m) : 0;
  return at + yt + productScratchBytes(kernel, encoding, n, m, k, threads);
}

/// y[M, N] = epilogue(A * W^T), A [M, K] (stored [K, M] when aTransposed).
void weightPath(KernelId kernel, const WeightMatrix &w, const float *a,
                bool aTransposed, uint32_t m, float *y, const Epilogue &e,
                ExecContext &ctx) {
  const uint32_t n = w.rows, k = w.cols;
  auto *scratch = static_cast<uint8_t *>(ctx.scratch);
  if (kernel == KernelId::DenseGemmAvx2) {
    if (m > 1 && cpuHasAvx512f()) {
      // The AVX-512 tile is 64 columns wide and K is cut in blocks of at
      // most 128: storing it transposed, element by element, once per K
      // block costs more than computing Yt = W * A^T row-major and
      // transposing it once at the end.
      float *yt = reinterpret_cast<float *>(scratch);
      scratch += alignScratch(sizeof(float) * size_t(n) * m);
      sgemmPackedTransAvx2(w.packed, n, m, k, a, aTransposed ? m : k,
                           !aTransposed, yt, m, false, e,
                           reinterpret_cast<float *>(scratch), ctx.pool);
      transposeAvx2(yt, n, m, m, y, n, ctx.pool);
      return;
    }
    // Skip the Yt slice: the AVX2 kernel stores transposed itself.
    if (m > 1)
      scratch += alignScratch(sizeof(float) * size_t(n) * m);
    sgemmPackedTransAvx2(w.packed, n, m, k, a, aTransposed ? m : k,
                         !aTransposed, y, n, true, e,
                         reinterpret_cast<float *>(scratch), ctx.pool);
    return;
  }
  const float *b = a;
  size_t ldb = aTransposed ? m : 1;
  if (!aTransposed && m > 1) {
    float *at = reinterpret_cast<float *>(scratch);
    transpose(kernel, a, m, k, at, ctx.pool);
    b = at;
    ldb = m;
    scratch += alignScratch(sizeof(float) * size_t(k) * m);
  }
  float *c = y;
  size_t ldc = 1;
  if (m > 1) {
    c = reinterpret_cast<float *>(scratch);
    ldc = m;
    scratch += alignScratch(sizeof(float) * size_t(n) * m);
  }
  weightProduct(kernel, w, m, b, ldb, c, ldc, e, scratch, ctx.pool);
  if (m > 1)
    transpose(kernel, c, n, m, y, ctx.pool);
}

/// Names weightPath's code down to the kernel's loop for the executor's
/// prefetch: an FC layer over one token (a classifier head) is a few
/// hundred cycles of work behind a dozen cold functions.
void prefetchWeightPathCode(PrepareContext &ctx, uint32_t m) {
  ctx.prefetchCodeBeforeEval(codeAddress(&weightPath));
  prefetchProductCode(ctx, ctx.op.kernelId, m);
}

// --- Gemm
// ----------------------------------------------------------------------

struct GemmShape {
  uint32_t m, n, k;
};

GemmShape gemmShape(const OpView &op) {
  const auto &p = op.paramsAs<format::GemmParams>();
  const TensorDesc &a = op.input(0);
  const TensorDesc &y = op.output(0);
  return {uint32_t(y.dims[0]), uint32_t(y.dims[1]),
          uint32_t(p.transA ? a.dims[0] : a.dims[1])};
}

/// C as one value per output feature (constant, broadcast over rows)?
bool perFeature(const TensorDesc &c, int64_t n) {
  if (c.rank > 2 || c.kind != TensorKind::Weight)
    return false;
  if (c.rank == 2 && c.dims[0] != 1)
    return false;
  int64_t last = c.rank ? c.dims[c.rank - 1] : 1;
  return last == n || last == 1;
}

sl_status prepareGemm(PrepareContext &ctx) {
  OpInstance &op = ctx.op;
  if (sl_status s = expectOperands(ctx, 2, 3))
    return s;
  const TensorDesc &a = op.input(0);
  const TensorDesc &b = op.input(1);
  const TensorDesc &y = op.output(0);
  const auto &p = op.paramsAs<format::GemmParams>();
  if (sl_status s = expectDType(ctx, a, "A", kFloat))
    return s;
  if (sl_status s = expectDType(ctx, b, "B", kFloat))
    return s;
  if (sl_status s = expectDType(ctx, y, "the output", kFloat))
    return s;
  if (sl_status s = expectDenseData(ctx, a, "A"))
    return s;
  if (a.rank != 2 || b.rank != 2 || y.rank != 2)
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "A, B and the output must be 2-D (ranks %u, %u, %u)",
                    unsigned(a.rank), unsigned(b.rank), unsigned(y.rank));
  int64_t m = p.transA ? a.dims[1] : a.dims[0];
  int64_t k = p.transA ? a.dims[0] : a.dims[1];
  int64_t kb = p.transB ? b.dims[1] : b.dims[0];
  int64_t n = p.transB ? b.dims[0] : b.dims[1];
  if (k != kb)
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "A has K = %lld but B has K = %lld", (long long)k,
                    (long long)kb);
  int64_t want[2] = {m, n};
  if (sl_status s = expectShape(ctx, y, "the output", 2, want))
    return s;
  if (m > UINT32_MAX || n > UINT32_MAX || k > UINT32_MAX)
    return ctx.fail(SL_ERROR_INVALID_PROGRAM, "the product is too large");
  if (op.hasInput(2)) {
    const TensorDesc &c = op.input(2);
    if (sl_status s = expectDType(ctx, c, "C", kFloat))
      return s;
    if (sl_status s = expectDenseData(ctx, c, "C"))
      return s;
    if (!broadcastsTo(c, y)) {
      char sc[96], sy[96];
      return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                      "C shape %s does not broadcast to the output %s",
                      shapeString(c, sc, sizeof(sc)),
                      shapeString(y, sy, sizeof(sy)));
    }
  }
  if (sl_status s = checkActivation(ctx, p.activation, p.actMin, p.actMax))
    return s;

  auto *plan = static_cast<ProductPlan *>(ctx.allocate(sizeof(ProductPlan)));
  if (!plan)
    return SL_ERROR_OUT_OF_MEMORY;
  *plan = ProductPlan();
  op.weight = plan;
  if (b.kind != TensorKind::Weight)
    return checkKernelForActivation(ctx, true);
  if (op.desc->kernel == KernelId::Reference && b.encoding == Encoding::Dense)
    return SL_OK; // the general loops read B in place
  if (sl_status s = prepareWeightMatrix(ctx, op.inputs[1], uint32_t(n),
                                        uint32_t(k), !p.transB, plan->weight))
    return s;
  prefetchWeightPathCode(ctx, uint32_t(m));
  // Fuse C into the kernel's bias when it is one constant per feature.
  if (p.alpha == 1.f && (!op.hasInput(2) || perFeature(op.input(2), n))) {
    plan->fused = true;
    if (op.hasInput(2)) {
      auto *bias = static_cast<float *>(ctx.allocate(sizeof(float) * n));
      if (!bias)
        return SL_ERROR_OUT_OF_MEMORY;
      const auto *c =
          reinterpret_cast<const float *>(ctx.weightBytes(op.inputs[2]));
      const bool scalar = count(op.input(2)) == 1;
      for (int64_t i = 0; i < n; ++i)
        bias[i] = p.beta * c[scalar ? 0 : i];
      plan->bias = bias;
      ctx.prefetchBeforeEval(bias, 1);
    }
  }
  return SL_OK;
}

size_t gemmScratch(const OpView &op, KernelId kernel, unsigned threads) {
  const GemmShape s = gemmShape(op);
  const auto &p = op.paramsAs<format::GemmParams>();
  const TensorDesc &b = op.input(1);
  if (b.kind != TensorKind::Weight)
    return kernel == KernelId::DenseGemmAvx2
               ? sgemmScratchBytesUnpacked(s.m, s.n, s.k, threads)
               : 0;
  if (kernel == KernelId::Reference && op.desc->kernel == KernelId::Reference &&
      b.encoding == Encoding::Dense)
    return 0;
  Encoding enc =
      b.encoding == Encoding::Dense && kernel == KernelId::DenseGemmAvx2
          ? Encoding::PackedPanels
          : b.encoding;
  return weightPathScratch(kernel, enc, s.m, s.n, s.k, p.transA, threads);
}

/// y = alpha * y + beta * C (broadcast), then the activation: what the
/// kernel epilogue could not do.
void gemmPostPass(const OpInstance &op, ExecContext &ctx, float *y,
                  bool scaled) {
  const auto &p = op.paramsAs<format::GemmParams>();
  const TensorDesc &out = op.output(0);
  const int64_t total = count(out);
  if (!scaled && p.alpha != 1.f)
    for (int64_t i = 0; i < total; ++i)
      y[i] *= p.alpha;
  if (op.hasInput(2) && p.beta != 0.f) {
    const TensorDesc *ins[2] = {&out, &op.input(2)};
    Broadcast b;
    makeBroadcast(out, ins, 2, b);
    const float *c = ctx.in<float>(op, 2);
    const float beta = p.beta;
    forEachRow(b,
               [&](int64_t o, const int64_t *in, int64_t n, const int64_t *s) {
                 for (int64_t i = 0; i < n; ++i)
                   y[o + i] += beta * c[in[1] + i * s[1]];
               });
  }
  applyActivation(y, total, p.activation, p.actMin, p.actMax);
}

/// The general reference: y = alpha * op(A) op(B), then the post pass.
void referenceGemm(const OpInstance &op, ExecContext &ctx, const GemmShape &s,
                   float *y) {
  const auto &p = op.paramsAs<format::GemmParams>();
  const float *a = ctx.in<float>(op, 0);
  const float *b = ctx.in<float>(op, 1);
  const size_t bRow = p.transB ? 1 : s.n; // step of k in B
  const size_t bCol = p.transB ? s.k : 1; // step of n in B
  for (uint32_t m = 0; m < s.m; ++m) {
    float *yr = y + size_t(m) * s.n;
    std::fill(yr, yr + s.n, 0.f);
    for (uint32_t k = 0; k < s.k; ++k) {
      const float av =
          p.transA ? a[size_t(k) * s.m + m] : a[size_t(m) * s.k + k];
      const float *br = b + k * bRow;
      for (uint32_t j = 0; j < s.n; ++j)
        yr[j] += av * br[j * bCol];
    }
  }
}

sl_status evalGemm(const OpInstance &op, ExecContext &ctx) {
  const GemmShape s = gemmShape(op);
  const auto &p = op.paramsAs<format::GemmParams>();
  const auto &plan = *static_cast<const ProductPlan *>(op.weight);
  float *y = ctx.out<float>(op, 0);
  const float *a = ctx.in<float>(op, 0);
  if (plan.weight) {
    Epilogue e;
    if (plan.fused) {
      e.bias = plan.bias;
      e.activation = p.activation;
      e.actMin = p.actMin;
      e.actMax = p.actMax;
    }
    weightPath(op.kernelId, *plan.weight, a, p.transA, s.m, y, e, ctx);
    if (!plan.fused)
      gemmPostPass(op, ctx, y, false);
    return SL_OK;
  }
  if (op.kernelId == KernelId::DenseGemmAvx2) {
    const float *b = ctx.in<float>(op, 1);
    sgemmAvx2(s.m, s.n, s.k, a, p.transA ? s.m : s.k, p.transA, b,
              p.transB ? s.k : s.n, p.transB, y, s.n, p.alpha, 0.f,
              static_cast<float *>(ctx.scratch), ctx.pool);
    gemmPostPass(op, ctx, y, true);
    return SL_OK;
  }
  referenceGemm(op, ctx, s, y);
  gemmPostPass(op, ctx, y, false);
  return SL_OK;
}

// --- MatMul
// --------------------------------------------------------------------

/// MatMul operands with numpy's 1-D promotion applied.
struct MatMulShape {
  int64_t m, k, n;
  unsigned batchRank;
  int64_t batch[kMaxRank];   // output batch dims
  int64_t aStride[kMaxRank]; // per batch dim, in matrices (0: broadcast)
  int64_t bStride[kMaxRank];
  int64_t batches;
};

bool matmulShape(const OpView &op, MatMulShape &s, int64_t *outDims,
                 unsigned &outRank) {
  const TensorDesc &a = op.input(0);
  const TensorDesc &b = op.input(1);
  if (a.rank == 0 || b.rank == 0)
    return false;
  s.m = a.rank == 1 ? 1 : a.dims[a.rank - 2];
  s.k = a.dims[a.rank - 1];
  int64_t kb = b.rank == 1 ? b.dims[0] : b.dims[b.rank - 2];
  s.n = b.rank == 1 ? 1 : b.dims[b.rank - 1];
  if (s.k != kb)
    return false;
  unsigned ab = a.rank > 2 ? a.rank - 2 : 0;
  unsigned bb = b.rank > 2 ? b.rank - 2 : 0;
  s.batchRank = ab > bb ? ab : bb;
  s.batches = 1;
  // Strides in whole matrices, from the innermost batch dim outwards.
  int64_t as = 1, bs = 1;
  for (int i = int(s.batchRank) - 1; i >= 0; --i) {
    int ia = i - int(s.batchRank - ab), ib = i - int(s.batchRank - bb);
    int64_t da = ia >= 0 ? a.dims[ia] : 1;
    int64_t db = ib >= 0 ? b.dims[ib] : 1;
    if (da != db && da != 1 && db != 1)
      return false;
    s.batch[i] = da == 1 ? db : da;
    s.aStride[i] = da == 1 ? 0 : as;
    s.bStride[i] = db == 1 ? 0 : bs;
    as *= da;
    bs *= db;
    s.batches *= s.batch[i];
  }
  outRank = 0;
  for (unsigned i = 0; i < s.batchRank; ++i)
    outDims[outRank++] = s.batch[i];
  if (a.rank > 1)
    outDims[outRank++] = s.m;
  if (b.rank > 1)
    outDims[outRank++] = s.n;
  return true;
}

/// The weight path applies when B is a 2-D constant: A's batch dims then
/// fold into its rows.
bool isWeightProduct(const OpView &op) {
  const TensorDesc &b = op.input(1);
  return b.kind == TensorKind::Weight && b.rank == 2 &&
         !(op.desc->kernel == KernelId::Reference &&
           b.encoding == Encoding::Dense);
}

sl_status prepareMatMul(PrepareContext &ctx) {
  OpInstance &op = ctx.op;
  if (sl_status s = expectOperands(ctx, 2, 2))
    return s;
  const TensorDesc &a = op.input(0);
  const TensorDesc &b = op.input(1);
  if (sl_status s = expectDType(ctx, a, "A", kFloat))
    return s;
  if (sl_status s = expectDType(ctx, b, "B", kFloat))
    return s;
  if (sl_status s = expectDType(ctx, op.output(0), "the output", kFloat))
    return s;
  if (sl_status s = expectDenseData(ctx, a, "A"))
    return s;
  MatMulShape s;
  int64_t dims[kMaxRank + 2];
  unsigned rank = 0;
  if (a.rank > kMaxRank || b.rank > kMaxRank ||
      !matmulShape(op, s, dims, rank)) {
    char sa[96], sb[96];
    return ctx.fail(
        SL_ERROR_INVALID_PROGRAM, "A %s and B %s cannot be multiplied",
        shapeString(a, sa, sizeof(sa)), shapeString(b, sb, sizeof(sb)));
  }
  if (rank > kMaxRank)
    return ctx.fail(SL_ERROR_INVALID_PROGRAM, "the output rank exceeds %u",
                    kMaxRank);
  if (sl_status st = expectShape(ctx, op.output(0), "the output", rank, dims))
    return st;
  int64_t rows = count(a) / (s.k ? s.k : 1);
  if (rows > UINT32_MAX || s.n > UINT32_MAX || s.k > UINT32_MAX ||
      s.m > UINT32_MAX)
    return ctx.fail(SL_ERROR_INVALID_PROGRAM, "the product is too large");

  auto *plan = static_cast<ProductPlan *>(ctx.allocate(sizeof(ProductPlan)));
  if (!plan)
    return SL_ERROR_OUT_OF_MEMORY;
  *plan = ProductPlan();
  op.weight = plan;
  if (b.kind != TensorKind::Weight)
    return checkKernelForActivation(ctx, true);
  if (!isWeightProduct(op)) {
    if (b.encoding != Encoding::Dense)
      return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                      "an encoded B must be 2-D (it is rank %u)",
                      unsigned(b.rank));
    if (op.desc->kernel != KernelId::Reference &&
        op.desc->kernel != KernelId::DenseGemmAvx2)
      return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                      "kernel %s needs a 2-D weight B",
                      kernelIdName(op.desc->kernel));
    return SL_OK;
  }
  plan->fused = true;
  prefetchWeightPathCode(ctx, uint32_t(rows));
  // Dense B is [K, N]: the transpose of the [N, K] matrix the kernels read.
  return prepareWeightMatrix(ctx, op.inputs[1], uint32_t(s.n), uint32_t(s.k),
                             true, plan->weight);
}

size_t matmulScratch(const OpView &op, KernelId kernel, unsigned threads) {
  MatMulShape s;
  int64_t dims[kMaxRank + 2];
  unsigned rank;
  if (!matmulShape(op, s, dims, rank))
    return 0;
  const TensorDesc &b = op.input(1);
  if (isWeightProduct(op)) {
    uint32_t rows = uint32_t(count(op.input(0)) / (s.k ? s.k : 1));
    Encoding enc =
        b.encoding == Encoding::Dense && kernel == KernelId::DenseGemmAvx2
            ? Encoding::PackedPanels
            : b.encoding;
    return weightPathScratch(kernel, enc, rows, uint32_t(s.n), uint32_t(s.k),
                             false, threads);
  }
  return kernel == KernelId::DenseGemmAvx2
             ? sgemmScratchBytesUnpacked(uint32_t(s.m), uint32_t(s.n),
                                         uint32_t(s.k), threads)
             : 0;
}

sl_status evalMatMul(const OpInstance &op, ExecContext &ctx) {
  const auto &plan = *static_cast<const ProductPlan *>(op.weight);
  const float *a = ctx.in<float>(op, 0);
  float *y = ctx.out<float>(op, 0);
  MatMulShape s;
  int64_t dims[kMaxRank + 2];
  unsigned rank;
  matmulShape(op, s, dims, rank);
  if (plan.weight) {
    uint32_t rows = uint32_t(count(op.input(0)) / (s.k ? s.k : 1));
    weightPath(op.kernelId, *plan.weight, a, false, rows, y, Epilogue(), ctx);
    return SL_OK;
  }
  const float *b = ctx.in<float>(op, 1);
  const size_t aMat = size_t(s.m * s.k), bMat = size_t(s.k * s.n),
               yMat = size_t(s.m * s.n);
  int64_t idx[kMaxRank] = {};
  int64_t aOff = 0, bOff = 0;
  for (int64_t batch = 0; batch < s.batches; ++batch) {
    const float *ab = a + aOff * aMat;
    const float *bb = b + bOff * bMat;
    float *yb = y + batch * yMat;
    if (op.kernelId == KernelId::DenseGemmAvx2) {
      sgemmAvx2(uint32_t(s.m), uint32_t(s.n), uint32_t(s.k), ab, size_t(s.k),
                false, bb, size_t(s.n), false, yb, size_t(s.n), 1.f, 0.f,
                static_cast<float *>(ctx.scratch), ctx.pool);
    } else {
      for (int64_t m = 0; m < s.m; ++m) {
        float *yr = yb + m * s.n;
        std::fill(yr, yr + s.n, 0.f);
        for (int64_t k = 0; k < s.k; ++k) {
          const float av = ab[m * s.k + k];
          const float *br = bb + k * s.n;
          for (int64_t j = 0; j < s.n; ++j)
            yr[j] += av * br[j];
        }
      }
    }
    for (int d = int(s.batchRank) - 1; d >= 0; --d) {
      aOff += s.aStride[d];
      bOff += s.bStride[d];
      if (++idx[d] < s.batch[d])
        break;
      aOff -= s.aStride[d] * s.batch[d];
      bOff -= s.bStride[d] * s.batch[d];
      idx[d] = 0;
    }
  }
  return SL_OK;
}

} // namespace

void registerGemmOps(OpResolver &resolver) {
  resolver.add({Opcode::Gemm, prepareGemm, evalGemm, gemmScratch, false});
  resolver.add(
      {Opcode::MatMul, prepareMatMul, evalMatMul, matmulScratch, false});
}

} // namespace runtime
} // namespace sparseloom
