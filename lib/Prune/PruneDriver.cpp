//===- PruneDriver.cpp - Writing a family of pruned variants --------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The whole sparseloom-prune run. The order is what keeps failures clean:
// options are checked before the input is read (a typo is not a problem of
// the model), the model is analyzed once, every level is pruned and
// exported in memory, and only then is the output directory created and
// written. A write that fails after others succeeded removes the files this
// run wrote, so a family is written completely or not at all.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Prune/PruneDriver.h"

#include "PruneInternal.h"

#include "sparseloom/Export/OnnxExporter.h"
#include "sparseloom/Support/Diagnostics.h"
#include "sparseloom/Support/FileIO.h"
#include "sparseloom/Tool/ModelLoader.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

namespace sparseloom {

std::string prunedFileName(llvm::StringRef inputPath, double sparsity) {
  return (llvm::sys::path::stem(inputPath) + ".s" +
          prune::formatPercent(sparsity) + ".onnx")
      .str();
}

llvm::Error runPrune(const PruneRequest &request, llvm::raw_ostream &report,
                     llvm::StringRef tool) {
  // nm:N:M fixes the level, so it may be left out.
  std::vector<double> levels = request.levels;
  if (levels.empty() && request.options.pattern.kind == PrunePattern::Kind::NM)
    levels.push_back(request.options.pattern.nmSparsity());
  if (llvm::Error err = checkSparsityLevels(levels, request.options))
    return err;

  auto module = loadModel(request.input);
  if (!module)
    return module.takeError();
  auto pruner = Pruner::create(**module, request.options);
  if (!pruner)
    return withFile(pruner.takeError(), request.input);
  for (const auto &[node, message] : (*pruner)->warnings())
    reportWarning(tool, request.input + ": node " + node + ": " + message);

  struct Variant {
    std::string path;
    std::string bytes;
    PruneReport report;
  };
  std::vector<Variant> variants;
  for (double level : levels) {
    Variant variant;
    llvm::SmallString<256> path(request.outputDir);
    llvm::sys::path::append(path, prunedFileName(request.input, level));
    variant.path = path.str().str();
    auto pruned = (*pruner)->prune(level, variant.report);
    if (!pruned)
      return withFile(pruned.takeError(), request.input);
    // ONNX's checker runs here: an output that fails it is never written.
    auto bytes = exportOnnxBytes(**pruned);
    if (!bytes)
      return withFile(bytes.takeError(), variant.path);
    variant.bytes = std::move(*bytes);
    variants.push_back(std::move(variant));
  }

  const std::string &dir = request.outputDir;
  if (std::error_code ec = llvm::sys::fs::create_directories(dir))
    return llvm::make_error<DiagnosticError>(
        dir, "", "cannot create the output directory: " + ec.message());
  // create_directories accepts an existing file of that name.
  if (!llvm::sys::fs::is_directory(dir))
    return llvm::make_error<DiagnosticError>(
        dir, "",
        "cannot create the output directory: a file of that name exists");
  std::vector<std::string> written;
  for (const Variant &variant : variants) {
    if (llvm::Error err = writeFileAtomically(variant.path, variant.bytes)) {
      for (const std::string &path : written)
        llvm::sys::fs::remove(path);
      return err;
    }
    written.push_back(variant.path);
  }

  for (const Variant &variant : variants) {
    report << request.input << " -> " << variant.path << ": sparsity "
           << prune::formatLevel(variant.report.sparsity) << ", pattern "
           << variant.report.pattern.str() << ", scope "
           << pruneScopeName(variant.report.scope) << "\n";
    printPruneReport(variant.report, report);
  }
  return llvm::Error::success();
}

} // namespace sparseloom
