//===- AccuracyProfiling.cpp - Measure stitches, fit the estimator --------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The validation sample never contains a fitting point: an estimator that
// reproduces its own fitting points exactly would otherwise look better
// than it is. Choices are drawn with a fixed seed so reports are
// reproducible.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Profile/AccuracyProfiling.h"

#include "sparseloom/Profile/StitchEvaluator.h"
#include "sparseloom/Space/AccuracyModel.h"
#include "sparseloom/Support/Diagnostics.h"

#include <algorithm>
#include <random>
#include <set>

namespace sparseloom {

namespace {

/// k^n, or UINT64_MAX when it does not fit.
uint64_t spaceSize(unsigned k, unsigned n) {
  uint64_t total = 1;
  for (unsigned s = 0; s < n; ++s) {
    if (total > UINT64_MAX / k)
      return UINT64_MAX;
    total *= k;
  }
  return total;
}

StitchChoice choiceAt(uint64_t index, unsigned k, unsigned n) {
  StitchChoice choice(n);
  for (unsigned s = n; s-- > 0;) {
    choice[s] = uint8_t(index % k);
    index /= k;
  }
  return choice;
}

std::vector<StitchChoice> allChoices(unsigned k, unsigned n) {
  std::vector<StitchChoice> all;
  uint64_t total = spaceSize(k, n);
  for (uint64_t i = 0; i < total; ++i)
    all.push_back(choiceAt(i, k, n));
  return all;
}

/// Up to `count` distinct stitches that are not in `exclude`, drawn
/// uniformly with `seed`; every such stitch when there are no more.
std::vector<StitchChoice> sampleOthers(unsigned k, unsigned n, size_t count,
                                       const std::set<StitchChoice> &exclude,
                                       uint64_t seed) {
  uint64_t total = spaceSize(k, n);
  if (total != UINT64_MAX && total - exclude.size() <= count) {
    std::vector<StitchChoice> all;
    for (uint64_t i = 0; i < total; ++i)
      if (StitchChoice c = choiceAt(i, k, n); !exclude.count(c))
        all.push_back(std::move(c));
    return all;
  }
  std::mt19937_64 rng(seed);
  std::set<StitchChoice> picked;
  while (picked.size() < count) {
    StitchChoice c(n);
    for (uint8_t &v : c)
      v = uint8_t(rng() % k);
    if (!exclude.count(c))
      picked.insert(std::move(c));
  }
  return {picked.begin(), picked.end()};
}

std::vector<MeasuredStitch>
toMeasured(const std::vector<AccuracyMeasurement> &measurements) {
  std::vector<MeasuredStitch> out;
  for (const AccuracyMeasurement &m : measurements)
    out.push_back({m.choice, m.accuracy, m.samples});
  return out;
}

EstimatorCheck toCheck(const EstimatorValidation &v) {
  return {v.points, v.meanAbsErrorPoints, v.maxAbsErrorPoints,
          v.rankCorrelation};
}

llvm::Expected<std::unique_ptr<StitchEvaluator>>
makeEvaluator(const Family &family, const std::string &inputs,
              const std::string &labels, unsigned threads) {
  auto data = loadEvaluationData(inputs, labels);
  if (!data)
    return data.takeError();
  EvaluatorOptions options;
  options.threads = threads;
  return StitchEvaluator::create(family, std::move(*data), options);
}

} // namespace

llvm::Error profileFamilyAccuracy(Family &family,
                                  const AccuracyProfilingOptions &options) {
  if (!family.state.segments)
    return makeError("profile-accuracy needs the split family: run "
                     "align-family,detect-boundaries,split first");
  if (options.calibrationInputs.empty())
    return makeError("profile-accuracy needs calibration data: give "
                     "calib-inputs=FILE.npy (and calib-labels=FILE.npy)");
  if (options.testInputs.empty() && !options.testLabels.empty())
    return makeError("profile-accuracy: test-labels without test-inputs");
  const unsigned k = unsigned(family.size());
  const unsigned n = unsigned(family.state.segments->perMember.front().size());
  if (k > 255)
    return makeError("profile-accuracy: at most 255 variants per task");

  auto calib = makeEvaluator(family, options.calibrationInputs,
                             options.calibrationLabels, options.threads);
  if (!calib)
    return calib.takeError();
  std::unique_ptr<StitchEvaluator> test;
  if (!options.testInputs.empty()) {
    auto made = makeEvaluator(family, options.testInputs, options.testLabels,
                              options.threads);
    if (!made)
      return made.takeError();
    test = std::move(*made);
    if (test->hasLabels() != (*calib)->hasLabels())
      return makeError("profile-accuracy: give labels for both the "
                       "calibration and the test split, or for neither");
  }

  FamilyAccuracyProfile profile;
  profile.metric = (*calib)->hasLabels() ? "top-1" : "agreement";
  profile.calibrationFile = options.calibrationInputs;
  profile.calibrationSamples = int64_t((*calib)->samples());
  profile.classes = unsigned((*calib)->classes());
  profile.chance = profile.classes > 1 ? 1.0 / profile.classes : 0.0;

  std::vector<StitchChoice> fitting = fittingChoices(k, n, /*reference=*/0);
  std::set<StitchChoice> fittingSet(fitting.begin(), fitting.end());
  profile.fittingPoints = fittingSet.size();
  uint64_t total = spaceSize(k, n);
  profile.exhaustive = options.exhaustive && total <= options.exhaustiveLimit;
  if (options.exhaustive && !profile.exhaustive)
    return makeError("profile-accuracy: exhaustive measurement of " +
                     std::to_string(k) + "^" + std::to_string(n) +
                     " stitches exceeds exhaustive-limit=" +
                     std::to_string(options.exhaustiveLimit) +
                     " (raise the limit or drop exhaustive)");

  // Calibration: the fitting points, or everything; then the validation
  // sample (none when the calibration split validates an exhaustive run).
  std::vector<StitchChoice> calibChoices =
      profile.exhaustive ? allChoices(k, n) : fitting;
  std::vector<StitchChoice> validationChoices;
  if (!profile.exhaustive)
    validationChoices =
        sampleOthers(k, n, options.validationSample, fittingSet, options.seed);
  else if (test)
    validationChoices = calibChoices;
  const uint64_t work = calibChoices.size() + validationChoices.size();
  auto progressFrom = [&](uint64_t before) {
    return [&options, before, work](size_t done) {
      if (options.progress)
        options.progress(before + done, work);
    };
  };
  auto calibMeasured = (*calib)->measure(calibChoices, progressFrom(0));
  if (!calibMeasured)
    return calibMeasured.takeError();
  std::vector<AccuracyMeasurement> fitPoints;
  for (const AccuracyMeasurement &m : *calibMeasured)
    if (fittingSet.count(m.choice))
      fitPoints.push_back(m);
  auto model = AccuracyModel::fit(k, n, 0, fitPoints, profile.chance);
  if (!model)
    return model.takeError();
  profile.calibration = toMeasured(*calibMeasured);
  profile.referenceLogit = model->referenceLogit();
  profile.unary.assign(n, std::vector<double>(k));
  profile.pair.assign(
      n - 1, std::vector<std::vector<double>>(k, std::vector<double>(k)));
  for (unsigned s = 0; s < n; ++s)
    for (unsigned v = 0; v < k; ++v) {
      profile.unary[s][v] = model->segmentScore(s, v);
      if (s + 1 < n)
        for (unsigned w = 0; w < k; ++w)
          profile.pair[s][v][w] = model->pairScore(s, v, w);
    }

  // Validation: stitches that were not fitting points, measured exactly on
  // the test split (or the calibration split without one).
  StitchEvaluator &validator = test ? *test : **calib;
  profile.testFile = test ? options.testInputs : options.calibrationInputs;
  profile.testSamples = int64_t(validator.samples());
  std::vector<AccuracyMeasurement> measured;
  if (profile.exhaustive && !test) {
    measured = *calibMeasured;
  } else {
    auto got =
        validator.measure(validationChoices, progressFrom(calibChoices.size()));
    if (!got)
      return got.takeError();
    measured = std::move(*got);
  }
  profile.test = toMeasured(measured);
  std::vector<AccuracyMeasurement> heldOut;
  for (const AccuracyMeasurement &m : measured)
    if (!fittingSet.count(m.choice))
      heldOut.push_back(m);
  if (!heldOut.empty()) {
    profile.estimator = toCheck(model->validate(heldOut));
    profile.naive = toCheck(model->validate(heldOut, /*naive=*/true));
  }
  family.state.accuracy = std::move(profile);
  return llvm::Error::success();
}

} // namespace sparseloom
