//===- SparsityAnalysisTest.cpp - Tests of the sparsity-analysis pass -----===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Crafted weights with a known zero structure (dense, channel, aligned
// blocks, N:M, unstructured, elided) read by Conv, Gemm, MatMul and
// ConvTranspose, checking the annotations the pass writes on weights, nodes
// and the module, the weight layouts (rows are always output channels) and
// the options.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/IR/Module.h"
#include "sparseloom/Pass/PassRegistry.h"

#include "RunPipeline.h"

#include "gtest/gtest.h"

#include <string>
#include <vector>

using namespace sparseloom;

namespace {

/// A module whose graph applies `op` with weight `w` to an input x, plus
/// helpers to read annotations back.
struct Model {
  Module module;

  Model() { module.opsetImports[""] = 13; }

  void addWeight(const std::string &name, std::vector<int64_t> dims,
                 const std::vector<float> &values) {
    module.graph.setWeight({name, TensorData::fromFloats(dims, values), {}});
  }
  Node &addNode(const std::string &op, const std::string &weight,
                AttributeMap attributes = {}) {
    Graph &g = module.graph;
    std::string x = "x" + std::to_string(g.numNodes());
    std::string y = "y" + std::to_string(g.numNodes());
    g.inputs.push_back(x);
    g.setType(x, TensorType()); // shapes do not matter to the analysis
    g.setType(y, TensorType());
    g.outputs.push_back(y);
    Node node;
    node.opType = op;
    node.name = op + std::to_string(g.numNodes());
    node.inputs = {x, weight};
    node.outputs = {y};
    node.attributes = std::move(attributes);
    return g.addNode(std::move(node));
  }
  const Attribute *weightAnnotation(const std::string &weight,
                                    const std::string &key) const {
    const Weight *w = module.graph.findWeight(weight);
    if (!w)
      return nullptr;
    auto it = w->annotations.find(key);
    return it == w->annotations.end() ? nullptr : &it->second;
  }
  std::string pattern(const std::string &weight) const {
    const Attribute *a = weightAnnotation(weight, "sparsity.pattern");
    return a ? a->getString() : "<none>";
  }
};

/// Row-major values of a rows x cols matrix from a 0/1 mask (1 = non-zero);
/// non-zeros get distinct values so nothing depends on them being equal.
std::vector<float> fromMask(const std::vector<std::vector<int>> &mask) {
  std::vector<float> values;
  for (const auto &row : mask)
    for (int bit : row)
      values.push_back(bit ? 0.5f + 0.01f * float(values.size()) : 0.0f);
  return values;
}

std::vector<std::vector<int>>
transpose(const std::vector<std::vector<int>> &m) {
  std::vector<std::vector<int>> t(m[0].size(), std::vector<int>(m.size()));
  for (size_t r = 0; r < m.size(); ++r)
    for (size_t c = 0; c < m[0].size(); ++c)
      t[c][r] = m[r][c];
  return t;
}

// 4 x 8, exactly 2 non-zeros in every aligned run of 4, irregular enough to
// form no aligned block.
const std::vector<std::vector<int>> kTwoFour = {
    {1, 1, 0, 0, 0, 1, 0, 1},
    {1, 0, 1, 0, 0, 0, 1, 1},
    {0, 1, 1, 0, 1, 0, 0, 1},
    {1, 0, 0, 1, 1, 1, 0, 0},
};

TEST(SparsityAnalysis, DenseWeight) {
  Model m;
  m.addWeight("w", {4, 2, 2, 2}, std::vector<float>(32, 1.0f));
  m.addNode("Conv", "w");
  auto stats = runPipeline(m.module, "sparsity-analysis");
  EXPECT_EQ(m.pattern("w"), "dense");
  EXPECT_FLOAT_EQ(m.weightAnnotation("w", "sparsity.density")->getFloat(),
                  1.0f);
  EXPECT_EQ(m.weightAnnotation("w", "sparsity.zeros")->getInt(), 0);
  EXPECT_EQ(m.weightAnnotation("w", "sparsity.channel-zeros")->getInt(), 0);
  EXPECT_EQ(stats["weights-analyzed"], 1);
  EXPECT_EQ(stats["dense-weights"], 1);
  EXPECT_EQ(stats["sparse-weights"], 0);
}

TEST(SparsityAnalysis, TwoFourAlongTheReductionDimension) {
  Model m;
  // Gemm transB=1 stores [N, K]: rows are already output channels.
  m.addWeight("gemm_t", {4, 8}, fromMask(kTwoFour));
  m.addNode("Gemm", "gemm_t", {{"transB", int64_t(1)}});
  // MatMul and Gemm transB=0 store [K, N]; viewed transposed they are the
  // same 2:4 matrix.
  m.addWeight("matmul", {8, 4}, fromMask(transpose(kTwoFour)));
  m.addNode("MatMul", "matmul");
  m.addWeight("gemm", {8, 4}, fromMask(transpose(kTwoFour)));
  m.addNode("Gemm", "gemm");
  auto stats = runPipeline(m.module, "sparsity-analysis");
  for (const char *w : {"gemm_t", "matmul", "gemm"}) {
    EXPECT_EQ(m.pattern(w), "nm:2:4") << w;
    EXPECT_FLOAT_EQ(m.weightAnnotation(w, "sparsity.density")->getFloat(),
                    0.5f);
    EXPECT_EQ(m.weightAnnotation(w, "sparsity.zeros")->getInt(), 16);
    EXPECT_EQ(m.weightAnnotation(w, "sparsity.channel-zeros")->getInt(), 0);
  }
  EXPECT_EQ(stats["sparse-weights"], 3);
}

TEST(SparsityAnalysis, TwoFourStoredTransposedIsNotTwoFourAsStored) {
  // The same [K, N] bytes read by Gemm transB=1 would be rows of K: the
  // layout matters, so the [8, 4] matrix as stored is not 2:4.
  Model m;
  m.addWeight("w", {8, 4}, fromMask(transpose(kTwoFour)));
  m.addNode("Gemm", "w", {{"transB", int64_t(1)}});
  runPipeline(m.module, "sparsity-analysis");
  EXPECT_NE(m.pattern("w"), "nm:2:4");
}

TEST(SparsityAnalysis, TighterFourEightWins) {
  // Runs of 4 hold up to 3 non-zeros but runs of 8 at most 4: 4:8 < 3:4.
  Model m;
  m.addWeight("w", {2, 8},
              fromMask({{1, 1, 1, 0, 1, 0, 0, 0}, {1, 1, 0, 1, 0, 0, 1, 0}}));
  m.addNode("Gemm", "w", {{"transB", int64_t(1)}});
  runPipeline(m.module, "sparsity-analysis");
  EXPECT_EQ(m.pattern("w"), "nm:4:8");
}

TEST(SparsityAnalysis, FourByOneBlocks) {
  // Conv [8, 4, 1, 1] is an 8 x 4 matrix; zeros are aligned 4x1 columns.
  std::vector<std::vector<int>> mask(8, std::vector<int>(4, 1));
  for (int r = 0; r < 4; ++r)
    mask[size_t(r)][1] = 0;
  for (int r = 4; r < 8; ++r)
    mask[size_t(r)][0] = mask[size_t(r)][2] = 0;
  Model m;
  m.addWeight("w", {8, 4, 1, 1}, fromMask(mask));
  m.addNode("Conv", "w");
  runPipeline(m.module, "sparsity-analysis");
  EXPECT_EQ(m.pattern("w"), "block:4x1");
  EXPECT_EQ(m.weightAnnotation("w", "sparsity.zeros")->getInt(), 12);
}

TEST(SparsityAnalysis, LargestBlockIsReported) {
  // An all-zero aligned 4x4 block is also a union of 2x2, 4x1... blocks;
  // the largest candidate is the one reported.
  std::vector<std::vector<int>> mask(8, std::vector<int>(8, 1));
  for (int r = 4; r < 8; ++r)
    for (int c = 0; c < 4; ++c)
      mask[size_t(r)][size_t(c)] = 0;
  Model m;
  m.addWeight("w", {8, 8}, fromMask(mask));
  m.addNode("Gemm", "w", {{"transB", int64_t(1)}});
  runPipeline(m.module, "sparsity-analysis");
  EXPECT_EQ(m.pattern("w"), "block:4x4");
}

TEST(SparsityAnalysis, WholeOutputChannels) {
  std::vector<std::vector<int>> mask(6, std::vector<int>(4, 1));
  mask[2] = {0, 0, 0, 0};
  mask[5] = {0, 0, 0, 0};
  Model m;
  m.addWeight("w", {6, 1, 2, 2}, fromMask(mask));
  m.addNode("Conv", "w");
  runPipeline(m.module, "sparsity-analysis");
  EXPECT_EQ(m.pattern("w"), "channel");
  EXPECT_EQ(m.weightAnnotation("w", "sparsity.channel-zeros")->getInt(), 2);
  EXPECT_EQ(m.weightAnnotation("w", "sparsity.zeros")->getInt(), 8);
}

TEST(SparsityAnalysis, ConvTransposeOutputChannelsAreAxisOne) {
  // ConvTranspose [C_in=2, M=8, 1, 1]: zeroing output channel 3 zeroes
  // w[:, 3], which is a column as stored but a whole channel in the view.
  std::vector<float> values(16, 1.0f);
  values[3] = values[8 + 3] = 0.0f;
  Model m;
  m.addWeight("w", {2, 8, 1, 1}, values);
  m.addNode("ConvTranspose", "w");
  runPipeline(m.module, "sparsity-analysis");
  EXPECT_EQ(m.pattern("w"), "channel");
  EXPECT_EQ(m.weightAnnotation("w", "sparsity.channel-zeros")->getInt(), 1);
}

TEST(SparsityAnalysis, GroupedConvTransposeMapsGroupsToChannelBlocks) {
  // group 2, [C_in=4, M/g=2, 1, 1]: output channel 3 is group 1's channel 1,
  // fed by input channels 2 and 3: elements (2,1) and (3,1).
  std::vector<float> values(8, 1.0f);
  values[2 * 2 + 1] = values[3 * 2 + 1] = 0.0f;
  Model m;
  m.addWeight("w", {4, 2, 1, 1}, values);
  m.addNode("ConvTranspose", "w", {{"group", int64_t(2)}});
  runPipeline(m.module, "sparsity-analysis(min-elements=1)");
  EXPECT_EQ(m.pattern("w"), "channel");
  EXPECT_EQ(m.weightAnnotation("w", "sparsity.channel-zeros")->getInt(), 1);
}

TEST(SparsityAnalysis, UnstructuredZeros) {
  // 3 zeros scattered in a 4 x 8 matrix: no aligned block is all zero and
  // every run of 4 or 8 somewhere keeps all its elements.
  std::vector<std::vector<int>> mask(4, std::vector<int>(8, 1));
  mask[0][3] = mask[1][6] = mask[3][0] = 0;
  Model m;
  m.addWeight("w", {4, 8}, fromMask(mask));
  m.addNode("Gemm", "w", {{"transB", int64_t(1)}});
  auto stats = runPipeline(m.module, "sparsity-analysis");
  EXPECT_EQ(m.pattern("w"), "unstructured");
  EXPECT_EQ(m.weightAnnotation("w", "sparsity.zeros")->getInt(), 3);
  EXPECT_FLOAT_EQ(m.weightAnnotation("w", "sparsity.density")->getFloat(),
                  29.0f / 32.0f);
  EXPECT_EQ(stats["sparse-weights"], 1);
}

TEST(SparsityAnalysis, ElidedWeightsUseMetadata) {
  Model m;
  m.module.graph.setWeight(
      {"half", TensorData::createElided(DType::F32, {16, 16}, 64, 0x1234), {}});
  m.addNode("Conv", "half");
  m.module.graph.setWeight(
      {"full",
       TensorData::createElided(DType::F32, {16, 16}, 256, 0x5678),
       {}});
  m.addNode("Conv", "full");
  auto stats = runPipeline(m.module, "sparsity-analysis");
  EXPECT_EQ(m.pattern("half"), "unknown");
  EXPECT_FLOAT_EQ(m.weightAnnotation("half", "sparsity.density")->getFloat(),
                  0.25f);
  EXPECT_EQ(m.weightAnnotation("half", "sparsity.zeros")->getInt(), 192);
  // Without values the channel count is not known, so it is not claimed.
  EXPECT_EQ(m.weightAnnotation("half", "sparsity.channel-zeros"), nullptr);
  // No zeros at all is exact even without values.
  EXPECT_EQ(m.pattern("full"), "dense");
  EXPECT_EQ(stats["sparse-weights"], 1);
  EXPECT_EQ(stats["dense-weights"], 1);
}

TEST(SparsityAnalysis, NodeAndModuleAnnotations) {
  Model m;
  std::vector<float> quarter(64, 1.0f);
  for (size_t i = 0; i < 48; ++i)
    quarter[i * 64 / 48] = 0.0f; // 48 zeros of 64
  m.addWeight("a", {8, 8}, quarter);
  m.addWeight("b", {4, 4}, std::vector<float>(16, 2.0f));
  Node &na = m.addNode("MatMul", "a");
  Node &nb = m.addNode("Conv", "b");
  Node &nb2 = m.addNode("Conv", "b"); // a shared weight annotates every reader
  runPipeline(m.module, "sparsity-analysis");
  EXPECT_FLOAT_EQ(na.annotations.at("sparsity.weight-density").getFloat(),
                  0.25f);
  EXPECT_FLOAT_EQ(nb.annotations.at("sparsity.weight-density").getFloat(),
                  1.0f);
  EXPECT_FLOAT_EQ(nb2.annotations.at("sparsity.weight-density").getFloat(),
                  1.0f);
  // Weighted by elements: (16 + 16) / (64 + 16).
  EXPECT_FLOAT_EQ(m.module.annotations.at("sparsity.total-density").getFloat(),
                  32.0f / 80.0f);
  EXPECT_EQ(m.module.annotations.at("sparsity.analyzed-weights").getInt(), 2);
}

TEST(SparsityAnalysis, MinElementsAndAllWeights) {
  Model m;
  m.addWeight("tiny", {2, 2}, {1, 0, 0, 1}); // below min-elements
  m.addWeight("bias", {4, 4}, std::vector<float>(16, 0.0f)); // not linear
  m.addNode("Gemm", "tiny", {{"transB", int64_t(1)}});
  auto stats = runPipeline(m.module, "sparsity-analysis");
  EXPECT_EQ(m.pattern("tiny"), "<none>");
  EXPECT_EQ(m.pattern("bias"), "<none>");
  EXPECT_EQ(stats["weights-analyzed"], 0);
  EXPECT_EQ(m.module.annotations.at("sparsity.analyzed-weights").getInt(), 0);

  stats = runPipeline(m.module,
                      "sparsity-analysis(min-elements=4,all-weights=true)");
  // 2 x 2 with a zero diagonal: no block, and rows too short for N:M.
  EXPECT_EQ(m.pattern("tiny"), "unstructured");
  EXPECT_EQ(m.pattern("bias"), "channel"); // all zero: every row
  EXPECT_EQ(stats["weights-analyzed"], 2);

  // Running again with the defaults drops the earlier results.
  runPipeline(m.module, "sparsity-analysis");
  EXPECT_EQ(m.pattern("tiny"), "<none>");
  EXPECT_EQ(m.pattern("bias"), "<none>");
}

TEST(SparsityAnalysis, ActivationOperandsAreIgnored) {
  Model m;
  Node &n = m.addNode("MatMul", "activation");
  m.module.graph.setType("activation", TensorType());
  m.module.graph.inputs.push_back("activation");
  auto stats = runPipeline(m.module, "sparsity-analysis");
  EXPECT_EQ(stats["weights-analyzed"], 0);
  EXPECT_TRUE(n.annotations.empty());
}

TEST(SparsityAnalysis, RejectsMalformedOptions) {
  for (const char *pipeline : {"sparsity-analysis(min-elements=x)",
                               "sparsity-analysis(min-elements=-2)",
                               "sparsity-analysis(all-weights=maybe)",
                               "sparsity-analysis(pattern=1)"}) {
    auto passes = createPassPipeline(pipeline);
    EXPECT_FALSE(bool(passes)) << pipeline;
    if (!passes)
      llvm::consumeError(passes.takeError());
  }
}

} // namespace
