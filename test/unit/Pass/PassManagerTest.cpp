//===- PassManagerTest.cpp - Tests of pipelines and the pass manager ------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Pass/PassManager.h"
#include "sparseloom/Pass/PassRegistry.h"
#include "sparseloom/Support/Diagnostics.h"

#include "gtest/gtest.h"

using namespace sparseloom;

namespace {

std::string errorText(llvm::Error err) {
  return llvm::toString(std::move(err));
}

TEST(PipelineText, ParsesNamesAndOptions) {
  auto elements = parsePipelineText(
      " canonicalize , sparsity-analysis(min-elements=4, all-weights=true),x");
  ASSERT_TRUE(bool(elements)) << errorText(elements.takeError());
  ASSERT_EQ(elements->size(), 3u);
  EXPECT_EQ((*elements)[0].passName, "canonicalize");
  EXPECT_EQ((*elements)[1].passName, "sparsity-analysis");
  EXPECT_EQ((*elements)[1].options.getString("min-elements", ""), "4");
  EXPECT_EQ((*elements)[1].options.getString("all-weights", ""), "true");
  EXPECT_EQ((*elements)[2].passName, "x");
}

TEST(PipelineText, EmptyIsNoPasses) {
  auto elements = parsePipelineText("");
  ASSERT_TRUE(bool(elements));
  EXPECT_TRUE(elements->empty());
}

TEST(PipelineText, RejectsMalformedText) {
  EXPECT_NE(errorText(parsePipelineText("a(").takeError()).find("missing ')'"),
            std::string::npos);
  EXPECT_NE(errorText(parsePipelineText("a,").takeError()).find("trailing ','"),
            std::string::npos);
  EXPECT_NE(errorText(parsePipelineText("a(=1)").takeError())
                .find("expected key=value"),
            std::string::npos);
  EXPECT_NE(errorText(parsePipelineText(",a").takeError())
                .find("expected a pass name"),
            std::string::npos);
}

TEST(PassOptions, TypedGettersValidate) {
  PassOptions o;
  o.set("n", "12");
  o.set("f", "0.5");
  o.set("b", "false");
  o.set("bad", "x1");
  EXPECT_EQ(*o.getInt("n", 0), 12);
  EXPECT_EQ(*o.getInt("missing", 7), 7);
  EXPECT_DOUBLE_EQ(*o.getDouble("f", 0), 0.5);
  EXPECT_FALSE(*o.getBool("b", true));
  EXPECT_NE(
      errorText(o.getInt("bad", 0).takeError()).find("expects an integer"),
      std::string::npos);
  EXPECT_NE(errorText(o.getBool("bad", false).takeError())
                .find("expects true or false"),
            std::string::npos);
}

TEST(Registry, ListsEveryPassSortedAndFindsThem) {
  const auto &passes = allPasses();
  ASSERT_GE(passes.size(), 2u);
  for (size_t i = 1; i < passes.size(); ++i)
    EXPECT_LT(passes[i - 1]->name, passes[i]->name);
  for (const PassInfo *info : passes) {
    EXPECT_EQ(lookupPass(info->name), info);
    EXPECT_FALSE(info->summary.empty()) << info->name;
  }
  EXPECT_NE(lookupPass("canonicalize"), nullptr);
  EXPECT_NE(lookupPass("sparsity-analysis"), nullptr);
}

TEST(Registry, UnknownPassListsKnownOnes) {
  auto passes = createPassPipeline("canonicalize,no-such-pass");
  std::string text = errorText(passes.takeError());
  EXPECT_NE(text.find("unknown pass 'no-such-pass'"), std::string::npos);
  EXPECT_NE(text.find("sparsity-analysis"), std::string::npos);
}

TEST(Registry, UnknownOptionIsAnError) {
  auto passes = createPassPipeline("canonicalize(no-such-option=1)");
  EXPECT_NE(
      errorText(passes.takeError()).find("has no option 'no-such-option'"),
      std::string::npos);
}

// A pass defined here so the manager is tested independently of real passes.
const PassInfo &countingPassInfo() {
  static const PassInfo info = {
      "count-nodes",
      "counts nodes",
      {},
      {{"nodes", "Number of nodes seen"}},
      [](const PassOptions &) -> llvm::Expected<std::unique_ptr<Pass>> {
        struct CountingPass : Pass {
          CountingPass() : Pass(countingPassInfo()) {}
          llvm::Error run(Module &m) override {
            statistics().add("nodes", int64_t(m.graph.numNodes()));
            return llvm::Error::success();
          }
        };
        return std::make_unique<CountingPass>();
      }};
  return info;
}

TEST(PassManager, RunsPassesAndReportsStatistics) {
  Module m;
  Node n;
  n.opType = "Relu";
  n.inputs = {"x"};
  n.outputs = {"y"};
  m.graph.addNode(n);
  m.graph.addNode(n);
  PassManager pm;
  pm.addPass(std::move(*countingPassInfo().create({})));
  ASSERT_FALSE(bool(pm.run(m)));
  std::string report;
  llvm::raw_string_ostream os(report);
  pm.printStatistics(os);
  EXPECT_NE(os.str().find("count-nodes"), std::string::npos);
  EXPECT_NE(os.str().find("2 nodes - Number of nodes seen"), std::string::npos);
}

const PassInfo &failingPassInfo() {
  static const PassInfo info = {
      "fail",
      "always fails",
      {},
      {},
      [](const PassOptions &) -> llvm::Expected<std::unique_ptr<Pass>> {
        struct FailingPass : Pass {
          FailingPass() : Pass(failingPassInfo()) {}
          llvm::Error run(Module &) override {
            return llvm::make_error<DiagnosticError>("", "n1", "bad input");
          }
        };
        return std::make_unique<FailingPass>();
      }};
  return info;
}

TEST(PassManager, FailureNamesPassAndKeepsNode) {
  Module m;
  PassManager pm;
  pm.addPass(std::move(*failingPassInfo().create({})));
  pm.addPass(std::move(*countingPassInfo().create({})));
  std::string text = errorText(pm.run(m));
  EXPECT_EQ(text, "node n1: bad input [in pass 'fail']");
  EXPECT_EQ(pm.passes()[1]->statistics().get("nodes"), 0); // never ran
}

} // namespace
