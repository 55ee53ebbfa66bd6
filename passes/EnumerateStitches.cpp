//===- EnumerateStitches.cpp - Pareto fronts of the stitch space ----------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Builds the stitch space of a profiled family for a platform and records
// its Pareto fronts over (estimated accuracy, latency, memory): one per
// processor, one across processors where the platform allows split
// placement, and one over all of them. Dynamic programming over segments
// (lib/Space/ParetoFront.cpp), never a listing of the k^n stitches.
//
// The costs of every subgraph are derived here, where the compiler's
// passes and lowering are at hand: memory is the size of the segment's
// program as lowered for one sample (weights encoded as the runtime reads
// them, which is what ships), latency comes from the platform's cost model
// on the segment's work with its sparsity patterns.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"
#include "SegmentWorkAnalysis.h"

#include "sparseloom/BundleFormat.h"
#include "sparseloom/Lower/Pipeline.h"
#include "sparseloom/Pass/PassManager.h"
#include "sparseloom/Pass/PassRegistry.h"
#include "sparseloom/Space/StitchEnumeration.h"
#include "sparseloom/Support/Diagnostics.h"

#include "llvm/Support/raw_ostream.h"

#define DEBUG_TYPE "enumerate-stitches"

namespace sparseloom {

namespace {

llvm::Expected<SegmentCosts> deriveSegmentCosts(const Family &family) {
  const auto &perMember = family.state.segments->perMember;
  const unsigned k = unsigned(perMember.size());
  const unsigned n = unsigned(perMember.front().size());
  SegmentCosts costs;
  costs.bytes.assign(n, std::vector<double>(k));
  costs.programHash.assign(n, std::vector<uint64_t>(k));
  costs.work.assign(n, std::vector<SegmentWork>(k));
  for (unsigned s = 0; s < n; ++s)
    for (unsigned m = 0; m < k; ++m) {
      const Module &segment = *perMember[m][s];
      // Sparsity patterns decide which kernels the latency model assumes.
      auto work = analyzeSegmentWork(segment);
      if (!work)
        return withFile(work.takeError(), family.members[m].file);
      costs.work[s][m] = std::move(*work);
      auto program = compileForOneSample(segment);
      if (!program)
        return withFile(program.takeError(), family.members[m].file);
      costs.bytes[s][m] = double(program->bytes.size());
      costs.programHash[s][m] =
          format::fnv1a64(program->bytes.data(), program->bytes.size());
    }
  const Graph &graph = family.reference().graph;
  for (const FamilyBoundary &boundary : family.state.chosen) {
    double bytes = 0;
    for (const std::string &name : boundary.liveTensors) {
      TensorType type = graph.getType(name);
      double elements = 1;
      if (type.dims)
        for (const Dim &d : *type.dims)
          elements *= d.isKnown() ? double(d.size()) : 1.0;
      bytes += elements * double(dtypeSize(type.dtype));
    }
    costs.boundaryBytes.push_back(bytes);
  }
  return costs;
}

class EnumerateStitchesPass : public Pass {
public:
  EnumerateStitchesPass(std::string platformFile, double resolution)
      : Pass(enumerateStitchesPassInfo()),
        platformFile_(std::move(platformFile)), resolution_(resolution) {}

  llvm::Error run(Module &) override {
    return makeError("enumerate-stitches works on a profiled family");
  }

  llvm::Error runOnFamily(Family &family) override {
    if (!family.state.segments || !family.state.accuracy)
      return makeError("enumerate-stitches needs split and profile-accuracy "
                       "to have run");
    auto platform = loadPlatformFile(platformFile_);
    if (!platform)
      return platform.takeError();
    auto costs = deriveSegmentCosts(family);
    if (!costs)
      return costs.takeError();
    ModeledLatency latency(*platform);
    EnumerationOptions options;
    options.relativeResolution = resolution_;
    options.platformFile = platformFile_;
    if (llvm::Error err = enumerateFamilyStitches(family, *platform, latency,
                                                  *costs, options))
      return err;
    for (const FamilyFront &front : family.state.fronts->fronts) {
      statistics().add("front-points", int64_t(front.points.size()));
      SL_DEBUG(debugStream() << "enumerate-stitches: " << family.task << " on "
                             << front.placement << ": " << front.points.size()
                             << " points\n");
    }
    return llvm::Error::success();
  }

private:
  std::string platformFile_;
  double resolution_;
};

} // namespace

const PassInfo &enumerateStitchesPassInfo() {
  static const PassInfo info = [] {
    PassInfo i;
    i.name = "enumerate-stitches";
    i.summary = "Pareto fronts of the stitched variants over estimated "
                "accuracy, latency per processor and memory";
    i.options = {
        {"platform", "platform file (JSON, docs/Platforms.md)", ""},
        {"resolution",
         "front resolution relative to each objective's range (0 = exact)",
         "0"},
    };
    i.statistics = {{"front-points", "points on all fronts together"}};
    i.create = [](const PassOptions &options)
        -> llvm::Expected<std::unique_ptr<Pass>> {
      std::string platform = options.getString("platform", "");
      if (platform.empty())
        return makeError("enumerate-stitches needs platform=FILE.json (e.g. "
                         "platforms/host.json)");
      auto resolution = options.getDouble("resolution", 0);
      if (!resolution)
        return resolution.takeError();
      if (*resolution < 0 || *resolution >= 1)
        return makeError("enumerate-stitches: resolution must be in [0, 1)");
      return std::make_unique<EnumerateStitchesPass>(platform, *resolution);
    };
    return i;
  }();
  return info;
}

} // namespace sparseloom
