//===- VectorMath.h - exp, erf, tanh, sigmoid, GELU over arrays -*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The transcendental functions a transformer spends real time in (GELU on
// every hidden unit, exp in every attention softmax), evaluated four lanes at a
// time with SSE2, which every x86-64 CPU has, so this stays in the portable
// kernels (no -mavx2). glibc's erff/tanhf cost ~80 ns each on our machines, and
// scalar code with branches per element mispredicts on random activations;
// these run in a few ns per element, branch-free.
//
// The formulas are textbook: exp by Cody-Waite range reduction
// (x = n ln2 + r, |r| <= ln2/2) and the Taylor polynomial of degree 7
// (truncation < 6e-9), scaled by 2^n through the exponent bits; erf by its
// Maclaurin series below 0.5 and Abramowitz & Stegun 7.1.26 above; tanh by
// its Taylor series below 0.25 and 1 - 2 / (exp(2|x|) + 1) above. Inputs
// are clamped where each form is unused, so no intermediate is ever
// denormal (~100 times slower on x86). Max relative error, measured against
// double precision over [-9, 9] and tiny magnitudes: below 1e-6.
//
// Every element takes the same vector code (a tail is padded to four
// lanes), so results do not depend on how a range is split across threads.
// Without SSE the same formulas run on one lane. On a CPU with AVX-512
// (cpuHasAvx512Ops()) the same formulas run sixteen lanes at a time with
// FMA (Kernels/VectorMathAvx512.cpp, Kernels/VectorMathFormulas.h): about
// 4-5x the SSE2 throughput, equal to it but for the last bit.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_LIB_RUNTIME_OPS_VECTORMATH_H
#define SPARSELOOM_LIB_RUNTIME_OPS_VECTORMATH_H

#include <cstdint>

namespace sparseloom {
namespace runtime {
namespace ops {

enum class VectorFunction {
  Exp, // arguments clamped to [-87, 88], so the result stays finite and
       // normal: for softmax (arguments <= 0), not for the Exp op
  Erf,
  Tanh,
  Sigmoid,
  GeluErf,  // 0.5 x (1 + erf(x / sqrt(2)))
  GeluTanh, // 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
};

/// y[i] = f(x[i]) for i < n; x and y may be the same array. NaN in gives
/// NaN out; +-Inf give the function's limits.
void applyVectorFunction(VectorFunction f, const float *x, float *y, int64_t n);

/// y[i] = x[i] < lo ? lo : (x[i] > hi ? hi : x[i]) (Relu is [0, inf), Clip
/// and Relu6 finite bounds); NaN passes through. x and y may be the same
/// array.
void clampArray(const float *x, float *y, int64_t n, float lo, float hi);

} // namespace ops
} // namespace runtime
} // namespace sparseloom

#endif // SPARSELOOM_LIB_RUNTIME_OPS_VECTORMATH_H
