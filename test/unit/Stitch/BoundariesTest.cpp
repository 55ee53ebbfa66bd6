//===- BoundariesTest.cpp - Tests of cut points and segment choice --------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Cut points on small graphs built node by node, where every gap's status
// is known by construction (chains, residual blocks, two streams, streams
// forked from one stem, side inputs, multi-output heads, K > 1); the
// balanced segment choice against exhaustive enumeration on random small
// instances; the detect-boundaries pass on single models and families (its
// annotations, family state, errors); and the candidate sets of the zoo
// models and of the performance families when they have been generated
// (ResNet-50: the stem and the bottleneck outputs only; BERT-base: between
// encoder sublayers only).
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Stitch/Boundaries.h"
#include "sparseloom/IR/Analysis.h"
#include "sparseloom/IR/Family.h"
#include "sparseloom/Pass/PassRegistry.h"
#include "sparseloom/Support/Diagnostics.h"
#include "sparseloom/Tool/FamilyLoader.h"
#include "sparseloom/Tool/ModelLoader.h"

#include "llvm/Support/FileSystem.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

using namespace sparseloom;

namespace {

/// Builds graphs of 1x1 Convs (weighted ops) and cheap ops on f32[1,2,4,4]
/// activations; node names are their output names.
class Builder {
public:
  Builder() { module.opsetImports[""] = 13; }

  const std::string &input(const std::string &name) {
    module.graph.inputs.push_back(name);
    module.graph.setType(name, type());
    return name;
  }
  std::string conv(const std::string &in, const std::string &out) {
    std::string w = out + ".w";
    module.graph.setWeight(
        {w, TensorData::fromFloats({2, 2, 1, 1}, {1, 0, 0, 1}), {}});
    return node("Conv", {in, w}, out);
  }
  std::string relu(const std::string &in, const std::string &out) {
    return node("Relu", {in}, out);
  }
  std::string add(const std::string &a, const std::string &b,
                  const std::string &out) {
    return node("Add", {a, b}, out);
  }
  std::string node(const std::string &op, std::vector<std::string> inputs,
                   const std::string &out) {
    Node n;
    n.opType = op;
    n.name = out;
    n.inputs = std::move(inputs);
    n.outputs = {out};
    module.graph.setType(out, type());
    module.graph.addNode(std::move(n));
    return out;
  }
  void output(const std::string &name) { module.graph.outputs.push_back(name); }

  /// Status of every gap with K = k, rule 4 applied.
  std::vector<GapStatus> statuses(unsigned k) const {
    auto order = topologicalOrder(module.graph);
    EXPECT_TRUE(bool(order));
    CutAnalysis analysis = analyzeCuts(module.graph, *order, CutOptions{k});
    applyRedundantCutRule(analysis.status, analysis.weighted);
    return analysis.status;
  }
  std::vector<size_t> candidates(unsigned k) const {
    auto points = findCutPoints(module.graph, CutOptions{k});
    EXPECT_TRUE(bool(points));
    std::vector<size_t> positions;
    for (const CutPoint &p : *points)
      positions.push_back(p.position);
    return positions;
  }

  Module module;

private:
  static TensorType type() { return TensorType::get(DType::F32, {1, 2, 4, 4}); }
};

using Positions = std::vector<size_t>;

TEST(BoundariesTest, ChainKeepsTheLastGapBeforeEachWeightedOp) {
  Builder b;
  b.input("x");
  b.relu(b.conv(b.relu(b.conv(b.conv("x", "c1"), "c2"), "r2"), "c3"), "r3");
  b.conv("r3", "c4");
  b.output("c4");
  // Order: c1 c2 r2 c3 r3 c4. Every gap carries one tensor; between c2 and
  // c3 the gap after r2 wins, between c3 and c4 the one after r3.
  EXPECT_EQ(b.candidates(1), (Positions{1, 3, 5}));
  std::vector<GapStatus> s = b.statuses(1);
  EXPECT_EQ(s[0], GapStatus::Edge);
  EXPECT_EQ(s[2], GapStatus::Redundant);
  EXPECT_EQ(s[4], GapStatus::Redundant);
  EXPECT_EQ(s[6], GapStatus::Edge);
}

TEST(BoundariesTest, ResidualBlockIsNeverCut) {
  Builder b;
  b.input("x");
  b.relu(b.conv("x", "stem"), "r0");              // 0 1
  b.conv(b.relu(b.conv("r0", "c1"), "r1"), "c2"); // 2 3 4
  b.relu(b.add("r0", "c2", "sum"), "r3");         // 5 6
  b.conv("r3", "head");                           // 7
  b.output("head");
  EXPECT_EQ(b.candidates(1), (Positions{2, 7}));
  // With room for two tensors the gaps inside are refused for the block,
  // not for their count: the skip r0 and the branch fork from one value and
  // meet again in the Add.
  std::vector<GapStatus> s = b.statuses(2);
  for (size_t p = 3; p <= 5; ++p)
    EXPECT_EQ(s[p], GapStatus::InsideBlock) << "gap " << p;
  EXPECT_EQ(b.candidates(2), (Positions{2, 7}));
  EXPECT_EQ(b.candidates(8), (Positions{2, 7}));
}

TEST(BoundariesTest, ProjectionShortcutComputedFirstIsStillABlock) {
  Builder b;
  b.input("x");
  b.relu(b.conv("x", "stem"), "r0");              // 0 1
  b.conv("r0", "proj");                           // 2: shortcut first
  b.conv(b.relu(b.conv("r0", "c1"), "r1"), "c2"); // 3 4 5
  b.add("proj", "c2", "sum");                     // 6
  b.conv("sum", "head");                          // 7
  b.output("head");
  // Between proj and the Add, neither live tensor is the block input
  // itself; they still share it as an ancestor and reconverge.
  std::vector<GapStatus> s = b.statuses(3);
  for (size_t p = 3; p <= 6; ++p)
    EXPECT_EQ(s[p], GapStatus::InsideBlock) << "gap " << p;
  EXPECT_EQ(b.candidates(3), (Positions{2, 7}));
}

TEST(BoundariesTest, IndependentStreamsMayBeCutWithTwoTensors) {
  Builder b;
  b.input("a");
  b.input("b");
  b.conv(b.relu(b.conv("a", "a1"), "ra"), "a2");         // 0 1 2
  b.conv(b.relu(b.conv("b", "b1"), "rb"), "b2");         // 3 4 5
  b.conv(b.node("Concat", {"a2", "b2"}, "cat"), "head"); // 6 7
  b.output("head");
  EXPECT_EQ(b.candidates(1), (Positions{7}));
  // The two inputs share nothing: every gap carries one tensor of each
  // stream, and none is inside a block.
  EXPECT_EQ(b.candidates(2), (Positions{2, 3, 5, 7}));
}

TEST(BoundariesTest, StreamsForkedFromOneStemAreOneBlock) {
  Builder b;
  b.input("x");
  b.relu(b.conv("x", "stem"), "r0");              // 0 1
  b.conv(b.relu(b.conv("r0", "a1"), "ra"), "a2"); // 2 3 4
  b.conv(b.relu(b.conv("r0", "b1"), "rb"), "b2"); // 5 6 7
  b.conv(b.add("a2", "b2", "sum"), "head");       // 8 9
  b.output("head");
  std::vector<GapStatus> s = b.statuses(2);
  for (size_t p = 3; p <= 8; ++p)
    EXPECT_EQ(s[p], GapStatus::InsideBlock) << "gap " << p;
  EXPECT_EQ(b.candidates(2), (Positions{2, 9}));
}

TEST(BoundariesTest, LateSideInputForbidsCutsUntilConsumed) {
  Builder b;
  b.input("x");
  b.input("side");
  b.conv(b.relu(b.conv("x", "c1"), "r1"), "c2");  // 0 1 2
  b.relu(b.add("c2", "side", "s"), "r2");         // 3 4
  b.conv(b.relu(b.conv("r2", "c3"), "r3"), "c4"); // 5 6 7
  b.output("c4");
  // 'side' is live from the start to the Add: with K = 1 no cut before it.
  EXPECT_EQ(b.candidates(1), (Positions{5, 7}));
  // With K = 2 it rides along as a side value: it never feeds a weighted
  // op except through the Add with a main value.
  EXPECT_EQ(b.candidates(2), (Positions{2, 5, 7}));
  auto order = topologicalOrder(b.module.graph);
  ASSERT_TRUE(bool(order));
  CutAnalysis analysis = analyzeCuts(b.module.graph, *order, CutOptions{2});
  EXPECT_EQ(analysis.sideValues, (std::vector<std::string>{"side"}));
  EXPECT_EQ(analysis.live[2], (std::vector<std::string>{"side", "r1"}));
}

TEST(BoundariesTest, GraphOutputBeforeTheCutDoesNotCrossIt) {
  Builder b;
  b.input("x");
  b.relu(b.conv("x", "trunk"), "t");             // 0 1
  b.relu(b.conv("t", "a1"), "ya");               // 2 3: output 1
  b.conv(b.relu(b.conv("t", "b1"), "rb"), "yb"); // 4 5 6: output 2
  b.output("ya");
  b.output("yb");
  // After head A finishes only t is live: 'ya' belongs to its segment.
  EXPECT_EQ(b.candidates(1), (Positions{2, 4, 6}));
  auto points = findCutPoints(b.module.graph, CutOptions{1});
  ASSERT_TRUE(bool(points));
  EXPECT_EQ((*points)[1].liveTensors, (std::vector<std::string>{"t"}));
}

TEST(BoundariesTest, ConstantsAndWeightsNeverCount) {
  Builder b;
  b.input("x");
  b.node("Constant", {}, "k");         // 0: constant
  b.relu(b.conv("x", "c1"), "r1");     // 1 2
  b.conv(b.add("r1", "k", "s"), "c2"); // 3 4
  b.output("c2");
  // 'k' is computed before the cuts and read after them; it is a
  // constant (canonicalize folds it into a weight), not an activation. Of
  // the gaps between c1 and c2 the last one is kept.
  EXPECT_EQ(b.candidates(1), (Positions{4}));
}

// --- Segment choice ---------------------------------------------------------

struct Score {
  double max = 0, sumSquares = 0;
};

Score scoreOf(const std::vector<double> &costs) {
  Score s;
  for (double c : costs) {
    s.max = std::max(s.max, c);
    s.sumSquares += c * c;
  }
  return s;
}

/// Best (max, then sum of squares) over every choice of `segments` - 1
/// candidates, or nullopt when none fits `limit`.
std::optional<Score> bruteForce(const std::vector<double> &nodeCosts,
                                const std::vector<size_t> &candidates,
                                size_t segments, double limit) {
  std::optional<Score> best;
  size_t m = candidates.size();
  for (uint32_t mask = 0; mask < (1u << m); ++mask) {
    if (size_t(__builtin_popcount(mask)) + 1 != segments)
      continue;
    std::vector<double> costs;
    size_t start = 0;
    for (size_t i = 0; i <= m; ++i) {
      if (i < m && !(mask & (1u << i)))
        continue;
      size_t end = i < m ? candidates[i] : nodeCosts.size();
      double c = 0;
      for (size_t j = start; j < end; ++j)
        c += nodeCosts[j];
      costs.push_back(c);
      start = end;
    }
    Score s = scoreOf(costs);
    if (s.max > limit)
      continue;
    if (!best || s.max < best->max - 1e-9 ||
        (std::abs(s.max - best->max) <= 1e-9 &&
         s.sumSquares < best->sumSquares - 1e-9))
      best = s;
  }
  return best;
}

TEST(BoundariesTest, SegmentChoiceMatchesBruteForce) {
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 400; ++trial) {
    size_t n = 2 + rng() % 11;
    std::vector<double> costs(n);
    for (double &c : costs)
      c = rng() % 4 == 0 ? 0.0 : double(1 + rng() % 9); // zeros and ties
    std::vector<size_t> candidates;
    for (size_t p = 1; p < n; ++p)
      if (rng() % 3 != 0)
        candidates.push_back(p);
    size_t m = candidates.size();
    for (size_t segments = 1; segments <= m + 1; ++segments) {
      SegmentRequest request;
      request.segments = segments;
      auto choice = chooseSegments(costs, candidates, request);
      ASSERT_TRUE(bool(choice)) << llvm::toString(choice.takeError());
      ASSERT_EQ(choice->cuts.size() + 1, segments);
      ASSERT_EQ(choice->segmentCosts.size(), segments);
      for (size_t cut : choice->cuts)
        ASSERT_TRUE(std::count(candidates.begin(), candidates.end(), cut));
      Score got = scoreOf(choice->segmentCosts);
      auto expected = bruteForce(costs, candidates, segments, 1e300);
      ASSERT_TRUE(expected.has_value());
      EXPECT_NEAR(got.max, expected->max, 1e-9) << "trial " << trial;
      EXPECT_NEAR(got.sumSquares, expected->sumSquares, 1e-9)
          << "trial " << trial << " segments " << segments;
    }
    // A cost limit: the fewest segments that meet it, then balanced.
    double total = 0;
    for (double c : costs)
      total += c;
    double limit = 1 + double(rng() % (size_t(total) + 2));
    SegmentRequest request;
    request.maxSegmentCost = limit;
    auto choice = chooseSegments(costs, candidates, request);
    std::optional<Score> expected;
    size_t expectedSegments = 0;
    for (size_t segments = 1; segments <= m + 1 && !expected; ++segments) {
      expected = bruteForce(costs, candidates, segments, limit);
      expectedSegments = segments;
    }
    if (!expected) {
      EXPECT_FALSE(bool(choice)) << "trial " << trial;
      llvm::consumeError(choice.takeError());
      continue;
    }
    ASSERT_TRUE(bool(choice)) << llvm::toString(choice.takeError());
    EXPECT_EQ(choice->segmentCosts.size(), expectedSegments);
    Score got = scoreOf(choice->segmentCosts);
    EXPECT_NEAR(got.max, expected->max, 1e-9);
    EXPECT_NEAR(got.sumSquares, expected->sumSquares, 1e-9);
  }
}

TEST(BoundariesTest, SegmentChoiceErrorsNameTheProblem) {
  std::vector<double> costs = {1, 50, 2, 30, 4};
  SegmentNaming naming;
  naming.nodeNames = {"a", "b", "c", "d", "e"};
  SegmentRequest tooMany;
  tooMany.segments = 4;
  auto choice = chooseSegments(costs, {2, 4}, tooMany, naming);
  ASSERT_FALSE(bool(choice));
  EXPECT_EQ(llvm::toString(choice.takeError()),
            "model has only 2 valid cut points; at most 3 segments (asked "
            "for 4)");

  SegmentRequest limit;
  limit.maxSegmentCost = 40;
  choice = chooseSegments(costs, {2, 4}, limit, naming);
  ASSERT_FALSE(bool(choice));
  EXPECT_EQ(llvm::toString(choice.takeError()),
            "node b: max-segment-cost=40 cannot be met: this node alone "
            "costs 50 FLOPs");

  limit.maxSegmentCost = 50.5;
  choice = chooseSegments(costs, {2, 4}, limit, naming);
  ASSERT_FALSE(bool(choice));
  EXPECT_EQ(llvm::toString(choice.takeError()),
            "node b: max-segment-cost=50.5 cannot be met: this node (50 FLOPs, "
            "the most expensive of nodes a to b) lies in a stretch without a "
            "valid cut point that costs 51 FLOPs; raise max-segment-cost to "
            "at least 51 or allow more live tensors");

  limit.maxSegmentCost = 51.5;
  choice = chooseSegments(costs, {2, 4}, limit, naming);
  ASSERT_TRUE(bool(choice)) << llvm::toString(choice.takeError());
  EXPECT_EQ(choice->cuts, (Positions{2}));
}

// --- The pass
// -----------------------------------------------------------------

llvm::Error runPipelineOnFamily(Family &family, llvm::StringRef pipeline) {
  auto passes = createPassPipeline(pipeline);
  if (!passes)
    return passes.takeError();
  for (auto &pass : *passes)
    if (llvm::Error err = pass->runOnFamily(family))
      return err;
  return llvm::Error::success();
}

std::string zoo(const std::string &task, const std::string &variant) {
  return std::string(SPARSELOOM_SOURCE_DIR) + "/examples/zoo/" + task + "/" +
         task + "." + variant + ".onnx";
}

std::vector<size_t> positionsOf(const std::vector<FamilyBoundary> &cuts) {
  std::vector<size_t> positions;
  for (const FamilyBoundary &b : cuts)
    positions.push_back(b.position);
  return positions;
}

const Node *nodeAt(const Module &module, size_t position) {
  auto order = topologicalOrder(module.graph);
  EXPECT_TRUE(bool(order));
  return (*order)[position];
}

TEST(DetectBoundariesTest, AnnotatesAChainAndChoosesBalancedSegments) {
  Builder b;
  b.input("x");
  b.relu(b.conv(b.relu(b.conv(b.conv("x", "c1"), "c2"), "r2"), "c3"), "r3");
  b.conv("r3", "c4");
  b.output("c4");
  Family family = Family::ofOne(b.module.clone(), "chain.slir");
  ASSERT_FALSE(bool(runPipelineOnFamily(
      family, "detect-boundaries(segments=2,max-live-tensors=1)")));
  EXPECT_TRUE(family.state.boundariesDetected);
  EXPECT_EQ(positionsOf(family.state.candidates), (Positions{1, 3, 5}));
  ASSERT_EQ(family.state.chosen.size(), 1u);
  // Conv costs 2*32*2 + 0 = 128 FLOPs, Relu 32: [c1 | c2 r2 c3 r3 c4] is
  // 128 | 448, [c1 c2 r2 | c3 r3 c4] 288 | 288.
  EXPECT_EQ(family.state.chosen[0].position, 3u);
  EXPECT_EQ(family.state.chosen[0].liveTensors,
            (std::vector<std::string>{"r2"}));

  const Module &m = family.reference();
  const Node *c3 = nodeAt(m, 3);
  EXPECT_EQ(c3->annotations.at("boundary.candidate").getInt(), 1);
  EXPECT_EQ(c3->annotations.at("boundary.chosen").getInt(), 1);
  EXPECT_EQ(c3->annotations.at("boundary.live").getStrings(),
            (std::vector<std::string>{"r2"}));
  EXPECT_EQ(nodeAt(m, 2)->annotations.at("boundary.segment").getInt(), 0);
  EXPECT_EQ(nodeAt(m, 5)->annotations.at("boundary.segment").getInt(), 1);
  EXPECT_EQ(m.annotations.at("boundary.chosen").getInts(),
            (std::vector<int64_t>{3}));
  EXPECT_EQ(m.annotations.at("boundary.segment-costs").getFloats(),
            (std::vector<float>{288, 288}));

  // A second run with other options leaves no stale annotation behind.
  ASSERT_FALSE(bool(runPipelineOnFamily(family, "detect-boundaries")));
  EXPECT_FALSE(c3->annotations.count("boundary.chosen"));
  EXPECT_FALSE(nodeAt(m, 2)->annotations.count("boundary.segment"));
  EXPECT_TRUE(family.state.chosen.empty());
}

TEST(DetectBoundariesTest, RunOnALoneModuleWritesTheSameAnnotations) {
  Builder b;
  b.input("x");
  b.relu(b.conv(b.relu(b.conv("x", "c1"), "r1"), "c2"), "r2");
  b.conv("r2", "c3");
  b.output("c3");
  auto passes = createPassPipeline("detect-boundaries(segments=3)");
  ASSERT_TRUE(bool(passes));
  ASSERT_FALSE(bool((*passes)[0]->run(b.module)));
  EXPECT_EQ(b.module.annotations.at("boundary.chosen").getInts(),
            (std::vector<int64_t>{2, 4}));
  EXPECT_EQ((*passes)[0]->statistics().get("candidates"), 2);
  EXPECT_EQ((*passes)[0]->statistics().get("chosen"), 2);
}

TEST(DetectBoundariesTest, ErrorsNameTheFileAndSaySomethingUseful) {
  Builder b;
  b.input("x");
  b.input("side");
  b.conv(b.relu(b.conv("x", "c1"), "r1"), "c2");
  b.add("c2", "side", "y");
  b.output("y");
  Family family = Family::ofOne(b.module.clone(), "side.onnx");
  llvm::Error err = runPipelineOnFamily(family, "detect-boundaries");
  EXPECT_EQ(llvm::toString(std::move(err)),
            "side.onnx: no valid cut point: every gap between two nodes has "
            "more than 1 live activation tensor; the fewest, 2 ('side', "
            "'c1'), cross before node r1 (allow them with "
            "max-live-tensors=2)");
  ASSERT_FALSE(bool(
      runPipelineOnFamily(family, "detect-boundaries(max-live-tensors=2)")));

  err = runPipelineOnFamily(family,
                            "detect-boundaries(max-live-tensors=2,segments=3)");
  EXPECT_EQ(llvm::toString(std::move(err)),
            "side.onnx: model has only 1 valid cut point; at most 2 segments "
            "(asked for 3)");

  auto bad = createPassPipeline("detect-boundaries(segments=2,"
                                "max-segment-cost=10)");
  ASSERT_FALSE(bool(bad));
  EXPECT_EQ(llvm::toString(bad.takeError()),
            "options 'segments' and 'max-segment-cost' exclude each other: "
            "give a number of segments or a cost limit");
  bad = createPassPipeline("detect-boundaries(cost=latency)");
  ASSERT_FALSE(bool(bad));
  EXPECT_EQ(llvm::toString(bad.takeError()),
            "option 'cost' must be 'flops' or 'params', got 'latency'");
}

TEST(DetectBoundariesTest, MembersWithOtherStructureAreRefused) {
  Builder a, b;
  a.input("x");
  a.relu(a.conv(a.relu(a.conv("x", "c1"), "r1"), "c2"), "r2");
  a.output("r2");
  b.input("x");
  b.relu(b.conv("x", "c1"), "r1");
  b.output("r1");
  Family family = Family::ofOne(a.module.clone(), "a.onnx", "dense");
  family.task = "t";
  family.members.push_back(FamilyMember{"s90", "b.onnx", b.module.clone()});
  llvm::Error err = runPipelineOnFamily(family, "detect-boundaries");
  EXPECT_EQ(llvm::toString(std::move(err)),
            "b.onnx: member 's90' has 2 nodes but the reference 'dense' has "
            "4; the members of a family must share one structure (run "
            "align-family first to see where they differ)");
}

// --- The zoo ----------------------------------------------------------------

std::vector<std::string> liveOf(const Family &family) {
  std::vector<std::string> names;
  for (const FamilyBoundary &b : family.state.candidates) {
    EXPECT_EQ(b.liveTensors.size(), 1u);
    names.push_back(b.liveTensors.empty() ? "" : b.liveTensors.front());
  }
  return names;
}

TEST(DetectBoundariesTest, ZooCandidates) {
  struct Expectation {
    const char *task;
    Positions candidates;
  };
  const Expectation expectations[] = {
      {"digits", {3, 7}},
      {"glyphs", {2, 8, 14, 22}},
      {"kws", {2, 4, 6, 8, 10, 12, 14, 16, 20}},
      {"lang", {184}},
  };
  for (const Expectation &e : expectations) {
    auto family = loadFamily({zoo(e.task, "dense"), zoo(e.task, "s90")}, "");
    ASSERT_TRUE(bool(family)) << llvm::toString(family.takeError());
    ASSERT_FALSE(bool(runPipelineOnFamily(*family, "detect-boundaries")));
    EXPECT_EQ(positionsOf(family->state.candidates), e.candidates) << e.task;
    // Every member carries the same cut points.
    for (const FamilyMember &member : family->members)
      EXPECT_EQ(
          member.module->annotations.at("boundary.candidates").getInts().size(),
          e.candidates.size());
  }
  // Glyphs' cuts are the stem and block outputs, then the classifier input.
  auto glyphs = loadFamily({zoo("glyphs", "dense")}, "");
  ASSERT_TRUE(bool(glyphs));
  ASSERT_FALSE(bool(runPipelineOnFamily(*glyphs, "detect-boundaries")));
  EXPECT_EQ(liveOf(*glyphs),
            (std::vector<std::string>{
                "/Relu_output_0", "/block1/Relu_1_output_0",
                "/block2/Relu_1_output_0", "/Flatten_output_0"}));
}

TEST(DetectBoundariesTest, LangNeedsItsMaskAndPaddingWeightsAcrossCuts) {
  auto family = loadFamily({zoo("lang", "dense")}, "");
  ASSERT_TRUE(bool(family)) << llvm::toString(family.takeError());
  // The additive attention bias and the padding weights of the final mean
  // pooling are live from the preamble to the end: three tensors cross the
  // block boundaries, never fewer.
  ASSERT_FALSE(bool(runPipelineOnFamily(
      *family, "detect-boundaries(max-live-tensors=3,segments=3)")));
  EXPECT_EQ(positionsOf(family->state.candidates),
            (Positions{65, 89, 140, 184}));
  const FamilyBoundary &between = family->state.candidates[1];
  EXPECT_EQ(between.liveTensors,
            (std::vector<std::string>{"/Cast_output_0", "/Unsqueeze_1_output_0",
                                      "/blocks.0/Add_3_output_0"}));
  // More room changes nothing: the extra gaps are inside blocks.
  ASSERT_FALSE(bool(
      runPipelineOnFamily(*family, "detect-boundaries(max-live-tensors=6)")));
  EXPECT_EQ(positionsOf(family->state.candidates),
            (Positions{65, 89, 140, 184}));
}

TEST(DetectBoundariesTest, GlyphsFamilyWithTheChannelPrunedVariant) {
  auto family = loadFamily(
      {zoo("glyphs", "dense"), zoo("glyphs", "s90"), zoo("glyphs", "channel")},
      "");
  ASSERT_TRUE(bool(family)) << llvm::toString(family.takeError());
  // Unaligned: each member in its own order; aligned: in the reference's.
  for (const char *pipeline : {"detect-boundaries(segments=3)",
                               "align-family,detect-boundaries(segments=3)"}) {
    ASSERT_FALSE(bool(runPipelineOnFamily(*family, pipeline))) << pipeline;
    EXPECT_EQ(positionsOf(family->state.candidates), (Positions{2, 8, 14, 22}))
        << pipeline;
    EXPECT_EQ(positionsOf(family->state.chosen), (Positions{8, 14}))
        << pipeline;
    for (const FamilyMember &member : family->members)
      EXPECT_EQ(member.module->annotations.at("boundary.chosen").getInts(),
                (std::vector<int64_t>{8, 14}))
          << member.variant;
  }
}

// --- Performance families (generated by scripts/zoo/perf_families.py) ----

std::string perfModel(const std::string &name) {
  std::vector<std::string> dirs;
  if (const char *env = std::getenv("SPARSELOOM_PERF_DIR"))
    dirs.push_back(env);
  dirs.push_back(std::string(SPARSELOOM_SOURCE_DIR) + "/build/perf-families");
  dirs.push_back("/tmp/perf");
  for (const std::string &dir : dirs) {
    std::string path = dir + "/" + name + ".dense.onnx";
    if (llvm::sys::fs::exists(path))
      return path;
  }
  return "";
}

/// Runs detect-boundaries(segments=4) and prints what it found and how
/// long the pass alone took, median of five runs (a figure for people,
/// never asserted).
void detectAndReport(Family &family, llvm::StringRef name) {
  std::vector<double> ms;
  for (int run = 0; run < 5; ++run) {
    auto start = std::chrono::steady_clock::now();
    ASSERT_FALSE(
        bool(runPipelineOnFamily(family, "detect-boundaries(segments=4)")));
    ms.push_back(std::chrono::duration<double, std::milli>(
                     std::chrono::steady_clock::now() - start)
                     .count());
  }
  std::sort(ms.begin(), ms.end());
  std::string chosen;
  for (const FamilyBoundary &b : family.state.chosen)
    chosen += " " + std::to_string(b.position);
  std::printf("%s: %zu nodes, %zu candidates, chosen at%s, %.2f ms\n",
              name.str().c_str(), family.reference().graph.numNodes(),
              family.state.candidates.size(), chosen.c_str(), ms[2]);
}

TEST(DetectBoundariesTest, ResNet50CutsOnlyAtStemAndBottleneckOutputs) {
  std::string path = perfModel("resnet50");
  if (path.empty())
    GTEST_SKIP() << "performance families not generated";
  auto family = loadFamily({path}, "");
  ASSERT_TRUE(bool(family)) << llvm::toString(family.takeError());
  detectAndReport(*family, "resnet50");
  const Module &m = family->reference();
  auto order = topologicalOrder(m.graph);
  ASSERT_TRUE(bool(order));
  ASSERT_EQ(family->state.candidates.size(), 17u);
  UseDefInfo uses(m.graph);
  size_t stem = 0, bottlenecks = 0, head = 0;
  for (const FamilyBoundary &b : family->state.candidates) {
    ASSERT_EQ(b.liveTensors.size(), 1u);
    const Node *def = uses.definingNode(b.liveTensors.front());
    ASSERT_NE(def, nullptr);
    const Node *before = (*order)[b.position - 1];
    EXPECT_EQ(def, before) << "the cut follows the tensor's producer";
    if (def->opType == "MaxPool") {
      ++stem;
    } else if (def->opType == "Relu") {
      // A bottleneck output: ReLU of the residual Add.
      const Node *add = uses.definingNode(def->inputs[0]);
      ASSERT_NE(add, nullptr);
      EXPECT_EQ(add->opType, "Add") << def->displayName();
      ++bottlenecks;
    } else {
      // The 16th bottleneck's output, after global pooling and flattening.
      EXPECT_EQ(def->opType, "Flatten");
      ++head;
    }
  }
  EXPECT_EQ(stem, 1u);
  EXPECT_EQ(bottlenecks, 15u);
  EXPECT_EQ(head, 1u);
  // More room for live tensors finds nothing inside the bottlenecks.
  ASSERT_FALSE(bool(
      runPipelineOnFamily(*family, "detect-boundaries(max-live-tensors=4)")));
  EXPECT_EQ(family->state.candidates.size(), 17u);
}

TEST(DetectBoundariesTest, BertCutsOnlyBetweenEncoderSublayers) {
  std::string path = perfModel("bert-base");
  if (path.empty())
    GTEST_SKIP() << "performance families not generated";
  auto family = loadFamily({path}, "");
  ASSERT_TRUE(bool(family)) << llvm::toString(family.takeError());
  detectAndReport(*family, "bert-base");
  // Post-norm layers: x = LN1(x + Attn(x)); x = LN2(x + FFN(x)). Each
  // LayerNorm output is a single-tensor cut and nothing inside attention
  // or the FFN is. The embedding's LayerNorm has no weighted op before it
  // and the last layer's output only reaches the classifier through the
  // [CLS] Gather, where the cut lands instead.
  UseDefInfo uses(family->reference().graph);
  size_t ln1 = 0, ln2 = 0, other = 0;
  for (const FamilyBoundary &b : family->state.candidates) {
    ASSERT_EQ(b.liveTensors.size(), 1u);
    const Node *def = uses.definingNode(b.liveTensors.front());
    ASSERT_NE(def, nullptr);
    llvm::StringRef name = def->name;
    if (name.endswith("/ln1/Add_1"))
      ++ln1;
    else if (name.endswith("/ln2/Add_1"))
      ++ln2;
    else
      ++other;
  }
  EXPECT_EQ(ln1, 12u);
  EXPECT_EQ(ln2, 11u) << "the last layer's output is followed by the head";
  EXPECT_EQ(other, 1u) << "the classifier input";
  ASSERT_FALSE(bool(
      runPipelineOnFamily(*family, "detect-boundaries(max-live-tensors=4)")));
  EXPECT_EQ(family->state.candidates.size(), 24u);
}

TEST(DetectBoundariesTest, OtherPerformanceFamiliesReport) {
  for (const char *name : {"resnet18", "mobilenetv2"}) {
    std::string path = perfModel(name);
    if (path.empty())
      GTEST_SKIP() << "performance families not generated";
    auto family = loadFamily({path}, "");
    ASSERT_TRUE(bool(family)) << llvm::toString(family.takeError());
    detectAndReport(*family, name);
    EXPECT_GE(family->state.candidates.size(), 3u);
    EXPECT_EQ(family->state.chosen.size(), 3u);
  }
}

} // namespace
