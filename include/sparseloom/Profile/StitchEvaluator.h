//===- StitchEvaluator.h - Measuring stitched variants ----------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Runs stitched variants of a split family on calibration (or test) data
// with the runtime's own kernels and reports top-1 accuracy, or, for tasks
// without labels, top-1 agreement with the reference (first) variant.
//
// Every segment of every variant is lowered once, for the whole batch. A
// batch of stitches is evaluated in lexicographic order of their choices,
// keeping the boundary activations of the current prefix: consecutive
// stitches that share their first s segments rerun only the rest, so the
// exhaustive k^n sweep costs about one segment run per stitch, not n.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_PROFILE_STITCHEVALUATOR_H
#define SPARSELOOM_PROFILE_STITCHEVALUATOR_H

#include "sparseloom/IR/Family.h"
#include "sparseloom/Runtime/Npy.h"
#include "sparseloom/Space/AccuracyModel.h"

#include "llvm/Support/Error.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sparseloom {

/// Inputs and (optional) labels of one data split.
struct EvaluationData {
  std::string inputsFile;
  std::string labelsFile; // empty: no labels, measure agreement
  runtime::NpyArray inputs;
  std::optional<runtime::NpyArray> labels;
};

/// Reads `inputsFile` (.npy) and, when given, `labelsFile` (.npy with one
/// integer class per sample). Errors name the file.
llvm::Expected<EvaluationData>
loadEvaluationData(const std::string &inputsFile,
                   const std::string &labelsFile);

struct EvaluatorOptions {
  unsigned threads = 2;
};

class StitchEvaluator {
public:
  /// Lowers every segment of every member of `family` (split must have
  /// run) for the batch in `data`. Checks the data against the model: the
  /// input's shape and dtype, the labels' count and class range. The family
  /// must outlive the evaluator only during create().
  static llvm::Expected<std::unique_ptr<StitchEvaluator>>
  create(const Family &family, EvaluationData data,
         const EvaluatorOptions &options = {});
  ~StitchEvaluator();

  /// Accuracy of every choice (same order as given), each in [0, 1].
  /// `progress`, when given, is called after each stitch with the number
  /// measured so far.
  llvm::Expected<std::vector<AccuracyMeasurement>>
  measure(const std::vector<StitchChoice> &choices,
          const std::function<void(size_t done)> &progress = {});

  /// Whether accuracies are top-1 accuracy (true) or agreement with the
  /// reference variant (false: the data has no labels).
  bool hasLabels() const;
  size_t samples() const;
  /// Classes of the model's output (its last dimension).
  size_t classes() const;
  /// Segment programs run so far (for reports and the prefix-reuse test).
  size_t segmentRuns() const;

private:
  struct Impl;
  explicit StitchEvaluator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

} // namespace sparseloom

#endif // SPARSELOOM_PROFILE_STITCHEVALUATOR_H
