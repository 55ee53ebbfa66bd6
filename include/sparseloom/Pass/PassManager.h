//===- PassManager.h - Registry, pipelines and the pass manager -*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// A pipeline is text: "canonicalize,sparsity-analysis(min-elements=16)";
// the registry (PassRegistry.h) turns it into passes. The PassManager runs a
// pipeline over a module, optionally verifying and/or printing the IR after
// each pass, and collects statistics and timings.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_PASS_PASSMANAGER_H
#define SPARSELOOM_PASS_PASSMANAGER_H

#include "sparseloom/IR/Printer.h"
#include "sparseloom/Pass/Pass.h"

#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <set>
#include <string>
#include <vector>

namespace sparseloom {

/// One element of a pipeline string: a pass name and its options.
struct PipelineElement {
  std::string passName;
  PassOptions options;
};

/// Splits "a,b(k=1,j=x),c" into elements. Empty text → no elements.
llvm::Expected<std::vector<PipelineElement>>
parsePipelineText(llvm::StringRef pipeline);

struct PassManagerOptions {
  bool verifyEach = false;
  bool printAfterAll = false;
  std::set<std::string> printAfter; // pass names
  PrintOptions printOptions;
  /// Where --print-ir-after* output goes.
  llvm::raw_ostream *irDump = &llvm::errs();
};

class PassManager {
public:
  explicit PassManager(PassManagerOptions options = {})
      : options_(std::move(options)) {}

  void addPass(std::unique_ptr<Pass> pass) {
    passes_.push_back(std::move(pass));
  }
  const std::vector<std::unique_ptr<Pass>> &passes() const { return passes_; }

  /// Runs every pass in order; stops at the first failure, whose message is
  /// prefixed with the pass name when the pass did not name a node.
  llvm::Error run(Module &module);

  /// LLVM-style statistics report: every declared counter of every pass.
  void printStatistics(llvm::raw_ostream &os) const;

private:
  PassManagerOptions options_;
  std::vector<std::unique_ptr<Pass>> passes_;
};

} // namespace sparseloom

#endif // SPARSELOOM_PASS_PASSMANAGER_H
