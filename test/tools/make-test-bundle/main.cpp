//===- main.cpp - sparseloom-make-test-bundle: bundles for lit tests ------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// A test-only tool: writes a bundle from ONNX files so the lit tests of
// sparseloom-dump have real bundles to read, before sparseloom-compile
// writes them itself. Each `TASK=A.onnx,B.onnx,...` argument is one task;
// every file is one source variant, compiled whole (batch --batch) into one
// program, and one single-segment variant. The figures the compiler will
// compute are stand-ins here, deterministic so tests can check them:
//   accuracy  the card's accuracy_test (card.json next to the model), as a
//             fraction, estimated and measured; 0 and NaN without a card;
//   latency   processor "cpu": program bytes at its bandwidth plus its
//             invocation overhead; with --npu also "npu", where nothing runs
//             (+inf);
//   SLO       --deadline-ms and --floor for every task.
// Naming one file twice gives two identical programs, which the writer
// stores once (what the dedup lit test checks).
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Bundle/BundleWriter.h"
#include "sparseloom/RunDriver/RunDriver.h"
#include "sparseloom/Support/Diagnostics.h"
#include "sparseloom/Support/FileIO.h"
#include "sparseloom/Tool/ModelLoader.h"

#include "CLI/CLI.hpp"
#include "nlohmann/json.hpp"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <limits>

using namespace sparseloom;

namespace {

constexpr const char *kTool = "sparseloom-make-test-bundle";

struct Request {
  std::string output;
  std::vector<std::string> tasks;
  int64_t batch = 1;
  double deadlineMs = 10;
  double floor = 0.5;
  bool noDedup = false;
  bool stats = false;
  bool npu = false;
  std::string cSymbol;
};

/// accuracy_test / 100 of `file` in the card next to it, or NaN.
double cardAccuracy(llvm::StringRef path) {
  llvm::SmallString<256> card = llvm::sys::path::parent_path(path);
  llvm::sys::path::append(card, "card.json");
  auto text = readFile(card);
  if (!text) {
    llvm::consumeError(text.takeError());
    return std::nan("");
  }
  nlohmann::json json = nlohmann::json::parse(*text, nullptr, false);
  if (json.is_discarded() || !json.contains("variants"))
    return std::nan("");
  std::string file = llvm::sys::path::filename(path).str();
  for (const nlohmann::json &v : json["variants"])
    if (v.value("file", "") == file && v.contains("accuracy_test"))
      return v["accuracy_test"].get<double>() / 100;
  return std::nan("");
}

BundleContents::Tensor tensorOf(const sl_tensor_info &info) {
  BundleContents::Tensor t;
  t.name = info.name;
  t.dtype = format::DType(info.dtype);
  t.dims.assign(info.dims, info.dims + info.rank);
  return t;
}

/// Adds task `spec` ("NAME=A.onnx,B.onnx") to `contents`.
llvm::Error addTask(const std::string &spec, const Request &request,
                    BundleContents &contents) {
  llvm::StringRef name, files;
  std::tie(name, files) = llvm::StringRef(spec).split('=');
  if (name.empty() || files.empty())
    return makeError("'" + spec + "': expected TASK=MODEL.onnx[,MODEL...]");
  BundleContents::Task task;
  task.name = name.str();
  task.latencyDeadlineMs = request.deadlineMs;
  task.accuracyFloor = request.floor;
  task.requestRateHz = 10;
  llvm::SmallVector<llvm::StringRef, 8> paths;
  files.split(paths, ',');
  const BundleContents::Processor &cpu = contents.processors[0];
  for (llvm::StringRef path : paths) {
    auto module = loadModel(path);
    if (!module)
      return module.takeError();
    run::CompileSettings settings;
    for (const std::string &input : (*module)->graph.inputs) {
      std::vector<int64_t> dims;
      TensorType type = (*module)->graph.getType(input);
      if (!type.hasRank())
        return withFile(makeError("input '" + input + "' has no known rank"),
                        path);
      for (const Dim &d : *type.dims)
        dims.push_back(d.isKnown() ? d.size() : request.batch);
      settings.inputShapes[input] = dims;
    }
    auto compiled = run::compileModule(**module, path, settings);
    if (!compiled)
      return compiled.takeError();
    runtime::Program program;
    runtime::Status s = runtime::Program::load(compiled->blob.data(),
                                               compiled->blob.size(), program);
    if (!s)
      return withFile(makeError(s.message()), path);
    if (task.inputs.empty()) {
      for (size_t i = 0; i < program.inputCount(); ++i)
        task.inputs.push_back(tensorOf(program.inputInfo(i)));
      for (size_t i = 0; i < program.outputCount(); ++i)
        task.outputs.push_back(tensorOf(program.outputInfo(i)));
      if (!task.outputs.empty() && !task.outputs[0].dims.empty())
        task.numClasses = uint32_t(task.outputs[0].dims.back());
    }
    llvm::StringRef stem = llvm::sys::path::stem(path);
    stem.consume_front(task.name + ".");
    uint32_t index = uint32_t(task.sourceVariants.size());
    task.sourceVariants.push_back(stem.str());

    BundleContents::Variant variant;
    variant.id = index;
    variant.name = stem.str();
    variant.programs = {uint32_t(contents.programs.size())};
    variant.sourceVariants = {index};
    double accuracy = cardAccuracy(path);
    variant.estimatedAccuracy = std::isnan(accuracy) ? 0 : accuracy;
    variant.measuredAccuracy = accuracy;
    uint64_t bytes = compiled->blob.size() + program.memory().arena_bytes;
    variant.memoryBytes = bytes;
    variant.latencyMs = {double(bytes) / (cpu.memoryGBps * 1e6) +
                         cpu.invocationOverheadMs};
    // The modeled NPU runs nothing (e.g. an op it lacks).
    variant.latencyMs.resize(contents.processors.size(),
                             std::numeric_limits<double>::infinity());
    task.variants.push_back(variant);
    contents.programs.push_back(
        {task.name + "." + stem.str(), std::move(compiled->blob)});
  }
  contents.tasks.push_back(std::move(task));
  return llvm::Error::success();
}

llvm::Error makeBundle(const Request &request) {
  BundleContents contents;
  BundleContents::Processor cpu;
  cpu.id = "cpu";
  cpu.threads = 1;
  cpu.denseGflops = 20;
  cpu.memoryGBps = 10;
  cpu.invocationOverheadMs = 0.01;
  cpu.memoryCapacityBytes = uint64_t(512) << 20;
  contents.processors.push_back(cpu);
  if (request.npu) {
    BundleContents::Processor npu;
    npu.id = "npu";
    npu.kind = format::ProcessorKind::Npu;
    npu.denseGflops = 400;
    npu.memoryGBps = 25;
    npu.invocationOverheadMs = 0.3;
    contents.processors.push_back(npu);
  }
  for (const std::string &spec : request.tasks)
    if (llvm::Error err = addTask(spec, request, contents))
      return err;
  BundleWriteOptions options;
  options.dedup = !request.noDedup;
  BundleStats stats;
  auto bytes = buildBundle(contents, options, &stats);
  if (!bytes)
    return withFile(bytes.takeError(), request.output);
  if (llvm::Error err = writeBundleFile(request.output, *bytes))
    return err;
  if (!request.cSymbol.empty()) {
    llvm::SmallString<256> base(request.output);
    llvm::sys::path::replace_extension(base, "");
    if (llvm::Error err = writeBundleAsC(
            *bytes, request.cSymbol, (base + ".c").str(), (base + ".h").str()))
      return err;
  }
  if (request.stats)
    printBundleStats(llvm::outs(), stats);
  return llvm::Error::success();
}

} // namespace

int main(int argc, char **argv) {
  Request request;
  CLI::App app{"sparseloom-make-test-bundle: a bundle from ONNX files, one "
               "single-segment variant per file (for tests)."};
  app.add_option("tasks", request.tasks,
                 "TASK=MODEL.onnx[,MODEL.onnx...]: one task, one variant per "
                 "model")
      ->required();
  app.add_option("-o,--output", request.output, "The bundle to write")
      ->required();
  app.add_option("--batch", request.batch,
                 "Batch size bound to symbolic dimensions (default 1)")
      ->check(CLI::Range(int64_t(1), int64_t(4096)));
  app.add_option("--deadline-ms", request.deadlineMs,
                 "Every task's default latency deadline (default 10)");
  app.add_option("--floor", request.floor,
                 "Every task's default accuracy floor (default 0.5)");
  app.add_flag("--no-dedup", request.noDedup,
               "Store every tensor and program as often as it occurs");
  app.add_flag("--stats", request.stats, "Print the deduplication figures");
  app.add_flag("--npu", request.npu,
               "Add a modeled processor \"npu\" on which no variant runs");
  app.add_option("--emit-c", request.cSymbol,
                 "Also write OUTPUT.c/.h defining the bytes as SYMBOL");
  CLI11_PARSE(app, argc, argv);
  if (llvm::Error err = makeBundle(request)) {
    reportError(kTool, std::move(err));
    return 1;
  }
  return 0;
}
