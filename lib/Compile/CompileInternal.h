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

/// Every subgraph lowered for one sample: [task][segment][member].
struct SubgraphPrograms {
  std::vector<std::vector<std::vector<std::vector<uint8_t>>>> bytes;
  /// A hash of the bytes: equal subgraphs (across variants and tasks) get
  /// equal ids, so selection counts them once.
  std::vector<std::vector<std::vector<uint64_t>>> contentHash;
};

llvm::Expected<SubgraphPrograms>
lowerAllSubgraphs(const std::vector<Family> &families);

/// The bundle's contents from selected families: the programs the selected
/// variants use, the variant table, processors from the platform, tasks and
/// their SLOs from the manifest.
llvm::Expected<BundleContents>
assembleBundleContents(const Manifest &manifest,
                       const std::vector<Family> &families,
                       const SubgraphPrograms &programs);

} // namespace sparseloom

#endif // SPARSELOOM_LIB_COMPILE_COMPILEINTERNAL_H
