//===- FusionTest.cpp - Fusion passes on the transformer models -----------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// fuse-layernorm and fuse-gelu on the zoo's lang model and on BERT-base (when
// /tmp/perf holds it): the fused counts equal the counts by hand (lang: two
// blocks with two norms each plus the final norm, one GELU per block; BERT:
// the embedding norm plus two per layer, one GELU per layer), nothing of the
// patterns is left, the fused module still goes through ONNX's shape
// inference, and the fused program computes what the unfused one does.
//
//===----------------------------------------------------------------------===//

#include "LowerTestUtils.h"

#include "sparseloom/IR/Verifier.h"
#include "sparseloom/Pass/PassRegistry.h"
#include "sparseloom/Runtime/Npy.h"
#include "sparseloom/Tool/ModelLoader.h"

#include "llvm/Support/FileSystem.h"

#include <map>

using namespace sparseloom;
using namespace sparseloom::testing;

namespace {

const std::string kZoo = std::string(SPARSELOOM_SOURCE_DIR) + "/examples/zoo";

std::map<std::string, int> countOps(const Module &module) {
  std::map<std::string, int> counts;
  for (const auto &node : module.graph.nodes())
    ++counts[node->opType];
  return counts;
}

void runPasses(Module &module, llvm::StringRef pipeline) {
  auto passes = createPassPipeline(pipeline);
  ASSERT_TRUE(bool(passes)) << llvm::toString(passes.takeError());
  for (auto &pass : *passes)
    ASSERT_FALSE(bool(pass->run(module))) << pass->name().str();
  llvm::Error err = verify(module);
  EXPECT_FALSE(bool(err)) << llvm::toString(std::move(err));
}

std::unique_ptr<Module>
load(const std::string &path,
     std::map<std::string, std::vector<int64_t>> shapes) {
  ImportOptions options;
  options.inputShapes = std::move(shapes);
  auto module = loadModel(path, options);
  if (!module) {
    ADD_FAILURE() << llvm::toString(module.takeError());
    return nullptr;
  }
  return std::move(*module);
}

void expectFusedCounts(Module &module, int layerNorms, int gelus) {
  std::map<std::string, int> before = countOps(module);
  runPasses(module, "canonicalize,infer-shapes,canonicalize,fuse-layernorm,"
                    "fuse-gelu,canonicalize");
  std::map<std::string, int> after = countOps(module);
  EXPECT_EQ(after["LayerNormalization"], layerNorms);
  EXPECT_EQ(after["Gelu"], gelus);
  // Nothing of the patterns is left.
  EXPECT_EQ(after["Erf"], 0);
  EXPECT_EQ(after["Pow"], 0);
  EXPECT_EQ(after["Sqrt"], 0);
  EXPECT_EQ(after["ReduceMean"], 0);
  EXPECT_EQ(before["Erf"], gelus);
  EXPECT_EQ(before["Sqrt"], layerNorms);
  EXPECT_EQ(module.opsetVersion(""), 17);
  EXPECT_EQ(module.opsetVersion("com.sparseloom"), 1);
  // ONNX accepts the result (LayerNormalization-17, a custom-domain Gelu).
  runPasses(module, "infer-shapes");
}

TEST(FusionTest, LangCounts) {
  auto module = load(kZoo + "/lang/lang.dense.onnx", {{"tokens", {1, 20}}});
  ASSERT_TRUE(module);
  expectFusedCounts(*module, 5, 2);
}

TEST(FusionTest, BertCounts) {
  const std::string path = "/tmp/perf/bert-base.dense.onnx";
  if (!llvm::sys::fs::exists(path))
    GTEST_SKIP() << path << " not generated (scripts/zoo/perf_families.py)";
  auto module = load(path, {});
  ASSERT_TRUE(module);
  expectFusedCounts(*module, 25, 12);
}

// The fused program computes what the unfused one does, on real inputs.
TEST(FusionTest, LangFusedMatchesUnfused) {
  runtime::NpyArray tokens;
  std::string error;
  ASSERT_TRUE(runtime::readNpy(kZoo + "/lang/test.inputs.npy", tokens, error))
      << error;
  ASSERT_EQ(tokens.shape.size(), 2u);
  const int64_t length = tokens.shape[1];
  auto compile = [&](bool fuse, KernelPolicy policy) {
    auto module = load(kZoo + "/lang/lang.dense.onnx", {});
    CompileOptions options;
    options.inputShapes = {{"tokens", {1, length}}};
    options.fuse = fuse;
    options.lower.kernelPolicy = policy;
    auto program = compileForRuntime(*module, options);
    if (!program) {
      ADD_FAILURE() << llvm::toString(program.takeError());
      return std::vector<uint8_t>();
    }
    return program->bytes;
  };
  std::vector<uint8_t> unfused = compile(false, KernelPolicy::Reference);
  std::vector<uint8_t> fused = compile(true, KernelPolicy::Reference);
  std::vector<uint8_t> fast = compile(true, KernelPolicy::Auto);
  ASSERT_FALSE(unfused.empty() || fused.empty() || fast.empty());
  EXPECT_LT(fused.size(), unfused.size() + 1);
  const int64_t *ids = reinterpret_cast<const int64_t *>(tokens.data.data());
  for (int64_t row = 0; row < 8 && row < tokens.shape[0]; ++row) {
    FloatTensor in{{1, length}, {}};
    for (int64_t i = 0; i < length; ++i)
      in.values.push_back(float(ids[row * length + i]));
    auto a = runProgram(unfused, {in});
    auto b = runProgram(fused, {in});
    auto c = runProgram(fast, {in});
    ASSERT_EQ(a.size(), 1u);
    ASSERT_EQ(b.size(), 1u);
    ASSERT_EQ(c.size(), 1u);
    EXPECT_LT(maxAbsDiff(a[0].values, b[0].values), 1e-4f) << "row " << row;
    EXPECT_LT(maxAbsDiff(a[0].values, c[0].values), 1e-4f) << "row " << row;
  }
}

} // namespace
