//===- ZooLowerTest.cpp - Lowering every zoo and performance model --------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Every variant of the model zoo (and the performance families, when
// /tmp/perf holds them) goes through compileForRuntime at batch 1: the
// runtime's loader accepts the program, the independent checker finds no two
// live buffers sharing bytes, the plan is no larger than the unplanned sum,
// sparse variants use sparse kernels, and the fast kernels compute what the
// reference kernels do on the first test inputs. Each test prints the
// lowering summary (docs/Lowering.md quotes these figures).
//
//===----------------------------------------------------------------------===//

#include "LowerTestUtils.h"
#include "ProgramInspector.h"

#include "sparseloom/Runtime/Npy.h"
#include "sparseloom/Tool/ModelLoader.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace sparseloom;
using namespace sparseloom::testing;

namespace {

const std::string kZoo = std::string(SPARSELOOM_SOURCE_DIR) + "/examples/zoo";

std::vector<std::string> modelsIn(const std::string &dir) {
  std::vector<std::string> paths;
  std::error_code ec;
  for (llvm::sys::fs::recursive_directory_iterator it(dir, ec), end;
       it != end && !ec; it.increment(ec))
    if (llvm::sys::path::extension(it->path()) == ".onnx")
      paths.push_back(it->path());
  std::sort(paths.begin(), paths.end());
  return paths;
}

/// Every graph input's shape with unknown dims bound to 1 (batch 1).
std::map<std::string, std::vector<int64_t>> batchOne(const Module &module) {
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const std::string &input : module.graph.inputs) {
    TensorType type = module.graph.getType(input);
    std::vector<int64_t> dims;
    for (const Dim &d : *type.dims)
      dims.push_back(d.isKnown() ? d.size() : 1);
    shapes[input] = dims;
  }
  return shapes;
}

struct Compiled {
  std::unique_ptr<Module> module; // as lowered
  CompiledProgram program;
};

std::optional<Compiled> compile(const std::string &path,
                                KernelPolicy policy = KernelPolicy::Auto) {
  auto module = loadModel(path);
  if (!module) {
    ADD_FAILURE() << llvm::toString(module.takeError());
    return std::nullopt;
  }
  CompileOptions options;
  options.inputShapes = batchOne(**module);
  options.lower.kernelPolicy = policy;
  auto program = compileForRuntime(**module, options);
  if (!program) {
    ADD_FAILURE() << path << ": " << llvm::toString(program.takeError());
    return std::nullopt;
  }
  return Compiled{std::move(*module), std::move(*program)};
}

bool usesSparseKernel(const LoweringReport &report) {
  for (const LoweredOp &op : report.ops)
    if (op.kernel == "SpmmCsrAvx2" || op.kernel == "SpmmBlock4x1Avx2")
      return true;
  return false;
}

void checkModel(const std::string &path, bool compareWithReference) {
  auto compiled = compile(path);
  ASSERT_TRUE(compiled);
  const LoweringReport &report = compiled->program.report;
  std::string summary;
  llvm::raw_string_ostream os(summary);
  os << llvm::sys::path::filename(path) << ": ";
  report.print(os, /*perOp=*/false);
  std::cout << os.str();

  EXPECT_GT(checkMemoryPlan(compiled->program.bytes, *compiled->module), 0u);
  EXPECT_LE(report.arenaBytes,
            report.unplannedActivationBytes + 64 * report.numActivations);
  llvm::StringRef name = llvm::sys::path::filename(path);
  if (name.contains(".s90") || name.contains(".s95")) {
    EXPECT_TRUE(usesSparseKernel(report)) << report.kernelSummary();
  }

  if (!compareWithReference)
    return;
  // The first test inputs, fast kernels against the reference kernels.
  runtime::NpyArray inputs;
  std::string error;
  std::string dir = llvm::sys::path::parent_path(path).str();
  ASSERT_TRUE(runtime::readNpy(dir + "/test.inputs.npy", inputs, error))
      << error;
  auto reference = compile(path, KernelPolicy::Reference);
  ASSERT_TRUE(reference);
  int64_t perRow = 1;
  for (size_t i = 1; i < inputs.shape.size(); ++i)
    perRow *= inputs.shape[i];
  for (int64_t row = 0; row < 3 && row < inputs.shape[0]; ++row) {
    FloatTensor in;
    in.dims = inputs.shape;
    in.dims[0] = 1;
    for (int64_t i = 0; i < perRow; ++i)
      in.values.push_back(inputs.dtype == SL_DTYPE_INT64
                              ? float(reinterpret_cast<const int64_t *>(
                                    inputs.data.data())[row * perRow + i])
                              : reinterpret_cast<const float *>(
                                    inputs.data.data())[row * perRow + i]);
    auto fast = runProgram(compiled->program.bytes, {in});
    auto slow = runProgram(reference->program.bytes, {in});
    ASSERT_EQ(fast.size(), slow.size());
    for (size_t o = 0; o < fast.size(); ++o) {
      float scale = 1.0f;
      for (float v : slow[o].values)
        scale = std::max(scale, std::fabs(v));
      EXPECT_LT(maxAbsDiff(fast[o].values, slow[o].values), 1e-4f * scale)
          << "row " << row;
    }
  }
}

TEST(ZooLowerTest, EveryZooVariant) {
  std::vector<std::string> models = modelsIn(kZoo);
  ASSERT_GE(models.size(), 25u);
  for (const std::string &path : models) {
    SCOPED_TRACE(path);
    checkModel(path, /*compareWithReference=*/true);
  }
}

TEST(ZooLowerTest, EveryPerformanceModel) {
  std::vector<std::string> models = modelsIn("/tmp/perf");
  if (models.empty())
    GTEST_SKIP() << "/tmp/perf holds no models (scripts/zoo/perf_families.py)";
  for (const std::string &path : models) {
    SCOPED_TRACE(path);
    checkModel(path, /*compareWithReference=*/false);
  }
}

} // namespace
