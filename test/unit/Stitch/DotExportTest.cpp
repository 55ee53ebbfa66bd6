//===- DotExportTest.cpp - Tests of the Graphviz exporter -----------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The DOT text of a small model before and after detect-boundaries: nodes
// with op, name, shape and weight summary; edges labeled with tensors;
// constants left out; candidate cuts dashed, chosen cuts bold, segments as
// clusters with their cost; escaping; and the error on a cyclic graph.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Export/DotExporter.h"
#include "sparseloom/Pass/PassRegistry.h"
#include "sparseloom/Tool/ModelLoader.h"

#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <string>

using namespace sparseloom;

namespace {

// Three 1x1 convolutions with ReLUs: cut points before c2 and before c3.
// The second weight is half zeros; the Constant feeds an Add.
constexpr const char *kModel = R"(<ir_version: 8, opset_import: ["" : 13]>
chain (float[1,2,3,3] x) => (float[1,2,3,3] y)
<float[2,2,1,1] w1 = {1, 0, 0, 1}, float[2,2,1,1] w2 = {0, 2, 0, 3},
 float[2,2,1,1] w3 = {1, 1, 1, 1}>
{
  c1 = Conv <kernel_shape = [1,1]> (x, w1)
  r1 = Relu (c1)
  k = Constant <value = float {0.5}> ()
  s = Add (r1, k)
  c2 = Conv <kernel_shape = [1,1]> (s, w2)
  r2 = Relu (c2)
  y = Conv <kernel_shape = [1,1]> (r2, w3)
}
)";

std::unique_ptr<Module> load() {
  auto module = loadModelFromText(kModel, InputFormat::OnnxText, "chain.onnx");
  EXPECT_TRUE(bool(module)) << llvm::toString(module.takeError());
  return module ? std::move(*module) : nullptr;
}

std::string dot(const Module &module, const DotOptions &options = {}) {
  std::string text;
  llvm::raw_string_ostream os(text);
  llvm::Error err = exportDot(module, os, options);
  EXPECT_FALSE(bool(err)) << llvm::toString(std::move(err));
  return os.str();
}

size_t count(const std::string &text, const std::string &what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + 1))
    ++n;
  return n;
}

TEST(DotExportTest, PlainModel) {
  auto module = load();
  ASSERT_TRUE(module);
  std::string text = dot(*module);
  EXPECT_EQ(text.rfind("digraph \"chain\" {\n", 0), 0u) << text;
  EXPECT_NE(text.find("in0 [shape=ellipse, fillcolor=\"#eeeeee\", "
                      "label=\"x\\nf32[1,2,3,3]\"];"),
            std::string::npos)
      << text;
  // Op, output shape and the weight summary; the sparse weight shows its
  // density.
  EXPECT_NE(text.find("label=\"Conv\\nf32[1,2,3,3]\\n1 weight, 4 params\""),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("1 weight, 4 params, density 0.50"), std::string::npos);
  // Edges carry the tensor's name; the Constant and its edge are left out.
  EXPECT_NE(text.find("n0 -> n1 [label=\"c1\"];"), std::string::npos) << text;
  EXPECT_EQ(text.find("Constant"), std::string::npos) << text;
  EXPECT_NE(text.find("-> out0 [label=\"y\"];"), std::string::npos) << text;
  EXPECT_EQ(count(text, "cluster"), 0u);
  EXPECT_EQ(count(text, "dashed"), 0u);

  DotOptions options;
  options.hideConstants = false;
  options.summarizeWeights = false;
  options.topToBottom = false;
  text = dot(*module, options);
  EXPECT_NE(text.find("Constant"), std::string::npos);
  EXPECT_EQ(text.find("params"), std::string::npos);
  EXPECT_NE(text.find("rankdir=LR"), std::string::npos);
}

TEST(DotExportTest, BoundariesAndSegments) {
  auto module = load();
  ASSERT_TRUE(module);
  auto passes = createPassPipeline("detect-boundaries(segments=2)");
  ASSERT_TRUE(bool(passes));
  ASSERT_FALSE(bool((*passes)[0]->run(*module)));
  std::string text = dot(*module);
  // Two cut points: before c2 (carrying s) and before y (carrying r2); one
  // chosen. The chosen cut's edge is bold, the other dashed.
  EXPECT_EQ(count(text, "style=bold"), 1u) << text;
  EXPECT_EQ(count(text, "style=dashed"), 1u) << text;
  EXPECT_EQ(count(text, "subgraph cluster_segment"), 2u) << text;
  EXPECT_NE(text.find("label=\"segment 0: "), std::string::npos) << text;
  EXPECT_NE(text.find("FLOPs\""), std::string::npos) << text;
  EXPECT_NE(text.find("2 cut points (dashed), 1 chosen (bold)"),
            std::string::npos)
      << text;
  // Balanced by FLOPs: c1 r1 Add | c2 r2 y is 36+18+18 | 36+18+36.
  EXPECT_NE(text.find("[label=\"s\\ncut 0\", style=bold"), std::string::npos)
      << text;
  EXPECT_NE(text.find("[label=\"r2\\ncut 1\", style=dashed"), std::string::npos)
      << text;
}

TEST(DotExportTest, EscapesNamesAndRejectsCycles) {
  Module module;
  module.graph.name = "say \"hi\"";
  module.graph.inputs = {"a\\b"};
  module.graph.setType("a\\b", TensorType::get(DType::F32, {1}));
  Node relu;
  relu.opType = "Relu";
  relu.inputs = {"a\\b"};
  relu.outputs = {"y"};
  module.graph.setType("y", TensorType::get(DType::F32, {1}));
  module.graph.addNode(relu);
  module.graph.outputs = {"y"};
  std::string text = dot(module);
  EXPECT_NE(text.find("digraph \"say \\\"hi\\\"\""), std::string::npos) << text;
  EXPECT_NE(text.find("label=\"a\\\\b\\nf32[1]\""), std::string::npos) << text;

  // y = Relu(z), z = Relu(y): no topological order.
  module.graph.nodes()[0]->inputs = {"z"};
  Node back;
  back.opType = "Relu";
  back.inputs = {"y"};
  back.outputs = {"z"};
  module.graph.setType("z", TensorType::get(DType::F32, {1}));
  module.graph.addNode(back);
  std::string ignored;
  llvm::raw_string_ostream os(ignored);
  llvm::Error err = exportDot(module, os);
  ASSERT_TRUE(bool(err));
  EXPECT_NE(llvm::toString(std::move(err)).find("cycle"), std::string::npos);
}

} // namespace
