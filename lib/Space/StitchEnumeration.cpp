//===- StitchEnumeration.cpp - Fronts of a profiled family ----------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Scores come straight from the estimator's parameters (unary per segment,
// pair per boundary), so the DP's score order is the predicted accuracy's
// order and each front point converts back to an accuracy through the
// estimator's link. Stitches measured on the calibration split (the
// fitting points, or all of them with exhaustive profiling) are known
// exactly: they join each front with their measured accuracy (mapped to a
// score through the inverse link) before a final dominance filter, so a
// front never shows a prediction where a measurement exists.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Space/StitchEnumeration.h"

#include "sparseloom/Space/AccuracyModel.h"
#include "sparseloom/Space/ParetoFront.h"
#include "sparseloom/Support/Diagnostics.h"

#include <chrono>
#include <cmath>
#include <map>

namespace sparseloom {

namespace {

bool isOriginal(const StitchChoiceList &choice) {
  for (uint8_t v : choice)
    if (v != choice.front())
      return false;
  return true;
}

} // namespace

AccuracyModel accuracyModelOf(const FamilyAccuracyProfile &profile) {
  return AccuracyModel::fromParameters(
      0, profile.chance, profile.referenceLogit, profile.unary, profile.pair);
}

llvm::Expected<StitchSpace> buildStitchSpace(const Family &family,
                                             const Platform &platform,
                                             const LatencySource &latency,
                                             const SegmentCosts &costs) {
  if (!family.state.segments)
    return makeError("enumerate-stitches needs the split family (run split)");
  if (!family.state.accuracy)
    return makeError("enumerate-stitches needs accuracy estimates: run "
                     "profile-accuracy first");
  const FamilyAccuracyProfile &profile = *family.state.accuracy;
  const unsigned k = unsigned(family.size());
  const unsigned n = unsigned(profile.unary.size());
  const unsigned procs = unsigned(platform.processors.size());
  if (costs.bytes.size() != n || costs.work.size() != n ||
      (n > 0 && costs.boundaryBytes.size() != n - 1))
    return makeError("enumerate-stitches: segment costs do not match the "
                     "family's " +
                     std::to_string(n) + " segments");
  StitchSpace space;
  space.numVariants = k;
  space.numSegments = n;
  space.numProcessors = procs;
  space.allowSplitPlacement = platform.allowSplitPlacement;
  space.options.assign(n, std::vector<SegmentOption>(k));
  for (unsigned s = 0; s < n; ++s)
    for (unsigned m = 0; m < k; ++m) {
      SegmentOption &option = space.options[s][m];
      option.score = profile.unary[s][m];
      option.memoryBytes = costs.bytes[s][m];
      for (unsigned p = 0; p < procs; ++p)
        option.latencyMs.push_back(
            latency.segmentLatencyMs(costs.work[s][m], p));
    }
  space.pairScore = profile.pair;
  if (procs > 1 && platform.allowSplitPlacement) {
    space.transferMs.assign(n - 1, std::vector<std::vector<double>>(
                                       procs, std::vector<double>(procs, 0)));
    for (unsigned b = 0; b + 1 < n; ++b)
      for (unsigned p = 0; p < procs; ++p)
        for (unsigned q = 0; q < procs; ++q)
          space.transferMs[b][p][q] =
              platform.transferMs(p, q, costs.boundaryBytes[b]);
  }
  if (std::string problem = validateStitchSpace(space); !problem.empty())
    return makeError("enumerate-stitches: " + problem);
  return space;
}

llvm::Error enumerateFamilyStitches(Family &family, const Platform &platform,
                                    const LatencySource &latency,
                                    const SegmentCosts &costs,
                                    const EnumerationOptions &options) {
  auto space = buildStitchSpace(family, platform, latency, costs);
  if (!space)
    return space.takeError();
  const FamilyAccuracyProfile &profile = *family.state.accuracy;
  const AccuracyModel model = accuracyModelOf(profile);
  std::map<StitchChoiceList, double> measured;
  for (const MeasuredStitch &m : profile.calibration)
    measured[m.choice] = m.accuracy;

  FamilyStitchFronts result;
  result.platformFile = options.platformFile;
  result.platformName = platform.name;
  result.latencySource = latency.name();
  for (const Processor &p : platform.processors)
    result.processors.push_back(p.id);
  const unsigned n = space->numSegments, k = space->numVariants,
                 procs = space->numProcessors;
  result.segmentBytes = costs.bytes;
  result.segmentProgramHash = costs.programHash;
  result.segmentLatencyMs.assign(n, std::vector<std::vector<double>>(k));
  for (unsigned s = 0; s < n; ++s)
    for (unsigned m = 0; m < k; ++m)
      result.segmentLatencyMs[s][m] = space->options[s][m].latencyMs;

  auto toPoint = [&](const StitchPoint &p) {
    FamilyStitchPoint point;
    point.variants = p.variantPerSegment;
    point.processors = p.processorPerSegment;
    point.estimatedAccuracy = model.predict(p.variantPerSegment);
    if (auto it = measured.find(p.variantPerSegment); it != measured.end())
      point.measuredAccuracy = it->second;
    point.latencyMs = p.latencyMs;
    point.memoryBytes = p.memoryBytes;
    point.original = isOriginal(p.variantPerSegment);
    return point;
  };

  auto start = std::chrono::steady_clock::now();
  FrontOptions frontOptions;
  frontOptions.relativeResolution = options.relativeResolution;
  std::vector<StitchPoint> everything;
  // Measured stitches on processor p (one placement for the whole stitch).
  auto measuredOn = [&](unsigned p) {
    std::vector<StitchPoint> points;
    for (const auto &[choice, accuracy] : measured) {
      StitchPoint point;
      point.score = model.scoreForAccuracy(accuracy);
      point.variantPerSegment = choice;
      point.processorPerSegment.assign(n, uint8_t(p));
      for (unsigned s = 0; s < n; ++s) {
        const SegmentOption &option = space->options[s][choice[s]];
        point.latencyMs += option.latencyMs[p];
        point.memoryBytes += option.memoryBytes;
      }
      if (std::isfinite(point.latencyMs))
        points.push_back(std::move(point));
    }
    return points;
  };
  // A DP point whose stitch was measured carries its predicted score;
  // replace it by the measured one before filtering.
  auto withMeasurements = [&](std::vector<StitchPoint> points,
                              std::vector<StitchPoint> extra) {
    for (StitchPoint &p : points)
      if (auto it = measured.find(p.variantPerSegment); it != measured.end())
        p.score = model.scoreForAccuracy(it->second);
    points.insert(points.end(), extra.begin(), extra.end());
    return paretoFilter(std::move(points));
  };
  auto addFront = [&](const std::string &placement,
                      std::vector<StitchPoint> points) {
    FamilyFront front;
    front.placement = placement;
    for (const StitchPoint &p : points)
      front.points.push_back(toPoint(p));
    everything.insert(everything.end(), points.begin(), points.end());
    result.fronts.push_back(std::move(front));
  };
  for (unsigned p = 0; p < procs; ++p) {
    frontOptions.processor = p;
    addFront(
        platform.processors[p].id,
        withMeasurements(paretoFrontDP(*space, frontOptions), measuredOn(p)));
  }
  if (procs > 1 && platform.allowSplitPlacement) {
    frontOptions.processor.reset();
    std::vector<StitchPoint> extra;
    for (unsigned p = 0; p < procs; ++p)
      for (StitchPoint &point : measuredOn(p))
        extra.push_back(std::move(point));
    addFront("split",
             withMeasurements(paretoFrontDP(*space, frontOptions), extra));
  }
  if (procs > 1) {
    FamilyFront any;
    any.placement = "any";
    for (const StitchPoint &p : paretoFilter(everything))
      any.points.push_back(toPoint(p));
    result.fronts.push_back(std::move(any));
  }
  result.enumerationSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();

  // The originals, each on its fastest processor, for reports and plots.
  for (unsigned m = 0; m < k; ++m) {
    StitchPoint best;
    best.latencyMs = kInfeasible;
    for (unsigned p = 0; p < procs; ++p) {
      StitchPoint point;
      point.variantPerSegment.assign(n, uint8_t(m));
      point.processorPerSegment.assign(n, uint8_t(p));
      for (unsigned s = 0; s < n; ++s) {
        const SegmentOption &option = space->options[s][m];
        point.score += option.score;
        if (s + 1 < n)
          point.score += space->pair(s, m, m);
        point.latencyMs += option.latencyMs[p];
        point.memoryBytes += option.memoryBytes;
      }
      if (point.latencyMs < best.latencyMs)
        best = point;
    }
    if (std::isfinite(best.latencyMs))
      result.originals.push_back(toPoint(best));
  }
  family.state.fronts = std::move(result);
  return llvm::Error::success();
}

} // namespace sparseloom
