//===- ModuleTest.cpp - Tests of graph mutation ---------------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/IR/Module.h"
#include "sparseloom/IR/OpRegistry.h"

#include "gtest/gtest.h"

using namespace sparseloom;

namespace {

Node makeNode(std::string op, std::vector<std::string> in,
              std::vector<std::string> out, std::string name = "") {
  Node n;
  n.opType = std::move(op);
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  n.name = std::move(name);
  return n;
}

TEST(Graph, ReplaceAllUsesRewritesNodesAndOutputs) {
  Graph g;
  g.inputs = {"x"};
  g.addNode(makeNode("Identity", {"x"}, {"a"}));
  g.addNode(makeNode("Relu", {"a"}, {"b"}));
  g.outputs = {"a", "b"};
  g.replaceAllUsesWith("a", "x");
  EXPECT_EQ(g.nodes()[1]->inputs[0], "x");
  EXPECT_EQ(g.outputs[0], "x");
}

TEST(Graph, EraseNodeDropsOutputTypesButKeepsGraphOutputs) {
  Graph g;
  Node &n = g.addNode(makeNode("Relu", {"x"}, {"y"}));
  g.setType("y", TensorType::get(DType::F32, {1}));
  g.eraseNode(&n);
  EXPECT_EQ(g.numNodes(), 0u);
  EXPECT_FALSE(g.hasType("y"));
}

TEST(Graph, WeightsKeepInsertionOrderAndTypes) {
  Graph g;
  g.setWeight({"b", TensorData::fromFloats({1}, {1}), {}});
  g.setWeight({"a", TensorData::fromFloats({2}, {1, 2}), {}});
  ASSERT_EQ(g.weights().size(), 2u);
  EXPECT_EQ(g.weights().begin()->first, "b");
  EXPECT_EQ(g.getType("a"), TensorType::get(DType::F32, {2}));
  g.removeWeight("b");
  EXPECT_EQ(g.findWeight("b"), nullptr);
  EXPECT_FALSE(g.hasType("b"));
}

TEST(Graph, UniqueNameAvoidsExistingValues) {
  Graph g;
  g.setType("w", TensorType());
  g.setType("w_1", TensorType());
  EXPECT_EQ(g.uniqueName("w"), "w_2");
  EXPECT_EQ(g.uniqueName("fresh"), "fresh");
}

TEST(Graph, SetNodeOrderPermutes) {
  Graph g;
  Node &a = g.addNode(makeNode("Relu", {"x"}, {"a"}));
  Node &b = g.addNode(makeNode("Relu", {"x"}, {"b"}));
  g.setNodeOrder({&b, &a});
  EXPECT_EQ(g.nodes()[0].get(), &b);
  EXPECT_EQ(g.indexOf(&a), 1);
}

TEST(Module, CloneIsDeep) {
  Module m;
  m.opsetImports[""] = 13;
  m.graph.addNode(makeNode("Relu", {"x"}, {"y"}, "relu"));
  auto c = m.clone();
  c->graph.eraseNodesIf([](const Node &) { return true; });
  EXPECT_EQ(m.graph.numNodes(), 1u);
  EXPECT_EQ(c->opsetVersion(""), 13);
  EXPECT_EQ(c->opsetVersion("ai.onnx"), 13);
  EXPECT_EQ(c->opsetVersion("com.microsoft"), 0);
}

TEST(Node, DisplayNameFallsBackToOpAndOutput) {
  Node n = makeNode("Conv", {"x"}, {"y"});
  EXPECT_EQ(n.displayName(), "Conv producing 'y'");
  n.name = "/conv1/Conv";
  EXPECT_EQ(n.displayName(), "/conv1/Conv");
}

TEST(OpRegistry, PropertiesReplaceNameLists) {
  const OpInfo *conv = lookupOp("", "Conv");
  ASSERT_NE(conv, nullptr);
  EXPECT_TRUE(conv->has(OpLinearWithWeight));
  EXPECT_EQ(conv->weightOperand, 1);
  EXPECT_TRUE(lookupOp("ai.onnx", "Dropout")->has(OpInferenceNoOp));
  EXPECT_TRUE(lookupOp("", "BatchNormalization")->has(OpAffineNormalization));
  EXPECT_EQ(lookupOp("com.microsoft", "Conv"), nullptr);
  EXPECT_EQ(lookupOp("", "NoSuchOp"), nullptr);
}

} // namespace
