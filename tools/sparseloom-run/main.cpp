//===- main.cpp - sparseloom-run: models or bundles on the runtime -------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The host driver of the runtime: compiles one model (or the subgraphs of a
// stitched variant, run in sequence) in-process with the input shapes taken
// from the .npy inputs, loads the programs into the runtime and runs them,
// once or as a benchmark; or runs requests against a bundle (.loom). The
// command line is parsed here; everything else is runModels() / runBundle()
// in lib/RunDriver (docs/UserGuide.md, "sparseloom-run").
//
//===----------------------------------------------------------------------===//

#include "sparseloom/RunDriver/RunDriver.h"
#include "sparseloom/Support/Diagnostics.h"

#include "CLI/CLI.hpp"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

using namespace sparseloom;

namespace {

constexpr const char *kTool = "sparseloom-run";

constexpr const char *kFooter = R"(
Several MODEL files are the subgraphs of one stitched variant, run in order:
the outputs of each feed the inputs of the next by position (counts, element
types and shapes must agree). --input files bind to the first model's inputs,
--output files to the last model's outputs.

Shapes: every program has static shapes. The first model's input shapes are
taken from the --input files (a symbolic batch dimension N is bound to the
file's first dimension); each later model's from the previous one's outputs.

Without --output, each output is summarised: its type and shape, its first
values and, for float outputs, the argmax over the last axis of the first
rows (the predicted class of a classifier).

--bench N runs --warmup runs (default 1) untimed, then N timed runs, and
prints the median, min, max, 10th and 90th percentile in milliseconds of the
whole sequence and of each program. With SPARSELOOM_PROFILE_OPS=1 in the
environment it also prints, on stderr, the time per op type and kernel, the
ten slowest ops (=all: every op, in program order) and the CPU time per run.

Kernels (--kernels): auto picks dense or sparse per layer from the weight's
density (docs/Lowering.md); reference runs every op on its portable kernel;
dense forces the packed SGEMM and sparse the cheaper sparse kernel for every
product with a weight (csr and block4x1 force one sparse format). On a CPU
with AVX-512 the fast kernels use it; SPARSELOOM_NO_AVX512=1 keeps them on
AVX2 (for comparisons). There, dense 3x3 stride-1 convs with >= 32 channels
run as Winograd F(2x2, 3x3), with a transformed copy of their weight built
at load (16/9 of its size); SPARSELOOM_NO_WINOGRAD=1 keeps im2col.

A bundle (a single .loom argument, made by sparseloom-compile) runs one task:
--task NAME (optional when it has one), and either --variant ID|NAME or the
scheduler's pick for --slo-latency MS / --slo-accuracy A (default: the
task's SLO). Its programs take one sample: every row of --input is one
request (--output gets every row's outputs). --eval INPUTS LABELS reports the
variant's top-1 accuracy over a labelled split; on the calibration split it
equals the accuracy the compiler measured. --bench times single requests.

Errors are printed as `sparseloom-run: error: FILE: [node NAME: ]message`;
the exit status is 1 and no output file is written.
)";

} // namespace

int main(int argc, char **argv) {
  run::RunRequest request;
  run::BundleRunRequest bundleRequest;
  std::vector<std::string> eval;
  double sloLatency = 0, sloAccuracy = -1;
  bool allowNonFinite = false;
  CLI::App app{"sparseloom-run: compile ONNX models in-process and run them "
               "on SparseLoom's embedded runtime."};
  app.add_option("models", request.models,
                 "Model file(s) (.onnx, .onnxtext or .slir); several are "
                 "subgraphs run in sequence")
      ->required();
  app.add_option("-i,--input", request.inputs,
                 "An input as a .npy file: FILE.npy binds the next input in "
                 "order, NAME=FILE.npy the input called NAME; repeatable")
      ->allow_extra_args(false);
  app.add_option("-o,--output", request.outputs,
                 "Write an output to a .npy file: FILE.npy takes the next "
                 "output in order, NAME=FILE.npy the output called NAME; "
                 "repeatable")
      ->allow_extra_args(false);
  app.add_option("--threads", request.threads,
                 "Worker threads, the caller included (default 1)")
      ->check(CLI::Range(1u, 256u));
  app.add_option("--bench", request.benchRuns,
                 "Time N runs and print median, min, max, p10 and p90")
      ->check(CLI::Range(1u, 1000000u));
  app.add_option("--warmup", request.warmupRuns,
                 "Untimed runs before --bench's timed ones (default 1)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--kernels", request.kernels,
                 "auto (default), reference, dense, sparse, csr or block4x1");
  app.add_flag("!--no-depthwise-fusion", request.fuseDepthwise,
               "Keep each sparse 1x1 conv and the depthwise conv that reads "
               "it as two ops (by default they run as one PointwiseDepthwise "
               "op; same output, bit for bit)");
  app.add_flag("!--no-plane-padding", request.padPlanes,
               "Store a depthwise conv's output that a sparse 1x1 conv "
               "reads with dense planes (by default its planes start on "
               "64-byte boundaries so the sparse kernel reads them in "
               "place; same output, bit for bit)");
  app.add_flag("!--no-op-prefetch", request.prefetchOps,
               "Do not prefetch each op's descriptors, first weight lines "
               "and code while the op before it runs (by default models "
               "of 1 MiB or more do; same output)");
  app.add_flag("--print-plan", request.printPlan,
               "Print each program's lowering plan: op, kernel and why, "
               "weight encoding, memory plan");
  app.add_flag("--allow-non-finite", allowNonFinite,
               "Accept NaN and Inf in float inputs (rejected by default)");
  app.add_option("--task", bundleRequest.task,
                 "Bundle (.loom) only: the task to run (optional when the "
                 "bundle has one)");
  app.add_option("--variant", bundleRequest.variant,
                 "Bundle only: the stitched variant, by id or name; without "
                 "it the runtime's scheduler picks one for the SLO");
  app.add_option("--slo-latency", sloLatency,
                 "Bundle only: latency deadline in ms (default: the task's)")
      ->check(CLI::PositiveNumber);
  app.add_option("--slo-accuracy", sloAccuracy,
                 "Bundle only: accuracy floor in [0, 1] (default: the "
                 "task's)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--eval", eval,
                 "Bundle only: INPUTS.npy LABELS.npy: top-1 accuracy of the "
                 "chosen variant over every sample")
      ->expected(2);
  app.footer(kFooter);
  CLI11_PARSE(app, argc, argv);
  request.checkFinite = !allowNonFinite;

  // A bundle: one task, one stitched variant, one request per input row.
  if (request.models.size() == 1 &&
      llvm::StringRef(request.models.front()).endswith(".loom")) {
    if (request.inputs.size() > 1 || request.outputs.size() > 1) {
      reportError(kTool, makeError("a bundle task takes one --input and "
                                   "writes one --output"));
      return 1;
    }
    bundleRequest.bundle = request.models.front();
    if (!request.inputs.empty())
      bundleRequest.input = request.inputs.front();
    if (!request.outputs.empty())
      bundleRequest.output = request.outputs.front();
    if (sloLatency > 0)
      bundleRequest.sloLatencyMs = sloLatency;
    if (sloAccuracy >= 0)
      bundleRequest.sloAccuracy = sloAccuracy;
    if (!eval.empty()) {
      bundleRequest.evalInputs = eval[0];
      bundleRequest.evalLabels = eval[1];
    }
    bundleRequest.threads = request.threads;
    bundleRequest.benchRuns = request.benchRuns;
    bundleRequest.warmupRuns = request.warmupRuns;
    bundleRequest.checkFinite = request.checkFinite;
    bundleRequest.prefetchOps = request.prefetchOps;
    if (llvm::Error err = run::runBundle(bundleRequest, llvm::outs())) {
      llvm::outs().flush();
      reportError(kTool, std::move(err));
      return 1;
    }
    return 0;
  }
  if (!bundleRequest.task.empty() || !bundleRequest.variant.empty() ||
      !eval.empty() || sloLatency > 0 || sloAccuracy >= 0) {
    reportError(kTool, makeError("--task, --variant, --slo-latency, "
                                 "--slo-accuracy and --eval apply to a "
                                 "bundle (.loom)"));
    return 1;
  }

  if (llvm::Error err = run::runModels(request, llvm::outs())) {
    llvm::outs().flush();
    reportError(kTool, std::move(err));
    return 1;
  }
  return 0;
}
