//===- Pipeline.h - From an imported model to a runtime program -*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The one function tools call to turn a model into a runtime program:
//
//   bind input shapes -> canonicalize -> infer-shapes (until every shape is
//   static) -> fuse-layernorm -> fuse-gelu -> fuse-activation ->
//   sparsity-analysis -> lowerModule -> load the blob with the runtime's
//   loader (a program the runtime would reject is a compile-time error).
//
// The module is rewritten in place by the passes (callers that need the
// original keep a clone).
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_LOWER_PIPELINE_H
#define SPARSELOOM_LOWER_PIPELINE_H

#include "sparseloom/IR/Module.h"
#include "sparseloom/Lower/Lower.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sparseloom {

struct CompileOptions {
  /// Static shapes for graph inputs (e.g. the batch): input name -> dims.
  /// Inputs whose shapes the model already fixes need no entry.
  std::map<std::string, std::vector<int64_t>> inputShapes;
  LowerOptions lower;
  /// Run the fusion passes (LayerNormalization, Gelu, activations).
  bool fuse = true;
  /// Verify the IR after every pass (slower; for debugging).
  bool verifyEach = false;
  /// Load the finished blob with the runtime's loader, so that a program it
  /// would reject fails here, naming the op.
  bool verifyWithRuntime = true;
};

struct CompiledProgram {
  std::vector<uint8_t> bytes;
  LoweringReport report;
  /// The pass pipeline that ran before lowering (for reports).
  std::string pipeline;
};

/// The passes compileForRuntime runs once shapes are static.
std::string runtimePreparationPipeline(bool fuse);

/// Binds `shapes` to graph inputs (types only; run infer-shapes after).
/// Fails naming the input when it does not exist or the shape contradicts a
/// known dimension or rank.
llvm::Error
bindInputShapes(Module &module,
                const std::map<std::string, std::vector<int64_t>> &shapes);

/// Runs the whole pipeline on `module` (rewritten in place) and lowers it.
llvm::Expected<CompiledProgram>
compileForRuntime(Module &module, const CompileOptions &options = {});

/// compileForRuntime for one request: every dimension the model leaves open
/// (the batch) is bound to 1. What a bundle ships for each subgraph.
llvm::Expected<CompiledProgram> compileForOneSample(const Module &module);

} // namespace sparseloom

#endif // SPARSELOOM_LOWER_PIPELINE_H
