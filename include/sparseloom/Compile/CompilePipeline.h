//===- CompilePipeline.h - Manifest to bundle, stage by stage ---*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The main job of sparseloom-compile: every task of a manifest goes through
// import, align, boundaries, compat, stitch (split, profile accuracy,
// enumerate fronts), then all tasks together through select (one memory
// budget) and dedup/emit (one bundle). Each stage is named so the tool can
// stop after it (--compile-to) and report its time.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_COMPILE_COMPILEPIPELINE_H
#define SPARSELOOM_COMPILE_COMPILEPIPELINE_H

#include "sparseloom/Bundle/BundleWriter.h"
#include "sparseloom/IR/Family.h"
#include "sparseloom/Pass/PassManager.h"
#include "sparseloom/Tool/Manifest.h"

#include "llvm/Support/Error.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace sparseloom {

enum class CompileStage {
  Import,
  Align,
  Boundaries,
  Compat,
  Stitch,
  Select,
  Dedup,
  Emit
};

/// "import", "align", ...; and back (nullopt for an unknown name).
const char *compileStageName(CompileStage stage);
std::optional<CompileStage> parseCompileStage(llvm::StringRef name);
/// Every stage name, in order, comma-separated (for --help).
std::string compileStageList();

struct CompilePipelineOptions {
  CompileStage stopAfter = CompileStage::Emit;
  /// Runtime threads for measuring accuracy (-j), 0: the manifest's.
  unsigned threads = 0;
  PassManagerOptions passManager;
  /// Called when a stage starts and ends (progress display).
  std::function<void(CompileStage, const std::string &task, bool done,
                     double seconds)>
      progress;
};

struct StageTime {
  CompileStage stage;
  double seconds = 0;
};

struct CompileResult {
  std::vector<Family> families; // one per task, manifest order
  /// Filled from the select stage on.
  std::optional<BundleContents> contents;
  /// Filled from the dedup stage on.
  std::vector<uint8_t> bundle;
  BundleStats stats;
  std::vector<StageTime> times;
  /// Pass statistics, when asked for.
  std::string passStatistics;
};

/// Runs the stages up to options.stopAfter. Errors name the manifest,
/// the task and the file where there is one.
llvm::Expected<CompileResult>
runCompilePipeline(const Manifest &manifest,
                   const CompilePipelineOptions &options);

} // namespace sparseloom

#endif // SPARSELOOM_COMPILE_COMPILEPIPELINE_H
