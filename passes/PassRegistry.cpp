//===- PassRegistry.cpp - The list of every pass --------------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The one place that lists the passes. Adding a pass: write passes/NAME.cpp
// defining its PassInfo accessor, declare it in Passes.h, add it here and to
// CMakeLists.txt (docs/AddingAPass.md).
//
//===----------------------------------------------------------------------===//

#include "Passes.h"

#include "sparseloom/Pass/PassManager.h"
#include "sparseloom/Pass/PassRegistry.h"
#include "sparseloom/Support/Diagnostics.h"

#include <algorithm>

namespace sparseloom {

const std::vector<const PassInfo *> &allPasses() {
  static const std::vector<const PassInfo *> passes = [] {
    std::vector<const PassInfo *> list = {
        &alignFamilyPassInfo(),      &canonicalizePassInfo(),
        &checkCompatPassInfo(),      &dedupPassInfo(),
        &detectBoundariesPassInfo(), &inferShapesPassInfo(),
        &sparsityAnalysisPassInfo(), &splitPassInfo(),
        &fuseActivationPassInfo(),   &fuseGeluPassInfo(),
        &fuseLayerNormPassInfo(),    &lowerReportPassInfo(),
        &profileAccuracyPassInfo(),  &enumerateStitchesPassInfo(),
        &selectVariantsPassInfo(),   &encodeWeightsPassInfo(),
        &emitBundlePassInfo(),
    };
    std::sort(
        list.begin(), list.end(),
        [](const PassInfo *a, const PassInfo *b) { return a->name < b->name; });
    return list;
  }();
  return passes;
}

const PassInfo *lookupPass(llvm::StringRef name) {
  for (const PassInfo *info : allPasses())
    if (info->name == name)
      return info;
  return nullptr;
}

llvm::Expected<std::vector<std::unique_ptr<Pass>>>
createPassPipeline(llvm::StringRef pipeline) {
  auto elements = parsePipelineText(pipeline);
  if (!elements)
    return elements.takeError();
  std::vector<std::unique_ptr<Pass>> passes;
  for (const PipelineElement &element : *elements) {
    const PassInfo *info = lookupPass(element.passName);
    if (!info) {
      std::string known;
      for (const PassInfo *p : allPasses())
        known += (known.empty() ? "" : ", ") + p->name;
      return makeError("unknown pass '" + element.passName +
                       "' (known passes: " + known + ")");
    }
    if (llvm::Error err = checkKnownOptions(*info, element.options))
      return err;
    auto pass = info->create(element.options);
    if (!pass)
      return pass.takeError();
    passes.push_back(std::move(*pass));
  }
  return passes;
}

} // namespace sparseloom
