//===- SpmmAvx512.cpp - CSR weight x dense activation for AVX-512 ---------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The AVX-512 form of SpmmAvx2.cpp's CSR row loop (same data layout, same
// threading, which stays in SpmmAvx2.cpp): an output row is its bias plus,
// for each nonzero (k, v) of the weight row, v times row k of B.
//
// Summation order: each output element adds its row's nonzeros one after
// the other, in their order in the row, into one accumulator, then the
// bias, then the activation. Nothing else (tile, column split, thread
// count, K panel) changes it, so the phase-plane path (Conv.cpp) and im2col
// give the same bits, and so does every thread count.
//
// Why K panels. At 90 % sparsity a nonzero's slice of B is used by about a
// tenth of the rows, so a row loop that walks all of K streams every slice
// from L2: 17 GFLOPS on ResNet-50's 2048-deep 1x1 reduce, against 30 when
// the same matrix has K = 256 and B fits L1. So when a tile's slice of B
// is over 64 KiB, the rows of a chunk are swept once per panel of K whose
// slices take 32 KiB: each row resumes its accumulators from C, adds the
// nonzeros whose column falls in the panel, and parks them in C again (or,
// after the last panel, adds the bias, applies the activation and stores
// the result). A per-row cursor carries each row's position across
// panels. Column indices in ascending order (as the compiler writes them)
// make each panel's nonzeros a contiguous run; in any other order the
// result is the same, only the panel stops helping. BERT-base's FFN down
// projection (K = 3072) went from 1.6-1.75x to 2.3-2.8x of the dense path.
//
// Tiles: up to eight 16-float vectors, one FMA chain each, the last vector
// masked. Wider rows are cut into 4-vector tiles with the last tile taking
// the 5 to 8 vectors left, so that no tile is a lone 1- to 3-vector tail
// (14 x 14 = 196 columns are 4 + 4 + 5 vectors, not 4 + 4 + 4 + 1). Rows
// go two at a time, in step while both have nonzeros left: twice the
// independent chains, without changing any element's order.
//
// Compiled with -mavx512f (and -mavx2 -mfma); only called after
// cpuHasAvx512Ops(). Helpers are static so no AVX-512 code can be picked
// by the linker for a portable caller.
//
//===----------------------------------------------------------------------===//

#include "Avx512Lanes.h"
#include "FastOps.h"

#include <type_traits>
#include <utility>

namespace sparseloom {
namespace runtime {

namespace {

/// f(integral_constant<int, J>) for J = 0 .. N-1, unrolled: every index
/// into an accumulator array is then a constant, so the array stays in
/// registers.
template <int N, typename F, int... J>
static inline __attribute__((always_inline)) void
unrollImpl(const F &f, std::integer_sequence<int, J...>) {
  (f(std::integral_constant<int, J>()), ...);
}
template <int N, typename F>
static inline __attribute__((always_inline)) void unroll(const F &f) {
  unrollImpl<N>(f, std::make_integer_sequence<int, N>());
}

/// One row's part of a tile: its nonzeros [ci, ci + nnz) for this panel,
/// its NV vectors of C at `out`, its bias.
struct RowPart {
  const uint32_t *ci;
  const float *v;
  uint32_t nnz;
  float *out;
  __m512 bias;
};

/// A tile's columns and what its rows start from and end with.
struct TileSpec {
  const float *b; // B at the tile's first column
  size_t ldb;
  __mmask16 last; // lanes of the last vector
  bool first;     // accumulators start at zero (else: resume from C)
  bool finish;    // bias, activation, store (else: park in C)
};

template <int NV> struct RowAcc {
  __m512 v[NV];

  __attribute__((always_inline)) RowAcc(const RowPart &r, const TileSpec &t) {
    unroll<NV>([&](auto j) __attribute__((always_inline)) {
      v[j] = t.first ? _mm512_setzero_ps()
                     : _mm512_maskz_loadu_ps(j == NV - 1 ? t.last : 0xFFFF,
                                             r.out + 16 * j);
    });
  }
  /// Adds nonzero i of the row: v[j] += value * B[k][16j ..].
  __attribute__((always_inline)) void add(const RowPart &r, uint32_t i,
                                          const TileSpec &t) {
    const float *p = t.b + size_t(r.ci[i]) * t.ldb;
    const __m512 x = _mm512_set1_ps(r.v[i]);
    unroll<NV>([&](auto j) __attribute__((always_inline)) {
      const __m512 y = j == NV - 1 ? _mm512_maskz_loadu_ps(t.last, p + 16 * j)
                                   : _mm512_loadu_ps(p + 16 * j);
      v[j] = _mm512_fmadd_ps(x, y, v[j]);
    });
  }
  __attribute__((always_inline)) void store(const RowPart &r, const TileSpec &t,
                                            const Act16 &act) const {
    unroll<NV>([&](auto j) __attribute__((always_inline)) {
      const __m512 s = t.finish ? act(_mm512_add_ps(v[j], r.bias)) : v[j];
      _mm512_mask_storeu_ps(r.out + 16 * j, j == NV - 1 ? t.last : 0xFFFF, s);
    });
  }
};

/// One row over a tile of NV vectors: NV FMA chains.
template <int NV>
static inline __attribute__((always_inline)) void
csrRowTile(const RowPart &r, const TileSpec &t, const Act16 &act) {
  static_assert(NV >= 1 && NV <= 8, "16 to 128 columns");
  RowAcc<NV> a(r, t);
  for (uint32_t i = 0; i < r.nnz; ++i)
    a.add(r, i, t);
  a.store(r, t, act);
}

/// Two rows over a tile of NV vectors, in step while both have nonzeros
/// left: 2 * NV FMA chains, which a row alone leaves latency-bound when
/// it has few vectors or B is in L1. Each row still adds its own nonzeros
/// in order.
template <int NV>
static inline __attribute__((always_inline)) void
csrRowPairTile(const RowPart &r, const RowPart &s, const TileSpec &t,
               const Act16 &act) {
  RowAcc<NV> a(r, t), c(s, t);
  const uint32_t both = r.nnz < s.nnz ? r.nnz : s.nnz;
  uint32_t i = 0;
  for (; i < both; ++i) {
    a.add(r, i, t);
    c.add(s, i, t);
  }
  for (uint32_t j = i; j < r.nnz; ++j)
    a.add(r, j, t);
  for (uint32_t j = i; j < s.nnz; ++j)
    c.add(s, j, t);
  a.store(r, t, act);
  c.store(s, t, act);
}

/// Bytes of B one panel touches: two thirds of a 48 KiB L1, leaving room
/// for the rows' indices and values and their parked accumulators.
constexpr size_t kPanelBytes = 32 * 1024;

/// Up to this many bytes of B per tile, all of K is one panel: B then
/// mostly stays in L1 anyway, and parking the rows between panels costs
/// more than it saves (ResNet-50's 1x1 convolutions, K <= 256, measured
/// with bench-kernels).
constexpr size_t kOnePanelBytes = 64 * 1024;

/// Vectors per tile at most (the tail tile); wider rows are cut into
/// 4-vector tiles first.
constexpr size_t kMaxTileVectors = 8;

/// Rows per chunk: the chunk's cursors live on the stack, and its parked
/// accumulators (up to 512 bytes a row) stay in L2.
constexpr size_t kChunkRows = 256;

/// Columns of B per panel for a tile `tileFloats` wide: each row of B read
/// is a distinct slice when rows do not overlap (ldb >= tile), else (the
/// phase planes, ldb = 1) a panel of column indices spans about
/// `panel * ldb` floats plus the tile.
static size_t panelColumns(size_t tileFloats, size_t ldb) {
  const size_t bytesPerColumn =
      sizeof(float) * (ldb >= tileFloats ? tileFloats : ldb);
  const size_t cols = kPanelBytes / (bytesPerColumn ? bytesPerColumn : 1);
  return cols ? cols : 1;
}

/// The end of the run of indices below `limit` that starts at `at` (at
/// most `end`), sixteen at a time.
static inline uint32_t runBelow(const uint32_t *idx, uint32_t at, uint32_t end,
                                uint32_t limit) {
  const __m512i lim = _mm512_set1_epi32(int32_t(limit));
  while (at < end) {
    const __mmask16 valid = firstLanes16(int64_t(end - at));
    const __m512i x = _mm512_maskz_loadu_epi32(valid, idx + at);
    const unsigned below = _mm512_mask_cmplt_epu32_mask(valid, x, lim);
    // Lanes before the first one not below (16 when all are).
    const unsigned run = unsigned(__builtin_ctz(~below | 0x10000u));
    at += run;
    if (run < 16)
      break;
  }
  return at < end ? at : end;
}

/// Rows [r0, r1) of one tile: NV vectors from column `col`, over the
/// weight's K in panels, two rows at a time.
template <int NV>
static void csrTileRows(const SparseMatrixView &w, size_t r0, size_t r1,
                        const float *b, size_t ldb, float *c, size_t ldc,
                        size_t col, __mmask16 last, const Epilogue &e,
                        const Act16 &act) {
  const size_t panel = panelColumns(size_t(16) * NV, ldb);
  const size_t k = w.cols;
  uint32_t cursor[kChunkRows];
  for (size_t c0 = r0; c0 < r1; c0 += kChunkRows) {
    const size_t c1 = c0 + kChunkRows < r1 ? c0 + kChunkRows : r1;
    for (size_t row = c0; row < c1; ++row)
      cursor[row - c0] = w.rowPtr[row];
    for (size_t k0 = 0; k0 < k || k0 == 0; k0 += panel) {
      const TileSpec t{b + col, ldb, last, k0 == 0, k0 + panel >= k};
      // Row `row`'s nonzeros in this panel; advances its cursor.
      auto part = [&](size_t row) {
        uint32_t &at = cursor[row - c0];
        const uint32_t end = t.finish
                                 ? w.rowPtr[row + 1]
                                 : runBelow(w.colIdx, at, w.rowPtr[row + 1],
                                            uint32_t(k0 + panel));
        const RowPart r{w.colIdx + at, w.values + at, end - at,
                        c + row * ldc + col,
                        _mm512_set1_ps(e.bias ? e.bias[row] : 0.f)};
        at = end;
        return r;
      };
      size_t row = c0;
      for (; row + 2 <= c1; row += 2) {
        const RowPart r = part(row), s = part(row + 1);
        csrRowPairTile<NV>(r, s, t, act);
      }
      if (row < c1)
        csrRowTile<NV>(part(row), t, act);
    }
  }
}

/// Calls f(integral_constant<int, NV>) for a tile's width.
template <typename F> static void withWidth(int nv, const F &f) {
  switch (nv) {
  case 1:
    return f(std::integral_constant<int, 1>());
  case 2:
    return f(std::integral_constant<int, 2>());
  case 3:
    return f(std::integral_constant<int, 3>());
  case 4:
    return f(std::integral_constant<int, 4>());
  case 5:
    return f(std::integral_constant<int, 5>());
  case 6:
    return f(std::integral_constant<int, 6>());
  case 7:
    return f(std::integral_constant<int, 7>());
  default:
    return f(std::integral_constant<int, 8>());
  }
}

} // namespace

void spmmCsrRowsAvx512(const SparseMatrixView &w, size_t r0, size_t r1,
                       const float *b, size_t ldb, float *c, size_t ldc,
                       size_t n0, size_t n1, const Epilogue &e) {
  if (n1 <= n0 || r1 <= r0)
    return;
  const Act16 act(e);
  const size_t width = n1 - n0;
  // 4-vector tiles while more than 8 vectors are left, then one of 1 to 8.
  size_t vectors = (width + 15) / 16, full = 0;
  for (; vectors > kMaxTileVectors; vectors -= 4)
    ++full;
  const size_t tailCol = n0 + 64 * full;
  const __mmask16 tail = firstLanes16(int64_t(width % 16 ? width % 16 : 16));
  // All of K in one panel (or rows of B that overlap, the phase planes):
  // two rows at a time, each row of C written front to back.
  if (ldb < width || size_t(w.cols) * sizeof(float) * (ldb < 64 ? ldb : 64) <=
                         kOnePanelBytes) {
    auto part = [&](size_t row, size_t col) {
      const uint32_t at = w.rowPtr[row];
      return RowPart{w.colIdx + at, w.values + at, w.rowPtr[row + 1] - at,
                     c + row * ldc + col,
                     _mm512_set1_ps(e.bias ? e.bias[row] : 0.f)};
    };
    withWidth(int(vectors), [&](auto nv) {
      constexpr int NV = decltype(nv)::value;
      size_t row = r0;
      for (; row + 2 <= r1; row += 2) {
        size_t col = n0;
        for (; col < tailCol; col += 64)
          csrRowPairTile<4>(part(row, col), part(row + 1, col),
                            TileSpec{b + col, ldb, 0xFFFF, true, true}, act);
        csrRowPairTile<NV>(part(row, col), part(row + 1, col),
                           TileSpec{b + col, ldb, tail, true, true}, act);
      }
      if (row < r1) {
        size_t col = n0;
        for (; col < tailCol; col += 64)
          csrRowTile<4>(part(row, col),
                        TileSpec{b + col, ldb, 0xFFFF, true, true}, act);
        csrRowTile<NV>(part(row, col), TileSpec{b + col, ldb, tail, true, true},
                       act);
      }
    });
    return;
  }
  for (size_t col = n0; col < tailCol; col += 64)
    csrTileRows<4>(w, r0, r1, b, ldb, c, ldc, col, 0xFFFFu, e, act);
  withWidth(int(vectors), [&](auto nv) {
    csrTileRows<decltype(nv)::value>(w, r0, r1, b, ldb, c, ldc, tailCol, tail,
                                     e, act);
  });
}

} // namespace runtime
} // namespace sparseloom
