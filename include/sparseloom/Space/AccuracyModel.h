//===- AccuracyModel.h - Predicting the accuracy of stitches ----*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Measuring all k^n stitched variants is out of the question beyond toy
// sizes, so the accuracy of a stitch is predicted from a few measurements:
// the k originals and the single-segment swaps (the reference variant with
// one segment taken from another variant).
//
// The model is additive in logit space with a fitted monotone link:
//
//   predicted(choice) = sigmoid(a + b * sum_s delta[s][choice[s]])
//
// where delta[s][v] = logit(acc(swap s->v)) - logit(acc(reference)) is the
// damage of one swap, and (a, b) are fitted by least squares in logit space
// on every measured point (originals, swaps, reference). Damage compounds
// in logit space, not in accuracy points: two swaps that each lose 5 points
// from 95 % lose more than 10 points together, which the naive additive
// model (acc = acc_ref + sum of point losses) misses; b > 1 lets the fit
// express that swaps interact more (or less, b < 1) than independently.
//
// Because the link is monotone (b > 0 is enforced), ordering stitches by
// the additive score sum_s delta[s][v] orders them by predicted accuracy:
// the score is what the Pareto DP (ParetoFront.h) adds up.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_SPACE_ACCURACYMODEL_H
#define SPARSELOOM_SPACE_ACCURACYMODEL_H

#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace sparseloom {

/// A stitch: the variant chosen for each segment.
using StitchChoice = std::vector<uint8_t>;

/// One measured stitch: its choice and its accuracy in [0, 1] on
/// `samples` samples.
struct AccuracyMeasurement {
  StitchChoice choice;
  double accuracy = 0;
  int64_t samples = 0;
};

/// Prediction quality on a set of held-out measurements.
struct EstimatorValidation {
  size_t points = 0;
  /// Mean and maximum absolute error, in accuracy points (0..100).
  double meanAbsErrorPoints = 0;
  double maxAbsErrorPoints = 0;
  /// Spearman rank correlation of predicted and measured accuracy.
  double rankCorrelation = 0;
};

class AccuracyModel {
public:
  /// Fits the model. `measurements` must contain the reference (all
  /// segments from `reference`) and every single-segment swap from it;
  /// any further points (the originals, random stitches) refine the link.
  static llvm::Expected<AccuracyModel>
  fit(unsigned numVariants, unsigned numSegments, unsigned reference,
      const std::vector<AccuracyMeasurement> &measurements);

  /// The naive additive model on the same measurements, for comparison:
  /// acc = acc_ref + sum_s (acc(swap s->v) - acc_ref), clamped to [0, 1].
  double predictNaive(const StitchChoice &choice) const;

  /// Predicted accuracy in [0, 1].
  double predict(const StitchChoice &choice) const;
  /// The additive score whose order equals the predicted accuracy's order.
  double score(const StitchChoice &choice) const;
  /// delta[s][v], the per-segment contribution to score().
  double segmentScore(unsigned segment, unsigned variant) const {
    return delta_[segment][variant];
  }
  /// The link: predicted accuracy for a given score.
  double accuracyForScore(double score) const;

  double linkIntercept() const { return a_; }
  double linkSlope() const { return b_; }
  unsigned numVariants() const { return numVariants_; }
  unsigned numSegments() const { return numSegments_; }

  /// Compares predictions (this model's, or the naive one's) with
  /// measurements the model was not fitted on.
  EstimatorValidation validate(const std::vector<AccuracyMeasurement> &heldOut,
                               bool naive = false) const;

private:
  unsigned numVariants_ = 0;
  unsigned numSegments_ = 0;
  double referenceAccuracy_ = 0;
  std::vector<std::vector<double>> delta_;     // logit damage per swap
  std::vector<std::vector<double>> naiveLoss_; // accuracy-point loss
  double a_ = 0;
  double b_ = 1;
};

/// The choices an estimator needs measured: the reference, every
/// single-segment swap from it, and the k originals (deduplicated).
std::vector<StitchChoice>
fittingChoices(unsigned numVariants, unsigned numSegments, unsigned reference);

} // namespace sparseloom

#endif // SPARSELOOM_SPACE_ACCURACYMODEL_H
