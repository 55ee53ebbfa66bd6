//===- PassManager.h - Registry, pipelines and the pass manager -*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// A pipeline is text: "canonicalize,sparsity-analysis(min-elements=16)";
// the registry (PassRegistry.h) turns it into passes. The PassManager runs a
// pipeline over a module, optionally verifying and/or printing the IR after
// each pass, and collects statistics and timings. It runs either over one
// module (module passes only) or over a family of variants.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_PASS_PASSMANAGER_H
#define SPARSELOOM_PASS_PASSMANAGER_H

#include "sparseloom/IR/Family.h"
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
  /// Handed to every pass (Pass::reportProgress); may be empty.
  Pass::ProgressSink progress;
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
  /// suffixed with the pass name. Module pipelines only: a family pass
  /// (align-family, detect-boundaries, check-compat, split) fails here with
  /// an error saying so, as a lone module has no family state to fill.
  llvm::Error run(Module &module);

  /// Runs every pass over a family (Pass::runOnFamily): module passes run on
  /// every member, family passes see all members at once. --verify-each
  /// verifies every member and segment; --print-ir-after* prints the whole
  /// family (IR/FamilyPrinter.h), which for a family of one that no family
  /// pass touched is the module alone. Tools always use this entry point,
  /// with a family of one for a single model.
  llvm::Error run(Family &family);

  /// LLVM-style statistics report: every declared counter of every pass.
  void printStatistics(llvm::raw_ostream &os) const;

private:
  /// Verifies and prints after `pass` as the options ask.
  llvm::Error afterPass(const Pass &pass, Module *module, Family *family);

  PassManagerOptions options_;
  std::vector<std::unique_ptr<Pass>> passes_;
};

} // namespace sparseloom

#endif // SPARSELOOM_PASS_PASSMANAGER_H
