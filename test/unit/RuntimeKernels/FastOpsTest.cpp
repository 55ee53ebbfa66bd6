//===- FastOpsTest.cpp - AVX-512 fast ops against scalar references -------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Every FastOps.h entry point against a scalar reference on sizes that hit
// the full vectors, the masked tails and the empty range (0..70 and a few
// large ones), at unaligned offsets, with the broadcast patterns and the
// NaN/Inf inputs the ops must pass through:
//  - binaryAvx512 and clampAvx512: bit-identical to the portable loops.
//  - vectorFunctionAvx512: within 2e-6 relative of double precision.
//  - softmaxRowAvx512, layerNormRowAvx512: within float rounding of a
//    double reference.
//  - maxPoolPlaneAvx512: equal to a naive window max (stride 1 and 2,
//    pads, ceil-mode windows).
//  - spmmCsrRowsAvx512: the same bits however the columns are split, and
//    (through spmmCsrAvx2 in SpmmTest.cpp) the dense product.
// Everything skips on a CPU without AVX-512 (cpuHasAvx512Ops()).
//
//===----------------------------------------------------------------------===//

#include "FastOps.h"
#include "KernelTestUtils.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

using namespace sparseloom;
using namespace sparseloom::runtime;
using namespace sparseloom::runtime::testing;

namespace {

#define SKIP_WITHOUT_AVX512()                                                  \
  do {                                                                         \
    if (!cpuHasAvx512Ops())                                                    \
      GTEST_SKIP() << "CPU lacks AVX-512 (or SPARSELOOM_NO_AVX512 is set)";    \
  } while (0)

const int64_t kSizes[] = {0,  1,  2,  7,  15, 16,  17,  31,  32,  33,   47,  48,
                          49, 63, 64, 65, 70, 128, 130, 511, 768, 1000, 3072};

bool sameBits(float a, float b) { return std::memcmp(&a, &b, 4) == 0; }

/// Values in [-4, 4] with a NaN, +-Inf, +-0 and a tiny value sprinkled in.
std::vector<float> specialVector(size_t n, uint32_t seed) {
  std::vector<float> v = randomVector(n, seed, -4.f, 4.f);
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(),
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            0.f,
                            -0.f,
                            1e-30f};
  for (size_t i = 0; i < n; i += 11)
    v[i] = specials[(i / 11) % 6];
  return v;
}

float scalarBinary(FastBinary op, float a, float b) {
  switch (op) {
  case FastBinary::Add:
    return a + b;
  case FastBinary::Sub:
    return a - b;
  case FastBinary::Mul:
    return a * b;
  case FastBinary::Div:
    return a / b;
  }
  return 0.f;
}

TEST(FastOps, BinaryIsBitIdenticalForEveryBroadcastPattern) {
  SKIP_WITHOUT_AVX512();
  for (FastBinary op :
       {FastBinary::Add, FastBinary::Sub, FastBinary::Mul, FastBinary::Div})
    for (int64_t n : kSizes)
      for (int64_t sx : {0, 1})
        for (int64_t sy : {0, 1}) {
          // Offset by 3 floats: nothing is aligned.
          std::vector<float> x = specialVector(size_t(n) + 3, 1);
          std::vector<float> y = specialVector(size_t(n) + 3, 2);
          y[3] = 0.f; // a zero divisor at the first element
          std::vector<float> z(size_t(n) + 4, kGuard);
          binaryAvx512(op, x.data() + 3, sx, y.data() + 3, sy, z.data() + 1, n);
          for (int64_t i = 0; i < n; ++i) {
            const float want =
                scalarBinary(op, x[size_t(3 + i * sx)], y[size_t(3 + i * sy)]);
            ASSERT_TRUE(sameBits(z[size_t(1 + i)], want) ||
                        (want != want && z[size_t(1 + i)] != z[size_t(1 + i)]))
                << "op " << int(op) << " n " << n << " sx " << sx << " sy "
                << sy << " i " << i << ": " << z[size_t(1 + i)] << " vs "
                << want;
          }
          EXPECT_EQ(z[0], kGuard);
          EXPECT_EQ(z[size_t(n) + 1], kGuard) << "wrote past the end, n " << n;
        }
}

TEST(FastOps, BinaryInPlace) {
  SKIP_WITHOUT_AVX512();
  for (int64_t n : kSizes) {
    std::vector<float> x = randomVector(size_t(n), 3);
    std::vector<float> y = randomVector(size_t(n), 4);
    std::vector<float> want(x.size());
    for (size_t i = 0; i < x.size(); ++i)
      want[i] = x[i] + y[i];
    binaryAvx512(FastBinary::Add, x.data(), 1, y.data(), 1, x.data(), n);
    EXPECT_EQ(x, want) << "n " << n;
  }
}

TEST(FastOps, ClampMatchesScalarNanIncluded) {
  SKIP_WITHOUT_AVX512();
  for (int64_t n : kSizes) {
    std::vector<float> x = specialVector(size_t(n), 5);
    std::vector<float> y(size_t(n) + 1, kGuard);
    for (float lo : {0.f, -1.f})
      for (float hi : {std::numeric_limits<float>::infinity(), 6.f}) {
        clampAvx512(x.data(), y.data(), n, lo, hi);
        for (int64_t i = 0; i < n; ++i) {
          const float v = x[size_t(i)];
          const float want = v < lo ? lo : (v > hi ? hi : v);
          ASSERT_TRUE(sameBits(y[size_t(i)], want) ||
                      (want != want && y[size_t(i)] != y[size_t(i)]))
              << "n " << n << " i " << i;
        }
        EXPECT_EQ(y[size_t(n)], kGuard);
      }
  }
}

double refFunction(FastFunction f, double x) {
  switch (f) {
  case FastFunction::Exp:
    return std::exp(std::min(std::max(x, -87.0), 88.0));
  case FastFunction::Erf:
    return std::erf(x);
  case FastFunction::Tanh:
    return std::tanh(x);
  case FastFunction::Sigmoid:
    return 1.0 / (1.0 + std::exp(-x));
  case FastFunction::GeluErf:
    return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
  case FastFunction::GeluTanh:
    return 0.5 * x *
           (1.0 +
            std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
  }
  return 0;
}

TEST(FastOps, VectorFunctionsAreAccurateWithTails) {
  SKIP_WITHOUT_AVX512();
  for (FastFunction f :
       {FastFunction::Exp, FastFunction::Erf, FastFunction::Tanh,
        FastFunction::Sigmoid, FastFunction::GeluErf, FastFunction::GeluTanh})
    for (int64_t n : kSizes) {
      std::vector<float> x = randomVector(size_t(n), 6, -9.f, 9.f);
      std::vector<float> y(size_t(n) + 1, kGuard);
      vectorFunctionAvx512(f, x.data(), y.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        const double want = refFunction(f, x[size_t(i)]);
        const double tol = 2e-6 * std::max(1.0, std::fabs(want));
        ASSERT_NEAR(y[size_t(i)], want, tol)
            << "function " << int(f) << " x " << x[size_t(i)];
      }
      EXPECT_EQ(y[size_t(n)], kGuard);
    }
}

TEST(FastOps, VectorFunctionsPassNanAndSaturateAtInfinity) {
  SKIP_WITHOUT_AVX512();
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x = {std::numeric_limits<float>::quiet_NaN(), inf, -inf,
                          0.f};
  std::vector<float> y(x.size());
  vectorFunctionAvx512(FastFunction::Erf, x.data(), y.data(), 4);
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_EQ(y[1], 1.f);
  EXPECT_EQ(y[2], -1.f);
  EXPECT_EQ(y[3], 0.f);
  vectorFunctionAvx512(FastFunction::GeluErf, x.data(), y.data(), 4);
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_EQ(y[1], inf);
  vectorFunctionAvx512(FastFunction::Sigmoid, x.data(), y.data(), 4);
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_EQ(y[1], 1.f);
  EXPECT_NEAR(y[2], 0.f, 1e-37f); // exp clamped at -87, as the SSE2 path
}

TEST(FastOps, SoftmaxRowMatchesDoubleReference) {
  SKIP_WITHOUT_AVX512();
  for (int64_t n : kSizes) {
    if (n == 0)
      continue;
    std::vector<float> x = randomVector(size_t(n), 7, -20.f, 20.f);
    std::vector<float> y(size_t(n) + 1, kGuard);
    softmaxRowAvx512(x.data(), y.data(), n);
    double max = -INFINITY, sum = 0;
    for (float v : x)
      max = std::max(max, double(v));
    for (float v : x)
      sum += std::exp(double(v) - max);
    for (int64_t i = 0; i < n; ++i) {
      const double want = std::exp(double(x[size_t(i)]) - max) / sum;
      ASSERT_NEAR(y[size_t(i)], want, 2e-6 * std::max(want, 1e-6))
          << "n " << n << " i " << i;
    }
    EXPECT_EQ(y[size_t(n)], kGuard);
  }
}

TEST(FastOps, LayerNormRowMatchesDoubleReference) {
  SKIP_WITHOUT_AVX512();
  for (int64_t n : kSizes) {
    if (n == 0)
      continue;
    // An offset mean makes a float accumulation visibly worse.
    std::vector<float> x = randomVector(size_t(n), 8, 99.f, 101.f);
    std::vector<float> scale = randomVector(size_t(n), 9);
    std::vector<float> bias = randomVector(size_t(n), 10);
    for (int variant = 0; variant < 4; ++variant) {
      const bool scaleAll = variant & 1, withBias = variant & 2;
      std::vector<float> y(size_t(n) + 1, kGuard);
      float mean = 0, inv = 0;
      layerNormRowAvx512(x.data(), y.data(), n, 1e-5f, scale.data(), scaleAll,
                         withBias ? bias.data() : nullptr, false, mean, inv);
      double m = 0, var = 0;
      for (float v : x)
        m += v;
      m /= double(n);
      for (float v : x)
        var += (v - m) * (v - m);
      var /= double(n);
      const double wantInv = 1.0 / std::sqrt(var + 1e-5);
      EXPECT_NEAR(mean, m, 1e-5 * std::fabs(m));
      EXPECT_NEAR(inv, wantInv, 1e-5 * wantInv);
      for (int64_t i = 0; i < n; ++i) {
        const double s = scale[scaleAll ? 0 : size_t(i)];
        const double want = (x[size_t(i)] - m) * wantInv * s +
                            (withBias ? bias[size_t(i)] : 0.0);
        ASSERT_NEAR(y[size_t(i)], want, 1e-4 * std::max(1.0, std::fabs(want)))
            << "n " << n << " variant " << variant << " i " << i;
      }
      EXPECT_EQ(y[size_t(n)], kGuard);
    }
  }
}

TEST(FastOps, MaxPoolPlaneMatchesNaiveWindows) {
  SKIP_WITHOUT_AVX512();
  struct Case {
    int64_t h, w, k, s, pad;
  };
  const Case cases[] = {{112, 112, 3, 2, 1}, {7, 7, 3, 1, 1}, {9, 33, 2, 2, 0},
                        {5, 17, 3, 2, 1},    {1, 1, 1, 1, 0}, {6, 40, 4, 2, 2},
                        {8, 65, 3, 1, 0},    {3, 16, 2, 1, 1}};
  for (const Case &c : cases) {
    // ceil_mode-style output sizes whose last window may run into the
    // trailing pad, as prepare allows.
    const int64_t oh = (c.h + 2 * c.pad - c.k + c.s - 1) / c.s + 1;
    const int64_t ow = (c.w + 2 * c.pad - c.k + c.s - 1) / c.s + 1;
    if ((oh - 1) * c.s >= c.h + c.pad || (ow - 1) * c.s >= c.w + c.pad)
      continue;
    std::vector<float> x = randomVector(size_t(c.h * c.w), 15);
    std::vector<float> y(size_t(oh * ow) + 1, kGuard);
    ASSERT_TRUE(maxPoolPlaneAvx512(x.data(), c.h, c.w, y.data(), oh, ow, c.k,
                                   c.k, c.s, c.s, c.pad, c.pad));
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        float best = -INFINITY;
        for (int64_t a = 0; a < c.k; ++a)
          for (int64_t b = 0; b < c.k; ++b) {
            const int64_t r = i * c.s - c.pad + a, q = j * c.s - c.pad + b;
            if (r >= 0 && r < c.h && q >= 0 && q < c.w)
              best = std::max(best, x[size_t(r * c.w + q)]);
          }
        ASSERT_EQ(y[size_t(i * ow + j)], best)
            << c.h << "x" << c.w << " k" << c.k << " s" << c.s << " at " << i
            << "," << j;
      }
    EXPECT_EQ(y[size_t(oh * ow)], kGuard);
    // A NaN in a row a window reads: reported, so the op can take its
    // NaN-aware kernel.
    x[size_t(c.w * (c.h / 2) + c.w / 2)] = NAN;
    EXPECT_FALSE(maxPoolPlaneAvx512(x.data(), c.h, c.w, y.data(), oh, ow, c.k,
                                    c.k, c.s, c.s, c.pad, c.pad));
  }
}

TEST(FastOps, CsrRowsGiveTheSameBitsForAnyColumnSplit) {
  SKIP_WITHOUT_AVX512();
  const uint32_t m = 9, k = 37;
  std::vector<float> dense = randomVector(size_t(m) * k, 11);
  std::vector<float> keep = randomVector(dense.size(), 12, 0.f, 1.f);
  std::vector<uint32_t> rowPtr{0}, colIdx;
  std::vector<float> values;
  for (uint32_t r = 0; r < m; ++r) {
    for (uint32_t c = 0; c < k; ++c)
      if (keep[size_t(r) * k + c] < 0.3f && r != 4) { // row 4 empty
        colIdx.push_back(c);
        values.push_back(dense[size_t(r) * k + c]);
      }
    rowPtr.push_back(uint32_t(colIdx.size()));
  }
  SparseMatrixView w;
  w.rows = m;
  w.cols = k;
  w.rowPtr = rowPtr.data();
  w.colIdx = colIdx.data();
  w.values = values.data();
  std::vector<float> bias = randomVector(m, 13);
  Epilogue e;
  e.bias = bias.data();
  e.activation = format::Activation::Relu;
  for (uint32_t n : {1u, 15u, 16u, 17u, 33u, 49u, 64u, 65u, 100u, 130u}) {
    const size_t ldb = n + 3, ldc = n + 5;
    std::vector<float> b = randomVector(size_t(k) * ldb, 14);
    std::vector<float> whole(size_t(m) * ldc, kGuard);
    spmmCsrRowsAvx512(w, 0, m, b.data(), ldb, whole.data(), ldc, 0, n, e,
                      nullptr);
    EXPECT_TRUE(guardsIntact(whole, m, n, ldc)) << "n " << n;
    if (n % 16 == 1) {
      // The last column handed over as a contiguous copy: the same bits.
      std::vector<float> tail(k), given(whole.size(), kGuard);
      for (uint32_t kk = 0; kk < k; ++kk)
        tail[kk] = b[size_t(kk) * ldb + n - 1];
      spmmCsrRowsAvx512(w, 0, m, b.data(), ldb, given.data(), ldc, 0, n, e,
                        tail.data());
      EXPECT_EQ(given, whole) << "n " << n;
    }
    // Against the product in double.
    std::vector<double> want(size_t(m) * n);
    for (uint32_t r = 0; r < m; ++r)
      for (uint32_t j = 0; j < n; ++j) {
        double s = 0;
        for (uint32_t p = rowPtr[r]; p < rowPtr[r + 1]; ++p)
          s += double(values[p]) * b[size_t(colIdx[p]) * ldb + j];
        want[size_t(r) * n + j] = applyEpilogue(s, r, e);
      }
    EXPECT_TRUE(closeEnough(want, whole.data(), m, n, ldc, k)) << "n " << n;
    // Split at every multiple of 16 (and row ranges): the same bits.
    for (uint32_t cut = 16; cut < n; cut += 16) {
      std::vector<float> split(size_t(m) * ldc, kGuard);
      spmmCsrRowsAvx512(w, 0, 5, b.data(), ldb, split.data(), ldc, 0, cut, e,
                        nullptr);
      spmmCsrRowsAvx512(w, 5, m, b.data(), ldb, split.data(), ldc, 0, cut, e,
                        nullptr);
      spmmCsrRowsAvx512(w, 0, m, b.data(), ldb, split.data(), ldc, cut, n, e,
                        nullptr);
      EXPECT_EQ(split, whole) << "n " << n << " cut " << cut;
    }
  }
}

} // namespace
