//===- KernelChoice.cpp - Dense or sparse, per layer ----------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// A cost model of the three linear kernels, calibrated by timing them on the
// development machine (benchmarks/KernelBench.cpp; docs/Kernels.md has the
// figures and the command). The compiler asks it once per layer; the
// runtime never does. Single-core rates are used because the ratio between
// the kernels, not the absolute time, decides, and the kernels scale alike.
//
// Each kernel's time is the multiply-adds it actually performs (padding
// included: 6-row panels, 8-column vectors; for the 4x1 kernel the zeros
// stored inside kept blocks) at its measured rate, plus a per-output term:
// for the dense kernel the tile store and call overhead once per K block of
// 256 (it is what makes dense slow at small K), for the sparse kernels their
// row loop. The per-product fixed cost is about the same for all three and
// left out.
//
//===----------------------------------------------------------------------===//

#include "FastKernels.h"

#include <initializer_list>
#include <limits>

namespace sparseloom {
namespace runtime {

namespace {

/// Measured single-core throughputs, in multiply-adds per nanosecond (for
/// the sparse kernels: per stored value and column), and the per-output
/// cost of the sparse kernels' row loop. docs/Kernels.md, "Calibration",
/// has the measurements and the command that repeats them.
struct Rates {
  double denseMacPerNs;       // sgemm_6x16, N >= 8
  double gemvMacPerNs;        // sgemv_6x1 (N = 1), memory-bound
  double csrMacPerNs;         // spmm_1x32 and its tails
  double csrColumnMacPerNs;   // spmv_1x1 (N = 1), gathers
  double blockMacPerNs;       // spmm_4x16 and its tails
  double blockColumnMacPerNs; // spmv_4x1 (N = 1)
  double denseNsPerOutput;    // per output element and K block: tile store,
                              // call overhead (dominates at small K)
  double sparseNsPerOutput;   // per output element: bias, activation, store
};

constexpr Rates kRates = {
    /*denseMacPerNs=*/29.0,
    /*gemvMacPerNs=*/5.5,
    /*csrMacPerNs=*/10.0,
    /*csrColumnMacPerNs=*/2.5,
    /*blockMacPerNs=*/23.0,
    /*blockColumnMacPerNs=*/3.3,
    /*denseNsPerOutput=*/0.35,
    /*sparseNsPerOutput=*/0.05,
};

/// Columns the kernels actually compute: a tail of fewer than 8 columns
/// still costs a full vector.
double paddedColumns(uint32_t n) { return double((uint64_t(n) + 7) / 8 * 8); }

} // namespace

double estimateLinearKernelNs(format::KernelId kernel, uint32_t m, uint32_t k,
                              uint32_t n, double density,
                              double blockDensity4x1) {
  const double M = m, K = k, N = paddedColumns(n);
  const double outputs = M * double(n) * kRates.sparseNsPerOutput;
  switch (kernel) {
  case format::KernelId::DenseGemmAvx2: {
    // Rows come in panels of 6.
    const double rows = double((uint64_t(m) + 5) / 6 * 6);
    if (n == 1)
      return rows * K / kRates.gemvMacPerNs;
    const double kBlocks = double((uint64_t(k) + 255) / 256);
    return rows * K * N / kRates.denseMacPerNs +
           M * double(n) * kBlocks * kRates.denseNsPerOutput;
  }
  case format::KernelId::SpmmCsrAvx2: {
    const double macs = M * K * density;
    if (n == 1)
      return macs / kRates.csrColumnMacPerNs + outputs;
    return macs * N / kRates.csrMacPerNs + outputs;
  }
  case format::KernelId::SpmmBlock4x1Avx2: {
    if (blockDensity4x1 > 1.0 || m % 4 != 0)
      return std::numeric_limits<double>::infinity();
    const double macs = M * K * blockDensity4x1;
    if (n == 1)
      return macs / kRates.blockColumnMacPerNs + outputs;
    return macs * N / kRates.blockMacPerNs + outputs;
  }
  default:
    return std::numeric_limits<double>::infinity();
  }
}

bool convRunsAsWinograd(int64_t c, int64_t m, int64_t kh, int64_t kw,
                        int64_t sh, int64_t sw, int64_t dh, int64_t dw,
                        int64_t group, int64_t oh, int64_t ow) {
  return kh == 3 && kw == 3 && sh == 1 && sw == 1 && dh == 1 && dw == 1 &&
         group == 1 && c >= 32 && m >= 32 && oh >= 8 && ow >= 8;
}

// ResNet-18/50 dense, one thread, per-op profile with and without
// SPARSELOOM_NO_WINOGRAD: the qualifying convs ran 1.5-2.1x faster, median
// 1.9; a little less is taken so that a layer near the crossover stays
// sparse rather than flip on noise.
double winogradDenseSpeedup() { return 1.8; }

format::KernelId recommendLinearKernel(uint32_t m, uint32_t k, uint32_t n,
                                       double density, double blockDensity4x1) {
  format::KernelId best = format::KernelId::DenseGemmAvx2;
  double bestNs =
      estimateLinearKernelNs(best, m, k, n, density, blockDensity4x1);
  for (format::KernelId id :
       {format::KernelId::SpmmCsrAvx2, format::KernelId::SpmmBlock4x1Avx2}) {
    double ns = estimateLinearKernelNs(id, m, k, n, density, blockDensity4x1);
    // Prefer dense on a near tie: it has no index overhead to mispredict.
    if (ns < bestNs * 0.95) {
      best = id;
      bestNs = ns;
    }
  }
  return best;
}

} // namespace runtime
} // namespace sparseloom
