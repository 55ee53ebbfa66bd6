//===- VerifierTest.cpp - Tests of verify() -------------------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// One test per verifier error, each checking the full message, plus the
// graphs that must pass (optional inputs and outputs, Where's bool
// condition, Pow's mixed types, broadcasting, dynamic shapes).
//
//===----------------------------------------------------------------------===//

#include "sparseloom/IR/Verifier.h"

#include "gtest/gtest.h"

#include <string>
#include <vector>

using namespace sparseloom;

namespace {

TensorType f32(std::vector<int64_t> sizes) {
  return TensorType::get(DType::F32, sizes);
}

/// x[2,3] -> Relu "relu" -> h -> Add "add" (h + w) -> y, w[3].
std::unique_ptr<Module> buildValid() {
  auto m = std::make_unique<Module>();
  Graph &g = m->graph;
  g.inputs = {"x"};
  g.setType("x", f32({2, 3}));
  g.setWeight({"w", TensorData::fromFloats({3}, {1, 2, 3}), {}});
  Node relu;
  relu.opType = "Relu";
  relu.name = "relu";
  relu.inputs = {"x"};
  relu.outputs = {"h"};
  g.addNode(relu);
  g.setType("h", f32({2, 3}));
  Node add;
  add.opType = "Add";
  add.name = "add";
  add.inputs = {"h", "w"};
  add.outputs = {"y"};
  g.addNode(add);
  g.setType("y", f32({2, 3}));
  g.outputs = {"y"};
  return m;
}

Node *nodeNamed(Module &m, const std::string &name) {
  for (const auto &node : m.graph.nodes())
    if (node->name == name)
      return const_cast<Node *>(node.get());
  ADD_FAILURE() << "no node " << name;
  return nullptr;
}

/// Appends `op(inputs) -> outputs` with the given output type.
Node &addNode(Module &m, const std::string &op, const std::string &name,
              std::vector<std::string> inputs, std::vector<std::string> outputs,
              TensorType type) {
  Node node;
  node.opType = op;
  node.name = name;
  node.inputs = std::move(inputs);
  node.outputs = std::move(outputs);
  for (const std::string &out : node.outputs)
    if (!out.empty())
      m.graph.setType(out, type);
  return m.graph.addNode(std::move(node));
}

/// The verifier's message, or "" on success.
std::string verifyMessage(const Module &m) {
  llvm::Error err = verify(m);
  return err ? llvm::toString(std::move(err)) : std::string();
}

TEST(VerifierTest, ValidModelPasses) {
  auto m = buildValid();
  EXPECT_EQ(verifyMessage(*m), "");
}

TEST(VerifierTest, OmittedOptionalInputsAndOutputsAreFine) {
  auto m = buildValid();
  // Clip(y, <no min>, w) and a Dropout whose first output is omitted.
  m->graph.setWeight({"hi", TensorData::fromFloats({}, {6}), {}});
  addNode(*m, "Clip", "clip", {"y", "", "hi"}, {"c"}, f32({2, 3}));
  addNode(*m, "Split", "split", {"c"}, {"", "mask"}, f32({2, 3}));
  m->graph.outputs.push_back("mask");
  EXPECT_EQ(verifyMessage(*m), "");
}

//--- Definitions -----------------------------------------------------------

TEST(VerifierTest, GraphInputListedTwice) {
  auto m = buildValid();
  m->graph.inputs.push_back("x");
  EXPECT_EQ(verifyMessage(*m),
            "value 'x' is defined more than once: twice as a graph input");
}

TEST(VerifierTest, WeightNamedLikeGraphInput) {
  auto m = buildValid();
  m->graph.inputs.push_back("w");
  m->graph.setType("w", f32({3}));
  EXPECT_EQ(verifyMessage(*m), "value 'w' is defined more than once: as a "
                               "graph input and as a weight");
}

TEST(VerifierTest, NodeRedefinesInputWeightOrOutput) {
  auto m = buildValid();
  nodeNamed(*m, "add")->outputs = {"x"};
  m->graph.outputs = {"x"};
  EXPECT_EQ(verifyMessage(*m),
            "node add: defines 'x', which is already defined as a graph input");

  m = buildValid();
  nodeNamed(*m, "add")->outputs = {"w"};
  m->graph.outputs = {"w"};
  EXPECT_EQ(verifyMessage(*m),
            "node add: defines 'w', which is already defined as a weight");

  m = buildValid();
  addNode(*m, "Neg", "neg", {"x"}, {"h"}, f32({2, 3}));
  EXPECT_EQ(verifyMessage(*m), "node neg: defines 'h', which is already "
                               "defined as an output of relu");
}

TEST(VerifierTest, NodeWithoutNamedOutput) {
  auto m = buildValid();
  addNode(*m, "Neg", "", {"x"}, {""}, f32({2, 3}));
  EXPECT_EQ(verifyMessage(*m),
            "node Neg producing '': has no named output (every output is "
            "omitted)");
}

TEST(VerifierTest, EmptyInputOrOutputName) {
  auto m = buildValid();
  m->graph.inputs.push_back("");
  EXPECT_EQ(verifyMessage(*m), "graph input #1 has an empty name");

  m = buildValid();
  m->graph.outputs.push_back("");
  EXPECT_EQ(verifyMessage(*m), "graph output #1 has an empty name");
}

//--- Uses and order --------------------------------------------------------

TEST(VerifierTest, ReadOfUndefinedValue) {
  auto m = buildValid();
  nodeNamed(*m, "add")->inputs[1] = "ghost";
  EXPECT_EQ(verifyMessage(*m),
            "node add: reads 'ghost', which no node, input or weight defines");
}

TEST(VerifierTest, UseBeforeDefinition) {
  auto m = buildValid();
  Graph &g = m->graph;
  g.setNodeOrder({g.nodes()[1].get(), g.nodes()[0].get()});
  EXPECT_EQ(verifyMessage(*m), "node add: uses 'h' before it is defined (the "
                               "node order is not topological)");
}

TEST(VerifierTest, CycleIsReportedAsCycle) {
  auto m = buildValid();
  // relu reads y, which add computes from relu's output.
  nodeNamed(*m, "relu")->inputs = {"y"};
  EXPECT_EQ(verifyMessage(*m), "node relu: is part of a cycle through 'y'");
}

TEST(VerifierTest, UndefinedGraphOutput) {
  auto m = buildValid();
  m->graph.outputs.push_back("nowhere");
  EXPECT_EQ(verifyMessage(*m),
            "graph output 'nowhere' is not defined by any node, input or "
            "weight");
}

//--- Types -----------------------------------------------------------------

TEST(VerifierTest, MissingTypes) {
  auto m = buildValid();
  m->graph.eraseType("x");
  EXPECT_EQ(verifyMessage(*m), "graph input 'x' has no type");

  m = buildValid();
  m->graph.eraseType("w");
  EXPECT_EQ(verifyMessage(*m), "weight 'w' has no type");

  m = buildValid();
  m->graph.eraseType("h");
  EXPECT_EQ(verifyMessage(*m), "node relu: output 'h' has no type");
}

TEST(VerifierTest, WeightTypeDiffersFromItsData) {
  auto m = buildValid();
  m->graph.setType("w", f32({4}));
  EXPECT_EQ(verifyMessage(*m),
            "weight 'w' is recorded as f32[4] but its data is f32[3]");
}

//--- Elementwise ops -------------------------------------------------------

TEST(VerifierTest, ElementwiseOperandTypesMustMatch) {
  auto m = buildValid();
  m->graph.setWeight({"w", TensorData::fromInt64s({3}, {1, 2, 3}), {}});
  EXPECT_EQ(verifyMessage(*m), "node add: Add operands have different element "
                               "types: 'h' is f32 but 'w' is i64");
}

TEST(VerifierTest, WhereConditionAndPowExponentMayDiffer) {
  auto m = buildValid();
  Graph &g = m->graph;
  g.inputs.push_back("cond");
  g.setType("cond", TensorType::get(DType::Bool, {2, 3}));
  g.setWeight({"e", TensorData::fromInt64s({}, {2}), {}});
  addNode(*m, "Where", "where", {"cond", "y", "h"}, {"sel"}, f32({2, 3}));
  addNode(*m, "Pow", "pow", {"sel", "e"}, {"p"}, f32({2, 3}));
  g.outputs = {"p"};
  EXPECT_EQ(verifyMessage(*m), "");

  // ...but Where's two data operands must still agree.
  g.setWeight({"i", TensorData::fromInt64s({3}, {1, 2, 3}), {}});
  nodeNamed(*m, "where")->inputs[2] = "i";
  EXPECT_EQ(verifyMessage(*m), "node where: Where operands have different "
                               "element types: 'y' is f32 but 'i' is i64");
}

TEST(VerifierTest, ElementwiseShapesMustBroadcast) {
  auto m = buildValid();
  m->graph.setWeight({"w", TensorData::fromFloats({2}, {1, 2}), {}});
  EXPECT_EQ(verifyMessage(*m), "node add: operand 'w' of shape [2] does not "
                               "broadcast with 'h' of shape [2,3]");

  // With three operands the accumulated shape is what is compared.
  m = buildValid();
  Graph &g = m->graph;
  g.setWeight({"lo", TensorData::fromFloats({2, 1}, {0, 0}), {}});
  g.setWeight({"bad", TensorData::fromFloats({4}, {0, 0, 0, 0}), {}});
  addNode(*m, "Max", "max", {"lo", "w", "bad"}, {"mx"}, f32({2, 3}));
  EXPECT_EQ(verifyMessage(*m),
            "node max: operand 'bad' of shape [4] does not broadcast with the "
            "earlier operands' shape [2,3]");
}

TEST(VerifierTest, ElementwiseOutputMustHaveBroadcastShape) {
  auto m = buildValid();
  m->graph.setType("y", f32({3, 3}));
  EXPECT_EQ(verifyMessage(*m), "node add: output 'y' has shape [3,3] but its "
                               "operands broadcast to [2,3]");

  // Broadcasting that grows the rank is accepted.
  m = buildValid();
  m->graph.setWeight(
      {"w", TensorData::fromFloats({4, 1, 1}, {1, 2, 3, 4}), {}});
  m->graph.setType("y", f32({4, 2, 3}));
  EXPECT_EQ(verifyMessage(*m), "");
}

TEST(VerifierTest, DynamicShapesAreNotChecked) {
  auto m = buildValid();
  Graph &g = m->graph;
  TensorType dynamic(DType::F32,
                     std::vector<Dim>{Dim::symbolic("N"), Dim::known(3)});
  g.setType("x", dynamic);
  g.setType("h", dynamic);
  // The output's static shape cannot be checked against a dynamic operand.
  g.setType("y", f32({7, 3}));
  EXPECT_EQ(verifyMessage(*m), "");
  // Unknown element types are not compared either.
  g.setType("h", TensorType());
  EXPECT_EQ(verifyMessage(*m), "");
}

TEST(VerifierTest, NonElementwiseOpsAreNotShapeChecked) {
  auto m = buildValid();
  // MatMul is not elementwise: [2,3] x [3] is not a broadcast.
  nodeNamed(*m, "add")->opType = "MatMul";
  m->graph.setType("y", f32({2}));
  EXPECT_EQ(verifyMessage(*m), "");
}

} // namespace
