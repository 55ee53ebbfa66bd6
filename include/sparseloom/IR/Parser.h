//===- Parser.h - Parsing the textual form of the IR ------------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Parses the form Printer.h writes (docs/IRFormat.md). Errors carry the
// line and column: "FILE:LINE:COL: expected ')'". The parsed module is
// verified before it is returned.
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
