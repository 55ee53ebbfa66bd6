//===- RunDriver.h - Compile and run models on the host runtime -*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The host side of the runtime, shared by sparseloom-run and the tests that
// check the runtime end to end (ONNX conformance, zoo accuracy, stitching):
//
//   compile   a model file or an in-memory Module -> a program blob, through
//             the compiler's import and lowering (compileForRuntime), with
//             the graph inputs bound to concrete shapes first;
//   load      one or more blobs -> a ProgramSequence: the runtime's programs
//             and one session that runs them in order, outputs of program i
//             feeding the inputs of program i+1 by position (the segments of
//             a stitched variant);
//   run       host arrays (.npy contents) in, host arrays out, with the
//             runtime's own checks (dtype, shape, finiteness) turned into
//             errors that name the input.
//
// The runtime's C API reports failures as status codes and messages; here
// they become DiagnosticErrors, so a tool prints them in the usual
// `tool: error: FILE: ...` form.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_RUNDRIVER_RUNDRIVER_H
#define SPARSELOOM_RUNDRIVER_RUNDRIVER_H

#include "sparseloom/IR/Module.h"
#include "sparseloom/Lower/KernelSelection.h"
#include "sparseloom/Lower/Lower.h"
#include "sparseloom/Lower/Pipeline.h"
#include "sparseloom/Runtime/Npy.h"
#include "sparseloom/Runtime/Runtime.hpp"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sparseloom {
namespace run {

using runtime::NpyArray;

// --- Compiling ---------------------------------------------------------------

struct CompileSettings {
  /// Concrete shapes for graph inputs, by name (symbolic batch dimensions
  /// must be bound: programs have static shapes).
  std::map<std::string, std::vector<int64_t>> inputShapes;
  /// Dense/sparse kernel choice for every product (Auto: calibrated rule).
  KernelPolicy kernels = KernelPolicy::Auto;
  /// LowerOptions::fuseDepthwise and LowerOptions::padPlanes.
  bool fuseDepthwise = true;
  bool padPlanes = true;
  /// Threads the program will run with (sizes the kernel scratch).
  unsigned threads = 1;
};

/// One lowered model and what the lowering decided.
struct CompiledModel {
  std::string source; // the model file (or a name), for diagnostics
  std::vector<uint8_t> blob;
  LoweringReport report;
  /// The model's graph inputs and outputs in program order, with the
  /// static types the program was compiled for.
  std::vector<std::string> inputNames;
  std::vector<std::string> outputNames;
  std::vector<TensorType> inputTypes;
  std::vector<TensorType> outputTypes;
};

/// Lowers a copy of `module` (compileForRuntime: input shapes bound, passes,
/// lowering, verified by the runtime's loader). Errors name `source`.
llvm::Expected<CompiledModel> compileModule(const Module &module,
                                            llvm::StringRef source,
                                            const CompileSettings &settings);

/// Compiles the subgraphs of one stitched variant, which run in sequence:
/// the first with `settings.inputShapes`, each later one with its inputs
/// bound by position to the previous program's output types. Fails naming
/// both files when neighbours disagree on the count, element type or known
/// dimensions of the tensors they pass.
llvm::Expected<std::vector<CompiledModel>>
compileSequence(const std::vector<const Module *> &modules,
                const std::vector<std::string> &sources,
                const CompileSettings &settings);

/// loadModel + compileModule.
llvm::Expected<CompiledModel> compileModelFile(llvm::StringRef path,
                                               const CompileSettings &settings);

// --- Running -----------------------------------------------------------------

struct SequenceOptions {
  unsigned threads = 1;
  /// Reject NaN/Inf in float inputs (the runtime's SL_SESSION_CHECK_FINITE).
  bool checkFinite = false;
  /// Time every op (sl_session_op_time_ns).
  bool profileOps = false;
  /// Prefetch each op's first lines while the op before it runs (off:
  /// SL_SESSION_NO_PREFETCH).
  bool prefetchOps = true;
  /// Where the runtime's memory comes from; null: its default allocator.
  const sl_allocator *allocator = nullptr;
};

/// Programs loaded into the runtime and one session over all of them.
class ProgramSequence {
public:
  /// Loads and verifies every blob, then creates the session (which checks
  /// that each program's outputs match the next one's inputs). Errors name
  /// the program's source.
  static llvm::Expected<std::unique_ptr<ProgramSequence>>
  load(const std::vector<const CompiledModel *> &programs,
       const SequenceOptions &options);
  /// The same from raw blobs, `sources` naming each one for errors.
  static llvm::Expected<std::unique_ptr<ProgramSequence>>
  loadBlobs(const std::vector<const std::vector<uint8_t> *> &blobs,
            const std::vector<std::string> &sources,
            const SequenceOptions &options);

  size_t numPrograms() const { return programs_.size(); }
  const runtime::Program &program(size_t index) const {
    return *programs_[index];
  }
  runtime::Session &session() { return session_; }
  size_t numInputs() const { return session_.inputCount(); }
  size_t numOutputs() const { return session_.outputCount(); }
  sl_tensor_info inputInfo(size_t index) const {
    return session_.inputInfo(index);
  }
  sl_tensor_info outputInfo(size_t index) const {
    return session_.outputInfo(index);
  }

  /// Runs once. `inputs[i]` feeds session input i; `inputSources[i]` (a file
  /// name, may be empty) names it in errors. Outputs stay in the session.
  llvm::Error run(const std::vector<const NpyArray *> &inputs,
                  const std::vector<std::string> &inputSources = {});
  /// Output `index` of the last run, copied out.
  NpyArray output(size_t index) const;
  /// Nanoseconds program `index` took in the last run.
  uint64_t programTimeNs(size_t index) const {
    return session_.programTimeNs(index);
  }

private:
  ProgramSequence() = default;
  std::vector<std::string> sources_;
  std::vector<std::unique_ptr<runtime::Program>> programs_;
  runtime::Session session_;
  std::vector<sl_tensor_view> views_; // reused by run(): no allocation
};

// --- Host tensors ------------------------------------------------------------

/// "float32[1,3,8,8]".
std::string describeArray(const NpyArray &array);
std::string describeInfo(const sl_tensor_info &info);
/// The shape of `info` as a vector.
std::vector<int64_t> infoDims(const sl_tensor_info &info);
/// Element `index` of `array` as text ("0.25", "-3", "1").
std::string elementToString(const NpyArray &array, size_t index);

// --- sparseloom-run ----------------------------------------------------------

/// Everything sparseloom-run's command line says.
struct RunRequest {
  std::vector<std::string> models;  // run in sequence
  std::vector<std::string> inputs;  // "x.npy" (by position) or "NAME=x.npy"
  std::vector<std::string> outputs; // "y.npy" (by position) or "NAME=y.npy"
  unsigned threads = 1;
  unsigned benchRuns = 0; // 0: run once
  unsigned warmupRuns = 1;
  std::string kernels = "auto";
  /// False: keep sparse 1x1 convs and their depthwise readers apart.
  bool fuseDepthwise = true;
  /// False: store every activation Dense (no padded planes).
  bool padPlanes = true;
  /// False: the session does not prefetch each op's first lines.
  bool prefetchOps = true;
  bool printPlan = false;
  bool checkFinite = true;
};

/// Runs the request, printing summaries, plans and timings to `out`.
/// Nothing is written unless every program compiled, loaded and ran.
llvm::Error runModels(const RunRequest &request, llvm::raw_ostream &out);

/// sparseloom-run on a bundle (.loom): one task, one stitched variant.
struct BundleRunRequest {
  std::string bundle;
  std::string task;    // may be empty when the bundle has one task
  std::string variant; // id or name; empty: pick by SLO
  std::optional<double> sloLatencyMs; // default: the task's
  std::optional<double> sloAccuracy;  // default: the task's
  std::string input;                  // one request per row
  std::string output;                 // the outputs of every row
  std::string evalInputs, evalLabels; // --eval
  unsigned threads = 1;
  unsigned benchRuns = 0;
  unsigned warmupRuns = 1;
  bool checkFinite = true;
  /// False: the session does not prefetch each op's first lines.
  bool prefetchOps = true;
};

llvm::Error runBundle(const BundleRunRequest &request, llvm::raw_ostream &out);

} // namespace run
} // namespace sparseloom

#endif // SPARSELOOM_RUNDRIVER_RUNDRIVER_H
