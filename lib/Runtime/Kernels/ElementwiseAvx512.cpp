//===- ElementwiseAvx512.cpp - Binary ops, clamp, LayerNorm on zmm --------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The memory-bound non-GEMM loops sixteen floats at a time, tails under a
// mask: float Add/Sub/Mul/Div for the broadcast patterns the models use
// (same shape, a scalar or per-row value against a row), Relu/Clip, a
// residual Add with its Relu/Clip (a Conv's Z, Ops/Conv.cpp), and a
// LayerNormalization row. The portable loops they replace are scalar (GCC
// at -O2 does not vectorise a loop that needs an alias check), and the
// LayerNorm row accumulated in double one element at a time.
//
// Add/Sub/Mul/Div and the clamp compute each element exactly as the scalar
// code does (IEEE operations, NaN passing through the same way), so their
// results are bit-identical to the portable kernels. LayerNorm sums in
// double in 16 partial sums instead of one, which changes only the last
// bits of a double sum before it is rounded to float.
//
// Compiled with -mavx512f/dq (see CMakeLists.txt); only called after
// cpuHasAvx512Ops().
//
//===----------------------------------------------------------------------===//

#include "Avx512Lanes.h"
#include "FastOps.h"

#include <cmath>

namespace sparseloom {
namespace runtime {

namespace {

template <FastBinary Op> inline __m512 combine(__m512 a, __m512 b) {
  if constexpr (Op == FastBinary::Add)
    return _mm512_add_ps(a, b);
  else if constexpr (Op == FastBinary::Sub)
    return _mm512_sub_ps(a, b);
  else if constexpr (Op == FastBinary::Mul)
    return _mm512_mul_ps(a, b);
  else
    return _mm512_div_ps(a, b);
}

/// A scalar operand is splat once; a row operand loaded per vector.
template <FastBinary Op, bool XRow, bool YRow>
void binaryLoop(const float *x, const float *y, float *z, int64_t n) {
  const __m512 xs = XRow ? _mm512_setzero_ps() : _mm512_set1_ps(*x);
  const __m512 ys = YRow ? _mm512_setzero_ps() : _mm512_set1_ps(*y);
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512 a0 = XRow ? _mm512_loadu_ps(x + i) : xs;
    const __m512 a1 = XRow ? _mm512_loadu_ps(x + i + 16) : xs;
    const __m512 b0 = YRow ? _mm512_loadu_ps(y + i) : ys;
    const __m512 b1 = YRow ? _mm512_loadu_ps(y + i + 16) : ys;
    _mm512_storeu_ps(z + i, combine<Op>(a0, b0));
    _mm512_storeu_ps(z + i + 16, combine<Op>(a1, b1));
  }
  for (; i < n; i += 16) {
    const __mmask16 m = firstLanes16(n - i);
    // Masked-off lanes load 1, so a Div tail never divides by zero (the
    // result is discarded anyway; this only avoids a spurious flag).
    const __m512 one = _mm512_set1_ps(1.f);
    const __m512 a = XRow ? _mm512_mask_loadu_ps(one, m, x + i) : xs;
    const __m512 b = YRow ? _mm512_mask_loadu_ps(one, m, y + i) : ys;
    _mm512_mask_storeu_ps(z + i, m, combine<Op>(a, b));
  }
}

template <FastBinary Op>
void binaryStrided(const float *x, int64_t sx, const float *y, int64_t sy,
                   float *z, int64_t n) {
  if (sx && sy)
    binaryLoop<Op, true, true>(x, y, z, n);
  else if (sx)
    binaryLoop<Op, true, false>(x, y, z, n);
  else if (sy)
    binaryLoop<Op, false, true>(x, y, z, n);
  else
    binaryLoop<Op, false, false>(x, y, z, n);
}

/// Adds the 16 lanes of `v` into two double accumulators.
inline void addWide(__m512 v, __m512d &lo, __m512d &hi) {
  lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
  hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm256_castpd_ps(
                             _mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
}

} // namespace

void binaryAvx512(FastBinary op, const float *x, int64_t sx, const float *y,
                  int64_t sy, float *z, int64_t n) {
  switch (op) {
  case FastBinary::Add:
    return binaryStrided<FastBinary::Add>(x, sx, y, sy, z, n);
  case FastBinary::Sub:
    return binaryStrided<FastBinary::Sub>(x, sx, y, sy, z, n);
  case FastBinary::Mul:
    return binaryStrided<FastBinary::Mul>(x, sx, y, sy, z, n);
  case FastBinary::Div:
    return binaryStrided<FastBinary::Div>(x, sx, y, sy, z, n);
  }
}

void clampAvx512(const float *x, float *y, int64_t n, float lo, float hi) {
  // max(lo, v) returns v when v is NaN (the second operand wins an
  // unordered compare), as does min(hi, .): the scalar semantics.
  const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(
        y + i, _mm512_min_ps(vhi, _mm512_max_ps(vlo, _mm512_loadu_ps(x + i))));
  if (i < n) {
    const __mmask16 m = firstLanes16(n - i);
    _mm512_mask_storeu_ps(
        y + i, m,
        _mm512_min_ps(vhi,
                      _mm512_max_ps(vlo, _mm512_maskz_loadu_ps(m, x + i))));
  }
}

void addClampAvx512(const float *x, const float *z, float *y, int64_t n,
                    float lo, float hi) {
  // As clampAvx512, on the rounded sum: NaN passes through.
  const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512 s0 =
        _mm512_add_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(z + i));
    const __m512 s1 =
        _mm512_add_ps(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(z + i + 16));
    _mm512_storeu_ps(y + i, _mm512_min_ps(vhi, _mm512_max_ps(vlo, s0)));
    _mm512_storeu_ps(y + i + 16, _mm512_min_ps(vhi, _mm512_max_ps(vlo, s1)));
  }
  for (; i < n; i += 16) {
    const __mmask16 m = firstLanes16(n - i);
    const __m512 sum = _mm512_add_ps(_mm512_maskz_loadu_ps(m, x + i),
                                     _mm512_maskz_loadu_ps(m, z + i));
    _mm512_mask_storeu_ps(y + i, m,
                          _mm512_min_ps(vhi, _mm512_max_ps(vlo, sum)));
  }
}

void layerNormRowAvx512(const float *x, float *y, int64_t n, float epsilon,
                        const float *scale, bool scaleAll, const float *bias,
                        bool biasAll, float &meanOut, float &invOut) {
  const int64_t full = n / 16 * 16;
  const __mmask16 tail = firstLanes16(n - full);
  // Mean: masked-off lanes load 0.
  __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
  for (int64_t i = 0; i < full; i += 16)
    addWide(_mm512_loadu_ps(x + i), lo, hi);
  if (tail)
    addWide(_mm512_maskz_loadu_ps(tail, x + full), lo, hi);
  const double mean = _mm512_reduce_add_pd(_mm512_add_pd(lo, hi)) / double(n);
  // Variance of the float values around the double mean, in double.
  const __m512d mv = _mm512_set1_pd(mean);
  __m512d v0 = _mm512_setzero_pd(), v1 = _mm512_setzero_pd();
  auto addSquares = [&](__m512 v, __mmask8 mLo, __mmask8 mHi) {
    const __m512d d0 =
        _mm512_sub_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(v)), mv);
    const __m512d d1 =
        _mm512_sub_pd(_mm512_cvtps_pd(_mm256_castpd_ps(
                          _mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))),
                      mv);
    v0 = _mm512_mask3_fmadd_pd(d0, d0, v0, mLo);
    v1 = _mm512_mask3_fmadd_pd(d1, d1, v1, mHi);
  };
  for (int64_t i = 0; i < full; i += 16)
    addSquares(_mm512_loadu_ps(x + i), 0xFF, 0xFF);
  if (tail)
    addSquares(_mm512_maskz_loadu_ps(tail, x + full), __mmask8(tail & 0xFF),
               __mmask8(tail >> 8));
  const double var = _mm512_reduce_add_pd(_mm512_add_pd(v0, v1)) / double(n);
  const float inv = float(1.0 / std::sqrt(var + double(epsilon)));
  const float m = float(mean);
  // y = (x - m) * inv * scale (+ bias), in that order, as the portable row.
  const __m512 vm = _mm512_set1_ps(m), vinv = _mm512_set1_ps(inv);
  const __m512 s1 = _mm512_set1_ps(*scale);
  const __m512 b1 = bias ? _mm512_set1_ps(*bias) : _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 k = firstLanes16(n - i);
    const __m512 xv = _mm512_maskz_loadu_ps(k, x + i);
    const __m512 sv = scaleAll ? s1 : _mm512_maskz_loadu_ps(k, scale + i);
    __m512 r = _mm512_mul_ps(_mm512_mul_ps(_mm512_sub_ps(xv, vm), vinv), sv);
    if (bias)
      r = _mm512_add_ps(r, biasAll ? b1 : _mm512_maskz_loadu_ps(k, bias + i));
    _mm512_mask_storeu_ps(y + i, k, r);
  }
  meanOut = m;
  invOut = inv;
}

bool maxPoolPlaneAvx512(const float *x, int64_t h, int64_t w, float *y,
                        int64_t oh, int64_t ow, int64_t kh, int64_t kw,
                        int64_t sh, int64_t sw, int64_t pt, int64_t pl) {
  // Per output row: the column-wise max of its valid input rows into a
  // buffer padded with -inf (so every window reads kw values, pads
  // included, without a bounds check), then the max over each window of the
  // buffer, 16 outputs at a time; at stride 2 the even lanes of two loaded
  // vectors are gathered with one permute.
  alignas(64) float row[kMaxPoolFastWidth + 64];
  const int64_t span = (ow - 1) * sw + kw; // buffer floats the windows read
  const __m512 lowest = _mm512_set1_ps(-INFINITY);
  for (int64_t i = 0; i < span + 32; i += 16)
    _mm512_storeu_ps(row + i, lowest);
  const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20,
                                          22, 24, 26, 28, 30);
  __mmask16 nan = 0;
  for (int64_t o = 0; o < oh; ++o) {
    // Columns [pl, pl + w) of the buffer hold input columns [0, w).
    float *mid = row + pl;
    bool first = true;
    for (int64_t i = 0; i < kh; ++i) {
      const int64_t ih = o * sh - pt + i;
      if (ih < 0 || ih >= h)
        continue;
      const float *xr = x + ih * w;
      for (int64_t c = 0; c < w; c += 16) {
        const __mmask16 m = firstLanes16(w - c);
        const __m512 v = _mm512_maskz_loadu_ps(m, xr + c);
        nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
        _mm512_mask_storeu_ps(
            mid + c, m,
            first ? v : _mm512_max_ps(_mm512_maskz_loadu_ps(m, mid + c), v));
      }
      first = false;
    }
    if (first) // no valid row (cannot happen for a verified program)
      for (int64_t c = 0; c < w; ++c)
        mid[c] = -INFINITY;
    float *yr = y + o * ow;
    for (int64_t c = 0; c < ow; c += 16) {
      const __mmask16 m = firstLanes16(ow - c);
      __m512 best = lowest;
      for (int64_t j = 0; j < kw; ++j) {
        const float *p = row + c * sw + j;
        __m512 v;
        if (sw == 1)
          v = _mm512_loadu_ps(p);
        else
          v = _mm512_permutex2var_ps(_mm512_loadu_ps(p), evens,
                                     _mm512_loadu_ps(p + 16));
        best = _mm512_max_ps(best, v);
      }
      _mm512_mask_storeu_ps(yr + c, m, best);
    }
  }
  return nan == 0;
}

} // namespace runtime
} // namespace sparseloom
