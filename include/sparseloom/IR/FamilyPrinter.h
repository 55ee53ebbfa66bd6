//===- FamilyPrinter.h - The textual form of a family -----------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Prints a Family for people and FileCheck: a `family` block with the task,
// the members, what the family passes found (alignment and differences,
// candidate and chosen boundaries with their live tensors, one compatibility
// matrix per boundary with a reason for every "no", the segments and their
// interfaces), then every member's IR and every segment's IR in the module
// printer's form. One fact per line, in a fixed order, so CHECK lines can
// match it. A family of one on which no family pass has run prints as its
// module alone, exactly as before families existed.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_IR_FAMILYPRINTER_H
#define SPARSELOOM_IR_FAMILYPRINTER_H

#include "sparseloom/IR/Family.h"
#include "sparseloom/IR/Printer.h"

#include "llvm/Support/raw_ostream.h"

#include <string>

namespace sparseloom {

/// True when the family is one module and no family pass has written
/// anything: it prints (and exports) as that module.
bool isPlainModule(const Family &family);

void printFamily(const Family &family, llvm::raw_ostream &os,
                 const PrintOptions &options = {});
std::string printFamilyToString(const Family &family,
                                const PrintOptions &options = {});

} // namespace sparseloom

#endif // SPARSELOOM_IR_FAMILYPRINTER_H
