//===- main.cpp - sparseloom-opt: run passes over a model -----------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Reads a model (ONNX, ONNX text or SparseLoom IR text), runs a pass
// pipeline, and writes the result as IR text or ONNX. This is the tool lit
// tests drive, so every pass is reachable from here through the registry.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Export/OnnxExporter.h"
#include "sparseloom/IR/Printer.h"
#include "sparseloom/Pass/PassManager.h"
#include "sparseloom/Pass/PassRegistry.h"
#include "sparseloom/Support/Diagnostics.h"
#include "sparseloom/Support/FileIO.h"
#include "sparseloom/Tool/ModelLoader.h"

#include "CLI/CLI.hpp"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

using namespace sparseloom;

namespace {

constexpr const char *kTool = "sparseloom-opt";

struct OptOptions {
  std::string input;
  std::string output = "-";
  std::string pipeline;
  std::string emit = "ir";
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
          "Errors are printed as `sparseloom-opt: error: FILE: node NAME: "
          "message`.\n";
  return text;
}

/// Runs the pipeline on one loaded module and renders the requested output;
/// appends the statistics report to `stats` when --stats is given.
llvm::Expected<std::string> processModule(Module &module,
                                          const OptOptions &opts,
                                          PassManagerOptions pmOptions,
                                          std::string &stats) {
  auto passes = createPassPipeline(opts.pipeline);
  if (!passes)
    return passes.takeError();
  PassManager pm(std::move(pmOptions));
  for (auto &pass : *passes)
    pm.addPass(std::move(pass));
  if (llvm::Error err = pm.run(module))
    return err;
  if (opts.stats) {
    llvm::raw_string_ostream os(stats);
    pm.printStatistics(os);
  }
  if (opts.emit == "onnx")
    return exportOnnxBytes(module);
  PrintOptions print;
  print.elideWeightsAbove = opts.printWeights == "all" ? -1 : 16;
  return printModuleToString(module, print);
}

} // namespace

int main(int argc, char **argv) {
  OptOptions opts;
  CLI::App app{
      "sparseloom-opt: run SparseLoom passes over a model and print or "
      "export the result."};
  app.add_option("input", opts.input, "Model file (.onnx, .onnxtext or .slir)")
      ->required();
  app.add_option("-o,--output", opts.output, "Output file ('-' for stdout)");
  app.add_option(
      "--pass-pipeline", opts.pipeline,
      "Comma-separated passes, each optionally with (key=value,...)");
  app.add_option("--emit", opts.emit, "Output form: ir (text) or onnx (binary)")
      ->check(CLI::IsMember({"ir", "onnx"}));
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
  // A bad pipeline is reported before any input is read: it is not about
  // the input file.
  if (auto passes = createPassPipeline(opts.pipeline); !passes) {
    reportError(kTool, passes.takeError());
    return 1;
  }
  for (const std::string &name : opts.printAfter)
    if (!lookupPass(name)) {
      reportError(kTool,
                  makeError("--print-ir-after: unknown pass '" + name + "'"));
      return 1;
    }
  if (opts.emit == "onnx" && opts.splitInputFile) {
    reportError(kTool, makeError("--emit=onnx writes one model; it cannot be "
                                 "combined with --split-input-file"));
    return 1;
  }

  PassManagerOptions pmOptions;
  pmOptions.verifyEach = opts.verifyEach;
  pmOptions.printAfterAll = opts.printAfterAll;
  pmOptions.printAfter.insert(opts.printAfter.begin(), opts.printAfter.end());
  pmOptions.printOptions.elideWeightsAbove =
      opts.printWeights == "all" ? -1 : 16;

  // Load the input as one model, or as independent cases.
  std::vector<std::string> outputs;
  bool failed = false;
  // Statistics are printed after the output so they never interleave.
  std::string stats;
  auto handle = [&](llvm::Expected<std::unique_ptr<Module>> module) {
    if (!module) {
      reportError(kTool, module.takeError());
      failed = true;
      return;
    }
    auto out = processModule(**module, opts, pmOptions, stats);
    if (!out) {
      reportError(kTool, withFile(out.takeError(), opts.input));
      failed = true;
      return;
    }
    outputs.push_back(std::move(*out));
  };
  if (opts.splitInputFile) {
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
    for (const InputChunk &chunk : splitInputFile(*text))
      handle(loadModelFromText(chunk.text, format, opts.input, importOptions));
  } else {
    handle(loadModel(opts.input, importOptions));
  }

  std::string combined;
  for (size_t i = 0; i < outputs.size(); ++i)
    combined += (i ? "// -----\n" : "") + outputs[i];
  // Nothing is written when any case failed: no partial output files.
  if (failed && opts.output != "-")
    return 1;
  if (llvm::Error err = writeFileAtomically(opts.output, combined)) {
    reportError(kTool, std::move(err));
    return 1;
  }
  llvm::errs() << stats;
  return failed ? 1 : 0;
}
