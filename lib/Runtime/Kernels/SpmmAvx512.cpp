//===- SpmmAvx512.cpp - CSR weight x dense activation for AVX-512 ---------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The AVX-512 form of SpmmAvx2.cpp's CSR row loop (same data layout, same
// loop order, same threading, which stays in SpmmAvx2.cpp): an output row is
// its bias plus, for each nonzero (k, v) of the weight row, v times row k of
// B. With 16 floats a vector, one broadcast of v and one index load now feed
// four FMAs over 64 columns instead of 32, which halves the instructions per
// multiply-add in the loop that a 90 % sparse network spends most of its
// time in.
//
// A row's nonzeros go round-robin into four accumulator streams (the
// remainder of nnz / 4 into stream 0), summed as (s0 + s1) + (s2 + s3) and
// then the bias, then the residual (Epilogue), then the activation: a
// 64-column tile keeps 4 x 4 accumulators, a tail tile of 1 to 3 vectors
// 4 x 1 to 4 x 3, so every output element is summed in the same order
// whichever tile, column block or thread computes it. Column tails are
// masked loads and stores (no tail loop, no read past the row), except a
// lone last column (N = 16j + 1, the 7x7 layers' 49th), which runs the
// same four streams in scalar lanes from a contiguous copy of that column
// rather than fetch one more line of B per nonzero for one lane.
//
// Compiled with -mavx512f (and -mavx2 -mfma); only called after
// cpuHasAvx512Ops(). Helpers are static so no AVX-512 code can be picked
// by the linker for a portable caller.
//
//===----------------------------------------------------------------------===//

#include "Avx512Lanes.h"
#include "FastOps.h"

#include <type_traits>

namespace sparseloom {
namespace runtime {

namespace {

/// Where a tile's one-lane tail column comes from: `at[k * stride]` is
/// element (k, column) of B.
struct TailColumn {
  const float *at;
  size_t stride;
};

/// One CSR row over 16 * NV columns (the last vector masked by `last`),
/// plus, with TAIL, one more column after them computed in scalar lanes
/// from `tail`: NV column vectors times four nonzero streams = 4 * NV
/// independent FMA chains. The tail column gets the same four streams,
/// FMAs and adds as a vector lane would, so its bits do not depend on
/// which path computed it. The accumulators are named variables (with
/// arrays, compilers kept them in memory); the unused ones of a narrow
/// tile are never read. Always inlined: GCC 12 called the 64-column form
/// once per tile with its arguments on the stack, a cost rows of 1.6-20
/// nonzeros felt (MobileNetV2 s90 1-5 % faster inlined, outputs the same).
template <int NV, bool TAIL>
__attribute__((always_inline)) static inline void
csrTile(const uint32_t *ci, const float *v, uint32_t nnz, const float *b,
        size_t ldb, float *out, const float *res, __mmask16 last, __m512 bias,
        const Act16 &act, TailColumn tail) {
  static_assert(NV >= 0 && NV <= 4 && (NV > 0 || TAIL), "1 to 65 columns");
  // Vector j of a tile: full, or masked when it is the last one (never
  // with a tail, which follows full vectors).
  auto load = [&](const float *p, int j) {
    return j == NV - 1 && !TAIL ? _mm512_maskz_loadu_ps(last, p + 16 * j)
                                : _mm512_loadu_ps(p + 16 * j);
  };
  auto tailAt = [&](uint32_t k) {
    return _mm_load_ss(tail.at + size_t(k) * tail.stride);
  };
  auto low = [](__m512 x) { return _mm512_castps512_ps128(x); };
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  __m512 b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  __m512 c0 = a0, c1 = a0, c2 = a0, c3 = a0;
  __m512 d0 = a0, d1 = a0, d2 = a0, d3 = a0;
  __m128 ta = _mm_setzero_ps(), tb = ta, tc = ta, td = ta;
  // With fewer than four nonzeros (MobileNetV2's K = 16-32 expands: 1.6-3)
  // only stream 0 holds any; the others are +0, and ((s0 + 0) + (0 + 0)) +
  // bias equals s0 + (bias + 0) bit for bit (both turn a -0 into +0 exactly
  // when bias is a zero; NaNs come out of the same operand): one add per
  // vector instead of four, in a store those rows are mostly made of.
  const bool oneStream = nnz < 4;
  const __m512 biasOrPlusZero = _mm512_add_ps(bias, _mm512_setzero_ps());
  for (; nnz >= 4; nnz -= 4, ci += 4, v += 4) {
    const float *p = b + size_t(ci[0]) * ldb, *q = b + size_t(ci[1]) * ldb;
    const float *r = b + size_t(ci[2]) * ldb, *t = b + size_t(ci[3]) * ldb;
    const __m512 x = _mm512_set1_ps(v[0]), y = _mm512_set1_ps(v[1]);
    const __m512 z = _mm512_set1_ps(v[2]), u = _mm512_set1_ps(v[3]);
    if constexpr (NV > 0) {
      a0 = _mm512_fmadd_ps(x, load(p, 0), a0);
      b0 = _mm512_fmadd_ps(y, load(q, 0), b0);
      c0 = _mm512_fmadd_ps(z, load(r, 0), c0);
      d0 = _mm512_fmadd_ps(u, load(t, 0), d0);
    }
    if constexpr (NV > 1) {
      a1 = _mm512_fmadd_ps(x, load(p, 1), a1);
      b1 = _mm512_fmadd_ps(y, load(q, 1), b1);
      c1 = _mm512_fmadd_ps(z, load(r, 1), c1);
      d1 = _mm512_fmadd_ps(u, load(t, 1), d1);
    }
    if constexpr (NV > 2) {
      a2 = _mm512_fmadd_ps(x, load(p, 2), a2);
      b2 = _mm512_fmadd_ps(y, load(q, 2), b2);
      c2 = _mm512_fmadd_ps(z, load(r, 2), c2);
      d2 = _mm512_fmadd_ps(u, load(t, 2), d2);
    }
    if constexpr (NV > 3) {
      a3 = _mm512_fmadd_ps(x, load(p, 3), a3);
      b3 = _mm512_fmadd_ps(y, load(q, 3), b3);
      c3 = _mm512_fmadd_ps(z, load(r, 3), c3);
      d3 = _mm512_fmadd_ps(u, load(t, 3), d3);
    }
    if constexpr (TAIL) {
      ta = _mm_fmadd_ss(low(x), tailAt(ci[0]), ta);
      tb = _mm_fmadd_ss(low(y), tailAt(ci[1]), tb);
      tc = _mm_fmadd_ss(low(z), tailAt(ci[2]), tc);
      td = _mm_fmadd_ss(low(u), tailAt(ci[3]), td);
    }
  }
  for (; nnz; --nnz, ++ci, ++v) {
    const float *p = b + size_t(ci[0]) * ldb;
    const __m512 x = _mm512_set1_ps(v[0]);
    if constexpr (NV > 0)
      a0 = _mm512_fmadd_ps(x, load(p, 0), a0);
    if constexpr (NV > 1)
      a1 = _mm512_fmadd_ps(x, load(p, 1), a1);
    if constexpr (NV > 2)
      a2 = _mm512_fmadd_ps(x, load(p, 2), a2);
    if constexpr (NV > 3)
      a3 = _mm512_fmadd_ps(x, load(p, 3), a3);
    if constexpr (TAIL)
      ta = _mm_fmadd_ss(low(x), tailAt(ci[0]), ta);
  }
  // act(((s0 + s1) + (s2 + s3) + bias) + residual), the order of Epilogue.
  auto store = [&](int j, __m512 s0, __m512 s1, __m512 s2, __m512 s3) {
    const __mmask16 m = j == NV - 1 && !TAIL ? last : __mmask16(0xFFFF);
    __m512 s = oneStream ? _mm512_add_ps(s0, biasOrPlusZero)
                         : _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1),
                                                       _mm512_add_ps(s2, s3)),
                                         bias);
    if (res)
      s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(m, res + 16 * j));
    _mm512_mask_storeu_ps(out + 16 * j, m, act(s));
  };
  if constexpr (NV > 0)
    store(0, a0, b0, c0, d0);
  if constexpr (NV > 1)
    store(1, a1, b1, c1, d1);
  if constexpr (NV > 2)
    store(2, a2, b2, c2, d2);
  if constexpr (NV > 3)
    store(3, a3, b3, c3, d3);
  if constexpr (TAIL) {
    __m128 s =
        oneStream
            ? _mm_add_ss(ta, low(biasOrPlusZero))
            : _mm_add_ss(_mm_add_ss(_mm_add_ss(ta, tb), _mm_add_ss(tc, td)),
                         low(bias));
    if (res)
      s = _mm_add_ss(s, _mm_load_ss(res + 16 * NV));
    _mm_store_ss(out + 16 * NV, low(act(_mm512_castps128_ps512(s))));
  }
}

} // namespace

void spmmCsrRowsAvx512(const SparseMatrixView &w, size_t r0, size_t r1,
                       const float *b, size_t ldb, float *c, size_t ldc,
                       size_t n0, size_t n1, const Epilogue &e,
                       const float *given) {
  const Act16 act(e);
  const size_t width = n1 > n0 ? n1 - n0 : 0;
  // Whole 64-column tiles, then one tile of 1 to 4 vectors for the rest,
  // its last vector masked. A rest of 16 * j + 1 columns (ResNet's and
  // MobileNetV2's 7x7 = 49) is j full vectors and a tail column instead: a
  // masked vector for one lane cost about a fifth of those layers' time,
  // most of it fetching one more line of B per nonzero.
  const size_t full = width / 64 * 64, rest = width - full;
  const __mmask16 lastMask = firstLanes16(int64_t(rest % 16 ? rest % 16 : 16));
  const bool tailed = rest % 16 == 1;
  // The tail column as K contiguous floats (spmmCsrAvx2 gathers it into
  // its scratch), so each nonzero reads it from L1; else read in place.
  // No copy on the stack here: an embedded caller's thread may have little.
  const TailColumn tail =
      tailed && given ? TailColumn{given, 1} : TailColumn{b + (n1 - 1), ldb};
  for (size_t row = r0; row < r1; ++row) {
    const uint32_t begin = w.rowPtr[row], nnz = w.rowPtr[row + 1] - begin;
    const uint32_t *ci = w.colIdx + begin;
    const float *v = w.values + begin;
    const __m512 bias = _mm512_set1_ps(e.bias ? e.bias[row] : 0.f);
    float *out = c + row * ldc;
    // The residual, laid out like C (Epilogue), or null.
    const float *z = e.residual ? e.residual + row * e.residualLd : nullptr;
    auto zAt = [z](size_t col) { return z ? z + col : nullptr; };
    size_t col = n0;
    for (; col < n0 + full; col += 64)
      csrTile<4, false>(ci, v, nnz, b + col, ldb, out + col, zAt(col), 0xFFFFu,
                        bias, act, tail);
    auto rows = [&](auto vectors, auto withTail) {
      csrTile<decltype(vectors)::value, decltype(withTail)::value>(
          ci, v, nnz, b + col, ldb, out + col, zAt(col), lastMask, bias, act,
          tail);
    };
    using T = std::true_type;
    using F = std::false_type;
    if (tailed) {
      if (rest > 48)
        rows(std::integral_constant<int, 3>(), T());
      else if (rest > 32)
        rows(std::integral_constant<int, 2>(), T());
      else if (rest > 16)
        rows(std::integral_constant<int, 1>(), T());
      else
        rows(std::integral_constant<int, 0>(), T());
    } else if (rest > 48) {
      rows(std::integral_constant<int, 4>(), F());
    } else if (rest > 32) {
      rows(std::integral_constant<int, 3>(), F());
    } else if (rest > 16) {
      rows(std::integral_constant<int, 2>(), F());
    } else if (rest > 0) {
      rows(std::integral_constant<int, 1>(), F());
    }
  }
}

} // namespace runtime
} // namespace sparseloom
