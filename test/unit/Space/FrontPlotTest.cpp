//===- FrontPlotTest.cpp - SVG plots of fronts ----------------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Space/FrontPlot.h"

#include <gtest/gtest.h>

using namespace sparseloom;

namespace {

size_t count(const std::string &text, const std::string &what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + 1))
    ++n;
  return n;
}

std::string group(const std::string &svg, const std::string &id) {
  size_t begin = svg.find("<g id=\"" + id + "\"");
  size_t end = svg.find("</g>", begin);
  return svg.substr(begin, end - begin);
}

} // namespace

// Every point is drawn in its own group, labels are escaped, and the output
// does not depend on anything but the input.
TEST(FrontPlot, DrawsEveryPointOnce) {
  FrontPlot plot;
  plot.title = "digits <k=6, n=4>";
  plot.originals = {{1.0, 0.97, "dense"}, {0.4, 0.75, "s95"}};
  plot.front = {{1.0, 0.97, ""}, {0.8, 0.96, ""}, {0.5, 0.9, ""}};
  plot.selected = {{0.8, 0.96, ""}};
  std::string svg = renderFrontPlotSvg(plot);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("digits &lt;k=6, n=4&gt;"), std::string::npos);
  EXPECT_EQ(count(group(svg, "front"), "<circle"), 3u);
  EXPECT_EQ(count(group(svg, "selected"), "<circle"), 1u);
  EXPECT_EQ(count(group(svg, "originals"), "<rect"), 2u);
  EXPECT_NE(group(svg, "originals").find(">s95<"), std::string::npos);
  EXPECT_EQ(svg, renderFrontPlotSvg(plot));
  // The most accurate point is drawn highest (smallest y).
  std::string front = group(svg, "front");
  size_t first = front.find("cy=\"") + 4,
         second = front.find("cy=\"", first) + 4;
  EXPECT_LT(std::stod(front.substr(first)), std::stod(front.substr(second)));
}
