//===- AlignmentTest.cpp - Tests of align-family --------------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Alignment of zoo families (identical structure, and the channel-pruned
// glyphs variant whose differences are listed exactly), of text models whose
// members rename every value and reorder independent nodes, and the errors:
// another op, an extra node, other wiring, mixed opsets, and running the
// pass on a lone module.
//
//===----------------------------------------------------------------------===//

#include "FamilyTestUtils.h"

#include "sparseloom/Pass/PassRegistry.h"
#include "sparseloom/Stitch/Alignment.h"

#include "gtest/gtest.h"

using namespace sparseloom;

namespace {

/// x -> Conv(w1: C x 2) -> Relu -> Conv(w2: 2 x C) -> Add(x) -> Relu, with a
/// sibling Sigmoid(x) that is added in at the end. `names` prefixes every
/// value and node name, so two members can differ in all names.
std::string residualText(const std::string &names, int channels = 4,
                         int opset = 13, const std::string &act = "Relu",
                         bool siblingFirst = false) {
  std::string c = std::to_string(channels), p = names;
  std::string sibling = "    %" + p + "s : f32[1,2,4,4] = Sigmoid(%" + p +
                        "x) loc(\"" + p + "sig\")\n";
  std::string text = "module {\n  opset \"\" = " + std::to_string(opset) +
                     "\n  graph \"g\" (%" + p + "x : f32[1,2,4,4]) -> (%" + p +
                     "y) {\n";
  text += "    weight %" + p + "w1 : f32[" + c +
          ",2,1,1] = elided<nnz = " + std::to_string(channels * 2) +
          ", hash = 0x1>\n";
  text += "    weight %" + p + "w2 : f32[2," + c +
          ",1,1] = elided<nnz = " + std::to_string(channels * 2) +
          ", hash = 0x2>\n";
  if (siblingFirst)
    text += sibling;
  text += "    %" + p + "c1 : f32[1," + c + ",4,4] = Conv(%" + p + "x, %" + p +
          "w1) {kernel_shape = [1, 1]} loc(\"" + p + "conv1\")\n";
  text += "    %" + p + "r1 : f32[1," + c + ",4,4] = " + act + "(%" + p +
          "c1) loc(\"" + p + "act1\")\n";
  text += "    %" + p + "c2 : f32[1,2,4,4] = Conv(%" + p + "r1, %" + p +
          "w2) {kernel_shape = [1, 1]} loc(\"" + p + "conv2\")\n";
  text += "    %" + p + "a : f32[1,2,4,4] = Add(%" + p + "c2, %" + p +
          "x) loc(\"" + p + "add\")\n";
  if (!siblingFirst)
    text += sibling;
  text += "    %" + p + "b : f32[1,2,4,4] = Add(%" + p + "a, %" + p +
          "s) loc(\"" + p + "add2\")\n";
  text += "    %" + p + "y : f32[1,2,4,4] = Relu(%" + p + "b) loc(\"" + p +
          "out\")\n  }\n}\n";
  return text;
}

TEST(AlignmentTest, IdenticalZooFamilyIsPositional) {
  Family family = zooFamily("digits", {"dense", "s50", "s90"});
  ASSERT_EQ(family.size(), 3u);
  ASSERT_FALSE(bool(runOnFamily(family, "align-family")));
  ASSERT_TRUE(family.state.alignment.has_value());
  const FamilyAlignment &alignment = *family.state.alignment;
  EXPECT_EQ(alignment.nodeOrder[0].size(), family.reference().graph.numNodes());
  for (unsigned m = 0; m < 3; ++m) {
    EXPECT_EQ(alignment.nodeOrder[m], alignment.nodeOrder[0]);
    EXPECT_TRUE(alignment.differences[m].empty());
    EXPECT_EQ(
        family.members[m].module->annotations.at("align.differences").getInt(),
        0);
  }
}

TEST(AlignmentTest, ChannelPrunedGlyphsRecordsExactlyWhereItDiffers) {
  Family family = zooFamily("glyphs", {"dense", "s90", "channel"});
  ASSERT_GE(family.size(), 2u);
  ASSERT_FALSE(bool(runOnFamily(family, "align-family")));
  const auto &diffs = family.state.alignment->differences;
  EXPECT_TRUE(diffs[1].empty());
  ASSERT_EQ(diffs[2].size(), 15u);
  EXPECT_EQ(diffs[2].front(),
            "node /block1/conv1/Conv: weight input 1 'onnx::Conv_100' "
            "f32[10,20,3,3], reference f32[20,20,3,3]");
  EXPECT_EQ(diffs[2][2], "node /block1/conv1/Conv: output 0 "
                         "'/block1/conv1/Conv_output_0' f32[N,10,14,14], "
                         "reference f32[N,20,14,14]");
  // Only the insides of the blocks differ: every block output, the stem
  // and the head keep the reference's shapes.
  for (const std::string &d : diffs[2]) {
    EXPECT_EQ(d.find("Relu_1"), std::string::npos) << d;
    EXPECT_EQ(d.find("/Add"), std::string::npos) << d;
    EXPECT_EQ(d.find("stem"), std::string::npos) << d;
  }
  // The differences are in the IR, next to the node.
  const Graph &channel = family.members[2].module->graph;
  for (const auto &node : channel.nodes()) {
    bool inner = node->name == "/block1/conv1/Conv" ||
                 node->name == "/block1/Relu" ||
                 node->name == "/block1/conv2/Conv";
    bool annotated = node->annotations.count("align.difference") != 0;
    if (node->name.rfind("/block1/", 0) == 0 || node->name == "/stem/Conv") {
      EXPECT_EQ(annotated, inner) << node->name;
    }
  }
}

TEST(AlignmentTest, RenamedAndReorderedMembersAlign) {
  Family family = familyFromText(
      {{"net.dense.slir", residualText("")},
       {"net.renamed.slir", residualText("v_", 4, 13, "Relu", true)}});
  ASSERT_EQ(family.size(), 2u);
  ASSERT_FALSE(bool(runOnFamily(family, "align-family")));
  const FamilyAlignment &alignment = *family.state.alignment;
  EXPECT_TRUE(alignment.differences[1].empty());
  ASSERT_EQ(alignment.nodeOrder[1].size(), 7u);
  // Reference order: conv1, act1, conv2, add, sig, add2, out.
  EXPECT_EQ(alignment.nodeOrder[0][4], "sig");
  EXPECT_EQ(alignment.nodeOrder[1][0], "v_conv1");
  EXPECT_EQ(alignment.nodeOrder[1][4], "v_sig");

  auto map = FamilyValueMap::build(family);
  ASSERT_TRUE(bool(map)) << errorText(map.takeError());
  EXPECT_EQ(map->toMember(1, "x"), "v_x");
  EXPECT_EQ(map->toMember(1, "r1"), "v_r1");
  EXPECT_EQ(map->toMember(1, "s"), "v_s");
  EXPECT_EQ(map->toReference(1, "v_y"), "y");
  EXPECT_EQ(map->toMember(1, "w1"), "") << "weights are not activations";

  auto nodes = alignedNodes(family, 1);
  ASSERT_TRUE(bool(nodes));
  EXPECT_EQ((*nodes)[2]->name, "v_conv2");
}

TEST(AlignmentTest, ChannelDifferencesAreRecordedNotFatal) {
  Family family = familyFromText({{"net.dense.slir", residualText("", 4)},
                                  {"net.slim.slir", residualText("", 2)}});
  ASSERT_FALSE(bool(runOnFamily(family, "align-family")));
  const auto &diffs = family.state.alignment->differences[1];
  ASSERT_EQ(diffs.size(), 4u);
  EXPECT_EQ(diffs[0], "node conv1: weight input 1 'w1' f32[2,2,1,1], "
                      "reference f32[4,2,1,1]");
  EXPECT_EQ(diffs[1],
            "node conv1: output 0 'c1' f32[1,2,4,4], reference f32[1,4,4,4]");
  EXPECT_EQ(diffs[2],
            "node act1: output 0 'r1' f32[1,2,4,4], reference f32[1,4,4,4]");
  EXPECT_EQ(diffs[3], "node conv2: weight input 1 'w2' f32[2,2,1,1], "
                      "reference f32[2,4,1,1]");
}

TEST(AlignmentTest, AttributeDifferencesAreRecorded) {
  std::string other = residualText("");
  size_t at = other.find("kernel_shape = [1, 1]} loc(\"conv2\")");
  ASSERT_NE(at, std::string::npos);
  other.insert(at, "group = 1, ");
  Family family = familyFromText(
      {{"net.dense.slir", residualText("")}, {"net.g.slir", other}});
  ASSERT_FALSE(bool(runOnFamily(family, "align-family")));
  const auto &diffs = family.state.alignment->differences[1];
  ASSERT_EQ(diffs.size(), 1u);
  EXPECT_EQ(diffs[0], "node conv2: attribute 'group' 1, reference absent");
}

TEST(AlignmentTest, AnotherOpIsAnErrorNamingBothFilesAndTheNode) {
  Family family = familyFromText(
      {{"net.dense.slir", residualText("")},
       {"other.model.slir", residualText("", 4, 13, "Sigmoid")}});
  std::string text = errorText(runOnFamily(family, "align-family"));
  EXPECT_EQ(text, "other.model.slir: node act1: cannot be aligned with the "
                  "reference (reference node act1 of net.dense.slir): it is "
                  "Sigmoid where the reference has Relu; the files are not "
                  "variants of one base model [in pass 'align-family']");
  EXPECT_FALSE(family.state.alignment.has_value());
}

TEST(AlignmentTest, OtherWiringIsAnError) {
  // The residual Add reads r1 instead of x (2 channels, so types agree).
  std::string wired = residualText("", 2);
  size_t at = wired.find("Add(%c2, %x)");
  ASSERT_NE(at, std::string::npos);
  wired.replace(at, 12, "Add(%c2, %r1)");
  Family family = familyFromText(
      {{"net.dense.slir", residualText("", 2)}, {"net.wired.slir", wired}});
  std::string text = errorText(runOnFamily(family, "align-family"));
  EXPECT_NE(text.find("net.wired.slir: node add: cannot be aligned"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("input 1 reads 'r1' where the reference reads 'x'"),
            std::string::npos)
      << text;
}

TEST(AlignmentTest, ExtraNodeIsAnError) {
  std::string extra = residualText("");
  size_t at = extra.find("  }\n}");
  extra.insert(at, "    %z : f32[1,2,4,4] = Neg(%y) loc(\"neg\")\n");
  Family family = familyFromText(
      {{"net.dense.slir", residualText("")}, {"net.extra.slir", extra}});
  std::string text = errorText(runOnFamily(family, "align-family"));
  EXPECT_NE(text.find("net.extra.slir: node neg: cannot be aligned with the "
                      "reference (reference net.dense.slir): it has no "
                      "counterpart (the member has 8 nodes, the reference 7)"),
            std::string::npos)
      << text;
}

TEST(AlignmentTest, MixedOpsetsAreAnError) {
  Family family = familyFromText({{"net.dense.slir", residualText("", 4, 13)},
                                  {"net.new.slir", residualText("", 4, 14)}});
  std::string text = errorText(runOnFamily(family, "align-family"));
  EXPECT_EQ(text, "net.new.slir: opset imports (\"\" = 14) differ from those "
                  "of the reference net.dense.slir (\"\" = 13); export every "
                  "variant with the same opset [in pass 'align-family']");
}

TEST(AlignmentTest, LoneModuleRunIsRefusedWithAClearError) {
  Family family = familyFromText({{"net.dense.slir", residualText("")}});
  for (const char *name : {"align-family", "check-compat", "split"}) {
    auto passes = createPassPipeline(name);
    ASSERT_TRUE(bool(passes));
    std::string text = errorText((*passes)[0]->run(family.reference()));
    EXPECT_NE(text.find(std::string(name) + " works on a family of models"),
              std::string::npos)
        << text;
  }
  // A family of one is fine.
  EXPECT_FALSE(bool(runOnFamily(family, "align-family")));
  EXPECT_TRUE(family.state.alignment->differences[0].empty());
}

} // namespace
