//===- PointwiseDepthwise.cpp - A 1x1 conv fused into its depthwise conv --===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Opcode::PointwiseDepthwise: a sparse 1x1 conv (an inverted-residual
// block's expand, MobileNetV2) and the depthwise conv that reads its output,
// run channel by channel: output channel m of the 1x1 conv is one CSR row
// times the input, and it is all that channel m of the depthwise conv
// reads. So each thread computes one expanded plane (H x W floats, at most
// 50 KiB for MobileNetV2's 112x112, in L1/L2) and convolves it at once; the
// expanded tensor (4.8 MB at 112x112 x 96) is never written or read back.
// At 90 % sparsity that write was most of the 1x1 conv's time: the CSR rows
// do 1.6-2.4 multiply-adds per output there.
//
// Same kernels, same per-element order as the two ops it replaces (the CSR
// rows and the depthwise kernels of one channel do not depend on how
// channels or columns are split), so the output is bit-identical to the
// unfused pair, for any thread count. The compiler fuses only where the 1x1
// conv runs SpmmCsrAvx2 (lib/Lower/LowerFusedConv.cpp); on a CPU without
// AVX2 the loader gives the op Reference, which runs Conv's reference loops
// for both parts, again channel by channel.
//
//===----------------------------------------------------------------------===//

#include "Ops/ConvGeom.h"
#include "Ops/Products.h"

#include "Kernels/ThreadPool.h"

namespace sparseloom {
namespace runtime {

using namespace ops;

namespace {

enum Operand : unsigned { kX = 0, kW1 = 1, kB1 = 2, kW2 = 3, kB2 = 4 };

struct PairGeom {
  ConvGeom pointwise; // [N, K, H, W] -> [N, M, H, W]
  ConvGeom depthwise; // [N, M, H, W] -> [N, M, OH, OW], group M
  int64_t plane() const { return pointwise.spatial(); }
};

PairGeom geometry(const OpView &op) {
  const format::TensorDesc &x = op.input(kX);
  const format::TensorDesc &y = op.output(0);
  const auto &p = op.paramsAs<format::PointwiseDepthwiseParams>().depthwise;
  PairGeom g;
  ConvGeom &a = g.pointwise, &b = g.depthwise;
  a.n = b.n = x.dims[0];
  a.c = x.dims[1];
  a.h = a.oh = b.h = x.dims[2];
  a.w = a.ow = b.w = x.dims[3];
  a.m = b.c = b.m = b.group = y.dims[1];
  a.kh = a.kw = a.sh = a.sw = a.dh = a.dw = a.group = 1;
  a.pt = a.pl = a.pb = a.pr = 0;
  b.oh = y.dims[2];
  b.ow = y.dims[3];
  setWindow(b, p);
  a.inPlane = a.outPlane = b.inPlane = a.spatial();
  b.outPlane = b.spatial();
  return g;
}

sl_status checkBias(PrepareContext &ctx, unsigned index, const char *what,
                    int64_t m) {
  if (!ctx.op.hasInput(index))
    return SL_OK;
  const format::TensorDesc &b = ctx.op.input(index);
  if (sl_status s = expectDType(ctx, b, what, kFloat))
    return s;
  if (sl_status s = expectDenseData(ctx, b, what))
    return s;
  if (b.rank != 1 || b.dims[0] != m)
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "%s must be [%lld] (one per channel)", what, (long long)m);
  return SL_OK;
}

sl_status preparePointwiseDepthwise(PrepareContext &ctx) {
  OpInstance &op = ctx.op;
  // X, W1, B1 (or kNoTensor), W2, then an optional B2.
  if (sl_status s = expectOperands(ctx, 2, 5))
    return s;
  if (!op.hasInput(kW2))
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "needs the depthwise weight (input 3)");
  const format::TensorDesc &x = op.input(kX);
  const format::TensorDesc &w1 = op.input(kW1);
  const format::TensorDesc &w2 = op.input(kW2);
  const format::TensorDesc &y = op.output(0);
  if (sl_status s = expectDType(ctx, x, "the input", kFloat))
    return s;
  if (sl_status s = expectDenseData(ctx, x, "the input"))
    return s;
  if (sl_status s = expectDType(ctx, y, "the output", kFloat))
    return s;
  if (sl_status s = expectDType(ctx, w1, "the pointwise weight", kFloat))
    return s;
  if (sl_status s = expectDType(ctx, w2, "the depthwise weight", kFloat))
    return s;
  if (x.rank != 4 || y.rank != 4 || w1.rank != 4 || w2.rank != 4)
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "input, weights and output must be rank 4 (NCHW)");
  if (w1.kind != format::TensorKind::Weight ||
      w2.kind != format::TensorKind::Weight)
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "both weights must be constant (Weight tensors)");
  if (w2.encoding != Encoding::Dense)
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "the depthwise weight must be Dense");
  const auto &p = op.paramsAs<format::PointwiseDepthwiseParams>();
  const format::ConvParams &pw = p.pointwise, &dw = p.depthwise;
  if (pw.kernel[0] != 1 || pw.kernel[1] != 1 || pw.strides[0] != 1 ||
      pw.strides[1] != 1 || pw.dilations[0] != 1 || pw.dilations[1] != 1 ||
      pw.pads[0] || pw.pads[1] || pw.pads[2] || pw.pads[3] || pw.group != 1)
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "the pointwise conv must be 1x1, stride 1, dilation 1, "
                    "unpadded, one group");
  const PairGeom g = geometry(op);
  if (dw.group != g.depthwise.m)
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "the depthwise conv's group %d must equal its channels "
                    "%lld",
                    dw.group, (long long)g.depthwise.m);
  if (y.dims[0] != g.pointwise.n)
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "the output batch %lld differs from the input's %lld",
                    (long long)y.dims[0], (long long)g.pointwise.n);
  const int64_t wantW1[4] = {g.pointwise.m, g.pointwise.c, 1, 1};
  if (sl_status s = expectShape(ctx, w1, "the pointwise weight", 4, wantW1))
    return s;
  const ConvGeom &d = g.depthwise;
  const int64_t wantW2[4] = {d.m, 1, d.kh, d.kw};
  if (sl_status s = expectShape(ctx, w2, "the depthwise weight", 4, wantW2))
    return s;
  if (sl_status s =
          checkConvAxis(ctx, "H", d.h, d.oh, d.kh, d.sh, d.dh, d.pt, d.pb))
    return s;
  if (sl_status s =
          checkConvAxis(ctx, "W", d.w, d.ow, d.kw, d.sw, d.dw, d.pl, d.pr))
    return s;
  if (sl_status s = checkBias(ctx, kB1, "the pointwise bias", d.m))
    return s;
  if (sl_status s = checkBias(ctx, kB2, "the depthwise bias", d.m))
    return s;
  if (sl_status s = checkActivation(ctx, pw.activation, pw.actMin, pw.actMax))
    return s;
  if (sl_status s = checkActivation(ctx, dw.activation, dw.actMin, dw.actMax))
    return s;
  if (g.pointwise.c > UINT32_MAX || d.m > UINT32_MAX || g.plane() > UINT32_MAX)
    return ctx.fail(SL_ERROR_INVALID_PROGRAM, "the convolution is too large");
  const KernelId requested = op.desc->kernel;
  if (requested != KernelId::SpmmCsrAvx2 && requested != KernelId::Reference)
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "kernel %s cannot run PointwiseDepthwise (SpmmCsrAvx2 "
                    "or Reference)",
                    kernelIdName(requested));
  const WeightMatrix *matrix = nullptr;
  if (sl_status s =
          prepareWeightMatrix(ctx, op.inputs[kW1], uint32_t(g.pointwise.m),
                              uint32_t(g.pointwise.c), false, matrix))
    return s;
  op.weight = matrix;
  return SL_OK;
}

/// Expanded channels per block: about 64 KiB of planes, which the
/// depthwise kernel reads right after the CSR rows wrote them (L1/L2), and
/// at least one. Blocks, not single channels: a depthwise call costs some
/// set-up (the AVX-512 plane path builds its column masks), which on 7x7
/// and 14x14 planes cost more than the convolution of one channel.
int64_t blockChannels(const PairGeom &g) {
  const int64_t fit = g.plane() > 0 ? (int64_t(1) << 14) / g.plane() : 1;
  return fit > 1 ? fit : 1;
}

/// One thread's slice of the scratch: a block of expanded planes and, for
/// the reference loops, one decoded weight row.
size_t sliceBytes(const PairGeom &g, KernelId kernel) {
  size_t bytes =
      alignScratch(sizeof(float) * size_t(blockChannels(g) * g.plane()));
  if (kernel == KernelId::Reference)
    bytes += alignScratch(sizeof(float) * size_t(g.pointwise.c));
  return bytes;
}

/// Scratch: B in the form the CSR rows read (shared, SpmmCsrAvx2 only),
/// then one slice per thread.
size_t sharedBytes(const PairGeom &g, KernelId kernel) {
  return kernel == KernelId::SpmmCsrAvx2
             ? alignScratch(spmmCsrScratchBytes(uint32_t(g.pointwise.c),
                                                uint32_t(g.plane())))
             : 0;
}

size_t pointwiseDepthwiseScratch(const OpView &op, KernelId kernel,
                                 unsigned threads) {
  const PairGeom g = geometry(op);
  return sharedBytes(g, kernel) +
         size_t(threads ? threads : 1) * sliceBytes(g, kernel);
}

/// The conv's two epilogues.
Epilogue epilogue(const format::ConvParams &p, const float *bias) {
  Epilogue e;
  e.bias = bias;
  e.activation = p.activation;
  e.actMin = p.actMin;
  e.actMax = p.actMax;
  return e;
}

sl_status evalPointwiseDepthwise(const OpInstance &op, ExecContext &ctx) {
  const PairGeom g = geometry(op);
  const auto &p = op.paramsAs<format::PointwiseDepthwiseParams>();
  const WeightMatrix &w1 = *static_cast<const WeightMatrix *>(op.weight);
  const float *w2 = ctx.in<float>(op, kW2);
  const float *b1 = op.hasInput(kB1) ? ctx.in<float>(op, kB1) : nullptr;
  const float *b2 = op.hasInput(kB2) ? ctx.in<float>(op, kB2) : nullptr;
  const bool fast = op.kernelId == KernelId::SpmmCsrAvx2;
  const ConvGeom &d = g.depthwise;
  const int64_t taps = d.kh * d.kw, plane = g.plane();
  const int64_t inImage = g.pointwise.c * plane, outImage = d.m * d.spatial();
  auto *scratch = static_cast<uint8_t *>(ctx.scratch);
  uint8_t *slices = scratch + sharedBytes(g, op.kernelId);
  const size_t slice = sliceBytes(g, op.kernelId);
  const size_t rowOffset =
      alignScratch(sizeof(float) * size_t(blockChannels(g) * plane));
  const Epilogue expand = epilogue(p.pointwise, b1);
  const float *x = ctx.in<float>(op, kX);
  float *y = ctx.out<float>(op, 0);
  const unsigned threads = ctx.pool ? ctx.pool->threads() : 1;
  // Channels differ in nonzeros: blocks claimed dynamically, about four
  // per thread or more.
  int64_t block = blockChannels(g);
  if (threads > 1) {
    const int64_t even = (d.m + 4 * threads - 1) / (4 * threads);
    block = even < block ? even : block;
  }
  const size_t blocks = size_t((d.m + block - 1) / block);
  for (int64_t n = 0; n < g.pointwise.n; ++n) {
    const float *xn = x + n * inImage;
    float *yn = y + n * outImage;
    CsrOperand b{xn, size_t(plane), nullptr};
    if (fast)
      b = alignCsrOperand(uint32_t(g.pointwise.c), uint32_t(plane), xn,
                          size_t(plane), reinterpret_cast<float *>(scratch),
                          true, ctx.pool);
    auto run = [&](unsigned thread, size_t begin, size_t end) {
      float *expanded = reinterpret_cast<float *>(slices + thread * slice);
      float *row =
          reinterpret_cast<float *>(slices + thread * slice + rowOffset);
      for (size_t i = begin; i < end; ++i) {
        const int64_t m0 = int64_t(i) * block;
        const int64_t m1 = m0 + block < d.m ? m0 + block : d.m;
        // The block's expanded planes [m1 - m0, H, W] ...
        if (fast) {
          // Rows m0.. of W1 as rows 0.. of a matrix: the kernels start row
          // r at colIdx + rowPtr[r].
          SparseMatrixView rows = w1.sparse;
          rows.rowPtr += m0;
          rows.rows = uint32_t(m1 - m0);
          Epilogue e = expand;
          e.bias = b1 ? b1 + m0 : nullptr;
          spmmCsrRowsAvx2(rows, 0, size_t(m1 - m0), b, uint32_t(plane),
                          expanded, size_t(plane), e);
        }
        for (int64_t m = m0; m < m1 && !fast; ++m) {
          float *out = expanded + (m - m0) * plane;
          decodeRow(w1, uint32_t(m), row);
          referenceConvChannel(g.pointwise, xn, row, b1 ? b1[m] : 0.f, out);
          applyActivation(out, plane, expand.activation, expand.actMin,
                          expand.actMax);
        }
        // ... then their depthwise conv.
        const Epilogue e = epilogue(p.depthwise, b2 ? b2 + m0 : nullptr);
        if (fast) {
          depthwiseConvAvx2(
              expanded, uint32_t(m1 - m0), uint32_t(d.h), uint32_t(d.w),
              w2 + m0 * taps, p.depthwise, uint32_t(d.oh), uint32_t(d.ow),
              yn + m0 * d.spatial(), size_t(d.spatial()), e, nullptr);
          continue;
        }
        for (int64_t m = m0; m < m1; ++m) {
          float *out = yn + m * d.spatial();
          referenceConvChannel(d, expanded + (m - m0) * plane, w2 + m * taps,
                               b2 ? b2[m] : 0.f, out);
          applyActivation(out, d.spatial(), e.activation, e.actMin, e.actMax);
        }
      }
    };
    if (threads > 1)
      ctx.pool->parallelForWithThread(blocks, 1, run);
    else
      run(0, 0, blocks);
  }
  return SL_OK;
}

} // namespace

namespace ops {

void registerPointwiseDepthwise(OpResolver &resolver) {
  resolver.add({Opcode::PointwiseDepthwise, preparePointwiseDepthwise,
                evalPointwiseDepthwise, pointwiseDepthwiseScratch, false});
}

} // namespace ops

} // namespace runtime
} // namespace sparseloom
