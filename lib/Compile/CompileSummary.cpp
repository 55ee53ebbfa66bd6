//===- CompileSummary.cpp - What a compile produced, as JSON --------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Sizes of "stored separately" use the same lowered programs the bundle
// stores (weights encoded for their kernels), each subgraph counted in full
// for every variant that uses it: the fair baseline for what sharing saves.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Compile/CompileSummary.h"

#include "sparseloom/Bundle/BundleSummary.h"

#include <nlohmann/json.hpp>

#include <cmath>

namespace sparseloom {

using json = nlohmann::json;

MemoryComparison compareMemory(const CompileResult &result) {
  MemoryComparison memory;
  for (const Family &family : result.families) {
    if (!family.state.fronts)
      continue;
    for (const auto &row : family.state.fronts->segmentBytes)
      for (double bytes : row)
        memory.originalsSeparately += uint64_t(bytes);
    if (family.state.selection)
      for (const FamilyStitchPoint &p : family.state.selection->selected)
        memory.selectedSeparately += uint64_t(p.memoryBytes);
  }
  memory.bundle = result.bundle.size();
  return memory;
}

std::string compileSummaryJson(const Manifest &manifest,
                               const CompileResult &result) {
  json tasks = json::array();
  for (size_t t = 0; t < result.families.size(); ++t) {
    const Family &family = result.families[t];
    json task = {{"name", family.task}};
    json variants = json::array();
    for (const FamilyMember &m : family.members)
      variants.push_back(m.variant);
    task["variants_in"] = variants;
    const FamilyState &state = family.state;
    if (state.segments) {
      size_t n = state.segments->perMember.front().size();
      task["segments"] = n;
      task["stitched_variants_possible"] =
          std::pow(double(family.size()), double(n));
    }
    if (state.accuracy && state.accuracy->estimator) {
      const EstimatorCheck &e = *state.accuracy->estimator;
      const EstimatorCheck &naive = *state.accuracy->naive;
      task["estimator"] = {{"validation_points", e.points},
                           {"mae_points", e.meanAbsErrorPoints},
                           {"max_error_points", e.maxAbsErrorPoints},
                           {"spearman", e.rankCorrelation},
                           {"naive_mae_points", naive.meanAbsErrorPoints}};
    }
    if (state.fronts) {
      json fronts = json::object();
      for (const FamilyFront &f : state.fronts->fronts)
        fronts[f.placement] = f.points.size();
      task["front_points"] = fronts;
    }
    if (result.contents && t < result.contents->tasks.size()) {
      const BundleContents::Task &bt = result.contents->tasks[t];
      task["slo"] = {{"latency_ms", bt.latencyDeadlineMs},
                     {"accuracy", bt.accuracyFloor}};
      task["selected"] = selectedVariantsJson(*result.contents, t);
      if (state.selection)
        task["slo_coverage"] = state.selection->coverage;
    }
    tasks.push_back(std::move(task));
  }
  json doc = {{"manifest", manifest.file},
              {"platform", manifest.platform},
              {"memory_budget_bytes", manifest.memoryBudgetBytes},
              {"tasks", std::move(tasks)}};
  if (!result.bundle.empty()) {
    MemoryComparison memory = compareMemory(result);
    doc["bundle_bytes"] = result.bundle.size();
    doc["sharing"] = sharingJson(result.stats);
    doc["memory"] = {
        {"originals_stored_separately", memory.originalsSeparately},
        {"selected_stored_separately", memory.selectedSeparately},
        {"bundle", memory.bundle}};
  }
  json times = json::object();
  for (const StageTime &t : result.times)
    times[compileStageName(t.stage)] = t.seconds;
  doc["stage_seconds"] = std::move(times);
  return doc.dump(2) + "\n";
}

} // namespace sparseloom
