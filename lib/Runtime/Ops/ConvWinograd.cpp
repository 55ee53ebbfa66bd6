//===- ConvWinograd.cpp - Dense 3x3 convolutions as Winograd F(2x2, 3x3) --===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The driver of ConvWinograd.h. The image is processed a band of tile rows
// at a time, sized so that the transformed input (16 x C x tiles floats)
// and the 16 products (16 x M x tiles) stay near L2 (about 1 MiB each).
// Per band: the input transform split over channels, the 16 products split
// over the pool (each one single-threaded on its own scratch slice, so no
// product depends on the thread count), then the output transform split
// over output channels.
//
//===----------------------------------------------------------------------===//

#include "Ops/ConvWinograd.h"

#include "Kernels/FastOps.h"
#include "Kernels/ThreadPool.h"

#include <cstdlib>
#include <cstring>

namespace sparseloom {
namespace runtime {
namespace ops {

namespace {

/// Positions of a transformed 4x4 tile.
constexpr int64_t kPositions = 16;

/// Tile rows per band: at most about 2^14 / max(C, M) tiles (1 MiB per
/// 16-matrix buffer), whole rows, at least one, and bands of equal height
/// (a ResNet 56x56 layer is 28 tile rows: 4 bands of 7, not 9+9+9+1, whose
/// last one would run narrow products and cost a fork-join for little).
int64_t bandRows(const WinogradShape &s) {
  const int64_t widest = s.c > s.m ? s.c : s.m;
  const int64_t tiles = (int64_t(1) << 14) / (widest > 0 ? widest : 1);
  int64_t rows = tiles / s.tilesW();
  rows = rows > 0 ? rows : 1;
  const int64_t bands = (s.tilesH() + rows - 1) / rows;
  return (s.tilesH() + bands - 1) / bands;
}

size_t productSlice(const WinogradShape &s) {
  const int64_t tiles = bandRows(s) * s.tilesW();
  return alignScratch(
      sgemmScratchBytes(uint32_t(s.m), uint32_t(tiles), uint32_t(s.c), 1));
}

} // namespace

bool winogradAvailable() {
  static const bool available = [] {
    const char *off = std::getenv("SPARSELOOM_NO_WINOGRAD");
    return cpuHasAvx512Ops() && !(off && *off && std::strcmp(off, "0") != 0);
  }();
  return available;
}

size_t winogradScratchBytes(const WinogradShape &s, unsigned threads) {
  const size_t tiles = size_t(bandRows(s) * s.tilesW());
  return alignScratch(sizeof(float) * kPositions * size_t(s.c) * tiles) +
         alignScratch(sizeof(float) * kPositions * size_t(s.m) * tiles) +
         size_t(threads ? threads : 1) * productSlice(s);
}

sl_status prepareWinogradWeight(PrepareContext &ctx, const WinogradShape &s,
                                const float *packedWeight,
                                WinogradWeight &out) {
  const uint32_t m = uint32_t(s.m), c = uint32_t(s.c);
  const size_t k = size_t(c) * 9;
  const size_t panel = packedWeightPanelWidth();
  out.stride = packedWeightBytes(m, c) / sizeof(float);
  auto *packed = static_cast<float *>(
      ctx.allocate(sizeof(float) * kPositions * out.stride));
  if (!packed)
    return SL_ERROR_OUT_OF_MEMORY;
  // U = G g G^T per (output, input) channel, G = [1 0 0; .5 .5 .5;
  // .5 -.5 .5; 0 0 1], in double and rounded once.
  // The 16 row-major matrices before packing, from the caller's allocator
  // like everything the runtime allocates.
  auto *u = static_cast<float *>(
      ctx.allocateTemporary(sizeof(float) * kPositions * m * c));
  if (!u)
    return SL_ERROR_OUT_OF_MEMORY;
  for (uint32_t o = 0; o < m; ++o) {
    const float *panelBase = packedWeight + (o / panel) * k * panel + o % panel;
    for (uint32_t i = 0; i < c; ++i) {
      double g[3][3];
      for (int r = 0; r < 3; ++r)
        for (int q = 0; q < 3; ++q)
          g[r][q] = panelBase[(size_t(i) * 9 + size_t(r * 3 + q)) * panel];
      double t[4][3]; // G g
      for (int q = 0; q < 3; ++q) {
        t[0][q] = g[0][q];
        t[1][q] = 0.5 * (g[0][q] + g[1][q] + g[2][q]);
        t[2][q] = 0.5 * (g[0][q] - g[1][q] + g[2][q]);
        t[3][q] = g[2][q];
      }
      for (int r = 0; r < 4; ++r) {
        const double row[4] = {t[r][0], 0.5 * (t[r][0] + t[r][1] + t[r][2]),
                               0.5 * (t[r][0] - t[r][1] + t[r][2]), t[r][2]};
        for (int q = 0; q < 4; ++q)
          u[(size_t(r * 4 + q) * m + o) * c + i] = float(row[q]);
      }
    }
  }
  for (int64_t xi = 0; xi < kPositions; ++xi)
    packWeight(u + size_t(xi) * m * c, m, c, packed + size_t(xi) * out.stride);
  ctx.releaseTemporary(u);
  out.packed = packed;
  return SL_OK;
}

void winogradConv(const WinogradShape &s, const WinogradWeight &weight,
                  const float *x, float *y, const Epilogue &e, void *scratch,
                  ThreadPool *pool) {
  const WinogradTiles tiles{s.h, s.w, s.oh, s.ow, s.pt, s.pl, s.tilesW()};
  const int64_t rows = bandRows(s);
  const size_t bandTiles = size_t(rows * s.tilesW());
  auto *base = static_cast<uint8_t *>(scratch);
  float *v = reinterpret_cast<float *>(base);
  base += alignScratch(sizeof(float) * kPositions * size_t(s.c) * bandTiles);
  float *prod = reinterpret_cast<float *>(base);
  base += alignScratch(sizeof(float) * kPositions * size_t(s.m) * bandTiles);
  const size_t slice = productSlice(s);
  const Epilogue none;
  for (int64_t th0 = 0; th0 < s.tilesH(); th0 += rows) {
    const int64_t th1 = th0 + rows < s.tilesH() ? th0 + rows : s.tilesH();
    const size_t n = size_t((th1 - th0) * s.tilesW());
    const size_t vStride = size_t(s.c) * n, mStride = size_t(s.m) * n;
    auto input = [&](size_t c0, size_t c1) {
      winogradInputAvx512(tiles, x, th0, th1, int64_t(c0), int64_t(c1), v, n,
                          vStride);
    };
    auto products = [&](unsigned thread, size_t b, size_t end) {
      auto *mine = reinterpret_cast<float *>(base + thread * slice);
      for (size_t xi = b; xi < end; ++xi)
        sgemmPackedAvx2(weight.packed + xi * weight.stride, uint32_t(s.m),
                        uint32_t(n), uint32_t(s.c), v + xi * vStride, n,
                        prod + xi * mStride, n, none, mine, nullptr);
    };
    auto output = [&](size_t m0, size_t m1) {
      winogradOutputAvx512(tiles, prod, th0, th1, int64_t(m0), int64_t(m1), n,
                           mStride, e, y);
    };
    if (pool) {
      pool->parallelFor(size_t(s.c), input);
      pool->parallelForWithThread(size_t(kPositions), 1, products);
      pool->parallelFor(size_t(s.m), output);
    } else {
      input(0, size_t(s.c));
      products(0, 0, size_t(kPositions));
      output(0, size_t(s.m));
    }
  }
}

} // namespace ops
} // namespace runtime
} // namespace sparseloom
