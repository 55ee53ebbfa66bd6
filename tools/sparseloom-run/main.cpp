//===- main.cpp - sparseloom-run: run models on the embedded runtime
//-------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The host driver of the runtime: compiles one model (or the subgraphs of a
// stitched variant, run in sequence) in-process with the input shapes taken
// from the .npy inputs, loads the programs into the runtime and runs them,
// once or as a benchmark. The command line is parsed here; everything else
// is runModels() in lib/RunDriver (docs/UserGuide.md, "sparseloom-run").
//
//===----------------------------------------------------------------------===//

#include "sparseloom/RunDriver/RunDriver.h"
#include "sparseloom/Support/Diagnostics.h"

#include "CLI/CLI.hpp"
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
whole sequence and of each program.

Kernels (--kernels): auto picks dense or sparse per layer from the weight's
density (docs/Lowering.md); reference runs every op on its portable kernel;
dense forces the packed SGEMM and sparse the cheaper sparse kernel for every
product with a weight (csr and block4x1 force one sparse format).

Errors are printed as `sparseloom-run: error: FILE: [node NAME: ]message`;
the exit status is 1 and no output file is written.
)";

} // namespace

int main(int argc, char **argv) {
  run::RunRequest request;
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
  app.add_flag("--print-plan", request.printPlan,
               "Print each program's lowering plan: op, kernel and why, "
               "weight encoding, memory plan");
  app.add_flag("--allow-non-finite", allowNonFinite,
               "Accept NaN and Inf in float inputs (rejected by default)");
  app.footer(kFooter);
  CLI11_PARSE(app, argc, argv);
  request.checkFinite = !allowNonFinite;

  if (llvm::Error err = run::runModels(request, llvm::outs())) {
    llvm::outs().flush();
    reportError(kTool, std::move(err));
    return 1;
  }
  return 0;
}
