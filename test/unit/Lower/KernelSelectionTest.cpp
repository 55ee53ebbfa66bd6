//===- KernelSelectionTest.cpp - The dense/sparse rule --------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Lower/KernelSelection.h"

#include "Runtime/Kernels/FastKernels.h"

#include "gtest/gtest.h"

using namespace sparseloom;
using format::Encoding;
using format::KernelId;

namespace {

KernelThresholds table() {
  KernelThresholds t;
  t.columns = {{1, 0.6, 0.5}, {64, 0.4, 0.3}, {1 << 30, 0.2, 0.25}};
  t.rows = {{1, 0.7, 0.6}, {64, 0.1, 0.1}};
  t.source = "test";
  return t;
}

WeightStats stats(double density, double block, bool blockPossible = true) {
  WeightStats s;
  s.density = density;
  s.block4x1Density = block;
  s.block4x1Possible = blockPossible;
  return s;
}

// The row is the first whose bound is >= N, in the layout's own table; the
// last also covers above.
TEST(KernelSelectionTest, RowForColumns) {
  KernelThresholds t = table();
  const auto columns = ActivationLayout::Columns;
  EXPECT_DOUBLE_EQ(t.rowFor(columns, 1).csrMaxDensity, 0.6);
  EXPECT_DOUBLE_EQ(t.rowFor(columns, 2).csrMaxDensity, 0.4);
  EXPECT_DOUBLE_EQ(t.rowFor(columns, 64).csrMaxDensity, 0.4);
  EXPECT_DOUBLE_EQ(t.rowFor(columns, int64_t(1) << 40).csrMaxDensity, 0.2);
  EXPECT_DOUBLE_EQ(t.rowFor(ActivationLayout::Rows, 1).csrMaxDensity, 0.7);
  EXPECT_DOUBLE_EQ(t.rowFor(ActivationLayout::Rows, 1000).csrMaxDensity, 0.1);
}

// The same shape and density can be sparse as a convolution and dense as a
// fully-connected layer (the layouts have their own crossovers).
TEST(KernelSelectionTest, LayoutChoosesTheTable) {
  ProductShape conv{64, 64, 32, ActivationLayout::Columns};
  ProductShape rows{64, 64, 32, ActivationLayout::Rows};
  EXPECT_EQ(chooseProductKernel(conv, stats(0.3, 0.9, false),
                                KernelPolicy::Auto, table())
                .kernel,
            KernelId::SpmmCsrAvx2);
  EXPECT_EQ(chooseProductKernel(rows, stats(0.3, 0.9, false),
                                KernelPolicy::Auto, table())
                .kernel,
            KernelId::DenseGemmAvx2);
}

// Above both crossovers: dense, with packed panels.
TEST(KernelSelectionTest, DenseAboveCrossover) {
  KernelDecision d = chooseProductKernel({64, 64, 1000}, stats(0.5, 0.9),
                                         KernelPolicy::Auto, table());
  EXPECT_EQ(d.kernel, KernelId::DenseGemmAvx2);
  EXPECT_EQ(d.encoding, Encoding::PackedPanels);
  EXPECT_NE(d.reason.find("above the crossovers"), std::string::npos);
}

// Below the CSR crossover with unstructured zeros: CSR.
TEST(KernelSelectionTest, CsrBelowCrossover) {
  KernelDecision d = chooseProductKernel({64, 64, 1000}, stats(0.1, 0.35),
                                         KernelPolicy::Auto, table());
  EXPECT_EQ(d.kernel, KernelId::SpmmCsrAvx2);
  EXPECT_EQ(d.encoding, Encoding::Csr);
}

// Block-structured zeros (block density = element density) favour 4x1.
TEST(KernelSelectionTest, BlockWhenStructured) {
  KernelDecision d = chooseProductKernel({64, 64, 1000}, stats(0.1, 0.1),
                                         KernelPolicy::Auto, table());
  EXPECT_EQ(d.kernel, KernelId::SpmmBlock4x1Avx2);
  EXPECT_EQ(d.encoding, Encoding::BlockSparse);
}

// The same density is sparse for a vector (N = 1) and dense for wide N.
TEST(KernelSelectionTest, CrossoverDependsOnColumns) {
  EXPECT_EQ(chooseProductKernel({64, 64, 1}, stats(0.5, 0.9, false),
                                KernelPolicy::Auto, table())
                .kernel,
            KernelId::SpmmCsrAvx2);
  EXPECT_EQ(chooseProductKernel({64, 64, 4096}, stats(0.5, 0.9, false),
                                KernelPolicy::Auto, table())
                .kernel,
            KernelId::DenseGemmAvx2);
}

// A dense path faster than the calibrated SGEMM (a conv that runs as
// Winograd) divides the crossovers: 0.15 is below the CSR crossover of 0.2
// but not below 0.2 / 1.8, and 0.1 still is.
TEST(KernelSelectionTest, FasterDensePathLowersTheCrossover) {
  ProductShape winograd{64, 576, 3136, ActivationLayout::Columns, 1.8};
  ProductShape im2col{64, 576, 3136, ActivationLayout::Columns};
  EXPECT_EQ(chooseProductKernel(im2col, stats(0.15, 0.9, false),
                                KernelPolicy::Auto, table())
                .kernel,
            KernelId::SpmmCsrAvx2);
  KernelDecision d = chooseProductKernel(winograd, stats(0.15, 0.9, false),
                                         KernelPolicy::Auto, table());
  EXPECT_EQ(d.kernel, KernelId::DenseGemmAvx2);
  EXPECT_NE(d.reason.find("dense runs as Winograd"), std::string::npos)
      << d.reason;
  EXPECT_EQ(chooseProductKernel(winograd, stats(0.1, 0.9, false),
                                KernelPolicy::Auto, table())
                .kernel,
            KernelId::SpmmCsrAvx2);
}

// Which convs run as Winograd (one predicate for runtime and compiler).
TEST(KernelSelectionTest, WinogradConvs) {
  // c, m, kh, kw, sh, sw, dh, dw, group, oh, ow
  EXPECT_TRUE(runtime::convRunsAsWinograd(64, 64, 3, 3, 1, 1, 1, 1, 1, 56, 56));
  EXPECT_TRUE(runtime::convRunsAsWinograd(32, 32, 3, 3, 1, 1, 1, 1, 1, 8, 8));
  EXPECT_FALSE(
      runtime::convRunsAsWinograd(512, 512, 3, 3, 1, 1, 1, 1, 1, 7, 7));
  EXPECT_FALSE(
      runtime::convRunsAsWinograd(16, 64, 3, 3, 1, 1, 1, 1, 1, 56, 56));
  EXPECT_FALSE(
      runtime::convRunsAsWinograd(64, 64, 3, 3, 2, 2, 1, 1, 1, 28, 28));
  EXPECT_FALSE(
      runtime::convRunsAsWinograd(64, 64, 3, 3, 1, 1, 2, 2, 1, 56, 56));
  EXPECT_FALSE(
      runtime::convRunsAsWinograd(64, 64, 3, 3, 1, 1, 1, 1, 2, 56, 56));
  EXPECT_FALSE(
      runtime::convRunsAsWinograd(64, 64, 1, 1, 1, 1, 1, 1, 1, 56, 56));
}

// Forced policies override the table; block falls back to CSR when the
// rows are not a multiple of 4.
TEST(KernelSelectionTest, ForcedPolicies) {
  KernelThresholds t = table();
  EXPECT_EQ(chooseProductKernel({6, 8, 10}, stats(1.0, 1.0, false),
                                KernelPolicy::Reference, t)
                .kernel,
            KernelId::Reference);
  EXPECT_EQ(chooseProductKernel({6, 8, 10}, stats(0.01, 0.01, false),
                                KernelPolicy::Dense, t)
                .kernel,
            KernelId::DenseGemmAvx2);
  EXPECT_EQ(chooseProductKernel({6, 8, 10}, stats(1.0, 1.0, false),
                                KernelPolicy::Csr, t)
                .kernel,
            KernelId::SpmmCsrAvx2);
  KernelDecision block = chooseProductKernel({6, 8, 10}, stats(1.0, 1.0, false),
                                             KernelPolicy::Block4x1, t);
  EXPECT_EQ(block.kernel, KernelId::SpmmCsrAvx2);
  EXPECT_NE(block.reason.find("rows % 4"), std::string::npos);
  EXPECT_EQ(
      chooseProductKernel({8, 8, 10}, stats(0.9, 0.2), KernelPolicy::Sparse, t)
          .kernel,
      KernelId::SpmmBlock4x1Avx2);
}

TEST(KernelSelectionTest, PolicyNames) {
  for (KernelPolicy p :
       {KernelPolicy::Auto, KernelPolicy::Reference, KernelPolicy::Dense,
        KernelPolicy::Sparse, KernelPolicy::Csr, KernelPolicy::Block4x1})
    EXPECT_EQ(parseKernelPolicy(kernelPolicyName(p)), p);
  EXPECT_FALSE(parseKernelPolicy("fastest").has_value());
}

// The built-in table, measured against the AVX-512 dense path, keeps
// BERT-base s50's fully-connected layers (128 rows, density 0.5, 4x1-block
// density 0.94) dense: the AVX2-era table sent them to CSR, which ran
// slower than dense (docs/Lowering.md). At 90 % they stay sparse.
TEST(KernelSelectionTest, BuiltinTableKeepsHalfDenseGemmDense) {
  const KernelThresholds &t = builtinKernelThresholds();
  ProductShape fc{768, 768, 128, ActivationLayout::Rows};
  EXPECT_EQ(
      chooseProductKernel(fc, stats(0.5, 0.94), KernelPolicy::Auto, t).kernel,
      KernelId::DenseGemmAvx2);
  EXPECT_EQ(
      chooseProductKernel(fc, stats(0.1, 0.34), KernelPolicy::Auto, t).kernel,
      KernelId::SpmmCsrAvx2);
}

// The built-in table is well formed: ascending bounds, densities in (0, 1].
TEST(KernelSelectionTest, BuiltinTableIsWellFormed) {
  const KernelThresholds &t = builtinKernelThresholds();
  EXPECT_FALSE(t.source.empty());
  for (const auto *rows : {&t.columns, &t.rows}) {
    ASSERT_FALSE(rows->empty());
    for (size_t i = 0; i < rows->size(); ++i) {
      const KernelThresholds::Row &row = (*rows)[i];
      if (i) {
        EXPECT_GT(row.maxColumns, (*rows)[i - 1].maxColumns);
      }
      EXPECT_GT(row.csrMaxDensity, 0.0);
      EXPECT_LE(row.csrMaxDensity, 1.0);
      EXPECT_GT(row.block4x1MaxDensity, 0.0);
      EXPECT_LE(row.block4x1MaxDensity, 1.0);
    }
  }
}

} // namespace
