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

#include "Kernels/FastOps.h"

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
  static Lanes splat(float f) { return {_mm_set1_ps(f)}; }
  void store(float *p) const { _mm_storeu_ps(p, v); }
};
struct Mask {
  __m128 m;
};
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
  static Lanes splat(float f) { return {f}; }
  void store(float *p) const { *p = v; }
};
struct Mask {
  bool m;
};
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

#include "Kernels/VectorMathFormulas.h"

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

/// The AVX-512 form of the same formulas (Kernels/VectorMathAvx512.cpp)
/// where the CPU has it: about four times the SSE2 throughput.
static bool useAvx512() {
  static const bool yes = cpuHasAvx512Ops();
  return yes;
}

void applyVectorFunction(VectorFunction f, const float *x, float *y,
                         int64_t n) {
  if (useAvx512()) {
    static_assert(int(VectorFunction::GeluTanh) == int(FastFunction::GeluTanh),
                  "VectorFunction and FastFunction list the same functions");
    return vectorFunctionAvx512(FastFunction(int(f)), x, y, n);
  }
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
  if (useAvx512())
    return clampAvx512(x, y, n, lo, hi);
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
