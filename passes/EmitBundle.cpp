//===- EmitBundle.cpp - Write a selected family as a bundle ---------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The last pass of a single-task pipeline in sparseloom-opt: the stitched
// variants select-variants chose become a one-task bundle (the .loom file
// of docs/BundleFormat.md plus its JSON summary), written through
// temporaries and renamed, so a failed run leaves nothing behind. The
// bundle is assembled and written by the same code as sparseloom-compile's
// emit stage (sparseloom/Bundle/BundleAssembly.h), which does this for all
// tasks of a manifest at once; the family's IR is left unchanged.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"

#include "sparseloom/Bundle/BundleAssembly.h"
#include "sparseloom/Bundle/BundleSummary.h"
#include "sparseloom/Support/Diagnostics.h"

#include "llvm/Support/raw_ostream.h"

#include <cmath>

#define DEBUG_TYPE "emit-bundle"

namespace sparseloom {

namespace {

struct EmitBundleOptions {
  std::string output;
  std::string platform;
  double latencyDeadlineMs = 0; // 0: none
  double accuracyFloor = 0;
  double requestRateHz = 0;
  bool emitC = false;
};

class EmitBundlePass : public Pass {
public:
  explicit EmitBundlePass(EmitBundleOptions options)
      : Pass(emitBundlePassInfo()), options_(std::move(options)) {}

  llvm::Error run(Module &) override {
    return makeError("emit-bundle works on a family after select-variants");
  }

  llvm::Error runOnFamily(Family &family) override {
    if (!family.state.selection || !family.state.fronts)
      return makeError("emit-bundle needs the stitched variants to ship: run "
                       "split, profile-accuracy, enumerate-stitches and "
                       "select-variants first");
    // By default the platform enumerate-stitches read: latencies in the
    // variant table must come from the processors the bundle lists.
    auto platform = loadPlatformFile(options_.platform.empty()
                                         ? family.state.fronts->platformFile
                                         : options_.platform);
    if (!platform)
      return platform.takeError();
    BundleTaskSpec task;
    task.family = &family;
    if (options_.latencyDeadlineMs > 0)
      task.latencyDeadlineMs = options_.latencyDeadlineMs;
    task.accuracyFloor = options_.accuracyFloor;
    task.requestRateHz = options_.requestRateHz;
    auto contents = assembleBundleContents(*platform, {task});
    if (!contents)
      return contents.takeError();
    BundleStats stats;
    auto bytes = buildBundle(*contents, {}, &stats);
    if (!bytes)
      return bytes.takeError();
    auto written = writeBundleOutputs(
        options_.output, *bytes,
        bundleSummaryJson(*contents, stats, bytes->size()), options_.emitC);
    if (!written)
      return written.takeError();
    statistics().add("variants", int64_t(contents->tasks[0].variants.size()));
    statistics().add("programs-before", int64_t(stats.total.programsBefore));
    statistics().add("programs-after", int64_t(stats.total.programsAfter));
    statistics().add("bundle-bytes", int64_t(bytes->size()));
    SL_DEBUG(debugStream() << "emit-bundle: " << family.task << ": "
                           << written->described << ", " << bytes->size()
                           << " bytes\n");
    return llvm::Error::success();
  }

private:
  EmitBundleOptions options_;
};

} // namespace

const PassInfo &emitBundlePassInfo() {
  static const PassInfo info = [] {
    PassInfo i;
    i.name = "emit-bundle";
    i.summary = "Write the selected stitched variants as a one-task bundle "
                "(.loom + JSON summary, or a bundle directory)";
    i.options = {
        {"output",
         "OUT.loom (summary in OUT.loom.json) or a directory (OUT/OUT.loom, "
         "OUT/summary.json)",
         ""},
        {"platform",
         "platform JSON for the processor table (default: the one "
         "enumerate-stitches used)",
         ""},
        {"slo-latency", "the task's default latency deadline in ms (0: none)",
         "0"},
        {"slo-accuracy", "the task's default accuracy floor in [0, 1]", "0"},
        {"request-rate", "expected requests per second (0: unknown)", "0"},
        {"emit-c", "also write the bundle as C source and header", "false"},
    };
    i.statistics = {{"variants", "stitched variants in the bundle"},
                    {"programs-before", "subgraph programs the variants use"},
                    {"programs-after", "distinct programs stored"},
                    {"bundle-bytes", "bytes of the .loom file"}};
    i.create = [](const PassOptions &options)
        -> llvm::Expected<std::unique_ptr<Pass>> {
      EmitBundleOptions emit;
      emit.output = options.getString("output", "");
      emit.platform = options.getString("platform", "");
      if (emit.output.empty())
        return makeError("emit-bundle needs output=OUT.loom or output=DIR");
      auto latency = options.getDouble("slo-latency", 0);
      auto accuracy = options.getDouble("slo-accuracy", 0);
      auto rate = options.getDouble("request-rate", 0);
      auto emitC = options.getBool("emit-c", false);
      if (!latency)
        return latency.takeError();
      if (!accuracy)
        return accuracy.takeError();
      if (!rate)
        return rate.takeError();
      if (!emitC)
        return emitC.takeError();
      if (!(*latency >= 0) || !std::isfinite(*latency) || !(*rate >= 0) ||
          !std::isfinite(*rate))
        return makeError("emit-bundle: slo-latency and request-rate must be "
                         "finite numbers >= 0");
      if (!(*accuracy >= 0 && *accuracy <= 1))
        return makeError("emit-bundle: slo-accuracy must be in [0, 1]");
      emit.latencyDeadlineMs = *latency;
      emit.accuracyFloor = *accuracy;
      emit.requestRateHz = *rate;
      emit.emitC = *emitC;
      return std::make_unique<EmitBundlePass>(std::move(emit));
    };
    return i;
  }();
  return info;
}

} // namespace sparseloom
