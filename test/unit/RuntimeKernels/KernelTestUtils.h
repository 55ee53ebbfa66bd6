//===- KernelTestUtils.h - Shared helpers of the kernel tests ---*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Deterministic random data, naive reference epilogues and the comparison
// every kernel test uses: |got - want| <= 1e-5 * K * max(1, |want|), with the
// reference computed in double.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_TEST_RUNTIMEKERNELS_KERNELTESTUTILS_H
#define SPARSELOOM_TEST_RUNTIMEKERNELS_KERNELTESTUTILS_H

#include "FastKernels.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace sparseloom {
namespace runtime {
namespace testing {

#define SKIP_WITHOUT_AVX2()                                                    \
  do {                                                                         \
    if (!cpuHasAvx2Fma())                                                      \
      GTEST_SKIP() << "CPU lacks AVX2+FMA";                                    \
  } while (0)

inline std::vector<float> randomVector(size_t n, uint32_t seed, float lo = -1.f,
                                       float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(rng);
  return v;
}

inline double applyEpilogue(double x, size_t row, const Epilogue &e) {
  if (e.bias)
    x += e.bias[row];
  switch (e.activation) {
  case format::Activation::None:
    return x;
  case format::Activation::Relu:
    return x > 0 ? x : 0;
  case format::Activation::Clip:
    return x < e.actMin ? e.actMin : (x > e.actMax ? e.actMax : x);
  }
  return x;
}

/// Checks got against want element-wise with the K-scaled tolerance;
/// reports the first few mismatches with their position.
inline ::testing::AssertionResult closeEnough(const std::vector<double> &want,
                                              const float *got, size_t rows,
                                              size_t cols, size_t ld,
                                              size_t k) {
  const double tol = 1e-5 * double(k ? k : 1);
  size_t bad = 0;
  ::testing::AssertionResult result = ::testing::AssertionSuccess();
  for (size_t i = 0; i < rows; ++i)
    for (size_t j = 0; j < cols; ++j) {
      double w = want[i * cols + j], g = got[i * ld + j];
      double scale = std::fabs(w) > 1 ? std::fabs(w) : 1;
      if (!(std::fabs(g - w) <= tol * scale)) {
        if (bad++ == 0)
          result = ::testing::AssertionFailure();
        if (bad <= 5)
          result << "[" << i << "," << j << "] got " << g << " want " << w
                 << "; ";
      }
    }
  if (bad)
    result << bad << " of " << rows * cols << " elements differ";
  return result;
}

/// A sentinel that kernels must never write.
constexpr float kGuard = -12345.f;

inline ::testing::AssertionResult guardsIntact(const std::vector<float> &buf,
                                               size_t rows, size_t cols,
                                               size_t ld) {
  for (size_t idx = 0; idx < buf.size(); ++idx) {
    size_t i = idx / ld, j = idx % ld;
    bool inside = i < rows && j < cols;
    if (!inside && buf[idx] != kGuard)
      return ::testing::AssertionFailure()
             << "wrote outside the matrix at flat index " << idx;
  }
  return ::testing::AssertionSuccess();
}

} // namespace testing
} // namespace runtime
} // namespace sparseloom

#endif // SPARSELOOM_TEST_RUNTIMEKERNELS_KERNELTESTUTILS_H
