//===- SpmmTest.cpp - Sparse x dense kernels against a naive product ------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// CSR and 4x1 block-sparse weights built from random dense matrices at
// densities from 0 (every row empty) to 1, times activations whose width N
// hits every tile path (1, sub-vector tails, 8/16/24/32-column tiles and
// their tails), with padded leading dimensions, every epilogue, and one and
// two threads; compared with the dense product of the same weight.
//
//===----------------------------------------------------------------------===//

#include "FastOps.h"
#include "KernelTestUtils.h"
#include "ThreadPool.h"

#include <cstring>

using namespace sparseloom;
using namespace sparseloom::runtime;
using namespace sparseloom::runtime::testing;

namespace {

/// A dense [rows, cols] weight with about `density` nonzeros; every 5th row
/// is left empty so empty rows and blocks are always covered.
std::vector<float> sparseDense(uint32_t rows, uint32_t cols, double density,
                               uint32_t seed) {
  std::vector<float> w = randomVector(size_t(rows) * cols, seed);
  std::vector<float> keep = randomVector(w.size(), seed + 1, 0.f, 1.f);
  for (size_t i = 0; i < w.size(); ++i)
    if (keep[i] >= density || (i / cols) % 5 == 4)
      w[i] = 0.f;
  return w;
}

/// Owns the arrays a SparseMatrixView points at.
struct SparseMatrix {
  std::vector<uint32_t> rowPtr, colIdx;
  std::vector<float> values;
  SparseMatrixView view;
};

SparseMatrix toCsr(const std::vector<float> &w, uint32_t rows, uint32_t cols) {
  SparseMatrix s;
  s.rowPtr.push_back(0);
  for (uint32_t i = 0; i < rows; ++i) {
    for (uint32_t j = 0; j < cols; ++j)
      if (w[size_t(i) * cols + j] != 0.f) {
        s.colIdx.push_back(j);
        s.values.push_back(w[size_t(i) * cols + j]);
      }
    s.rowPtr.push_back(uint32_t(s.colIdx.size()));
  }
  s.view.rows = rows;
  s.view.cols = cols;
  s.view.rowPtr = s.rowPtr.data();
  s.view.colIdx = s.colIdx.data();
  s.view.values = s.values.data();
  return s;
}

/// 4x1 blocks: a block is stored when any of its four values is nonzero.
SparseMatrix toBlock4x1(const std::vector<float> &w, uint32_t rows,
                        uint32_t cols) {
  SparseMatrix s;
  s.rowPtr.push_back(0);
  for (uint32_t br = 0; br < rows / 4; ++br) {
    for (uint32_t j = 0; j < cols; ++j) {
      bool any = false;
      for (uint32_t r = 0; r < 4; ++r)
        any |= w[size_t(br * 4 + r) * cols + j] != 0.f;
      if (!any)
        continue;
      s.colIdx.push_back(j);
      for (uint32_t r = 0; r < 4; ++r)
        s.values.push_back(w[size_t(br * 4 + r) * cols + j]);
    }
    s.rowPtr.push_back(uint32_t(s.colIdx.size()));
  }
  s.view.rows = rows;
  s.view.cols = cols;
  s.view.blockRows = 4;
  s.view.blockCols = 1;
  s.view.rowPtr = s.rowPtr.data();
  s.view.colIdx = s.colIdx.data();
  s.view.values = s.values.data();
  return s;
}

struct Case {
  uint32_t m, k, n;
  double density;
};

const Case kCases[] = {
    {4, 1, 1, 1.0},        {8, 3, 1, 0.5},    {12, 64, 1, 0.3},
    {16, 40, 2, 0.5},      {8, 9, 7, 1.0},    {20, 30, 8, 0.2},
    {24, 17, 9, 0.4},      {4, 50, 15, 0.1},  {32, 64, 16, 0.1},
    {8, 20, 17, 0.6},      {12, 33, 23, 0.5}, {16, 16, 24, 0.3},
    {40, 70, 31, 0.05},    {16, 64, 32, 0.1}, {36, 25, 33, 0.5},
    {64, 128, 49, 0.1},    {28, 40, 57, 0.3}, {64, 64, 100, 0.05},
    {100, 200, 130, 0.02}, {8, 32, 40, 0.0},  {256, 64, 196, 0.1},
};

enum class Kind { Csr, Block4x1 };

void runCase(const Case &cs, Kind kind, format::Activation act, bool bias,
             ThreadPool *pool) {
  SCOPED_TRACE(::testing::Message()
               << (kind == Kind::Csr ? "csr" : "4x1") << " m=" << cs.m
               << " k=" << cs.k << " n=" << cs.n << " density=" << cs.density
               << " act=" << int(act) << " bias=" << bias
               << " threads=" << (pool ? pool->threads() : 1));
  std::vector<float> w =
      sparseDense(cs.m, cs.k, cs.density, cs.m * 13 + cs.k * 7 + cs.n);
  SparseMatrix sm =
      kind == Kind::Csr ? toCsr(w, cs.m, cs.k) : toBlock4x1(w, cs.m, cs.k);
  const size_t ldb = cs.n + 3, ldc = cs.n + 2;
  std::vector<float> bMat = randomVector(size_t(cs.k) * cs.n, cs.n + 5);
  std::vector<float> b(size_t(cs.k) * ldb, kGuard);
  for (uint32_t kk = 0; kk < cs.k; ++kk)
    std::memcpy(&b[kk * ldb], &bMat[size_t(kk) * cs.n], cs.n * sizeof(float));
  std::vector<float> biasV = randomVector(cs.m, 3);
  Epilogue e;
  e.bias = bias ? biasV.data() : nullptr;
  e.activation = act;
  e.actMin = -0.25f;
  e.actMax = 0.5f;
  std::vector<float> c(size_t(cs.m) * ldc, kGuard);
  if (kind == Kind::Csr)
    spmmCsrAvx2(sm.view, cs.n, b.data(), ldb, c.data(), ldc, e, pool, nullptr);
  else
    spmmBlock4x1Avx2(sm.view, cs.n, b.data(), ldb, c.data(), ldc, e, pool);

  std::vector<double> want(size_t(cs.m) * cs.n);
  for (uint32_t i = 0; i < cs.m; ++i)
    for (uint32_t j = 0; j < cs.n; ++j) {
      double sum = 0;
      for (uint32_t kk = 0; kk < cs.k; ++kk)
        sum += double(w[size_t(i) * cs.k + kk]) * bMat[size_t(kk) * cs.n + j];
      want[size_t(i) * cs.n + j] = applyEpilogue(sum, i, e);
    }
  EXPECT_TRUE(closeEnough(want, c.data(), cs.m, cs.n, ldc, cs.k));
  EXPECT_TRUE(guardsIntact(c, cs.m, cs.n, ldc));
}

TEST(SpmmCsr, MatchesDenseProduct) {
  SKIP_WITHOUT_AVX2();
  ThreadPool pool(2);
  for (const Case &cs : kCases) {
    runCase(cs, Kind::Csr, format::Activation::None, false, nullptr);
    runCase(cs, Kind::Csr, format::Activation::Relu, true, nullptr);
    runCase(cs, Kind::Csr, format::Activation::Clip, true, &pool);
    runCase(cs, Kind::Csr, format::Activation::None, true, &pool);
  }
}

TEST(SpmmBlock4x1, MatchesDenseProduct) {
  SKIP_WITHOUT_AVX2();
  ThreadPool pool(2);
  for (const Case &cs : kCases) {
    runCase(cs, Kind::Block4x1, format::Activation::None, false, nullptr);
    runCase(cs, Kind::Block4x1, format::Activation::Relu, true, nullptr);
    runCase(cs, Kind::Block4x1, format::Activation::Clip, true, &pool);
    runCase(cs, Kind::Block4x1, format::Activation::None, true, &pool);
  }
}

TEST(SpmmCsr, StridedSingleColumn) {
  SKIP_WITHOUT_AVX2();
  // N = 1 with ldb > 1: the gather path must scale the column indices.
  const uint32_t m = 9, k = 70;
  std::vector<float> w = sparseDense(m, k, 0.6, 42);
  SparseMatrix sm = toCsr(w, m, k);
  const size_t ldb = 5, ldc = 3;
  std::vector<float> b = randomVector(k * ldb, 43);
  std::vector<float> c(m * ldc, kGuard);
  Epilogue e;
  spmmCsrAvx2(sm.view, 1, b.data(), ldb, c.data(), ldc, e, nullptr, nullptr);
  std::vector<double> want(m);
  for (uint32_t i = 0; i < m; ++i)
    for (uint32_t kk = 0; kk < k; ++kk)
      want[i] += double(w[i * k + kk]) * b[kk * ldb];
  EXPECT_TRUE(closeEnough(want, c.data(), m, 1, ldc, k));
  EXPECT_TRUE(guardsIntact(c, m, 1, ldc));
}

// Epilogue::residual in the CSR stores (AVX-512 and AVX2 rows, every tail,
// the one-column path): bit for bit the product with its bias stored, then
// Z added and the activation applied, which is what Conv computes when the
// kernel leaves the residual to a pass of its own.
TEST(SpmmCsr, ResidualAddedInTheStore) {
  SKIP_WITHOUT_AVX2();
  ThreadPool pool(2);
  for (const Case &cs : kCases)
    for (format::Activation act :
         {format::Activation::None, format::Activation::Relu,
          format::Activation::Clip})
      for (ThreadPool *p : {static_cast<ThreadPool *>(nullptr), &pool}) {
        SCOPED_TRACE(::testing::Message()
                     << "m=" << cs.m << " k=" << cs.k << " n=" << cs.n
                     << " act=" << int(act)
                     << " threads=" << (p ? p->threads() : 1));
        SparseMatrix sm =
            toCsr(sparseDense(cs.m, cs.k, cs.density, cs.m + cs.n), cs.m, cs.k);
        std::vector<float> b = randomVector(size_t(cs.k) * cs.n, cs.k + 1);
        std::vector<float> bias = randomVector(cs.m, 4);
        const size_t ldc = cs.n + 2, ldz = cs.n + 5;
        std::vector<float> z = randomVector(cs.m * ldz, 77, -2.f, 2.f);
        Epilogue plain;
        plain.bias = bias.data();
        std::vector<float> t(cs.m * ldc, kGuard), c(cs.m * ldc, kGuard);
        spmmCsrAvx2(sm.view, cs.n, b.data(), cs.n, t.data(), ldc, plain, p,
                    nullptr);
        Epilogue e = plain;
        e.residual = z.data();
        e.residualLd = ldz;
        e.activation = act;
        e.actMin = -0.25f;
        e.actMax = 0.5f;
        spmmCsrAvx2(sm.view, cs.n, b.data(), cs.n, c.data(), ldc, e, p,
                    nullptr);
        size_t bad = 0;
        for (uint32_t i = 0; i < cs.m; ++i)
          for (uint32_t j = 0; j < cs.n; ++j) {
            const double want =
                applyEpilogue(double(t[i * ldc + j] + z[i * ldz + j]), i,
                              Epilogue{nullptr, nullptr, 0, act, -0.25f, 0.5f});
            if (double(c[i * ldc + j]) != want && bad++ < 5)
              ADD_FAILURE() << "at (" << i << ", " << j << "): got "
                            << c[i * ldc + j] << ", want " << want;
          }
        EXPECT_TRUE(guardsIntact(c, cs.m, cs.n, ldc));
      }
}

// Rows with fewer than four nonzeros skip the adds of their three empty
// streams (SpmmAvx512.cpp); the sum must keep the four-stream form's bits,
// ((s0 + 0) + (0 + 0)) + bias, also where they differ from s0 + bias: a
// product that underflows to -0 with a -0 bias comes out +0. Every vector
// of a row (full, masked, the tail column of N = 33) and rows of 0 to 4
// nonzeros.
TEST(SpmmCsr, FewNonzeroRowsKeepTheFourStreamSum) {
  SKIP_WITHOUT_AVX2();
  const uint32_t k = 4;
  std::vector<float> w = {
      0.f,     0.f, 0.f,  0.f,   // no nonzero
      -1e-25f, 0.f, 0.f,  0.f,   // one: -1e-50 rounds to -0
      -1e-25f, 3.f, 0.f,  0.f,   // two
      -1e-25f, 3.f, -2.f, 0.f,   // three
      -1e-25f, 3.f, -2.f, 0.5f}; // four: the stream adds run
  const uint32_t m = uint32_t(w.size() / k);
  SparseMatrix sm = toCsr(w, m, k);
  std::vector<float> bias = {-0.f, -0.f, 0.25f, -0.f, 1.f};
  Epilogue e;
  e.bias = bias.data();
  for (uint32_t n : {33u, 40u, 64u}) {
    SCOPED_TRACE(::testing::Message() << "n=" << n);
    std::vector<float> b(size_t(k) * n);
    for (uint32_t c = 0; c < n; ++c) {
      b[c] = 1e-25f;                 // row 0 of B
      b[n + c] = c % 3 ? 0.f : -0.f; // products of +-0
      b[2 * n + c] = float(c) * 0.125f;
      b[3 * n + c] = 1.f;
    }
    std::vector<float> c(size_t(m) * n, kGuard);
    spmmCsrAvx2(sm.view, n, b.data(), n, c.data(), n, e, nullptr, nullptr);
    for (uint32_t r = 0; r < m; ++r)
      for (uint32_t col = 0; col < n; ++col) {
        // Stream j sums nonzeros j, j + 4, ... of the row (the remainder
        // of nnz / 4 goes to stream 0), each starting at +0.
        float stream[4] = {0.f, 0.f, 0.f, 0.f};
        uint32_t nnz = 0;
        for (uint32_t kk = 0; kk < k; ++kk)
          if (w[r * k + kk] != 0.f)
            ++nnz;
        uint32_t seen = 0;
        for (uint32_t kk = 0; kk < k; ++kk) {
          const float v = w[r * k + kk];
          if (v == 0.f)
            continue;
          const uint32_t j = seen < nnz / 4 * 4 ? seen % 4 : 0;
          stream[j] = std::fma(v, b[kk * n + col], stream[j]);
          ++seen;
        }
        const float want =
            ((stream[0] + stream[1]) + (stream[2] + stream[3])) + bias[r];
        const float got = c[size_t(r) * n + col];
        EXPECT_EQ(std::memcmp(&want, &got, sizeof(float)), 0)
            << "row " << r << " column " << col << ": " << got << " vs " << want
            << (std::signbit(got) ? " (-)" : " (+)");
      }
  }
}

// A last column alone in its vector (N = 16 j + 1, ResNet's 7x7 = 49) is
// computed in scalar lanes; its bits must be those of the same column
// inside a wider product, where it is a vector lane (Conv's phase planes
// and im2col place columns differently). Rows of B apart (gathered tail)
// and overlapping (ldb = 1, read in place). The AVX2 rows sum by tile
// position and make no such promise.
TEST(SpmmCsr, TailColumnSameBitsAsVectorLane) {
  if (!cpuHasAvx512Ops())
    GTEST_SKIP() << "no AVX-512 (or SPARSELOOM_NO_AVX512): the AVX2 rows";
  const uint32_t m = 37, k = 300;
  SparseMatrix sm = toCsr(sparseDense(m, k, 0.2, 11), m, k);
  std::vector<float> bias = randomVector(m, 12);
  Epilogue e;
  e.bias = bias.data();
  e.activation = format::Activation::Relu;
  for (uint32_t n : {17u, 49u, 65u}) {
    for (size_t ldb : {size_t(n + 7), size_t(1)}) {
      SCOPED_TRACE(::testing::Message() << "n=" << n << " ldb=" << ldb);
      const uint32_t wide = n + 8;
      std::vector<float> b = randomVector(size_t(k) * (n + 7) + wide, 13);
      std::vector<float> narrow(size_t(m) * n), wider(size_t(m) * wide);
      spmmCsrAvx2(sm.view, n, b.data(), ldb, narrow.data(), n, e, nullptr,
                  nullptr);
      spmmCsrAvx2(sm.view, wide, b.data(), ldb, wider.data(), wide, e, nullptr,
                  nullptr);
      for (uint32_t i = 0; i < m; ++i)
        EXPECT_EQ(std::memcmp(&narrow[size_t(i) * n], &wider[size_t(i) * wide],
                              n * sizeof(float)),
                  0)
            << "row " << i;
    }
  }
}

// With scratch, B rows that are not 64-byte aligned are copied to aligned
// ones first: the same bits as reading them in place, and nothing written
// past spmmCsrScratchBytes (the scratch starts off alignment on purpose).
TEST(SpmmCsr, RealignedRowsSameBits) {
  SKIP_WITHOUT_AVX2();
  const uint32_t m = 40, k = 150;
  SparseMatrix sm = toCsr(sparseDense(m, k, 0.15, 21), m, k);
  std::vector<float> bias = randomVector(m, 22);
  Epilogue e;
  e.bias = bias.data();
  ThreadPool pool(2);
  for (uint32_t n : {17u, 49u, 100u, 196u})
    for (size_t ldb : {size_t(n), size_t(n + 3)})
      for (ThreadPool *p : {static_cast<ThreadPool *>(nullptr), &pool}) {
        SCOPED_TRACE(::testing::Message() << "n=" << n << " ldb=" << ldb);
        std::vector<float> b = randomVector(size_t(k) * ldb, n + 23);
        const size_t bytes = spmmCsrScratchBytes(k, n);
        ASSERT_GT(bytes, 0u);
        std::vector<float> scratch(bytes / sizeof(float) + 1 + 64, kGuard);
        std::vector<float> inPlace(size_t(m) * n), realigned(inPlace.size());
        spmmCsrAvx2(sm.view, n, b.data(), ldb, inPlace.data(), n, e, p,
                    nullptr);
        spmmCsrAvx2(sm.view, n, b.data(), ldb, realigned.data(), n, e, p,
                    scratch.data() + 1);
        EXPECT_EQ(std::memcmp(inPlace.data(), realigned.data(),
                              inPlace.size() * sizeof(float)),
                  0);
        for (size_t i = 1 + bytes / sizeof(float); i < scratch.size(); ++i)
          ASSERT_EQ(scratch[i], kGuard) << "scratch overrun at " << i;
      }
  EXPECT_EQ(spmmCsrScratchBytes(k, 64), 0u);
  EXPECT_EQ(spmmCsrScratchBytes(k, 1), 0u);
  // Large enough for the copy at two threads (and for its parallel form).
  const uint32_t bm = 256, bk = 512, bn = 196;
  SparseMatrix big = toCsr(sparseDense(bm, bk, 0.2, 31), bm, bk);
  std::vector<float> bigBias = randomVector(bm, 32);
  e.bias = bigBias.data();
  std::vector<float> b = randomVector(size_t(bk) * bn, 33);
  std::vector<float> scratch(spmmCsrScratchBytes(bk, bn) / sizeof(float) + 1);
  std::vector<float> inPlace(size_t(bm) * bn), realigned(inPlace.size());
  spmmCsrAvx2(big.view, bn, b.data(), bn, inPlace.data(), bn, e, &pool,
              nullptr);
  spmmCsrAvx2(big.view, bn, b.data(), bn, realigned.data(), bn, e, &pool,
              scratch.data() + 1);
  EXPECT_EQ(inPlace, realigned);
}

TEST(Spmm, SameBitsForAnyThreadCount) {
  SKIP_WITHOUT_AVX2();
  const uint32_t m = 256, k = 512, n = 196;
  std::vector<float> w = sparseDense(m, k, 0.1, 7);
  SparseMatrix csr = toCsr(w, m, k), blk = toBlock4x1(w, m, k);
  std::vector<float> b = randomVector(size_t(k) * n, 8);
  Epilogue e;
  ThreadPool pool(2);
  for (const SparseMatrix *sm : {&csr, &blk}) {
    std::vector<float> c1(size_t(m) * n), c2(c1.size());
    auto run = [&](float *c, ThreadPool *p) {
      if (sm == &csr)
        spmmCsrAvx2(sm->view, n, b.data(), n, c, n, e, p, nullptr);
      else
        spmmBlock4x1Avx2(sm->view, n, b.data(), n, c, n, e, p);
    };
    run(c1.data(), nullptr);
    run(c2.data(), &pool);
    EXPECT_EQ(std::memcmp(c1.data(), c2.data(), c1.size() * sizeof(float)), 0);
  }
}

} // namespace
