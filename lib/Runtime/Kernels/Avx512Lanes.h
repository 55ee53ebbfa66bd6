//===- Avx512Lanes.h - Lane masks and the epilogue on 16 lanes --*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// What the AVX-512 kernels with 16-float vectors share: lane masks for
// tails and padding, the address of a masked load that may start outside
// an array, and an Epilogue's activation on 16 lanes.
//
// Include only from files compiled for AVX-512 (F, BW, DQ, VL). Everything
// here has internal linkage (an anonymous namespace), the rule of
// KernelConfig.h: an inline function with external linkage could be emitted
// with AVX-512 instructions and picked by the linker for a portable caller.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_RUNTIME_KERNELS_AVX512LANES_H
#define SPARSELOOM_RUNTIME_KERNELS_AVX512LANES_H

#include "FastKernels.h"

// GCC 12's AVX-512 intrinsics (max, min, cvtps_pd, extractf64x4, the
// zero-extending casts) start from _mm512_undefined_*() and trip
// -Wuninitialized in every caller once inlined: a known false positive of
// the header, silenced for the files that include this one.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <immintrin.h>

#include <cstdint>

namespace sparseloom {
namespace runtime {
namespace {

/// The first min(max(n, 0), 16) lanes.
inline __mmask16 firstLanes16(int64_t n) {
  return n >= 16  ? __mmask16(0xFFFF)
         : n <= 0 ? __mmask16(0)
                  : __mmask16((1u << n) - 1u);
}

/// Lanes [lo, hi) of 16 (empty when hi <= lo).
inline __mmask16 laneRange(int64_t lo, int64_t hi) {
  return __mmask16(firstLanes16(hi) & ~firstLanes16(lo));
}

/// The address of base[index] without forming an out-of-range pointer in
/// C++ terms: a masked load from it touches only its unmasked lanes, so it
/// may start before the array (padding on the left).
inline const float *floatAt(const float *base, int64_t index) {
  return reinterpret_cast<const float *>(
      reinterpret_cast<uintptr_t>(base) +
      uintptr_t(index * int64_t(sizeof(float))));
}

/// An Epilogue's activation on 16 lanes.
struct Act16 {
  format::Activation kind;
  __m512 lo, hi;
  explicit Act16(const Epilogue &e)
      : kind(e.activation), lo(_mm512_set1_ps(e.actMin)),
        hi(_mm512_set1_ps(e.actMax)) {}
  __m512 operator()(__m512 x) const {
    switch (kind) {
    case format::Activation::None:
      return x;
    case format::Activation::Relu:
      // x second: a NaN lane returns x (vmaxps returns its second operand
      // on an unordered compare), as in the AVX2 kernels.
      return _mm512_max_ps(_mm512_setzero_ps(), x);
    case format::Activation::Clip:
      return _mm512_min_ps(hi, _mm512_max_ps(lo, x));
    }
    return x;
  }
};

} // namespace
} // namespace runtime
} // namespace sparseloom

#endif // SPARSELOOM_RUNTIME_KERNELS_AVX512LANES_H
