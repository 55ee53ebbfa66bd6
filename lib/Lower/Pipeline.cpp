//===- Pipeline.cpp - From an imported model to a runtime program ---------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// compileForRuntime (Pipeline.h). Shapes first: the runtime needs every shape
// static, and the shape computations exporters write (Shape -> Gather ->
// Concat -> Reshape, Slice bounds computed from a Shape) only fold once the
// shapes they read are known, which can take a couple of rounds of
// infer-shapes and canonicalize. Then the fusions and the sparsity analysis
// whose annotations lowering reads, then lowering, then the runtime's own
// loader as the last check.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Lower/Pipeline.h"

#include "sparseloom/Pass/PassManager.h"
#include "sparseloom/Pass/PassRegistry.h"
#include "sparseloom/Runtime/sparseloom_runtime.h"
#include "sparseloom/Support/Diagnostics.h"

#include <algorithm>

namespace sparseloom {

namespace {

/// Every value typed with a static shape.
bool allStatic(const Module &module) {
  for (const auto &entry : module.graph.types())
    if (!entry.second.isStatic())
      return false;
  return true;
}

llvm::Error runPasses(Module &module, llvm::StringRef pipeline,
                      bool verifyEach) {
  auto passes = createPassPipeline(pipeline);
  if (!passes)
    return passes.takeError();
  PassManagerOptions options;
  options.verifyEach = verifyEach;
  PassManager manager(options);
  for (auto &pass : *passes)
    manager.addPass(std::move(pass));
  return manager.run(module);
}

std::string joinInputs(const Graph &graph) {
  std::string names;
  for (const std::string &input : graph.inputs)
    names += (names.empty() ? "" : ", ") + input;
  return names.empty() ? "none" : names;
}

} // namespace

std::string runtimePreparationPipeline(bool fuse) {
  // canonicalize after the fusions removes the constants only the fused
  // patterns read (epsilon, the 2 of Pow, sqrt(2)...).
  return fuse ? "fuse-layernorm,fuse-gelu,fuse-activation,canonicalize,"
                "sparsity-analysis"
              : "sparsity-analysis";
}

llvm::Error
bindInputShapes(Module &module,
                const std::map<std::string, std::vector<int64_t>> &shapes) {
  Graph &graph = module.graph;
  for (const auto &entry : shapes) {
    const std::string &name = entry.first;
    const std::vector<int64_t> &dims = entry.second;
    if (std::find(graph.inputs.begin(), graph.inputs.end(), name) ==
        graph.inputs.end())
      return makeNodeError(name, "--input-shape names '" + name +
                                     "', which is not a graph input (inputs: " +
                                     joinInputs(graph) + ")");
    TensorType type = graph.getType(name);
    if (type.hasRank() && type.rank() != dims.size())
      return makeNodeError(name, "input '" + name + "' has rank " +
                                     std::to_string(type.rank()) +
                                     " but --input-shape gives " +
                                     std::to_string(dims.size()) + " dims");
    std::vector<Dim> bound;
    for (size_t i = 0; i < dims.size(); ++i) {
      if (dims[i] < 0)
        return makeNodeError(name, "--input-shape dims must not be negative");
      if (type.hasRank() && (*type.dims)[i].isKnown() &&
          (*type.dims)[i].size() != dims[i])
        return makeNodeError(
            name, "dimension " + std::to_string(i) + " of input '" + name +
                      "' is " + std::to_string((*type.dims)[i].size()) +
                      " in the model but --input-shape gives " +
                      std::to_string(dims[i]));
      bound.push_back(Dim::known(dims[i]));
    }
    graph.setType(name, TensorType(type.dtype, bound));
  }
  return llvm::Error::success();
}

llvm::Expected<CompiledProgram>
compileForRuntime(Module &module, const CompileOptions &options) {
  CompiledProgram result;
  if (llvm::Error err = bindInputShapes(module, options.inputShapes))
    return err;

  // Shapes: fold what can be folded, infer what that makes knowable, and
  // again, until every shape is static (three rounds cover the exporters'
  // Shape -> Gather -> Concat -> Reshape chains; lowering names any value
  // that is still not static).
  std::string pipeline = "canonicalize";
  if (llvm::Error err = runPasses(module, "canonicalize", options.verifyEach))
    return err;
  for (int round = 0; round < 3 && !allStatic(module); ++round) {
    pipeline += ",infer-shapes,canonicalize";
    if (llvm::Error err =
            runPasses(module, "infer-shapes,canonicalize", options.verifyEach))
      return err;
  }
  const std::string prepare = runtimePreparationPipeline(options.fuse);
  pipeline += "," + prepare;
  if (llvm::Error err = runPasses(module, prepare, options.verifyEach))
    return err;
  result.pipeline = pipeline;

  LowerOptions lowerOptions = options.lower;
  lowerOptions.fuse = lowerOptions.fuse && options.fuse;
  auto bytes = lowerModule(module, lowerOptions, &result.report);
  if (!bytes)
    return bytes.takeError();
  result.bytes = std::move(*bytes);

  if (options.verifyWithRuntime) {
    sl_program *program = nullptr;
    sl_status status = sl_program_load(result.bytes.data(), result.bytes.size(),
                                       nullptr, &program);
    if (status != SL_OK)
      return makeError(std::string("the runtime's loader rejects the "
                                   "lowered program (") +
                       sl_status_name(status) +
                       "): " + sl_last_error_message());
    sl_program_destroy(program);
  }
  return result;
}

llvm::Expected<CompiledProgram> compileForOneSample(const Module &module) {
  std::unique_ptr<Module> copy = module.clone();
  CompileOptions options;
  for (const std::string &input : copy->graph.inputs) {
    TensorType type = copy->graph.getType(input);
    std::vector<int64_t> dims;
    if (type.dims)
      for (const Dim &d : *type.dims)
        dims.push_back(d.isKnown() ? d.size() : 1);
    options.inputShapes[input] = std::move(dims);
  }
  return compileForRuntime(*copy, options);
}

} // namespace sparseloom
