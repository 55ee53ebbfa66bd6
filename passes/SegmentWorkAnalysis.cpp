//===- SegmentWorkAnalysis.cpp - A segment's work, sparsity included ------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//

#include "SegmentWorkAnalysis.h"

#include "sparseloom/Pass/PassManager.h"
#include "sparseloom/Pass/PassRegistry.h"

namespace sparseloom {

llvm::Expected<SegmentWork> analyzeSegmentWork(const Module &segment) {
  std::unique_ptr<Module> copy = segment.clone();
  auto analysis = createPassPipeline("sparsity-analysis");
  if (!analysis)
    return analysis.takeError();
  PassManager pm;
  for (auto &pass : *analysis)
    pm.addPass(std::move(pass));
  if (llvm::Error err = pm.run(*copy))
    return std::move(err);
  return describeSegment(*copy);
}

} // namespace sparseloom
