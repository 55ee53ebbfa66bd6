//===- main.cpp - sparseloom-prune: make sparse variants of a model -------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Prunes a dense ONNX model by weight magnitude to each requested sparsity
// level and writes one ONNX model per level: the family of variants that
// sparseloom-compile stitches. The command line is parsed here; everything
// else is runPrune() in lib/Prune (docs/Pruning.md).
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Prune/PruneDriver.h"
#include "sparseloom/Support/Diagnostics.h"

#include "CLI/CLI.hpp"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

using namespace sparseloom;

namespace {

constexpr const char *kTool = "sparseloom-prune";

constexpr const char *kFooter = R"(
Outputs: OUTDIR/<stem>.s<percent>.onnx per level, e.g. model.s50.onnx,
model.s87.5.onnx (<stem>: the input's name without its extension). Nothing is
written unless every level succeeds. A table per level lists each linear
weight: node, weight, shape, pattern, target and achieved density.

Patterns:
  unstructured  single weights, smallest magnitude first
  block:RxC     aligned R x C blocks of the [output channels, reduction]
                weight matrix, smallest L2 norm first (e.g. block:4x1)
  nm:N:M        keep the N largest of every M consecutive reduction weights;
                fixes the sparsity at 1 - N/M (--sparsity may be omitted)
  channel       remove whole output channels (smallest L2 norm) and shrink
                the consumers; the model changes structure. Layers whose
                channels reach a graph output, a residual Add, a Reshape...
                are skipped with a warning.

Errors are printed as `sparseloom-prune: error: FILE: node NAME: message`.
See docs/Pruning.md.
)";

} // namespace

int main(int argc, char **argv) {
  PruneRequest request;
  std::vector<std::string> sparsity;
  std::string pattern = "unstructured";
  std::string scope = "per-layer";
  CLI::App app{"sparseloom-prune: prune a dense ONNX model by weight "
               "magnitude into one sparse variant per sparsity level."};
  app.add_option("input", request.input,
                 "Model to prune (.onnx, .onnxtext or .slir)")
      ->required();
  app.add_option("-o,--output-dir", request.outputDir,
                 "Directory for the pruned models (created if missing)")
      ->required();
  app.add_option("--sparsity", sparsity,
                 "Comma-separated levels in [0, 1), the fraction of each "
                 "pruned layer's weights set to zero (e.g. 0.5,0.7,0.9); "
                 "repeatable")
      ->allow_extra_args(false);
  app.add_option("--pattern", pattern,
                 "unstructured (default), block:RxC, nm:N:M or channel");
  app.add_option("--scope", scope,
                 "per-layer (default): every layer reaches the level; "
                 "global: one magnitude threshold over all pruned layers");
  app.add_option("--exclude", request.options.exclude,
                 "Keep nodes whose name matches this glob dense (an unnamed "
                 "node is matched by its first output's name); "
                 "comma-separated, repeatable; a pattern matching no node is "
                 "an error")
      ->allow_extra_args(false);
  app.add_flag("--keep-first-last", request.options.keepFirstLast,
               "Keep the first and the last prunable layer dense");
  app.add_option("--min-params", request.options.minParams,
                 "Prune only weights with at least this many elements "
                 "(default " +
                     std::to_string(kDefaultMinParams) + ")")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--sparse-initializers", request.options.sparseInitializers,
               "Store the pruned weights as ONNX sparse_initializers (COO)");
  app.footer(kFooter);
  CLI11_PARSE(app, argc, argv);

  auto fail = [](llvm::Error err) {
    reportError(kTool, std::move(err));
    return 1;
  };
  for (const std::string &spec : sparsity)
    if (llvm::Error err = parseSparsityList(spec, request.levels))
      return fail(std::move(err));
  auto parsedPattern = PrunePattern::parse(pattern);
  if (!parsedPattern)
    return fail(parsedPattern.takeError());
  request.options.pattern = *parsedPattern;
  auto parsedScope = parsePruneScope(scope);
  if (!parsedScope)
    return fail(parsedScope.takeError());
  request.options.scope = *parsedScope;

  if (llvm::Error err = runPrune(request, llvm::outs(), kTool))
    return fail(std::move(err));
  return 0;
}
