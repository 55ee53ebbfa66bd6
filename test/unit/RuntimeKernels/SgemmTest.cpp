//===- SgemmTest.cpp - Dense SGEMM kernels against a naive product --------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The packed SGEMM (both operand layouts), the unpacked SGEMM (transposes,
// alpha, beta) and the transpose helper, over shapes chosen to hit every
// edge of the blocking: sizes 1, odd sizes, partial 6-row panels, 8- and
// 16-column tails, K and N across block boundaries (kKC = 256, kNC = 1024),
// padded leading dimensions, misaligned scratch, one and two threads. Every
// case also checks that nothing outside C or past the scratch is written.
// On a CPU with AVX-512F the entry points run the AVX-512 kernels; the
// *Avx512 tests call those directly, and ctest runs the binary once more with
// SPARSELOOM_NO_AVX512=1 so that the AVX2 kernels stay covered.
//
//===----------------------------------------------------------------------===//

#include "KernelTestUtils.h"
#include "ThreadPool.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

using namespace sparseloom;
using namespace sparseloom::runtime;
using namespace sparseloom::runtime::testing;

namespace {

struct Shape {
  uint32_t m, n, k;
};

/// Scratch of exactly `bytes`, deliberately 4 bytes off a cache line, with
/// guard floats behind it.
struct Scratch {
  std::vector<float> buf;
  size_t floats;
  explicit Scratch(size_t bytes) : floats((bytes + 3) / 4) {
    buf.assign(1 + floats + 16, kGuard);
  }
  float *data() { return buf.data() + 1; }
  bool intact() const {
    if (buf[0] != kGuard)
      return false;
    for (size_t i = 1 + floats; i < buf.size(); ++i)
      if (buf[i] != kGuard)
        return false;
    return true;
  }
};

const Shape kShapes[] = {
    {1, 1, 1},
    {1, 2, 1},
    {6, 16, 4},
    {5, 9, 3},
    {7, 17, 13},
    {13, 8, 9},
    {12, 15, 255},
    {2, 33, 256},
    {19, 31, 257},
    {64, 64, 64},
    {37, 100, 600},
    {6, 1030, 20},
    {100, 49, 147},
    {48, 1, 300},
    {7, 1, 5},
    {96, 200, 33},
    // The AVX-512 tiles: 64 columns and 48/32/16-column tails, K blocks of
    // at most 128 cut evenly.
    {6, 64, 128},
    {13, 65, 129},
    {30, 130, 300},
    {7, 48, 7},
    {12, 112, 200},
    // Extra columns past the last whole vector (1-3 of them): ResNet's
    // N = 49, and narrower ones.
    {9, 35, 300},
    {6, 3, 130},
    {512, 49, 300},
};

/// Which implementation a case runs: the public entry point (AVX-512 where
/// the CPU has it) or the AVX-512 one directly.
enum class Isa { Dispatch, Avx512 };

#define SKIP_WITHOUT_AVX512()                                                  \
  do {                                                                         \
    if (!cpuHasAvx512f())                                                      \
      GTEST_SKIP() << "no AVX-512F on this CPU (or SPARSELOOM_NO_AVX512)";     \
  } while (0)

/// want[m][n] = epilogue(sum_k W[m][k] * B[k][n]) in double.
std::vector<double> referenceProduct(const std::vector<float> &w,
                                     const std::vector<float> &bMat,
                                     const Shape &s, const Epilogue &e) {
  std::vector<double> want(size_t(s.m) * s.n);
  for (uint32_t i = 0; i < s.m; ++i)
    for (uint32_t j = 0; j < s.n; ++j) {
      double sum = 0;
      for (uint32_t kk = 0; kk < s.k; ++kk)
        sum += double(w[size_t(i) * s.k + kk]) * bMat[size_t(kk) * s.n + j];
      want[size_t(i) * s.n + j] = applyEpilogue(sum, i, e);
    }
  return want;
}

struct EpilogueCase {
  bool bias;
  format::Activation act;
};

const EpilogueCase kEpilogues[] = {
    {false, format::Activation::None},
    {true, format::Activation::None},
    {true, format::Activation::Relu},
    {false, format::Activation::Clip},
};

void runPackedCase(const Shape &s, bool transB, bool transC,
                   const EpilogueCase &ec, ThreadPool *pool,
                   Isa isa = Isa::Dispatch) {
  SCOPED_TRACE(::testing::Message()
               << "m=" << s.m << " n=" << s.n << " k=" << s.k
               << " transB=" << transB << " transC=" << transC
               << " bias=" << ec.bias << " act=" << int(ec.act)
               << " threads=" << (pool ? pool->threads() : 1));
  std::vector<float> w = randomVector(size_t(s.m) * s.k, s.m * 31 + s.k);
  std::vector<float> bMat = randomVector(size_t(s.k) * s.n, s.n * 17 + s.k);
  std::vector<float> bias = randomVector(s.m, 99);
  Epilogue e;
  e.bias = ec.bias ? bias.data() : nullptr;
  e.activation = ec.act;
  e.actMin = -0.5f;
  e.actMax = 0.75f;

  std::vector<float> packed(packedWeightBytes(s.m, s.k) / sizeof(float));
  packWeight(w.data(), s.m, s.k, packed.data());

  // Operands with padded leading dimensions, in the requested layout.
  const size_t ldb = (transB ? s.k : s.n) + 3;
  const size_t bRows = transB ? s.n : s.k;
  std::vector<float> b(bRows * ldb, std::numeric_limits<float>::quiet_NaN());
  for (uint32_t kk = 0; kk < s.k; ++kk)
    for (uint32_t j = 0; j < s.n; ++j)
      b[transB ? j * ldb + kk : kk * ldb + j] = bMat[size_t(kk) * s.n + j];
  const size_t cRows = transC ? s.n : s.m, cCols = transC ? s.m : s.n;
  const size_t ldc = cCols + 5;
  std::vector<float> c(cRows * ldc, kGuard);

  const unsigned threads = pool ? pool->threads() : 1;
  Scratch scratch(sgemmScratchBytes(s.m, s.n, s.k, threads));
  // The AVX-512 entry point leaves n == 1 to the AVX2 one.
  if (isa == Isa::Avx512 && s.n > 1)
    sgemmPackedTransAvx512(packed.data(), s.m, s.n, s.k, b.data(), ldb, transB,
                           c.data(), ldc, transC, e, scratch.data(), pool);
  else
    sgemmPackedTransAvx2(packed.data(), s.m, s.n, s.k, b.data(), ldb, transB,
                         c.data(), ldc, transC, e, scratch.data(), pool);

  std::vector<double> want = referenceProduct(w, bMat, s, e);
  if (transC) {
    std::vector<double> wantT(want.size());
    for (uint32_t i = 0; i < s.m; ++i)
      for (uint32_t j = 0; j < s.n; ++j)
        wantT[size_t(j) * s.m + i] = want[size_t(i) * s.n + j];
    want.swap(wantT);
  }
  EXPECT_TRUE(closeEnough(want, c.data(), cRows, cCols, ldc, s.k));
  EXPECT_TRUE(guardsIntact(c, cRows, cCols, ldc));
  EXPECT_TRUE(scratch.intact()) << "scratch overrun";
}

TEST(PackWeight, LayoutIsSixRowPanelsKMajor) {
  const uint32_t m = 7, k = 3;
  std::vector<float> w(m * k);
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = float(i + 1);
  ASSERT_EQ(packedWeightPanelWidth(), 6u);
  ASSERT_EQ(packedWeightBytes(m, k), 12u * k * sizeof(float));
  std::vector<float> out(packedWeightBytes(m, k) / sizeof(float), -1.f);
  packWeight(w.data(), m, k, out.data());
  for (uint32_t row = 0; row < 12; ++row)
    for (uint32_t kk = 0; kk < k; ++kk) {
      float want = row < m ? w[row * k + kk] : 0.f;
      EXPECT_EQ(out[(row / 6) * k * 6 + kk * 6 + row % 6], want)
          << "row " << row << " k " << kk;
    }
  EXPECT_EQ(packedWeightLayoutTag() >> 16, 6u);
}

TEST(SgemmPacked, MatchesNaiveProduct) {
  SKIP_WITHOUT_AVX2();
  ThreadPool pool(2);
  for (const Shape &s : kShapes)
    for (const EpilogueCase &ec : kEpilogues) {
      runPackedCase(s, false, false, ec, nullptr);
      runPackedCase(s, false, false, ec, &pool);
    }
}

TEST(SgemmPacked, TransposedOperands) {
  SKIP_WITHOUT_AVX2();
  ThreadPool pool(2);
  for (const Shape &s : kShapes)
    for (int layout = 1; layout < 4; ++layout) {
      bool transB = layout & 1, transC = layout & 2;
      runPackedCase(s, transB, transC, kEpilogues[2], nullptr);
      runPackedCase(s, transB, transC, kEpilogues[1], &pool);
    }
}

TEST(SgemmPackedAvx512, MatchesNaiveProduct) {
  SKIP_WITHOUT_AVX512();
  ThreadPool pool(2);
  for (const Shape &s : kShapes) {
    for (const EpilogueCase &ec : kEpilogues) {
      runPackedCase(s, false, false, ec, nullptr, Isa::Avx512);
      runPackedCase(s, false, false, ec, &pool, Isa::Avx512);
    }
    for (int layout = 1; layout < 4; ++layout) {
      bool transB = layout & 1, transC = layout & 2;
      runPackedCase(s, transB, transC, kEpilogues[2], nullptr, Isa::Avx512);
      runPackedCase(s, transB, transC, kEpilogues[3], &pool, Isa::Avx512);
    }
  }
}

// The columns past a tile's last whole vector (N = 49: 3 x 16 + 1) are
// computed as row vectors; they must get the same bits as when the same
// column is part of a full vector (N = 64 with the same first 49 columns),
// through several K blocks and the epilogue.
TEST(SgemmPackedAvx512, ExtraColumnsSameBitsAsVectors) {
  SKIP_WITHOUT_AVX512();
  const uint32_t m = 20, k = 300;
  std::vector<float> w = randomVector(size_t(m) * k, 41);
  std::vector<float> packed(packedWeightBytes(m, k) / sizeof(float));
  packWeight(w.data(), m, k, packed.data());
  std::vector<float> bias = randomVector(m, 42);
  Epilogue e;
  e.bias = bias.data();
  e.activation = format::Activation::Relu;
  for (uint32_t n : {49u, 35u, 2u}) {
    SCOPED_TRACE(::testing::Message() << "n=" << n);
    const uint32_t wide = 64;
    std::vector<float> b = randomVector(size_t(k) * wide, 43);
    std::vector<float> narrow(size_t(k) * n);
    for (uint32_t kk = 0; kk < k; ++kk)
      std::memcpy(&narrow[size_t(kk) * n], &b[size_t(kk) * wide],
                  n * sizeof(float));
    std::vector<float> cWide(size_t(m) * wide), cNarrow(size_t(m) * n);
    Scratch s1(sgemmScratchBytes(m, wide, k, 1)),
        s2(sgemmScratchBytes(m, n, k, 1));
    sgemmPackedTransAvx512(packed.data(), m, wide, k, b.data(), wide, false,
                           cWide.data(), wide, false, e, s1.data(), nullptr);
    sgemmPackedTransAvx512(packed.data(), m, n, k, narrow.data(), n, false,
                           cNarrow.data(), n, false, e, s2.data(), nullptr);
    for (uint32_t i = 0; i < m; ++i)
      EXPECT_EQ(std::memcmp(&cWide[size_t(i) * wide], &cNarrow[size_t(i) * n],
                            n * sizeof(float)),
                0)
          << "row " << i;
  }
}

TEST(SgemmPacked, EmptyK) {
  SKIP_WITHOUT_AVX2();
  // K = 0: the output is the epilogue of zero.
  const uint32_t m = 5, n = 9;
  float bias[m] = {1, -2, 3, -4, 5};
  Epilogue e;
  e.bias = bias;
  e.activation = format::Activation::Relu;
  std::vector<float> c(m * n, kGuard);
  float dummy = 0;
  Scratch scratch(sgemmScratchBytes(m, n, 0, 1));
  sgemmPackedAvx2(&dummy, m, n, 0, &dummy, n, c.data(), n, e, scratch.data(),
                  nullptr);
  for (uint32_t i = 0; i < m; ++i)
    for (uint32_t j = 0; j < n; ++j)
      EXPECT_EQ(c[i * n + j], bias[i] > 0 ? bias[i] : 0.f);
}

TEST(SgemmPacked, SameBitsForAnyThreadCount) {
  SKIP_WITHOUT_AVX2();
  // Large enough that two threads split both M and N; and a late-ResNet
  // shape (N of at most four 64-column tiles, many weight panels), which
  // the AVX-512 kernel splits over weight rows only.
  for (const Shape &s : {Shape{150, 300, 520}, Shape{256, 196, 2304}}) {
    SCOPED_TRACE(::testing::Message()
                 << "m=" << s.m << " n=" << s.n << " k=" << s.k);
    std::vector<float> w = randomVector(size_t(s.m) * s.k, 5);
    std::vector<float> b = randomVector(size_t(s.k) * s.n, 6);
    std::vector<float> packed(packedWeightBytes(s.m, s.k) / sizeof(float));
    packWeight(w.data(), s.m, s.k, packed.data());
    Epilogue e;
    std::vector<float> c1(size_t(s.m) * s.n), c2(c1.size());
    Scratch scratch1(sgemmScratchBytes(s.m, s.n, s.k, 1));
    sgemmPackedAvx2(packed.data(), s.m, s.n, s.k, b.data(), s.n, c1.data(), s.n,
                    e, scratch1.data(), nullptr);
    ThreadPool pool(2);
    Scratch scratch2(sgemmScratchBytes(s.m, s.n, s.k, 2));
    for (int rep = 0; rep < 3; ++rep) {
      sgemmPackedAvx2(packed.data(), s.m, s.n, s.k, b.data(), s.n, c2.data(),
                      s.n, e, scratch2.data(), &pool);
      EXPECT_EQ(std::memcmp(c1.data(), c2.data(), c1.size() * sizeof(float)),
                0);
    }
  }
}

void runUnpackedCase(const Shape &s, bool transA, bool transB, float alpha,
                     float beta, ThreadPool *pool, Isa isa = Isa::Dispatch) {
  SCOPED_TRACE(::testing::Message()
               << "m=" << s.m << " n=" << s.n << " k=" << s.k
               << " transA=" << transA << " transB=" << transB
               << " alpha=" << alpha << " beta=" << beta
               << " threads=" << (pool ? pool->threads() : 1));
  std::vector<float> aMat = randomVector(size_t(s.m) * s.k, s.m + 7 * s.k);
  std::vector<float> bMat = randomVector(size_t(s.k) * s.n, s.n + 3 * s.k);
  std::vector<float> c0 = randomVector(size_t(s.m) * s.n, 11);
  const size_t lda = (transA ? s.m : s.k) + 2;
  const size_t ldb = (transB ? s.k : s.n) + 1;
  const size_t ldc = s.n + 4;
  std::vector<float> a((transA ? s.k : s.m) * lda, 0.f);
  for (uint32_t i = 0; i < s.m; ++i)
    for (uint32_t kk = 0; kk < s.k; ++kk)
      a[transA ? kk * lda + i : i * lda + kk] = aMat[size_t(i) * s.k + kk];
  std::vector<float> b((transB ? s.n : s.k) * ldb, 0.f);
  for (uint32_t kk = 0; kk < s.k; ++kk)
    for (uint32_t j = 0; j < s.n; ++j)
      b[transB ? j * ldb + kk : kk * ldb + j] = bMat[size_t(kk) * s.n + j];
  std::vector<float> c(size_t(s.m) * ldc, kGuard);
  for (uint32_t i = 0; i < s.m; ++i)
    for (uint32_t j = 0; j < s.n; ++j)
      // beta = 0 must ignore C, even a NaN in it.
      c[i * ldc + j] = beta == 0.f ? std::numeric_limits<float>::quiet_NaN()
                                   : c0[size_t(i) * s.n + j];
  const unsigned threads = pool ? pool->threads() : 1;
  Scratch scratch(sgemmScratchBytesUnpacked(s.m, s.n, s.k, threads));
  if (isa == Isa::Avx512)
    sgemmAvx512(s.m, s.n, s.k, a.data(), lda, transA, b.data(), ldb, transB,
                c.data(), ldc, alpha, beta, scratch.data(), pool);
  else
    sgemmAvx2(s.m, s.n, s.k, a.data(), lda, transA, b.data(), ldb, transB,
              c.data(), ldc, alpha, beta, scratch.data(), pool);

  std::vector<double> want(size_t(s.m) * s.n);
  for (uint32_t i = 0; i < s.m; ++i)
    for (uint32_t j = 0; j < s.n; ++j) {
      double sum = 0;
      for (uint32_t kk = 0; kk < s.k; ++kk)
        sum += double(aMat[size_t(i) * s.k + kk]) * bMat[size_t(kk) * s.n + j];
      double old = beta == 0.f ? 0.0 : double(beta) * c0[size_t(i) * s.n + j];
      want[size_t(i) * s.n + j] = alpha * sum + old;
    }
  EXPECT_TRUE(closeEnough(want, c.data(), s.m, s.n, ldc, s.k));
  EXPECT_TRUE(guardsIntact(c, s.m, s.n, ldc));
  EXPECT_TRUE(scratch.intact()) << "scratch overrun";
}

const Shape kUnpackedShapes[] = {{1, 1, 1},      {3, 5, 7},       {6, 16, 256},
                                 {17, 33, 300},  {150, 70, 40},   {64, 1, 64},
                                 {9, 1040, 9},   {200, 130, 270}, {128, 64, 64},
                                 {128, 128, 64}, {300, 100, 20},  {7, 80, 129}};

TEST(SgemmUnpacked, TransposesAlphaBeta) {
  SKIP_WITHOUT_AVX2();
  ThreadPool pool(2);
  for (const Shape &s : kUnpackedShapes)
    for (int t = 0; t < 4; ++t) {
      runUnpackedCase(s, t & 1, t & 2, 1.f, 0.f, nullptr);
      runUnpackedCase(s, t & 1, t & 2, 0.5f, 2.f, &pool);
    }
  runUnpackedCase({20, 20, 20}, false, false, -1.5f, 1.f, nullptr);
}

TEST(SgemmUnpackedAvx512, TransposesAlphaBeta) {
  SKIP_WITHOUT_AVX512();
  ThreadPool pool(2);
  for (const Shape &s : kUnpackedShapes)
    for (int t = 0; t < 4; ++t) {
      runUnpackedCase(s, t & 1, t & 2, 1.f, 0.f, nullptr, Isa::Avx512);
      runUnpackedCase(s, t & 1, t & 2, 0.5f, 2.f, &pool, Isa::Avx512);
    }
  runUnpackedCase({20, 20, 20}, false, false, -1.5f, 1.f, nullptr, Isa::Avx512);
}

TEST(SgemmUnpacked, EmptyKScalesC) {
  SKIP_WITHOUT_AVX2();
  std::vector<float> c = {1, 2, 3, 4};
  float dummy = 0;
  Scratch scratch(sgemmScratchBytesUnpacked(2, 2, 0, 1));
  sgemmAvx2(2, 2, 0, &dummy, 1, false, &dummy, 2, false, c.data(), 2, 1.f, 3.f,
            scratch.data(), nullptr);
  EXPECT_EQ(c, (std::vector<float>{3, 6, 9, 12}));
}

TEST(Transpose, MatchesNaive) {
  SKIP_WITHOUT_AVX2();
  ThreadPool pool(2);
  const std::pair<uint32_t, uint32_t> sizes[] = {
      {1, 1}, {1, 9}, {9, 1}, {8, 8}, {13, 27}, {64, 100}, {300, 257}};
  for (auto [rows, cols] : sizes)
    for (ThreadPool *p : {static_cast<ThreadPool *>(nullptr), &pool}) {
      SCOPED_TRACE(::testing::Message() << rows << "x" << cols);
      const size_t lds = cols + 3, ldd = rows + 2;
      std::vector<float> src = randomVector(rows * lds, rows * 100 + cols);
      std::vector<float> dst(cols * ldd, kGuard);
      transposeAvx2(src.data(), rows, cols, lds, dst.data(), ldd, p);
      for (uint32_t r = 0; r < rows; ++r)
        for (uint32_t c = 0; c < cols; ++c)
          ASSERT_EQ(dst[c * ldd + r], src[r * lds + c]);
      EXPECT_TRUE(guardsIntact(dst, cols, rows, ldd));
    }
}

TEST(CpuInfo, AgreesWithCompilerBuiltin) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  bool builtin =
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  EXPECT_EQ(cpuHasAvx2Fma(), builtin);
  // AVX-512F implies AVX2+FMA here, and the environment can switch it off.
  const char *off = std::getenv("SPARSELOOM_NO_AVX512");
  if (off && *off && *off != '0')
    EXPECT_FALSE(cpuHasAvx512f());
  else
    EXPECT_EQ(cpuHasAvx512f(), builtin && __builtin_cpu_supports("avx512f"));
#else
  EXPECT_FALSE(cpuHasAvx2Fma());
  EXPECT_FALSE(cpuHasAvx512f());
#endif
}

} // namespace
