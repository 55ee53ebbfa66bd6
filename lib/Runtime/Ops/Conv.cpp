//===- Conv.cpp - Convolution: reference and fast-kernel glue -------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// NCHW convolution with strides, explicit pads, dilations and groups
// (depthwise included), a per-channel bias and a fused activation. 1-D
// convolution arrives as rank-3 NCW tensors with ConvParams index 0 (H)
// trivial: kernel 1, stride 1, pads 0, dilation 1.
//
// Which path runs is the compiler's choice (OpDesc::kernel), checked here
// against the weight's encoding and the op's shape:
//   DenseGemmAvx2      group 1; the weight PackedPanels, or Dense (packed
//                      once at load); the product runs on the input image
//                      directly for a 1x1/stride-1/unpadded conv, else on
//                      im2col copies in scratch, a chunk of output pixels
//                      at a time (im2colChunk); with at least one chunk
//                      per thread, each thread unfolds and multiplies its
//                      own chunks (chunksPerThread).
//   SpmmCsrAvx2        group 1; a Csr weight. A 1x1/stride-1/unpadded conv
//                      as above; any other (stride up to 4, at least two
//                      output columns) without im2col, on phase planes
//                      (below); else im2col like the dense path.
//   SpmmBlock4x1Avx2   group 1; a 4x1 BlockSparse weight; the same.
//   DepthwiseAvx2      group == in channels == out channels; Dense weight.
//   Reference          anything: direct loops over the output planes, the
//                      weight read row by row in whatever encoding it has.
// On a CPU without AVX2+FMA every op runs Reference (the loader decides).
//
// Sparse convolution without im2col. im2col writes every input pixel kh*kw
// times (9x the image for a 3x3) only for a 90 % sparse product to read a
// tenth of it. Instead the input is copied once into zero-padded "phase
// planes": for stride (sh, sw), plane (c, a, b) holds the padded pixels at
// rows a, a + sh, ... and columns b, b + sw, ... of channel c (one plane per
// channel at stride 1: the padded image), hq x wq each. Tap (c, i, j) of the
// weight then reads, for output (oh, ow), element (oh + i*dh/sh,
// ow + j*dw/sw) of plane (c, i*dh%sh, j*dw%sw): a fixed offset from the
// output's position on a grid of row width wq. Prepare turns each
// nonzero's column index into that offset, once, and the unchanged sparse
// kernel runs with ldb = 1 (B[k][n] = planes[offset[k] + n]) over the
// "wide" grid of OH rows x wq columns; the wq - OW columns past each output
// row are garbage and dropped when the rows are copied into place (nothing
// to copy when wq == OW, e.g. a 1x1 stride-2 downsample). The nonzeros,
// their order and the values multiplied are the im2col path's, so with the
// AVX-512 CSR rows and the 4x1 block rows, whose sums do not depend on a
// column's position in a tile, the output is bit-identical to im2col's; the
// AVX2 CSR rows sum tail tiles in another order, so there it agrees up to
// rounding.
//
//===----------------------------------------------------------------------===//

#include "Ops/ConvGeom.h"
#include "Ops/ConvWinograd.h"
#include "Ops/Products.h"

#include "Kernels/FastOps.h"
#include "Kernels/ThreadPool.h"

#include <algorithm>
#include <cmath>

namespace sparseloom {
namespace runtime {

using namespace ops;

namespace {

ConvGeom geometry(const OpView &op) {
  const TensorDesc &x = op.input(0);
  const TensorDesc &y = op.output(0);
  const auto &p = op.paramsAs<format::ConvParams>();
  const bool oneD = x.rank == 3;
  ConvGeom g;
  g.n = x.dims[0];
  g.c = x.dims[1];
  g.h = oneD ? 1 : x.dims[2];
  g.w = x.dims[oneD ? 2 : 3];
  g.m = y.dims[1];
  g.oh = oneD ? 1 : y.dims[2];
  g.ow = y.dims[oneD ? 2 : 3];
  setWindow(g, p);
  g.group = p.group;
  g.inPlane = x.encoding == Encoding::PaddedPlanes
                  ? format::paddedPlaneFloats(g.h * g.w)
                  : g.h * g.w;
  g.outPlane = y.encoding == Encoding::PaddedPlanes
                   ? format::paddedPlaneFloats(g.spatial())
                   : g.spatial();
  return g;
}

/// Layout of the phase planes of the sparse direct path (see the file
/// comment) and how many output rows one product covers.
struct PlaneGeom {
  int64_t hq = 0, wq = 0; // rows and columns of one plane
  int64_t planes = 0;     // planes per input channel (the phases taps read)
  int8_t phase[16] = {};  // phase a * sw + b -> its plane in a channel, or -1
  int64_t rows = 0;       // output rows per product
  /// A plane's floats, rounded up to whole 16-float vectors: with one tap
  /// (a strided 1x1 conv) the rows the product reads are then 64-byte
  /// aligned, and no vector load splits a cache line (SpmmAvx2.cpp). The
  /// padding is never read.
  int64_t planeFloats() const { return (hq * wq + 15) / 16 * 16; }
  int64_t imageFloats(const ConvGeom &g) const {
    return g.c * planes * planeFloats();
  }
  /// The wide grid is the output itself: no garbage columns to drop.
  bool inPlace(const ConvGeom &g) const { return wq == g.ow; }
};

/// Columns of the wide grid per product for the sparse direct path:
/// about 512 KiB of output (M x columns floats), which the copy into place
/// then reads from L2, and at least 256 columns so that re-reading the
/// weight per product stays cheap.
constexpr int64_t kWideFloats = int64_t(1) << 17;

/// Whether `kernel` runs `g` on phase planes, and their layout. Depends on
/// the descriptors only, so Prepare, Eval and the scratch size agree.
bool planeGeometry(const ConvGeom &g, KernelId kernel, PlaneGeom &pg) {
  if (kernel != KernelId::SpmmCsrAvx2 && kernel != KernelId::SpmmBlock4x1Avx2)
    return false;
  // Strides above 4 would need many planes each read by few taps; a single
  // output column would send the product to its one-column (gather) form.
  if (g.group != 1 || g.direct() || g.sh > 4 || g.sw > 4 || g.ow < 2 ||
      g.oh < 1)
    return false;
  for (int8_t &p : pg.phase)
    p = -1;
  pg.planes = 0;
  for (int64_t i = 0; i < g.kh; ++i)
    for (int64_t j = 0; j < g.kw; ++j) {
      int8_t &p = pg.phase[(i * g.dh % g.sh) * g.sw + j * g.dw % g.sw];
      if (p < 0)
        p = int8_t(pg.planes++);
    }
  pg.hq = g.oh + (g.kh - 1) * g.dh / g.sh;
  pg.wq = g.ow + (g.kw - 1) * g.dw / g.sw;
  // Offsets are 32-bit column indices.
  if (pg.imageFloats(g) >= (int64_t(1) << 31))
    return false;
  if (pg.inPlace(g)) {
    pg.rows = g.oh;
  } else {
    const int64_t fit = kWideFloats / (g.m * pg.wq);
    const int64_t minRows = (256 + pg.wq - 1) / pg.wq;
    pg.rows = fit > minRows ? fit : minRows;
    pg.rows = pg.rows < g.oh ? pg.rows : g.oh;
  }
  return true;
}

/// What Prepare leaves in op.weight for Eval.
struct ConvPlan {
  /// The weight (null for a Dense weight that Reference reads in place).
  const WeightMatrix *matrix = nullptr;
  /// The sparse direct path: `matrix` with each nonzero's column index
  /// replaced by its offset into the phase planes.
  bool planar = false;
  WeightMatrix shifted;
  /// The Winograd path (ConvWinograd.h): the transformed weight, null when
  /// the conv runs on im2col.
  WinogradWeight winograd;
};

/// The conv as ConvWinograd.h sees one image.
WinogradShape winogradShape(const ConvGeom &g) {
  return WinogradShape{g.c, g.h, g.w, g.m, g.oh, g.ow, g.pt, g.pl};
}

/// Whether `kernel` may run `g` as Winograd (from the descriptors alone;
/// whether it does also depends on the CPU, see prepareConv).
bool winogradGeometry(const ConvGeom &g, KernelId kernel) {
  return kernel == KernelId::DenseGemmAvx2 &&
         convRunsAsWinograd(g.c, g.m, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw,
                            g.group, g.oh, g.ow);
}

/// Builds plan.shifted for the sparse direct path: column k = (c, i, j) of
/// the [M, C*kh*kw] weight becomes the offset of tap (c, i, j) into the
/// phase planes (read at ldb = 1). Same nonzeros, same order.
sl_status prepareShiftedWeight(PrepareContext &ctx, const ConvGeom &g,
                               const PlaneGeom &pg, ConvPlan &plan) {
  const SparseMatrixView &src = plan.matrix->sparse;
  // Indexed like colIdx (the kernels start a row at colIdx + rowPtr[row]).
  const size_t end = src.rowPtr[src.rows / src.blockRows];
  auto *offsets =
      static_cast<uint32_t *>(ctx.allocate(sizeof(uint32_t) * (end ? end : 1)));
  if (!offsets)
    return SL_ERROR_OUT_OF_MEMORY;
  const int64_t taps = g.kh * g.kw;
  for (size_t p = src.rowPtr[0]; p < end; ++p) {
    const int64_t k = src.colIdx[p];
    const int64_t c = k / taps, i = k % taps / g.kw, j = k % g.kw;
    const int64_t plane =
        c * pg.planes + pg.phase[(i * g.dh % g.sh) * g.sw + j * g.dw % g.sw];
    offsets[p] = uint32_t(plane * pg.planeFloats() + (i * g.dh / g.sh) * pg.wq +
                          j * g.dw / g.sw);
  }
  plan.shifted = *plan.matrix;
  plan.shifted.sparse.colIdx = offsets;
  plan.planar = true;
  return SL_OK;
}

/// The paths that read an input X or write an output with padded planes
/// (Encoding::PaddedPlanes; the loader allows it on no other operand):
/// the reference loops, the depthwise kernel's output, and a 1x1 product
/// run on the image in place (ldb and ldc are the padded planes). Checked
/// against the compiler's choice, so a program valid on one CPU is valid
/// on all.
sl_status checkPaddedPlanes(PrepareContext &ctx, const ConvGeom &g) {
  const OpInstance &op = ctx.op;
  const bool in = op.input(0).encoding == Encoding::PaddedPlanes;
  const bool out = op.output(0).encoding == Encoding::PaddedPlanes;
  if (!in && !out)
    return SL_OK;
  // The kernels add a residual laid out like the output.
  if (out && op.hasInput(3))
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "a Conv with a residual Z cannot write padded planes");
  const KernelId kernel = op.desc->kernel;
  const bool product = kernel == KernelId::DenseGemmAvx2 ||
                       kernel == KernelId::SpmmCsrAvx2 ||
                       kernel == KernelId::SpmmBlock4x1Avx2;
  if (kernel == KernelId::Reference || (product && g.direct()) ||
      (kernel == KernelId::DepthwiseAvx2 && !in))
    return SL_OK;
  return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                  "kernel %s cannot %s padded planes here (only a 1x1, "
                  "stride-1, unpadded product, a depthwise conv's output or "
                  "the Reference kernel)",
                  kernelIdName(kernel), in ? "read" : "write");
}

sl_status prepareConv(PrepareContext &ctx) {
  OpInstance &op = ctx.op;
  // X, W, then optional B and Z (kNoTensor for a B that is absent).
  if (sl_status s = expectOperands(ctx, 2, 4))
    return s;
  const TensorDesc &x = op.input(0);
  const TensorDesc &w = op.input(1);
  const TensorDesc &y = op.output(0);
  if (sl_status s = expectDType(ctx, x, "the input", kFloat))
    return s;
  if (sl_status s = expectDType(ctx, w, "the weight", kFloat))
    return s;
  if (sl_status s = expectDType(ctx, y, "the output", kFloat))
    return s;
  // Or padded planes, which checkPaddedPlanes checks below.
  if (x.encoding != Encoding::PaddedPlanes)
    if (sl_status s = expectDenseData(ctx, x, "the input"))
      return s;
  if (x.rank != 3 && x.rank != 4)
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "the input must be NCW or NCHW (rank 3 or 4), has rank %u",
                    unsigned(x.rank));
  if (w.rank != x.rank || y.rank != x.rank)
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "input, weight and output ranks differ (%u, %u, %u)",
                    unsigned(x.rank), unsigned(w.rank), unsigned(y.rank));
  const auto &p = op.paramsAs<format::ConvParams>();
  const bool oneD = x.rank == 3;
  if (oneD && (p.kernel[0] != 1 || p.strides[0] != 1 || p.pads[0] != 0 ||
               p.pads[2] != 0 || p.dilations[0] != 1))
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "1-D convolution needs the trivial H parameters (kernel "
                    "1, stride 1, pads 0, dilation 1) at index 0");
  ConvGeom g = geometry(op);
  if (g.group < 1 || g.c % g.group != 0 || g.m % g.group != 0)
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "group %lld must divide the input (%lld) and output "
                    "(%lld) channels",
                    (long long)g.group, (long long)g.c, (long long)g.m);
  int64_t wantW[4] = {g.m, g.cg(), oneD ? g.kw : g.kh, g.kw};
  if (sl_status s = expectShape(ctx, w, "the weight", w.rank, wantW))
    return s;
  if (y.dims[0] != g.n)
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "the output batch %lld differs from the input's %lld",
                    (long long)y.dims[0], (long long)g.n);
  if (sl_status s =
          checkConvAxis(ctx, "H", g.h, g.oh, g.kh, g.sh, g.dh, g.pt, g.pb))
    return s;
  if (sl_status s =
          checkConvAxis(ctx, "W", g.w, g.ow, g.kw, g.sw, g.dw, g.pl, g.pr))
    return s;
  if (op.hasInput(2)) {
    const TensorDesc &b = op.input(2);
    if (sl_status s = expectDType(ctx, b, "the bias", kFloat))
      return s;
    if (sl_status s = expectDenseData(ctx, b, "the bias"))
      return s;
    if (b.rank != 1 || b.dims[0] != g.m)
      return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                      "the bias must be [%lld] (one per output channel)",
                      (long long)g.m);
  }
  if (op.hasInput(3)) {
    // The residual is added to the output element by element.
    const TensorDesc &z = op.input(3);
    if (sl_status s = expectDType(ctx, z, "the residual Z", kFloat))
      return s;
    if (sl_status s = expectDenseData(ctx, z, "the residual Z"))
      return s;
    if (sl_status s =
            expectSameShape(ctx, z, "the residual Z", y, "the output"))
      return s;
  }
  if (sl_status s = checkActivation(ctx, p.activation, p.actMin, p.actMax))
    return s;
  if (sl_status s = checkPaddedPlanes(ctx, g))
    return s;
  if (g.k() > UINT32_MAX || g.m > UINT32_MAX || g.spatial() > UINT32_MAX)
    return ctx.fail(SL_ERROR_INVALID_PROGRAM, "the convolution is too large");

  const KernelId requested = op.desc->kernel;
  if (w.kind != TensorKind::Weight)
    return checkKernelForActivation(ctx, false);
  auto *plan = static_cast<ConvPlan *>(ctx.allocate(sizeof(ConvPlan)));
  if (!plan)
    return SL_ERROR_OUT_OF_MEMORY;
  *plan = ConvPlan();
  op.weight = plan;
  if (requested == KernelId::DepthwiseAvx2) {
    if (!(g.group == g.c && g.group == g.m))
      return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                      "DepthwiseAvx2 needs group == input channels == output "
                      "channels (group %lld, %lld -> %lld)",
                      (long long)g.group, (long long)g.c, (long long)g.m);
    if (w.encoding != Encoding::Dense)
      return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                      "DepthwiseAvx2 reads a Dense weight only");
    return SL_OK;
  }
  if (requested != KernelId::Reference && g.group != 1)
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "kernel %s needs group 1 (group is %lld; use "
                    "DepthwiseAvx2 or Reference)",
                    kernelIdName(requested), (long long)g.group);
  if (requested == KernelId::Reference && w.encoding == Encoding::Dense)
    return SL_OK; // read in place by the direct loops
  if (sl_status s = prepareWeightMatrix(ctx, op.inputs[1], uint32_t(g.m),
                                        uint32_t(g.k()), false, plan->matrix))
    return s;
  PlaneGeom pg;
  if (planeGeometry(g, op.kernelId, pg))
    return prepareShiftedWeight(ctx, g, pg, *plan);
  // Winograd needs the AVX-512 transforms and may be switched off;
  // elsewhere the conv stays on im2col (convScratch sizes for both).
  if (winogradGeometry(g, op.kernelId) && winogradAvailable() &&
      plan->matrix->packed)
    return prepareWinogradWeight(ctx, winogradShape(g), plan->matrix->packed,
                                 plan->winograd);
  return SL_OK;
}

/// Output pixels per im2col chunk. The product reads the unfolded matrix
/// right after im2col writes it; unfolding the whole image (up to 7 MiB on
/// a ResNet 3x3 layer at 56x56) sends both passes to memory, so the image is
/// unfolded and multiplied a chunk of columns at a time, sized for about
/// 1 MiB (K x chunk floats), which stays in L2. At least 256 columns (four
/// 64-column tiles) so that re-reading the weight per chunk stays cheap.
/// An image whose whole unfolded matrix fits in L2 (2 MiB) is one chunk,
/// and chunks are of equal size: every chunk is a fork-join of the pool,
/// and small images (the zoo's, measured in batches of hundreds) spent
/// more time in those than in the product when split into uneven pieces.
int64_t im2colChunk(const ConvGeom &g) {
  const int64_t k = g.k() > 0 ? g.k() : 1;
  const int64_t spatial = g.spatial() > 0 ? g.spatial() : 1;
  if (k * spatial <= (int64_t(1) << 19))
    return spatial;
  const int64_t fit = ((int64_t(1) << 18) / k + 63) / 64 * 64;
  const int64_t target = fit > 256 ? fit : 256;
  const int64_t chunks = (spatial + target - 1) / target;
  const int64_t even = ((spatial + chunks - 1) / chunks + 63) / 64 * 64;
  return even < spatial ? even : spatial;
}

/// Whether a dense im2col conv runs as one parallel region: each thread
/// claims whole chunks (image, pixel range), unfolds each into its own
/// scratch slice and multiplies it with a single-threaded SGEMM. Unfolding
/// and multiplying as two pool-wide passes per chunk makes each thread pack
/// columns that the other thread's half of im2col just wrote into its own
/// L2, and costs two fork-joins per chunk. Needs at least one chunk per
/// thread; a conv with fewer (the late, small layers) splits each pass over
/// the pool instead. Depends on the descriptors and the thread count only,
/// so convScratch and Eval agree.
bool chunksPerThread(const ConvGeom &g, KernelId kernel, unsigned threads) {
  if (kernel != KernelId::DenseGemmAvx2 || g.direct() || threads < 2)
    return false;
  const int64_t chunk = im2colChunk(g);
  const int64_t chunks = g.n * ((g.spatial() + chunk - 1) / chunk);
  return chunks >= int64_t(threads);
}

/// Output pixels per chunk in the chunks-per-thread mode: at most
/// im2colChunk's, in whole 64-column tiles, about tiles / (its chunk count
/// rounded up to a multiple of `threads`) of them, so that the threads'
/// shares end near even: a ResNet 56x56 layer is 49 tiles, which 7 chunks
/// of 7 split 4:3 between 2 threads, and 8 of 6 plus one of 1 split 25:24.
int64_t threadChunk(const ConvGeom &g, unsigned threads) {
  const int64_t chunk = im2colChunk(g);
  const int64_t chunks = g.n * ((g.spatial() + chunk - 1) / chunk);
  const int64_t want = (chunks + threads - 1) / threads * threads;
  const int64_t tiles = g.n * ((g.spatial() + 63) / 64);
  int64_t per = tiles / want;
  per = per > 0 ? per : 1;
  return per * 64 < chunk ? per * 64 : chunk;
}

/// One thread's slice of the scratch in the chunks-per-thread mode: its
/// unfolded chunk, then a one-thread SGEMM scratch.
size_t chunkSliceBytes(const ConvGeom &g, KernelId kernel, unsigned threads) {
  const int64_t chunk = threadChunk(g, threads);
  return alignScratch(sizeof(float) * size_t(g.k()) * size_t(chunk)) +
         productScratchBytes(kernel, Encoding::PackedPanels, uint32_t(g.m),
                             uint32_t(chunk), uint32_t(g.k()), 1);
}

/// Scratch of the im2col, direct and phase-plane paths.
size_t im2colPathScratch(const OpView &op, const ConvGeom &g, KernelId kernel,
                         unsigned threads) {
  const size_t im2col = g.direct()
                            ? 0
                            : alignScratch(sizeof(float) * size_t(g.k()) *
                                           size_t(im2colChunk(g)));
  // The product's columns: the whole image, or one im2col chunk.
  const int64_t n = g.direct() ? g.spatial() : im2colChunk(g);
  PlaneGeom pg;
  if (planeGeometry(g, kernel, pg))
    return alignScratch(sizeof(float) * size_t(pg.imageFloats(g))) +
           (pg.inPlace(g) ? 0
                          : alignScratch(sizeof(float) * size_t(g.m) *
                                         size_t(pg.rows * pg.wq)));
  if (chunksPerThread(g, kernel, threads))
    return size_t(threads) * chunkSliceBytes(g, kernel, threads);
  switch (kernel) {
  case KernelId::DenseGemmAvx2:
    return im2col + productScratchBytes(kernel, Encoding::PackedPanels,
                                        uint32_t(g.m), uint32_t(n),
                                        uint32_t(g.k()), threads);
  case KernelId::SpmmCsrAvx2: {
    // The products run on n columns and, past the last whole chunk, on the
    // rest: its rows may need an aligned copy where n's do not.
    size_t product = productScratchBytes(kernel, Encoding::Csr, uint32_t(g.m),
                                         uint32_t(n), uint32_t(g.k()), threads);
    const int64_t rest = g.spatial() % n;
    if (rest) {
      const size_t last =
          productScratchBytes(kernel, Encoding::Csr, uint32_t(g.m),
                              uint32_t(rest), uint32_t(g.k()), threads);
      product = last > product ? last : product;
    }
    return im2col + product;
  }
  case KernelId::SpmmBlock4x1Avx2:
    return im2col;
  case KernelId::DepthwiseAvx2:
    return 0;
  case KernelId::Reference:
    // One decoded weight row when the weight is encoded.
    return op.input(1).encoding == Encoding::Dense
               ? 0
               : alignScratch(sizeof(float) * size_t(g.k()));
  }
  return 0;
}

/// Scratch of the path the conv runs on; with Winograd geometry the larger
/// of both, since the loading CPU picks the path.
size_t convScratch(const OpView &op, KernelId kernel, unsigned threads) {
  const ConvGeom g = geometry(op);
  const size_t im2colPath = im2colPathScratch(op, g, kernel, threads);
  if (!winogradGeometry(g, kernel))
    return im2colPath;
  // The CPU that loads the program picks the path.
  const size_t winograd = winogradScratchBytes(winogradShape(g), threads);
  return winograd > im2colPath ? winograd : im2colPath;
}

/// Unfolds output pixels [p0, p1) of one image [C, H, W] into cols
/// [C*kh*kw, p1-p0] (zeros in pads): per tap and output row, the valid
/// columns are one range, copied with memcpy at stride 1.
void im2col(const ConvGeom &g, const float *x, int64_t p0, int64_t p1,
            float *cols, ThreadPool *pool) {
  const int64_t width = p1 - p0;
  if (cpuHasAvx512Ops()) {
    // The same copy with masked loads (Im2colAvx512.cpp).
    const UnfoldGeom u{g.h,  g.w,  g.ow, g.kh, g.kw, g.sh,
                       g.sw, g.dh, g.dw, g.pt, g.pl};
    auto unfold = [&](size_t begin, size_t end) {
      im2colAvx512(u, x, p0, p1, int64_t(begin), int64_t(end), cols);
    };
    if (pool)
      pool->parallelFor(size_t(g.c), unfold);
    else
      unfold(0, size_t(g.c));
    return;
  }
  auto channelRange = [&](size_t begin, size_t end) {
    for (int64_t c = int64_t(begin); c < int64_t(end); ++c) {
      const float *xc = x + c * g.inPlane;
      for (int64_t i = 0; i < g.kh; ++i) {
        for (int64_t j = 0; j < g.kw; ++j) {
          float *row = cols + ((c * g.kh + i) * g.kw + j) * width;
          int64_t lo, hi;
          validOutputRange(g.ow, g.w, g.sw, g.pl, j * g.dw, lo, hi);
          const int64_t shift = j * g.dw - g.pl;
          for (int64_t oh = p0 / g.ow; oh * g.ow < p1; ++oh) {
            // Output columns [a, b) of row oh fall in the chunk; seg[0]
            // holds column a.
            const int64_t rowStart = oh * g.ow;
            const int64_t a = p0 > rowStart ? p0 - rowStart : 0;
            const int64_t b = p1 < rowStart + g.ow ? p1 - rowStart : g.ow;
            float *seg = row + (rowStart + a - p0);
            const int64_t ih = oh * g.sh - g.pt + i * g.dh;
            if (ih < 0 || ih >= g.h) {
              std::fill(seg, seg + (b - a), 0.f);
              continue;
            }
            const int64_t l = lo < a ? a : (lo > b ? b : lo);
            const int64_t h = hi > b ? b : (hi < l ? l : hi);
            const float *xr = xc + ih * g.w;
            std::fill(seg, seg + (l - a), 0.f);
            if (g.sw == 1) {
              std::memcpy(seg + (l - a), xr + l + shift,
                          sizeof(float) * size_t(h - l));
            } else {
              for (int64_t ow = l; ow < h; ++ow)
                seg[ow - a] = xr[ow * g.sw + shift];
            }
            std::fill(seg + (h - a), seg + (b - a), 0.f);
          }
        }
      }
    }
  };
  if (pool)
    pool->parallelFor(size_t(g.c), channelRange);
  else
    channelRange(0, size_t(g.c));
}

/// Copies one image [C, H, W] into its phase planes (zeros where a plane
/// position falls in the padding), channels split across the pool.
void fillPlanes(const ConvGeom &g, const PlaneGeom &pg, const float *x,
                float *planes, ThreadPool *pool) {
  // Strided rows: a gather of every sw-th float, vectorised where it can.
  const bool fast = cpuHasAvx512Ops();
  auto channelRange = [&](size_t begin, size_t end) {
    for (int64_t c = int64_t(begin); c < int64_t(end); ++c) {
      const float *xc = x + c * g.inPlane;
      for (int64_t a = 0; a < g.sh; ++a) {
        for (int64_t b = 0; b < g.sw; ++b) {
          const int8_t index = pg.phase[a * g.sw + b];
          if (index < 0)
            continue;
          float *plane = planes + (c * pg.planes + index) * pg.planeFloats();
          // Plane column q holds input column q*sw + b - pl: valid for q in
          // [lo, hi).
          int64_t lo, hi;
          validOutputRange(pg.wq, g.w, g.sw, g.pl, b, lo, hi);
          // A whole plane of in-row, unpadded stride-2 rows (a strided 1x1
          // conv: ResNet's downsamples) in one call, its masks built once:
          // row by row, the calls and their masks were a fifth of those
          // convs' time.
          const int64_t firstRow = a - g.pt;
          const int64_t lastRow = (pg.hq - 1) * g.sh + a - g.pt;
          if (fast && g.sw == 2 && lo == 0 && hi == pg.wq && firstRow >= 0 &&
              lastRow < g.h) {
            unfoldRowsStride2Avx512(xc + firstRow * g.w, g.sh * g.w, pg.hq, g.w,
                                    b - g.pl, plane, pg.wq);
            continue;
          }
          for (int64_t r = 0; r < pg.hq; ++r) {
            float *row = plane + r * pg.wq;
            const int64_t ih = r * g.sh + a - g.pt;
            if (ih < 0 || ih >= g.h) {
              std::fill(row, row + pg.wq, 0.f);
              continue;
            }
            const float *xr = xc + ih * g.w + b - g.pl;
            std::fill(row, row + lo, 0.f);
            if (g.sw == 1)
              std::memcpy(row + lo, xr + lo, sizeof(float) * size_t(hi - lo));
            else if (fast)
              unfoldSegmentAvx512(xc + ih * g.w, g.w, lo * g.sw + b - g.pl,
                                  g.sw, row + lo, hi - lo);
            else
              for (int64_t q = lo; q < hi; ++q)
                row[q] = xr[q * g.sw];
            std::fill(row + hi, row + pg.wq, 0.f);
          }
        }
      }
    }
  };
  if (pool)
    pool->parallelFor(size_t(g.c), channelRange);
  else
    channelRange(0, size_t(g.c));
}

/// The sparse direct path for one image: phase planes, then per block of
/// output rows one product over the wide grid and the copy into place.
void planarConv(const ConvGeom &g, const PlaneGeom &pg, KernelId kernel,
                const WeightMatrix &shifted, const float *x, float *y,
                const Epilogue &e, uint8_t *scratch, ThreadPool *pool) {
  float *planes = reinterpret_cast<float *>(scratch);
  float *wide = reinterpret_cast<float *>(
      scratch + alignScratch(sizeof(float) * size_t(pg.imageFloats(g))));
  fillPlanes(g, pg, x, planes, pool);
  // Wide output rows (OW >= 64) whose 16-float vectors are no more than
  // the wq columns of the wide grid: one product per output row, written in
  // place, costs no more vectors than the wide grid and saves its copy and
  // the fork-joins per block. MobileNetV2's 3x3 stride-2 stem (OW = 112,
  // wq = 113) went from 9 fork-joins and a 1.6 MB copy to 2. Each row's
  // product is single-threaded with the same columns for any thread count,
  // so the bits do not depend on it.
  if (g.ow >= 64 && (g.ow + 15) / 16 * 16 <= pg.wq) {
    auto outputRows = [&](size_t begin, size_t end) {
      for (size_t r = begin; r < end; ++r)
        weightProduct(kernel, shifted, uint32_t(g.ow),
                      planes + int64_t(r) * pg.wq, 1, y + int64_t(r) * g.ow,
                      size_t(g.spatial()), e, nullptr, nullptr);
    };
    const size_t rows = size_t(g.oh);
    if (pool && pool->threads() > 1)
      pool->parallelFor(
          rows, (rows + 4 * pool->threads() - 1) / (4 * pool->threads()),
          outputRows);
    else
      outputRows(0, rows);
    return;
  }
  for (int64_t r0 = 0; r0 < g.oh; r0 += pg.rows) {
    const int64_t r1 = r0 + pg.rows < g.oh ? r0 + pg.rows : g.oh;
    // The last row needs only its OW columns: reading past them would run
    // off the last plane.
    const uint32_t n = uint32_t((r1 - r0 - 1) * pg.wq + g.ow);
    const float *b = planes + r0 * pg.wq;
    if (pg.inPlace(g)) {
      weightProduct(kernel, shifted, n, b, 1, y + r0 * g.ow,
                    size_t(g.spatial()), e, nullptr, pool);
      continue;
    }
    weightProduct(kernel, shifted, n, b, 1, wide, n, e, nullptr, pool);
    auto copyRows = [&](size_t begin, size_t end) {
      for (int64_t m = int64_t(begin); m < int64_t(end); ++m) {
        const float *src = wide + m * int64_t(n);
        float *dst = y + m * g.spatial() + r0 * g.ow;
        for (int64_t r = r0; r < r1; ++r, src += pg.wq, dst += g.ow)
          std::memcpy(dst, src, sizeof(float) * size_t(g.ow));
      }
    };
    if (pool)
      pool->parallelFor(size_t(g.m), copyRows);
    else
      copyRows(0, size_t(g.m));
  }
}

void referenceConv(const OpInstance &op, ExecContext &ctx, const ConvGeom &g,
                   const Epilogue &e) {
  const float *x = ctx.in<float>(op, 0);
  float *y = ctx.out<float>(op, 0);
  const auto *plan = static_cast<const ConvPlan *>(op.weight);
  const WeightMatrix *matrix = plan ? plan->matrix : nullptr;
  // A Dense weight is read in place (also one prepared for a fast kernel
  // that this CPU cannot run); other encodings row by row into scratch.
  const float *dense =
      !matrix ? ctx.in<float>(op, 1)
      : matrix->encoding == Encoding::Dense && !matrix->transposed
          ? matrix->dense
          : nullptr;
  float *rowScratch = static_cast<float *>(ctx.scratch);
  const int64_t kLen = g.k(), plane = g.spatial();
  for (int64_t n = 0; n < g.n; ++n) {
    for (int64_t m = 0; m < g.m; ++m) {
      const int64_t group = m / g.mg();
      const float *wrow;
      if (dense) {
        wrow = dense + m * kLen;
      } else {
        decodeRow(*matrix, uint32_t(m), rowScratch);
        wrow = rowScratch;
      }
      float *out = y + (n * g.m + m) * g.outPlane;
      referenceConvChannel(g, x + (n * g.c + group * g.cg()) * g.inPlane, wrow,
                           e.bias ? e.bias[m] : 0.f, out);
      if (e.residual) {
        // After the whole sum, before the activation: the Add op's rounding.
        const float *z = e.residual + (n * g.m + m) * int64_t(e.residualLd);
        for (int64_t i = 0; i < plane; ++i)
          out[i] += z[i];
      }
      applyActivation(out, plane, e.activation, e.actMin, e.actMax);
    }
  }
}

/// `e` with its residual moved to the element that goes with output offset
/// `offset` (the C a product writes at y + offset).
Epilogue residualAt(const Epilogue &e, int64_t offset) {
  Epilogue shifted = e;
  if (shifted.residual)
    shifted.residual += offset;
  return shifted;
}

/// The convolution with epilogue `e` (which evalConv may have stripped of
/// its residual and activation). A residual in `e` is laid out like the
/// output: residualLd = output pixels per channel.
sl_status convWithEpilogue(const OpInstance &op, ExecContext &ctx,
                           const ConvGeom &g, const Epilogue &e) {
  const auto &p = op.paramsAs<format::ConvParams>();
  if (op.kernelId == KernelId::Reference) {
    referenceConv(op, ctx, g, e);
    return SL_OK;
  }
  const float *x = ctx.in<float>(op, 0);
  float *y = ctx.out<float>(op, 0);
  const int64_t inImage = g.c * g.inPlane, outImage = g.m * g.outPlane;
  if (op.kernelId == KernelId::DepthwiseAvx2) {
    const float *w = ctx.in<float>(op, 1);
    for (int64_t n = 0; n < g.n; ++n)
      depthwiseConvAvx2(x + n * inImage, uint32_t(g.c), uint32_t(g.h),
                        uint32_t(g.w), w, p, uint32_t(g.oh), uint32_t(g.ow),
                        y + n * outImage, size_t(g.outPlane), e, ctx.pool);
    return SL_OK;
  }
  const auto &plan = *static_cast<const ConvPlan *>(op.weight);
  const WeightMatrix &matrix = *plan.matrix;
  const uint32_t cols = uint32_t(g.spatial());
  auto *scratch = static_cast<uint8_t *>(ctx.scratch);
  if (plan.planar) {
    PlaneGeom pg;
    planeGeometry(g, op.kernelId, pg);
    for (int64_t n = 0; n < g.n; ++n)
      planarConv(g, pg, op.kernelId, plan.shifted, x + n * inImage,
                 y + n * outImage, e, scratch, ctx.pool);
    return SL_OK;
  }
  if (g.direct()) {
    for (int64_t n = 0; n < g.n; ++n)
      weightProduct(op.kernelId, matrix, cols, x + n * inImage,
                    size_t(g.inPlane), y + n * outImage, size_t(g.outPlane),
                    residualAt(e, n * outImage), scratch, ctx.pool);
    return SL_OK;
  }
  if (plan.winograd.packed) {
    for (int64_t n = 0; n < g.n; ++n)
      winogradConv(winogradShape(g), plan.winograd, x + n * inImage,
                   y + n * outImage, residualAt(e, n * outImage), scratch,
                   ctx.pool);
    return SL_OK;
  }
  if (chunksPerThread(g, op.kernelId, ctx.threads)) {
    const int64_t chunk = threadChunk(g, ctx.threads);
    const int64_t perImage = (g.spatial() + chunk - 1) / chunk;
    const size_t slice = chunkSliceBytes(g, op.kernelId, ctx.threads);
    const size_t unfoldedBytes =
        alignScratch(sizeof(float) * size_t(g.k()) * size_t(chunk));
    auto chunkRange = [&](unsigned thread, size_t begin, size_t end) {
      uint8_t *mine = scratch + thread * slice;
      float *unfolded = reinterpret_cast<float *>(mine);
      for (size_t i = begin; i < end; ++i) {
        const int64_t n = int64_t(i) / perImage;
        const int64_t p0 = int64_t(i) % perImage * chunk;
        const int64_t p1 = p0 + chunk < g.spatial() ? p0 + chunk : g.spatial();
        const uint32_t width = uint32_t(p1 - p0);
        im2col(g, x + n * inImage, p0, p1, unfolded, nullptr);
        weightProduct(op.kernelId, matrix, width, unfolded, width,
                      y + n * outImage + p0, cols,
                      residualAt(e, n * outImage + p0), mine + unfoldedBytes,
                      nullptr);
      }
    };
    const size_t count = size_t(g.n * perImage);
    if (ctx.pool)
      ctx.pool->parallelForWithThread(count, 1, chunkRange);
    else
      chunkRange(0, 0, count);
    return SL_OK;
  }
  const int64_t chunk = im2colChunk(g);
  float *unfolded = reinterpret_cast<float *>(scratch);
  scratch += alignScratch(sizeof(float) * size_t(g.k()) * size_t(chunk));
  for (int64_t n = 0; n < g.n; ++n) {
    for (int64_t p0 = 0; p0 < g.spatial(); p0 += chunk) {
      const int64_t p1 = p0 + chunk < g.spatial() ? p0 + chunk : g.spatial();
      const uint32_t width = uint32_t(p1 - p0);
      im2col(g, x + n * inImage, p0, p1, unfolded, ctx.pool);
      weightProduct(op.kernelId, matrix, width, unfolded, width,
                    y + n * outImage + p0, cols,
                    residualAt(e, n * outImage + p0), scratch, ctx.pool);
    }
  }
  return SL_OK;
}

/// Whether the kernel behind `kernel` adds Epilogue::residual in its store,
/// while the output tile is still in registers. The others run without it,
/// and evalConv adds Z and applies the activation in one pass afterwards
/// (addResidual); the bits are the same either way. The one place to change
/// when a kernel learns to read the residual.
bool residualInStore(KernelId kernel) {
  switch (kernel) {
  case KernelId::Reference:
    return true; // referenceConv
  case KernelId::DenseGemmAvx2:
    // Both SGEMMs read it, and so does the Winograd output transform.
    return true;
  case KernelId::SpmmCsrAvx2:
    return true; // every path of spmmCsrAvx2
  case KernelId::SpmmBlock4x1Avx2:
  case KernelId::DepthwiseAvx2:
    return false;
  }
  return false;
}

/// y = act(y + z) over `count` floats, in pieces split across the pool:
/// the residual Add and the activation of a Conv whose kernel did not apply
/// them (residualInStore), one pass instead of the two ops they replace.
void addResidual(float *y, const float *z, size_t count, const Epilogue &e,
                 ThreadPool *pool) {
  const bool fast = cpuHasAvx512Ops();
  float lo = -INFINITY, hi = INFINITY;
  if (e.activation == format::Activation::Relu) {
    lo = 0.f;
  } else if (e.activation == format::Activation::Clip) {
    lo = e.actMin;
    hi = e.actMax;
  }
  auto range = [&](size_t begin, size_t end) {
    if (fast) {
      addClampAvx512(y + begin, z + begin, y + begin, int64_t(end - begin), lo,
                     hi);
      return;
    }
    for (size_t i = begin; i < end; ++i)
      y[i] += z[i];
    applyActivation(y + begin, int64_t(end - begin), e.activation, e.actMin,
                    e.actMax);
  };
  // Below 64 KiB a fork-join costs more than the pass.
  if (pool && count >= (size_t(1) << 14))
    pool->parallelFor(count, range);
  else
    range(0, count);
}

sl_status evalConv(const OpInstance &op, ExecContext &ctx) {
  const ConvGeom g = geometry(op);
  const auto &p = op.paramsAs<format::ConvParams>();
  Epilogue e;
  e.bias = op.hasInput(2) ? ctx.in<float>(op, 2) : nullptr;
  e.activation = p.activation;
  e.actMin = p.actMin;
  e.actMax = p.actMax;
  if (!op.hasInput(3))
    return convWithEpilogue(op, ctx, g, e);
  // A residual Z: act(conv + bias + Z), in the kernel's store where it can
  // (never on the phase planes, whose products write a wider grid).
  const float *z = ctx.in<float>(op, 3);
  const auto *plan = static_cast<const ConvPlan *>(op.weight);
  if (residualInStore(op.kernelId) && !(plan && plan->planar)) {
    e.residual = z;
    e.residualLd = size_t(g.spatial());
    return convWithEpilogue(op, ctx, g, e);
  }
  Epilogue product = e;
  product.activation = format::Activation::None;
  if (sl_status s = convWithEpilogue(op, ctx, g, product))
    return s;
  addResidual(ctx.out<float>(op, 0), z, size_t(g.n * g.m * g.spatial()), e,
              ctx.pool);
  return SL_OK;
}

} // namespace

namespace ops {

sl_status checkConvAxis(PrepareContext &ctx, const char *axis, int64_t in,
                        int64_t out, int64_t k, int64_t s, int64_t d,
                        int64_t p0, int64_t p1) {
  if (sl_status st = expectWindow(ctx, axis, k, s, d, p0, p1))
    return st;
  int64_t span = (k - 1) * d + 1;
  int64_t padded = in + p0 + p1;
  int64_t want = padded < span ? 0 : (padded - span) / s + 1;
  if (out != want)
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "%s: output size %lld, expected %lld for input %lld, "
                    "window %lld, stride %lld, pads %lld/%lld",
                    axis, (long long)out, (long long)want, (long long)in,
                    (long long)span, (long long)s, (long long)p0,
                    (long long)p1);
  return SL_OK;
}

void referenceConvChannel(const ConvGeom &g, const float *x, const float *wrow,
                          float bias, float *out) {
  std::fill(out, out + g.spatial(), bias);
  for (int64_t c = 0; c < g.cg(); ++c) {
    const float *xc = x + c * g.inPlane;
    for (int64_t i = 0; i < g.kh; ++i) {
      for (int64_t j = 0; j < g.kw; ++j) {
        const float wv = wrow[(c * g.kh + i) * g.kw + j];
        int64_t lo, hi;
        validOutputRange(g.ow, g.w, g.sw, g.pl, j * g.dw, lo, hi);
        for (int64_t oh = 0; oh < g.oh; ++oh) {
          const int64_t ih = oh * g.sh - g.pt + i * g.dh;
          if (ih < 0 || ih >= g.h)
            continue;
          const float *xr = xc + ih * g.w - g.pl + j * g.dw;
          float *orow = out + oh * g.ow;
          for (int64_t ow = lo; ow < hi; ++ow)
            orow[ow] += wv * xr[ow * g.sw];
        }
      }
    }
  }
}

} // namespace ops

void registerConvOps(OpResolver &resolver) {
  resolver.add({Opcode::Conv, prepareConv, evalConv, convScratch, false});
  registerPointwiseDepthwise(resolver);
}

} // namespace runtime
} // namespace sparseloom
