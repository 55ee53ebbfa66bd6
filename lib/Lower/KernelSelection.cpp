//===- KernelSelection.cpp - Dense or sparse, per layer -------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The crossover rule of KernelSelection.h. The table itself is data, measured
// by benchmarks/SparseCrossover.cpp and committed as KernelThresholds.inc.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Lower/KernelSelection.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <cassert>

namespace sparseloom {

using format::Encoding;
using format::KernelId;

llvm::StringRef kernelPolicyName(KernelPolicy policy) {
  switch (policy) {
  case KernelPolicy::Auto:
    return "auto";
  case KernelPolicy::Reference:
    return "reference";
  case KernelPolicy::Dense:
    return "dense";
  case KernelPolicy::Sparse:
    return "sparse";
  case KernelPolicy::Csr:
    return "csr";
  case KernelPolicy::Block4x1:
    return "block4x1";
  }
  return "?";
}

std::optional<KernelPolicy> parseKernelPolicy(llvm::StringRef name) {
  for (KernelPolicy p :
       {KernelPolicy::Auto, KernelPolicy::Reference, KernelPolicy::Dense,
        KernelPolicy::Sparse, KernelPolicy::Csr, KernelPolicy::Block4x1})
    if (name == kernelPolicyName(p))
      return p;
  return std::nullopt;
}

const KernelThresholds::Row &KernelThresholds::rowFor(ActivationLayout layout,
                                                      int64_t n) const {
  const std::vector<Row> &table =
      layout == ActivationLayout::Columns ? columns : rows;
  assert(!table.empty() && "a thresholds table needs rows for each layout");
  for (const Row &row : table)
    if (n <= row.maxColumns)
      return row;
  return table.back();
}

namespace {

/// Adds one row of KernelThresholds.inc; `layout` is "conv" or "rows".
void addRow(KernelThresholds &t, llvm::StringRef layout, int64_t maxColumns,
            double csr, double block) {
  assert((layout == "conv" || layout == "rows") && "unknown layout");
  (layout == "conv" ? t.columns : t.rows).push_back({maxColumns, csr, block});
}

} // namespace

const KernelThresholds &builtinKernelThresholds() {
  static const KernelThresholds table = [] {
    KernelThresholds t;
#define SL_THRESHOLDS_SOURCE(text) t.source = text;
#define SL_THRESHOLD_ROW(layout, maxColumns, csr, block)                       \
  addRow(t, #layout, maxColumns, csr, block);
#include "KernelThresholds.inc"
#undef SL_THRESHOLDS_SOURCE
#undef SL_THRESHOLD_ROW
    return t;
  }();
  return table;
}

namespace {

std::string fmt(double value) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << llvm::format("%.3f", value);
  return os.str();
}

KernelDecision make(KernelId kernel, Encoding encoding, std::string reason) {
  KernelDecision d;
  d.kernel = kernel;
  d.encoding = encoding;
  d.reason = std::move(reason);
  return d;
}

KernelDecision csr(std::string why) {
  return make(KernelId::SpmmCsrAvx2, Encoding::Csr, std::move(why));
}

KernelDecision block(std::string why) {
  return make(KernelId::SpmmBlock4x1Avx2, Encoding::BlockSparse,
              std::move(why));
}

} // namespace

KernelDecision chooseProductKernel(const ProductShape &shape,
                                   const WeightStats &stats,
                                   KernelPolicy policy,
                                   const KernelThresholds &thresholds) {
  const KernelThresholds::Row &row = thresholds.rowFor(shape.layout, shape.n);
  // Relative cost of each sparse kernel against the dense one (= 1): its
  // density over its crossover density for this N, which a dense path
  // faster than the calibrated SGEMM lowers.
  const double speedup = shape.denseSpeedup > 0 ? shape.denseSpeedup : 1.0;
  const double csrCost = stats.density * speedup / row.csrMaxDensity;
  const double blockCost =
      stats.block4x1Possible
          ? stats.block4x1Density * speedup / row.block4x1MaxDensity
          : 1e300;
  const std::string densities =
      "density " + fmt(stats.density) +
      (stats.pattern.empty() ? "" : " (" + stats.pattern + ")") +
      (stats.block4x1Possible
           ? ", 4x1-block density " + fmt(stats.block4x1Density)
           : "");
  const std::string table =
      std::string(shape.layout == ActivationLayout::Columns ? "conv" : "rows") +
      " N=" + std::to_string(shape.n) + ": crossover csr " +
      fmt(row.csrMaxDensity) + ", block4x1 " + fmt(row.block4x1MaxDensity) +
      (speedup != 1.0
           ? ", divided by " + fmt(speedup) + " (dense runs as Winograd)"
           : "");

  switch (policy) {
  case KernelPolicy::Reference:
    return make(KernelId::Reference, Encoding::Dense, "forced: reference");
  case KernelPolicy::Dense:
    return make(KernelId::DenseGemmAvx2, Encoding::PackedPanels,
                "forced: dense");
  case KernelPolicy::Csr:
    return csr("forced: csr");
  case KernelPolicy::Block4x1:
    if (stats.block4x1Possible)
      return block("forced: block4x1");
    return csr("forced: block4x1, but rows % 4 != 0, so csr");
  case KernelPolicy::Sparse:
    if (blockCost < csrCost)
      return block("forced: sparse; 4x1 cheaper than csr (" + densities + "; " +
                   table + ")");
    return csr("forced: sparse; csr (" + densities + "; " + table + ")");
  case KernelPolicy::Auto:
    break;
  }
  if (csrCost >= 1.0 && blockCost >= 1.0)
    return make(KernelId::DenseGemmAvx2, Encoding::PackedPanels,
                densities + " above the crossovers (" + table + ")");
  if (blockCost < csrCost)
    return block(densities + "; 4x1 blocks cheapest (" + table + ")");
  return csr(densities + " below the csr crossover (" + table + ")");
}

} // namespace sparseloom
