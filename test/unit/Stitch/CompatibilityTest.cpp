//===- CompatibilityTest.cpp - Tests of check-compat ----------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The compatibility matrix of the glyphs family with its channel-pruned
// variant (stitchable at block outputs, not inside a block, with the reason),
// of text models whose boundary tensor differs in quantization parameters or
// layout, and check-compat's errors when the passes it needs have not run.
//
//===----------------------------------------------------------------------===//

#include "FamilyTestUtils.h"

#include "sparseloom/Stitch/Compatibility.h"

#include "gtest/gtest.h"

using namespace sparseloom;

namespace {

/// x -> Conv -> QuantizeLinear(scale) -> DequantizeLinear(scale) -> Relu:
/// the quantized tensor q is what a cut after the QuantizeLinear carries.
std::string quantText(const std::string &scale, const std::string &zero) {
  return R"(module {
  opset "" = 13
  graph "q" (%x : f32[1,2,2,2]) -> (%y) {
    weight %w : f32[2,2,1,1] = dense<[1.0, 0.0, 0.0, 1.0]>
    weight %s : f32[] = dense<[)" +
         scale + R"(]>
    weight %z : u8[] = dense<[)" +
         zero + R"(]>
    %c : f32[1,2,2,2] = Conv(%x, %w) {kernel_shape = [1, 1]} loc("conv")
    %q : u8[1,2,2,2] = QuantizeLinear(%c, %s, %z) loc("quant")
    %d : f32[1,2,2,2] = DequantizeLinear(%q, %s, %z) loc("dequant")
    %y : f32[1,2,2,2] = Relu(%d) loc("relu")
  }
}
)";
}

/// Sets the chosen boundaries by hand, as detect-boundaries would.
void choose(Family &family, std::vector<FamilyBoundary> boundaries) {
  family.state.chosen = std::move(boundaries);
  family.state.candidates = family.state.chosen;
  family.state.boundariesDetected = true;
}

TEST(CompatibilityTest, ChannelPrunedGlyphsFitsAtBlockOutputsOnly) {
  Family family = zooFamily("glyphs", {"dense", "s90", "channel"});
  ASSERT_GE(family.size(), 2u);
  ASSERT_FALSE(bool(runOnFamily(family, "align-family")));
  // Inside block 1 (after its first Relu) the stem output and the block's
  // inner activation are live; at the block output only the block output.
  choose(family, {{4, {"/Relu_output_0", "/block1/Relu_output_0"}},
                  {8, {"/block1/Relu_1_output_0"}}});
  ASSERT_FALSE(bool(runOnFamily(family, "check-compat")));
  const auto &compat = family.state.compatibility;
  ASSERT_EQ(compat.size(), 2u);

  const auto &inside = compat[0];
  EXPECT_TRUE(inside.stitchable[0][1]);
  EXPECT_TRUE(inside.stitchable[1][0]);
  EXPECT_FALSE(inside.stitchable[0][2]);
  EXPECT_FALSE(inside.stitchable[2][0]);
  EXPECT_FALSE(inside.stitchable[1][2]);
  EXPECT_TRUE(inside.stitchable[2][2]);
  EXPECT_EQ(inside.reasons[0][2],
            "'/block1/Relu_output_0': shape f32[N,20,14,14] from \"dense\", "
            "\"channel\" expects f32[N,10,14,14]");
  EXPECT_EQ(inside.reasons[2][1],
            "'/block1/Relu_output_0': shape f32[N,10,14,14] from \"channel\", "
            "\"s90\" expects f32[N,20,14,14]");
  EXPECT_TRUE(inside.reasons[0][1].empty());

  const auto &atOutput = compat[1];
  for (unsigned a = 0; a < 3; ++a)
    for (unsigned b = 0; b < 3; ++b) {
      EXPECT_TRUE(atOutput.stitchable[a][b]) << a << "->" << b;
      EXPECT_TRUE(atOutput.reasons[a][b].empty());
    }
}

TEST(CompatibilityTest, DetectedGlyphsBoundariesAreAllStitchable) {
  Family family = zooFamily("glyphs", {"dense", "s50", "s90", "channel"});
  ASSERT_GE(family.size(), 2u);
  ASSERT_FALSE(bool(runOnFamily(
      family, "align-family,detect-boundaries(segments=4),check-compat")));
  ASSERT_EQ(family.state.compatibility.size(), 3u);
  for (const auto &compat : family.state.compatibility)
    for (const auto &row : compat.stitchable)
      for (bool ok : row)
        EXPECT_TRUE(ok);
}

TEST(CompatibilityTest, QuantizationParametersMustMatch) {
  Family family = familyFromText({{"q.a.slir", quantText("0.5", "0")},
                                  {"q.b.slir", quantText("0.25", "0")},
                                  {"q.c.slir", quantText("0.5", "0")}});
  ASSERT_EQ(family.size(), 3u);
  ASSERT_FALSE(bool(runOnFamily(family, "align-family")));
  choose(family, {{2, {"q"}}});
  ASSERT_FALSE(bool(runOnFamily(family, "check-compat")));
  const auto &compat = family.state.compatibility[0];
  EXPECT_FALSE(compat.stitchable[0][1]);
  EXPECT_FALSE(compat.stitchable[1][0]);
  EXPECT_TRUE(compat.stitchable[0][2]);
  EXPECT_EQ(compat.reasons[0][1],
            "'q': quantization scale 0.5, zero point 0 from \"a\", \"b\" "
            "expects scale 0.25, zero point 0");
}

TEST(CompatibilityTest, LayoutAnnotationsMustMatch) {
  Family family = familyFromText({{"q.a.slir", quantText("0.5", "0")},
                                  {"q.b.slir", quantText("0.5", "0")}});
  ASSERT_EQ(family.size(), 2u);
  ASSERT_FALSE(bool(runOnFamily(family, "align-family")));
  // What a layout pass would write on the Conv of member b.
  for (const auto &node : family.members[1].module->graph.nodes())
    if (node->name == "conv")
      node->annotations["layout"] = "NHWC";
  choose(family, {{1, {"c"}}});
  ASSERT_FALSE(bool(runOnFamily(family, "check-compat")));
  const auto &compat = family.state.compatibility[0];
  EXPECT_FALSE(compat.stitchable[0][1]);
  EXPECT_EQ(compat.reasons[0][1],
            "'c': layout default from \"a\", \"b\" expects NHWC");
  EXPECT_EQ(compat.reasons[1][0],
            "'c': layout NHWC from \"b\", \"a\" expects default");
}

TEST(CompatibilityTest, NeedsAlignmentAndBoundaries) {
  Family family = zooFamily("digits", {"dense", "s90"});
  ASSERT_GE(family.size(), 2u);
  std::string text = errorText(runOnFamily(family, "check-compat"));
  EXPECT_NE(text.find("digits.dense.onnx: check-compat needs the family "
                      "alignment: run align-family first"),
            std::string::npos)
      << text;
  text = errorText(runOnFamily(family, "align-family,check-compat"));
  EXPECT_NE(text.find("check-compat needs the chosen boundaries: run "
                      "detect-boundaries first"),
            std::string::npos)
      << text;
}

TEST(CompatibilityTest, OneSegmentHasNoMatrix) {
  Family family = zooFamily("digits", {"dense", "s90"});
  ASSERT_GE(family.size(), 2u);
  ASSERT_FALSE(bool(runOnFamily(
      family, "align-family,detect-boundaries(segments=1),check-compat")));
  EXPECT_TRUE(family.state.compatibility.empty());
}

} // namespace
