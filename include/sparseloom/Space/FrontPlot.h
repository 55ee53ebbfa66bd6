//===- FrontPlot.h - Accuracy-versus-latency plots as SVG -------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// One picture per task says what stitching buys: the original variants as
// large markers, the stitched Pareto front as small ones, the variants
// selected for the bundle circled. Written as a self-contained SVG (no
// plotting library, no fonts beyond the viewer's sans-serif) so reports and
// docs can embed it and tests can read it.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_SPACE_FRONTPLOT_H
#define SPARSELOOM_SPACE_FRONTPLOT_H

#include "sparseloom/IR/Family.h"

#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace sparseloom {

struct PlotPoint {
  double latencyMs = 0;
  double accuracy = 0; // 0..1
  std::string label;   // shown next to original variants
};

struct FrontPlot {
  std::string title;
  std::string latencyAxis = "latency (ms)";
  std::vector<PlotPoint> originals;
  std::vector<PlotPoint> front;
  std::vector<PlotPoint> selected;
};

/// Renders the plot as an SVG document (deterministic text).
std::string renderFrontPlotSvg(const FrontPlot &plot);

/// The plot of an enumerated family: its originals (measured accuracy, on
/// their fastest processor), the "any" front (or the only processor's),
/// and the selection when there is one. Fails when the family has no
/// fronts.
llvm::Expected<std::string> renderFamilyFrontSvg(const Family &family);

} // namespace sparseloom

#endif // SPARSELOOM_SPACE_FRONTPLOT_H
