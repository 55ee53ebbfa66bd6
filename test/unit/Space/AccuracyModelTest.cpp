//===- AccuracyModelTest.cpp - The stitch accuracy estimator --------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Synthetic families with a known ground truth: damage that compounds in
// logit space (as pruning damage does), plus measurement noise. The fitted
// model must recover it from the reference, the swaps and the originals,
// and beat the naive additive model on held-out stitches.
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
  /// Extra damage per additional swapped segment: 0 means damage adds up
  /// exactly in logit space; > 0 means swaps hurt more together.
  double interaction;

  double truth(const StitchChoice &choice) const {
    double x = 0;
    unsigned swapped = 0;
    for (unsigned s = 0; s < n; ++s) {
      x += damage[s][choice[s]];
      swapped += choice[s] != 0;
    }
    double amplify = 1 + interaction * (swapped > 0 ? swapped - 1 : 0);
    return 1 / (1 + std::exp(-(baseLogit + amplify * x)));
  }
};

SyntheticFamily makeFamily(std::mt19937 &rng, unsigned k, unsigned n,
                           double interaction) {
  std::uniform_real_distribution<double> unit(0, 1);
  SyntheticFamily f{k, n, {}, 3.0, interaction}; // base 95.3 %
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
  SyntheticFamily f = makeFamily(rng, 5, 4, /*interaction=*/0.0);
  std::vector<AccuracyMeasurement> fitting;
  for (const StitchChoice &c : fittingChoices(5, 4, 0))
    fitting.push_back(measure(f, c, 20000, rng));
  EXPECT_EQ(fitting.size(), 1u + 4 * 4 + 4);
  auto model = AccuracyModel::fit(5, 4, 0, fitting);
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  EXPECT_NEAR(model->linkSlope(), 1.0, 0.1);
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

// When swaps hurt more together than apart, the originals reveal it and the
// fitted slope rises above 1.
TEST(AccuracyModel, FitsStrongerInteraction) {
  std::mt19937 rng(11);
  SyntheticFamily f = makeFamily(rng, 4, 5, /*interaction=*/0.15);
  std::vector<AccuracyMeasurement> fitting;
  for (const StitchChoice &c : fittingChoices(4, 5, 0))
    fitting.push_back({c, f.truth(c), 0});
  auto model = AccuracyModel::fit(4, 5, 0, fitting);
  ASSERT_TRUE(bool(model));
  // Swaps alone say b = 1 (one swap's logit is what it is); the originals
  // pull it up.
  EXPECT_GT(model->linkSlope(), 1.1);
  // Score order is prediction order (monotone link).
  StitchChoice a(5, 1), b(5, 2);
  EXPECT_EQ(model->score(a) > model->score(b),
            model->predict(a) > model->predict(b));
}

TEST(AccuracyModel, MissingMeasurementsAreErrors) {
  std::vector<AccuracyMeasurement> onlyBase = {{StitchChoice(3, 0), 0.9, 100}};
  auto model = AccuracyModel::fit(2, 3, 0, onlyBase);
  ASSERT_FALSE(bool(model));
  EXPECT_NE(llvm::toString(model.takeError())
                .find("swap of segment 0 to variant 1 was not measured"),
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
