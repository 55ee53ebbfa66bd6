//===- AnalysisTest.cpp - Tests of the graph analyses ---------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Def-use, topological order, liveness, dominance, subgraph extraction and
// the structural hash on small graphs built in code: a linear chain, a
// residual block with a skip connection, a two-input/two-output model with
// two branches, a cycle and a graph reading an undefined value.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/IR/Analysis.h"
#include "sparseloom/IR/Verifier.h"

#include "gtest/gtest.h"

#include <string>
#include <vector>

using namespace sparseloom;

namespace {

TensorType f32(std::vector<int64_t> sizes) {
  return TensorType::get(DType::F32, sizes);
}

/// Builds a module node by node. Every name goes through `prefix` so tests
/// can build the same structure under different names.
class Builder {
public:
  explicit Builder(std::string prefix = "") : prefix_(std::move(prefix)) {}

  std::string n(const std::string &name) const {
    return name.empty() ? name : prefix_ + name;
  }
  Graph &graph() { return module_->graph; }

  Builder &input(const std::string &name, TensorType type) {
    graph().inputs.push_back(n(name));
    graph().setType(n(name), std::move(type));
    return *this;
  }
  Builder &weight(const std::string &name, std::vector<int64_t> dims,
                  float fill = 0.5f) {
    int64_t count = 1;
    for (int64_t d : dims)
      count *= d;
    std::vector<float> values(size_t(count), fill);
    graph().setWeight({n(name), TensorData::fromFloats(dims, values), {}});
    return *this;
  }
  Node &node(const std::string &op, const std::string &name,
             std::vector<std::string> inputs, std::vector<std::string> outputs,
             TensorType type) {
    Node node;
    node.opType = op;
    node.name = n(name);
    for (std::string &in : inputs)
      node.inputs.push_back(n(in));
    for (std::string &out : outputs) {
      node.outputs.push_back(n(out));
      if (!out.empty())
        graph().setType(n(out), type);
    }
    return graph().addNode(std::move(node));
  }
  Builder &output(const std::string &name) {
    graph().outputs.push_back(n(name));
    return *this;
  }
  std::unique_ptr<Module> take() { return std::move(module_); }

private:
  std::string prefix_;
  std::unique_ptr<Module> module_ = std::make_unique<Module>();
};

/// x -> MatMul(w0) -> Relu -> MatMul(w1) -> y
std::unique_ptr<Module> buildChain() {
  Builder b;
  b.input("x", f32({1, 4})).weight("w0", {4, 4}).weight("w1", {4, 2});
  b.node("MatMul", "mm0", {"x", "w0"}, {"h0"}, f32({1, 4}));
  b.node("Relu", "relu", {"h0"}, {"h1"}, f32({1, 4}));
  b.node("MatMul", "mm1", {"h1", "w1"}, {"y"}, f32({1, 2}));
  b.output("y");
  return b.take();
}

/// stem -> [mm1 -> act -> mm2] + skip -> add -> head. The block between
/// stem and add carries two activations (the skip and the main path).
std::unique_ptr<Module> buildResidual(const std::string &prefix = "",
                                      float fill = 0.5f) {
  Builder b(prefix);
  b.input("x", f32({1, 8}));
  b.weight("w1", {8, 8}, fill).weight("w2", {8, 8}, fill + 1);
  b.node("Relu", "stem", {"x"}, {"r0"}, f32({1, 8}));
  b.node("MatMul", "mm1", {"r0", "w1"}, {"c1"}, f32({1, 8}));
  b.node("Relu", "act", {"c1"}, {"r1"}, f32({1, 8}));
  b.node("MatMul", "mm2", {"r1", "w2"}, {"c2"}, f32({1, 8}));
  b.node("Add", "add", {"c2", "r0"}, {"s"}, f32({1, 8}));
  b.node("Relu", "head", {"s"}, {"y"}, f32({1, 8}));
  b.output("y");
  return b.take();
}

/// Two inputs, two branches, two outputs; `add` reads sb before ra so that
/// first-use order differs from both name and definition order.
std::unique_ptr<Module> buildTwoBranch() {
  Builder b;
  b.input("a", f32({2, 3})).input("b", f32({2, 3}));
  b.node("Relu", "relu_a", {"a"}, {"ra"}, f32({2, 3}));
  b.node("Sigmoid", "sig_b", {"b"}, {"sb"}, f32({2, 3}));
  b.node("Add", "add", {"sb", "ra"}, {"sum"}, f32({2, 3}));
  b.node("Mul", "mul", {"sum", "ra"}, {"prod"}, f32({2, 3}));
  b.output("sum").output("prod");
  return b.take();
}

/// `down` reads the cycle's value; n1 and n2 form the cycle p -> q -> p.
std::unique_ptr<Module> buildCycle() {
  Builder b;
  b.input("x", f32({4}));
  b.node("Neg", "down", {"q"}, {"z"}, f32({4}));
  b.node("Add", "n1", {"x", "q"}, {"p"}, f32({4}));
  b.node("Relu", "n2", {"p"}, {"q"}, f32({4}));
  b.output("z");
  return b.take();
}

std::vector<std::string> namesOf(const std::vector<const Node *> &nodes) {
  std::vector<std::string> names;
  for (const Node *node : nodes)
    names.push_back(node->name);
  return names;
}

const Node *byName(const Graph &graph, const std::string &name) {
  for (const auto &node : graph.nodes())
    if (node->name == name)
      return node.get();
  ADD_FAILURE() << "no node " << name;
  return nullptr;
}

std::vector<std::string> weightNames(const Graph &graph) {
  std::vector<std::string> names;
  for (const auto &entry : graph.weights())
    names.push_back(entry.first);
  return names;
}

using Names = std::vector<std::string>;

//===----------------------------------------------------------------------===//
// UseDefInfo
//===----------------------------------------------------------------------===//

TEST(UseDefInfoTest, DefsUsersAndOutputs) {
  auto m = buildTwoBranch();
  const Graph &g = m->graph;
  UseDefInfo info(g);
  EXPECT_EQ(info.definingNode("ra"), byName(g, "relu_a"));
  EXPECT_EQ(info.definingNode("sum"), byName(g, "add"));
  EXPECT_EQ(info.definingNode("a"), nullptr); // graph input
  EXPECT_EQ(info.definingNode("nope"), nullptr);
  EXPECT_EQ(namesOf(info.users("ra")), (Names{"add", "mul"}));
  EXPECT_EQ(namesOf(info.users("sum")), (Names{"mul"}));
  EXPECT_TRUE(info.users("prod").empty());
  EXPECT_TRUE(info.isGraphOutput("sum"));
  EXPECT_TRUE(info.isGraphOutput("prod"));
  EXPECT_FALSE(info.isGraphOutput("ra"));
  EXPECT_FALSE(info.isDead("prod")); // unread but a graph output
  EXPECT_FALSE(info.isDead("ra"));
}

TEST(UseDefInfoTest, NodeReadingTwiceIsOneUserAndWeightsHaveUsers) {
  Builder b;
  b.input("x", f32({4})).weight("w", {4});
  b.node("Mul", "sq", {"x", "x"}, {"y"}, f32({4}));
  b.node("Add", "bias", {"y", "w"}, {"z"}, f32({4}));
  b.node("Relu", "unused", {"y"}, {"dead"}, f32({4}));
  b.output("z");
  auto m = b.take();
  UseDefInfo info(m->graph);
  EXPECT_EQ(namesOf(info.users("x")), (Names{"sq"}));
  EXPECT_EQ(namesOf(info.users("y")), (Names{"bias", "unused"}));
  EXPECT_EQ(namesOf(info.users("w")), (Names{"bias"}));
  EXPECT_EQ(info.definingNode("w"), nullptr);
  EXPECT_TRUE(info.isDead("dead"));
  EXPECT_FALSE(info.isDead("y"));
}

//===----------------------------------------------------------------------===//
// Topological order
//===----------------------------------------------------------------------===//

TEST(TopologicalOrderTest, ValidOrderIsKept) {
  auto m = buildResidual();
  auto order = topologicalOrder(m->graph);
  ASSERT_TRUE(bool(order)) << llvm::toString(order.takeError());
  EXPECT_EQ(namesOf(*order),
            (Names{"stem", "mm1", "act", "mm2", "add", "head"}));
}

TEST(TopologicalOrderTest, ShuffledGraphIsRepairedStably) {
  auto m = buildTwoBranch();
  Graph &g = m->graph;
  g.setNodeOrder({byName(g, "mul"), byName(g, "sig_b"), byName(g, "add"),
                  byName(g, "relu_a")});
  auto order = topologicalOrder(g);
  ASSERT_TRUE(bool(order)) << llvm::toString(order.takeError());
  // sig_b keeps its lead over relu_a (both ready at once, sig_b earlier in
  // the current order); add and mul wait for their inputs.
  EXPECT_EQ(namesOf(*order), (Names{"sig_b", "relu_a", "add", "mul"}));

  // A fully reversed chain comes back in dependency order.
  auto residual = buildResidual();
  Graph &r = residual->graph;
  std::vector<const Node *> reversed;
  for (auto it = r.nodes().rbegin(); it != r.nodes().rend(); ++it)
    reversed.push_back(it->get());
  r.setNodeOrder(reversed);
  auto fixed = topologicalOrder(r);
  ASSERT_TRUE(bool(fixed)) << llvm::toString(fixed.takeError());
  EXPECT_EQ(namesOf(*fixed),
            (Names{"stem", "mm1", "act", "mm2", "add", "head"}));
}

TEST(TopologicalOrderTest, WeightsInputsAndOmittedInputsAreAvailable) {
  Builder b;
  b.input("x", f32({4})).weight("hi", {});
  // Clip(x, <omitted min>, hi): the empty name is not a value.
  b.node("Clip", "clip", {"x", "", "hi"}, {"y"}, f32({4}));
  b.output("y");
  auto m = b.take();
  auto order = topologicalOrder(m->graph);
  ASSERT_TRUE(bool(order)) << llvm::toString(order.takeError());
  EXPECT_EQ(namesOf(*order), (Names{"clip"}));
}

TEST(TopologicalOrderTest, UndefinedValueIsReported) {
  Builder b;
  b.input("x", f32({4}));
  b.node("Relu", "ok", {"x"}, {"y"}, f32({4}));
  b.node("Add", "dangling", {"y", "ghost"}, {"z"}, f32({4}));
  b.output("z");
  auto m = b.take();
  auto order = topologicalOrder(m->graph);
  ASSERT_FALSE(bool(order));
  EXPECT_EQ(llvm::toString(order.takeError()),
            "node dangling: reads 'ghost', which no node, input or weight "
            "defines");
}

TEST(TopologicalOrderTest, CycleNamesANodeOnTheCycle) {
  auto m = buildCycle();
  auto order = topologicalOrder(m->graph);
  ASSERT_FALSE(bool(order));
  // `down` comes first but only reads from the cycle; n1 is the earliest
  // node on it, and it closes the cycle by reading q.
  EXPECT_EQ(llvm::toString(order.takeError()),
            "node n1: is part of a cycle through 'q'");
}

TEST(TopologicalOrderTest, SelfLoopIsACycle) {
  Builder b;
  b.input("x", f32({4}));
  b.node("Add", "self", {"x", "y"}, {"y"}, f32({4}));
  b.output("y");
  auto m = b.take();
  auto order = topologicalOrder(m->graph);
  ASSERT_FALSE(bool(order));
  EXPECT_EQ(llvm::toString(order.takeError()),
            "node self: is part of a cycle through 'y'");
}

//===----------------------------------------------------------------------===//
// Liveness
//===----------------------------------------------------------------------===//

TEST(LivenessTest, ResidualBlockHoldsTwoValuesInsideAndOneAtItsEdges) {
  auto m = buildResidual();
  Liveness live(m->graph);
  ASSERT_EQ(live.numGaps(), 7u);
  EXPECT_EQ(live.liveAcross(0), (Names{"x"}));        // before stem
  EXPECT_EQ(live.liveAcross(1), (Names{"r0"}));       // block entry
  EXPECT_EQ(live.liveAcross(2), (Names{"c1", "r0"})); // skip + main path
  EXPECT_EQ(live.liveAcross(3), (Names{"r0", "r1"}));
  EXPECT_EQ(live.liveAcross(4), (Names{"c2", "r0"}));
  EXPECT_EQ(live.liveAcross(5), (Names{"s"})); // block exit
  EXPECT_EQ(live.liveAcross(6), (Names{"y"})); // graph output
}

TEST(LivenessTest, WeightsNeverLiveAndInputsLiveUntilLastUse) {
  auto m = buildChain();
  Liveness live(m->graph);
  ASSERT_EQ(live.numGaps(), 4u);
  EXPECT_EQ(live.liveAcross(0), (Names{"x"})); // w0, w1 are not activations
  EXPECT_EQ(live.liveAcross(1), (Names{"h0"}));
  EXPECT_EQ(live.liveAcross(2), (Names{"h1"}));
  EXPECT_EQ(live.liveAcross(3), (Names{"y"}));

  // A graph input read late stays live across every gap before its use.
  auto two = buildTwoBranch();
  Liveness live2(two->graph);
  ASSERT_EQ(live2.numGaps(), 5u);
  EXPECT_EQ(live2.liveAcross(0), (Names{"a", "b"}));
  EXPECT_EQ(live2.liveAcross(1), (Names{"b", "ra"}));
  EXPECT_EQ(live2.liveAcross(2), (Names{"ra", "sb"}));
  // sum is a graph output, so it stays live to the end although mul is its
  // last reader.
  EXPECT_EQ(live2.liveAcross(3), (Names{"ra", "sum"}));
  EXPECT_EQ(live2.liveAcross(4), (Names{"prod", "sum"}));
}

TEST(LivenessTest, DeadValuesAndUnusedInputsAreNeverLive) {
  Builder b;
  b.input("x", f32({4})).input("unused", f32({4}));
  b.node("Relu", "r", {"x"}, {"y"}, f32({4}));
  b.node("Neg", "dead", {"x"}, {"d"}, f32({4}));
  b.output("y");
  auto m = b.take();
  Liveness live(m->graph);
  EXPECT_EQ(live.liveAcross(0), (Names{"x"}));
  EXPECT_EQ(live.liveAcross(1), (Names{"x", "y"}));
  EXPECT_EQ(live.liveAcross(2), (Names{"y"}));
}

//===----------------------------------------------------------------------===//
// Dominance
//===----------------------------------------------------------------------===//

TEST(DominanceTest, BlockInputDominatesTheMergingAdd) {
  auto m = buildResidual();
  const Graph &g = m->graph;
  Dominance dom(g);
  const Node *stem = byName(g, "stem"), *mm1 = byName(g, "mm1"),
             *act = byName(g, "act"), *mm2 = byName(g, "mm2"),
             *add = byName(g, "add"), *head = byName(g, "head");
  EXPECT_TRUE(dom.dominates(stem, add));
  EXPECT_TRUE(dom.dominates(stem, head));
  EXPECT_TRUE(dom.dominates(add, head));
  // The skip path bypasses the block body, so none of it dominates add.
  EXPECT_FALSE(dom.dominates(mm1, add));
  EXPECT_FALSE(dom.dominates(mm2, add));
  EXPECT_FALSE(dom.dominates(mm1, head));
  EXPECT_TRUE(dom.dominates(mm1, mm2));
  EXPECT_FALSE(dom.dominates(add, stem));
  EXPECT_TRUE(dom.dominates(act, act)); // reflexive

  EXPECT_EQ(dom.immediateDominator(stem), nullptr); // fed by a graph input
  EXPECT_EQ(dom.immediateDominator(mm1), stem);     // the weight is no edge
  EXPECT_EQ(dom.immediateDominator(act), mm1);
  EXPECT_EQ(dom.immediateDominator(add), stem);
  EXPECT_EQ(dom.immediateDominator(head), add);
}

TEST(DominanceTest, GraphInputsAreEdgesFromTheRoot) {
  auto m = buildTwoBranch();
  const Graph &g = m->graph;
  Dominance dom(g);
  const Node *reluA = byName(g, "relu_a"), *add = byName(g, "add"),
             *mul = byName(g, "mul");
  // add merges branches from two different inputs: only the root
  // dominates it.
  EXPECT_EQ(dom.immediateDominator(add), nullptr);
  EXPECT_EQ(dom.immediateDominator(mul), nullptr);
  EXPECT_FALSE(dom.dominates(reluA, add));

  // A node reading an activation and a graph input is reached from the
  // root directly, whatever dominates the activation.
  Builder b;
  b.input("x", f32({4}));
  b.node("Relu", "r", {"x"}, {"a"}, f32({4}));
  b.node("Neg", "n", {"a"}, {"b"}, f32({4}));
  b.node("Add", "join", {"b", "x"}, {"y"}, f32({4}));
  b.node("Mul", "sq", {"b", "b"}, {"z"}, f32({4}));
  b.output("y").output("z");
  auto m2 = b.take();
  Dominance dom2(m2->graph);
  EXPECT_EQ(dom2.immediateDominator(byName(m2->graph, "join")), nullptr);
  EXPECT_FALSE(
      dom2.dominates(byName(m2->graph, "r"), byName(m2->graph, "join")));
  EXPECT_EQ(dom2.immediateDominator(byName(m2->graph, "sq")),
            byName(m2->graph, "n"));
  EXPECT_TRUE(dom2.dominates(byName(m2->graph, "r"), byName(m2->graph, "sq")));
}

TEST(DominanceTest, ConstantsMakeNoEdges) {
  // k is computed from a weight only: the Add it feeds is still dominated by
  // the activation path, and k itself hangs off the root.
  Builder b;
  b.input("x", f32({4})).weight("w", {4});
  b.node("Relu", "r", {"x"}, {"a"}, f32({4}));
  b.node("Constant", "const", {}, {"c"}, f32({4}));
  b.node("Neg", "k", {"c", "w"}, {"kv"}, f32({4}));
  b.node("Add", "add", {"a", "kv"}, {"y"}, f32({4}));
  b.output("y");
  auto m = b.take();
  const Graph &g = m->graph;
  Dominance dom(g);
  EXPECT_EQ(dom.immediateDominator(byName(g, "add")), byName(g, "r"));
  EXPECT_EQ(dom.immediateDominator(byName(g, "k")), nullptr);
  EXPECT_FALSE(dom.dominates(byName(g, "const"), byName(g, "add")));
  EXPECT_FALSE(dom.dominates(byName(g, "k"), byName(g, "add")));
}

TEST(DominanceTest, NestedDiamonds) {
  // x -> a -> {b, c}; d = b + c; e = d + b; f = e + a. idom(f) is a because
  // the path a -> f skips d.
  Builder b;
  b.input("x", f32({4}));
  b.node("Relu", "a", {"x"}, {"va"}, f32({4}));
  b.node("Neg", "b", {"va"}, {"vb"}, f32({4}));
  b.node("Abs", "c", {"va"}, {"vc"}, f32({4}));
  b.node("Add", "d", {"vb", "vc"}, {"vd"}, f32({4}));
  b.node("Add", "e", {"vd", "vb"}, {"ve"}, f32({4}));
  b.node("Add", "f", {"ve", "va"}, {"vf"}, f32({4}));
  b.output("vf");
  auto m = b.take();
  const Graph &g = m->graph;
  Dominance dom(g);
  EXPECT_EQ(dom.immediateDominator(byName(g, "d")), byName(g, "a"));
  EXPECT_EQ(dom.immediateDominator(byName(g, "e")), byName(g, "a"));
  EXPECT_EQ(dom.immediateDominator(byName(g, "f")), byName(g, "a"));
  EXPECT_FALSE(dom.dominates(byName(g, "b"), byName(g, "e")));
}

//===----------------------------------------------------------------------===//
// Subgraph extraction
//===----------------------------------------------------------------------===//

TEST(ExtractSubgraphTest, MiddleSegmentOfResidualBlock) {
  auto m = buildResidual();
  m->producerName = "test";
  m->opsetImports[""] = 13;
  m->metadata.push_back({"k", "v"});
  const Graph &g = m->graph;
  // Listed out of order on purpose: extraction follows the graph's order.
  auto sub = extractSubgraph(
      *m,
      {byName(g, "add"), byName(g, "mm1"), byName(g, "act"), byName(g, "mm2")},
      "block");
  ASSERT_TRUE(bool(sub)) << llvm::toString(sub.takeError());
  const Graph &s = (*sub)->graph;
  EXPECT_EQ(s.name, "block");
  EXPECT_EQ(s.inputs, (Names{"r0"}));
  EXPECT_EQ(s.outputs, (Names{"s"}));
  EXPECT_EQ(weightNames(s), (Names{"w1", "w2"}));
  std::vector<std::string> order;
  for (const auto &node : s.nodes())
    order.push_back(node->name);
  EXPECT_EQ(order, (Names{"mm1", "act", "mm2", "add"}));
  for (const char *value : {"r0", "c1", "r1", "c2", "s"})
    EXPECT_EQ(s.getType(value), f32({1, 8})) << value;
  EXPECT_EQ(s.getType("w1"), f32({8, 8}));
  EXPECT_EQ(s.getType("w2"), f32({8, 8}));
  EXPECT_FALSE(s.hasType("x"));
  EXPECT_FALSE(s.hasType("y"));
  // Weights share storage with the original.
  EXPECT_EQ(s.findWeight("w1")->data, g.findWeight("w1")->data);
  EXPECT_EQ((*sub)->producerName, "test");
  EXPECT_EQ((*sub)->opsetVersion(""), 13);
  EXPECT_EQ((*sub)->metadata.size(), 1u);
  EXPECT_FALSE(bool(verify(**sub)));
}

TEST(ExtractSubgraphTest, ValuesReadOutsideBecomeOutputs) {
  auto m = buildResidual();
  const Graph &g = m->graph;
  // stem..act: r0 is read by add (outside) and r1 by mm2 (outside).
  auto sub = extractSubgraph(
      *m, {byName(g, "stem"), byName(g, "mm1"), byName(g, "act")}, "front");
  ASSERT_TRUE(bool(sub)) << llvm::toString(sub.takeError());
  const Graph &s = (*sub)->graph;
  EXPECT_EQ(s.inputs, (Names{"x"}));
  EXPECT_EQ(s.outputs, (Names{"r0", "r1"})); // definition order
  EXPECT_EQ(weightNames(s), (Names{"w1"}));
  EXPECT_FALSE(bool(verify(**sub)));
}

TEST(ExtractSubgraphTest, InputsFollowFirstUseAndGraphOutputsStay) {
  auto m = buildTwoBranch();
  const Graph &g = m->graph;
  auto sub = extractSubgraph(*m, {byName(g, "add"), byName(g, "mul")}, "tail");
  ASSERT_TRUE(bool(sub)) << llvm::toString(sub.takeError());
  const Graph &s = (*sub)->graph;
  EXPECT_EQ(s.inputs, (Names{"sb", "ra"})); // add reads sb first
  // sum is read inside (by mul) and is a graph output: still an output.
  EXPECT_EQ(s.outputs, (Names{"sum", "prod"}));
  EXPECT_TRUE(s.weights().empty());
  EXPECT_FALSE(bool(verify(**sub)));
}

TEST(ExtractSubgraphTest, RejectsEmptyAndForeignNodes) {
  auto m = buildResidual();
  auto empty = extractSubgraph(*m, {}, "none");
  ASSERT_FALSE(bool(empty));
  EXPECT_EQ(llvm::toString(empty.takeError()),
            "cannot extract subgraph 'none': no nodes were given");

  auto other = buildChain();
  auto foreign = extractSubgraph(
      *m, {byName(m->graph, "stem"), byName(other->graph, "relu")}, "mixed");
  ASSERT_FALSE(bool(foreign));
  std::string message = llvm::toString(foreign.takeError());
  EXPECT_NE(message.find("(relu) is not in graph"), std::string::npos)
      << message;
}

//===----------------------------------------------------------------------===//
// Structural hash
//===----------------------------------------------------------------------===//

TEST(StructuralHashTest, IgnoresWeightValuesAndNames) {
  auto base = buildResidual();
  uint64_t h = structuralHash(base->graph);
  EXPECT_EQ(h, structuralHash(base->graph)); // deterministic
  // Other weight values, every value and node name changed.
  auto variant = buildResidual("v90_", 0.0f);
  variant->graph.name = "other";
  EXPECT_EQ(h, structuralHash(variant->graph));
  // Weight table order does not matter either, only first use.
  auto reordered = buildResidual();
  Weight w1 = *reordered->graph.findWeight("w1");
  reordered->graph.removeWeight("w1");
  reordered->graph.setWeight(w1);
  ASSERT_EQ(weightNames(reordered->graph), (Names{"w2", "w1"}));
  EXPECT_EQ(h, structuralHash(reordered->graph));
  // Annotations (analysis results) are not structure.
  auto annotated = buildResidual();
  annotated->graph.findWeight("w1")->annotations["density"] = 0.1f;
  const_cast<Node *>(byName(annotated->graph, "mm1"))->annotations["x"] = 1;
  EXPECT_EQ(h, structuralHash(annotated->graph));
}

TEST(StructuralHashTest, ChangesWithStructure) {
  uint64_t h = structuralHash(buildResidual()->graph);
  auto node = [](Module &m, const char *name) {
    return const_cast<Node *>(byName(m.graph, name));
  };

  auto attr = buildResidual();
  node(*attr, "add")->attributes["alpha"] = 1.0f;
  EXPECT_NE(h, structuralHash(attr->graph)) << "attribute";

  auto attrValue = buildResidual();
  node(*attrValue, "add")->attributes["alpha"] = 2.0f;
  EXPECT_NE(structuralHash(attr->graph), structuralHash(attrValue->graph))
      << "attribute value";

  auto tensorAttr = buildResidual();
  node(*tensorAttr, "add")->attributes["t"] =
      TensorData::fromFloats({2}, {1.0f, 2.0f});
  auto tensorAttr2 = buildResidual();
  node(*tensorAttr2, "add")->attributes["t"] =
      TensorData::fromFloats({2}, {1.0f, 3.0f});
  EXPECT_NE(structuralHash(tensorAttr->graph),
            structuralHash(tensorAttr2->graph))
      << "tensor attribute contents";

  auto shape = buildResidual();
  shape->graph.setType("c1", f32({2, 8}));
  EXPECT_NE(h, structuralHash(shape->graph)) << "value shape";

  auto dtype = buildResidual();
  dtype->graph.setType("x", TensorType::get(DType::F16, {1, 8}));
  EXPECT_NE(h, structuralHash(dtype->graph)) << "input dtype";

  auto weightShape = buildResidual();
  weightShape->graph.setWeight(
      {"w2", TensorData::fromFloats({8, 1}, std::vector<float>(8, 1.f)), {}});
  EXPECT_NE(h, structuralHash(weightShape->graph)) << "weight shape";

  auto edge = buildResidual();
  node(*edge, "add")->inputs[1] = "c1"; // skip from c1 instead of r0
  EXPECT_NE(h, structuralHash(edge->graph)) << "edge";

  auto swapped = buildResidual();
  std::swap(node(*swapped, "add")->inputs[0], node(*swapped, "add")->inputs[1]);
  EXPECT_NE(h, structuralHash(swapped->graph)) << "operand order";

  auto op = buildResidual();
  node(*op, "add")->opType = "Sub";
  EXPECT_NE(h, structuralHash(op->graph)) << "op type";

  auto domain = buildResidual();
  node(*domain, "add")->domain = "com.example";
  EXPECT_NE(h, structuralHash(domain->graph)) << "domain";

  auto outputs = buildResidual();
  outputs->graph.outputs.push_back("s");
  EXPECT_NE(h, structuralHash(outputs->graph)) << "graph outputs";
}

} // namespace
