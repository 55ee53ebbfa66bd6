//===- SpmmAvx2.cpp - Sparse weight x dense activation for AVX2+FMA -------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// C = W * B with W sparse (CSR, or 4x1 blocks), in XNNPACK's NCHW style: an
// output row is its bias plus, for each nonzero (k, v) of the weight row,
// v times row k of B. The work is vectorised along N (the spatial positions
// of a 1x1 convolution, the tokens of a fully-connected layer), so each
// nonzero costs one broadcast and one fused multiply-add per 8 columns, and
// nothing is spent on the zeros.
//
// Loop order: N in blocks whose slice of B (K rows x block columns, about
// 512 KiB) stays in L2; inside a block, output rows outside and 32-column
// tiles inside, so each row of C is written front to back (streaming
// stores; writing C a tile-column at a time, row after row, cost 4x on a
// 1x1 convolution with 3136 positions). A CSR row keeps eight independent
// accumulator chains (a 32-column tile with the nonzeros split into even
// and odd ones) to cover the FMA latency; a 4x1 block row keeps 4 rows x 16
// columns and reuses each loaded B vector for four rows. The accumulators
// are named variables and the tail mask a template flag: with arrays or a
// run-time flag, compilers kept them in memory. N tails use masked loads and
// stores. A single column (batch-1 fully-connected) is a sparse dot product
// per row and uses gathers.
//
// Threads take (row range, column range) tasks with rows split so that each
// range holds about the same number of nonzeros. Per-element summation order
// does not depend on the split, so results do not depend on the thread count.
//
// Compiled with -mavx2 -mfma; helpers are static (see KernelConfig.h).
//
//===----------------------------------------------------------------------===//

#include "FastKernels.h"
#include "FastOps.h"
#include "ThreadPool.h"

#include <immintrin.h>

#include <cassert>
#include <cstdint>

namespace sparseloom {
namespace runtime {

namespace {

alignas(64) const int32_t kMaskTable[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                            0,  0,  0,  0,  0,  0,  0,  0};

static inline __m256i laneMask(unsigned n) {
  return _mm256_loadu_si256(
      reinterpret_cast<const __m256i *>(kMaskTable + 8 - n));
}

/// The activation of an Epilogue, ready to apply to vectors.
struct Act {
  format::Activation kind;
  __m256 lo, hi;
  explicit Act(const Epilogue &e)
      : kind(e.activation), lo(_mm256_set1_ps(e.actMin)),
        hi(_mm256_set1_ps(e.actMax)) {}
  __m256 operator()(__m256 x) const {
    switch (kind) {
    case format::Activation::None:
      return x;
    case format::Activation::Relu:
      // x second: NaN propagates (see SgemmAvx2.cpp).
      return _mm256_max_ps(_mm256_setzero_ps(), x);
    case format::Activation::Clip:
      return _mm256_min_ps(hi, _mm256_max_ps(lo, x));
    }
    return x;
  }
  float operator()(float x, const Epilogue &e) const {
    switch (kind) {
    case format::Activation::None:
      return x;
    case format::Activation::Relu:
      return x < 0.f ? 0.f : x; // NaN stays NaN
    case format::Activation::Clip:
      x = x < e.actMin ? e.actMin : x;
      return x > e.actMax ? e.actMax : x;
    }
    return x;
  }
};

/// A full or masked load/store; MASKED is a compile-time flag because a
/// run-time one inside the nonzero loop makes compilers keep the
/// accumulators in memory.
template <bool MASKED>
static inline __m256 loadB(const float *p, __m256i mask) {
  return MASKED ? _mm256_maskload_ps(p, mask) : _mm256_loadu_ps(p);
}
template <bool MASKED>
static inline void storeC(float *p, __m256 x, __m256i mask) {
  if (MASKED)
    _mm256_maskstore_ps(p, mask, x);
  else
    _mm256_storeu_ps(p, x);
}

/// act((sum + bias) + z[0..8)), z the residual at this vector or null.
template <bool MASKED>
static inline __m256 finish(__m256 sum, __m256 bias, const float *z,
                            __m256i mask, const Act &act) {
  __m256 x = _mm256_add_ps(sum, bias);
  if (z)
    x = _mm256_add_ps(x, loadB<MASKED>(z, mask));
  return act(x);
}

/// The residual `z` (or null) `offset` floats further.
static inline const float *at(const float *z, size_t offset) {
  return z ? z + offset : nullptr;
}

/// One CSR row over columns [n0, n0 + 32) (spmm_1x32__avx2): four column
/// vectors, the nonzeros split into even and odd streams = eight
/// independent FMA chains. The last vector is masked when MASKED. `z`:
/// the residual laid out like `out`, or null.
template <bool MASKED>
static inline void csrRow32(const uint32_t *ci, const float *v, uint32_t nnz,
                            const float *b, size_t ldb, float *out,
                            const float *z, __m256i mask, __m256 bias,
                            const Act &act) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  __m256 b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  for (; nnz >= 2; nnz -= 2, ci += 2, v += 2) {
    const float *p = b + size_t(ci[0]) * ldb, *q = b + size_t(ci[1]) * ldb;
    const __m256 x = _mm256_broadcast_ss(v), y = _mm256_broadcast_ss(v + 1);
    a0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(p), a0);
    a1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(p + 8), a1);
    a2 = _mm256_fmadd_ps(x, _mm256_loadu_ps(p + 16), a2);
    a3 = _mm256_fmadd_ps(x, loadB<MASKED>(p + 24, mask), a3);
    b0 = _mm256_fmadd_ps(y, _mm256_loadu_ps(q), b0);
    b1 = _mm256_fmadd_ps(y, _mm256_loadu_ps(q + 8), b1);
    b2 = _mm256_fmadd_ps(y, _mm256_loadu_ps(q + 16), b2);
    b3 = _mm256_fmadd_ps(y, loadB<MASKED>(q + 24, mask), b3);
  }
  if (nnz) {
    const float *p = b + size_t(ci[0]) * ldb;
    const __m256 x = _mm256_broadcast_ss(v);
    a0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(p), a0);
    a1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(p + 8), a1);
    a2 = _mm256_fmadd_ps(x, _mm256_loadu_ps(p + 16), a2);
    a3 = _mm256_fmadd_ps(x, loadB<MASKED>(p + 24, mask), a3);
  }
  _mm256_storeu_ps(out,
                   finish<false>(_mm256_add_ps(a0, b0), bias, z, mask, act));
  _mm256_storeu_ps(
      out + 8, finish<false>(_mm256_add_ps(a1, b1), bias, at(z, 8), mask, act));
  _mm256_storeu_ps(out + 16, finish<false>(_mm256_add_ps(a2, b2), bias,
                                           at(z, 16), mask, act));
  storeC<MASKED>(
      out + 24,
      finish<MASKED>(_mm256_add_ps(a3, b3), bias, at(z, 24), mask, act), mask);
}

/// One CSR row over 16 columns (two vectors, four nonzero streams) or 8
/// columns (one vector, four streams), the last vector masked when MASKED.
template <int NV, bool MASKED>
static inline void csrRowNarrow(const uint32_t *ci, const float *v,
                                uint32_t nnz, const float *b, size_t ldb,
                                float *out, const float *z, __m256i mask,
                                __m256 bias, const Act &act) {
  static_assert(NV == 1 || NV == 2, "8 or 16 columns");
  constexpr bool m0 = MASKED && NV == 1;
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, b0 = a0, b1 = a0;
  __m256 c0 = a0, c1 = a0, d0 = a0, d1 = a0;
  for (; nnz >= 4; nnz -= 4, ci += 4, v += 4) {
    const float *p = b + size_t(ci[0]) * ldb, *q = b + size_t(ci[1]) * ldb;
    const float *r = b + size_t(ci[2]) * ldb, *t = b + size_t(ci[3]) * ldb;
    const __m256 x = _mm256_broadcast_ss(v), y = _mm256_broadcast_ss(v + 1);
    const __m256 z = _mm256_broadcast_ss(v + 2), u = _mm256_broadcast_ss(v + 3);
    a0 = _mm256_fmadd_ps(x, loadB<m0>(p, mask), a0);
    b0 = _mm256_fmadd_ps(y, loadB<m0>(q, mask), b0);
    c0 = _mm256_fmadd_ps(z, loadB<m0>(r, mask), c0);
    d0 = _mm256_fmadd_ps(u, loadB<m0>(t, mask), d0);
    if (NV == 2) {
      a1 = _mm256_fmadd_ps(x, loadB<MASKED>(p + 8, mask), a1);
      b1 = _mm256_fmadd_ps(y, loadB<MASKED>(q + 8, mask), b1);
      c1 = _mm256_fmadd_ps(z, loadB<MASKED>(r + 8, mask), c1);
      d1 = _mm256_fmadd_ps(u, loadB<MASKED>(t + 8, mask), d1);
    }
  }
  for (; nnz; --nnz, ++ci, ++v) {
    const float *p = b + size_t(ci[0]) * ldb;
    const __m256 x = _mm256_broadcast_ss(v);
    a0 = _mm256_fmadd_ps(x, loadB<m0>(p, mask), a0);
    if (NV == 2)
      a1 = _mm256_fmadd_ps(x, loadB<MASKED>(p + 8, mask), a1);
  }
  a0 = _mm256_add_ps(_mm256_add_ps(a0, b0), _mm256_add_ps(c0, d0));
  storeC<m0>(out, finish<m0>(a0, bias, z, mask, act), mask);
  if (NV == 2) {
    a1 = _mm256_add_ps(_mm256_add_ps(a1, b1), _mm256_add_ps(c1, d1));
    storeC<MASKED>(out + 8, finish<MASKED>(a1, bias, at(z, 8), mask, act),
                   mask);
  }
}

/// CSR rows [r0, r1), columns [n0, n1): per row, 32-column tiles and then
/// the tail, so a row of C is written front to back.
static void csrRows(const SparseMatrixView &w, size_t r0, size_t r1,
                    const float *b, size_t ldb, float *c, size_t ldc, size_t n0,
                    size_t n1, const Epilogue &e, const Act &act) {
  const size_t rest = (n1 - n0) % 32, full = n1 - rest;
  const __m256i mask = laneMask(unsigned(rest % 8 ? rest % 8 : 8));
  for (size_t row = r0; row < r1; ++row) {
    const uint32_t begin = w.rowPtr[row], nnz = w.rowPtr[row + 1] - begin;
    const uint32_t *ci = w.colIdx + begin;
    const float *v = w.values + begin;
    const __m256 bias = _mm256_set1_ps(e.bias ? e.bias[row] : 0.f);
    float *out = c + row * ldc;
    const float *z = e.residual ? e.residual + row * e.residualLd : nullptr;
    size_t col = n0;
    for (; col < full; col += 32)
      csrRow32<false>(ci, v, nnz, b + col, ldb, out + col, at(z, col), mask,
                      bias, act);
    if (rest == 0)
      continue;
    // Tails: 25..31 columns as a masked 32-tile, else 16 full columns,
    // then up to 16 columns as a (masked) 16- or 8-tile.
    size_t left = rest;
    if (left > 24) {
      csrRow32<true>(ci, v, nnz, b + col, ldb, out + col, at(z, col), mask,
                     bias, act);
      continue;
    }
    if (left >= 16) {
      csrRowNarrow<2, false>(ci, v, nnz, b + col, ldb, out + col, at(z, col),
                             mask, bias, act);
      col += 16;
      left -= 16;
    }
    if (left > 8)
      csrRowNarrow<2, true>(ci, v, nnz, b + col, ldb, out + col, at(z, col),
                            mask, bias, act);
    else if (left == 8)
      csrRowNarrow<1, false>(ci, v, nnz, b + col, ldb, out + col, at(z, col),
                             mask, bias, act);
    else if (left > 0)
      csrRowNarrow<1, true>(ci, v, nnz, b + col, ldb, out + col, at(z, col),
                            mask, bias, act);
  }
}

/// Four rows sharing 4x1 blocks over 8*NV columns (spmm_4x16__avx2 for
/// NV = 2, spmm_4x8__avx2 for NV = 1): each loaded B vector feeds four FMAs.
template <int NV, bool MASKED>
static inline void blockRow(const uint32_t *ci, const float *v, uint32_t nnz,
                            const float *b, size_t ldb, float *out, size_t ldc,
                            __m256i mask, const float *bias, const Act &act) {
  static_assert(NV == 1 || NV == 2, "8 or 16 columns");
  constexpr bool m0 = MASKED && NV == 1;
  __m256 r00 = _mm256_setzero_ps(), r01 = r00, r10 = r00, r11 = r00;
  __m256 r20 = r00, r21 = r00, r30 = r00, r31 = r00;
  for (; nnz; --nnz, ++ci, v += 4) {
    const float *p = b + size_t(*ci) * ldb;
    const __m256 x0 = loadB<m0>(p, mask);
    const __m256 x1 = NV == 2 ? loadB<MASKED>(p + 8, mask) : x0;
    __m256 s = _mm256_broadcast_ss(v);
    r00 = _mm256_fmadd_ps(s, x0, r00);
    if (NV == 2)
      r01 = _mm256_fmadd_ps(s, x1, r01);
    s = _mm256_broadcast_ss(v + 1);
    r10 = _mm256_fmadd_ps(s, x0, r10);
    if (NV == 2)
      r11 = _mm256_fmadd_ps(s, x1, r11);
    s = _mm256_broadcast_ss(v + 2);
    r20 = _mm256_fmadd_ps(s, x0, r20);
    if (NV == 2)
      r21 = _mm256_fmadd_ps(s, x1, r21);
    s = _mm256_broadcast_ss(v + 3);
    r30 = _mm256_fmadd_ps(s, x0, r30);
    if (NV == 2)
      r31 = _mm256_fmadd_ps(s, x1, r31);
  }
  const __m256 rows0[4] = {r00, r10, r20, r30};
  const __m256 rows1[4] = {r01, r11, r21, r31};
  for (int r = 0; r < 4; ++r) {
    const __m256 bv = _mm256_set1_ps(bias ? bias[r] : 0.f);
    storeC<m0>(out + r * ldc, act(_mm256_add_ps(rows0[r], bv)), mask);
    if (NV == 2)
      storeC<MASKED>(out + r * ldc + 8, act(_mm256_add_ps(rows1[r], bv)), mask);
  }
}

/// 4x1 block rows [br0, br1), columns [n0, n1).
static void blockRows(const SparseMatrixView &w, size_t br0, size_t br1,
                      const float *b, size_t ldb, float *c, size_t ldc,
                      size_t n0, size_t n1, const Epilogue &e, const Act &act) {
  const size_t rest = (n1 - n0) % 16, full = n1 - rest;
  const __m256i mask = laneMask(unsigned(rest % 8 ? rest % 8 : 8));
  for (size_t br = br0; br < br1; ++br) {
    const uint32_t begin = w.rowPtr[br], nnz = w.rowPtr[br + 1] - begin;
    const uint32_t *ci = w.colIdx + begin;
    const float *v = w.values + size_t(begin) * 4;
    const float *bias = e.bias ? e.bias + br * 4 : nullptr;
    float *out = c + br * 4 * ldc;
    size_t col = n0;
    for (; col < full; col += 16)
      blockRow<2, false>(ci, v, nnz, b + col, ldb, out + col, ldc, mask, bias,
                         act);
    if (rest > 8)
      blockRow<2, true>(ci, v, nnz, b + col, ldb, out + col, ldc, mask, bias,
                        act);
    else if (rest == 8)
      blockRow<1, false>(ci, v, nnz, b + col, ldb, out + col, ldc, mask, bias,
                         act);
    else if (rest > 0)
      blockRow<1, true>(ci, v, nnz, b + col, ldb, out + col, ldc, mask, bias,
                        act);
  }
}

/// Columns per cache block: the rows of B one block touches (K x columns)
/// should stay in L2 while every output row sweeps them.
static size_t columnBlock(size_t k, size_t n) {
  constexpr size_t kBytes = 512 * 1024;
  size_t cols = kBytes / (sizeof(float) * (k ? k : 1));
  cols = cols / 32 * 32;
  if (cols < 32)
    cols = 32;
  return cols < n ? cols : n;
}

/// columnBlock for the AVX-512 rows: about 1.5 MiB of B, in 64-column
/// tiles.
static size_t columnBlockWide(size_t k, size_t n) {
  constexpr size_t kBytes = 1536 * 1024;
  size_t cols = kBytes / (sizeof(float) * (k ? k : 1));
  cols = cols / 64 * 64;
  if (cols < 64)
    cols = 64;
  return cols < n ? cols : n;
}

/// Sum of the eight lanes.
static inline float hsum(__m256 x) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/// spmv_1x1__avx2: one output column, CSR rows [r0, r1), gathering x at the
/// column indices 16 nonzeros at a time.
static void csrColumn(const SparseMatrixView &w, size_t r0, size_t r1,
                      const float *b, size_t ldb, float *c, size_t ldc,
                      const Epilogue &e, const Act &act) {
  // Gathers address x by 32-bit element offsets; wider strides go scalar.
  const bool gather = size_t(w.cols) * ldb < (size_t(1) << 29);
  const __m256i stride = _mm256_set1_epi32(int32_t(ldb));
  for (size_t row = r0; row < r1; ++row) {
    uint32_t j = w.rowPtr[row];
    const uint32_t end = w.rowPtr[row + 1];
    float sum = 0.f;
    if (gather) {
      __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
      for (; j + 16 <= end; j += 16) {
        __m256i i0 =
            _mm256_loadu_si256(reinterpret_cast<const __m256i *>(w.colIdx + j));
        __m256i i1 = _mm256_loadu_si256(
            reinterpret_cast<const __m256i *>(w.colIdx + j + 8));
        if (ldb != 1) {
          i0 = _mm256_mullo_epi32(i0, stride);
          i1 = _mm256_mullo_epi32(i1, stride);
        }
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w.values + j),
                             _mm256_i32gather_ps(b, i0, 4), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w.values + j + 8),
                             _mm256_i32gather_ps(b, i1, 4), a1);
      }
      sum = hsum(_mm256_add_ps(a0, a1));
    }
    for (; j < end; ++j)
      sum += w.values[j] * b[size_t(w.colIdx[j]) * ldb];
    sum += e.bias ? e.bias[row] : 0.f;
    if (e.residual)
      sum += e.residual[row * e.residualLd];
    c[row * ldc] = act(sum, e);
  }
}

/// The 4x1-block form of csrColumn: four rows per block, four blocks in
/// flight to cover the FMA latency.
static void block4Column(const SparseMatrixView &w, size_t br0, size_t br1,
                         const float *b, size_t ldb, float *c, size_t ldc,
                         const Epilogue &e, const Act &act) {
  for (size_t br = br0; br < br1; ++br) {
    __m128 a[4] = {_mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps(),
                   _mm_setzero_ps()};
    uint32_t j = w.rowPtr[br];
    const uint32_t end = w.rowPtr[br + 1];
    for (; j + 4 <= end; j += 4)
      for (int u = 0; u < 4; ++u)
        a[u] =
            _mm_fmadd_ps(_mm_loadu_ps(w.values + size_t(j + u) * 4),
                         _mm_set1_ps(b[size_t(w.colIdx[j + u]) * ldb]), a[u]);
    for (; j < end; ++j)
      a[0] = _mm_fmadd_ps(_mm_loadu_ps(w.values + size_t(j) * 4),
                          _mm_set1_ps(b[size_t(w.colIdx[j]) * ldb]), a[0]);
    alignas(16) float sums[4];
    _mm_store_ps(sums,
                 _mm_add_ps(_mm_add_ps(a[0], a[1]), _mm_add_ps(a[2], a[3])));
    for (int r = 0; r < 4; ++r) {
      const size_t row = br * 4 + r;
      c[row * ldc] = act(sums[r] + (e.bias ? e.bias[row] : 0.f), e);
    }
  }
}

/// First row unit u in [lo, hi) whose rowPtr-based cost reaches `target`,
/// where cost(u) = rowPtr[u] - rowPtr[0] + u * rowCost.
static size_t findSplit(const uint32_t *rowPtr, size_t lo, size_t hi,
                        double target, double rowCost) {
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    double cost = double(rowPtr[mid] - rowPtr[0]) + double(mid) * rowCost;
    if (cost < target)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/// Runs `tile(u0, u1, n0, n1)` over row units (rows, or 4-row blocks) and
/// columns, split across the pool: row ranges balanced by nonzeros, and
/// column ranges of whole 32-column tiles when there are few rows.
template <typename Tile>
static void runSpmm(const SparseMatrixView &w, size_t units, size_t n,
                    double rowCost, ThreadPool *pool, const Tile &tile) {
  const unsigned threads = pool ? pool->threads() : 1;
  const double nnz = double(w.rowPtr[units] - w.rowPtr[0]);
  const double total = nnz + double(units) * rowCost;
  if (threads <= 1 || total * double(n) < 32768.0) {
    tile(size_t(0), units, size_t(0), n);
    return;
  }
  const size_t target = size_t(threads) * 4;
  size_t rowChunks = units / 2 ? units / 2 : 1;
  rowChunks = rowChunks < target ? rowChunks : target;
  const size_t colTiles = (n + 31) / 32;
  size_t colChunks = (target + rowChunks - 1) / rowChunks;
  colChunks = colChunks < colTiles ? colChunks : colTiles;
  auto task = [&](size_t begin, size_t end) {
    for (size_t t = begin; t < end; ++t) {
      const size_t ri = t / colChunks, ci = t % colChunks;
      const size_t u0 = ri == 0 ? 0
                                : findSplit(w.rowPtr, 0, units,
                                            total * ri / rowChunks, rowCost);
      const size_t u1 = ri + 1 == rowChunks
                            ? units
                            : findSplit(w.rowPtr, 0, units,
                                        total * (ri + 1) / rowChunks, rowCost);
      size_t cb, ce;
      ThreadPool::splitRange(colTiles, colChunks, ci, cb, ce);
      const size_t n1 = ce * 32 < n ? ce * 32 : n;
      if (u0 < u1 && cb * 32 < n1)
        tile(u0, u1, cb * 32, n1);
    }
  };
  pool->parallelFor(rowChunks * colChunks, 1, task);
}

} // namespace

/// Floats a realigned row of B takes: whole 16-float vectors.
static size_t alignedRow(uint32_t n) { return (size_t(n) + 15) / 16 * 16; }

/// Copies B [k, n] (rows ldb apart) to 64-byte aligned rows of
/// alignedRow(n) floats at `dst`, rows split across the pool.
static void realignRows(const float *b, size_t ldb, uint32_t k, uint32_t n,
                        float *dst, ThreadPool *pool) {
  const size_t ld = alignedRow(n);
  const size_t full = n / 8 * 8;
  const __m256i tail = laneMask(n % 8);
  // Vector loads and aligned stores rather than a memcpy per row: rows are
  // 49-196 floats, and the call and its size dispatch cost MobileNetV2's
  // 7x7 and 14x14 copies about a fifth of their time. The padding past N
  // gets zeros (from the masked load) and is never read: the kernels mask
  // the last vector.
  auto rows = [&](size_t begin, size_t end) {
    for (size_t r = begin; r < end; ++r) {
      const float *src = b + r * ldb;
      float *out = dst + r * ld;
      size_t j = 0;
      for (; j < full; j += 8)
        _mm256_store_ps(out + j, _mm256_loadu_ps(src + j));
      if (j < n)
        _mm256_store_ps(out + j, _mm256_maskload_ps(src + j, tail));
    }
  };
  // Below 256 KiB a fork-join costs about what the copy does.
  if (pool && size_t(k) * ld >= (size_t(1) << 16))
    pool->parallelFor(k, rows);
  else
    rows(0, k);
}

/// 64-byte aligned address at or after p.
static float *alignUp(float *p) {
  return reinterpret_cast<float *>((reinterpret_cast<uintptr_t>(p) + 63) &
                                   ~uintptr_t(63));
}

/// Scratch layout, from its first 64-byte boundary: B in aligned rows, then
/// B's last column when N = 16j + 1 (both start on a boundary, as the rows
/// are whole vectors).
size_t spmmCsrScratchBytes(uint32_t k, uint32_t n) {
  if (n <= 1 || n % 16 == 0)
    return 0;
  const size_t floats = size_t(k) * (alignedRow(n) + (n % 16 == 1 ? 1 : 0));
  return sizeof(float) * floats + 64;
}

CsrOperand alignCsrOperand(uint32_t k, uint32_t n, const float *b, size_t ldb,
                           float *scratch, bool realign, ThreadPool *pool) {
  CsrOperand op{b, ldb, nullptr};
  // Only rows that do not overlap (not Conv's phase planes, ldb = 1) are
  // copied, so each read row is a row of B.
  if (!scratch || n <= 1 || ldb < n || !spmmCsrScratchBytes(k, n))
    return op;
  // The AVX-512 rows' tail column (N = 16j + 1), gathered here once rather
  // than by every task (eight per product at two threads: a gather each
  // over all of K, half of it from the other core's cache, made
  // MobileNetV2's 960-deep 7x7 projects slower at two threads than at one).
  if (cpuHasAvx512Ops() && n % 16 == 1) {
    float *column = alignUp(scratch) + size_t(k) * alignedRow(n);
    for (size_t r = 0; r < k; ++r)
      column[r] = b[r * ldb + n - 1];
    op.tail = column;
  }
  // Rows of B that start off a cache line (ldb = 49: every vector load but
  // one in 16 split across two lines) cost ResNet-50's 7x7 and 14x14 1x1
  // layers 20-35 % of their time inside the network; a copy to aligned
  // rows costs a few percent.
  const bool misaligned =
      ldb % 16 != 0 || (reinterpret_cast<uintptr_t>(b) & 63) != 0;
  if (realign && misaligned) {
    float *aligned = alignUp(scratch);
    realignRows(b, ldb, k, n, aligned, pool);
    op.b = aligned;
    op.ldb = alignedRow(n);
  }
  return op;
}

void spmmCsrRowsAvx2(const SparseMatrixView &w, size_t r0, size_t r1,
                     const CsrOperand &b, uint32_t n, float *c, size_t ldc,
                     const Epilogue &epilogue) {
  assert(w.blockRows == 1 && w.blockCols == 1 && "not a CSR matrix");
  if (n == 0)
    return;
  const Act act(epilogue);
  if (n == 1)
    csrColumn(w, r0, r1, b.b, b.ldb, c, ldc, epilogue, act);
  else if (cpuHasAvx512Ops())
    spmmCsrRowsAvx512(w, r0, r1, b.b, b.ldb, c, ldc, 0, n, epilogue, b.tail);
  else
    csrRows(w, r0, r1, b.b, b.ldb, c, ldc, 0, n, epilogue, act);
}

void spmmCsrAvx2(const SparseMatrixView &w, uint32_t n, const float *b,
                 size_t ldb, float *c, size_t ldc, const Epilogue &epilogue,
                 ThreadPool *pool, float *scratch) {
  assert(w.blockRows == 1 && w.blockCols == 1 && "not a CSR matrix");
  assert(w.rowPtr && c && "null operand");
  if (w.rows == 0 || n == 0)
    return;
  const Act act(epilogue);
  // Storing a row costs about as much as a couple of nonzeros.
  const double rowCost = 2.0;
  if (n == 1) {
    runSpmm(w, w.rows, 1, rowCost, pool,
            [&](size_t r0, size_t r1, size_t, size_t) {
              csrColumn(w, r0, r1, b, ldb, c, ldc, epilogue, act);
            });
    return;
  }
  // With more threads each reads all of B, half of it from the other
  // core's cache, and the copy adds a fork-join: for MobileNetV2's small
  // 1x1 products (under 2^21 multiply-adds, 0.03-0.1 ms) copying made the
  // two-thread run slower (its pointwise convs 2.3 -> 2.0 ms without it),
  // while ResNet-50's (5 M and more) still gained 10-20 %.
  const double work = double(w.rowPtr[w.rows] - w.rowPtr[0]) * double(n);
  const bool oneThread = !pool || pool->threads() <= 1;
  const CsrOperand operand = alignCsrOperand(
      w.cols, n, b, ldb, scratch, oneThread || work >= double(1 << 21), pool);
  // The row loop in 16-float vectors where the CPU has them (same layout
  // and threading; SpmmAvx512.cpp). Its blocks are wider: at 32 columns
  // its tiles are half empty, and on the AVX-512 machines measured (2 MiB
  // of L2 per core) the whole width of BERT's FFN (3072 x 128) or of a
  // 14x14 ResNet 3x3 layer ran 1.2-1.4x faster than 32-column blocks.
  const bool wide = cpuHasAvx512Ops();
  const size_t block =
      wide ? columnBlockWide(w.cols, n) : columnBlock(w.cols, n);
  runSpmm(w, w.rows, n, rowCost, pool,
          [&](size_t r0, size_t r1, size_t n0, size_t n1) {
            for (size_t col = n0; col < n1; col += block) {
              const size_t end = col + block < n1 ? col + block : n1;
              if (wide)
                spmmCsrRowsAvx512(w, r0, r1, operand.b, operand.ldb, c, ldc,
                                  col, end, epilogue,
                                  end == n ? operand.tail : nullptr);
              else
                csrRows(w, r0, r1, operand.b, operand.ldb, c, ldc, col, end,
                        epilogue, act);
            }
          });
}

const void *spmmColumnCode(bool blocks4x1) {
  return blocks4x1 ? reinterpret_cast<const void *>(&block4Column)
                   : reinterpret_cast<const void *>(&csrColumn);
}

void spmmBlock4x1Avx2(const SparseMatrixView &w, uint32_t n, const float *b,
                      size_t ldb, float *c, size_t ldc,
                      const Epilogue &epilogue, ThreadPool *pool) {
  assert(w.blockRows == 4 && w.blockCols == 1 && "not a 4x1 block matrix");
  assert(w.rows % 4 == 0 && "4x1 blocks need a multiple of 4 rows");
  assert(w.rowPtr && c && "null operand");
  if (w.rows == 0 || n == 0)
    return;
  const Act act(epilogue);
  const size_t numBlockRows = w.rows / 4;
  // Four row stores per block row, against four FMAs per block.
  const double rowCost = 2.0;
  if (n == 1) {
    runSpmm(w, numBlockRows, 1, rowCost, pool,
            [&](size_t r0, size_t r1, size_t, size_t) {
              block4Column(w, r0, r1, b, ldb, c, ldc, epilogue, act);
            });
    return;
  }
  const size_t block = columnBlock(w.cols, n);
  runSpmm(w, numBlockRows, n, rowCost, pool,
          [&](size_t r0, size_t r1, size_t n0, size_t n1) {
            for (size_t col = n0; col < n1; col += block)
              blockRows(w, r0, r1, b, ldb, c, ldc, col,
                        col + block < n1 ? col + block : n1, epilogue, act);
          });
}

} // namespace runtime
} // namespace sparseloom
