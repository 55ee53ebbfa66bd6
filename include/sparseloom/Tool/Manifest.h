//===- Manifest.h - The model set of one application ------------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// A manifest (JSON, docs/Manifest.md) is what `sparseloom-compile` reads: the
// tasks of one edge application, each with its family of sparse variants
// (the first is the dense reference), its calibration and test data, its
// default SLO and expected request rate, plus the platform file, the memory
// budget for resident weights and the compiler's options.
//
// The parser checks everything it can without loading a model: types,
// ranges, unknown fields, names, and that every file it names exists. Paths
// are relative to the manifest's directory and come back resolved, usable
// from the current directory. Whether the variants of a task really are one
// family (same architecture) is align-family's job, later.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_TOOL_MANIFEST_H
#define SPARSELOOM_TOOL_MANIFEST_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sparseloom {

/// A per-request service-level objective.
struct ManifestSlo {
  /// Deadline of one request (one sample), milliseconds, > 0.
  double latencyMs = 0;
  /// Accuracy floor as a fraction in [0, 1] (0.9 = 90 % top-1).
  double accuracy = 0;
};

/// One split of a task's data, as .npy files (resolved paths).
struct ManifestData {
  std::string inputs;
  /// Empty when the manifest gives no labels.
  std::string labels;
};

struct ManifestTask {
  /// [A-Za-z0-9_-]+, unique in the manifest.
  std::string name;
  /// Model files (resolved paths); the first is the dense reference.
  std::vector<std::string> variants;
  /// Parallel to `variants`: "<task>.<variant>.onnx" -> "<variant>",
  /// otherwise the file name without its extension. Unique per task.
  std::vector<std::string> variantNames;
  ManifestData calibration;
  std::optional<ManifestData> test;
  /// The default SLO of this task's requests.
  ManifestSlo slo;
  /// Expected requests per second, > 0.
  double requestRateHz = 0;
  /// Overrides ManifestOptions::segments for this task.
  std::optional<unsigned> segments;
};

/// Compiler options; the defaults are what an absent field means.
struct ManifestOptions {
  /// Cut points per family: each variant becomes this many subgraphs.
  unsigned segments = 4;
  /// Most activation tensors one cut point may carry (detect-boundaries'
  /// max-live-tensors).
  unsigned maxLiveTensors = 1;
  /// Threads used to measure accuracy and latency while compiling.
  unsigned threads = 2;
  /// Measure every stitched variant (instead of estimating) when there are
  /// at most `exhaustiveLimit` of them (k^n).
  bool exhaustive = false;
  unsigned exhaustiveLimit = 4096;
  /// Stitches (not used for fitting) measured on the test split to
  /// validate the accuracy estimator; the summary reports its error.
  unsigned validationSample = 100;
  /// Pareto-front resolution as a fraction of each objective's span (points
  /// closer than that are merged); 0 keeps the exact front.
  double frontResolution = 0.0;
  /// Variant selection scores each task on a sloGrid x sloGrid grid of
  /// (deadline, accuracy floor) points.
  unsigned sloGrid = 16;
  /// At most this many stitched variants per task go into the bundle;
  /// 0 = no limit (the memory budget still applies).
  unsigned maxVariantsPerTask = 0;
};

struct Manifest {
  /// The manifest's path as given, for messages.
  std::string file;
  /// The directory its relative paths are resolved against ("." if none).
  std::string dir;
  /// Free text, optional.
  std::string description;
  std::vector<ManifestTask> tasks;
  /// The platform file (resolved path).
  std::string platform;
  /// Memory for resident weights, bytes, > 0.
  uint64_t memoryBudgetBytes = 0;
  ManifestOptions options;

  /// The task called `name`, or null.
  const ManifestTask *findTask(llvm::StringRef name) const;
};

/// Parses a memory size: "4 MiB", "512KiB", "2MB", "4096" (see
/// docs/Manifest.md for the units). Fails with a message that lists them.
llvm::Expected<uint64_t> parseMemorySize(llvm::StringRef text);

/// Reads and parses the manifest at `path`.
llvm::Expected<Manifest> loadManifest(const std::string &path);

/// Parses manifest text; `file` names it in errors and its directory is the
/// base of relative paths. Errors read "FILE: JSON.PATH: what is wrong
/// (what to do)", e.g. "m.json: tasks[1].variants[2]: file ... does not
/// exist (...)"; malformed JSON gives "FILE:LINE:COL: invalid JSON: ...".
llvm::Expected<Manifest> parseManifest(llvm::StringRef json,
                                       const std::string &file);

} // namespace sparseloom

#endif // SPARSELOOM_TOOL_MANIFEST_H
