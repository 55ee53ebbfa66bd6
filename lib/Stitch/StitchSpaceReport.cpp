//===- StitchSpaceReport.cpp - The stitch space in the family report ------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The "stitch_space" part of `--report` (docs/StitchSpace.md, "Report"):
// what profile-accuracy measured and how well its estimator did, the fronts
// of enumerate-stitches, and the selection. Stitches are written as the
// variant name per segment, processors by their platform id, so the report
// reads without the IR.
//
//===----------------------------------------------------------------------===//

#include "StitchReportInternal.h"

namespace sparseloom {

using json = nlohmann::json;

namespace {

json choiceJson(const Family &family, const StitchChoiceList &choice) {
  json names = json::array();
  for (uint8_t m : choice)
    names.push_back(m < family.size() ? family.members[m].variant : "?");
  return names;
}

json checkJson(const EstimatorCheck &check) {
  return {{"points", check.points},
          {"mae_points", check.meanAbsErrorPoints},
          {"max_error_points", check.maxAbsErrorPoints},
          {"spearman", check.rankCorrelation}};
}

json measuredJson(const Family &family,
                  const std::vector<MeasuredStitch> &measured) {
  json list = json::array();
  for (const MeasuredStitch &m : measured)
    list.push_back(
        {{"variants", choiceJson(family, m.choice)}, {"accuracy", m.accuracy}});
  return list;
}

json pointJson(const Family &family, const FamilyStitchFronts &fronts,
               const FamilyStitchPoint &point) {
  json procs = json::array();
  for (uint8_t p : point.processors)
    procs.push_back(p < fronts.processors.size() ? fronts.processors[p] : "?");
  json latencies = json::object();
  for (size_t p = 0; p < fronts.processors.size(); ++p) {
    double total = 0;
    for (size_t s = 0; s < point.variants.size(); ++s)
      total += fronts.segmentLatencyMs[s][point.variants[s]][p];
    // JSON has no infinity: a processor that cannot run it is null.
    latencies[fronts.processors[p]] =
        std::isfinite(total) ? json(total) : json(nullptr);
  }
  json out = {{"variants", choiceJson(family, point.variants)},
              {"processors", std::move(procs)},
              {"estimated_accuracy", point.estimatedAccuracy},
              {"measured_accuracy", point.measuredAccuracy
                                        ? json(*point.measuredAccuracy)
                                        : json(nullptr)},
              {"latency_ms", point.latencyMs},
              {"latency_ms_per_processor", std::move(latencies)},
              {"memory_bytes", point.memoryBytes},
              {"original", point.original}};
  return out;
}

} // namespace

json stitchSpaceJson(const Family &family) {
  const FamilyState &state = family.state;
  json out = json::object();
  if (state.accuracy) {
    const FamilyAccuracyProfile &a = *state.accuracy;
    json accuracy = {
        {"metric", a.metric},
        {"calibration_file", a.calibrationFile},
        {"calibration_samples", a.calibrationSamples},
        {"validation_file", a.testFile},
        {"validation_samples", a.testSamples},
        {"classes", a.classes},
        {"exhaustive", a.exhaustive},
        {"fitting_points", a.fittingPoints},
        {"estimator",
         {{"model", "chain: logit above chance, per-segment and "
                    "adjacent-pair terms around the reference"},
          {"chance", a.chance},
          {"reference_logit", a.referenceLogit},
          {"unary", a.unary},
          {"pair", a.pair}}},
        {"validation", a.estimator ? checkJson(*a.estimator) : json(nullptr)},
        {"naive_additive", a.naive ? checkJson(*a.naive) : json(nullptr)},
        {"calibration", measuredJson(family, a.calibration)},
        {"validation_measurements", measuredJson(family, a.test)}};
    out["accuracy"] = std::move(accuracy);
  }
  if (state.fronts) {
    const FamilyStitchFronts &f = *state.fronts;
    json fronts = json::array();
    for (const FamilyFront &front : f.fronts) {
      json points = json::array();
      for (const FamilyStitchPoint &p : front.points)
        points.push_back(pointJson(family, f, p));
      fronts.push_back(
          {{"placement", front.placement}, {"points", std::move(points)}});
    }
    json originals = json::array();
    for (const FamilyStitchPoint &p : f.originals)
      originals.push_back(pointJson(family, f, p));
    out["platform"] = {{"file", f.platformFile},
                       {"name", f.platformName},
                       {"latency_source", f.latencySource},
                       {"processors", f.processors}};
    out["segment_bytes"] = f.segmentBytes;
    out["originals"] = std::move(originals);
    out["fronts"] = std::move(fronts);
    out["enumeration_seconds"] = f.enumerationSeconds;
  }
  if (state.selection && state.fronts) {
    const FamilySelection &s = *state.selection;
    json selected = json::array();
    for (const FamilyStitchPoint &p : s.selected)
      selected.push_back(pointJson(family, *state.fronts, p));
    out["selection"] = {
        {"budget_bytes", s.budgetBytes},   {"memory_bytes", s.memoryBytes},
        {"slo_coverage", s.coverage},      {"slo_grid", s.gridSize},
        {"free_stitches", s.freeStitches}, {"selected", std::move(selected)}};
  }
  return out;
}

} // namespace sparseloom
