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

namespace {

json dedupJson(const BundleDedupStats &s) {
  return {{"programs_before", s.programsBefore},
          {"programs_after", s.programsAfter},
          {"program_bytes_before", s.programBytesBefore},
          {"program_bytes_after", s.programBytesAfter},
          {"weight_tensors_before", s.weightTensorsBefore},
          {"weight_tensors_after", s.weightTensorsAfter},
          {"weight_bytes_before", s.weightBytesBefore},
          {"weight_bytes_after", s.weightBytesAfter}};
}

json nullable(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

} // namespace

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
      json selected = json::array();
      for (const BundleContents::Variant &v : bt.variants) {
        json latency = json::object();
        for (size_t p = 0; p < v.latencyMs.size(); ++p)
          latency[result.contents->processors[p].id] = nullable(v.latencyMs[p]);
        selected.push_back({{"id", v.id},
                            {"name", v.name},
                            {"estimated_accuracy", v.estimatedAccuracy},
                            {"measured_accuracy", nullable(v.measuredAccuracy)},
                            {"latency_ms", latency},
                            {"memory_bytes", v.memoryBytes}});
      }
      task["selected"] = selected;
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
    json perTask = json::object();
    for (const auto &[name, stats] : result.stats.tasks)
      perTask[name] = dedupJson(stats);
    doc["bundle_bytes"] = result.bundle.size();
    doc["sharing"] = {{"total", dedupJson(result.stats.total)},
                      {"tasks", std::move(perTask)}};
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
