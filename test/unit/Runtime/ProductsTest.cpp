//===- ProductsTest.cpp - Conv, Gemm, MatMul on every path and encoding ---===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The product ops route to the fast kernels by KernelId and read four weight
// encodings. Every (kernel, encoding) pair the loader accepts is run here
// against a naive loop nest over the dense weight, on shapes that hit the
// glue's special cases: 1x1 stride-1 convolutions (no im2col), padded,
// strided, dilated and grouped ones, single-row Gemm (no transposes), Gemm
// with every C shape, batched and broadcast MatMul. On a CPU without
// AVX2+FMA the fast ids fall back to Reference, and the same checks hold.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestUtil.h"

#include "sparseloom/Runtime/OpRegistry.h"

#include "Runtime/Kernels/FastKernels.h"
#include "Runtime/Kernels/FastOps.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>

namespace sparseloom {
namespace test {
namespace {

using namespace format;
using Dims = std::vector<int64_t>;

void expectClose(const std::vector<float> &got, const std::vector<float> &want,
                 float tol = 1e-4f) {
  ASSERT_EQ(got.size(), want.size());
  size_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i)
    if (!(std::fabs(got[i] - want[i]) <=
          tol * std::max(1.f, std::fabs(want[i]))) &&
        bad++ < 5)
      ADD_FAILURE() << "at " << i << ": got " << got[i] << ", want " << want[i];
}

float activate(float v, Activation act, float lo, float hi) {
  if (act == Activation::Relu)
    return v > 0 ? v : 0;
  if (act == Activation::Clip)
    return std::min(std::max(v, lo), hi);
  return v;
}

/// Adds a weight tensor of `dims` holding `matrix` ([rows, cols]) in the
/// given encoding.
uint32_t addWeight(ProgramBuilder &b, Encoding enc, const Dims &dims,
                   const std::vector<float> &matrix, uint32_t rows,
                   uint32_t cols, const std::vector<float> &denseValues) {
  switch (enc) {
  case Encoding::Csr:
    return b.csrWeight("w", dims, matrix, rows, cols);
  case Encoding::BlockSparse:
    return b.blockWeight("w", dims, matrix, rows, cols);
  case Encoding::PackedPanels:
    return b.packedWeight("w", dims, matrix, rows, cols);
  default:
    return b.weight("w", dims, denseValues);
  }
}

/// The kernel/encoding pairs a weight product accepts.
std::vector<std::pair<KernelId, Encoding>> productPaths(bool block4) {
  std::vector<std::pair<KernelId, Encoding>> paths = {
      {KernelId::Reference, Encoding::Dense},
      {KernelId::Reference, Encoding::Csr},
      {KernelId::Reference, Encoding::PackedPanels},
      {KernelId::DenseGemmAvx2, Encoding::Dense},
      {KernelId::DenseGemmAvx2, Encoding::PackedPanels},
      {KernelId::SpmmCsrAvx2, Encoding::Csr},
  };
  if (block4) {
    paths.push_back({KernelId::Reference, Encoding::BlockSparse});
    paths.push_back({KernelId::SpmmBlock4x1Avx2, Encoding::BlockSparse});
  }
  return paths;
}

// --- Conv
// -------------------------------------------------------------------------

/// The run configurations every path is checked in: 1 and 2 threads, and
/// with every op forced onto its Reference kernel (what a CPU without
/// AVX2+FMA runs, reading the same encoded weights).
struct RunConfig {
  unsigned threads;
  uint32_t loadFlags;
};
const RunConfig kConfigs[] = {{1, 0}, {2, 0}, {1, SL_LOAD_REFERENCE_KERNELS}};

struct ConvCase {
  int64_t n, c, h, w, m, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, group;
};

int64_t convOut(int64_t in, int64_t k, int64_t s, int64_t p0, int64_t p1,
                int64_t d) {
  return (in + p0 + p1 - ((k - 1) * d + 1)) / s + 1;
}

std::vector<float> naiveConv(const ConvCase &c, const std::vector<float> &x,
                             const std::vector<float> &w,
                             const std::vector<float> &bias, Activation act,
                             float lo, float hi) {
  int64_t oh = convOut(c.h, c.kh, c.sh, c.pt, c.pb, c.dh);
  int64_t ow = convOut(c.w, c.kw, c.sw, c.pl, c.pr, c.dw);
  int64_t cg = c.c / c.group, mg = c.m / c.group;
  std::vector<float> y;
  for (int64_t n = 0; n < c.n; ++n)
    for (int64_t m = 0; m < c.m; ++m)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double acc = bias.empty() ? 0 : bias[m];
          int64_t g = m / mg;
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t ki = 0; ki < c.kh; ++ki)
              for (int64_t kj = 0; kj < c.kw; ++kj) {
                int64_t h = i * c.sh - c.pt + ki * c.dh;
                int64_t ww = j * c.sw - c.pl + kj * c.dw;
                if (h < 0 || h >= c.h || ww < 0 || ww >= c.w)
                  continue;
                acc +=
                    double(x[((n * c.c + g * cg + ci) * c.h + h) * c.w + ww]) *
                    w[((m * cg + ci) * c.kh + ki) * c.kw + kj];
              }
          y.push_back(activate(float(acc), act, lo, hi));
        }
  return y;
}

/// A program of one Conv with `kernel`, its weight stored as `enc`.
std::vector<uint8_t> convProgram(const ConvCase &c, KernelId kernel,
                                 Encoding enc, const std::vector<float> &w,
                                 const std::vector<float> &bias, Activation act,
                                 float lo, float hi) {
  ProgramBuilder b;
  uint32_t in = b.input("x", DType::F32, {c.n, c.c, c.h, c.w});
  uint32_t rows = uint32_t(c.m), cols = uint32_t(c.c / c.group * c.kh * c.kw);
  uint32_t wt =
      addWeight(b, enc, {c.m, c.c / c.group, c.kh, c.kw}, w, rows, cols, w);
  std::vector<uint32_t> ins{in, wt};
  if (!bias.empty())
    ins.push_back(b.weight("b", {c.m}, bias));
  uint32_t out =
      b.activation("y", DType::F32,
                   {c.n, c.m, convOut(c.h, c.kh, c.sh, c.pt, c.pb, c.dh),
                    convOut(c.w, c.kw, c.sw, c.pl, c.pr, c.dw)});
  ConvParams p{};
  p.kernel[0] = int32_t(c.kh);
  p.kernel[1] = int32_t(c.kw);
  p.strides[0] = int32_t(c.sh);
  p.strides[1] = int32_t(c.sw);
  p.pads[0] = int32_t(c.pt);
  p.pads[1] = int32_t(c.pl);
  p.pads[2] = int32_t(c.pb);
  p.pads[3] = int32_t(c.pr);
  p.dilations[0] = int32_t(c.dh);
  p.dilations[1] = int32_t(c.dw);
  p.group = int32_t(c.group);
  p.activation = act;
  p.actMin = lo;
  p.actMax = hi;
  b.op(Opcode::Conv, ins, {out}, p, kernel);
  b.output(out);
  return b.build();
}

RunResult runConv(const ConvCase &c, KernelId kernel, Encoding enc,
                  const std::vector<float> &x, const std::vector<float> &w,
                  const std::vector<float> &bias, Activation act, float lo,
                  float hi, unsigned threads, uint32_t loadFlags = 0) {
  return runProgram(convProgram(c, kernel, enc, w, bias, act, lo, hi),
                    {Bytes::of(x)}, threads, 0, loadFlags);
}

TEST(Products, ConvOnEveryPathMatchesTheNaiveLoops) {
  const ConvCase cases[] = {
      // n, c, h, w, m, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, group
      {1, 8, 6, 7, 12, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1},   // 1x1: no im2col
      {2, 3, 9, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},    // padded 3x3
      {1, 4, 11, 10, 16, 3, 3, 2, 2, 1, 0, 1, 1, 1, 1, 1}, // strided
      {1, 5, 9, 12, 4, 3, 2, 1, 2, 2, 1, 0, 1, 2, 1, 1},   // dilated, odd pads
      {1, 6, 8, 8, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3},    // grouped (ref only)
      {1, 8, 5, 5, 8, 2, 2, 2, 1, 0, 0, 0, 0, 1, 1, 1},    // 1x1-free, stride
      {1, 16, 1, 40, 20, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1}, // long 1x1 row
  };
  uint32_t seed = 100;
  for (const ConvCase &c : cases) {
    auto x = randomFloats(size_t(c.n * c.c * c.h * c.w), seed++);
    auto w = randomFloats(size_t(c.m * c.c / c.group * c.kh * c.kw), seed++);
    sparsify(w, 0.6, seed++);
    auto bias = randomFloats(size_t(c.m), seed++);
    for (auto [kernel, enc] : productPaths(c.m % 4 == 0)) {
      if (c.group != 1 && kernel != KernelId::Reference)
        continue;
      for (Activation act :
           {Activation::None, Activation::Relu, Activation::Clip}) {
        for (RunConfig cfg : kConfigs) {
          SCOPED_TRACE(testing::Message()
                       << "case c=" << c.c << " m=" << c.m << " k=" << c.kh
                       << "x" << c.kw << " kernel " << int(kernel) << " enc "
                       << int(enc) << " act " << int(act) << " threads "
                       << cfg.threads << " flags " << cfg.loadFlags);
          RunResult r = runConv(c, kernel, enc, x, w, bias, act, -0.5f, 0.7f,
                                cfg.threads, cfg.loadFlags);
          ASSERT_TRUE(r.ok()) << r.message;
          expectClose(r.out<float>(),
                      naiveConv(c, x, w, bias, act, -0.5f, 0.7f));
        }
      }
    }
    // Without a bias.
    RunResult r = runConv(c, KernelId::Reference, Encoding::Dense, x, w, {},
                          Activation::None, 0, 0, 1);
    ASSERT_TRUE(r.ok()) << r.message;
    expectClose(r.out<float>(), naiveConv(c, x, w, {}, Activation::None, 0, 0));
  }
}

TEST(Products, DepthwiseConvOnBothPaths) {
  const ConvCase cases[] = {
      {1, 8, 9, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 8},
      {2, 6, 12, 11, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 6},
      {1, 4, 10, 10, 4, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 4},
      {1, 4, 10, 13, 4, 3, 3, 3, 3, 0, 1, 2, 0, 2, 2, 4},
  };
  uint32_t seed = 200;
  for (const ConvCase &c : cases) {
    auto x = randomFloats(size_t(c.n * c.c * c.h * c.w), seed++);
    auto w = randomFloats(size_t(c.m * c.kh * c.kw), seed++);
    auto bias = randomFloats(size_t(c.m), seed++);
    for (KernelId k : {KernelId::Reference, KernelId::DepthwiseAvx2})
      for (RunConfig cfg : kConfigs) {
        RunResult r =
            runConv(c, k, Encoding::Dense, x, w, bias, Activation::Clip, 0.f,
                    6.f, cfg.threads, cfg.loadFlags);
        ASSERT_TRUE(r.ok()) << r.message;
        expectClose(r.out<float>(),
                    naiveConv(c, x, w, bias, Activation::Clip, 0.f, 6.f));
      }
  }
}

TEST(Products, ConvFastPathsAreBitIdenticalAcrossThreadCounts) {
  const ConvCase c{1, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  auto x = randomFloats(size_t(c.c * c.h * c.w), 300);
  auto w = randomFloats(size_t(c.m * c.c * 9), 301);
  sparsify(w, 0.8, 302);
  auto bias = randomFloats(size_t(c.m), 303);
  for (auto [kernel, enc] : productPaths(true)) {
    RunResult one =
        runConv(c, kernel, enc, x, w, bias, Activation::Relu, 0, 0, 1);
    RunResult two =
        runConv(c, kernel, enc, x, w, bias, Activation::Relu, 0, 0, 2);
    ASSERT_TRUE(one.ok() && two.ok()) << one.message << two.message;
    EXPECT_EQ(one.outputs[0].data, two.outputs[0].data)
        << "kernel " << int(kernel) << " encoding " << int(enc);
  }
}

// An image whose unfolded matrix exceeds 2 MiB is multiplied in chunks; with
// several threads each thread unfolds and multiplies whole chunks on its own
// slice of the scratch (Conv.cpp, chunksPerThread), in chunks cut for the
// thread count. Independent columns, same sums: bit-identical to 1 thread,
// over two images, an odd thread count and a strided, padded conv.
TEST(Products, DenseConvInChunksPerThreadIsBitIdentical) {
  const ConvCase cases[] = {
      // n, c, h, w, m, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, group
      {2, 64, 40, 40, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
      {1, 3, 160, 150, 16, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1},
  };
  for (const ConvCase &c : cases) {
    auto x = randomFloats(size_t(c.n * c.c * c.h * c.w), 310);
    auto w = randomFloats(size_t(c.m * c.c * c.kh * c.kw), 311);
    auto bias = randomFloats(size_t(c.m), 312);
    RunResult one = runConv(c, KernelId::DenseGemmAvx2, Encoding::PackedPanels,
                            x, w, bias, Activation::Relu, 0, 0, 1);
    ASSERT_TRUE(one.ok()) << one.message;
    expectClose(one.out<float>(),
                naiveConv(c, x, w, bias, Activation::Relu, 0, 0));
    for (unsigned threads : {2u, 3u}) {
      RunResult more =
          runConv(c, KernelId::DenseGemmAvx2, Encoding::PackedPanels, x, w,
                  bias, Activation::Relu, 0, 0, threads);
      ASSERT_TRUE(more.ok()) << more.message;
      EXPECT_EQ(one.outputs[0].data, more.outputs[0].data)
          << "c " << c.c << " threads " << threads;
    }
  }
}

// Dense 3x3 stride-1 convs with at least 32 channels in and out and an
// output of at least 8x8 run as Winograd F(2x2, 3x3) on AVX-512 CPUs
// (Ops/ConvWinograd.h): odd sizes (cut edge tiles), asymmetric and no
// padding, two images, both weight encodings, every activation; close to
// the naive loops, and bit-identical for any thread count.
TEST(Products, WinogradConvMatchesTheNaiveLoops) {
  const ConvCase cases[] = {
      // n, c, h, w, m, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, group
      {1, 32, 8, 8, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
      {2, 40, 11, 9, 36, 3, 3, 1, 1, 1, 0, 1, 1, 1, 1, 1},
      {1, 64, 17, 16, 48, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1},
      {1, 33, 40, 37, 70, 3, 3, 1, 1, 2, 1, 0, 2, 1, 1, 1},
  };
  uint32_t seed = 400;
  for (const ConvCase &c : cases) {
    auto x = randomFloats(size_t(c.n * c.c * c.h * c.w), seed++);
    auto w = randomFloats(size_t(c.m * c.c * 9), seed++);
    auto bias = randomFloats(size_t(c.m), seed++);
    for (Encoding enc : {Encoding::PackedPanels, Encoding::Dense})
      for (Activation act :
           {Activation::None, Activation::Relu, Activation::Clip}) {
        SCOPED_TRACE(testing::Message()
                     << "c=" << c.c << " m=" << c.m << " " << c.h << "x" << c.w
                     << " enc " << int(enc) << " act " << int(act));
        RunResult one = runConv(c, KernelId::DenseGemmAvx2, enc, x, w, bias,
                                act, -0.5f, 0.7f, 1);
        ASSERT_TRUE(one.ok()) << one.message;
        expectClose(one.out<float>(),
                    naiveConv(c, x, w, bias, act, -0.5f, 0.7f));
        for (unsigned threads : {2u, 3u}) {
          RunResult more = runConv(c, KernelId::DenseGemmAvx2, enc, x, w, bias,
                                   act, -0.5f, 0.7f, threads);
          ASSERT_TRUE(more.ok()) << more.message;
          EXPECT_EQ(one.outputs[0].data, more.outputs[0].data)
              << "threads " << threads;
        }
      }
  }
}

/// What Conv's im2col path computes for one image with a sparse weight:
/// the whole image unfolded into [C*kh*kw, OH*OW] (zeros in the pads), then
/// the same sparse kernel over it. Built from the dense weight the way
/// ProgramBuilder encodes it (nonzero blocks in column order per row).
std::vector<float> im2colSparseConv(const ConvCase &c,
                                    const std::vector<float> &x,
                                    const std::vector<float> &w,
                                    const std::vector<float> &bias,
                                    uint32_t blockRows) {
  const int64_t oh = convOut(c.h, c.kh, c.sh, c.pt, c.pb, c.dh);
  const int64_t ow = convOut(c.w, c.kw, c.sw, c.pl, c.pr, c.dw);
  const int64_t k = c.c * c.kh * c.kw, n = oh * ow;
  std::vector<uint32_t> rowPtr{0}, colIdx;
  std::vector<float> values;
  for (int64_t br = 0; br < c.m / blockRows; ++br) {
    for (int64_t col = 0; col < k; ++col) {
      bool nonzero = false;
      for (uint32_t r = 0; r < blockRows; ++r)
        nonzero |= w[size_t((br * blockRows + r) * k + col)] != 0.f;
      if (!nonzero)
        continue;
      colIdx.push_back(uint32_t(col));
      for (uint32_t r = 0; r < blockRows; ++r)
        values.push_back(w[size_t((br * blockRows + r) * k + col)]);
    }
    rowPtr.push_back(uint32_t(colIdx.size()));
  }
  runtime::SparseMatrixView view;
  view.rows = uint32_t(c.m);
  view.cols = uint32_t(k);
  view.blockRows = blockRows;
  view.rowPtr = rowPtr.data();
  view.colIdx = colIdx.data();
  view.values = values.data();
  runtime::Epilogue e;
  e.bias = bias.data();
  e.activation = Activation::Relu;
  std::vector<float> y(size_t(c.n * c.m * n)), cols(size_t(k * n));
  for (int64_t img = 0; img < c.n; ++img) {
    for (int64_t row = 0; row < k; ++row) {
      const int64_t ch = row / (c.kh * c.kw), i = row / c.kw % c.kh,
                    j = row % c.kw;
      for (int64_t p = 0; p < n; ++p) {
        const int64_t ih = p / ow * c.sh - c.pt + i * c.dh;
        const int64_t iw = p % ow * c.sw - c.pl + j * c.dw;
        cols[size_t(row * n + p)] =
            ih < 0 || ih >= c.h || iw < 0 || iw >= c.w
                ? 0.f
                : x[size_t(((img * c.c + ch) * c.h + ih) * c.w + iw)];
      }
    }
    float *out = y.data() + img * c.m * n;
    if (blockRows == 4)
      runtime::spmmBlock4x1Avx2(view, uint32_t(n), cols.data(), size_t(n), out,
                                size_t(n), e, nullptr);
    else
      runtime::spmmCsrAvx2(view, uint32_t(n), cols.data(), size_t(n), out,
                           size_t(n), e, nullptr, nullptr);
  }
  return y;
}

// Sparse convs other than 1x1/stride-1 run without im2col, on phase planes
// (Conv.cpp); the products see the same nonzeros in the same order and the
// same values, so where the kernel's sums do not depend on a column's
// position (the AVX-512 CSR rows, the 4x1 block rows) the output is
// bit-identical to im2col's, at any thread count.
TEST(Products, SparseConvWithoutIm2colMatchesIm2colBitwise) {
  if (!runtime::cpuHasAvx2Fma())
    GTEST_SKIP() << "no AVX2+FMA: sparse convs run Reference";
  const ConvCase cases[] = {
      // n, c, h, w, m, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, group
      {1, 7, 13, 11, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},  // pad 1
      {2, 5, 9, 17, 8, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1},    // pad 0
      {1, 6, 10, 9, 16, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1},   // dilation 2
      {1, 4, 12, 15, 8, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1},   // 5x5
      {1, 3, 23, 21, 16, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1},  // 7x7 stem
      {1, 8, 15, 14, 12, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},  // 3x3 stride 2
      {1, 8, 14, 14, 16, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1},  // 1x1 stride 2
      {1, 5, 11, 19, 8, 3, 2, 3, 1, 0, 1, 2, 0, 2, 1, 1},   // odd everything
      {1, 64, 20, 20, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, // several blocks
      {1, 4, 1, 40, 8, 1, 3, 1, 1, 0, 1, 0, 1, 1, 2, 1},    // 1-D-like
  };
  const bool csrBitwise = runtime::cpuHasAvx512Ops();
  uint32_t seed = 400;
  for (const ConvCase &c : cases) {
    auto x = randomFloats(size_t(c.n * c.c * c.h * c.w), seed++);
    auto w = randomFloats(size_t(c.m * c.c * c.kh * c.kw), seed++);
    sparsify(w, 0.85, seed++);
    auto bias = randomFloats(size_t(c.m), seed++);
    for (uint32_t blockRows : {1u, 4u}) {
      const KernelId kernel =
          blockRows == 4 ? KernelId::SpmmBlock4x1Avx2 : KernelId::SpmmCsrAvx2;
      const Encoding enc =
          blockRows == 4 ? Encoding::BlockSparse : Encoding::Csr;
      const std::vector<float> want =
          im2colSparseConv(c, x, w, bias, blockRows);
      for (unsigned threads : {1u, 2u}) {
        SCOPED_TRACE(testing::Message()
                     << "case c=" << c.c << " " << c.h << "x" << c.w << " k="
                     << c.kh << "x" << c.kw << " s=" << c.sh << "x" << c.sw
                     << " blockRows " << blockRows << " threads " << threads);
        RunResult r = runConv(c, kernel, enc, x, w, bias, Activation::Relu, 0,
                              0, threads);
        ASSERT_TRUE(r.ok()) << r.message;
        if (blockRows == 4 || csrBitwise)
          EXPECT_EQ(r.out<float>(), want);
        else
          expectClose(r.out<float>(), want);
        expectClose(r.out<float>(),
                    naiveConv(c, x, w, bias, Activation::Relu, 0, 0));
      }
    }
  }
}

/// An allocator that follows every block with 4 MiB of canary bytes and
/// checks them when the block is freed: a kernel writing past the scratch
/// its op sized fails the test instead of corrupting the heap.
struct CanaryAllocator {
  static constexpr size_t kGuard = size_t(4) << 20;
  static constexpr unsigned char kByte = 0xA5;
  std::map<void *, std::pair<size_t, size_t>> blocks; // size, guard bytes
  size_t damaged = 0;
  static void *alloc(size_t size, size_t alignment, void *user) {
    auto *self = static_cast<CanaryAllocator *>(user);
    const size_t a = alignment < 64 ? 64 : alignment;
    const size_t total = (size + kGuard + a - 1) / a * a;
    auto *p = static_cast<unsigned char *>(std::aligned_alloc(a, total));
    if (!p)
      return nullptr;
    std::memset(p + size, kByte, total - size);
    self->blocks[p] = {size, total - size};
    return p;
  }
  static void free(void *ptr, void *user) {
    auto *self = static_cast<CanaryAllocator *>(user);
    auto it = self->blocks.find(ptr);
    if (it == self->blocks.end()) {
      ADD_FAILURE() << "freed memory it did not allocate";
      return;
    }
    const auto *guard = static_cast<unsigned char *>(ptr) + it->second.first;
    for (size_t i = 0; i < it->second.second; ++i)
      self->damaged += guard[i] != kByte;
    self->blocks.erase(it);
    std::free(ptr);
  }
  sl_allocator get() { return {alloc, free, this}; }
};

// A sparse conv that phase planes do not take (stride 5) runs on im2col
// chunks of 512 columns and a last one of 452, whose rows of B are not
// 64-byte aligned while the chunk's are: the CSR product then copies them
// into scratch, which the op must have sized for that last chunk too.
TEST(Products, SparseConvScratchCoversTheRaggedLastChunk) {
  if (!runtime::cpuHasAvx2Fma())
    GTEST_SKIP() << "no AVX2+FMA: sparse convs run Reference";
  const ConvCase c{1, 64, 250, 250, 8, 3, 3, 5, 5, 0, 0, 0, 0, 1, 1, 1};
  auto x = randomFloats(size_t(c.c * c.h * c.w), 900);
  auto w = randomFloats(size_t(c.m * c.c * c.kh * c.kw), 901);
  sparsify(w, 0.8, 902);
  auto bias = randomFloats(size_t(c.m), 903);
  const std::vector<uint8_t> blob = convProgram(
      c, KernelId::SpmmCsrAvx2, Encoding::Csr, w, bias, Activation::None, 0, 0);
  for (unsigned threads : {1u, 2u}) {
    CanaryAllocator canary;
    sl_allocator alloc = canary.get();
    RunResult r = runProgram(blob, {Bytes::of(x)}, threads, 0, 0, &alloc);
    ASSERT_TRUE(r.ok()) << r.message;
    expectClose(r.out<float>(),
                naiveConv(c, x, w, bias, Activation::None, 0, 0));
    EXPECT_EQ(canary.damaged, 0u) << threads << " thread(s)";
  }
}

// PointwiseDepthwise (a sparse 1x1 conv and its depthwise reader as one
// op) writes into scratch: B realigned (14 x 14 planes) or its tail
// column gathered (7 x 7), and per thread a block of expanded planes. Under
// an allocator that checks the bytes after each block it must stay inside
// what it sized, for 1-3 threads, batch 2, and give the same bits for any
// thread count, close to the reference loops.
TEST(Products, PointwiseDepthwiseStaysInItsScratch) {
  if (!runtime::cpuHasAvx2Fma())
    GTEST_SKIP() << "no AVX2+FMA: the op runs Reference";
  struct Shape {
    int64_t size, stride, m;
  };
  for (const Shape &shape : {Shape{7, 1, 40}, Shape{14, 1, 40},
                             Shape{14, 2, 40}, Shape{40, 2, 96}}) {
    SCOPED_TRACE(::testing::Message() << shape.size << "x" << shape.size
                                      << " stride " << shape.stride);
    PointwiseDepthwiseSpec spec;
    spec.n = 2;
    spec.k = 24;
    spec.h = spec.w = shape.size;
    spec.m = shape.m;
    spec.stride = shape.stride;
    const std::vector<uint8_t> blob = pointwiseDepthwiseProgram(spec);
    const auto x = randomFloats(size_t(spec.n * spec.k * spec.h * spec.w), 7);
    CanaryAllocator refCanary;
    sl_allocator refAlloc = refCanary.get();
    RunResult ref = runProgram(blob, {Bytes::of(x)}, 1, 0,
                               SL_LOAD_REFERENCE_KERNELS, &refAlloc);
    ASSERT_TRUE(ref.ok()) << ref.message;
    EXPECT_EQ(refCanary.damaged, 0u) << "Reference kernels";
    std::vector<float> first;
    for (unsigned threads : {1u, 2u, 3u}) {
      CanaryAllocator canary;
      sl_allocator alloc = canary.get();
      RunResult r = runProgram(blob, {Bytes::of(x)}, threads, 0, 0, &alloc);
      ASSERT_TRUE(r.ok()) << r.message;
      expectClose(r.out<float>(), ref.out<float>());
      if (first.empty())
        first = r.out<float>();
      else
        EXPECT_EQ(r.out<float>(), first) << threads << " threads";
      EXPECT_EQ(canary.damaged, 0u) << threads << " thread(s)";
    }
  }
}

/// Padded planes (Encoding::PaddedPlanes) on every product kernel: a
/// depthwise conv writes them for a 1x1 conv that reads them in place and,
/// with `chain`, that 1x1 conv writes them for another one. The output has
/// the bits of the same program with dense planes, at 1 and 2 threads and
/// on the Reference kernels.
TEST(Products, PaddedPlanesOnEveryProductKernel) {
  const Bytes x = Bytes::of(randomFloats(8 * 49, 9));
  for (KernelId kernel : {KernelId::SpmmCsrAvx2, KernelId::SpmmBlock4x1Avx2,
                          KernelId::DenseGemmAvx2, KernelId::Reference})
    for (bool chain : {false, true}) {
      PaddedTailSpec padded;
      padded.pwKernel = kernel;
      padded.chain = chain;
      PaddedTailSpec dense = padded;
      dense.padded = false;
      for (uint32_t loadFlags : {0u, uint32_t(SL_LOAD_REFERENCE_KERNELS)})
        for (unsigned threads : {1u, 2u}) {
          SCOPED_TRACE(::testing::Message()
                       << runtime::kernelIdName(kernel) << " chain " << chain
                       << " load flags " << loadFlags << " threads "
                       << threads);
          RunResult want =
              runProgram(paddedTail(dense), {x}, threads, 0, loadFlags);
          RunResult got =
              runProgram(paddedTail(padded), {x}, threads, 0, loadFlags);
          ASSERT_TRUE(want.ok()) << want.message;
          ASSERT_TRUE(got.ok()) << got.message;
          EXPECT_EQ(want.outputs.at(0).data, got.outputs.at(0).data);
        }
    }
}

TEST(Products, OneDimensionalConv) {
  ProgramBuilder b;
  uint32_t x = b.input("x", DType::F32, {1, 2, 6});
  std::vector<float> w{1, 0, -1, 0.5f, 0.5f, 0.5f};
  uint32_t wt = b.weight("w", {1, 2, 3}, w);
  uint32_t y = b.activation("y", DType::F32, {1, 1, 6});
  ConvParams p{};
  p.kernel[0] = 1;
  p.kernel[1] = 3;
  p.strides[0] = p.strides[1] = 1;
  p.dilations[0] = p.dilations[1] = 1;
  p.pads[1] = p.pads[3] = 1;
  p.group = 1;
  b.op(Opcode::Conv, {x, wt}, {y}, p);
  b.output(y);
  std::vector<float> xv{1, 2, 3, 4, 5, 6, 1, 1, 1, 1, 1, 1};
  RunResult r = runProgram(b.build(), {Bytes::of(xv)});
  ASSERT_TRUE(r.ok()) << r.message;
  std::vector<float> want;
  for (int i = 0; i < 6; ++i) {
    float acc = 0;
    for (int c = 0; c < 2; ++c)
      for (int k = 0; k < 3; ++k) {
        int j = i - 1 + k;
        if (j >= 0 && j < 6)
          acc += xv[c * 6 + j] * w[c * 3 + k];
      }
    want.push_back(acc);
  }
  expectClose(r.out<float>(), want);
}

TEST(Products, ConvWithAnActivationWeightRunsOnReference) {
  // ONNX conformance models feed W as a graph input.
  ProgramBuilder b;
  uint32_t x = b.input("x", DType::F32, {1, 1, 4, 4});
  uint32_t w = b.input("w", DType::F32, {1, 1, 2, 2});
  uint32_t y = b.activation("y", DType::F32, {1, 1, 3, 3});
  ConvParams p{};
  p.kernel[0] = p.kernel[1] = 2;
  p.strides[0] = p.strides[1] = 1;
  p.dilations[0] = p.dilations[1] = 1;
  p.group = 1;
  b.op(Opcode::Conv, {x, w}, {y}, p);
  b.output(y);
  std::vector<float> xv(16);
  for (int i = 0; i < 16; ++i)
    xv[i] = float(i);
  RunResult r = runProgram(
      b.build(), {Bytes::of(xv), Bytes::of(std::vector<float>{1, 0, 0, 1})});
  ASSERT_TRUE(r.ok()) << r.message;
  expectClose(r.out<float>(), {5, 7, 9, 13, 15, 17, 21, 23, 25});
  // A fast kernel needs a constant weight.
  ProgramBuilder c;
  x = c.input("x", DType::F32, {1, 1, 4, 4});
  w = c.input("w", DType::F32, {1, 1, 2, 2});
  y = c.activation("y", DType::F32, {1, 1, 3, 3});
  c.op(Opcode::Conv, {x, w}, {y}, p, KernelId::DenseGemmAvx2);
  c.output(y);
  r = runProgram(c.build(), {});
  EXPECT_EQ(r.status, SL_ERROR_INVALID_PROGRAM);
  EXPECT_NE(r.message.find("needs a constant weight operand"),
            std::string::npos)
      << r.message;
}

// --- Gemm
// ---------------------------------------------------------------------------

struct GemmCase {
  int64_t m, k, n;
  bool transA, transB;
  Dims cDims; // empty: no C
  float alpha, beta;
};

std::vector<float> naiveGemm(const GemmCase &g, const std::vector<float> &a,
                             const std::vector<float> &b,
                             const std::vector<float> &c, Activation act) {
  std::vector<float> y;
  for (int64_t i = 0; i < g.m; ++i)
    for (int64_t j = 0; j < g.n; ++j) {
      double acc = 0;
      for (int64_t k = 0; k < g.k; ++k)
        acc += double(g.transA ? a[k * g.m + i] : a[i * g.k + k]) *
               (g.transB ? b[j * g.k + k] : b[k * g.n + j]);
      acc *= g.alpha;
      if (!g.cDims.empty()) {
        int64_t ci = 0;
        if (g.cDims.size() == 2)
          ci = (g.cDims[0] == 1 ? 0 : i) * g.cDims[1] +
               (g.cDims[1] == 1 ? 0 : j);
        else if (g.cDims.size() == 1)
          ci = g.cDims[0] == 1 ? 0 : j;
        acc += g.beta * c[ci];
      }
      y.push_back(activate(float(acc), act, 0, 0));
    }
  return y;
}

TEST(Products, GemmOnEveryPathAndCShape) {
  const GemmCase cases[] = {
      {1, 16, 8, false, true, {8}, 1, 1},       // FC, batch 1, fused bias
      {5, 12, 8, false, true, {1, 8}, 1, 0.5f}, // beta folded into the bias
      {4, 7, 12, true, false, {4, 1}, 1, 1},    // C per row: post pass
      {3, 9, 4, false, false, {3, 4}, 2, 1},    // alpha: post pass
      {6, 10, 8, true, true, {}, 1, 1},         // no C
      {2, 5, 4, false, true, {1}, 1, 2},        // scalar C
      {33, 64, 20, false, true, {20}, 1, 1},    // many rows
  };
  uint32_t seed = 400;
  for (const GemmCase &g : cases) {
    auto a = randomFloats(size_t(g.m * g.k), seed++);
    // The weight as stored (ONNX B) and as the [N, K] matrix.
    auto bm = randomFloats(size_t(g.n * g.k), seed++); // [N, K]
    sparsify(bm, 0.5, seed++);
    std::vector<float> bStored(bm.size());
    for (int64_t j = 0; j < g.n; ++j)
      for (int64_t k = 0; k < g.k; ++k)
        (g.transB ? bStored[j * g.k + k] : bStored[k * g.n + j]) =
            bm[j * g.k + k];
    int64_t cCount = 1;
    for (int64_t d : g.cDims)
      cCount *= d;
    auto c = randomFloats(size_t(cCount), seed++);
    for (auto [kernel, enc] : productPaths(g.n % 4 == 0)) {
      for (Activation act : {Activation::None, Activation::Relu}) {
        for (RunConfig cfg : kConfigs) {
          ProgramBuilder b;
          uint32_t ain = b.input("a", DType::F32,
                                 g.transA ? Dims{g.k, g.m} : Dims{g.m, g.k});
          Dims bDims = g.transB ? Dims{g.n, g.k} : Dims{g.k, g.n};
          uint32_t bw = addWeight(b, enc, bDims, bm, uint32_t(g.n),
                                  uint32_t(g.k), bStored);
          std::vector<uint32_t> ins{ain, bw};
          if (!g.cDims.empty())
            ins.push_back(b.weight("c", g.cDims, c));
          uint32_t y = b.activation("y", DType::F32, {g.m, g.n});
          GemmParams p{};
          p.transA = g.transA;
          p.transB = g.transB;
          p.alpha = g.alpha;
          p.beta = g.beta;
          p.activation = act;
          b.op(Opcode::Gemm, ins, {y}, p, kernel);
          b.output(y);
          SCOPED_TRACE(testing::Message()
                       << "m=" << g.m << " k=" << g.k << " n=" << g.n
                       << " kernel " << int(kernel) << " enc " << int(enc)
                       << " threads " << cfg.threads << " flags "
                       << cfg.loadFlags);
          RunResult r = runProgram(b.build(), {Bytes::of(a)}, cfg.threads, 0,
                                   cfg.loadFlags);
          ASSERT_TRUE(r.ok()) << r.message;
          expectClose(r.out<float>(), naiveGemm(g, a, bStored, c, act));
        }
      }
    }
  }
}

TEST(Products, GemmOfTwoActivations) {
  const GemmCase g{7, 9, 5, true, true, {7, 5}, 0.5f, 2};
  auto a = randomFloats(63, 500), bv = randomFloats(45, 501),
       c = randomFloats(35, 502);
  for (KernelId kernel : {KernelId::Reference, KernelId::DenseGemmAvx2}) {
    ProgramBuilder b;
    uint32_t ain = b.input("a", DType::F32, {9, 7});
    uint32_t bin = b.input("b", DType::F32, {5, 9});
    uint32_t cin = b.input("c", DType::F32, {7, 5});
    uint32_t y = b.activation("y", DType::F32, {7, 5});
    GemmParams p{};
    p.transA = p.transB = 1;
    p.alpha = g.alpha;
    p.beta = g.beta;
    b.op(Opcode::Gemm, {ain, bin, cin}, {y}, p, kernel);
    b.output(y);
    RunResult r =
        runProgram(b.build(), {Bytes::of(a), Bytes::of(bv), Bytes::of(c)}, 2);
    ASSERT_TRUE(r.ok()) << r.message;
    expectClose(r.out<float>(), naiveGemm(g, a, bv, c, Activation::None));
  }
}

TEST(Products, EncodedWeightMustBeOutputChannelsByReduction) {
  ProgramBuilder b;
  uint32_t a = b.input("a", DType::F32, {1, 6});
  // Gemm B is [6, 4] without transB, so the matrix must be 4 x 6; this CSR
  // stores it 6 x 4.
  uint32_t w = b.csrWeight("w", {6, 4}, std::vector<float>(24, 1.f), 6, 4);
  uint32_t y = b.activation("y", DType::F32, {1, 4});
  GemmParams p{};
  p.alpha = p.beta = 1;
  b.op(Opcode::Gemm, {a, w}, {y}, p, KernelId::SpmmCsrAvx2, "fc");
  b.output(y);
  RunResult r = runProgram(b.build(), {});
  EXPECT_EQ(r.status, SL_ERROR_INVALID_PROGRAM);
  EXPECT_NE(r.message.find("op 'fc' (Gemm): the sparse weight is 6x4, "
                           "expected 4x6"),
            std::string::npos)
      << r.message;
}

// --- MatMul
// ---------------------------------------------------------------------------

std::vector<float> naiveMatMul(const Dims &ad, const std::vector<float> &a,
                               const Dims &bd, const std::vector<float> &b,
                               const Dims &outBatch) {
  // Both operands have rank >= 2 here.
  int64_t m = ad[ad.size() - 2], k = ad.back(), n = bd.back();
  int64_t batches = 1;
  for (int64_t d : outBatch)
    batches *= d;
  std::vector<float> y;
  for (int64_t bi = 0; bi < batches; ++bi) {
    // Decompose bi over outBatch, map into each operand with broadcasting.
    std::vector<int64_t> idx(outBatch.size());
    int64_t rest = bi;
    for (int d = int(outBatch.size()) - 1; d >= 0; --d) {
      idx[d] = rest % outBatch[d];
      rest /= outBatch[d];
    }
    auto matrixIndex = [&](const Dims &dims) {
      int64_t off = 0;
      size_t rb = dims.size() - 2, shift = outBatch.size() - rb;
      for (size_t d = 0; d < rb; ++d)
        off = off * dims[d] + (dims[d] == 1 ? 0 : idx[d + shift]);
      return off;
    };
    const float *ab = a.data() + matrixIndex(ad) * m * k;
    const float *bb = b.data() + matrixIndex(bd) * k * n;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t kk = 0; kk < k; ++kk)
          acc += double(ab[i * k + kk]) * bb[kk * n + j];
        y.push_back(float(acc));
      }
  }
  return y;
}

TEST(Products, BatchedAndBroadcastMatMulOfActivations) {
  struct Case {
    Dims a, b, batch;
  } cases[] = {
      {{2, 3, 4, 5}, {2, 3, 5, 6}, {2, 3}},
      {{3, 1, 4, 5}, {2, 5, 6}, {3, 2}},
      {{4, 5}, {2, 5, 3}, {2}},
      {{1, 12, 16, 8}, {1, 12, 8, 16}, {1, 12}},
  };
  uint32_t seed = 600;
  for (const Case &c : cases) {
    int64_t na = 1, nb = 1;
    for (int64_t d : c.a)
      na *= d;
    for (int64_t d : c.b)
      nb *= d;
    auto a = randomFloats(size_t(na), seed++),
         bv = randomFloats(size_t(nb), seed++);
    Dims out = c.batch;
    out.push_back(c.a[c.a.size() - 2]);
    out.push_back(c.b.back());
    for (KernelId kernel : {KernelId::Reference, KernelId::DenseGemmAvx2}) {
      ProgramBuilder b;
      uint32_t ain = b.input("a", DType::F32, c.a);
      uint32_t bin = b.input("b", DType::F32, c.b);
      uint32_t y = b.activation("y", DType::F32, out);
      b.op(Opcode::MatMul, {ain, bin}, {y}, nullptr, 0, kernel);
      b.output(y);
      RunResult r = runProgram(b.build(), {Bytes::of(a), Bytes::of(bv)}, 2);
      ASSERT_TRUE(r.ok()) << r.message;
      expectClose(r.out<float>(), naiveMatMul(c.a, a, c.b, bv, c.batch));
    }
  }
}

TEST(Products, MatMulVectorPromotion) {
  ProgramBuilder b;
  uint32_t a = b.input("a", DType::F32, {3});
  uint32_t m = b.input("m", DType::F32, {2, 3, 4});
  uint32_t v = b.input("v", DType::F32, {4});
  uint32_t y1 = b.activation("y1", DType::F32, {2, 4}); // [3] x [2,3,4]
  uint32_t y2 = b.activation("y2", DType::F32, {2, 3}); // [2,3,4] x [4]
  b.op(Opcode::MatMul, {a, m}, {y1});
  b.op(Opcode::MatMul, {m, v}, {y2});
  b.output(y1);
  b.output(y2);
  auto av = randomFloats(3, 700), mv = randomFloats(24, 701),
       vv = randomFloats(4, 702);
  RunResult r =
      runProgram(b.build(), {Bytes::of(av), Bytes::of(mv), Bytes::of(vv)});
  ASSERT_TRUE(r.ok()) << r.message;
  std::vector<float> want1, want2;
  for (int bi = 0; bi < 2; ++bi) {
    for (int j = 0; j < 4; ++j) {
      float acc = 0;
      for (int k = 0; k < 3; ++k)
        acc += av[k] * mv[bi * 12 + k * 4 + j];
      want1.push_back(acc);
    }
    for (int i = 0; i < 3; ++i) {
      float acc = 0;
      for (int k = 0; k < 4; ++k)
        acc += mv[bi * 12 + i * 4 + k] * vv[k];
      want2.push_back(acc);
    }
  }
  expectClose(r.out<float>(0), want1);
  expectClose(r.out<float>(1), want2);
}

TEST(Products, MatMulWithAWeightOnEveryPath) {
  // A transformer's projection: [1, T, K] x W[K, N].
  for (int64_t t : {1, 7, 64}) {
    const int64_t k = 24, n = 16;
    auto a = randomFloats(size_t(t * k), 800 + uint32_t(t));
    auto wm = randomFloats(size_t(n * k), 801); // [N, K]
    sparsify(wm, 0.7, 802);
    std::vector<float> wStored(wm.size()); // ONNX [K, N]
    for (int64_t j = 0; j < n; ++j)
      for (int64_t kk = 0; kk < k; ++kk)
        wStored[kk * n + j] = wm[j * k + kk];
    for (auto [kernel, enc] : productPaths(true)) {
      for (RunConfig cfg : kConfigs) {
        ProgramBuilder b;
        uint32_t ain = b.input("a", DType::F32, {1, t, k});
        uint32_t w =
            addWeight(b, enc, {k, n}, wm, uint32_t(n), uint32_t(k), wStored);
        uint32_t y = b.activation("y", DType::F32, {1, t, n});
        b.op(Opcode::MatMul, {ain, w}, {y}, nullptr, 0, kernel);
        b.output(y);
        SCOPED_TRACE(testing::Message() << "t=" << t << " kernel "
                                        << int(kernel) << " enc " << int(enc));
        RunResult r = runProgram(b.build(), {Bytes::of(a)}, cfg.threads, 0,
                                 cfg.loadFlags);
        ASSERT_TRUE(r.ok()) << r.message;
        expectClose(r.out<float>(),
                    naiveMatMul({1, t, k}, a, {k, n}, wStored, {1}));
      }
    }
  }
}

} // namespace
} // namespace test
} // namespace sparseloom
