//===- Passes.h - Declarations of every pass --------------------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// One accessor per pass, each defined in the pass's own file next to its
// implementation. PassRegistry.cpp lists them; nothing else refers to a pass
// by name.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_PASSES_PASSES_H
#define SPARSELOOM_PASSES_PASSES_H

#include "sparseloom/Pass/Pass.h"

namespace sparseloom {

const PassInfo &alignFamilyPassInfo();
const PassInfo &canonicalizePassInfo();
const PassInfo &checkCompatPassInfo();
const PassInfo &dedupPassInfo();
const PassInfo &detectBoundariesPassInfo();
const PassInfo &emitBundlePassInfo();
const PassInfo &encodeWeightsPassInfo();
const PassInfo &enumerateStitchesPassInfo();
const PassInfo &fuseActivationPassInfo();
const PassInfo &fuseGeluPassInfo();
const PassInfo &fuseLayerNormPassInfo();
const PassInfo &inferShapesPassInfo();
const PassInfo &lowerReportPassInfo();
const PassInfo &profileAccuracyPassInfo();
const PassInfo &selectVariantsPassInfo();
const PassInfo &sparsityAnalysisPassInfo();
const PassInfo &splitPassInfo();

} // namespace sparseloom

#endif // SPARSELOOM_PASSES_PASSES_H
