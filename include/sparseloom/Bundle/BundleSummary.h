//===- BundleSummary.h - The JSON summary beside a bundle -------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The parts of a bundle's summary document that describe the bundle itself
// (its tasks' selected variants, what sharing saved). The emit-bundle pass
// writes them as the whole summary; sparseloom-compile's summary
// (CompileSummary.h) embeds them next to what only the manifest knows.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_BUNDLE_BUNDLESUMMARY_H
#define SPARSELOOM_BUNDLE_BUNDLESUMMARY_H

#include "sparseloom/Bundle/BundleWriter.h"

#include <nlohmann/json.hpp>

#include <string>

namespace sparseloom {

/// Task `task`'s selected variants: id, name, estimated and measured
/// accuracy, latency per processor (null where it cannot run), bytes.
nlohmann::json selectedVariantsJson(const BundleContents &contents,
                                    size_t task);
/// What deduplication saved, in total and per task.
nlohmann::json sharingJson(const BundleStats &stats);
/// The emit-bundle pass's summary: processors, tasks with their SLO and
/// selected variants, sharing, bundle bytes.
std::string bundleSummaryJson(const BundleContents &contents,
                              const BundleStats &stats, uint64_t bundleBytes);

} // namespace sparseloom

#endif // SPARSELOOM_BUNDLE_BUNDLESUMMARY_H
