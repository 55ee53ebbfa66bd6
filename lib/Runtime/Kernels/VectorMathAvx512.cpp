//===- VectorMathAvx512.cpp - exp, erf, tanh, sigmoid, GELU on zmm --------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// VectorMath.h's functions sixteen lanes at a time: the same formulas
// (VectorMathFormulas.h) on a zmm lane type, with FMA contraction and the
// tail through the same lanes under a mask, so every element is computed
// the same way wherever a range is split. GELU over BERT-base's 128 x 3072
// hidden units per layer is the largest non-GEMM cost of a 90 % sparse
// BERT; this is about 4x the SSE2 path's throughput there.
//
// Compiled with -mavx512f/dq (see CMakeLists.txt); only called after
// cpuHasAvx512Ops().
//
//===----------------------------------------------------------------------===//

#include "FastOps.h"

#include <immintrin.h>

// GCC 12's AVX-512 intrinsics (max, min, cvtps_pd, extractf64x4) start from
// _mm512_undefined_*() and trip -Wuninitialized in every caller: a known
// false positive of the header, silenced for this file only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <cmath>

namespace sparseloom {
namespace runtime {

namespace {

struct Lanes {
  __m512 v;
  static constexpr int kWidth = 16;
  static Lanes splat(float f) { return {_mm512_set1_ps(f)}; }
};
struct Mask {
  __mmask16 m;
};
inline Lanes operator+(Lanes a, Lanes b) { return {_mm512_add_ps(a.v, b.v)}; }
inline Lanes operator-(Lanes a, Lanes b) { return {_mm512_sub_ps(a.v, b.v)}; }
inline Lanes operator*(Lanes a, Lanes b) { return {_mm512_mul_ps(a.v, b.v)}; }
inline Lanes operator/(Lanes a, Lanes b) { return {_mm512_div_ps(a.v, b.v)}; }
/// Bounded by `lo`/`hi`; a NaN lane becomes the bound (callers restore NaN),
/// as with SSE's maxps/minps (the second operand wins an unordered compare).
inline Lanes clamp(Lanes a, float lo, float hi) {
  return {_mm512_min_ps(_mm512_max_ps(a.v, _mm512_set1_ps(lo)),
                        _mm512_set1_ps(hi))};
}
inline Lanes abs(Lanes a) {
  return {_mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a.v),
                                               _mm512_set1_epi32(0x7fffffff)))};
}
inline Lanes copySign(Lanes mag, Lanes sign) {
  const __m512i bit = _mm512_set1_epi32(int(0x80000000u));
  return {_mm512_castsi512_ps(
      _mm512_or_si512(_mm512_andnot_si512(bit, _mm512_castps_si512(mag.v)),
                      _mm512_and_si512(bit, _mm512_castps_si512(sign.v))))};
}
inline Mask lessThan(Lanes a, float b) {
  return {_mm512_cmp_ps_mask(a.v, _mm512_set1_ps(b), _CMP_LT_OQ)};
}
inline Mask isNan(Lanes a) {
  return {_mm512_cmp_ps_mask(a.v, a.v, _CMP_UNORD_Q)};
}
inline Lanes select(Mask m, Lanes a, Lanes b) {
  return {_mm512_mask_blend_ps(m.m, b.v, a.v)};
}
/// n = round(x) (to nearest even) as float, and 2^n for n in [-126, 127].
inline void roundAndScale(Lanes x, Lanes &n, Lanes &twoToN) {
  const __m512i i = _mm512_cvtps_epi32(x.v);
  n.v = _mm512_cvtepi32_ps(i);
  twoToN.v = _mm512_castsi512_ps(
      _mm512_slli_epi32(_mm512_add_epi32(i, _mm512_set1_epi32(127)), 23));
}

#include "VectorMathFormulas.h"

template <Lanes (*F)(Lanes)> void apply(const float *x, float *y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(y + i, F({_mm512_loadu_ps(x + i)}).v);
  if (i < n) {
    // Masked-off lanes read as 0, which every formula takes without a
    // fault, and are never stored.
    const __mmask16 m = __mmask16((1u << (n - i)) - 1u);
    _mm512_mask_storeu_ps(y + i, m, F({_mm512_maskz_loadu_ps(m, x + i)}).v);
  }
}

/// Adds the 16 lanes of `e` into two double accumulators (8 lanes each).
inline void addWide(__m512 e, __m512d &lo, __m512d &hi) {
  lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
  hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm256_castpd_ps(
                             _mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
}

} // namespace

void vectorFunctionAvx512(FastFunction f, const float *x, float *y, int64_t n) {
  switch (f) {
  case FastFunction::Exp:
    return apply<expClamped>(x, y, n);
  case FastFunction::Erf:
    return apply<erfLanes>(x, y, n);
  case FastFunction::Tanh:
    return apply<tanhLanes>(x, y, n);
  case FastFunction::Sigmoid:
    return apply<sigmoidLanes>(x, y, n);
  case FastFunction::GeluErf:
    return apply<geluErfLanes>(x, y, n);
  case FastFunction::GeluTanh:
    return apply<geluTanhLanes>(x, y, n);
  }
}

void softmaxRowAvx512(const float *x, float *y, int64_t n) {
  const int64_t full = n / 16 * 16;
  const __mmask16 tail = __mmask16((1u << (n - full)) - 1u);
  // The max; masked-off lanes hold -inf, which never wins.
  __m512 mv = _mm512_set1_ps(-INFINITY);
  for (int64_t i = 0; i < full; i += 16)
    mv = _mm512_max_ps(_mm512_loadu_ps(x + i), mv);
  if (tail)
    mv = _mm512_max_ps(
        _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), tail, x + full), mv);
  const Lanes max = Lanes::splat(_mm512_reduce_max_ps(mv));
  // exp(x - max), stored and summed in double.
  __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
  for (int64_t i = 0; i < full; i += 16) {
    const __m512 e = expClamped(Lanes{_mm512_loadu_ps(x + i)} - max).v;
    _mm512_storeu_ps(y + i, e);
    addWide(e, lo, hi);
  }
  if (tail) {
    __m512 e = expClamped(Lanes{_mm512_maskz_loadu_ps(tail, x + full)} - max).v;
    e = _mm512_maskz_mov_ps(tail, e);
    _mm512_mask_storeu_ps(y + full, tail, e);
    addWide(e, lo, hi);
  }
  const double sum = _mm512_reduce_add_pd(_mm512_add_pd(lo, hi));
  const __m512 scale = _mm512_set1_ps(float(1.0 / sum));
  for (int64_t i = 0; i < full; i += 16)
    _mm512_storeu_ps(y + i, _mm512_mul_ps(_mm512_loadu_ps(y + i), scale));
  if (tail)
    _mm512_mask_storeu_ps(
        y + full, tail,
        _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, y + full), scale));
}

} // namespace runtime
} // namespace sparseloom
