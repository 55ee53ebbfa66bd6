//===- SplitTest.cpp - Tests of split and stitching -----------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Splits every zoo family (glyphs with its channel-pruned variant) at the
// boundaries detect-boundaries chooses and checks the invariants:
//  - every segment is a valid standalone model: it verifies and exports
//    through ONNX's checker, its inputs are the previous boundary's tensors
//    (or graph inputs) and its outputs the next boundary's (plus graph
//    outputs it produces);
//  - composing all segments of one member rebuilds that member: equal
//    structural hash and the same weights;
//  - every combination the compatibility matrix allows composes into a
//    model that exports through ONNX's checker, and every other is refused
//    with the matrix's reason.
// Text models cover a graph output produced before a cut, members whose
// value names differ, and the errors.
//
//===----------------------------------------------------------------------===//

#include "FamilyTestUtils.h"

#include "sparseloom/Export/OnnxExporter.h"
#include "sparseloom/IR/Analysis.h"
#include "sparseloom/Stitch/Alignment.h"
#include "sparseloom/Stitch/Splitting.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <set>

using namespace sparseloom;

namespace {

/// x -> Conv(C) -> Relu -> Conv(2) -> Relu -> Conv(2) -> y, plus a graph
/// output `aux` = Sigmoid of the first Relu that nothing else reads. Values
/// and nodes are named with `p` so members may differ in every name.
std::string chainText(const std::string &p, int channels, float scale) {
  auto values = [&](int n) {
    std::string text = "[";
    for (int i = 0; i < n; ++i)
      text += (i ? ", " : "") + std::to_string(scale * float(i % 3)) + "";
    return text + "]";
  };
  std::string c = std::to_string(channels);
  return "module {\n  opset \"\" = 13\n  graph \"chain\" (%" + p +
         "x : f32[1,2,4,4]) -> (%" + p + "aux, %" + p + "y) {\n" +
         "    weight %" + p + "w1 : f32[" + c + ",2,1,1] = dense<" +
         values(channels * 2) + ">\n" + "    weight %" + p + "w2 : f32[2," + c +
         ",1,1] = dense<" + values(channels * 2) + ">\n" + "    weight %" + p +
         "w3 : f32[2,2,1,1] = dense<" + values(4) + ">\n" + "    %" + p +
         "c1 : f32[1," + c + ",4,4] = Conv(%" + p + "x, %" + p +
         "w1) {kernel_shape = [1, 1]} loc(\"" + p + "conv1\")\n" + "    %" + p +
         "r1 : f32[1," + c + ",4,4] = Relu(%" + p + "c1) loc(\"" + p +
         "relu1\")\n" + "    %" + p + "aux : f32[1," + c + ",4,4] = Sigmoid(%" +
         p + "r1) loc(\"" + p + "aux\")\n" + "    %" + p +
         "c2 : f32[1,2,4,4] = Conv(%" + p + "r1, %" + p +
         "w2) {kernel_shape = [1, 1]} loc(\"" + p + "conv2\")\n" + "    %" + p +
         "r2 : f32[1,2,4,4] = Relu(%" + p + "c2) loc(\"" + p + "relu2\")\n" +
         "    %" + p + "y : f32[1,2,4,4] = Conv(%" + p + "r2, %" + p +
         "w3) {kernel_shape = [1, 1]} loc(\"" + p + "conv3\")\n" + "  }\n}\n";
}

/// Every combination of one member per segment, in lexicographic order.
std::vector<std::vector<unsigned>> allCombinations(unsigned members,
                                                   unsigned segments) {
  std::vector<std::vector<unsigned>> all;
  std::vector<unsigned> current(segments, 0);
  while (true) {
    all.push_back(current);
    unsigned i = 0;
    while (i < segments && ++current[i] == members)
      current[i++] = 0;
    if (i == segments)
      return all;
  }
}

bool allowedByMatrix(const Family &family, const std::vector<unsigned> &pick) {
  for (size_t j = 0; j + 1 < pick.size(); ++j)
    if (!family.state.compatibility[j].stitchable[pick[j]][pick[j + 1]])
      return false;
  return true;
}

/// Weights read by some node, by name, with their content hashes.
std::map<std::string, uint64_t> usedWeights(const Graph &graph) {
  std::map<std::string, uint64_t> used;
  for (const auto &node : graph.nodes())
    for (const std::string &in : node->inputs)
      if (const Weight *w = graph.findWeight(in))
        used[in] = w->data->contentHash();
  return used;
}

/// Splits at up to `maxSegments` segments and checks every invariant.
void checkFamily(Family &family, unsigned maxSegments) {
  ASSERT_GE(family.size(), 2u) << "the family did not load";
  ASSERT_FALSE(bool(runOnFamily(family, "align-family,detect-boundaries")));
  unsigned segments = std::min<unsigned>(
      maxSegments, unsigned(family.state.candidates.size()) + 1);
  std::string pipeline =
      "detect-boundaries(segments=" + std::to_string(segments) +
      "),check-compat,split";
  llvm::Error err = runOnFamily(family, pipeline);
  ASSERT_FALSE(bool(err)) << errorText(std::move(err));
  ASSERT_TRUE(family.state.segments.has_value());
  const auto &chosen = family.state.chosen;
  ASSERT_EQ(chosen.size() + 1, segments);

  auto map = FamilyValueMap::build(family);
  ASSERT_TRUE(bool(map));
  for (unsigned m = 0; m < family.size(); ++m) {
    const Module &member = *family.members[m].module;
    const auto &segs = family.state.segments->perMember[m];
    ASSERT_EQ(segs.size(), segments);
    for (unsigned s = 0; s < segments; ++s) {
      const Graph &g = segs[s]->graph;
      EXPECT_EQ(g.name, segmentName(family, m, s));
      auto bytes = exportOnnxBytes(*segs[s]);
      EXPECT_TRUE(bool(bytes))
          << g.name << ": " << errorText(bytes.takeError());
      // Inputs: the boundary's tensors or graph inputs.
      std::set<std::string> allowedIn(member.graph.inputs.begin(),
                                      member.graph.inputs.end());
      if (s > 0)
        for (const std::string &t : chosen[s - 1].liveTensors)
          allowedIn.insert(map->toMember(m, t));
      for (const std::string &in : g.inputs)
        EXPECT_TRUE(allowedIn.count(in)) << g.name << " reads " << in;
      // Outputs: at least the next boundary's tensors, each produced here
      // or earlier; the rest are graph outputs.
      std::set<std::string> outs(g.outputs.begin(), g.outputs.end());
      std::set<std::string> graphOuts(member.graph.outputs.begin(),
                                      member.graph.outputs.end());
      if (s + 1 < segments)
        for (const std::string &t : chosen[s].liveTensors) {
          std::string v = map->toMember(m, t);
          bool producedHere = false;
          for (const auto &node : g.nodes())
            producedHere |=
                std::count(node->outputs.begin(), node->outputs.end(), v) != 0;
          if (producedHere) {
            EXPECT_TRUE(outs.count(v)) << g.name << " misses " << v;
          }
        }
      for (const std::string &out : g.outputs) {
        bool crosses = false;
        if (s + 1 < segments)
          for (const std::string &t : chosen[s].liveTensors)
            crosses |= map->toMember(m, t) == out;
        bool readLater = false;
        for (unsigned later = s + 1; later < segments; ++later)
          for (const std::string &in : segs[later]->graph.inputs)
            readLater |= in == out;
        EXPECT_TRUE(crosses || readLater || graphOuts.count(out))
            << g.name << " outputs " << out;
      }
    }

    // Composing a member's own segments rebuilds it.
    std::vector<unsigned> same(segments, m);
    auto composed = composeStitched(family, same);
    ASSERT_TRUE(bool(composed)) << errorText(composed.takeError());
    EXPECT_EQ(structuralHash((*composed)->graph), structuralHash(member.graph))
        << family.members[m].variant;
    EXPECT_EQ(usedWeights((*composed)->graph), usedWeights(member.graph));
    EXPECT_EQ((*composed)->graph.inputs, member.graph.inputs);
    EXPECT_EQ((*composed)->graph.outputs, member.graph.outputs);
  }

  // Every combination: allowed ones export, the others are refused.
  for (const auto &pick : allCombinations(unsigned(family.size()), segments)) {
    auto composed = composeStitched(family, pick);
    if (allowedByMatrix(family, pick)) {
      ASSERT_TRUE(bool(composed)) << errorText(composed.takeError());
      auto bytes = exportOnnxBytes(**composed);
      EXPECT_TRUE(bool(bytes)) << errorText(bytes.takeError());
    } else {
      ASSERT_FALSE(bool(composed));
      EXPECT_NE(errorText(composed.takeError()).find("cannot stitch"),
                std::string::npos);
    }
  }
}

TEST(SplitTest, DigitsFamily) {
  Family family = zooFamily("digits", {"dense", "s50", "s90"});
  checkFamily(family, 3);
}

TEST(SplitTest, GlyphsFamilyWithChannelPrunedVariant) {
  Family family = zooFamily("glyphs", {"dense", "s70", "s95", "channel"});
  checkFamily(family, 4);
  ASSERT_TRUE(family.state.segments.has_value());
  // The channel variant's segments have the reference's interfaces.
  const auto &segs = family.state.segments->perMember;
  for (unsigned s = 0; s < segs[0].size(); ++s) {
    const Graph &dense = segs[0][s]->graph, &channel = segs[3][s]->graph;
    ASSERT_EQ(dense.inputs, channel.inputs);
    for (const std::string &in : dense.inputs)
      EXPECT_EQ(dense.getType(in), channel.getType(in));
    for (const std::string &out : dense.outputs)
      EXPECT_EQ(dense.getType(out), channel.getType(out));
  }
}

TEST(SplitTest, KwsFamily) {
  Family family = zooFamily("kws", {"dense", "s80", "s95"});
  checkFamily(family, 3);
}

TEST(SplitTest, LangFamily) {
  Family family = zooFamily("lang", {"dense", "s90"});
  checkFamily(family, 3);
}

TEST(SplitTest, GraphOutputBeforeACutStaysInItsSegment) {
  Family family = familyFromText({{"chain.dense.slir", chainText("", 4, 1)},
                                  {"chain.s50.slir", chainText("", 4, 0.5)},
                                  {"chain.slim.slir", chainText("", 2, 1)}});
  checkFamily(family, 3);
  ASSERT_EQ(family.state.chosen.size(), 2u);
  EXPECT_EQ(family.state.chosen[0].position, 3u); // after aux
  EXPECT_EQ(family.state.chosen[0].liveTensors, std::vector<std::string>{"r1"});
  const Graph &seg0 = family.state.segments->perMember[0][0]->graph;
  EXPECT_EQ(seg0.inputs, std::vector<std::string>{"x"});
  EXPECT_EQ(seg0.outputs, (std::vector<std::string>{"r1", "aux"}));
  const Graph &seg1 = family.state.segments->perMember[0][1]->graph;
  EXPECT_EQ(seg1.inputs, std::vector<std::string>{"r1"});
  EXPECT_EQ(seg1.outputs, std::vector<std::string>{"r2"});
  // The slim variant fits only at the second boundary.
  EXPECT_FALSE(family.state.compatibility[0].stitchable[0][2]);
  EXPECT_TRUE(family.state.compatibility[1].stitchable[0][2]);
  auto refused = composeStitched(family, {0, 2, 2});
  ASSERT_FALSE(bool(refused));
  EXPECT_EQ(errorText(refused.takeError()),
            "chain.dense.slir: cannot stitch \"dense\" into \"slim\" at "
            "boundary 0 (before node 3 of the reference order): 'r1': shape "
            "f32[1,4,4,4] from \"dense\", \"slim\" expects f32[1,2,4,4]");
}

TEST(SplitTest, MembersWithOtherNamesStitch) {
  Family family = familyFromText({{"chain.dense.slir", chainText("", 4, 1)},
                                  {"chain.b.slir", chainText("b_", 4, 2)}});
  checkFamily(family, 3);
  auto composed = composeStitched(family, {1, 0, 1});
  ASSERT_TRUE(bool(composed)) << errorText(composed.takeError());
  const Graph &g = (*composed)->graph;
  EXPECT_EQ(g.inputs, std::vector<std::string>{"b_x"});
  EXPECT_EQ(g.outputs, (std::vector<std::string>{"b_aux", "b_y"}));
  // The middle segment is the reference's, reading b's r1.
  bool found = false;
  for (const auto &node : g.nodes())
    if (node->name == "conv2") {
      found = true;
      EXPECT_EQ(node->inputs[0], "b_r1");
      EXPECT_EQ(node->inputs[1], "w2");
    }
  EXPECT_TRUE(found);
  EXPECT_EQ(
      g.findWeight("b_w1")->data->contentHash(),
      family.members[1].module->graph.findWeight("b_w1")->data->contentHash());
}

TEST(SplitTest, SharedWeightNamesWithOtherValuesAreRenamed) {
  // Both members call their weights w1..w3 with other values: a stitch
  // must keep both tensors.
  Family family = familyFromText({{"chain.dense.slir", chainText("", 4, 1)},
                                  {"chain.s50.slir", chainText("", 4, 3)}});
  checkFamily(family, 2);
  auto composed = composeStitched(family, {0, 1});
  ASSERT_TRUE(bool(composed));
  const Graph &g = (*composed)->graph;
  EXPECT_EQ(g.weights().size(), 3u);
  EXPECT_EQ(g.findWeight("w1")->data->contentHash(),
            family.reference().graph.findWeight("w1")->data->contentHash());
  EXPECT_EQ(
      g.findWeight("w3")->data->contentHash(),
      family.members[1].module->graph.findWeight("w3")->data->contentHash());
}

TEST(SplitTest, Errors) {
  Family family = familyFromText({{"chain.dense.slir", chainText("", 4, 1)},
                                  {"chain.slim.slir", chainText("", 2, 1)}});
  EXPECT_NE(errorText(runOnFamily(family, "align-family,split"))
                .find("chain.dense.slir: split needs the chosen boundaries: "
                      "run detect-boundaries first"),
            std::string::npos);
  auto early = composeStitched(family, {0});
  ASSERT_FALSE(bool(early));
  EXPECT_EQ(errorText(early.takeError()),
            "chain.dense.slir: stitching needs the segments: run split first");

  ASSERT_FALSE(
      bool(runOnFamily(family, "detect-boundaries(segments=2),split")));
  auto noMatrix = composeStitched(family, {0, 1});
  ASSERT_FALSE(bool(noMatrix));
  EXPECT_NE(errorText(noMatrix.takeError())
                .find("needs the compatibility matrix: run check-compat"),
            std::string::npos);
  auto count = composeStitched(family, {0, 0, 0});
  ASSERT_FALSE(bool(count));
  EXPECT_NE(errorText(count.takeError())
                .find("a stitch names 3 members, but the family has 2 "
                      "segments"),
            std::string::npos);
  auto member = composeStitched(family, {0, 7});
  ASSERT_FALSE(bool(member));
  EXPECT_NE(errorText(member.takeError()).find("names member 7"),
            std::string::npos);

  // Boundaries that do not cut the order into non-empty segments.
  family.state.chosen = {{0, {"x"}}};
  EXPECT_NE(errorText(runOnFamily(family, "split"))
                .find("boundary 0 (before node 0 of the reference order) does "
                      "not cut the 6-node order into non-empty segments"),
            std::string::npos);
}

} // namespace
