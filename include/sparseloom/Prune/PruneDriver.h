//===- PruneDriver.h - Writing a family of pruned variants ------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// What sparseloom-prune does, as a library call so the tool's main stays
// thin and tests can drive it: load a model, prune it to every requested
// level, and write one ONNX file per level into an output directory, named
//
//   OUTDIR/<stem>.s<percent>.onnx     e.g. model.s50.onnx, model.s87.5.onnx
//
// where <stem> is the input's file name without its extension. Every level
// is pruned and exported (through ONNX's checker) in memory before the first
// file is written, so a user-input error leaves nothing behind; each file is
// written atomically, and files already written are removed if a later
// write fails.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_PRUNE_PRUNEDRIVER_H
#define SPARSELOOM_PRUNE_PRUNEDRIVER_H

#include "sparseloom/Prune/Pruner.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace sparseloom {

struct PruneRequest {
  std::string input;
  std::vector<double> levels;
  PruneOptions options;
  std::string outputDir;
};

/// "<stem>.s<percent>.onnx" for the input path and level (see above); the
/// percentage is printed with as few digits as it needs (50, 87.5).
std::string prunedFileName(llvm::StringRef inputPath, double sparsity);

/// Runs the request; prints one table per level to `report` and warnings
/// (prefixed by `tool`) to stderr. Errors are DiagnosticErrors naming the
/// file and, where there is one, the node.
llvm::Error runPrune(const PruneRequest &request, llvm::raw_ostream &report,
                     llvm::StringRef tool);

} // namespace sparseloom

#endif // SPARSELOOM_PRUNE_PRUNEDRIVER_H
