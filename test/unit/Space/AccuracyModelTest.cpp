//===- AccuracyModelTest.cpp - The stitch accuracy estimator --------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Synthetic families with a known ground truth: damage that compounds in
// logit space (as pruning damage does), mismatch damage where segments of
// two different variants meet, a chance floor, plus measurement noise. The
// fitted model must recover it from the reference, the single and adjacent
// pair swaps, and beat the naive additive model on held-out stitches.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Space/AccuracyModel.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace sparseloom;

namespace {

struct SyntheticFamily {
  unsigned k, n;
  std::vector<std::vector<double>> damage; // logit damage, [s][v]
  double baseLogit;
  /// Logit damage where segment b from v feeds segment b+1 from w != v,
  /// growing with how far apart the variants are.
  double mismatch;
  double chance;

  double truth(const StitchChoice &choice) const {
    double x = baseLogit;
    for (unsigned s = 0; s < n; ++s) {
      x += damage[s][choice[s]];
      if (s + 1 < n)
        x -= mismatch * std::abs(int(choice[s]) - int(choice[s + 1]));
    }
    return chance + (1 - chance) / (1 + std::exp(-x));
  }
};

SyntheticFamily makeFamily(std::mt19937 &rng, unsigned k, unsigned n,
                           double mismatch, double chance = 0) {
  std::uniform_real_distribution<double> unit(0, 1);
  SyntheticFamily f{k, n, {}, 3.0, mismatch, chance}; // base 95.3 %
  f.damage.assign(n, std::vector<double>(k, 0));
  for (unsigned s = 0; s < n; ++s) {
    double sensitivity = 0.2 + unit(rng);
    for (unsigned v = 1; v < k; ++v)
      f.damage[s][v] = -sensitivity * std::pow(double(v) / (k - 1), 2) * 1.5;
  }
  return f;
}

AccuracyMeasurement measure(const SyntheticFamily &f,
                            const StitchChoice &choice, int64_t samples,
                            std::mt19937 &rng) {
  std::binomial_distribution<int64_t> draw(samples, f.truth(choice));
  return {choice, double(draw(rng)) / double(samples), samples};
}

StitchChoice randomChoice(std::mt19937 &rng, unsigned k, unsigned n) {
  StitchChoice c(n);
  for (auto &v : c)
    v = uint8_t(rng() % k);
  return c;
}

} // namespace

TEST(AccuracyModel, RecoversCompoundingAndBeatsNaive) {
  std::mt19937 rng(7);
  SyntheticFamily f = makeFamily(rng, 5, 4, /*mismatch=*/0.0);
  std::vector<AccuracyMeasurement> fitting;
  for (const StitchChoice &c : fittingChoices(5, 4, 0))
    fitting.push_back(measure(f, c, 20000, rng));
  // Reference, 4 x 4 swaps, 3 x 4 x 4 adjacent pairs, 4 more originals.
  EXPECT_EQ(fitting.size(), 1u + 4 * 4 + 3 * 16 + 4);
  auto model = AccuracyModel::fit(5, 4, 0, fitting);
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  std::vector<AccuracyMeasurement> heldOut;
  for (int i = 0; i < 200; ++i) {
    StitchChoice c = randomChoice(rng, 5, 4);
    heldOut.push_back({c, f.truth(c), 0});
  }
  EstimatorValidation ours = model->validate(heldOut);
  EstimatorValidation naive = model->validate(heldOut, /*naive=*/true);
  EXPECT_LT(ours.meanAbsErrorPoints, 1.0);
  EXPECT_LT(ours.meanAbsErrorPoints, naive.meanAbsErrorPoints);
  EXPECT_GT(ours.rankCorrelation, 0.95);
}

// Damage where different variants meet is what single swaps cannot see:
// the pair terms capture it exactly (noise-free measurements, chance floor
// at 10 %), the naive model is far off, and score order is prediction
// order so the DP may add scores.
TEST(AccuracyModel, CapturesBoundaryMismatch) {
  std::mt19937 rng(11);
  SyntheticFamily f = makeFamily(rng, 4, 5, /*mismatch=*/0.4, 0.1);
  std::vector<AccuracyMeasurement> fitting;
  for (const StitchChoice &c : fittingChoices(4, 5, 0))
    fitting.push_back({c, f.truth(c), 0});
  auto model = AccuracyModel::fit(4, 5, 0, fitting, /*chance=*/0.1);
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  std::vector<AccuracyMeasurement> all;
  for (int i = 0; i < 300; ++i) {
    StitchChoice c = randomChoice(rng, 4, 5);
    all.push_back({c, f.truth(c), 0});
  }
  EstimatorValidation ours = model->validate(all);
  EstimatorValidation naive = model->validate(all, /*naive=*/true);
  EXPECT_LT(ours.meanAbsErrorPoints, 0.01);
  EXPECT_GT(naive.meanAbsErrorPoints, 3.0);
  for (const AccuracyMeasurement &m : all)
    EXPECT_GE(model->predict(m.choice), 0.1);
  StitchChoice a = {1, 1, 2, 2, 3}, b = {1, 3, 1, 3, 1};
  EXPECT_EQ(model->score(a) > model->score(b),
            model->predict(a) > model->predict(b));
  // A chance level outside [0, 1) is refused.
  EXPECT_FALSE(bool(AccuracyModel::fit(4, 5, 0, fitting, 1.0)));
}

TEST(AccuracyModel, MissingMeasurementsAreErrors) {
  std::vector<AccuracyMeasurement> onlyBase = {{StitchChoice(3, 0), 0.9, 100}};
  auto model = AccuracyModel::fit(2, 3, 0, onlyBase);
  ASSERT_FALSE(bool(model));
  EXPECT_NE(llvm::toString(model.takeError())
                .find("swap of segment 0 to variant 1 was not measured"),
            std::string::npos);
  std::vector<AccuracyMeasurement> noPairs = onlyBase;
  for (uint8_t s = 0; s < 3; ++s) {
    StitchChoice c(3, 0);
    c[s] = 1;
    noPairs.push_back({c, 0.8, 100});
  }
  auto model2 = AccuracyModel::fit(2, 3, 0, noPairs);
  ASSERT_FALSE(bool(model2));
  EXPECT_NE(llvm::toString(model2.takeError())
                .find("pair swap of segments 0,1 to variants 1,1"),
            std::string::npos);
  auto noBase = AccuracyModel::fit(2, 3, 0, {});
  ASSERT_FALSE(bool(noBase));
  EXPECT_NE(llvm::toString(noBase.takeError()).find("reference variant"),
            std::string::npos);
  auto wrongSize = AccuracyModel::fit(2, 3, 0, {{StitchChoice(2, 0), 0.9, 1}});
  ASSERT_FALSE(bool(wrongSize));
  EXPECT_NE(llvm::toString(wrongSize.takeError()).find("expected 3"),
            std::string::npos);
}
