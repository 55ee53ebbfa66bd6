//===- Parser.h - Parsing the textual form of the IR ------------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Parses the form Printer.h writes (docs/IRFormat.md). Errors are
// DiagnosticErrors whose file is "BUFFERNAME:LINE:COL" and whose reason is
// e.g. "expected ')'", so tools print "model.slir:3:10: expected ')'". The
// parser rejects what it can see locally (a value defined twice, an unknown
// element type, a value count that does not match the shape, a duplicate
// attribute); whole-graph invariants are left to verify().
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_IR_PARSER_H
#define SPARSELOOM_IR_PARSER_H

#include "sparseloom/IR/Module.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <memory>

namespace sparseloom {

/// `bufferName` is used in error messages (usually the file name).
llvm::Expected<std::unique_ptr<Module>> parseModule(llvm::StringRef text,
                                                    llvm::StringRef bufferName);

} // namespace sparseloom

#endif // SPARSELOOM_IR_PARSER_H
