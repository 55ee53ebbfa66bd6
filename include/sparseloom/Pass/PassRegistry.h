//===- PassRegistry.h - Finding passes by name ------------------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The registry of every pass, filled in passes/PassRegistry.cpp. Tools look
// passes up only through these functions.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_PASS_PASSREGISTRY_H
#define SPARSELOOM_PASS_PASSREGISTRY_H

#include "sparseloom/Pass/Pass.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <vector>

namespace sparseloom {

/// All registered passes, sorted by name.
const std::vector<const PassInfo *> &allPasses();
/// The pass called `name`, or nullptr.
const PassInfo *lookupPass(llvm::StringRef name);
/// Builds the passes of a pipeline string ("a,b(k=1)"); fails on an unknown
/// pass (listing the known ones) or a bad option.
llvm::Expected<std::vector<std::unique_ptr<Pass>>>
createPassPipeline(llvm::StringRef pipeline);

} // namespace sparseloom

#endif // SPARSELOOM_PASS_PASSREGISTRY_H
