//===- BundleAssembly.h - Selected families to bundle contents --*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The step between selection and the bundle writer, shared by the
// emit-bundle pass (one family, in sparseloom-opt) and sparseloom-compile's
// emit stage (every task of a manifest): each selected stitched variant
// becomes a row of its task's variant table, each subgraph it uses is
// lowered once for one sample, and the platform's processors become the
// bundle's processor table. And the step after the writer: the files a
// bundle is delivered as.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_BUNDLE_BUNDLEASSEMBLY_H
#define SPARSELOOM_BUNDLE_BUNDLEASSEMBLY_H

#include "sparseloom/Bundle/BundleWriter.h"
#include "sparseloom/IR/Family.h"
#include "sparseloom/Space/Platform.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <limits>
#include <string>

namespace sparseloom {

/// One task to ship: a family that went through select-variants, and the
/// SLO defaults its bundle task carries.
struct BundleTaskSpec {
  const Family *family = nullptr;
  double latencyDeadlineMs = std::numeric_limits<double>::infinity();
  double accuracyFloor = 0;
  double requestRateHz = 0;
};

/// The bundle's contents: per task the selected variants, most accurate
/// first (the order a scheduler scans), with estimated and measured
/// accuracy and per-processor latency; the programs they use, each
/// (task, segment, member) lowered once; the platform's processors.
/// Identical programs across tasks are merged later by buildBundle.
llvm::Expected<BundleContents>
assembleBundleContents(const Platform &platform,
                       llvm::ArrayRef<BundleTaskSpec> tasks);

/// Where writeBundleOutputs put things.
struct BundleOutputPaths {
  std::string loom;      // the .loom file
  std::string described; // for messages: "app.bundle/ (app.loom, ...)"
};

/// Writes a bundle as DESIGN.md lays it out: OUT ending in `.loom` is the
/// bundle file with its summary next to it as OUT.json; any other OUT is a
/// directory holding <stem>.loom and summary.json. With `emitC`, also
/// <stem>.c and <stem>.h beside the .loom (symbol <stem>_loom). Every file
/// goes through a temporary and a rename, so a failure leaves no partial
/// bundle.
llvm::Expected<BundleOutputPaths>
writeBundleOutputs(llvm::StringRef out, llvm::ArrayRef<uint8_t> bundle,
                   const std::string &summaryJson, bool emitC);

} // namespace sparseloom

#endif // SPARSELOOM_BUNDLE_BUNDLEASSEMBLY_H
