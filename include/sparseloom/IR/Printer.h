//===- Printer.h - The textual form of the IR -------------------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Prints a Module in the textual form described in docs/IRFormat.md. The form
// is stable (sorted attributes, program order) so lit tests can match it, and
// lossless: with all weights printed, parseModule(print(m)) rebuilds m. Large
// weights print as an `elided<...>` summary by default, which parses back to
// an Elided tensor carrying the same summary.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_IR_PRINTER_H
#define SPARSELOOM_IR_PRINTER_H

#include "sparseloom/IR/Module.h"

#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <string>

namespace sparseloom {

struct PrintOptions {
  /// Tensors with more elements than this print as an elided summary;
  /// negative means always print values.
  int64_t elideWeightsAbove = 16;
};

void printModule(const Module &module, llvm::raw_ostream &os,
                 const PrintOptions &options = {});
std::string printModuleToString(const Module &module,
                                const PrintOptions &options = {});
/// One attribute value in the textual syntax (shared with diagnostics).
void printAttribute(const Attribute &attr, llvm::raw_ostream &os,
                    const PrintOptions &options = {});

} // namespace sparseloom

#endif // SPARSELOOM_IR_PRINTER_H
