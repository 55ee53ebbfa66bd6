//===- BundleWriter.h - Writing a deployable bundle -------------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The compiler's last step: everything an application deploys, described in
// memory (BundleContents: tasks with their stitched variants, processors, and
// one standalone program blob per subgraph, as compileForRuntime produces
// them), turned into one `.loom` file (formats/sparseloom/BundleFormat.h,
// docs/BundleFormat.md).
//
// The writer deduplicates on its own: it moves every program's weights into
// one tensor pool, storing identical tensors (same bytes, dtype, encoding and
// dims, found by content hash and confirmed byte for byte) once across all
// programs and tasks, and then stores identical programs (same bytes once
// their weights point into the pool) once. BundleStats says what that saved.
// The result is deterministic: the same contents give the same bytes.
//
//   BundleContents contents = ...;
//   BundleStats stats;
//   auto bytes = buildBundle(contents, {}, &stats);
//   if (!bytes) return bytes.takeError();
//   if (auto err = writeBundleFile("app.loom", *bytes)) return err;
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_BUNDLE_BUNDLEWRITER_H
#define SPARSELOOM_BUNDLE_BUNDLEWRITER_H

#include "sparseloom/BundleFormat.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace sparseloom {

/// Everything a bundle holds, before deduplication.
struct BundleContents {
  /// A task input or output (static shape).
  struct Tensor {
    std::string name;
    format::DType dtype = format::DType::F32;
    std::vector<int64_t> dims;
  };

  /// One stitched variant: which program runs each segment.
  struct Variant {
    uint32_t id = 0; // unique within the task
    std::string name;
    /// Per segment, in execution order: an index into `programs`.
    std::vector<uint32_t> programs;
    /// Per segment: the index of the task's source variant it came from.
    std::vector<uint32_t> sourceVariants;
    double estimatedAccuracy = 0; // in [0, 1]
    double measuredAccuracy = std::numeric_limits<double>::quiet_NaN();
    /// Per processor (same order as `processors`), ms; +inf where the
    /// variant cannot run.
    std::vector<double> latencyMs;
    uint64_t memoryBytes = 0;
  };

  struct Task {
    std::string name;
    std::vector<Tensor> inputs;
    std::vector<Tensor> outputs;
    /// The family members segments are cut from ("dense", "s90", ...).
    std::vector<std::string> sourceVariants;
    double latencyDeadlineMs = std::numeric_limits<double>::infinity();
    double accuracyFloor = 0;
    double requestRateHz = 0;
    uint32_t numClasses = 0;
    std::vector<Variant> variants;
  };

  struct Processor {
    std::string id;
    format::ProcessorKind kind = format::ProcessorKind::Cpu;
    uint32_t threads = 1;
    double denseGflops = 0;
    double memoryGBps = 0;
    double invocationOverheadMs = 0;
    uint64_t memoryCapacityBytes = 0; // 0: not stated
  };

  /// A standalone program blob (weights inside), as compileForRuntime
  /// returns it; `name` is for error messages only.
  struct Program {
    std::string name;
    std::vector<uint8_t> blob;
  };

  std::vector<Task> tasks;
  std::vector<Processor> processors;
  std::vector<Program> programs;
};

struct BundleWriteOptions {
  /// Store identical tensors and programs once (off: every program keeps
  /// its own copy of every weight; for measuring what dedup saves).
  bool dedup = true;
  /// Open the finished bytes with the runtime's verifier, so a bundle it
  /// would reject (e.g. a variant whose programs do not chain) is an error
  /// here, with the runtime's message.
  bool verifyWithRuntime = true;
};

/// Before/after deduplication, over a set of input programs.
struct BundleDedupStats {
  uint64_t programsBefore = 0;     // input programs
  uint64_t programsAfter = 0;      // distinct stored programs
  uint64_t programBytesBefore = 0; // standalone blobs, weights included
  uint64_t programBytesAfter = 0;  // stored blobs, weights excluded
  uint64_t weightTensorsBefore = 0;
  uint64_t weightTensorsAfter = 0;
  uint64_t weightBytesBefore = 0;
  uint64_t weightBytesAfter = 0;
};

struct BundleStats {
  /// Over the programs each task's variants use (a program shared by two
  /// tasks counts in both).
  std::vector<std::pair<std::string, BundleDedupStats>> tasks;
  BundleDedupStats total;
  uint64_t fileBytes = 0;
  uint64_t tensorDataBytes = 0;  // the pool, alignment padding included
  uint64_t programDataBytes = 0; // stored programs, padding included
};

/// The bundle's bytes. Errors name the task, variant, processor or program
/// at fault (a malformed program blob, an index out of range, a NaN).
llvm::Expected<std::vector<uint8_t>>
buildBundle(const BundleContents &contents,
            const BundleWriteOptions &options = {},
            BundleStats *stats = nullptr);

/// Writes `bytes` to `path` atomically (temporary file, then rename).
llvm::Error writeBundleFile(llvm::StringRef path,
                            llvm::ArrayRef<uint8_t> bytes);

/// For firmware without a filesystem: a C source defining
/// `const unsigned char SYMBOL[]` (64-byte aligned, as sl_bundle_open needs)
/// and `const size_t SYMBOL_size`, and a header declaring both. Both files
/// are written atomically; `symbolName` must be a C identifier.
llvm::Error writeBundleAsC(llvm::ArrayRef<uint8_t> bytes,
                           llvm::StringRef symbolName, llvm::StringRef cPath,
                           llvm::StringRef hPath);

/// A table of the statistics (per task and total), for tools.
void printBundleStats(llvm::raw_ostream &os, const BundleStats &stats);

} // namespace sparseloom

#endif // SPARSELOOM_BUNDLE_BUNDLEWRITER_H
