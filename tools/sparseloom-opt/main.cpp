//===- main.cpp - sparseloom-opt: run passes over a model or family -------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Reads a model (or, with --family, every variant of a task), runs a pass
// pipeline, and writes the result as IR text, ONNX, or a JSON report. The
// logic lives in lib/Tool/OptDriver.cpp.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Tool/OptDriver.h"

int main(int argc, char **argv) { return sparseloom::runOptTool(argc, argv); }
