//===- DotExporter.h - A module as a Graphviz graph -------------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Writes a module as Graphviz DOT text for people: one box per node (op,
// name, output shape, a summary of the weights it reads), edges labeled with
// the tensors they carry, graph inputs and outputs as ellipses. When
// detect-boundaries has annotated the module, its cut points show up: edges
// crossing a candidate cut are dashed, edges crossing a chosen cut bold and
// red, and the nodes of each chosen segment sit in a colored cluster
// labeled with the segment's cost. `dot -Tsvg` renders it; nothing here
// needs Graphviz.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_EXPORT_DOTEXPORTER_H
#define SPARSELOOM_EXPORT_DOTEXPORTER_H

#include "sparseloom/IR/Module.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace sparseloom {

struct DotOptions {
  /// Graph title; the graph's name when empty.
  std::string title;
  /// Add a line per node summarizing the weights it reads (count,
  /// parameters, density); otherwise weights are left out entirely.
  bool summarizeWeights = true;
  /// Leave out nodes computed from constants alone (Constant nodes, shape
  /// arithmetic on weights): they carry no activation and clutter the
  /// picture.
  bool hideConstants = true;
  /// Top-to-bottom layout; left-to-right when false.
  bool topToBottom = true;
};

/// Writes `module` as a DOT digraph. Fails only when the graph has no
/// topological order (a cycle or an undefined value).
llvm::Error exportDot(const Module &module, llvm::raw_ostream &os,
                      const DotOptions &options = {});

} // namespace sparseloom

#endif // SPARSELOOM_EXPORT_DOTEXPORTER_H
