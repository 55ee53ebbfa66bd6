//===- DumpDriver.h - sparseloom-dump: a bundle as readable text -*- C++
//-*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// What sparseloom-dump prints. The bundle is opened through the runtime's
// own verifier (sl_bundle_open: checksums, every table and program), so the
// dump shows exactly what a device would accept, and a bundle the runtime
// rejects is an error with the runtime's message.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_BUNDLE_DUMPDRIVER_H
#define SPARSELOOM_BUNDLE_DUMPDRIVER_H

#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace sparseloom {

struct DumpRequest {
  std::string path;
  /// Parts to print; none selected: the summary (overview, processors,
  /// tasks, programs, variants).
  bool sections = false;
  bool variants = false;
  bool tensors = false;
  /// Print the selected parts (all of them when none is selected) as one
  /// JSON object instead of text.
  bool json = false;
};

/// Opens and verifies the bundle at `request.path` and prints it to `out`.
/// Errors are DiagnosticErrors naming the file.
llvm::Error dumpBundle(const DumpRequest &request, llvm::raw_ostream &out);

} // namespace sparseloom

#endif // SPARSELOOM_BUNDLE_DUMPDRIVER_H
