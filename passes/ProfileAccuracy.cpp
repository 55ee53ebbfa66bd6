//===- ProfileAccuracy.cpp - Measure stitches and fit the estimator -------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Runs the estimator's fitting stitches (the reference, single and adjacent
// pair swaps, the originals) on the calibration split with the runtime's
// kernels, fits the accuracy estimator, validates it on held-out stitches
// of the test split, and records everything in the family state (printed in
// the family block, written by --report). With exhaustive=true every
// stitch is measured. The logic is in lib/Profile/AccuracyProfiling.cpp.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"

#include "sparseloom/Profile/AccuracyProfiling.h"
#include "sparseloom/Support/Diagnostics.h"

#include "llvm/Support/raw_ostream.h"

#define DEBUG_TYPE "profile-accuracy"

namespace sparseloom {

namespace {

class ProfileAccuracyPass : public Pass {
public:
  ProfileAccuracyPass(AccuracyProfilingOptions options)
      : Pass(profileAccuracyPassInfo()), options_(std::move(options)) {}

  llvm::Error run(Module &) override {
    return makeError("profile-accuracy works on a split family");
  }

  llvm::Error runOnFamily(Family &family) override {
    AccuracyProfilingOptions options = options_;
    options.progress = [this](uint64_t done, uint64_t total) {
      reportProgress(done, total);
    };
    if (llvm::Error err = profileFamilyAccuracy(family, options))
      return err;
    const FamilyAccuracyProfile &profile = *family.state.accuracy;
    statistics().add("calibration-stitches",
                     int64_t(profile.calibration.size()));
    statistics().add("validation-stitches", int64_t(profile.test.size()));
    SL_DEBUG(debugStream() << "profile-accuracy: " << family.task << ": "
                           << profile.calibration.size()
                           << " stitches measured on calibration, "
                           << profile.test.size() << " for validation\n");
    return llvm::Error::success();
  }

private:
  AccuracyProfilingOptions options_;
};

llvm::Expected<AccuracyProfilingOptions> parseOptions(const PassOptions &o) {
  AccuracyProfilingOptions options;
  std::string dir = o.getString("data-dir", "");
  auto inDir = [&](const char *file) {
    return dir.empty() ? std::string() : dir + "/" + file;
  };
  options.calibrationInputs =
      o.getString("calib-inputs", inDir("calib.inputs.npy"));
  options.calibrationLabels =
      o.getString("calib-labels", inDir("calib.labels.npy"));
  options.testInputs = o.getString("test-inputs", inDir("test.inputs.npy"));
  options.testLabels = o.getString("test-labels", inDir("test.labels.npy"));
  auto exhaustive = o.getBool("exhaustive", false);
  auto limit = o.getInt("exhaustive-limit", 4096);
  auto sample = o.getInt("validation-sample", 200);
  auto seed = o.getInt("seed", 1);
  auto threads = o.getInt("threads", 2);
  if (!exhaustive)
    return exhaustive.takeError();
  if (!limit)
    return limit.takeError();
  if (!sample)
    return sample.takeError();
  if (!seed)
    return seed.takeError();
  if (!threads)
    return threads.takeError();
  if (*limit < 1 || *sample < 1 || *threads < 1 || *threads > 256)
    return makeError("profile-accuracy: exhaustive-limit and "
                     "validation-sample must be positive, threads 1..256");
  options.exhaustive = *exhaustive;
  options.exhaustiveLimit = uint64_t(*limit);
  options.validationSample = size_t(*sample);
  options.seed = uint64_t(*seed);
  options.threads = unsigned(*threads);
  return options;
}

} // namespace

const PassInfo &profileAccuracyPassInfo() {
  static const PassInfo info = [] {
    PassInfo i;
    i.name = "profile-accuracy";
    i.summary = "Measure stitched variants on calibration data with the "
                "runtime and fit the accuracy estimator";
    i.options = {
        {"data-dir",
         "directory with calib.inputs.npy, calib.labels.npy, test.inputs.npy, "
         "test.labels.npy (the zoo's layout)",
         ""},
        {"calib-inputs", "calibration inputs (.npy)", ""},
        {"calib-labels",
         "calibration labels (.npy, int); without labels accuracy is top-1 "
         "agreement with the reference",
         ""},
        {"test-inputs",
         "held-out split for validating the estimator (.npy); without it the "
         "calibration split is used",
         ""},
        {"test-labels", "held-out labels (.npy)", ""},
        {"exhaustive", "measure every stitch (k^n) instead of a sample",
         "false"},
        {"exhaustive-limit", "refuse exhaustive above this many stitches",
         "4096"},
        {"validation-sample", "held-out stitches measured for validation",
         "200"},
        {"seed", "seed for the validation sample", "1"},
        {"threads", "runtime threads", "2"},
    };
    i.statistics = {
        {"calibration-stitches", "stitches measured on the calibration split"},
        {"validation-stitches", "stitches measured for validation"},
    };
    i.create = [](const PassOptions &options)
        -> llvm::Expected<std::unique_ptr<Pass>> {
      auto parsed = parseOptions(options);
      if (!parsed)
        return parsed.takeError();
      return std::make_unique<ProfileAccuracyPass>(std::move(*parsed));
    };
    return i;
  }();
  return info;
}

} // namespace sparseloom
