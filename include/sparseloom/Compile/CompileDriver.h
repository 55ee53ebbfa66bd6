//===- CompileDriver.h - The sparseloom-compile tool ------------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_COMPILE_COMPILEDRIVER_H
#define SPARSELOOM_COMPILE_COMPILEDRIVER_H

namespace sparseloom {

/// Parses the command line and runs sparseloom-compile; returns the exit
/// code.
int runCompileTool(int argc, char **argv);

} // namespace sparseloom

#endif // SPARSELOOM_COMPILE_COMPILEDRIVER_H
