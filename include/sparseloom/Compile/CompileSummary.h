//===- CompileSummary.h - What a compile produced, as JSON -----*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The human-readable side of a bundle (`summary.json` next to the .loom):
// per task the family, the stitch space, the fronts' sizes, the selected
// variants; sharing statistics; and the memory comparison the issue asks
// for: (a) the k originals of every task stored separately, (b) every
// selected stitched variant stored separately, (c) the bundle.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_COMPILE_COMPILESUMMARY_H
#define SPARSELOOM_COMPILE_COMPILESUMMARY_H

#include "sparseloom/Compile/CompilePipeline.h"

#include <cstdint>
#include <string>

namespace sparseloom {

struct MemoryComparison {
  uint64_t originalsSeparately = 0; // (a)
  uint64_t selectedSeparately = 0;  // (b)
  uint64_t bundle = 0;              // (c)
};

/// Needs the dedup stage to have run.
MemoryComparison compareMemory(const CompileResult &result);

/// The summary document (JSON text).
std::string compileSummaryJson(const Manifest &manifest,
                               const CompileResult &result);

} // namespace sparseloom

#endif // SPARSELOOM_COMPILE_COMPILESUMMARY_H
