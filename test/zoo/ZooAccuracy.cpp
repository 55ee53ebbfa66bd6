//===- ZooAccuracy.cpp - The runtime reproduces the zoo's model cards -----===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// sparseloom-zoo-accuracy ZOO_DIR [--batch B] [--threads T]
//                                 [--kernels POLICY] [--tolerance PP]
//
// For every examples/zoo/<task>/card.json and every variant the card lists:
// compiles the variant for the runtime with the batch dimension bound to B
// (once per variant), runs the task's test split (test.inputs.npy) through
// it in batches (the last one padded with zeros, whose outputs are
// ignored), and takes the argmax of the logits as the prediction. The
// top-1 accuracy against test.labels.npy must equal the card's
// accuracy_test (measured by the zoo scripts with torch) within PP
// percentage points (default 0.2; one sample of the 406-sample kws split is
// 0.25 points, so the check allows no disagreement there and at most one
// prediction elsewhere).
//
// Prints one row per variant: card and runtime accuracy, the difference,
// the time per sample and the kernels the lowering chose. Exit status 1 when
// any variant is off or fails to compile or run.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/RunDriver/RunDriver.h"
#include "sparseloom/Support/Diagnostics.h"
#include "sparseloom/Support/FileIO.h"
#include "sparseloom/Tool/ModelLoader.h"

#include "ZooTestUtils.h"

#include "nlohmann/json.hpp"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

using namespace sparseloom;
using namespace sparseloom::run;

using zootest::join;

namespace {

constexpr const char *kTool = "sparseloom-zoo-accuracy";

struct Settings {
  std::string zooDir;
  int64_t batch = 100;
  unsigned threads = 2;
  KernelPolicy kernels = KernelPolicy::Auto;
  double tolerance = 0.2;
};

llvm::Expected<NpyArray> readArray(const std::string &path) {
  NpyArray array;
  std::string error;
  if (!runtime::readNpy(path, array, error))
    return llvm::make_error<DiagnosticError>(path, "", error);
  return array;
}

struct Evaluation {
  double accuracy = 0;
  double msPerSample = 0;
  std::string kernels;
};

/// Rows [begin, begin + batch) of `samples` (zero rows past its end).
void fillBatch(const NpyArray &samples, int64_t begin, NpyArray &batch) {
  size_t rowBytes = samples.data.size() / size_t(samples.shape[0]);
  int64_t rows = std::min<int64_t>(batch.shape[0], samples.shape[0] - begin);
  std::memcpy(batch.data.data(), samples.data.data() + begin * rowBytes,
              size_t(rows) * rowBytes);
  std::memset(batch.data.data() + rows * rowBytes, 0,
              batch.data.size() - size_t(rows) * rowBytes);
}

llvm::Expected<Evaluation> evaluate(const std::string &modelPath,
                                    const NpyArray &samples,
                                    const NpyArray &labels,
                                    const Settings &settings) {
  auto module = loadModel(modelPath);
  if (!module)
    return module.takeError();
  if ((*module)->graph.inputs.size() != 1 ||
      (*module)->graph.outputs.size() != 1)
    return llvm::make_error<DiagnosticError>(
        modelPath, "", "a zoo model has one input and one output (logits)");

  NpyArray batch;
  batch.dtype = samples.dtype;
  batch.shape = samples.shape;
  batch.shape[0] = settings.batch;
  batch.data.resize(samples.data.size() / size_t(samples.shape[0]) *
                    size_t(settings.batch));

  CompileSettings compile;
  compile.inputShapes[(*module)->graph.inputs[0]] = batch.shape;
  compile.kernels = settings.kernels;
  compile.threads = settings.threads;
  auto program = compileModule(**module, modelPath, compile);
  if (!program)
    return program.takeError();
  SequenceOptions options;
  options.threads = settings.threads;
  auto sequence = ProgramSequence::load({&*program}, options);
  if (!sequence)
    return sequence.takeError();

  const int64_t *truth = reinterpret_cast<const int64_t *>(labels.data.data());
  int64_t total = samples.shape[0], correct = 0;
  double seconds = 0;
  for (int64_t begin = 0; begin < total; begin += settings.batch) {
    fillBatch(samples, begin, batch);
    auto start = std::chrono::steady_clock::now();
    if (llvm::Error err = (*sequence)->run({&batch}))
      return err;
    seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    NpyArray logits = (*sequence)->output(0);
    if (logits.dtype != SL_DTYPE_FLOAT32 || logits.shape.size() != 2 ||
        logits.shape[0] != settings.batch)
      return llvm::make_error<DiagnosticError>(
          modelPath, "",
          "expected float32 logits [" + std::to_string(settings.batch) +
              ", classes], got " + describeArray(logits));
    int64_t classes = logits.shape[1];
    const float *v = logits.floats();
    for (int64_t r = 0; r < settings.batch && begin + r < total; ++r) {
      // First maximum, as torch.argmax and numpy.argmax pick.
      int64_t best = 0;
      for (int64_t c = 1; c < classes; ++c)
        if (v[r * classes + c] > v[r * classes + best])
          best = c;
      correct += best == truth[begin + r];
    }
  }
  Evaluation result;
  result.accuracy = 100.0 * double(correct) / double(total);
  result.msPerSample = 1e3 * seconds / double(total);
  result.kernels = program->report.kernelSummary();
  return result;
}

/// Checks one task; returns the number of problems.
int checkTask(const std::string &taskDir, const Settings &settings) {
  std::string task = llvm::sys::path::filename(taskDir).str();
  auto card = readFile(join(taskDir, "card.json"));
  auto samples = readArray(join(taskDir, "test.inputs.npy"));
  auto labels = readArray(join(taskDir, "test.labels.npy"));
  if (!card || !samples || !labels) {
    llvm::Error err = llvm::joinErrors(
        card ? llvm::Error::success() : card.takeError(),
        llvm::joinErrors(samples ? llvm::Error::success() : samples.takeError(),
                         labels ? llvm::Error::success() : labels.takeError()));
    reportError(kTool, std::move(err));
    return 1;
  }
  if (labels->dtype != SL_DTYPE_INT64 || samples->shape.empty() ||
      labels->shape != std::vector<int64_t>{samples->shape[0]}) {
    reportError(kTool, llvm::make_error<DiagnosticError>(
                           join(taskDir, "test.labels.npy"), "",
                           "expected int64 labels, one per test sample"));
    return 1;
  }
  nlohmann::json json = nlohmann::json::parse(*card, nullptr, false);
  if (json.is_discarded() || !json.contains("variants")) {
    reportError(kTool, llvm::make_error<DiagnosticError>(
                           join(taskDir, "card.json"), "",
                           "not a model card (no 'variants' list)"));
    return 1;
  }
  int problems = 0;
  for (const nlohmann::json &variant : json["variants"]) {
    std::string file = variant.at("file").get<std::string>();
    double expected = variant.at("accuracy_test").get<double>();
    auto eval = evaluate(join(taskDir, file), *samples, *labels, settings);
    if (!eval) {
      reportError(kTool, eval.takeError());
      ++problems;
      continue;
    }
    double diff = eval->accuracy - expected;
    if (std::fabs(diff) < 5e-3)
      diff = 0; // print +0.00, not -0.00 for a rounding residue
    bool ok = std::fabs(diff) <= settings.tolerance + 1e-9;
    problems += !ok;
    llvm::outs() << llvm::format("  %-7s %-22s %8.2f %8.2f %+7.2f %9.3f  %s  ",
                                 task.c_str(), file.c_str(), expected,
                                 eval->accuracy, diff, eval->msPerSample,
                                 ok ? (const char *)"ok  " : "OFF ")
                 << eval->kernels << "\n";
  }
  return problems;
}

} // namespace

int main(int argc, char **argv) {
  Settings settings;
  for (int i = 1; i < argc; ++i) {
    llvm::StringRef arg(argv[i]);
    bool hasValue = i + 1 < argc;
    if (arg == "--batch" && hasValue)
      settings.batch = std::max(1, std::atoi(argv[++i]));
    else if (arg == "--threads" && hasValue)
      settings.threads = unsigned(std::max(1, std::atoi(argv[++i])));
    else if (arg == "--tolerance" && hasValue)
      settings.tolerance = std::atof(argv[++i]);
    else if (arg == "--kernels" && hasValue) {
      auto policy = parseKernelPolicy(argv[++i]);
      if (!policy) {
        llvm::errs() << kTool << ": error: unknown --kernels value\n";
        return 2;
      }
      settings.kernels = *policy;
    } else if (!arg.startswith("-") && settings.zooDir.empty())
      settings.zooDir = arg.str();
    else {
      llvm::errs() << "usage: " << kTool
                   << " ZOO_DIR [--batch B] [--threads T] [--kernels POLICY] "
                      "[--tolerance PP]\n";
      return 2;
    }
  }
  if (settings.zooDir.empty()) {
    llvm::errs() << "usage: " << kTool << " ZOO_DIR ...\n";
    return 2;
  }

  std::vector<std::string> tasks = zootest::listZooTasks(settings.zooDir);
  if (tasks.empty()) {
    llvm::errs() << kTool << ": error: " << settings.zooDir
                 << ": no <task>/card.json found\n";
    return 2;
  }

  llvm::outs() << "Top-1 accuracy on each task's test split, runtime vs card "
                  "(batch "
               << settings.batch << ", threads " << settings.threads
               << ", kernels " << kernelPolicyName(settings.kernels)
               << ", tolerance " << llvm::format("%.2f", settings.tolerance)
               << " pp)\n";
  llvm::outs() << "  task    variant                    card  runtime    diff "
                  "ms/sample        kernels\n";
  int problems = 0;
  for (const std::string &task : tasks)
    problems += checkTask(task, settings);
  llvm::outs() << (problems ? "FAIL" : "PASS") << ": " << problems
               << " variant(s) off or failing\n";
  return problems ? 1 : 0;
}
