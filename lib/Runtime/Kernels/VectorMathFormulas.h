//===- VectorMathFormulas.h - exp, erf, tanh, GELU on any lane type -*- C++
//-*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The formulas of VectorMath.h (see there for the method and the accuracy),
// written once against a lane type so that the portable SSE2 build
// (Ops/VectorMath.cpp) and the AVX-512 one (VectorMathAvx512.cpp) evaluate
// the same polynomials. Include it inside an anonymous namespace, after
// defining the lane type: a struct `Lanes` with static splat(float), the
// operators + - * /, and the free functions clamp, abs, copySign, lessThan,
// isNan, select and roundAndScale (VectorMath.cpp has the reference set).
// Each includer instantiates its own copies, compiled for its own ISA.
//
//===----------------------------------------------------------------------===//

// No include guard on purpose: each translation unit includes it once, in
// its own anonymous namespace.

/// exp(x) for x clamped to [-87, 88]: the result stays a normal float
/// (exp(-87) > FLT_MIN) and finite.
template <typename Lanes> inline Lanes expClamped(Lanes x) {
  const Lanes in = x;
  x = clamp(x, -87.f, 88.f);
  Lanes n, scale;
  roundAndScale(x * Lanes::splat(1.44269504088896341f), n, scale); // log2(e)
  // ln 2 split so that n * hi is exact: hi has 16 significant bits.
  const Lanes r = x - n * Lanes::splat(0.693145751953125f) -
                  n * Lanes::splat(1.428606820309417e-06f);
  const Lanes p =
      Lanes::splat(1.f) +
      r * (Lanes::splat(1.f) +
           r * (Lanes::splat(1.f / 2) +
                r * (Lanes::splat(1.f / 6) +
                     r * (Lanes::splat(1.f / 24) +
                          r * (Lanes::splat(1.f / 120) +
                               r * (Lanes::splat(1.f / 720) +
                                    r * Lanes::splat(1.f / 5040)))))));
  return select(isNan(in), in, p * scale);
}

template <typename Lanes> inline Lanes erfLanes(Lanes x) {
  const Lanes ax = abs(x);
  // Maclaurin: 2/sqrt(pi) x (1 - x^2/3 + x^4/10 - x^6/42 + x^8/216 -
  // x^10/1320); |x| clamped to >= 1e-6, where the bracket is 1 in float.
  const Lanes xs = clamp(ax, 1e-6f, 0.5f);
  const Lanes z = xs * xs;
  const Lanes series = Lanes::splat(1.1283791670955126f) * x *
                       (Lanes::splat(1.f) +
                        z * (Lanes::splat(-1.f / 3) +
                             z * (Lanes::splat(1.f / 10) +
                                  z * (Lanes::splat(-1.f / 42) +
                                       z * (Lanes::splat(1.f / 216) +
                                            z * Lanes::splat(-1.f / 1320))))));
  // A&S 7.1.26; from 3.92 on the result rounds to 1.
  const Lanes a = clamp(ax, 0.5f, 3.92f);
  const Lanes t =
      Lanes::splat(1.f) / (Lanes::splat(1.f) + Lanes::splat(0.3275911f) * a);
  const Lanes poly = t * (Lanes::splat(0.254829592f) +
                          t * (Lanes::splat(-0.284496736f) +
                               t * (Lanes::splat(1.421413741f) +
                                    t * (Lanes::splat(-1.453152027f) +
                                         t * Lanes::splat(1.061405429f)))));
  const Lanes tail = copySign(
      Lanes::splat(1.f) - poly * expClamped(Lanes::splat(0.f) - a * a), x);
  const Lanes r = select(lessThan(ax, 0.5f), series, tail);
  return select(isNan(x), x, r);
}

template <typename Lanes> inline Lanes tanhLanes(Lanes x) {
  const Lanes ax = abs(x);
  // Taylor: x (1 - x^2/3 + 2x^4/15 - 17x^6/315 + 62x^8/2835).
  const Lanes xs = clamp(ax, 1e-6f, 0.25f);
  const Lanes z = xs * xs;
  const Lanes series =
      x * (Lanes::splat(1.f) + z * (Lanes::splat(-1.f / 3) +
                                    z * (Lanes::splat(2.f / 15) +
                                         z * (Lanes::splat(-17.f / 315) +
                                              z * Lanes::splat(62.f / 2835)))));
  // From 9 on the result rounds to 1.
  const Lanes a = clamp(ax, 0.25f, 9.f);
  const Lanes tail =
      copySign(Lanes::splat(1.f) -
                   Lanes::splat(2.f) /
                       (expClamped(Lanes::splat(2.f) * a) + Lanes::splat(1.f)),
               x);
  const Lanes r = select(lessThan(ax, 0.25f), series, tail);
  return select(isNan(x), x, r);
}

template <typename Lanes> inline Lanes sigmoidLanes(Lanes x) {
  // e = exp(-|x|) never overflows; 1/(1+e) for x >= 0, e/(1+e) below.
  const Lanes e = expClamped(Lanes::splat(0.f) - abs(x));
  const Lanes pos = Lanes::splat(1.f) / (Lanes::splat(1.f) + e);
  const Lanes r = select(lessThan(x, 0.f), e * pos, pos);
  return select(isNan(x), x, r);
}

template <typename Lanes> inline Lanes geluErfLanes(Lanes x) {
  return Lanes::splat(0.5f) * x *
         (Lanes::splat(1.f) + erfLanes(x * Lanes::splat(0.7071067811865476f)));
}

template <typename Lanes> inline Lanes geluTanhLanes(Lanes x) {
  // x^2 from |x| clamped to [1e-6, 1e4]: never denormal, never infinite;
  // the bracket is exact (1) below and saturates tanh above.
  const Lanes xs = clamp(abs(x), 1e-6f, 1e4f);
  const Lanes inner = Lanes::splat(0.7978845608028654f) * x *
                      (Lanes::splat(1.f) + Lanes::splat(0.044715f) * xs * xs);
  return Lanes::splat(0.5f) * x * (Lanes::splat(1.f) + tanhLanes(inner));
}
