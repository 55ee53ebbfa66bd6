//===- CompileDriver.cpp - The sparseloom-compile tool --------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// sparseloom-compile MANIFEST -o OUT: runs the pipeline (CompilePipeline.h)
// with a progress line per stage and task on stderr, then writes the output
// and prints a summary. OUT ending in `.loom` is the bundle file itself
// (its summary goes next to it as OUT.json); any other OUT is a bundle
// directory holding <name>.loom and summary.json (the layout DESIGN.md
// describes). --compile-to=STAGE stops early and prints the families' IR
// instead of writing a bundle. Nothing is written unless every stage
// succeeded; files are written through temporaries and renamed.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Compile/CompileDriver.h"

#include "sparseloom/Bundle/BundleAssembly.h"

#include "sparseloom/Compile/CompilePipeline.h"
#include "sparseloom/Compile/CompileSummary.h"
#include "sparseloom/Export/OnnxExporter.h"
#include "sparseloom/IR/FamilyPrinter.h"
#include "sparseloom/Stitch/Splitting.h"
#include "sparseloom/Support/Diagnostics.h"
#include "sparseloom/Support/FileIO.h"

#include "CLI/CLI.hpp"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>

namespace sparseloom {

namespace {

constexpr const char *kTool = "sparseloom-compile";

struct CompileToolOptions {
  std::string manifest;
  std::string output;
  std::string compileTo = "emit";
  std::string emitOnnxVariants;
  bool emitC = false;
  bool printAfterAll = false;
  bool stats = false;
  bool quiet = false;
  unsigned jobs = 0;
};

std::string humanBytes(double bytes) {
  char buffer[32];
  if (bytes >= 1024 * 1024)
    std::snprintf(buffer, sizeof(buffer), "%.2f MiB", bytes / 1048576.0);
  else if (bytes >= 1024)
    std::snprintf(buffer, sizeof(buffer), "%.1f KiB", bytes / 1024.0);
  else
    std::snprintf(buffer, sizeof(buffer), "%.0f B", bytes);
  return buffer;
}

/// The progress display on stderr: "[stage] task ... 1.23 s", one line per
/// stage and task. On a terminal, a long pass's count (profile-accuracy's
/// stitches) is redrawn in place on that line while the stage runs; in a
/// log the line stays as it was, without control characters.
class ProgressLine {
public:
  explicit ProgressLine(bool live) : live_(live) {}

  void stage(CompileStage stage, const std::string &task, bool done,
             double seconds) {
    if (!done) {
      prefix_ = "[" + std::string(compileStageName(stage)) + "]" +
                (task.empty() ? "" : " " + task) + " ...";
      llvm::errs() << prefix_;
      llvm::errs().flush();
      drawn_ = false;
      return;
    }
    char text[32];
    std::snprintf(text, sizeof(text), " %.2f s\n", seconds);
    if (drawn_)
      llvm::errs() << "\r\x1b[K" << prefix_;
    llvm::errs() << text;
    drawn_ = false;
  }

  void pass(llvm::StringRef pass, uint64_t done, uint64_t total) {
    if (!live_ || total == 0)
      return;
    // Redraw at most once per percent: a terminal is slow.
    uint64_t percent = done * 100 / total;
    if (drawn_ && percent == lastPercent_ && done != total)
      return;
    lastPercent_ = percent;
    llvm::errs() << "\r\x1b[K" << prefix_ << " " << pass << " " << done << "/"
                 << total;
    llvm::errs().flush();
    drawn_ = true;
  }

private:
  bool live_;
  bool drawn_ = false;
  uint64_t lastPercent_ = 0;
  std::string prefix_;
};

/// Every selected variant as a standalone ONNX model (checker-valid).
llvm::Expected<std::vector<DirectoryEntry>>
onnxVariants(const CompileResult &result) {
  std::vector<DirectoryEntry> files;
  for (size_t t = 0; t < result.families.size(); ++t) {
    const Family &family = result.families[t];
    const BundleContents::Task &task = result.contents->tasks[t];
    for (const BundleContents::Variant &variant : task.variants) {
      std::vector<unsigned> members(variant.sourceVariants.begin(),
                                    variant.sourceVariants.end());
      auto model = composeStitched(family, members);
      if (!model)
        return model.takeError();
      auto bytes = exportOnnxBytes(**model);
      if (!bytes)
        return bytes.takeError();
      files.push_back(
          {task.name + "." + variant.name + ".onnx", std::move(*bytes)});
    }
  }
  return files;
}

void printSummary(llvm::raw_ostream &os, const CompileResult &result,
                  const std::string &written) {
  size_t variantsIn = 0, variantsOut = 0;
  for (const Family &f : result.families)
    variantsIn += f.size();
  for (const BundleContents::Task &t : result.contents->tasks)
    variantsOut += t.variants.size();
  MemoryComparison memory = compareMemory(result);
  os << kTool << ": wrote " << written << "\n";
  os << "  tasks: " << result.families.size() << ", variants in: " << variantsIn
     << ", stitched variants out: " << variantsOut << "\n";
  for (const BundleContents::Task &t : result.contents->tasks) {
    os << "    " << t.name << ":";
    for (const BundleContents::Variant &v : t.variants) {
      char acc[32];
      std::snprintf(acc, sizeof(acc), "%.1f%%",
                    100 * (std::isnan(v.measuredAccuracy)
                               ? v.estimatedAccuracy
                               : v.measuredAccuracy));
      os << " " << v.name << " (" << acc << ")";
    }
    os << "\n";
  }
  os << "  bundle: " << humanBytes(double(memory.bundle))
     << "; originals stored separately: "
     << humanBytes(double(memory.originalsSeparately))
     << "; selected variants stored separately: "
     << humanBytes(double(memory.selectedSeparately)) << "\n";
  const BundleDedupStats &total = result.stats.total;
  os << "  sharing: " << total.programsBefore << " programs -> "
     << total.programsAfter << ", " << total.weightTensorsBefore
     << " weight tensors -> " << total.weightTensorsAfter << " ("
     << humanBytes(double(total.weightBytesBefore)) << " -> "
     << humanBytes(double(total.weightBytesAfter)) << ")\n";
  os << "  time:";
  for (const StageTime &t : result.times) {
    char seconds[32];
    std::snprintf(seconds, sizeof(seconds), "%.2f s", t.seconds);
    os << " " << compileStageName(t.stage) << " " << seconds;
  }
  os << "\n";
}

int run(const CompileToolOptions &opts) {
  auto stage = parseCompileStage(opts.compileTo);
  if (!stage) {
    reportError(kTool,
                makeError("--compile-to: unknown stage '" + opts.compileTo +
                          "' (one of " + compileStageList() + ")"));
    return 1;
  }
  bool writesBundle = *stage >= CompileStage::Dedup;
  if (writesBundle && opts.output.empty()) {
    reportError(kTool, makeError("give the output with -o app.bundle (a "
                                 "directory) or -o app.loom"));
    return 1;
  }
  auto manifest = loadManifest(opts.manifest);
  if (!manifest) {
    reportError(kTool, manifest.takeError());
    return 1;
  }
  CompilePipelineOptions options;
  options.stopAfter = *stage;
  options.threads = opts.jobs;
  options.passManager.printAfterAll = opts.printAfterAll;
  ProgressLine progress(llvm::errs().is_displayed());
  if (!opts.quiet) {
    options.progress = [&progress](CompileStage stage, const std::string &task,
                                   bool done, double seconds) {
      progress.stage(stage, task, done, seconds);
    };
    options.passManager.progress = [&progress](llvm::StringRef pass,
                                               uint64_t done, uint64_t total) {
      progress.pass(pass, done, total);
    };
  }
  auto result = runCompilePipeline(*manifest, options);
  if (!opts.quiet)
    llvm::errs() << (result ? "" : "\n");
  if (!result) {
    reportError(kTool, result.takeError());
    return 1;
  }
  if (opts.stats)
    llvm::errs() << result->passStatistics;

  if (!writesBundle) {
    // Stopped early: the IR of every family, for inspection and lit tests.
    std::string text;
    for (const Family &family : result->families)
      text += printFamilyToString(family, PrintOptions{});
    if (llvm::Error err = writeFileAtomically(
            opts.output.empty() ? "-" : opts.output, text)) {
      reportError(kTool, std::move(err));
      return 1;
    }
    return 0;
  }
  if (opts.stats)
    printBundleStats(llvm::errs(), result->stats);

  std::vector<DirectoryEntry> extra;
  if (!opts.emitOnnxVariants.empty()) {
    auto files = onnxVariants(*result);
    if (!files) {
      reportError(kTool, files.takeError());
      return 1;
    }
    extra = std::move(*files);
  }
  std::string summary = compileSummaryJson(*manifest, *result);
  auto written =
      writeBundleOutputs(opts.output, result->bundle, summary, opts.emitC);
  llvm::Error err = written ? llvm::Error::success() : written.takeError();
  if (!err && !extra.empty())
    err = writeDirectoryAtomically(opts.emitOnnxVariants, extra);
  if (err) {
    reportError(kTool, std::move(err));
    return 1;
  }
  if (!opts.quiet)
    printSummary(llvm::outs(), *result, written->described);
  return 0;
}

} // namespace

int runCompileTool(int argc, char **argv) {
  CompileToolOptions opts;
  CLI::App app{"sparseloom-compile: compile the sparse model families of an "
               "application (a JSON manifest, docs/Manifest.md) into one "
               "deployable bundle of stitched variants."};
  app.add_option("manifest", opts.manifest, "The manifest (JSON)")->required();
  app.add_option("-o,--output", opts.output,
                 "The bundle: a directory (app.bundle/ gets app.loom and "
                 "summary.json) or a .loom file (its summary goes to "
                 "FILE.loom.json); with --compile-to before dedup, where the "
                 "IR goes (default stdout)");
  app.add_option("--compile-to", opts.compileTo,
                 "Stop after this stage: " + compileStageList() +
                     " (before dedup: print the families' IR)");
  app.add_flag("--print-ir-after-all", opts.printAfterAll,
               "Print every family's IR to stderr after every pass");
  app.add_flag("--stats", opts.stats,
               "Print pass statistics and the bundle's sharing statistics to "
               "stderr");
  app.add_option("-j", opts.jobs,
                 "Threads for measuring accuracy (default: the manifest's "
                 "options.threads)")
      ->check(CLI::Range(1, 256));
  app.add_flag("--emit-c", opts.emitC,
               "Also write the bundle as C source + header (NAME.c, NAME.h "
               "next to the .loom) for firmware without a filesystem");
  app.add_option("--emit-onnx-variants", opts.emitOnnxVariants,
                 "Also write every selected stitched variant as a standalone "
                 "ONNX model into this directory (<task>.<variant>.onnx)");
  app.add_flag("-q,--quiet", opts.quiet, "No progress and no summary");
  app.footer(
      "\nStages: import (load every variant), align, boundaries, "
      "compat, stitch (split, measure accuracy, Pareto fronts), select "
      "(one memory budget for all tasks), dedup (build the bundle), "
      "emit (write it).\nErrors are printed as `sparseloom-compile: "
      "error: FILE: message`; nothing is written when a stage fails.\n"
      "Docs: docs/UserGuide.md, docs/Manifest.md, docs/BundleFormat.md.");
  CLI11_PARSE(app, argc, argv);
  return run(opts);
}

} // namespace sparseloom
