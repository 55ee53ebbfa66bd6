//===- AccuracyModel.cpp - Predicting the accuracy of stitches ------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Space/AccuracyModel.h"

#include "sparseloom/Support/Diagnostics.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

namespace sparseloom {

namespace {

/// Accuracy measured on N samples, pulled half a sample away from 0 and 1
/// so its logit stays finite (a 100 % measurement on 500 samples does not
/// mean infinitely accurate).
double smoothedLogit(double accuracy, int64_t samples) {
  double p;
  if (samples > 0)
    p = (accuracy * double(samples) + 0.5) / (double(samples) + 1.0);
  else
    p = std::clamp(accuracy, 1e-4, 1 - 1e-4);
  return std::log(p / (1 - p));
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

/// Ranks with ties averaged, for Spearman's correlation.
std::vector<double> ranks(const std::vector<double> &values) {
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<double> result(values.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && values[order[j + 1]] == values[order[i]])
      ++j;
    for (size_t t = i; t <= j; ++t)
      result[order[t]] = (double(i) + double(j)) / 2.0;
    i = j + 1;
  }
  return result;
}

double pearson(const std::vector<double> &x, const std::vector<double> &y) {
  double n = double(x.size());
  double mx = std::accumulate(x.begin(), x.end(), 0.0) / n;
  double my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  if (sxx == 0 || syy == 0)
    return 0;
  return sxy / std::sqrt(sxx * syy);
}

} // namespace

std::vector<StitchChoice>
fittingChoices(unsigned numVariants, unsigned numSegments, unsigned reference) {
  std::vector<StitchChoice> choices;
  StitchChoice base(numSegments, uint8_t(reference));
  choices.push_back(base);
  for (unsigned s = 0; s < numSegments; ++s)
    for (unsigned v = 0; v < numVariants; ++v) {
      if (v == reference)
        continue;
      StitchChoice swap = base;
      swap[s] = uint8_t(v);
      choices.push_back(swap);
    }
  // Originals; with one segment they are the swaps already.
  if (numSegments > 1)
    for (unsigned v = 0; v < numVariants; ++v)
      if (v != reference)
        choices.push_back(StitchChoice(numSegments, uint8_t(v)));
  return choices;
}

llvm::Expected<AccuracyModel>
AccuracyModel::fit(unsigned numVariants, unsigned numSegments,
                   unsigned reference,
                   const std::vector<AccuracyMeasurement> &measurements) {
  if (numVariants == 0 || numSegments == 0 || reference >= numVariants)
    return makeError("accuracy model: empty family or bad reference variant");
  std::map<StitchChoice, const AccuracyMeasurement *> byChoice;
  for (const AccuracyMeasurement &m : measurements) {
    if (m.choice.size() != numSegments)
      return makeError("accuracy model: a measurement has " +
                       std::to_string(m.choice.size()) +
                       " segment choices, expected " +
                       std::to_string(numSegments));
    for (uint8_t v : m.choice)
      if (v >= numVariants)
        return makeError("accuracy model: a measurement names variant " +
                         std::to_string(v) + " of only " +
                         std::to_string(numVariants));
    if (!(m.accuracy >= 0 && m.accuracy <= 1))
      return makeError("accuracy model: accuracy must be in [0, 1]");
    byChoice[m.choice] = &m;
  }
  AccuracyModel model;
  model.numVariants_ = numVariants;
  model.numSegments_ = numSegments;
  StitchChoice base(numSegments, uint8_t(reference));
  auto baseIt = byChoice.find(base);
  if (baseIt == byChoice.end())
    return makeError("accuracy model: the reference variant was not measured");
  const AccuracyMeasurement &ref = *baseIt->second;
  model.referenceAccuracy_ = ref.accuracy;
  double refLogit = smoothedLogit(ref.accuracy, ref.samples);
  model.delta_.assign(numSegments, std::vector<double>(numVariants, 0));
  model.naiveLoss_.assign(numSegments, std::vector<double>(numVariants, 0));
  for (unsigned s = 0; s < numSegments; ++s)
    for (unsigned v = 0; v < numVariants; ++v) {
      if (v == reference)
        continue;
      StitchChoice swap = base;
      swap[s] = uint8_t(v);
      auto it = byChoice.find(swap);
      if (it == byChoice.end())
        return makeError("accuracy model: the swap of segment " +
                         std::to_string(s) + " to variant " +
                         std::to_string(v) + " was not measured");
      model.delta_[s][v] =
          smoothedLogit(it->second->accuracy, it->second->samples) - refLogit;
      model.naiveLoss_[s][v] = it->second->accuracy - ref.accuracy;
    }

  // Fit the link y = a + b x by weighted least squares, x = additive score,
  // y = measured logit. A point with m swapped segments weighs m (at least
  // 1): multi-segment points are the only evidence of how swaps compound.
  double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const auto &[choice, m] : byChoice) {
    double x = 0;
    unsigned swapped = 0;
    for (unsigned s = 0; s < numSegments; ++s) {
      x += model.delta_[s][choice[s]];
      swapped += choice[s] != reference;
    }
    double y = smoothedLogit(m->accuracy, m->samples);
    double w = std::max(1u, swapped);
    sw += w;
    sx += w * x;
    sy += w * y;
    sxx += w * x * x;
    sxy += w * x * y;
  }
  double denom = sw * sxx - sx * sx;
  if (denom > 1e-12 * std::max(1.0, sw * sxx)) {
    model.b_ = (sw * sxy - sx * sy) / denom;
    model.a_ = (sy - model.b_ * sx) / sw;
  } else {
    // Every swap is harmless (x constant): the reference accuracy is all
    // there is to predict.
    model.b_ = 1;
    model.a_ = refLogit;
  }
  // The link must stay increasing so that score order is accuracy order.
  if (model.b_ < 0.05) {
    model.b_ = 0.05;
    model.a_ = (sy - model.b_ * sx) / sw;
  }
  return model;
}

double AccuracyModel::score(const StitchChoice &choice) const {
  double x = 0;
  for (unsigned s = 0; s < numSegments_; ++s)
    x += delta_[s][choice[s]];
  return x;
}

double AccuracyModel::accuracyForScore(double score) const {
  return sigmoid(a_ + b_ * score);
}

double AccuracyModel::predict(const StitchChoice &choice) const {
  return accuracyForScore(score(choice));
}

double AccuracyModel::predictNaive(const StitchChoice &choice) const {
  double acc = referenceAccuracy_;
  for (unsigned s = 0; s < numSegments_; ++s)
    acc += naiveLoss_[s][choice[s]];
  return std::clamp(acc, 0.0, 1.0);
}

EstimatorValidation
AccuracyModel::validate(const std::vector<AccuracyMeasurement> &heldOut,
                        bool naive) const {
  EstimatorValidation result;
  result.points = heldOut.size();
  if (heldOut.empty())
    return result;
  std::vector<double> predicted, measured;
  for (const AccuracyMeasurement &m : heldOut) {
    double p = naive ? predictNaive(m.choice) : predict(m.choice);
    double error = std::fabs(p - m.accuracy) * 100;
    result.meanAbsErrorPoints += error;
    result.maxAbsErrorPoints = std::max(result.maxAbsErrorPoints, error);
    predicted.push_back(p);
    measured.push_back(m.accuracy);
  }
  result.meanAbsErrorPoints /= double(heldOut.size());
  result.rankCorrelation = pearson(ranks(predicted), ranks(measured));
  return result;
}

} // namespace sparseloom
