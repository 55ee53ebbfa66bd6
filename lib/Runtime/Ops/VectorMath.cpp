//===- VectorMath.cpp - exp, erf, tanh, sigmoid, GELU over arrays ---------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The formulas are written once against a small lane type: four floats in an
// SSE register where SSE2 exists (all of x86-64), one float otherwise. No
// FMA is used on either path, so a lane computes exactly what the scalar
// build would.
//
//===----------------------------------------------------------------------===//

#include "Ops/VectorMath.h"

#include <cmath>
#include <cstring>

#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#define SPARSELOOM_VECTORMATH_SSE2 1
#endif

namespace sparseloom {
namespace runtime {
namespace ops {

namespace {

#if SPARSELOOM_VECTORMATH_SSE2

struct Lanes {
  __m128 v;
  static constexpr int kWidth = 4;
  static Lanes load(const float *p) { return {_mm_loadu_ps(p)}; }
  void store(float *p) const { _mm_storeu_ps(p, v); }
};
struct Mask {
  __m128 m;
};
inline Lanes splat(float f) { return {_mm_set1_ps(f)}; }
inline Lanes operator+(Lanes a, Lanes b) { return {_mm_add_ps(a.v, b.v)}; }
inline Lanes operator-(Lanes a, Lanes b) { return {_mm_sub_ps(a.v, b.v)}; }
inline Lanes operator*(Lanes a, Lanes b) { return {_mm_mul_ps(a.v, b.v)}; }
inline Lanes operator/(Lanes a, Lanes b) { return {_mm_div_ps(a.v, b.v)}; }
/// Bounded by `lo`/`hi`; a NaN lane becomes the bound (callers restore NaN).
inline Lanes clamp(Lanes a, float lo, float hi) {
  return {_mm_min_ps(_mm_max_ps(a.v, _mm_set1_ps(lo)), _mm_set1_ps(hi))};
}
inline Lanes abs(Lanes a) {
  return {_mm_and_ps(a.v, _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff)))};
}
/// |mag| with the sign of `sign`.
inline Lanes copySign(Lanes mag, Lanes sign) {
  const __m128 bit = _mm_castsi128_ps(_mm_set1_epi32(int(0x80000000u)));
  return {_mm_or_ps(_mm_andnot_ps(bit, mag.v), _mm_and_ps(bit, sign.v))};
}
inline Mask lessThan(Lanes a, float b) {
  return {_mm_cmplt_ps(a.v, _mm_set1_ps(b))};
}
inline Mask isNan(Lanes a) { return {_mm_cmpunord_ps(a.v, a.v)}; }
inline Lanes select(Mask m, Lanes a, Lanes b) {
  return {_mm_or_ps(_mm_and_ps(m.m, a.v), _mm_andnot_ps(m.m, b.v))};
}
/// n = round(x) (to nearest even) as float, and 2^n for n in [-126, 127].
inline void roundAndScale(Lanes x, Lanes &n, Lanes &twoToN) {
  const __m128i i = _mm_cvtps_epi32(x.v);
  n.v = _mm_cvtepi32_ps(i);
  twoToN.v = _mm_castsi128_ps(
      _mm_slli_epi32(_mm_add_epi32(i, _mm_set1_epi32(127)), 23));
}

#else

struct Lanes {
  float v;
  static constexpr int kWidth = 1;
  static Lanes load(const float *p) { return {*p}; }
  void store(float *p) const { *p = v; }
};
struct Mask {
  bool m;
};
inline Lanes splat(float f) { return {f}; }
inline Lanes operator+(Lanes a, Lanes b) { return {a.v + b.v}; }
inline Lanes operator-(Lanes a, Lanes b) { return {a.v - b.v}; }
inline Lanes operator*(Lanes a, Lanes b) { return {a.v * b.v}; }
inline Lanes operator/(Lanes a, Lanes b) { return {a.v / b.v}; }
inline Lanes clamp(Lanes a, float lo, float hi) {
  float v = a.v > lo ? a.v : lo; // NaN becomes lo, as maxps does
  return {v < hi ? v : hi};
}
inline Lanes abs(Lanes a) { return {std::fabs(a.v)}; }
inline Lanes copySign(Lanes mag, Lanes sign) {
  return {std::copysign(mag.v, sign.v)};
}
inline Mask lessThan(Lanes a, float b) { return {a.v < b}; }
inline Mask isNan(Lanes a) { return {a.v != a.v}; }
inline Lanes select(Mask m, Lanes a, Lanes b) { return m.m ? a : b; }
inline void roundAndScale(Lanes x, Lanes &n, Lanes &twoToN) {
  const int32_t i = int32_t(std::nearbyint(x.v));
  n.v = float(i);
  const uint32_t bits = uint32_t(i + 127) << 23;
  std::memcpy(&twoToN.v, &bits, sizeof(float));
}

#endif

/// exp(x) for x clamped to [-87, 88]: the result stays a normal float
/// (exp(-87) > FLT_MIN) and finite.
inline Lanes expClamped(Lanes x) {
  const Lanes in = x;
  x = clamp(x, -87.f, 88.f);
  Lanes n, scale;
  roundAndScale(x * splat(1.44269504088896341f), n, scale); // log2(e)
  // ln 2 split so that n * hi is exact: hi has 16 significant bits.
  const Lanes r =
      x - n * splat(0.693145751953125f) - n * splat(1.428606820309417e-06f);
  const Lanes p =
      splat(1.f) +
      r * (splat(1.f) + r * (splat(1.f / 2) +
                             r * (splat(1.f / 6) +
                                  r * (splat(1.f / 24) +
                                       r * (splat(1.f / 120) +
                                            r * (splat(1.f / 720) +
                                                 r * splat(1.f / 5040)))))));
  return select(isNan(in), in, p * scale);
}

inline Lanes erfLanes(Lanes x) {
  const Lanes ax = abs(x);
  // Maclaurin: 2/sqrt(pi) x (1 - x^2/3 + x^4/10 - x^6/42 + x^8/216 -
  // x^10/1320); |x| clamped to >= 1e-6, where the bracket is 1 in float.
  const Lanes xs = clamp(ax, 1e-6f, 0.5f);
  const Lanes z = xs * xs;
  const Lanes series =
      splat(1.1283791670955126f) * x *
      (splat(1.f) +
       z * (splat(-1.f / 3) +
            z * (splat(1.f / 10) +
                 z * (splat(-1.f / 42) +
                      z * (splat(1.f / 216) + z * splat(-1.f / 1320))))));
  // A&S 7.1.26; from 3.92 on the result rounds to 1.
  const Lanes a = clamp(ax, 0.5f, 3.92f);
  const Lanes t = splat(1.f) / (splat(1.f) + splat(0.3275911f) * a);
  const Lanes poly =
      t * (splat(0.254829592f) +
           t * (splat(-0.284496736f) +
                t * (splat(1.421413741f) +
                     t * (splat(-1.453152027f) + t * splat(1.061405429f)))));
  const Lanes tail =
      copySign(splat(1.f) - poly * expClamped(splat(0.f) - a * a), x);
  const Lanes r = select(lessThan(ax, 0.5f), series, tail);
  return select(isNan(x), x, r);
}

inline Lanes tanhLanes(Lanes x) {
  const Lanes ax = abs(x);
  // Taylor: x (1 - x^2/3 + 2x^4/15 - 17x^6/315 + 62x^8/2835).
  const Lanes xs = clamp(ax, 1e-6f, 0.25f);
  const Lanes z = xs * xs;
  const Lanes series =
      x * (splat(1.f) +
           z * (splat(-1.f / 3) +
                z * (splat(2.f / 15) +
                     z * (splat(-17.f / 315) + z * splat(62.f / 2835)))));
  // From 9 on the result rounds to 1.
  const Lanes a = clamp(ax, 0.25f, 9.f);
  const Lanes tail = copySign(
      splat(1.f) - splat(2.f) / (expClamped(splat(2.f) * a) + splat(1.f)), x);
  const Lanes r = select(lessThan(ax, 0.25f), series, tail);
  return select(isNan(x), x, r);
}

inline Lanes sigmoidLanes(Lanes x) {
  // e = exp(-|x|) never overflows; 1/(1+e) for x >= 0, e/(1+e) below.
  const Lanes e = expClamped(splat(0.f) - abs(x));
  const Lanes pos = splat(1.f) / (splat(1.f) + e);
  const Lanes r = select(lessThan(x, 0.f), e * pos, pos);
  return select(isNan(x), x, r);
}

inline Lanes geluErfLanes(Lanes x) {
  return splat(0.5f) * x *
         (splat(1.f) + erfLanes(x * splat(0.7071067811865476f)));
}

inline Lanes geluTanhLanes(Lanes x) {
  // x^2 from |x| clamped to [1e-6, 1e4]: never denormal, never infinite;
  // the bracket is exact (1) below and saturates tanh above.
  const Lanes xs = clamp(abs(x), 1e-6f, 1e4f);
  const Lanes inner = splat(0.7978845608028654f) * x *
                      (splat(1.f) + splat(0.044715f) * xs * xs);
  return splat(0.5f) * x * (splat(1.f) + tanhLanes(inner));
}

template <Lanes (*F)(Lanes)>
void applyLanes(const float *x, float *y, int64_t n) {
  constexpr int w = Lanes::kWidth;
  int64_t i = 0;
  for (; i + w <= n; i += w)
    F(Lanes::load(x + i)).store(y + i);
  if (i < n) {
    // The tail through the same lanes, so every element is computed the
    // same way wherever a range boundary falls.
    float buffer[w] = {};
    std::memcpy(buffer, x + i, sizeof(float) * size_t(n - i));
    F(Lanes::load(buffer)).store(buffer);
    std::memcpy(y + i, buffer, sizeof(float) * size_t(n - i));
  }
}

} // namespace

void applyVectorFunction(VectorFunction f, const float *x, float *y,
                         int64_t n) {
  switch (f) {
  case VectorFunction::Exp:
    return applyLanes<expClamped>(x, y, n);
  case VectorFunction::Erf:
    return applyLanes<erfLanes>(x, y, n);
  case VectorFunction::Tanh:
    return applyLanes<tanhLanes>(x, y, n);
  case VectorFunction::Sigmoid:
    return applyLanes<sigmoidLanes>(x, y, n);
  case VectorFunction::GeluErf:
    return applyLanes<geluErfLanes>(x, y, n);
  case VectorFunction::GeluTanh:
    return applyLanes<geluTanhLanes>(x, y, n);
  }
}

void clampArray(const float *x, float *y, int64_t n, float lo, float hi) {
  int64_t i = 0;
#if SPARSELOOM_VECTORMATH_SSE2
  // maxps(lo, v) returns v when v is NaN (the second operand wins an
  // unordered compare), as does minps(hi, .): the scalar semantics below.
  const __m128 vlo = _mm_set1_ps(lo), vhi = _mm_set1_ps(hi);
  for (; i + 4 <= n; i += 4)
    _mm_storeu_ps(y + i, _mm_min_ps(vhi, _mm_max_ps(vlo, _mm_loadu_ps(x + i))));
#endif
  for (; i < n; ++i) {
    const float v = x[i];
    y[i] = v < lo ? lo : (v > hi ? hi : v);
  }
}

} // namespace ops
} // namespace runtime
} // namespace sparseloom
