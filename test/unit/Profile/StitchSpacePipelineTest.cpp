//===- StitchSpacePipelineTest.cpp - Profile, enumerate, select on digits -===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The stitch-space passes on a real family (digits, 6 variants, 3 segments,
// modeled SoC with four processors and split placement): the front the DP
// finds equals the brute-force front of the same space (pair terms,
// transfers and all), measured stitches carry their measured accuracy, and
// the selection fits its budget, uses only front points and covers more
// with a bigger budget. Bad inputs to selection are errors.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Pass/PassManager.h"
#include "sparseloom/Pass/PassRegistry.h"
#include "sparseloom/Space/FamilySelection.h"
#include "sparseloom/Space/ParetoFront.h"
#include "sparseloom/Space/StitchEnumeration.h"
#include "sparseloom/Tool/FamilyLoader.h"

#include <gtest/gtest.h>

#include <set>

using namespace sparseloom;

namespace {

const std::string kSource = SPARSELOOM_SOURCE_DIR;

Family runPipeline(const std::string &extra) {
  std::vector<std::string> files;
  for (const char *v : {"dense", "s50", "s70", "s80", "s90", "s95"})
    files.push_back(kSource + "/examples/zoo/digits/digits." + v + ".onnx");
  auto family = loadFamily(files, "");
  EXPECT_TRUE(bool(family)) << llvm::toString(family.takeError());
  auto passes = createPassPipeline(
      "align-family,detect-boundaries(segments=3),split,"
      "profile-accuracy(data-dir=" +
      kSource + "/examples/zoo/digits),enumerate-stitches(platform=" + kSource +
      "/platforms/soc-modeled.json)" + extra);
  EXPECT_TRUE(bool(passes)) << llvm::toString(passes.takeError());
  PassManager pm;
  for (auto &pass : *passes)
    pm.addPass(std::move(pass));
  llvm::Error err = pm.run(*family);
  EXPECT_FALSE(bool(err)) << llvm::toString(std::move(err));
  return std::move(*family);
}

using Objectives = std::tuple<double, double, double>;

} // namespace

TEST(StitchSpacePipeline, FrontsAreExactAndSelectionFitsTheBudget) {
  Family family = runPipeline(",select-variants(budget=60000)");
  ASSERT_TRUE(family.state.fronts && family.state.selection);
  const FamilyStitchFronts &fronts = *family.state.fronts;
  // Four processors, split placement allowed: four fronts, "split", "any".
  ASSERT_EQ(fronts.fronts.size(), 6u);
  EXPECT_EQ(fronts.fronts[4].placement, "split");
  EXPECT_EQ(fronts.fronts[5].placement, "any");

  // Rebuild the space the pass used and compare the DP with brute force on
  // the predicted scores (the pass adds measured points afterwards).
  auto platform = loadPlatformFile(kSource + "/platforms/soc-modeled.json");
  ASSERT_TRUE(bool(platform));
  SegmentCosts costs;
  costs.bytes = fronts.segmentBytes;
  // Latencies are recorded per subgraph; a source that replays them.
  struct Replay : LatencySource {
    const FamilyStitchFronts &f;
    mutable unsigned next = 0;
    explicit Replay(const FamilyStitchFronts &f) : f(f) {}
    std::string name() const override { return "replay"; }
    double segmentLatencyMs(const SegmentWork &work,
                            unsigned p) const override {
      return f.segmentLatencyMs[size_t(work.weightBytes)]
                               [size_t(work.activationBytes)][p];
    }
    std::string infeasibleReason(const SegmentWork &, unsigned) const override {
      return "";
    }
  } replay(fronts);
  const unsigned n = 3, k = 6;
  costs.work.assign(n, std::vector<SegmentWork>(k));
  for (unsigned s = 0; s < n; ++s)
    for (unsigned m = 0; m < k; ++m) {
      costs.work[s][m].weightBytes = s; // the replay's index
      costs.work[s][m].activationBytes = m;
    }
  costs.boundaryBytes.assign(n - 1, 4096);
  auto space = buildStitchSpace(family, *platform, replay, costs);
  ASSERT_TRUE(bool(space)) << llvm::toString(space.takeError());
  ASSERT_FALSE(space->pairScore.empty());
  FrontOptions options;
  for (unsigned p = 0; p < space->numProcessors; ++p) {
    options.processor = p;
    auto dp = paretoFrontDP(*space, options);
    auto brute = paretoFrontBruteForce(*space, options);
    // Same points; sums taken in another order may differ in the last bit.
    std::multiset<Objectives> a, b;
    for (const StitchPoint &x : dp)
      a.insert({x.score, x.latencyMs, x.memoryBytes});
    for (const StitchPoint &x : brute)
      b.insert({x.score, x.latencyMs, x.memoryBytes});
    ASSERT_EQ(a.size(), b.size()) << "processor " << p;
    for (auto i = a.begin(), j = b.begin(); i != a.end(); ++i, ++j) {
      EXPECT_NEAR(std::get<0>(*i), std::get<0>(*j), 1e-9) << "processor " << p;
      EXPECT_NEAR(std::get<1>(*i), std::get<1>(*j), 1e-9) << "processor " << p;
      EXPECT_EQ(std::get<2>(*i), std::get<2>(*j)) << "processor " << p;
    }
  }

  // Measured stitches (the fitting points include every original) carry
  // their measurement.
  size_t measured = 0;
  for (const FamilyFront &front : fronts.fronts)
    for (const FamilyStitchPoint &point : front.points) {
      measured += point.measuredAccuracy.has_value();
      if (point.original) {
        EXPECT_TRUE(point.measuredAccuracy.has_value());
      }
    }
  EXPECT_GT(measured, 0u);

  // The selection fits the budget and every pick is on some front.
  const FamilySelection &selection = *family.state.selection;
  EXPECT_LE(selection.memoryBytes, 60000.0);
  EXPECT_GE(selection.selected.size(), 1u);
  std::set<StitchChoiceList> onFront;
  for (const FamilyFront &front : fronts.fronts)
    for (const FamilyStitchPoint &point : front.points)
      onFront.insert(point.variants);
  // Picks are front points; the free stitches after them use only
  // subgraphs the picks ship.
  const size_t picked = selection.selected.size() - selection.freeStitches;
  std::set<std::pair<size_t, uint8_t>> shipped;
  for (size_t i = 0; i < picked; ++i) {
    EXPECT_TRUE(onFront.count(selection.selected[i].variants));
    for (size_t s = 0; s < selection.selected[i].variants.size(); ++s)
      shipped.insert({s, selection.selected[i].variants[s]});
  }
  for (size_t i = picked; i < selection.selected.size(); ++i)
    for (size_t s = 0; s < selection.selected[i].variants.size(); ++s)
      EXPECT_TRUE(shipped.count({s, selection.selected[i].variants[s]}));

  // A larger budget covers at least as much.
  FamilySelectionOptions bigger;
  bigger.budgetBytes = 1e6;
  ASSERT_FALSE(bool(selectFamilyVariants({&family}, bigger)));
  EXPECT_GE(family.state.selection->coverage, selection.coverage);
}

TEST(StitchSpacePipeline, BadSelectionInputsAreErrors) {
  FamilySelectionOptions options;
  options.budgetBytes = 1000;
  llvm::Error none = selectFamilyVariants({}, options);
  ASSERT_TRUE(bool(none));
  EXPECT_NE(llvm::toString(std::move(none)).find("no task"), std::string::npos);
  Family family = runPipeline("");
  options.budgetBytes = 0;
  llvm::Error zero = selectFamilyVariants({&family}, options);
  ASSERT_TRUE(bool(zero));
  EXPECT_NE(llvm::toString(std::move(zero)).find("must be positive"),
            std::string::npos);
  options.budgetBytes = 100;
  llvm::Error small = selectFamilyVariants({&family}, options);
  ASSERT_TRUE(bool(small));
  EXPECT_NE(llvm::toString(std::move(small)).find("task 'digits'"),
            std::string::npos);
  Family empty;
  empty.task = "empty";
  options.budgetBytes = 1e6;
  llvm::Error unenumerated = selectFamilyVariants({&empty}, options);
  ASSERT_TRUE(bool(unenumerated));
  EXPECT_NE(llvm::toString(std::move(unenumerated)).find("has no fronts"),
            std::string::npos);
}

// profile-accuracy reports each measured stitch to the pass manager's
// progress sink (sparseloom-compile draws it): counts rise by one up to the
// total, which is the fitting stitches plus the validation sample.
TEST(StitchSpacePipeline, ProfileAccuracyReportsProgress) {
  std::vector<std::string> files;
  for (const char *v : {"dense", "s90"})
    files.push_back(kSource + "/examples/zoo/digits/digits." + v + ".onnx");
  auto family = loadFamily(files, "");
  ASSERT_TRUE(bool(family)) << llvm::toString(family.takeError());
  auto passes =
      createPassPipeline("align-family,detect-boundaries(segments=3),split,"
                         "profile-accuracy(validation-sample=3,data-dir=" +
                         kSource + "/examples/zoo/digits)");
  ASSERT_TRUE(bool(passes)) << llvm::toString(passes.takeError());
  std::vector<std::pair<uint64_t, uint64_t>> reports;
  PassManagerOptions options;
  options.progress = [&](llvm::StringRef pass, uint64_t done, uint64_t total) {
    EXPECT_EQ(pass, "profile-accuracy");
    reports.emplace_back(done, total);
  };
  PassManager pm(options);
  for (auto &pass : *passes)
    pm.addPass(std::move(pass));
  llvm::Error err = pm.run(*family);
  ASSERT_FALSE(bool(err)) << llvm::toString(std::move(err));
  // k = 2, n = 3: 1 + 3 + 2 fitting stitches (reference, single swaps,
  // adjacent pairs) and the other original, then 1 of the 2 stitches left
  // for validation (the sample is capped by what remains).
  const uint64_t fitting = family->state.accuracy->fittingPoints;
  const uint64_t validation = family->state.accuracy->estimator->points;
  EXPECT_EQ(fitting, 7u);
  EXPECT_EQ(validation, 1u);
  ASSERT_EQ(reports.size(), fitting + validation);
  for (size_t i = 0; i < reports.size(); ++i)
    EXPECT_EQ(reports[i], std::make_pair(uint64_t(i + 1), reports.size()));
}
