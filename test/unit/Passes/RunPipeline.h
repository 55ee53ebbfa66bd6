//===- RunPipeline.h - Running a pipeline in pass unit tests ----*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Shared by the pass tests: runs a pipeline through the registry (as the
// tools do), records any failure as a test failure, checks the result with
// the verifier, and returns the statistics merged over all passes.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_TEST_PASSES_RUNPIPELINE_H
#define SPARSELOOM_TEST_PASSES_RUNPIPELINE_H

#include "sparseloom/IR/Verifier.h"
#include "sparseloom/Pass/PassRegistry.h"

#include "gtest/gtest.h"

#include <map>
#include <string>

namespace sparseloom {

inline std::map<std::string, int64_t> runPipeline(Module &module,
                                                  llvm::StringRef pipeline) {
  std::map<std::string, int64_t> stats;
  auto passes = createPassPipeline(pipeline);
  if (!passes) {
    ADD_FAILURE() << llvm::toString(passes.takeError());
    return stats;
  }
  for (auto &pass : *passes) {
    if (llvm::Error err = pass->run(module)) {
      ADD_FAILURE() << llvm::toString(std::move(err));
      return stats;
    }
    for (const auto &entry : pass->statistics().counts())
      stats[entry.first] += entry.second;
  }
  if (llvm::Error err = verify(module))
    ADD_FAILURE() << "verifier: " << llvm::toString(std::move(err));
  return stats;
}

} // namespace sparseloom

#endif // SPARSELOOM_TEST_PASSES_RUNPIPELINE_H
