//===- OptDriver.cpp - The sparseloom-opt tool ----------------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Reads a model (ONNX, ONNX text or SparseLoom IR text), or with --family
// every variant of one task, runs a pass pipeline, and writes the result.
// This is the tool lit tests drive, so every pass is reachable from here
// through the registry.
//
// Every input is a Family: a single model is a family of one, and a family
// of one that no family pass touched prints and exports as its module, so
// module pipelines behave exactly as they did before families existed.
// Outputs are decided before anything is written and written atomically:
// a failing run leaves no partial file or directory.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Tool/OptDriver.h"

#include "sparseloom/Export/DotExporter.h"
#include "sparseloom/Export/OnnxExporter.h"
#include "sparseloom/IR/FamilyPrinter.h"
#include "sparseloom/Pass/PassManager.h"
#include "sparseloom/Pass/PassRegistry.h"
#include "sparseloom/Space/FrontPlot.h"
#include "sparseloom/Stitch/FamilyReport.h"
#include "sparseloom/Support/Diagnostics.h"
#include "sparseloom/Support/FileIO.h"
#include "sparseloom/Tool/FamilyLoader.h"
#include "sparseloom/Tool/ModelLoader.h"

#include "CLI/CLI.hpp"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace sparseloom {

namespace {

constexpr const char *kTool = "sparseloom-opt";

struct OptOptions {
  std::string input;
  std::vector<std::string> family;
  std::string task;
  std::string output = "-";
  std::string pipeline;
  std::string emit = "ir";
  std::string report;
  std::string plot;
  std::string printWeights = "summary";
  std::vector<std::string> printAfter;
  std::vector<std::string> inputShapes;
  std::string debugOnly;
  bool printAfterAll = false;
  bool stats = false;
  bool verifyEach = false;
  bool splitInputFile = false;
};

std::string passListFooter() {
  std::string text =
      "\nPasses (use with --pass-pipeline=NAME(option=value,...)):\n";
  for (const PassInfo *info : allPasses()) {
    text +=
        "  " + info->name +
        std::string(info->name.size() < 22 ? 22 - info->name.size() : 1, ' ') +
        info->summary + "\n";
    for (const PassOptionInfo &opt : info->options)
      text += "      " + opt.name + "=" +
              (opt.defaultValue.empty() ? "..." : opt.defaultValue) + "  " +
              opt.description + "\n";
  }
  text += "\nInputs: .onnx (binary), .onnxtext (ONNX text syntax), .slir "
          "(SparseLoom IR text).\n"
          "Families: --family a.onnx,b.onnx,... loads the variants of one "
          "task; the first is\nthe reference. <task>.<variant>.onnx names "
          "them (docs/Stitching.md).\n"
          "Errors are printed as `sparseloom-opt: error: FILE: node NAME: "
          "message`.\n";
  return text;
}

/// What one family produces; nothing is written until every family of the
/// run succeeded.
struct FamilyResult {
  std::string text;            // --emit=ir / onnx (one model)
  bool writesSegments = false; // --emit=onnx with split: a directory
  std::string report;          // --report
  std::string plot;            // --plot
};

/// Runs the pipeline over one family and renders the requested outputs;
/// appends the statistics report to `stats` when --stats is given.
llvm::Expected<FamilyResult> processFamily(Family &family,
                                           const OptOptions &opts,
                                           PassManagerOptions pmOptions,
                                           std::string &stats) {
  auto passes = createPassPipeline(opts.pipeline);
  if (!passes)
    return passes.takeError();
  PassManager pm(std::move(pmOptions));
  for (auto &pass : *passes)
    pm.addPass(std::move(pass));
  if (llvm::Error err = pm.run(family))
    return err;
  if (opts.stats) {
    llvm::raw_string_ostream os(stats);
    pm.printStatistics(os);
  }

  FamilyResult result;
  if (!opts.report.empty()) {
    auto report = familyReportJson(family);
    if (!report)
      return report.takeError();
    result.report = std::move(*report);
  }
  if (!opts.plot.empty()) {
    auto svg = renderFamilyFrontSvg(family);
    if (!svg)
      return svg.takeError();
    result.plot = std::move(*svg);
  }
  PrintOptions print;
  print.elideWeightsAbove = opts.printWeights == "all" ? -1 : 16;
  if (opts.emit == "onnx") {
    if (family.state.segments) {
      result.writesSegments = true;
    } else if (family.size() == 1) {
      auto bytes = exportOnnxBytes(family.reference());
      if (!bytes)
        return bytes.takeError();
      result.text = std::move(*bytes);
    } else {
      return makeError("--emit=onnx for a family writes its segments: add "
                       "split to the pipeline (e.g. --pass-pipeline="
                       "align-family,detect-boundaries,split)");
    }
  } else if (opts.emit == "dot") {
    // The reference carries detect-boundaries' annotations for the family,
    // and one picture per family is what docs and people want.
    DotOptions dot;
    dot.title = family.task + "." + family.members.front().variant;
    llvm::raw_string_ostream os(result.text);
    if (llvm::Error err = exportDot(family.reference(), os, dot))
      return err;
    os.flush();
  } else {
    result.text = printFamilyToString(family, print);
  }
  return result;
}

/// Checks option combinations before any input is read: such errors are
/// not about an input file.
llvm::Error checkOptions(const OptOptions &opts) {
  if (opts.input.empty() == opts.family.empty())
    return makeError(opts.input.empty()
                         ? "no input: give a model file, or --family with "
                           "the variants of one task"
                         : "give either a model file or --family, not both");
  if (!opts.task.empty() && opts.family.empty())
    return makeError("--task names a family's task; it needs --family");
  if (opts.splitInputFile && !opts.family.empty())
    return makeError("--split-input-file reads cases from one text file; it "
                     "cannot be combined with --family");
  if (opts.emit == "onnx" && opts.splitInputFile)
    return makeError("--emit=onnx writes one model; it cannot be "
                     "combined with --split-input-file");
  if (!opts.report.empty() && opts.splitInputFile)
    return makeError("--report describes one family; it cannot be combined "
                     "with --split-input-file");
  if (!opts.plot.empty() && opts.splitInputFile)
    return makeError("--plot describes one family; it cannot be combined "
                     "with --split-input-file");
  if (!opts.plot.empty() &&
      (opts.plot == opts.output || opts.plot == opts.report))
    return makeError("--plot names the same file as -o or --report");
  if (!opts.report.empty() && opts.report == opts.output)
    return makeError("--report and -o name the same file '" + opts.report +
                     "'");
  // A bad pipeline is reported before any input is read.
  if (auto passes = createPassPipeline(opts.pipeline); !passes)
    return passes.takeError();
  for (const std::string &name : opts.printAfter)
    if (!lookupPass(name))
      return makeError("--print-ir-after: unknown pass '" + name + "'");
  return llvm::Error::success();
}

} // namespace

int runOptTool(int argc, char **argv) {
  OptOptions opts;
  CLI::App app{
      "sparseloom-opt: run SparseLoom passes over a model, or over a family "
      "of variants, and print or export the result."};
  app.add_option("input", opts.input,
                 "Model file (.onnx, .onnxtext or .slir); omit with --family");
  app.add_option("--family", opts.family,
                 "The variants of one task, comma-separated, the reference "
                 "(dense) first: a.onnx,b.onnx,...")
      ->delimiter(',');
  app.add_option("--task", opts.task,
                 "Task name of the family (default: from the first file name)");
  app.add_option("-o,--output", opts.output,
                 "Output file ('-' for stdout); a directory for the segments "
                 "of --emit=onnx after split");
  app.add_option(
      "--pass-pipeline", opts.pipeline,
      "Comma-separated passes, each optionally with (key=value,...)");
  app.add_option("--emit", opts.emit,
                 "Output form: ir (text), onnx (binary; after split, every "
                 "segment as DIR/<task>.<variant>.seg<i>.onnx) or dot "
                 "(Graphviz of the reference model with its boundaries)")
      ->check(CLI::IsMember({"ir", "onnx", "dot"}));
  app.add_option("--report", opts.report,
                 "Write the family's JSON report (boundaries, segment costs, "
                 "compatibility; with the stitch-space passes: measured and "
                 "estimated accuracy, fronts, selection) to this file");
  app.add_option("--plot", opts.plot,
                 "After enumerate-stitches: write the accuracy-versus-latency "
                 "plot (SVG) of the originals, the front and the selection");
  app.add_option("--print-weights", opts.printWeights,
                 "summary: tensors over 16 elements print as elided summaries; "
                 "all: print every value (lossless)")
      ->check(CLI::IsMember({"summary", "all"}));
  app.add_flag("--print-ir-after-all", opts.printAfterAll,
               "Print the IR to stderr after every pass");
  app.add_option("--print-ir-after", opts.printAfter,
                 "Print the IR to stderr after the named pass (repeatable)");
  app.add_flag("--stats", opts.stats, "Print pass statistics to stderr");
  app.add_flag("--verify-each", opts.verifyEach,
               "Verify the IR after every pass");
  app.add_option("--debug-only", opts.debugOnly,
                 "Debug output of the named passes (comma-separated)");
  app.add_option("--input-shape", opts.inputShapes,
                 "Bind an input's shape, NAME=d0,d1,... (repeatable); shape "
                 "inference runs again");
  app.add_flag("--split-input-file", opts.splitInputFile,
               "Treat each `// -----` (or `# -----`) separated part of a text "
               "input as its own model");
  app.footer(passListFooter());
  CLI11_PARSE(app, argc, argv);

  ImportOptions importOptions;
  for (const std::string &spec : opts.inputShapes)
    if (llvm::Error err =
            parseInputShapeBinding(spec, importOptions.inputShapes)) {
      reportError(kTool, std::move(err));
      return 1;
    }
  if (!opts.debugOnly.empty())
    setDebugOnly(opts.debugOnly);
  if (llvm::Error err = checkOptions(opts)) {
    reportError(kTool, std::move(err));
    return 1;
  }

  PassManagerOptions pmOptions;
  pmOptions.verifyEach = opts.verifyEach;
  pmOptions.printAfterAll = opts.printAfterAll;
  pmOptions.printAfter.insert(opts.printAfter.begin(), opts.printAfter.end());
  pmOptions.printOptions.elideWeightsAbove =
      opts.printWeights == "all" ? -1 : 16;

  // Load the input as one family, or as independent cases.
  std::vector<Family> families;
  std::vector<std::string> outputs;
  Family *segmentsOf = nullptr;
  std::string report;
  std::string plot;
  bool failed = false;
  // Statistics are printed after the output so they never interleave.
  std::string stats;
  auto handle = [&](llvm::Expected<Family> family) {
    if (!family) {
      reportError(kTool, family.takeError());
      failed = true;
      return;
    }
    families.push_back(std::move(*family));
    Family &f = families.back();
    auto out = processFamily(f, opts, pmOptions, stats);
    if (!out) {
      reportError(kTool, withFile(out.takeError(), f.members.front().file));
      failed = true;
      return;
    }
    if (out->writesSegments)
      segmentsOf = &f;
    else
      outputs.push_back(std::move(out->text));
    report = std::move(out->report);
    plot = std::move(out->plot);
  };
  auto single = [&](llvm::Expected<std::unique_ptr<Module>> module)
      -> llvm::Expected<Family> {
    if (!module)
      return module.takeError();
    return familyOfOne(std::move(*module), opts.input);
  };
  if (!opts.family.empty()) {
    handle(loadFamily(opts.family, opts.task, importOptions));
  } else if (opts.splitInputFile) {
    auto text = readFile(opts.input);
    if (!text) {
      reportError(kTool, text.takeError());
      return 1;
    }
    InputFormat format = inputFormatFor(opts.input);
    if (format == InputFormat::OnnxBinary) {
      reportError(kTool, withFile(makeError("--split-input-file needs a text "
                                            "input (.onnxtext or .slir)"),
                                  opts.input));
      return 1;
    }
    // Families are kept until the end (segments are written last), so
    // reserve: handle() keeps pointers into the vector.
    std::vector<InputChunk> chunks = splitInputFile(*text);
    families.reserve(chunks.size());
    for (const InputChunk &chunk : chunks)
      handle(single(
          loadModelFromText(chunk.text, format, opts.input, importOptions)));
  } else {
    handle(single(loadModel(opts.input, importOptions)));
  }

  // Nothing is written when any case failed: no partial output files.
  if (failed && opts.output != "-")
    return 1;
  if (segmentsOf) {
    if (llvm::Error err = writeFamilySegments(*segmentsOf, opts.output)) {
      reportError(kTool, std::move(err));
      return 1;
    }
  } else {
    std::string combined;
    for (size_t i = 0; i < outputs.size(); ++i)
      combined += (i ? "// -----\n" : "") + outputs[i];
    if (llvm::Error err = writeFileAtomically(opts.output, combined)) {
      reportError(kTool, std::move(err));
      return 1;
    }
  }
  if (!failed && !opts.report.empty())
    if (llvm::Error err = writeFileAtomically(opts.report, report)) {
      reportError(kTool, std::move(err));
      return 1;
    }
  if (!failed && !opts.plot.empty())
    if (llvm::Error err = writeFileAtomically(opts.plot, plot)) {
      reportError(kTool, std::move(err));
      return 1;
    }
  llvm::errs() << stats;
  return failed ? 1 : 0;
}

} // namespace sparseloom
