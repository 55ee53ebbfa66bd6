//===- CanonicalizeTest.cpp - Tests of the canonicalize pass --------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Runs canonicalize through the registry on graphs built in code and checks
// the rewritten IR: BatchNormalization folding (numerically, against a
// reference convolution followed by the normalization), Identity and Dropout
// removal around graph outputs, the Shape -> Gather -> Unsqueeze -> Concat ->
// Reshape chain torch exports for a flatten, dead code and weight removal,
// option parsing and errors. Every result must still pass the verifier.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/IR/Module.h"
#include "sparseloom/IR/Verifier.h"
#include "sparseloom/Pass/PassRegistry.h"

#include "RunPipeline.h"

#include "gtest/gtest.h"

#include <cmath>
#include <string>
#include <vector>

using namespace sparseloom;

namespace {

TensorType f32(std::vector<int64_t> sizes) {
  return TensorType::get(DType::F32, sizes);
}
TensorType i64(std::vector<int64_t> sizes) {
  return TensorType::get(DType::I64, sizes);
}

/// Builds a module in code; names are used as given.
class Builder {
public:
  explicit Builder(int64_t opset = 13) { module_->opsetImports[""] = opset; }

  Graph &graph() { return module_->graph; }
  Module &module() { return *module_; }

  Builder &input(const std::string &name, TensorType type) {
    graph().inputs.push_back(name);
    graph().setType(name, std::move(type));
    return *this;
  }
  Builder &weight(const std::string &name, std::vector<int64_t> dims,
                  std::vector<float> values) {
    graph().setWeight({name, TensorData::fromFloats(dims, values), {}});
    return *this;
  }
  Builder &intWeight(const std::string &name, std::vector<int64_t> dims,
                     std::vector<int64_t> values) {
    graph().setWeight({name, TensorData::fromInt64s(dims, values), {}});
    return *this;
  }
  Node &node(const std::string &op, std::vector<std::string> inputs,
             std::vector<std::string> outputs, std::vector<TensorType> types,
             AttributeMap attributes = {}, std::string domain = "") {
    Node node;
    node.opType = op;
    node.domain = std::move(domain);
    node.name = op + "_" + std::to_string(graph().numNodes());
    node.inputs = std::move(inputs);
    node.outputs = std::move(outputs);
    node.attributes = std::move(attributes);
    for (size_t i = 0; i < node.outputs.size(); ++i)
      if (!node.outputs[i].empty())
        graph().setType(node.outputs[i],
                        i < types.size() ? types[i] : TensorType());
    return graph().addNode(std::move(node));
  }
  Builder &output(const std::string &name) {
    graph().outputs.push_back(name);
    return *this;
  }

private:
  std::unique_ptr<Module> module_ = std::make_unique<Module>();
};

std::vector<std::string> opTypes(const Graph &graph) {
  std::vector<std::string> ops;
  for (const auto &node : graph.nodes())
    ops.push_back(node->opType);
  return ops;
}

const Node *findNode(const Graph &graph, llvm::StringRef op) {
  for (const auto &node : graph.nodes())
    if (node->opType == op)
      return node.get();
  return nullptr;
}

/// Deterministic, irregular test values.
std::vector<float> pattern(size_t count, float scale, float offset) {
  std::vector<float> v(count);
  for (size_t i = 0; i < count; ++i)
    v[i] = offset + scale * std::sin(float(i) * 1.3f + 0.7f);
  return v;
}

/// Reference NCHW convolution, stride 1, no padding, group 1.
std::vector<float> conv2d(const std::vector<float> &x, int64_t c, int64_t h,
                          int64_t w, const std::vector<float> &weight,
                          int64_t m, int64_t k,
                          const std::vector<float> &bias) {
  int64_t oh = h - k + 1, ow = w - k + 1;
  std::vector<float> y(size_t(m * oh * ow));
  for (int64_t o = 0; o < m; ++o)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        double acc = bias.empty() ? 0.0 : bias[size_t(o)];
        for (int64_t ci = 0; ci < c; ++ci)
          for (int64_t a = 0; a < k; ++a)
            for (int64_t b = 0; b < k; ++b)
              acc += double(x[size_t((ci * h + i + a) * w + j + b)]) *
                     weight[size_t(((o * c + ci) * k + a) * k + b)];
        y[size_t((o * oh + i) * ow + j)] = float(acc);
      }
  return y;
}

//===----------------------------------------------------------------------===//
// BatchNormalization folding
//===----------------------------------------------------------------------===//

struct BnParams {
  std::vector<float> scale = {1.5f, -0.5f, 2.0f};
  std::vector<float> shift = {0.1f, 0.2f, -0.3f};
  std::vector<float> mean = {0.25f, -1.0f, 0.5f};
  std::vector<float> var = {0.5f, 2.0f, 0.01f};
  float epsilon = 1e-3f;
};

/// x[1,2,4,4] -> Conv(3 out, 2x2 kernel) -> c -> BN -> y -> Relu -> z.
Builder convBnModel(bool withBias, const BnParams &bn) {
  Builder b;
  b.input("x", f32({1, 2, 4, 4}));
  b.weight("conv.weight", {3, 2, 2, 2}, pattern(24, 0.8f, 0.1f));
  std::vector<std::string> convInputs = {"x", "conv.weight"};
  if (withBias) {
    b.weight("conv.bias", {3}, {0.3f, -0.2f, 0.05f});
    convInputs.push_back("conv.bias");
  }
  b.weight("bn.scale", {3}, bn.scale)
      .weight("bn.B", {3}, bn.shift)
      .weight("bn.mean", {3}, bn.mean)
      .weight("bn.var", {3}, bn.var);
  b.node("Conv", convInputs, {"c"}, {f32({1, 3, 3, 3})},
         {{"kernel_shape", std::vector<int64_t>{2, 2}}});
  b.node("BatchNormalization", {"c", "bn.scale", "bn.B", "bn.mean", "bn.var"},
         {"y"}, {f32({1, 3, 3, 3})}, {{"epsilon", bn.epsilon}});
  b.node("Relu", {"y"}, {"z"}, {f32({1, 3, 3, 3})});
  b.output("z");
  return b;
}

void expectFoldMatchesReference(bool withBias) {
  BnParams bn;
  Builder b = convBnModel(withBias, bn);
  std::vector<float> w0 = pattern(24, 0.8f, 0.1f);
  std::vector<float> b0 =
      withBias ? std::vector<float>{0.3f, -0.2f, 0.05f} : std::vector<float>();

  auto stats = runPipeline(b.module(), "canonicalize");
  const Graph &g = b.graph();
  EXPECT_EQ(opTypes(g), (std::vector<std::string>{"Conv", "Relu"}));
  EXPECT_EQ(stats["batchnorm-folded"], 1);
  EXPECT_EQ(stats["weights-removed"], 4); // scale, B, mean, var

  const Node *conv = findNode(g, "Conv");
  ASSERT_NE(conv, nullptr);
  // The Conv produces the BN's output name; the old name is gone.
  ASSERT_EQ(conv->outputs, std::vector<std::string>{"y"});
  EXPECT_EQ(g.getType("y"), f32({1, 3, 3, 3}));
  EXPECT_FALSE(g.hasType("c"));
  ASSERT_EQ(conv->inputs.size(), 3u);
  // Weights used only by this Conv are rewritten in place; a missing bias
  // is created with the PyTorch-style name.
  EXPECT_EQ(conv->inputs[1], "conv.weight");
  EXPECT_EQ(conv->inputs[2], "conv.bias");
  EXPECT_EQ(g.weights().size(), 2u);

  std::vector<float> w1 = g.findWeight(conv->inputs[1])->data->toFloats();
  std::vector<float> b1 = g.findWeight(conv->inputs[2])->data->toFloats();
  ASSERT_EQ(w1.size(), 24u);
  ASSERT_EQ(b1.size(), 3u);

  // Closed form per output channel.
  for (int m = 0; m < 3; ++m) {
    double s = bn.scale[m] / std::sqrt(double(bn.var[m]) + bn.epsilon);
    for (int k = 0; k < 8; ++k)
      EXPECT_NEAR(w1[size_t(m * 8 + k)], w0[size_t(m * 8 + k)] * s, 1e-5);
    double bias = withBias ? b0[size_t(m)] : 0.0;
    EXPECT_NEAR(b1[size_t(m)], (bias - bn.mean[m]) * s + bn.shift[m], 1e-5);
  }

  // And end to end: conv + BN on an input equals the folded conv.
  std::vector<float> x = pattern(32, 1.0f, 0.0f);
  std::vector<float> ref = conv2d(x, 2, 4, 4, w0, 3, 2, b0);
  for (size_t i = 0; i < ref.size(); ++i) {
    size_t m = i / 9;
    ref[i] = float((ref[i] - bn.mean[m]) * bn.scale[m] /
                       std::sqrt(double(bn.var[m]) + bn.epsilon) +
                   bn.shift[m]);
  }
  std::vector<float> folded = conv2d(x, 2, 4, 4, w1, 3, 2, b1);
  ASSERT_EQ(folded.size(), ref.size());
  for (size_t i = 0; i < ref.size(); ++i)
    EXPECT_NEAR(folded[i], ref[i], 1e-4) << "element " << i;
}

TEST(CanonicalizeBatchNorm, FoldsIntoConvWithBias) {
  expectFoldMatchesReference(/*withBias=*/true);
}

TEST(CanonicalizeBatchNorm, FoldsIntoConvWithoutBias) {
  expectFoldMatchesReference(/*withBias=*/false);
}

TEST(CanonicalizeBatchNorm, SharedWeightGetsNewName) {
  BnParams bn;
  Builder b = convBnModel(/*withBias=*/false, bn);
  // A second Conv reads the same weight; it must keep the original values.
  b.node("Conv", {"x", "conv.weight"}, {"c2"}, {f32({1, 3, 3, 3})},
         {{"kernel_shape", std::vector<int64_t>{2, 2}}});
  b.output("c2");
  runPipeline(b.module(), "canonicalize");
  const Graph &g = b.graph();
  ASSERT_EQ(g.numNodes(), 3u);
  const Node &folded = *g.nodes()[0];
  const Node &other = *g.nodes()[2];
  EXPECT_EQ(folded.outputs[0], "y");
  EXPECT_NE(folded.inputs[1], "conv.weight");
  EXPECT_EQ(other.inputs[1], "conv.weight");
  EXPECT_EQ(g.findWeight("conv.weight")->data->toFloats(),
            pattern(24, 0.8f, 0.1f));
  EXPECT_NE(g.findWeight(folded.inputs[1])->data->toFloats(),
            pattern(24, 0.8f, 0.1f));
}

TEST(CanonicalizeBatchNorm, NotFoldedWhenConvOutputHasOtherUsers) {
  Builder b = convBnModel(/*withBias=*/true, BnParams());
  b.node("Relu", {"c"}, {"c_relu"}, {f32({1, 3, 3, 3})});
  b.output("c_relu");
  auto stats = runPipeline(b.module(), "canonicalize");
  EXPECT_EQ(stats["batchnorm-folded"], 0);
  EXPECT_NE(findNode(b.graph(), "BatchNormalization"), nullptr);
}

TEST(CanonicalizeBatchNorm, NotFoldedWithoutValues) {
  Builder b = convBnModel(/*withBias=*/true, BnParams());
  // Text IR elides large weights; their values are unknown.
  b.graph().setWeight(
      {"conv.weight",
       TensorData::createElided(DType::F32, {3, 2, 2, 2}, 24, 7),
       {}});
  auto stats = runPipeline(b.module(), "canonicalize");
  EXPECT_EQ(stats["batchnorm-folded"], 0);
  EXPECT_NE(findNode(b.graph(), "BatchNormalization"), nullptr);
}

TEST(CanonicalizeBatchNorm, NotFoldedInTrainingMode) {
  Builder b = convBnModel(/*withBias=*/true, BnParams());
  Node *bn = nullptr;
  for (const auto &n : b.graph().nodes())
    if (n->opType == "BatchNormalization")
      bn = n.get();
  bn->attributes["training_mode"] = int64_t(1);
  auto stats = runPipeline(b.module(), "canonicalize");
  EXPECT_EQ(stats["batchnorm-folded"], 0);
}

//===----------------------------------------------------------------------===//
// Identity and Dropout
//===----------------------------------------------------------------------===//

TEST(CanonicalizeNoOps, IdentityInsideGraphIsBypassed) {
  Builder b;
  b.input("x", f32({2, 3}));
  b.node("Relu", {"x"}, {"a"}, {f32({2, 3})});
  b.node("Identity", {"a"}, {"b"}, {f32({2, 3})});
  b.node("Neg", {"b"}, {"y"}, {f32({2, 3})});
  b.output("y");
  auto stats = runPipeline(b.module(), "canonicalize");
  EXPECT_EQ(opTypes(b.graph()), (std::vector<std::string>{"Relu", "Neg"}));
  EXPECT_EQ(b.graph().nodes()[1]->inputs[0], "a");
  EXPECT_FALSE(b.graph().hasType("b"));
  EXPECT_EQ(stats["identity-removed"], 1);
}

TEST(CanonicalizeNoOps, IdentityProducingGraphOutputKeepsTheName) {
  Builder b;
  b.input("x", f32({2, 3}));
  b.node("Relu", {"x"}, {"a"}, {f32({2, 3})});
  b.node("Neg", {"a"}, {"n"}, {f32({2, 3})});
  b.node("Identity", {"a"}, {"y"}, {TensorType()});
  b.output("n").output("y");
  runPipeline(b.module(), "canonicalize");
  const Graph &g = b.graph();
  EXPECT_EQ(opTypes(g), (std::vector<std::string>{"Relu", "Neg"}));
  // The producer took the output's name; its reader follows.
  EXPECT_EQ(g.nodes()[0]->outputs[0], "y");
  EXPECT_EQ(g.nodes()[1]->inputs[0], "y");
  EXPECT_EQ(g.outputs, (std::vector<std::string>{"n", "y"}));
  // The better-known type of the two survives.
  EXPECT_EQ(g.getType("y"), f32({2, 3}));
  EXPECT_FALSE(g.hasType("a"));
}

TEST(CanonicalizeNoOps, IdentityBetweenNamesThatMustSurviveStays) {
  Builder b;
  b.input("x", f32({2, 3}));
  b.node("Relu", {"x"}, {"a"}, {f32({2, 3})});
  b.node("Identity", {"x"}, {"x_out"}, {f32({2, 3})});  // input -> output
  b.node("Identity", {"a"}, {"a_copy"}, {f32({2, 3})}); // output -> output
  b.output("a").output("a_copy").output("x_out");
  auto stats = runPipeline(b.module(), "canonicalize");
  EXPECT_EQ(opTypes(b.graph()),
            (std::vector<std::string>{"Relu", "Identity", "Identity"}));
  EXPECT_EQ(stats["identity-removed"], 0);
  EXPECT_EQ(stats["noops-kept"], 2);
}

TEST(CanonicalizeNoOps, IdentityChainToGraphOutput) {
  Builder b;
  b.input("x", f32({4}));
  b.node("Relu", {"x"}, {"a"}, {f32({4})});
  b.node("Identity", {"a"}, {"b"}, {f32({4})});
  b.node("Identity", {"b"}, {"y"}, {f32({4})});
  b.output("y");
  auto stats = runPipeline(b.module(), "canonicalize");
  EXPECT_EQ(opTypes(b.graph()), (std::vector<std::string>{"Relu"}));
  EXPECT_EQ(b.graph().nodes()[0]->outputs[0], "y");
  EXPECT_EQ(stats["identity-removed"], 2);
}

TEST(CanonicalizeNoOps, DropoutWithUnusedMaskIsRemoved) {
  Builder b;
  b.input("x", f32({2, 3}));
  b.intWeight("unused", {1}, {3}); // an initializer nothing reads
  b.weight("ratio", {}, {0.5f});
  b.node("Dropout", {"x", "ratio"}, {"d", "mask"},
         {f32({2, 3}), TensorType::get(DType::Bool, {2, 3})});
  b.node("Relu", {"d"}, {"y"}, {f32({2, 3})});
  b.output("y");
  auto stats = runPipeline(b.module(), "canonicalize");
  EXPECT_EQ(opTypes(b.graph()), (std::vector<std::string>{"Relu"}));
  EXPECT_EQ(b.graph().nodes()[0]->inputs[0], "x");
  EXPECT_FALSE(b.graph().hasType("mask"));
  EXPECT_EQ(stats["dropout-removed"], 1);
  EXPECT_EQ(stats["weights-removed"], 2); // ratio and the unread initializer
  EXPECT_TRUE(b.graph().weights().empty());
}

TEST(CanonicalizeNoOps, DropoutWithUsedMaskOrTrainingModeStays) {
  Builder b;
  b.input("x", f32({2, 3}));
  b.graph().setWeight(
      {"train", TensorData::createDense(DType::Bool, {}, {1}), {}});
  b.node("Dropout", {"x"}, {"d", "mask"},
         {f32({2, 3}), TensorType::get(DType::Bool, {2, 3})});
  b.node("Not", {"mask"}, {"m"}, {TensorType::get(DType::Bool, {2, 3})});
  b.node("Dropout", {"d", "", "train"}, {"d2"}, {f32({2, 3})});
  b.output("d2").output("m");
  auto stats = runPipeline(b.module(), "canonicalize");
  EXPECT_EQ(opTypes(b.graph()),
            (std::vector<std::string>{"Dropout", "Not", "Dropout"}));
  EXPECT_EQ(stats["dropout-removed"], 0);
  EXPECT_EQ(stats["noops-kept"], 2);
}

TEST(CanonicalizeNoOps, RemovingDropoutExposesBatchNormFold) {
  Builder b = convBnModel(/*withBias=*/true, BnParams());
  // Re-route c through a Dropout: Conv -> c -> Dropout -> c2 -> BN.
  Graph &g = b.graph();
  for (const auto &n : g.nodes())
    if (n->opType == "BatchNormalization")
      n->inputs[0] = "c2";
  b.graph().insertNode(1, Node{"Dropout", "", "drop", {"c"}, {"c2"}, {}, {}});
  g.setType("c2", f32({1, 3, 3, 3}));
  auto stats = runPipeline(b.module(), "canonicalize");
  EXPECT_EQ(opTypes(g), (std::vector<std::string>{"Conv", "Relu"}));
  EXPECT_EQ(stats["dropout-removed"], 1);
  EXPECT_EQ(stats["batchnorm-folded"], 1);
}

//===----------------------------------------------------------------------===//
// Constants and shape computations
//===----------------------------------------------------------------------===//

/// torch.flatten(x, 1) as exported with x.size(0): Reshape(x, Concat(
/// Unsqueeze(Gather(Shape(x), 0)), [-1])).
Builder flattenModel(TensorType xType, int64_t opset = 13) {
  Builder b(opset);
  b.input("x", xType);
  b.node("Constant", {}, {"idx"}, {i64({})},
         {{"value", TensorData::fromInt64s({}, {0})}});
  b.node("Shape", {"x"}, {"shape"}, {i64({4})});
  b.node("Gather", {"shape", "idx"}, {"dim0"}, {i64({})},
         {{"axis", int64_t(0)}});
  b.node("Constant", {}, {"axes"}, {i64({1})},
         {{"value_ints", std::vector<int64_t>{0}}});
  b.node("Unsqueeze", {"dim0", "axes"}, {"dim0u"}, {i64({1})});
  b.node("Constant", {}, {"minus1"}, {i64({1})},
         {{"value", TensorData::fromInt64s({1}, {-1})}});
  b.node("Concat", {"dim0u", "minus1"}, {"target"}, {i64({2})},
         {{"axis", int64_t(0)}});
  b.node("Reshape", {"x", "target"}, {"y"},
         {TensorType(DType::F32,
                     std::vector<Dim>{(*xType.dims)[0], Dim::known(48)})});
  b.output("y");
  return b;
}

TEST(CanonicalizeShapes, FlattenChainFoldsToConstantTarget) {
  Builder b = flattenModel(f32({2, 3, 4, 4}));
  auto stats = runPipeline(b.module(), "canonicalize");
  const Graph &g = b.graph();
  EXPECT_EQ(opTypes(g), (std::vector<std::string>{"Reshape"}));
  ASSERT_EQ(g.nodes()[0]->inputs, (std::vector<std::string>{"x", "target"}));
  const Weight *target = g.findWeight("target");
  ASSERT_NE(target, nullptr);
  EXPECT_EQ(target->data->dtype(), DType::I64);
  EXPECT_EQ(target->data->dims(), std::vector<int64_t>{2});
  EXPECT_EQ(target->data->toInt64s(), (std::vector<int64_t>{2, -1}));
  EXPECT_EQ(g.weights().size(), 1u);
  EXPECT_EQ(stats["constants-to-weights"], 3);
  EXPECT_EQ(stats["shape-ops-folded"], 4); // Shape, Gather, Unsqueeze, Concat
  EXPECT_EQ(stats["weights-removed"], 6);  // 3 constants + 3 intermediates
}

TEST(CanonicalizeShapes, DynamicBatchIsNotFolded) {
  TensorType x(DType::F32, std::vector<Dim>{Dim::symbolic("N"), Dim::known(3),
                                            Dim::known(4), Dim::known(4)});
  Builder b = flattenModel(x);
  auto stats = runPipeline(b.module(), "canonicalize");
  EXPECT_EQ(opTypes(b.graph()),
            (std::vector<std::string>{"Shape", "Gather", "Unsqueeze", "Concat",
                                      "Reshape"}));
  EXPECT_EQ(stats["shape-ops-folded"], 0);
  EXPECT_EQ(stats["constants-to-weights"], 3);
  EXPECT_EQ(b.graph().findWeight("minus1")->data->toInt64s(),
            std::vector<int64_t>{-1});
}

TEST(CanonicalizeShapes, ShapeStartEndSkipsDynamicBatch) {
  Builder b(15);
  b.input("x", TensorType(DType::F32,
                          std::vector<Dim>{Dim::symbolic("N"), Dim::known(3),
                                           Dim::known(5)}));
  b.node("Shape", {"x"}, {"s"}, {i64({2})}, {{"start", int64_t(-2)}});
  b.node("Reshape", {"x", "s"}, {"y"}, {TensorType()});
  b.output("y");
  auto stats = runPipeline(b.module(), "canonicalize");
  EXPECT_EQ(opTypes(b.graph()), (std::vector<std::string>{"Reshape"}));
  EXPECT_EQ(b.graph().findWeight("s")->data->toInt64s(),
            (std::vector<int64_t>{3, 5}));
  EXPECT_EQ(stats["shape-ops-folded"], 1);
}

TEST(CanonicalizeShapes, LargeResultsRespectMaxFoldElements) {
  for (int64_t limit : {4096, 10000}) {
    Builder b;
    b.intWeight("dims", {1}, {5000});
    b.node("ConstantOfShape", {"dims"}, {"zeros"}, {f32({5000})},
           {{"value", TensorData::fromFloats({1}, {0.5f})}});
    b.input("x", f32({5000}));
    b.node("Add", {"x", "zeros"}, {"y"}, {f32({5000})});
    b.output("y");
    auto stats = runPipeline(b.module(), "canonicalize(max-fold-elements=" +
                                             std::to_string(limit) + ")");
    bool folded = limit >= 5000;
    EXPECT_EQ(stats["shape-ops-folded"], folded ? 1 : 0) << limit;
    EXPECT_EQ(b.graph().findWeight("zeros") != nullptr, folded) << limit;
  }
}

TEST(CanonicalizeShapes, ReshapeOfSoleUseWeightFoldsAboveTheLimit) {
  // Folding replaces the weight rather than duplicating it, so the limit
  // does not apply.
  Builder b;
  b.weight("w", {64, 64}, std::vector<float>(4096, 0.25f));
  b.intWeight("target", {2}, {16, 256});
  b.node("Reshape", {"w", "target"}, {"w2"}, {f32({16, 256})});
  b.input("x", f32({16, 256}));
  b.node("Mul", {"x", "w2"}, {"y"}, {f32({16, 256})});
  b.output("y");
  auto stats = runPipeline(b.module(), "canonicalize(max-fold-elements=16)");
  EXPECT_EQ(opTypes(b.graph()), (std::vector<std::string>{"Mul"}));
  EXPECT_EQ(b.graph().findWeight("w2")->data->dims(),
            (std::vector<int64_t>{16, 256}));
  EXPECT_EQ(b.graph().findWeight("w"), nullptr);
  EXPECT_EQ(stats["shape-ops-folded"], 1);
}

TEST(CanonicalizeShapes, GraphOutputStaysANodeOutput) {
  Builder b;
  b.node("Constant", {}, {"c"}, {i64({2})},
         {{"value_ints", std::vector<int64_t>{1, 2}}});
  b.output("c");
  auto stats = runPipeline(b.module(), "canonicalize");
  EXPECT_EQ(opTypes(b.graph()), (std::vector<std::string>{"Constant"}));
  EXPECT_EQ(stats["constants-to-weights"], 0);
}

TEST(CanonicalizeShapes, ConstantAttributeForms) {
  Builder b;
  b.node("Constant", {}, {"f"}, {f32({})}, {{"value_float", 2.5f}});
  b.node("Constant", {}, {"fs"}, {f32({2})},
         {{"value_floats", std::vector<float>{1.0f, -1.0f}}});
  b.node("Constant", {}, {"i"}, {i64({})}, {{"value_int", int64_t(7)}});
  b.input("x", f32({2}));
  b.node("Custom", {"x", "f", "fs", "i"}, {"y"}, {f32({2})}, {}, "my.domain");
  b.output("y");
  auto stats = runPipeline(b.module(), "canonicalize");
  const Graph &g = b.graph();
  EXPECT_EQ(stats["constants-to-weights"], 3);
  EXPECT_EQ(g.findWeight("f")->data->toFloats(), std::vector<float>{2.5f});
  EXPECT_TRUE(g.findWeight("f")->data->dims().empty());
  EXPECT_EQ(g.findWeight("fs")->data->toFloats(),
            (std::vector<float>{1.0f, -1.0f}));
  EXPECT_EQ(g.findWeight("i")->data->toInt64s(), std::vector<int64_t>{7});
}

TEST(CanonicalizeShapes, ConstantWithoutValueIsAnError) {
  Builder b;
  Node &c = b.node("Constant", {}, {"c"}, {f32({})});
  c.name = "/bad/Constant";
  b.input("x", f32({}));
  b.node("Add", {"x", "c"}, {"y"}, {f32({})});
  b.output("y");
  auto passes = createPassPipeline("canonicalize");
  ASSERT_TRUE(bool(passes)) << llvm::toString(passes.takeError());
  llvm::Error err = (*passes)[0]->run(b.module());
  ASSERT_TRUE(bool(err));
  std::string message = llvm::toString(std::move(err));
  EXPECT_NE(message.find("/bad/Constant"), std::string::npos) << message;
}

TEST(CanonicalizeShapes, OutOfRangeGatherIndexIsAnError) {
  Builder b;
  b.input("x", f32({2, 3}));
  b.node("Shape", {"x"}, {"s"}, {i64({2})});
  b.intWeight("idx", {}, {5});
  Node &gather = b.node("Gather", {"s", "idx"}, {"d"}, {i64({})});
  gather.name = "/gather";
  b.node("Unsqueeze", {"d", "idx"}, {"y"}, {i64({1})});
  b.output("y");
  auto passes = createPassPipeline("canonicalize");
  ASSERT_TRUE(bool(passes));
  llvm::Error err = (*passes)[0]->run(b.module());
  ASSERT_TRUE(bool(err));
  std::string message = llvm::toString(std::move(err));
  EXPECT_NE(message.find("/gather"), std::string::npos) << message;
  EXPECT_NE(message.find("out of range"), std::string::npos) << message;
}

//===----------------------------------------------------------------------===//
// Dead code
//===----------------------------------------------------------------------===//

TEST(CanonicalizeDeadCode, RemovesUnusedPureChainsOnly) {
  Builder b;
  b.input("x", f32({4}));
  b.weight("w", {4}, {1, 2, 3, 4});
  b.weight("w_dead", {4}, {1, 1, 1, 1});
  b.node("Add", {"x", "w_dead"}, {"t1"}, {f32({4})});
  b.node("Relu", {"t1"}, {"t2"}, {f32({4})}); // dead chain: t1 -> t2
  b.node("Mul", {"x", "w"}, {"y"}, {f32({4})});
  // An op the registry does not know may have effects: it stays.
  b.node("Print", {"x"}, {"unused"}, {f32({4})}, {}, "my.domain");
  b.output("y");
  auto stats = runPipeline(b.module(), "canonicalize");
  EXPECT_EQ(opTypes(b.graph()), (std::vector<std::string>{"Mul", "Print"}));
  EXPECT_EQ(stats["dead-nodes-removed"], 2);
  EXPECT_EQ(stats["weights-removed"], 1);
  EXPECT_EQ(b.graph().findWeight("w_dead"), nullptr);
  EXPECT_FALSE(b.graph().hasType("t1"));
  EXPECT_FALSE(b.graph().hasType("w_dead"));
}

TEST(CanonicalizeDeadCode, IsIdempotent) {
  Builder b = flattenModel(f32({2, 3, 4, 4}));
  runPipeline(b.module(), "canonicalize");
  auto stats = runPipeline(b.module(), "canonicalize");
  for (const auto &entry : stats)
    EXPECT_EQ(entry.second, 0) << entry.first;
}

//===----------------------------------------------------------------------===//
// Options
//===----------------------------------------------------------------------===//

TEST(CanonicalizeOptions, RejectsMalformedValues) {
  for (const char *pipeline :
       {"canonicalize(max-fold-elements=many)",
        "canonicalize(max-fold-elements=-1)", "canonicalize(max-fold=4)"}) {
    auto passes = createPassPipeline(pipeline);
    EXPECT_FALSE(bool(passes)) << pipeline;
    if (!passes)
      llvm::consumeError(passes.takeError());
  }
}

} // namespace
