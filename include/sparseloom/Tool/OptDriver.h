//===- OptDriver.h - The sparseloom-opt tool --------------------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Everything sparseloom-opt does, so that its main() is one call: parse the
// command line, load one model (or, with --family, every variant of a task),
// run the pass pipeline over the family with PassManager::run(Family&), and
// print the IR, export ONNX (a model, or every segment of every variant),
// write Graphviz, and/or write the family's JSON report.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_TOOL_OPTDRIVER_H
#define SPARSELOOM_TOOL_OPTDRIVER_H

namespace sparseloom {

/// sparseloom-opt's main: returns the process exit code.
int runOptTool(int argc, char **argv);

} // namespace sparseloom

#endif // SPARSELOOM_TOOL_OPTDRIVER_H
