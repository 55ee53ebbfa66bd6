//===- NanPropagationTest.cpp - Fused activations keep NaN ----------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// ONNX Relu/Clip of NaN is NaN, and so are our reference kernels. The fast
// kernels fuse the activation into their epilogue; max/min intrinsics return
// their second operand on NaN, so operand order decides whether a NaN input
// silently becomes 0. Checked on the vector body and the scalar tail (n = 20
// is two 8-wide vectors plus 4).
//
//===----------------------------------------------------------------------===//

#include "FastKernels.h"
#include "KernelTestUtils.h"

#include <cmath>
#include <limits>
#include <vector>

using namespace sparseloom;
using namespace sparseloom::runtime;
using namespace sparseloom::runtime::testing;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

std::vector<Epilogue> activations() {
  Epilogue relu, clip;
  relu.activation = format::Activation::Relu;
  clip.activation = format::Activation::Clip;
  clip.actMin = 0.f;
  clip.actMax = 6.f;
  return {relu, clip};
}

} // namespace

TEST(NanPropagation, PackedSgemmEpilogue) {
  if (!cpuHasAvx2Fma())
    GTEST_SKIP() << "no AVX2+FMA";
  const uint32_t m = 8, n = 20, k = 5;
  std::vector<float> w = randomVector(size_t(m) * k, 3);
  std::vector<float> b = randomVector(size_t(k) * n, 4);
  for (uint32_t col : {3u, 18u}) // in a full vector and in the tail
    b[col] = kNaN;               // row 0: every output row reads it
  std::vector<float> packed(packedWeightBytes(m, k) / sizeof(float) + 16);
  packWeight(w.data(), m, k, packed.data());
  std::vector<float> scratch(sgemmScratchBytes(m, n, k, 1) / 4 + 16);
  for (const Epilogue &e : activations()) {
    std::vector<float> c(size_t(m) * n);
    sgemmPackedAvx2(packed.data(), m, n, k, b.data(), n, c.data(), n, e,
                    scratch.data(), nullptr);
    for (uint32_t i = 0; i < m; ++i)
      for (uint32_t j = 0; j < n; ++j)
        EXPECT_EQ(std::isnan(c[i * n + j]), j == 3 || j == 18)
            << "row " << i << " col " << j;
  }
}

TEST(NanPropagation, CsrSpmmEpilogue) {
  if (!cpuHasAvx2Fma())
    GTEST_SKIP() << "no AVX2+FMA";
  // W [4, 2]: rows 0 and 2 read column 0, rows 1 and 3 only column 1.
  std::vector<uint32_t> rowPtr = {0, 1, 2, 3, 4};
  std::vector<uint32_t> colIdx = {0, 1, 0, 1};
  std::vector<float> values = {0.5f, -1.f, 2.f, 1.5f};
  SparseMatrixView w;
  w.rows = 4;
  w.cols = 2;
  w.rowPtr = rowPtr.data();
  w.colIdx = colIdx.data();
  w.values = values.data();
  const uint32_t n = 20;
  std::vector<float> b = randomVector(size_t(2) * n, 5);
  b[3] = kNaN;
  b[18] = kNaN;
  for (const Epilogue &e : activations()) {
    std::vector<float> c(size_t(4) * n);
    spmmCsrAvx2(w, n, b.data(), n, c.data(), n, e, nullptr, nullptr);
    for (uint32_t i = 0; i < 4; ++i)
      for (uint32_t j = 0; j < n; ++j)
        EXPECT_EQ(std::isnan(c[i * n + j]), i % 2 == 0 && (j == 3 || j == 18))
            << "row " << i << " col " << j;
  }
}

TEST(NanPropagation, DepthwiseEpilogue) {
  if (!cpuHasAvx2Fma())
    GTEST_SKIP() << "no AVX2+FMA";
  const uint32_t h = 6, wd = 20;
  std::vector<float> input = randomVector(size_t(h) * wd, 6);
  input[2 * wd + 9] = kNaN;
  std::vector<float> weight = randomVector(9, 7, 0.1f, 1.f); // no zeros
  format::ConvParams params{};
  params.kernel[0] = params.kernel[1] = 3;
  params.strides[0] = params.strides[1] = 1;
  for (int &p : params.pads)
    p = 1;
  params.dilations[0] = params.dilations[1] = 1;
  params.group = 1;
  for (Epilogue e : activations()) {
    std::vector<float> out(size_t(h) * wd);
    depthwiseConvAvx2(input.data(), 1, h, wd, weight.data(), params, h, wd,
                      out.data(), size_t(h) * wd, e, nullptr);
    for (uint32_t y = 0; y < h; ++y)
      for (uint32_t x = 0; x < wd; ++x) {
        bool near = y >= 1 && y <= 3 && x >= 8 && x <= 10;
        EXPECT_EQ(std::isnan(out[y * wd + x]), near)
            << "at (" << y << ", " << x << ")";
      }
  }
}
