//===- main.cpp - sparseloom-compile: manifest to bundle ------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Compiles the model families named by a manifest into one bundle of
// stitched variants. The logic lives in lib/Compile.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Compile/CompileDriver.h"

int main(int argc, char **argv) {
  return sparseloom::runCompileTool(argc, argv);
}
