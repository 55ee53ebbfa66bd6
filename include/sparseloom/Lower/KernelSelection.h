//===- KernelSelection.h - Dense or sparse, per layer -----------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The rule that picks the kernel of every product with a constant weight
// (Conv with one group, Gemm, MatMul by a weight): the packed dense SGEMM,
// CSR SpMM or 4x1 block-sparse SpMM. A sparse kernel's time grows with the
// non-zeros it visits while the dense kernel's does not, so the rule is a
// crossover density: below it, the sparse kernel wins. The crossover depends
// on N, the number of columns of the activation operand (output pixels of a
// convolution, rows of a fully-connected layer's input): with few columns
// the dense kernel cannot amortise its packing and the sparse one wins
// earlier. It also depends on the activations' layout: Gemm and MatMul keep
// them as rows, which the sparse kernels need transposed. The table of
// crossovers per layout and N is measured on the target machine by timing
// whole ops with each kernel (benchmarks/SparseCrossover.cpp writes
// lib/Lower/KernelThresholds.inc, which is compiled in); docs/Lowering.md
// states the current figures.
//
// With both sparse kernels eligible, the one with the lower relative cost
// (its density over its crossover) wins: 4x1 blocks store explicit zeros
// when a weight is not block-structured, so their density is the fraction of
// non-zero blocks, never lower than the element density.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_LOWER_KERNELSELECTION_H
#define SPARSELOOM_LOWER_KERNELSELECTION_H

#include "sparseloom/ProgramFormat.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sparseloom {

/// Which kernels products may use. Auto applies the crossover table; the
/// others force a family wherever it can run (tests, calibration, A/B runs).
enum class KernelPolicy {
  Auto,
  Reference, // every op on its portable reference kernel
  Dense,     // products on the packed dense SGEMM
  Sparse,    // products on the cheaper sparse kernel, whatever the density
  Csr,       // products on CSR SpMM
  Block4x1,  // products on 4x1 block SpMM (CSR where rows % 4 != 0)
};

llvm::StringRef kernelPolicyName(KernelPolicy policy);
/// "auto", "reference", "dense", "sparse", "csr", "block4x1".
std::optional<KernelPolicy> parseKernelPolicy(llvm::StringRef name);

/// How a product's activations are laid out, which decides what the runtime
/// does around a sparse kernel and so moves the crossover.
enum class ActivationLayout {
  Columns, // [K, N], N output pixels: a convolution's (im2col'ed) input
  Rows,    // [N, K], N rows: Gemm/MatMul; sparse kernels read it transposed
};

/// Crossover densities by activation layout and number of columns N.
struct KernelThresholds {
  struct Row {
    int64_t maxColumns;        // this row applies to N <= maxColumns
    double csrMaxDensity;      // CSR wins below this element density
    double block4x1MaxDensity; // 4x1 wins below this non-zero-block density
  };
  /// Per layout, ascending maxColumns; the last row also applies above its
  /// bound.
  std::vector<Row> columns;
  std::vector<Row> rows;
  /// Where the figures come from (machine, date, tool).
  std::string source;

  const Row &rowFor(ActivationLayout layout, int64_t n) const;
};

/// The calibrated table compiled in from lib/Lower/KernelThresholds.inc.
const KernelThresholds &builtinKernelThresholds();

/// The product W[m, k] x B[k, n] of one op (per image for a convolution).
struct ProductShape {
  int64_t m = 0; // output channels
  int64_t k = 0; // reduction length
  int64_t n = 0; // activation columns
  ActivationLayout layout = ActivationLayout::Columns;
  /// How much faster than the calibrated SGEMM the dense kernel runs this
  /// product: above 1 for a conv that runs as Winograd; the sparse
  /// kernels' crossover densities are divided by it.
  double denseSpeedup = 1.0;
};

/// What the kernel rule needs to know about the weight.
struct WeightStats {
  double density = 1.0;          // non-zeros / elements
  double block4x1Density = 1.0;  // non-zero 4x1 blocks / blocks
  bool block4x1Possible = false; // m % 4 == 0
  std::string pattern;           // sparsity-analysis pattern, "" if unknown
};

struct KernelDecision {
  format::KernelId kernel = format::KernelId::Reference;
  format::Encoding encoding = format::Encoding::Dense;
  std::string reason;
};

/// The kernel for one product under `policy`.
KernelDecision chooseProductKernel(const ProductShape &shape,
                                   const WeightStats &stats,
                                   KernelPolicy policy,
                                   const KernelThresholds &thresholds);

} // namespace sparseloom

#endif // SPARSELOOM_LOWER_KERNELSELECTION_H
