//===- FrontPlot.cpp - Accuracy-versus-latency plots as SVG ---------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Space/FrontPlot.h"

#include "sparseloom/Support/Diagnostics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace sparseloom {

namespace {

constexpr double kWidth = 640, kHeight = 420;
constexpr double kLeft = 70, kRight = 20, kTop = 40, kBottom = 55;

std::string number(double v, int decimals) {
  char text[64];
  snprintf(text, sizeof(text), "%.*f", decimals, v);
  return text;
}

std::string escape(const std::string &text) {
  std::string out;
  for (char c : text) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else if (c == '"')
      out += "&quot;";
    else
      out += c;
  }
  return out;
}

/// A "nice" tick step (1, 2 or 5 times a power of ten) for a range.
double tickStep(double range, int targetTicks) {
  if (range <= 0)
    return 1;
  double raw = range / targetTicks;
  double power = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * power >= raw)
      return m * power;
  return 10 * power;
}

int decimalsFor(double step) {
  return step >= 1 ? 0 : int(std::ceil(-std::log10(step)));
}

} // namespace

std::string renderFrontPlotSvg(const FrontPlot &plot) {
  double minX = std::numeric_limits<double>::infinity(), maxX = 0;
  double minY = 100, maxY = 0;
  auto extend = [&](const std::vector<PlotPoint> &points) {
    for (const PlotPoint &p : points) {
      if (!std::isfinite(p.latencyMs))
        continue;
      minX = std::min(minX, p.latencyMs);
      maxX = std::max(maxX, p.latencyMs);
      minY = std::min(minY, p.accuracy * 100);
      maxY = std::max(maxY, p.accuracy * 100);
    }
  };
  extend(plot.originals);
  extend(plot.front);
  extend(plot.selected);
  if (!std::isfinite(minX)) {
    minX = 0;
    maxX = 1;
    minY = 0;
    maxY = 100;
  }
  // Pad the ranges so markers do not sit on the frame.
  double padX = std::max((maxX - minX) * 0.06, 1e-3);
  double padY = std::max((maxY - minY) * 0.06, 0.1);
  minX = std::max(0.0, minX - padX);
  maxX += padX;
  minY = std::max(0.0, minY - padY);
  maxY = std::min(100.0, maxY + padY);
  const double plotW = kWidth - kLeft - kRight,
               plotH = kHeight - kTop - kBottom;
  auto sx = [&](double x) {
    return kLeft + (x - minX) / (maxX - minX) * plotW;
  };
  auto sy = [&](double y) {
    return kTop + plotH - (y - minY) / (maxY - minY) * plotH;
  };

  std::string svg;
  svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
         number(kWidth, 0) + "\" height=\"" + number(kHeight, 0) +
         "\" viewBox=\"0 0 " + number(kWidth, 0) + " " + number(kHeight, 0) +
         "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += "<text x=\"" + number(kWidth / 2, 1) +
         "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" +
         escape(plot.title) + "</text>\n";
  svg += "<rect x=\"" + number(kLeft, 1) + "\" y=\"" + number(kTop, 1) +
         "\" width=\"" + number(plotW, 1) + "\" height=\"" + number(plotH, 1) +
         "\" fill=\"none\" stroke=\"#333\"/>\n";
  // Ticks and grid.
  double stepX = tickStep(maxX - minX, 6), stepY = tickStep(maxY - minY, 6);
  for (double x = std::ceil(minX / stepX) * stepX; x <= maxX + 1e-12;
       x += stepX) {
    svg += "<line x1=\"" + number(sx(x), 1) + "\" y1=\"" + number(kTop, 1) +
           "\" x2=\"" + number(sx(x), 1) + "\" y2=\"" +
           number(kTop + plotH, 1) + "\" stroke=\"#eee\"/>\n";
    svg += "<text x=\"" + number(sx(x), 1) + "\" y=\"" +
           number(kTop + plotH + 16, 1) + "\" text-anchor=\"middle\">" +
           number(x, decimalsFor(stepX)) + "</text>\n";
  }
  for (double y = std::ceil(minY / stepY) * stepY; y <= maxY + 1e-12;
       y += stepY) {
    svg += "<line x1=\"" + number(kLeft, 1) + "\" y1=\"" + number(sy(y), 1) +
           "\" x2=\"" + number(kLeft + plotW, 1) + "\" y2=\"" +
           number(sy(y), 1) + "\" stroke=\"#eee\"/>\n";
    svg += "<text x=\"" + number(kLeft - 6, 1) + "\" y=\"" +
           number(sy(y) + 4, 1) + "\" text-anchor=\"end\">" +
           number(y, decimalsFor(stepY)) + "</text>\n";
  }
  svg += "<text x=\"" + number(kLeft + plotW / 2, 1) + "\" y=\"" +
         number(kHeight - 12, 1) + "\" text-anchor=\"middle\">" +
         escape(plot.latencyAxis) + "</text>\n";
  svg += "<text transform=\"translate(18," + number(kTop + plotH / 2, 1) +
         ") rotate(-90)\" text-anchor=\"middle\">accuracy (%)</text>\n";

  svg += "<g id=\"front\" fill=\"#4a90d9\" fill-opacity=\"0.55\">\n";
  for (const PlotPoint &p : plot.front)
    if (std::isfinite(p.latencyMs))
      svg += "<circle cx=\"" + number(sx(p.latencyMs), 2) + "\" cy=\"" +
             number(sy(p.accuracy * 100), 2) + "\" r=\"2.5\"/>\n";
  svg += "</g>\n<g id=\"selected\" fill=\"none\" stroke=\"#2a9d3a\" "
         "stroke-width=\"1.8\">\n";
  for (const PlotPoint &p : plot.selected)
    if (std::isfinite(p.latencyMs))
      svg += "<circle cx=\"" + number(sx(p.latencyMs), 2) + "\" cy=\"" +
             number(sy(p.accuracy * 100), 2) + "\" r=\"6\"/>\n";
  svg += "</g>\n<g id=\"originals\" fill=\"#d9534f\">\n";
  for (const PlotPoint &p : plot.originals) {
    if (!std::isfinite(p.latencyMs))
      continue;
    double x = sx(p.latencyMs), y = sy(p.accuracy * 100);
    svg += "<rect x=\"" + number(x - 4.5, 2) + "\" y=\"" + number(y - 4.5, 2) +
           "\" width=\"9\" height=\"9\"/>\n";
    svg += "<text x=\"" + number(x + 7, 2) + "\" y=\"" + number(y - 6, 2) +
           "\" fill=\"#333\">" + escape(p.label) + "</text>\n";
  }
  svg += "</g>\n";
  // Legend.
  double lx = kLeft + plotW - 170, ly = kTop + plotH - 58;
  svg += "<g id=\"legend\">\n<rect x=\"" + number(lx, 1) + "\" y=\"" +
         number(ly, 1) +
         "\" width=\"165\" height=\"54\" fill=\"white\" stroke=\"#ccc\"/>\n";
  svg += "<rect x=\"" + number(lx + 8, 1) + "\" y=\"" + number(ly + 8, 1) +
         "\" width=\"9\" height=\"9\" fill=\"#d9534f\"/><text x=\"" +
         number(lx + 24, 1) + "\" y=\"" + number(ly + 17, 1) +
         "\">original variants</text>\n";
  svg += "<circle cx=\"" + number(lx + 12.5, 1) + "\" cy=\"" +
         number(ly + 28, 1) + "\" r=\"2.5\" fill=\"#4a90d9\"/><text x=\"" +
         number(lx + 24, 1) + "\" y=\"" + number(ly + 32, 1) +
         "\">stitched Pareto front</text>\n";
  svg += "<circle cx=\"" + number(lx + 12.5, 1) + "\" cy=\"" +
         number(ly + 43, 1) +
         "\" r=\"5\" fill=\"none\" stroke=\"#2a9d3a\"/><text x=\"" +
         number(lx + 24, 1) + "\" y=\"" + number(ly + 47, 1) +
         "\">selected for the bundle</text>\n</g>\n";
  svg += "</svg>\n";
  return svg;
}

llvm::Expected<std::string> renderFamilyFrontSvg(const Family &family) {
  if (!family.state.fronts || family.state.fronts->fronts.empty())
    return makeError("--plot needs the fronts of enumerate-stitches");
  const FamilyStitchFronts &fronts = *family.state.fronts;
  // The last front is "any" when there are several processors, else the
  // only processor's.
  const FamilyFront &front = fronts.fronts.back();
  FrontPlot plot;
  plot.title = family.task + ": accuracy vs latency on " + fronts.platformName +
               " (" + front.placement + ")";
  auto toPlot = [](const FamilyStitchPoint &p, std::string label) {
    return PlotPoint{p.latencyMs, p.accuracy(), std::move(label)};
  };
  for (const FamilyStitchPoint &p : fronts.originals)
    plot.originals.push_back(
        toPlot(p, family.members[p.variants.front()].variant));
  for (const FamilyStitchPoint &p : front.points)
    plot.front.push_back(toPlot(p, ""));
  if (family.state.selection)
    for (const FamilyStitchPoint &p : family.state.selection->selected)
      plot.selected.push_back(toPlot(p, ""));
  return renderFrontPlotSvg(plot);
}

} // namespace sparseloom
