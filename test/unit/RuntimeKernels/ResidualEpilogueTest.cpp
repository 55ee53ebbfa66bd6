//===- ResidualEpilogueTest.cpp - The SGEMM store adding a residual -------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Epilogue::residual in the AVX2 packed SGEMM (the store of the last K
// block, the matrix-vector loop, the K = 0 product): the fused result must
// equal, bit for bit, the product with its bias stored first, then the
// residual added and the activation applied as separate float operations,
// which is what the unfused Conv, Add and Relu ops compute. Shapes cross
// every edge of the blocking (partial panels, 8- and 16-column tails, more
// than one K block, transposed C, one column, K = 0), with padded leading
// dimensions for C and the residual, one and two threads.
//
// The expectation runs the same kernel with an all-zero residual, which
// keeps the product on the same code path (a residual product never goes to
// the AVX-512 kernels); adding +0 may only turn a -0 into +0, which the
// float comparison ignores.
//
//===----------------------------------------------------------------------===//

#include "KernelTestUtils.h"
#include "ThreadPool.h"

#include <vector>

using namespace sparseloom;
using namespace sparseloom::runtime;
using namespace sparseloom::runtime::testing;

namespace {

struct Shape {
  uint32_t m, n, k;
};

const Shape kShapes[] = {
    {1, 1, 1},   {6, 16, 4},   {5, 9, 3},     {13, 8, 9},  {7, 17, 300},
    {19, 31, 1}, {48, 1, 300}, {37, 100, 70}, {12, 49, 0}, {64, 196, 520},
};

float activate(float x, const Epilogue &e) {
  switch (e.activation) {
  case format::Activation::None:
    return x;
  case format::Activation::Relu:
    return x < 0.f ? 0.f : x;
  case format::Activation::Clip:
    x = x < e.actMin ? e.actMin : x;
    return x > e.actMax ? e.actMax : x;
  }
  return x;
}

void runCase(const Shape &s, bool transC, bool withBias, format::Activation act,
             ThreadPool *pool) {
  SCOPED_TRACE(::testing::Message()
               << "m=" << s.m << " n=" << s.n << " k=" << s.k << " transC="
               << transC << " bias=" << withBias << " act=" << int(act)
               << " threads=" << (pool ? pool->threads() : 1));
  std::vector<float> w = randomVector(size_t(s.m) * s.k, s.m * 7 + s.k);
  std::vector<float> b = randomVector(size_t(s.k) * s.n, s.n * 13 + s.k);
  std::vector<float> bias = randomVector(s.m, 5);
  std::vector<float> packed(packedWeightBytes(s.m, s.k) / sizeof(float) + 1);
  packWeight(w.data(), s.m, s.k, packed.data());

  // C and the residual in C's layout, each with its own padded stride.
  const size_t rows = transC ? s.n : s.m, cols = transC ? s.m : s.n;
  const size_t ldc = cols + 3, ldz = cols + 5;
  std::vector<float> z = randomVector(rows * ldz, 77, -2.f, 2.f);
  std::vector<float> zero(rows * ldz, 0.f);

  Epilogue e;
  e.bias = withBias ? bias.data() : nullptr;
  e.activation = act;
  e.actMin = -0.25f;
  e.actMax = 0.5f;
  e.residualLd = ldz;
  std::vector<float> scratch(
      sgemmScratchBytes(s.m, s.n, s.k, pool ? pool->threads() : 1) / 4 + 16);

  // The product with its bias alone, stored.
  Epilogue plain = e;
  plain.activation = format::Activation::None;
  plain.residual = zero.data();
  std::vector<float> t(rows * ldc, kGuard);
  sgemmPackedTransAvx2(packed.data(), s.m, s.n, s.k, b.data(), s.n, false,
                       t.data(), ldc, transC, plain, scratch.data(), pool);

  e.residual = z.data();
  std::vector<float> c(rows * ldc, kGuard);
  sgemmPackedTransAvx2(packed.data(), s.m, s.n, s.k, b.data(), s.n, false,
                       c.data(), ldc, transC, e, scratch.data(), pool);

  size_t bad = 0;
  for (size_t i = 0; i < rows; ++i)
    for (size_t j = 0; j < cols; ++j) {
      const float want = activate(t[i * ldc + j] + z[i * ldz + j], e);
      const float got = c[i * ldc + j];
      if (got != want && bad++ < 5)
        ADD_FAILURE() << "at (" << i << ", " << j << "): got " << got
                      << ", want " << want;
    }
  EXPECT_TRUE(guardsIntact(c, rows, cols, ldc));
}

TEST(SgemmResidual, StoreAddsResidualBeforeActivation) {
  SKIP_WITHOUT_AVX2();
  ThreadPool pool(2);
  for (const Shape &s : kShapes)
    for (bool transC : {false, true})
      for (bool bias : {false, true})
        for (format::Activation act :
             {format::Activation::None, format::Activation::Relu,
              format::Activation::Clip})
          for (ThreadPool *p : {static_cast<ThreadPool *>(nullptr), &pool})
            runCase(s, transC, bias, act, p);
}

// The order of the roundings: x + bias is rounded before Z is added, so a
// bias that cancels the product exactly leaves Z's bits unchanged, where
// adding bias + Z first would lose them.
TEST(SgemmResidual, BiasIsRoundedBeforeTheResidual) {
  SKIP_WITHOUT_AVX2();
  const uint32_t m = 6, n = 16, k = 1;
  std::vector<float> w(m, 1e8f), b(n, 1.f), bias(m, -1e8f);
  std::vector<float> packed(packedWeightBytes(m, k) / sizeof(float));
  packWeight(w.data(), m, k, packed.data());
  std::vector<float> z(size_t(m) * n, 1.5f), c(size_t(m) * n, kGuard);
  std::vector<float> scratch(sgemmScratchBytes(m, n, k, 1) / 4 + 16);
  Epilogue e;
  e.bias = bias.data();
  e.residual = z.data();
  e.residualLd = n;
  sgemmPackedAvx2(packed.data(), m, n, k, b.data(), n, c.data(), n, e,
                  scratch.data(), nullptr);
  for (float v : c)
    EXPECT_EQ(v, 1.5f);
}

} // namespace
