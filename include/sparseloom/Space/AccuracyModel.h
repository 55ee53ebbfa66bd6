//===- AccuracyModel.h - Predicting the accuracy of stitches ----*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Measuring all k^n stitched variants is out of the question beyond toy
// sizes, so the accuracy of a stitch is predicted from a few measurements
// around the reference variant r: the reference itself, every single-segment
// swap (r everywhere but segment s, which comes from v), and every adjacent
// pair swap (segments b and b+1 from v and w, r elsewhere).
//
// The model is a second-order expansion in logit space, restricted to the
// chain of segments:
//
//   logit(c) = logit(r) + sum_s u[s][c_s] + sum_b P[b][c_b][c_b+1]
//   u[s][v]    = logit(swap s->v) - logit(r)
//   P[b][v][w] = logit(pair b->v,w) - logit(r) - u[b][v] - u[b+1][w]
//
// with P = 0 when either side is the reference. Every fitting point is
// reproduced exactly. Why pairs at boundaries: variants fine-tuned apart
// are co-adapted wholes, and the damage of a stitch sits largely where a
// segment of one variant feeds a segment of another; a single swap from the
// reference cannot tell how v's output suits w's input. Damage compounds in
// logit space, not in accuracy points (two swaps losing 5 points each from
// 95 % lose more than 10 together).
//
// "logit" is taken above chance: accuracy = chance + (1 - chance) *
// sigmoid(x), chance = 1 / classes, because a badly stitched classifier
// falls to guessing, not to 0 %.
//
// The link is monotone, so ordering stitches by the score (the sums above)
// orders them by predicted accuracy: the Pareto DP (ParetoFront.h) adds up
// u as per-segment scores and P as pair scores across boundaries.
//
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
  /// segments from `reference`), every single-segment swap from it and
  /// every adjacent pair swap (fittingChoices lists them); further points
  /// are ignored. `chance` is the accuracy of guessing (1 / classes), the
  /// floor predictions approach; 0 when unknown.
  static llvm::Expected<AccuracyModel>
  fit(unsigned numVariants, unsigned numSegments, unsigned reference,
      const std::vector<AccuracyMeasurement> &measurements, double chance = 0);

  /// The model with the given parameters (as recorded in a family's
  /// accuracy profile): unary [s][v], pair [b][v][w]. The naive model is
  /// not recorded, so its predictNaive() is the reference accuracy.
  static AccuracyModel
  fromParameters(unsigned reference, double chance, double referenceLogit,
                 std::vector<std::vector<double>> unary,
                 std::vector<std::vector<std::vector<double>>> pair);

  /// The naive additive model on the same measurements, for comparison:
  /// acc = acc_ref + sum_s (acc(swap s->v) - acc_ref), clamped to [0, 1].
  double predictNaive(const StitchChoice &choice) const;

  /// Predicted accuracy in [chance, 1].
  double predict(const StitchChoice &choice) const;
  /// The score whose order equals the predicted accuracy's order.
  double score(const StitchChoice &choice) const;
  /// u[s][v], the per-segment part of score().
  double segmentScore(unsigned segment, unsigned variant) const {
    return unary_[segment][variant];
  }
  /// P[b][v][w], the part of score() for boundary b between segment b from
  /// v and segment b+1 from w.
  double pairScore(unsigned boundary, unsigned before, unsigned after) const {
    return pair_[boundary][before][after];
  }
  /// The link: predicted accuracy for a given score.
  double accuracyForScore(double score) const;
  /// Its inverse: the score of a stitch known to have `accuracy` (a
  /// measured one), so measurements and predictions share one order.
  double scoreForAccuracy(double accuracy) const;

  unsigned numVariants() const { return numVariants_; }
  unsigned numSegments() const { return numSegments_; }
  unsigned reference() const { return reference_; }
  double chance() const { return chance_; }
  double referenceLogit() const { return referenceLogit_; }

  /// Compares predictions (this model's, or the naive one's) with
  /// measurements the model was not fitted on.
  EstimatorValidation validate(const std::vector<AccuracyMeasurement> &heldOut,
                               bool naive = false) const;

private:
  unsigned numVariants_ = 0;
  unsigned numSegments_ = 0;
  unsigned reference_ = 0;
  double chance_ = 0;
  double referenceAccuracy_ = 0;
  double referenceLogit_ = 0;
  std::vector<std::vector<double>> unary_;             // [s][v]
  std::vector<std::vector<std::vector<double>>> pair_; // [b][v][w]
  std::vector<std::vector<double>> naiveLoss_;         // accuracy points
};

/// The choices an estimator needs measured: the reference, every
/// single-segment swap from it, every adjacent pair swap, and the k
/// originals (reported as measured; deduplicated):
/// 1 + n(k-1) + (n-1)(k-1)^2 + (k-1) for n > 1.
std::vector<StitchChoice>
fittingChoices(unsigned numVariants, unsigned numSegments, unsigned reference);

} // namespace sparseloom

#endif // SPARSELOOM_SPACE_ACCURACYMODEL_H
