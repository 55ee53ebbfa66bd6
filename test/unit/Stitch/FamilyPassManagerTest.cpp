//===- FamilyPassManagerTest.cpp - The pass manager over a family ---------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The pass manager over a family: module passes run on every member, a
// family of one prints exactly as its module did, --print-ir-after-all
// prints the whole family with its state, --verify-each names the member
// that a pass broke, and errors keep their file and gain the pass name.
//
//===----------------------------------------------------------------------===//

#include "FamilyTestUtils.h"

#include "sparseloom/IR/FamilyPrinter.h"
#include "sparseloom/Support/Diagnostics.h"

#include "gtest/gtest.h"

using namespace sparseloom;

namespace {

const char *kModel = R"(module {
  opset "" = 13
  graph "g" (%x : f32[1,2]) -> (%y) {
    weight %w : f32[2,2] = dense<[1.0, 0.0, 0.0, 1.0]>
    %i : f32[1,2] = Identity(%x) loc("id")
    %y : f32[1,2] = MatMul(%i, %w) loc("mm")
  }
}
)";

/// A pass that breaks the IR of the member named "broken": it reads a value
/// nothing defines.
class BreakingPass : public Pass {
public:
  BreakingPass() : Pass(info()) {}
  static const PassInfo &info() {
    static const PassInfo i = {"break-one", "test", {}, {}, nullptr};
    return i;
  }
  llvm::Error run(Module &module) override {
    Node node;
    node.opType = "Relu";
    node.name = "bad";
    node.inputs = {"nowhere"};
    node.outputs = {"bad_out"};
    module.graph.addNode(std::move(node));
    module.graph.setType("bad_out", TensorType::get(DType::F32, {1, 2}));
    return llvm::Error::success();
  }
  llvm::Error runOnFamily(Family &family) override {
    for (FamilyMember &member : family.members)
      if (member.variant == "broken")
        return run(*member.module);
    return llvm::Error::success();
  }
};

/// A pass that fails naming a node, for the error format.
class FailingPass : public Pass {
public:
  FailingPass() : Pass(info()) {}
  static const PassInfo &info() {
    static const PassInfo i = {"fail", "test", {}, {}, nullptr};
    return i;
  }
  llvm::Error run(Module &) override {
    return makeNodeError("mm", "cannot do this");
  }
};

std::unique_ptr<PassManager> pipeline(llvm::StringRef text,
                                      PassManagerOptions options) {
  auto pm = std::make_unique<PassManager>(std::move(options));
  auto passes = createPassPipeline(text);
  EXPECT_TRUE(bool(passes));
  if (passes)
    for (auto &pass : *passes)
      pm->addPass(std::move(pass));
  return pm;
}

TEST(FamilyPassManagerTest, FamilyOfOnePrintsLikeItsModule) {
  Family family = familyFromText({{"one.slir", kModel}});
  auto module = family.reference().clone();
  std::string familyDump, moduleDump;
  llvm::raw_string_ostream familyOs(familyDump), moduleOs(moduleDump);
  PassManagerOptions options;
  options.printAfterAll = true;
  options.irDump = &familyOs;
  ASSERT_FALSE(bool(pipeline("canonicalize", options)->run(family)));
  options.irDump = &moduleOs;
  ASSERT_FALSE(bool(pipeline("canonicalize", options)->run(*module)));
  EXPECT_EQ(familyOs.str(), moduleOs.str());
  EXPECT_NE(familyOs.str().find("IR Dump After canonicalize"),
            std::string::npos);
  EXPECT_EQ(printFamilyToString(family), printModuleToString(*module));
}

TEST(FamilyPassManagerTest, ModulePassesRunOnEveryMember) {
  Family family =
      familyFromText({{"net.dense.slir", kModel}, {"net.s50.slir", kModel}});
  ASSERT_FALSE(bool(runOnFamily(family, "canonicalize,align-family")));
  for (const FamilyMember &member : family.members)
    for (const auto &node : member.module->graph.nodes())
      EXPECT_NE(node->opType, "Identity") << member.variant;
}

TEST(FamilyPassManagerTest, PrintAfterAllPrintsTheFamily) {
  Family family =
      familyFromText({{"net.dense.slir", kModel}, {"net.s50.slir", kModel}});
  std::string dump;
  llvm::raw_string_ostream os(dump);
  PassManagerOptions options;
  options.printAfter = {"align-family"};
  options.irDump = &os;
  ASSERT_FALSE(
      bool(pipeline("canonicalize,align-family", options)->run(family)));
  std::string text = os.str();
  EXPECT_EQ(text.find("IR Dump After canonicalize"), std::string::npos);
  size_t header = text.find("// -----// IR Dump After align-family //----- //\n"
                            "family \"net\" {\n"
                            "  member \"dense\" file \"net.dense.slir\" "
                            "reference\n"
                            "  member \"s50\" file \"net.s50.slir\"\n"
                            "  alignment: 1 node\n"
                            "    \"s50\": same structure\n"
                            "}\n"
                            "// member \"dense\" (\"net.dense.slir\")\n"
                            "module {");
  EXPECT_EQ(header, 0u) << text;
  EXPECT_NE(text.find("// member \"s50\" (\"net.s50.slir\")\nmodule {"),
            std::string::npos);
}

TEST(FamilyPassManagerTest, VerifyEachNamesTheBrokenMember) {
  Family family =
      familyFromText({{"net.dense.slir", kModel}, {"net.broken.slir", kModel}});
  PassManagerOptions options;
  options.verifyEach = true;
  PassManager pm(options);
  pm.addPass(std::make_unique<BreakingPass>());
  std::string text = errorText(pm.run(family));
  EXPECT_NE(text.find("IR is invalid after pass 'break-one'"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("net.broken.slir: node bad: reads 'nowhere'"),
            std::string::npos)
      << text;
}

TEST(FamilyPassManagerTest, ErrorsKeepTheFileAndNameThePass) {
  Family family =
      familyFromText({{"net.dense.slir", kModel}, {"net.s50.slir", kModel}});
  PassManager pm;
  pm.addPass(std::make_unique<FailingPass>());
  EXPECT_EQ(errorText(pm.run(family)),
            "net.dense.slir: node mm: cannot do this [in pass 'fail']");
}

} // namespace
