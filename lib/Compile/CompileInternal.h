//===- CompileInternal.h - Shared by the compile pipeline's files -*- C++
//-*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_LIB_COMPILE_COMPILEINTERNAL_H
#define SPARSELOOM_LIB_COMPILE_COMPILEINTERNAL_H

#include "sparseloom/Bundle/BundleWriter.h"
#include "sparseloom/IR/Family.h"
#include "sparseloom/Tool/Manifest.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace sparseloom {

/// The bundle's contents from selected families: the programs the selected
/// variants use (each subgraph lowered once, for one sample), the variant
/// table, processors from the platform, tasks and their SLOs from the
/// manifest.
llvm::Expected<BundleContents>
assembleBundleContents(const Manifest &manifest,
                       const std::vector<Family> &families);

} // namespace sparseloom

#endif // SPARSELOOM_LIB_COMPILE_COMPILEINTERNAL_H
