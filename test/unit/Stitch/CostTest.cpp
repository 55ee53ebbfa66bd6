//===- CostTest.cpp - Tests of the FLOP and parameter cost model ----------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Every formula of IR/Cost.h against a count done by hand on small typed
// nodes (Conv with groups, dilation and bias; ConvTranspose; Gemm with
// transA; batched MatMul; normalizations; pooling; reductions; zero-cost
// ops), the approximate flag for unknown sizes and unknown ops, parameters
// and non-zeros, and the module totals of a zoo model counted layer by
// layer.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/IR/Cost.h"
#include "sparseloom/Tool/ModelLoader.h"

#include "gtest/gtest.h"

#include <string>
#include <vector>

using namespace sparseloom;

namespace {

/// A graph being built node by node with explicit types.
class GraphBuilder {
public:
  void input(const std::string &name, TensorType type) {
    graph.inputs.push_back(name);
    graph.setType(name, std::move(type));
  }
  void weight(const std::string &name, std::vector<int64_t> dims,
              std::vector<float> values = {}) {
    int64_t count = 1;
    for (int64_t d : dims)
      count *= d;
    if (values.empty())
      values.assign(size_t(count), 1.0f);
    graph.setWeight({name, TensorData::fromFloats(dims, values), {}});
  }
  const Node &node(const std::string &op, std::vector<std::string> inputs,
                   const std::string &output, TensorType outputType,
                   AttributeMap attributes = {},
                   const std::string &domain = "") {
    Node n;
    n.opType = op;
    n.domain = domain;
    n.name = output;
    n.inputs = std::move(inputs);
    n.outputs = {output};
    n.attributes = std::move(attributes);
    graph.setType(output, std::move(outputType));
    return graph.addNode(std::move(n));
  }
  NodeCost cost(const Node &n) const { return estimateNodeCost(graph, n); }

  Graph graph;
};

TensorType f32(const std::vector<int64_t> &sizes) {
  return TensorType::get(DType::F32, sizes);
}

TEST(CostTest, ConvCountsGroupsBiasAndIgnoresDilation) {
  GraphBuilder b;
  b.input("x", f32({1, 8, 10, 10}));
  b.weight("w", {16, 4, 3, 3}); // group 2: 4 input channels per group
  b.weight("bias", {16});
  const Node &conv = b.node("Conv", {"x", "w", "bias"}, "y", f32({1, 16, 8, 8}),
                            {{"group", Attribute(int64_t(2))}});
  NodeCost c = b.cost(conv);
  // Each of 16*8*8 outputs: a dot product of length 4*3*3, plus the bias.
  EXPECT_DOUBLE_EQ(c.flops, 2.0 * 1024 * 36 + 1024);
  EXPECT_EQ(c.parameters, 16 * 4 * 9 + 16);
  EXPECT_EQ(c.nonzeros, c.parameters);
  EXPECT_FALSE(c.approximate);

  // Dilation 2 reads inputs further apart: fewer outputs, same work each.
  const Node &dilated =
      b.node("Conv", {"x", "w"}, "z", f32({1, 16, 6, 6}),
             {{"group", Attribute(int64_t(2))},
              {"dilations", Attribute(std::vector<int64_t>{2, 2})}});
  EXPECT_DOUBLE_EQ(b.cost(dilated).flops, 2.0 * 16 * 36 * 36);
}

TEST(CostTest, ConvTransposeScattersEveryInput) {
  GraphBuilder b;
  b.input("x", f32({1, 4, 5, 5}));
  b.weight("w", {4, 3, 2, 2}); // [C, M/g, k, k]
  const Node &n = b.node("ConvTranspose", {"x", "w"}, "y", f32({1, 3, 10, 10}),
                         {{"strides", Attribute(std::vector<int64_t>{2, 2})}});
  EXPECT_DOUBLE_EQ(b.cost(n).flops, 2.0 * 100 * 3 * 4);
}

TEST(CostTest, GemmAndBatchedMatMul) {
  GraphBuilder b;
  b.input("a", f32({7, 3})); // transA: A' is [3, 7], K = 7
  b.weight("w", {7, 5});
  b.weight("c", {5});
  const Node &gemm = b.node("Gemm", {"a", "w", "c"}, "y", f32({3, 5}),
                            {{"transA", Attribute(int64_t(1))}});
  EXPECT_DOUBLE_EQ(b.cost(gemm).flops, 2.0 * 15 * 7 + 15);

  b.input("q", f32({2, 3, 4, 5}));
  b.input("k", f32({2, 3, 5, 6}));
  const Node &mm = b.node("MatMul", {"q", "k"}, "s", f32({2, 3, 4, 6}));
  NodeCost c = b.cost(mm);
  EXPECT_DOUBLE_EQ(c.flops, 2.0 * 144 * 5);
  EXPECT_EQ(c.parameters, 0); // two activations, no weight
}

TEST(CostTest, PerOpFormulas) {
  GraphBuilder b;
  b.input("x", f32({2, 4, 6, 6})); // 288 elements
  auto flops = [&](const std::string &op, TensorType out,
                   AttributeMap attrs = {}) {
    static int counter = 0;
    return b.cost(b.node(op, {"x"}, op + std::to_string(counter++), out, attrs))
        .flops;
  };
  EXPECT_DOUBLE_EQ(flops("Relu", f32({2, 4, 6, 6})), 288);
  EXPECT_DOUBLE_EQ(flops("Softmax", f32({2, 4, 6, 6})), 5 * 288);
  EXPECT_DOUBLE_EQ(flops("LayerNormalization", f32({2, 4, 6, 6})), 8 * 288);
  EXPECT_DOUBLE_EQ(flops("BatchNormalization", f32({2, 4, 6, 6})), 2 * 288);
  EXPECT_DOUBLE_EQ(flops("ReduceMean", f32({2, 4, 6, 1})), 288);
  EXPECT_DOUBLE_EQ(flops("GlobalAveragePool", f32({2, 4, 1, 1})), 288);
  EXPECT_DOUBLE_EQ(
      flops("MaxPool", f32({2, 4, 3, 3}),
            {{"kernel_shape", Attribute(std::vector<int64_t>{2, 2})}}),
      72 * 4);
  // Data movement, shape queries and no-ops do no arithmetic.
  EXPECT_DOUBLE_EQ(flops("Transpose", f32({2, 6, 6, 4})), 0);
  EXPECT_DOUBLE_EQ(flops("Flatten", f32({2, 144})), 0);
  EXPECT_DOUBLE_EQ(flops("Identity", f32({2, 4, 6, 6})), 0);
  EXPECT_DOUBLE_EQ(flops("Shape", TensorType::get(DType::I64, {4})), 0);
}

TEST(CostTest, SymbolicDimsCountOneUnknownOnesAreApproximate) {
  GraphBuilder b;
  b.input("x", TensorType(DType::F32, std::vector<Dim>{Dim::symbolic("N"),
                                                       Dim::known(10)}));
  const Node &perSample =
      b.node("Relu", {"x"}, "y",
             TensorType(DType::F32,
                        std::vector<Dim>{Dim::symbolic("N"), Dim::known(10)}));
  NodeCost c = b.cost(perSample);
  EXPECT_DOUBLE_EQ(c.flops, 10);
  EXPECT_FALSE(c.approximate);

  const Node &unknown = b.node(
      "Relu", {"x"}, "z",
      TensorType(DType::F32, std::vector<Dim>{Dim::unknown(), Dim::known(10)}));
  c = b.cost(unknown);
  EXPECT_DOUBLE_EQ(c.flops, 10);
  EXPECT_TRUE(c.approximate);

  // An op without a formula: one per output element, flagged.
  const Node &custom =
      b.node("Frobnicate", {"x"}, "f", f32({3, 10}), {}, "com.example");
  c = b.cost(custom);
  EXPECT_DOUBLE_EQ(c.flops, 30);
  EXPECT_TRUE(c.approximate);
}

TEST(CostTest, ParametersNonZerosAndSharedWeights) {
  GraphBuilder b;
  b.input("x", f32({1, 4}));
  b.weight("w", {4, 4},
           {1, 0, 0, 2, 0, 0, 0, 3, 4, 0, 0, 0, 0, 5, 0, 6}); // 6 non-zeros
  const Node &first = b.node("MatMul", {"x", "w"}, "h", f32({1, 4}));
  b.node("MatMul", {"h", "w"}, "y", f32({1, 4}));
  b.graph.outputs = {"y"};
  NodeCost c = b.cost(first);
  EXPECT_EQ(c.parameters, 16);
  EXPECT_EQ(c.nonzeros, 6);
  EXPECT_DOUBLE_EQ(c.flops, 2.0 * 4 * 4);

  Module module;
  module.graph = std::move(b.graph);
  ModuleCost total = estimateModuleCost(module);
  EXPECT_EQ(total.parameters, 16) << "a shared weight is stored once";
  EXPECT_EQ(total.nonzeros, 6);
  EXPECT_DOUBLE_EQ(total.flops, 64);
  EXPECT_EQ(total.approximateNodes, 0u);
}

TEST(CostTest, DigitsModelTotalsCountedByHand) {
  auto module = loadModel(std::string(SPARSELOOM_SOURCE_DIR) +
                          "/examples/zoo/digits/digits.dense.onnx");
  ASSERT_TRUE(bool(module)) << llvm::toString(module.takeError());
  ModuleCost total = estimateModuleCost(**module);
  // conv1 3x3 1->24 on 8x8 (+bias), ReLU, MaxPool 2x2 to 4x4; conv2 3x3
  // 24->48 on 4x4 (+bias), ReLU, MaxPool to 2x2; Flatten; Gemm 192->10.
  double conv1 = 2.0 * 24 * 64 * 9 + 24 * 64;
  double block1 = conv1 + 24 * 64 + 24 * 16 * 4;
  double conv2 = 2.0 * 48 * 16 * 24 * 9 + 48 * 16;
  double block2 = conv2 + 48 * 16 + 48 * 4 * 4;
  double fc = 2.0 * 10 * 192 + 10;
  EXPECT_DOUBLE_EQ(total.flops, block1 + block2 + fc);
  EXPECT_EQ(total.parameters, (24 * 9 + 24) + (48 * 24 * 9 + 48) + 1930);
  EXPECT_EQ(total.nonzeros, total.parameters); // dense variant
  EXPECT_EQ(total.approximateNodes, 0u) << "only the batch is symbolic";

  auto sparse = loadModel(std::string(SPARSELOOM_SOURCE_DIR) +
                          "/examples/zoo/digits/digits.s90.onnx");
  ASSERT_TRUE(bool(sparse)) << llvm::toString(sparse.takeError());
  ModuleCost sparseTotal = estimateModuleCost(**sparse);
  EXPECT_EQ(sparseTotal.parameters, total.parameters);
  EXPECT_LT(sparseTotal.nonzeros, total.parameters / 5);
  EXPECT_DOUBLE_EQ(sparseTotal.flops, total.flops)
      << "FLOPs are structural; sparsity is the latency model's business";
}

} // namespace
