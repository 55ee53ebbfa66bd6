//===- KernelChoiceTest.cpp - The dense/sparse cost model -----------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The decisions the compiler relies on: dense weights stay dense, 90 %
// sparse 1x1-convolution and fully-connected layers go sparse (the issue's
// target shapes), the block kernel is never picked when it cannot run, and
// the estimate grows with density. Portable: no AVX2 needed.
//
//===----------------------------------------------------------------------===//

#include "FastKernels.h"

#include "gtest/gtest.h"

using namespace sparseloom;
using namespace sparseloom::runtime;
using format::KernelId;

namespace {

TEST(KernelChoice, DenseWeightsStayDense) {
  EXPECT_EQ(recommendLinearKernel(256, 64, 3136, 1.0, 1.0),
            KernelId::DenseGemmAvx2);
  EXPECT_EQ(recommendLinearKernel(768, 768, 128, 1.0, 1.0),
            KernelId::DenseGemmAvx2);
  EXPECT_EQ(recommendLinearKernel(1000, 2048, 1, 1.0, 1.0),
            KernelId::DenseGemmAvx2);
}

TEST(KernelChoice, NinetyPercentSparseGoesSparse) {
  const struct {
    uint32_t m, k, n;
  } shapes[] = {{256, 64, 3136},  {2048, 512, 49}, {768, 768, 128},
                {3072, 768, 128}, {1000, 2048, 1}, {96, 576, 196}};
  for (auto s : shapes) {
    KernelId id = recommendLinearKernel(s.m, s.k, s.n, 0.1, 0.35);
    EXPECT_NE(id, KernelId::DenseGemmAvx2) << s.m << "x" << s.k << "x" << s.n;
  }
}

TEST(KernelChoice, BlockKernelOnlyWhenItCanRun) {
  // A block density above 1 rules it out, and so does M % 4 != 0.
  EXPECT_NE(recommendLinearKernel(256, 256, 256, 0.1, 2.0),
            KernelId::SpmmBlock4x1Avx2);
  EXPECT_NE(recommendLinearKernel(258, 256, 256, 0.1, 0.1),
            KernelId::SpmmBlock4x1Avx2);
  // Structured 4x1 sparsity (block density = density) favours blocks.
  EXPECT_EQ(recommendLinearKernel(256, 256, 256, 0.1, 0.1),
            KernelId::SpmmBlock4x1Avx2);
}

TEST(KernelChoice, EstimateGrowsWithDensity) {
  for (KernelId id : {KernelId::SpmmCsrAvx2, KernelId::SpmmBlock4x1Avx2}) {
    double prev = 0;
    for (double d : {0.05, 0.1, 0.3, 0.5, 1.0}) {
      double ns = estimateLinearKernelNs(id, 512, 512, 196, d, d);
      EXPECT_GT(ns, prev);
      prev = ns;
    }
  }
}

} // namespace
