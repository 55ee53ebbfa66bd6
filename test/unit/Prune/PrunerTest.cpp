//===- PrunerTest.cpp - Tests of magnitude pruning ------------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Small models written in ONNX text with generated weights whose magnitudes
// are all distinct (so which weights go is exact), pruned with every pattern
// and scope. Checks the per-layer density (to one weight), that the pruned
// weights are the smallest, that shapes are kept, the 4x1 block and 2:4
// constraints in the [output channels, reduction] view, channel removal
// with its consumers, the refusals, the errors, and end to end that a pruned
// model re-imports and sparsity-analysis reports the pattern it was pruned
// with.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Prune/Pruner.h"
#include "sparseloom/Prune/PruneDriver.h"

#include "sparseloom/Export/OnnxExporter.h"
#include "sparseloom/IR/WeightLayout.h"
#include "sparseloom/Import/OnnxImporter.h"
#include "sparseloom/Pass/PassRegistry.h"

#include "PruneInternal.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

using namespace sparseloom;

namespace {

/// `count` values whose magnitudes are distinct multiples of 0.001 * scale
/// (a permutation of 1..count), with mixed signs, as ONNX text.
std::string values(int64_t count, int seed, double scale = 1.0) {
  std::string text = "{";
  for (int64_t i = 0; i < count; ++i) {
    int64_t rank = (i * 7919 + seed) % count; // 7919 is prime
    double sign = (i * 31 + seed) % 3 == 0 ? -1.0 : 1.0;
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%.6g",
                  sign * double(rank + 1) * 0.001 * scale);
    text += (i ? ", " : "") + std::string(buffer);
  }
  return text + "}";
}

std::string constant(int64_t count, double value) {
  std::string text = "{";
  for (int64_t i = 0; i < count; ++i)
    text += (i ? ", " : "") + std::to_string(value);
  return text + "}";
}

/// Gemm (transB=1) -> Relu -> MatMul -> Sigmoid -> Gemm (transB=0): the
/// three weight layouts of fully connected layers.
std::string mlpText(double firstScale = 1.0) {
  return R"(<ir_version: 8, opset_import: ["" : 13]>
mlp (float[2,16] x) => (float[2,8] y)
<float[32,16] w1 = )" +
         values(512, 1, firstScale) + ", float[32] b1 = " + values(32, 2) +
         ", float[32,24] w2 = " + values(768, 3) +
         ", float[24,8] w3 = " + values(192, 4) + R"(>
{
  h1 = Gemm <transB = 1> (x, w1, b1)
  a1 = Relu (h1)
  h2 = MatMul (a1, w2)
  a2 = Sigmoid (h2)
  y = Gemm (a2, w3)
}
)";
}

/// Conv -> BatchNorm -> Relu -> per-channel Mul -> MaxPool -> Conv -> Relu
/// -> MaxPool -> Flatten -> Gemm.
std::string cnnText() {
  return R"(<ir_version: 8, opset_import: ["" : 13]>
cnn (float[1,4,8,8] x) => (float[1,10] y)
<float[8,4,3,3] w1 = )" +
         values(288, 5) + ", float[8] b1 = " + values(8, 6) +
         ", float[8] bn_s = " + constant(8, 1.0) +
         ", float[8] bn_b = " + values(8, 7) +
         ", float[8] bn_m = " + constant(8, 0.0) +
         ", float[8] bn_v = " + constant(8, 1.0) +
         ", float[8,1,1] sc = " + values(8, 8) +
         ", float[16,8,1,1] w2 = " + values(128, 9) +
         ", float[10,64] w3 = " + values(640, 10) +
         ", float[10] b3 = " + values(10, 11) + R"(>
{
  c1 = Conv <kernel_shape = [3, 3], pads = [1, 1, 1, 1]> (x, w1, b1)
  n1 = BatchNormalization (c1, bn_s, bn_b, bn_m, bn_v)
  r1 = Relu (n1)
  m1 = Mul (r1, sc)
  p1 = MaxPool <kernel_shape = [2, 2], strides = [2, 2]> (m1)
  c2 = Conv <kernel_shape = [1, 1]> (p1, w2)
  r2 = Relu (c2)
  g2 = MaxPool <kernel_shape = [2, 2], strides = [2, 2]> (r2)
  f2 = Flatten (g2)
  y = Gemm <transB = 1> (f2, w3, b3)
}
)";
}

/// A residual block: Conv -> Relu -> Add(., x) -> Conv.
std::string residualText() {
  return R"(<ir_version: 8, opset_import: ["" : 13]>
residual (float[1,8,4,4] x) => (float[1,8,4,4] y)
<float[8,8,1,1] w1 = )" +
         values(64, 12) + ", float[8,8,1,1] w2 = " + values(64, 13) + R"(>
{
  c1 = Conv <kernel_shape = [1, 1]> (x, w1)
  r1 = Relu (c1)
  s1 = Add (r1, x)
  y = Conv <kernel_shape = [1, 1]> (s1, w2)
}
)";
}

std::unique_ptr<Module> load(const std::string &text) {
  auto module = importOnnxText(text, ".");
  if (!module) {
    ADD_FAILURE() << llvm::toString(module.takeError());
    return nullptr;
  }
  return std::move(*module);
}

std::string errorOf(llvm::Error err) {
  return err ? llvm::toString(std::move(err)) : "<success>";
}

template <typename T> std::string errorOf(llvm::Expected<T> result) {
  return result ? "<success>" : llvm::toString(result.takeError());
}

std::unique_ptr<Pruner> makePruner(const Module &module,
                                   const PruneOptions &options) {
  auto pruner = Pruner::create(module, options);
  if (!pruner) {
    ADD_FAILURE() << llvm::toString(pruner.takeError());
    return nullptr;
  }
  return std::move(*pruner);
}

std::unique_ptr<Module> prune(const Pruner &pruner, double sparsity,
                              PruneReport &report) {
  auto pruned = pruner.prune(sparsity, report);
  if (!pruned) {
    ADD_FAILURE() << llvm::toString(pruned.takeError());
    return nullptr;
  }
  return std::move(*pruned);
}

std::vector<float> valuesOf(const Module &module, const std::string &weight) {
  return module.graph.findWeight(weight)->data->toFloats();
}

const Node &readerOf(const Module &module, const std::string &weight) {
  for (const auto &node : module.graph.nodes())
    if (node->inputs.size() > 1 && node->inputs[1] == weight)
      return *node;
  ADD_FAILURE() << "no node reads " << weight;
  return *module.graph.nodes().front();
}

const LayerReport *layerOf(const PruneReport &report,
                           const std::string &weight) {
  for (const LayerReport &layer : report.layers)
    if (layer.weight == weight)
      return &layer;
  return nullptr;
}

/// Largest magnitude that was zeroed and smallest that was kept.
std::pair<float, float> pruneBoundary(const std::vector<float> &before,
                                      const std::vector<float> &after) {
  float maxPruned = 0, minKept = INFINITY;
  for (size_t i = 0; i < before.size(); ++i) {
    if (after[i] == 0.0f)
      maxPruned = std::max(maxPruned, std::fabs(before[i]));
    else
      minKept = std::min(minKept, std::fabs(before[i]));
  }
  return {maxPruned, minKept};
}

int64_t nonZeros(const std::vector<float> &v) {
  return int64_t(
      std::count_if(v.begin(), v.end(), [](float x) { return x != 0.0f; }));
}

// --- Options -------------------------------------------------------------

// Patterns parse from their documented spellings and print back the same.
TEST(PruneOptionsTest, Patterns) {
  for (const char *spec : {"unstructured", "block:4x1", "nm:2:4", "channel"}) {
    auto pattern = PrunePattern::parse(spec);
    ASSERT_TRUE(bool(pattern)) << llvm::toString(pattern.takeError());
    EXPECT_EQ(pattern->str(), spec);
  }
  EXPECT_NE(errorOf(PrunePattern::parse("diagonal"))
                .find("--pattern: unknown pattern 'diagonal'"),
            std::string::npos);
  EXPECT_NE(errorOf(PrunePattern::parse("block:4")).find("not a block size"),
            std::string::npos);
  EXPECT_NE(errorOf(PrunePattern::parse("nm:4:4")).find("0 < N < M"),
            std::string::npos);
}

// Levels are numbers in [0, 1); nm:N:M fixes the level; no level twice.
TEST(PruneOptionsTest, SparsityLevels) {
  std::vector<double> levels;
  EXPECT_EQ(errorOf(parseSparsityList("0.5, 0.7,0.9", levels)), "<success>");
  EXPECT_EQ(levels, (std::vector<double>{0.5, 0.7, 0.9}));
  for (const char *bad : {"1", "1.5", "-0.1", "abc", "0.5,", "nan"}) {
    std::vector<double> out;
    EXPECT_NE(errorOf(parseSparsityList(bad, out)), "<success>") << bad;
  }
  PruneOptions options;
  EXPECT_NE(
      errorOf(checkSparsityLevels({0.5, 0.5}, options)).find("listed twice"),
      std::string::npos);
  EXPECT_NE(errorOf(checkSparsityLevels({}, options)), "<success>");
  options.pattern = *PrunePattern::parse("nm:2:4");
  EXPECT_EQ(errorOf(checkSparsityLevels({0.5}, options)), "<success>");
  EXPECT_NE(errorOf(checkSparsityLevels({0.5, 0.7}, options))
                .find("fixes the sparsity at 0.5, but 0.7 was requested"),
            std::string::npos);
  options.scope = PruneScope::Global;
  EXPECT_NE(errorOf(checkSparsityLevels({0.5}, options)), "<success>");
}

// Output names: <stem>.s<percent>.onnx with as few digits as needed.
TEST(PruneOptionsTest, FileNames) {
  EXPECT_EQ(prunedFileName("dir/model.onnx", 0.5), "model.s50.onnx");
  EXPECT_EQ(prunedFileName("m.onnxtext", 0.875), "m.s87.5.onnx");
  EXPECT_EQ(prunedFileName("m.onnx", 0.0), "m.s0.onnx");
  EXPECT_EQ(prunedFileName("m.onnx", 0.9), "m.s90.onnx");
}

// Selection prunes exactly `count` units, lowest first, ties by position.
TEST(PruneSelectionTest, ExactCountWithTies) {
  std::vector<float> scores = {3, 1, 2, 1, 1, 5};
  EXPECT_EQ(prune::selectLowest(scores, 2),
            (std::vector<uint8_t>{0, 1, 0, 1, 0, 0}));
  EXPECT_EQ(prune::selectLowest(scores, 4),
            (std::vector<uint8_t>{0, 1, 1, 1, 1, 0}));
  EXPECT_EQ(prune::selectLowest(scores, 0), (std::vector<uint8_t>(6, 0)));
  EXPECT_EQ(prune::selectLowest({NAN, 1.0f}, 1), (std::vector<uint8_t>{0, 1}));
  EXPECT_EQ(prune::unitsToPrune(0.7, 10), 7);
  EXPECT_EQ(prune::unitsToPrune(0.5, 5), 3);
}

// --- Unstructured, per layer and global -----------------------------------

// Per layer, every layer reaches the level to one weight, the zeroed
// weights are the smallest of their layer, and no shape changes.
TEST(PrunerTest, PerLayerDensityAndShapes) {
  auto module = load(mlpText());
  ASSERT_TRUE(module);
  auto pruner = makePruner(*module, {});
  ASSERT_TRUE(pruner);
  for (double level : {0.0, 0.5, 0.7, 0.9}) {
    PruneReport report;
    auto pruned = prune(*pruner, level, report);
    ASSERT_TRUE(pruned);
    ASSERT_EQ(report.layers.size(), 3u);
    for (const char *w : {"w1", "w2", "w3"}) {
      std::vector<float> before = valuesOf(*module, w);
      std::vector<float> after = valuesOf(*pruned, w);
      ASSERT_EQ(after.size(), before.size());
      double wanted = (1.0 - level) * double(before.size());
      EXPECT_LE(std::fabs(double(nonZeros(after)) - wanted), 1.0)
          << w << " at " << level;
      auto [maxPruned, minKept] = pruneBoundary(before, after);
      EXPECT_LT(maxPruned, minKept) << w << " at " << level;
      const LayerReport *layer = layerOf(report, w);
      ASSERT_TRUE(layer);
      EXPECT_EQ(layer->status, LayerReport::Status::Pruned);
      EXPECT_EQ(layer->kept, nonZeros(after));
      EXPECT_DOUBLE_EQ(layer->targetDensity, 1.0 - level);
    }
    // Every value keeps its type: the variant can be cut like the original.
    EXPECT_EQ(pruned->graph.types(), module->graph.types());
    EXPECT_EQ(errorOf(exportOnnxBytes(*pruned)), "<success>");
  }
}

// Global scope: one threshold over all layers (every zeroed weight is
// smaller than every kept one, whatever its layer), the total reaches the
// level, and the layers end at different densities when their scales
// differ.
TEST(PrunerTest, GlobalThreshold) {
  auto module = load(mlpText(/*firstScale=*/10.0));
  ASSERT_TRUE(module);
  PruneOptions options;
  options.scope = PruneScope::Global;
  auto pruner = makePruner(*module, options);
  ASSERT_TRUE(pruner);
  PruneReport report;
  auto pruned = prune(*pruner, 0.6, report);
  ASSERT_TRUE(pruned);
  std::vector<float> before, after;
  for (const char *w : {"w1", "w2", "w3"}) {
    std::vector<float> b = valuesOf(*module, w), a = valuesOf(*pruned, w);
    before.insert(before.end(), b.begin(), b.end());
    after.insert(after.end(), a.begin(), a.end());
  }
  EXPECT_LE(std::fabs(double(nonZeros(after)) - 0.4 * double(before.size())),
            1.0);
  auto [maxPruned, minKept] = pruneBoundary(before, after);
  EXPECT_LT(maxPruned, minKept);
  // w1's weights are ten times larger: it keeps far more of them.
  EXPECT_GT(layerOf(report, "w1")->density(), 0.8);
  EXPECT_LT(layerOf(report, "w2")->density(), 0.4);
  EXPECT_LT(layerOf(report, "w1")->targetDensity, 0.0); // no per-layer target
  EXPECT_NEAR(report.totalDensity(), 0.4, 1.0 / double(before.size()));
}

// --- Structured patterns ----------------------------------------------------

/// True when every aligned R x C block of the weight's matrix view is all
/// zero or has no zero; counts the zero blocks.
bool blocksHold(const Module &module, const std::string &weight, int64_t r,
                int64_t c, int64_t &zeroBlocks) {
  const TensorData &data = *module.graph.findWeight(weight)->data;
  WeightMatrixView view =
      WeightMatrixView::forNode(readerOf(module, weight), data.dims());
  std::vector<float> v = data.toFloats();
  zeroBlocks = 0;
  for (int64_t br = 0; br < view.rows(); br += r)
    for (int64_t bc = 0; bc < view.cols(); bc += c) {
      int64_t zeros = 0;
      for (int64_t i = 0; i < r; ++i)
        for (int64_t j = 0; j < c; ++j)
          zeros += v[size_t(view.index(br + i, bc + j))] == 0.0f;
      if (zeros != 0 && zeros != r * c)
        return false;
      zeroBlocks += zeros == r * c;
    }
  return true;
}

// block:4x1: every aligned 4x1 block (4 output channels x 1 reduction
// element) is all zero or all kept, in every weight layout, and each layer
// loses round(level x blocks) blocks.
TEST(PrunerTest, Block4x1Constraint) {
  // cnn's last Gemm has 10 output channels: not a multiple of 4.
  const std::pair<std::string, std::vector<std::string>> cases[] = {
      {mlpText(), {}}, {cnnText(), {"y"}}};
  for (const auto &[text, exclude] : cases) {
    auto module = load(text);
    ASSERT_TRUE(module);
    PruneOptions options;
    options.pattern = *PrunePattern::parse("block:4x1");
    options.exclude = exclude;
    auto pruner = makePruner(*module, options);
    ASSERT_TRUE(pruner);
    PruneReport report;
    auto pruned = prune(*pruner, 0.7, report);
    ASSERT_TRUE(pruned);
    for (const LayerReport &layer : report.layers) {
      if (layer.status != LayerReport::Status::Pruned)
        continue;
      int64_t zeroBlocks = 0;
      EXPECT_TRUE(blocksHold(*pruned, layer.weight, 4, 1, zeroBlocks))
          << layer.weight;
      int64_t blocks = layer.elements / 4;
      EXPECT_EQ(zeroBlocks, std::llround(0.7 * double(blocks))) << layer.weight;
      EXPECT_EQ(layer.newShape, layer.shape);
    }
  }
}

// nm:2:4: in every run of 4 consecutive reduction elements of an output
// channel exactly 2 are kept, and they are the larger two.
TEST(PrunerTest, NM24Constraint) {
  auto module = load(mlpText());
  ASSERT_TRUE(module);
  PruneOptions options;
  options.pattern = *PrunePattern::parse("nm:2:4");
  auto pruner = makePruner(*module, options);
  ASSERT_TRUE(pruner);
  PruneReport report;
  auto pruned = prune(*pruner, 0.5, report);
  ASSERT_TRUE(pruned);
  for (const char *w : {"w1", "w2", "w3"}) {
    const TensorData &data = *pruned->graph.findWeight(w)->data;
    WeightMatrixView view =
        WeightMatrixView::forNode(readerOf(*pruned, w), data.dims());
    std::vector<float> before = valuesOf(*module, w), after = data.toFloats();
    for (int64_t row = 0; row < view.rows(); ++row)
      for (int64_t g = 0; g < view.cols(); g += 4) {
        float maxPruned = 0, minKept = INFINITY;
        int64_t kept = 0;
        for (int64_t j = 0; j < 4; ++j) {
          size_t i = size_t(view.index(row, g + j));
          if (after[i] != 0.0f) {
            ++kept;
            minKept = std::min(minKept, std::fabs(before[i]));
          } else {
            maxPruned = std::max(maxPruned, std::fabs(before[i]));
          }
        }
        EXPECT_EQ(kept, 2) << w << " row " << row << " group " << g;
        EXPECT_LT(maxPruned, minKept);
      }
    EXPECT_DOUBLE_EQ(layerOf(report, w)->density(), 0.5);
  }
}

// A pattern that does not divide a weight's matrix is an error naming the
// node, the weight and its shape.
TEST(PrunerTest, PatternMustDivide) {
  auto module = load(cnnText());
  ASSERT_TRUE(module);
  PruneOptions options;
  options.pattern = *PrunePattern::parse("block:4x1");
  EXPECT_EQ(errorOf(Pruner::create(*module, options)),
            "node Gemm producing 'y': pattern block:4x1 does not divide "
            "weight 'w3' of shape [10,64]: 10 output channels are not a "
            "multiple of 4 (exclude the node with --exclude y, or choose "
            "another pattern)");
  options.pattern = *PrunePattern::parse("nm:2:8");
  EXPECT_EQ(errorOf(Pruner::create(*module, options)),
            "node Conv producing 'c1': pattern nm:2:8 does not divide weight "
            "'w1' of shape [8,4,3,3]: 36 reduction columns are not a multiple "
            "of 8 (exclude the node with --exclude c1, or choose another "
            "pattern)");
}

// --- Selection of layers -------------------------------------------------

// --exclude and --keep-first-last leave layers untouched; a pattern that
// matches no node is an error; --min-params skips small weights.
TEST(PrunerTest, ExcludeKeepFirstLastMinParams) {
  auto module = load(mlpText());
  ASSERT_TRUE(module);
  PruneOptions options;
  options.exclude = {"h1"};
  options.minParams = 200;
  auto pruner = makePruner(*module, options);
  ASSERT_TRUE(pruner);
  PruneReport report;
  auto pruned = prune(*pruner, 0.5, report);
  ASSERT_TRUE(pruned);
  EXPECT_EQ(layerOf(report, "w1")->status, LayerReport::Status::Excluded);
  EXPECT_EQ(valuesOf(*pruned, "w1"), valuesOf(*module, "w1"));
  EXPECT_EQ(layerOf(report, "w2")->status, LayerReport::Status::Pruned);
  EXPECT_EQ(layerOf(report, "w3")->status, LayerReport::Status::BelowMinParams);
  EXPECT_EQ(valuesOf(*pruned, "w3"), valuesOf(*module, "w3"));
  // Nothing left to prune is an error, not a silent copy.
  options.exclude = {"h*"};
  EXPECT_EQ(errorOf(Pruner::create(*module, options)),
            "every prunable weight is excluded or kept dense (--exclude, "
            "--keep-first-last): nothing to prune");

  options = PruneOptions();
  options.keepFirstLast = true;
  pruner = makePruner(*module, options);
  ASSERT_TRUE(pruner);
  pruned = prune(*pruner, 0.5, report);
  ASSERT_TRUE(pruned);
  EXPECT_EQ(valuesOf(*pruned, "w1"), valuesOf(*module, "w1"));
  EXPECT_EQ(valuesOf(*pruned, "w3"), valuesOf(*module, "w3"));
  EXPECT_EQ(nonZeros(valuesOf(*pruned, "w2")), 384);

  options = PruneOptions();
  options.exclude = {"h2,nowhere*"};
  EXPECT_EQ(errorOf(Pruner::create(*module, options)),
            "--exclude: unknown node pattern 'nowhere*': no node is named "
            "like it (an unnamed node is matched by the name of its first "
            "output)");
}

// A model without linear weights (or with only small ones) has nothing to
// prune.
TEST(PrunerTest, NoPrunableWeights) {
  auto module = load(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[2,4] x) => (float[2,4] y) <float[4,4] w = )" +
                     values(16, 1) + R"(> {
  z = Relu (x)
  y = MatMul (z, w)
}
)");
  ASSERT_TRUE(module);
  PruneOptions options;
  options.minParams = 17;
  EXPECT_NE(errorOf(Pruner::create(*module, options))
                .find("the model has no prunable weights"),
            std::string::npos);
  options.minParams = 16;
  EXPECT_EQ(errorOf(Pruner::create(*module, options)), "<success>");
}

// --- Channels --------------------------------------------------------------

// Removing output channels of a Conv shrinks its weight and bias, the
// BatchNorm parameters, the per-channel Mul weight and the next Conv's input
// channels; behind a Flatten, each channel is a run of features of the
// Gemm's input. The kept channels are those with the largest L2 norm; the
// model passes ONNX's checker and shape inference; the Gemm whose output is
// the graph's is skipped with the reason.
TEST(PrunerTest, ChannelRemovalAdjustsConsumers) {
  auto module = load(cnnText());
  ASSERT_TRUE(module);
  PruneOptions options;
  options.pattern = *PrunePattern::parse("channel");
  auto pruner = makePruner(*module, options);
  ASSERT_TRUE(pruner);
  ASSERT_EQ(pruner->warnings().size(), 1u);
  EXPECT_EQ(pruner->warnings()[0].first, "Gemm producing 'y'");
  EXPECT_EQ(pruner->warnings()[0].second,
            "output channels not removed: its output channels reach the "
            "graph output 'y'");

  PruneReport report;
  auto pruned = prune(*pruner, 0.5, report);
  ASSERT_TRUE(pruned);
  const Graph &g = pruned->graph;
  auto dims = [&](const char *w) { return g.findWeight(w)->data->dims(); };
  EXPECT_EQ(dims("w1"), (std::vector<int64_t>{4, 4, 3, 3}));
  EXPECT_EQ(dims("b1"), (std::vector<int64_t>{4}));
  for (const char *p : {"bn_s", "bn_b", "bn_m", "bn_v"})
    EXPECT_EQ(dims(p), (std::vector<int64_t>{4})) << p;
  EXPECT_EQ(dims("sc"), (std::vector<int64_t>{4, 1, 1}));
  EXPECT_EQ(dims("w2"), (std::vector<int64_t>{8, 4, 1, 1}));
  EXPECT_EQ(dims("w3"), (std::vector<int64_t>{10, 32}));
  EXPECT_EQ(dims("b3"), (std::vector<int64_t>{10}));
  EXPECT_EQ(formatType(g.getType("c1")), "f32[1,4,8,8]");
  EXPECT_EQ(formatType(g.getType("p1")), "f32[1,4,4,4]");
  EXPECT_EQ(formatType(g.getType("c2")), "f32[1,8,4,4]");
  EXPECT_EQ(formatType(g.getType("f2")), "f32[1,32]");
  EXPECT_EQ(formatType(g.getType("y")), "f32[1,10]");

  /// The `count` rows of a [rows, cols] matrix with the largest L2 norm, in
  /// their original order.
  auto largestRows = [](const std::vector<float> &m, int64_t rows, int64_t cols,
                        int64_t count) {
    std::vector<std::pair<double, int64_t>> norms;
    for (int64_t row = 0; row < rows; ++row) {
      double sum = 0;
      for (int64_t i = 0; i < cols; ++i)
        sum += double(m[size_t(row * cols + i)]) * m[size_t(row * cols + i)];
      norms.push_back({sum, row});
    }
    std::sort(norms.rbegin(), norms.rend());
    std::vector<int64_t> kept;
    for (int64_t i = 0; i < count; ++i)
      kept.push_back(norms[size_t(i)].second);
    std::sort(kept.begin(), kept.end());
    return kept;
  };
  std::vector<float> w1 = valuesOf(*module, "w1"), w2 = valuesOf(*module, "w2"),
                     w3 = valuesOf(*module, "w3");
  std::vector<float> newW1 = valuesOf(*pruned, "w1"),
                     newW2 = valuesOf(*pruned, "w2"),
                     newW3 = valuesOf(*pruned, "w3");
  std::vector<int64_t> kept1 = largestRows(w1, 8, 36, 4);
  std::vector<int64_t> kept2 = largestRows(w2, 16, 8, 8);
  // Conv1 keeps its rows; conv2 keeps its rows and conv1's kept columns.
  for (size_t k = 0; k < kept1.size(); ++k)
    for (int64_t i = 0; i < 36; ++i)
      EXPECT_EQ(newW1[k * 36 + size_t(i)], w1[size_t(kept1[k] * 36 + i)]);
  for (size_t r = 0; r < kept2.size(); ++r)
    for (size_t k = 0; k < kept1.size(); ++k)
      EXPECT_EQ(newW2[r * 4 + k], w2[size_t(kept2[r] * 8 + kept1[k])]);
  // The Gemm keeps the 4 features (2x2 pooled positions) of each channel.
  for (int64_t out = 0; out < 10; ++out)
    for (size_t k = 0; k < kept2.size(); ++k)
      for (int64_t j = 0; j < 4; ++j)
        EXPECT_EQ(newW3[size_t(out * 32) + k * 4 + size_t(j)],
                  w3[size_t(out * 64 + kept2[k] * 4 + j)]);

  const LayerReport *c1 = layerOf(report, "w1");
  EXPECT_EQ(c1->channels, 8);
  EXPECT_EQ(c1->keptChannels, 4);
  EXPECT_DOUBLE_EQ(c1->density(), 0.5);
  EXPECT_EQ(layerOf(report, "w2")->keptChannels, 8);
  EXPECT_EQ(layerOf(report, "w3")->status, LayerReport::Status::Skipped);

  // Valid for ONNX: the checker on export, shape inference on re-import.
  auto bytes = exportOnnxBytes(*pruned);
  ASSERT_TRUE(bool(bytes)) << llvm::toString(bytes.takeError());
  auto reimported = importOnnxBytes(*bytes, ".");
  ASSERT_TRUE(bool(reimported)) << llvm::toString(reimported.takeError());
  EXPECT_EQ(formatType((*reimported)->graph.getType("m1")), "f32[1,4,8,8]");
}

// Channels that meet another activation in an Add (a residual connection)
// are not removed; when no layer can lose channels, that is an error that
// names each layer and why.
TEST(PrunerTest, ChannelRefusesResidual) {
  auto module = load(residualText());
  ASSERT_TRUE(module);
  PruneOptions options;
  options.pattern = *PrunePattern::parse("channel");
  std::string error = errorOf(Pruner::create(*module, options));
  EXPECT_NE(error.find("node Conv producing 'c1': cannot remove output "
                       "channels: its output channels meet the activation "
                       "'x' in Add producing 's1' (a residual connection"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("node Conv producing 'y': cannot remove output "
                       "channels: its output channels reach the graph "
                       "output 'y'"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("--pattern channel: no layer's output channels can "
                       "be removed"),
            std::string::npos);
}

// Global channel pruning scores channels relative to their layer, keeps at
// least one channel per layer and reaches the level to within one channel.
TEST(PrunerTest, ChannelGlobal) {
  auto module = load(mlpText());
  ASSERT_TRUE(module);
  PruneOptions options;
  options.pattern = *PrunePattern::parse("channel");
  options.scope = PruneScope::Global;
  auto pruner = makePruner(*module, options);
  ASSERT_TRUE(pruner);
  PruneReport report;
  auto pruned = prune(*pruner, 0.9, report);
  ASSERT_TRUE(pruned);
  // h1 (32 channels of 16) and h2 (24 channels of 32) lose channels; y's
  // channels are a graph output.
  EXPECT_EQ(layerOf(report, "w3")->status, LayerReport::Status::Skipped);
  int64_t largestChannel = 32;
  EXPECT_LE(
      std::fabs(double(report.totalKept) - 0.1 * double(report.totalElements)),
      double(largestChannel));
  for (const char *w : {"w1", "w2"})
    EXPECT_GE(layerOf(report, w)->keptChannels, 1) << w;
  EXPECT_EQ(errorOf(exportOnnxBytes(*pruned)), "<success>");
}

// --- Storage and end to end ---------------------------------------------

// --sparse-initializers stores pruned weights as COO; they export as
// sparse_initializers and import as such again.
TEST(PrunerTest, SparseInitializers) {
  auto module = load(mlpText());
  ASSERT_TRUE(module);
  PruneOptions options;
  options.sparseInitializers = true;
  auto pruner = makePruner(*module, options);
  ASSERT_TRUE(pruner);
  PruneReport report;
  auto pruned = prune(*pruner, 0.7, report);
  ASSERT_TRUE(pruned);
  const TensorData &w2 = *pruned->graph.findWeight("w2")->data;
  EXPECT_EQ(w2.kind(), TensorData::Kind::SparseCoo);
  EXPECT_EQ(int64_t(w2.sparseIndices().size()), w2.numNonZeros());
  EXPECT_EQ(pruned->graph.findWeight("b1")->data->kind(),
            TensorData::Kind::Dense);
  auto bytes = exportOnnxBytes(*pruned);
  ASSERT_TRUE(bool(bytes));
  auto reimported = importOnnxBytes(*bytes, ".");
  ASSERT_TRUE(bool(reimported)) << llvm::toString(reimported.takeError());
  EXPECT_EQ((*reimported)->graph.findWeight("w2")->data->kind(),
            TensorData::Kind::SparseCoo);
  EXPECT_EQ((*reimported)->graph.findWeight("w2")->data->contentHash(),
            w2.contentHash());
}

/// Exports and re-imports `module`, runs sparsity-analysis, and returns the
/// pattern annotation of each weight.
std::map<std::string, std::string> analyzedPatterns(const Module &module) {
  std::map<std::string, std::string> patterns;
  auto bytes = exportOnnxBytes(module);
  if (!bytes) {
    ADD_FAILURE() << llvm::toString(bytes.takeError());
    return patterns;
  }
  auto reimported = importOnnxBytes(*bytes, ".");
  if (!reimported) {
    ADD_FAILURE() << llvm::toString(reimported.takeError());
    return patterns;
  }
  auto passes = createPassPipeline("sparsity-analysis");
  if (!passes) {
    ADD_FAILURE() << llvm::toString(passes.takeError());
    return patterns;
  }
  for (auto &pass : *passes)
    if (llvm::Error err = pass->run(**reimported))
      ADD_FAILURE() << llvm::toString(std::move(err));
  for (const auto &[name, weight] : (*reimported)->graph.weights()) {
    auto it = weight.annotations.find("sparsity.pattern");
    if (it != weight.annotations.end())
      patterns[name] = it->second.getString();
  }
  return patterns;
}

// What the pruner makes is what sparsity-analysis reports: block:4x1 (or a
// coarser block that happens to hold too) and nm:2:4, in every layout.
TEST(PrunerTest, EndToEndSparsityAnalysis) {
  auto module = load(mlpText());
  ASSERT_TRUE(module);
  PruneOptions options;
  options.pattern = *PrunePattern::parse("block:4x1");
  auto pruner = makePruner(*module, options);
  ASSERT_TRUE(pruner);
  PruneReport report;
  auto pruned = prune(*pruner, 0.5, report);
  ASSERT_TRUE(pruned);
  for (const auto &[weight, pattern] : analyzedPatterns(*pruned)) {
    if (weight == "b1")
      continue;
    EXPECT_TRUE(pattern == "block:4x1" || pattern == "block:8x1" ||
                pattern == "block:4x4")
        << weight << ": " << pattern;
  }

  options.pattern = *PrunePattern::parse("nm:2:4");
  pruner = makePruner(*module, options);
  ASSERT_TRUE(pruner);
  pruned = prune(*pruner, 0.5, report);
  ASSERT_TRUE(pruned);
  std::map<std::string, std::string> patterns = analyzedPatterns(*pruned);
  for (const char *w : {"w1", "w2", "w3"})
    EXPECT_EQ(patterns[w], "nm:2:4") << w;
}

} // namespace
