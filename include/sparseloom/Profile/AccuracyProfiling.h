//===- AccuracyProfiling.h - Measure stitches, fit estimator ---*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// What the profile-accuracy pass does, as a function sparseloom-compile can
// call too: measure the estimator's fitting stitches (AccuracyModel.h) on
// the calibration split with the runtime's kernels, fit the estimator,
// validate it on a random sample of *other* stitches measured exactly on the
// test split (or, without one, on the calibration split), and record all of
// it in family.state.accuracy. With `exhaustive`, every stitch is measured
// when k^n is at most `exhaustiveLimit`.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_PROFILE_ACCURACYPROFILING_H
#define SPARSELOOM_PROFILE_ACCURACYPROFILING_H

#include "sparseloom/IR/Family.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <functional>
#include <string>

namespace sparseloom {

struct AccuracyProfilingOptions {
  std::string calibrationInputs;
  std::string calibrationLabels; // empty: agreement with the reference
  std::string testInputs;        // empty: validate on the calibration split
  std::string testLabels;
  bool exhaustive = false;
  uint64_t exhaustiveLimit = 4096;
  /// Held-out stitches measured to validate the estimator.
  size_t validationSample = 200;
  uint64_t seed = 1;
  unsigned threads = 2;
  /// Called as stitches are measured: done of total (calibration and
  /// validation together).
  std::function<void(uint64_t done, uint64_t total)> progress;
};

/// Needs split to have run. Errors name the data file or the stitch.
llvm::Error profileFamilyAccuracy(Family &family,
                                  const AccuracyProfilingOptions &options);

} // namespace sparseloom

#endif // SPARSELOOM_PROFILE_ACCURACYPROFILING_H
