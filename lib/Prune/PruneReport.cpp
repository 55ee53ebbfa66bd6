//===- PruneReport.cpp - The per-layer table of one pruning level ---------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Prints what a level did, one row per linear weight, so a user sees at a
// glance which layers were pruned, how close each came to the target, and
// why the others were left alone. Columns are aligned; densities have four
// decimals, enough to tell one weight in a few thousand apart.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Prune/Pruner.h"

#include "PruneInternal.h"

#include "llvm/Support/Format.h"

#include <algorithm>

namespace sparseloom {

using prune::formatShape;

namespace prune {

std::string formatShape(const std::vector<int64_t> &dims) {
  std::string text = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    text += (i ? "," : "") + std::to_string(dims[i]);
  return text + "]";
}

} // namespace prune

namespace {

std::string formatDensity(double density) {
  if (density < 0)
    return "-";
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::format("%.4f", density);
  return os.str();
}

llvm::StringRef statusWord(LayerReport::Status status) {
  switch (status) {
  case LayerReport::Status::Pruned:
    return "";
  case LayerReport::Status::Excluded:
    return "excluded";
  case LayerReport::Status::KeptFirstLast:
    return "kept";
  case LayerReport::Status::BelowMinParams:
    return "small";
  case LayerReport::Status::Skipped:
    return "skipped";
  }
  return "";
}

} // namespace

void printPruneReport(const PruneReport &report, llvm::raw_ostream &os) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back(
      {"node", "weight", "shape", "pattern", "target", "achieved", "note"});
  for (const LayerReport &layer : report.layers) {
    bool pruned = layer.status == LayerReport::Status::Pruned;
    std::string shape = formatShape(layer.shape);
    if (layer.newShape != layer.shape)
      shape += "->" + formatShape(layer.newShape);
    std::string note = statusWord(layer.status).str();
    if (!layer.note.empty())
      note += ": " + layer.note;
    rows.push_back({layer.node, layer.weight, shape,
                    pruned ? report.pattern.str() : "-",
                    formatDensity(layer.targetDensity),
                    formatDensity(layer.density()), note});
  }
  double target = report.pattern.kind == PrunePattern::Kind::NM
                      ? 1.0 - report.pattern.nmSparsity()
                      : 1.0 - report.sparsity;
  rows.push_back({"total", "", "", "", formatDensity(target),
                  formatDensity(report.totalDensity()), "over pruned layers"});

  std::vector<size_t> widths(rows.front().size(), 0);
  for (const auto &row : rows)
    for (size_t c = 0; c < row.size(); ++c)
      widths[c] = std::max(widths[c], row[c].size());
  for (const auto &row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      line += "  " + row[c];
      if (c + 1 < row.size())
        line += std::string(widths[c] - row[c].size(), ' ');
    }
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    os << line << "\n";
  }
}

} // namespace sparseloom
