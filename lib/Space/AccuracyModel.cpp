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

/// The logit of an accuracy above chance, measured on N samples. The
/// accuracy is pulled half a sample away from the extremes so the logit
/// stays finite (100 % on 500 samples does not mean infinitely accurate,
/// and a stitch at or below chance is not infinitely bad).
double logitAboveChance(double accuracy, int64_t samples, double chance) {
  double half = samples > 0 ? 0.5 / (double(samples) + 1.0) : 1e-4;
  double p = samples > 0
                 ? (accuracy * double(samples) + 0.5) / (double(samples) + 1.0)
                 : accuracy;
  double q = (p - chance) / (1 - chance);
  q = std::clamp(q, half, 1 - half);
  return std::log(q / (1 - q));
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
  for (unsigned b = 0; b + 1 < numSegments; ++b)
    for (unsigned v = 0; v < numVariants; ++v)
      for (unsigned w = 0; w < numVariants; ++w) {
        if (v == reference || w == reference)
          continue;
        StitchChoice pair = base;
        pair[b] = uint8_t(v);
        pair[b + 1] = uint8_t(w);
        choices.push_back(pair);
      }
  // Originals; with one or two segments they are listed already.
  if (numSegments > 2)
    for (unsigned v = 0; v < numVariants; ++v)
      if (v != reference)
        choices.push_back(StitchChoice(numSegments, uint8_t(v)));
  return choices;
}

llvm::Expected<AccuracyModel> AccuracyModel::fit(
    unsigned numVariants, unsigned numSegments, unsigned reference,
    const std::vector<AccuracyMeasurement> &measurements, double chance) {
  if (numVariants == 0 || numSegments == 0 || reference >= numVariants)
    return makeError("accuracy model: empty family or bad reference variant");
  if (!(chance >= 0 && chance < 1))
    return makeError("accuracy model: chance accuracy must be in [0, 1)");
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
  model.reference_ = reference;
  model.chance_ = chance;
  StitchChoice base(numSegments, uint8_t(reference));
  auto logitOf = [&](const StitchChoice &choice,
                     const std::string &what) -> llvm::Expected<double> {
    auto it = byChoice.find(choice);
    if (it == byChoice.end())
      return makeError("accuracy model: " + what + " was not measured");
    return logitAboveChance(it->second->accuracy, it->second->samples, chance);
  };
  auto refLogit = logitOf(base, "the reference variant");
  if (!refLogit)
    return refLogit.takeError();
  model.referenceLogit_ = *refLogit;
  model.referenceAccuracy_ = byChoice[base]->accuracy;
  model.unary_.assign(numSegments, std::vector<double>(numVariants, 0));
  model.naiveLoss_.assign(numSegments, std::vector<double>(numVariants, 0));
  for (unsigned s = 0; s < numSegments; ++s)
    for (unsigned v = 0; v < numVariants; ++v) {
      if (v == reference)
        continue;
      StitchChoice swap = base;
      swap[s] = uint8_t(v);
      auto logit = logitOf(swap, "the swap of segment " + std::to_string(s) +
                                     " to variant " + std::to_string(v));
      if (!logit)
        return logit.takeError();
      model.unary_[s][v] = *logit - *refLogit;
      model.naiveLoss_[s][v] =
          byChoice[swap]->accuracy - byChoice[base]->accuracy;
    }
  model.pair_.assign(numSegments > 0 ? numSegments - 1 : 0,
                     std::vector<std::vector<double>>(
                         numVariants, std::vector<double>(numVariants, 0)));
  for (unsigned b = 0; b + 1 < numSegments; ++b)
    for (unsigned v = 0; v < numVariants; ++v)
      for (unsigned w = 0; w < numVariants; ++w) {
        if (v == reference || w == reference)
          continue;
        StitchChoice pair = base;
        pair[b] = uint8_t(v);
        pair[b + 1] = uint8_t(w);
        auto logit =
            logitOf(pair, "the pair swap of segments " + std::to_string(b) +
                              "," + std::to_string(b + 1) + " to variants " +
                              std::to_string(v) + "," + std::to_string(w));
        if (!logit)
          return logit.takeError();
        model.pair_[b][v][w] =
            *logit - *refLogit - model.unary_[b][v] - model.unary_[b + 1][w];
      }
  return model;
}

AccuracyModel AccuracyModel::fromParameters(
    unsigned reference, double chance, double referenceLogit,
    std::vector<std::vector<double>> unary,
    std::vector<std::vector<std::vector<double>>> pair) {
  AccuracyModel model;
  model.numSegments_ = unsigned(unary.size());
  model.numVariants_ = unary.empty() ? 0 : unsigned(unary.front().size());
  model.reference_ = reference;
  model.chance_ = chance;
  model.referenceLogit_ = referenceLogit;
  model.referenceAccuracy_ = model.accuracyForScore(0);
  model.naiveLoss_.assign(model.numSegments_,
                          std::vector<double>(model.numVariants_, 0));
  model.unary_ = std::move(unary);
  model.pair_ = std::move(pair);
  return model;
}

double AccuracyModel::score(const StitchChoice &choice) const {
  double x = 0;
  for (unsigned s = 0; s < numSegments_; ++s) {
    x += unary_[s][choice[s]];
    if (s + 1 < numSegments_)
      x += pair_[s][choice[s]][choice[s + 1]];
  }
  return x;
}

double AccuracyModel::accuracyForScore(double score) const {
  return chance_ + (1 - chance_) * sigmoid(referenceLogit_ + score);
}

double AccuracyModel::scoreForAccuracy(double accuracy) const {
  double q = std::clamp((accuracy - chance_) / (1 - chance_), 1e-9, 1 - 1e-9);
  return std::log(q / (1 - q)) - referenceLogit_;
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
