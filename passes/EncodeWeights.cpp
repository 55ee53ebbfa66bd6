//===- EncodeWeights.cpp - How every subgraph's weights are stored --------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Lowers every segment of every member for one sample (what a bundle ships)
// and records, per product, the storage its weight gets and the kernel that
// reads it: dense packed panels, CSR or 4x1 blocks, chosen from the weight's
// density and pattern and the product's shape by the calibrated rule of
// lib/Lower (docs/Lowering.md). Annotations: on the node `encode.format`,
// `encode.kernel`; on the weight `encode.format`; on the segment
// `encode.weight-bytes` (as stored). Statistics count formats and bytes.
// That is the encoding the bundle stores: SparseLoom's runtime, which runs
// on the CPUs, executes it.
//
// With a platform (option `platform`, by default the one enumerate-stitches
// used) each product also gets `encode.processors`: per processor, the
// storage its kernels would read, from the same cost model that gave the
// stitch space its latencies (sparseKernelPattern): a CPU runs the
// runtime's choice above; another processor stores a weight sparse only
// when its sparse kernels for the weight's pattern beat its dense ones at
// the weight's density (block patterns as BlockSparse, channel-pruned
// weights as smaller dense layers, others as CSR), and "-" marks a
// processor that cannot run the op at all.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"
#include "SegmentWorkAnalysis.h"

#include "sparseloom/Lower/Pipeline.h"
#include "sparseloom/Space/Platform.h"
#include "sparseloom/Support/Diagnostics.h"

#include "llvm/Support/raw_ostream.h"

#include <map>
#include <optional>

#define DEBUG_TYPE "encode-weights"

namespace sparseloom {

namespace {

/// The storage processor `p` reads a weight in, for a product it may run.
std::string storageOn(const Processor &p, const NodeWork &work,
                      const std::string &runtimeEncoding) {
  if (p.unsupportedOps.count(work.opType))
    return "-";
  if (p.kind == ProcessorKind::Cpu)
    return runtimeEncoding;
  std::string pattern = sparseKernelPattern(p, work);
  if (pattern.empty() || pattern == "channel")
    return "Dense";
  return pattern == "block" ? "BlockSparse" : "Csr";
}

class EncodeWeightsPass : public Pass {
public:
  explicit EncodeWeightsPass(std::string platformFile)
      : Pass(encodeWeightsPassInfo()), platformFile_(std::move(platformFile)) {}

  llvm::Error run(Module &) override {
    return makeError("encode-weights works on the segments of a split family");
  }

  llvm::Error runOnFamily(Family &family) override {
    if (!family.state.segments)
      return makeError("encode-weights needs the split family: run "
                       "align-family,detect-boundaries,split first");
    std::string platformFile = platformFile_;
    if (platformFile.empty() && family.state.fronts)
      platformFile = family.state.fronts->platformFile;
    std::optional<Platform> platform;
    if (!platformFile.empty()) {
      auto loaded = loadPlatformFile(platformFile);
      if (!loaded)
        return loaded.takeError();
      platform = std::move(*loaded);
    }
    auto &perMember = family.state.segments->perMember;
    for (size_t m = 0; m < perMember.size(); ++m)
      for (auto &segment : perMember[m]) {
        auto program = compileForOneSample(*segment);
        if (!program)
          return withFile(program.takeError(), family.members[m].file);
        Graph &graph = segment->graph;
        std::map<std::string, Node *> byName;
        for (const auto &node : graph.nodes())
          byName[node->displayName()] = node.get();
        std::map<const Node *, const NodeWork *> workOf;
        SegmentWork work;
        if (platform) {
          auto analyzed = analyzeSegmentWork(*segment);
          if (!analyzed)
            return withFile(analyzed.takeError(), family.members[m].file);
          work = std::move(*analyzed);
          // describeSegment lists the nodes in graph order.
          size_t i = 0;
          for (const auto &node : graph.nodes())
            workOf[node.get()] = &work.nodes[i++];
        }
        for (const LoweredOp &op : program->report.ops) {
          if (op.encoding.empty())
            continue;
          statistics().add("products");
          statistics().add("format-" + op.encoding);
          auto it = byName.find(op.node);
          if (it == byName.end())
            continue;
          Node &node = *it->second;
          node.annotations["encode.format"] = Attribute(op.encoding);
          node.annotations["encode.kernel"] = Attribute(op.kernel);
          if (node.inputs.size() > 1)
            if (Weight *weight = graph.findWeight(node.inputs[1]))
              weight->annotations["encode.format"] = Attribute(op.encoding);
          if (platform)
            annotateProcessors(*platform, *workOf.at(&node), op.encoding, node);
          SL_DEBUG(debugStream()
                   << "encode-weights: " << graph.name << ": " << op.node
                   << " -> " << op.encoding << " (" << op.kernel << ")\n");
        }
        segment->annotations["encode.weight-bytes"] =
            Attribute(int64_t(program->report.weightBytes));
        statistics().add("weight-bytes-encoded",
                         int64_t(program->report.weightBytes));
      }
    return llvm::Error::success();
  }

private:
  void annotateProcessors(const Platform &platform, const NodeWork &work,
                          const std::string &runtimeEncoding, Node &node) {
    std::string text;
    for (const Processor &p : platform.processors) {
      std::string storage = storageOn(p, work, runtimeEncoding);
      text += (text.empty() ? "" : ",") + p.id + "=" + storage;
      statistics().add(storage == "-" ? "processor-cannot-run"
                       : storage == "Dense" || storage == "PackedPanels"
                           ? "processor-dense"
                           : "processor-sparse");
    }
    node.annotations["encode.processors"] = Attribute(text);
  }

  std::string platformFile_;
};

} // namespace

const PassInfo &encodeWeightsPassInfo() {
  static const PassInfo info = {
      "encode-weights",
      "Record how every segment's weights are stored (dense panels, CSR, "
      "4x1 blocks) and which kernel reads them, as lowered for one sample",
      {{"platform",
        "platform JSON: also record each processor's storage (default: the "
        "one enumerate-stitches used; none: the runtime's choice only)",
        ""}},
      {{"products", "products with a weight, over all segments"},
       {"format-PackedPanels", "weights stored as dense packed panels"},
       {"format-Dense", "weights stored dense"},
       {"format-Csr", "weights stored as CSR"},
       {"format-BlockSparse", "weights stored as 4x1 blocks"},
       {"weight-bytes-encoded", "bytes of all weights as stored"},
       {"processor-dense", "(product, processor) pairs read dense"},
       {"processor-sparse", "(product, processor) pairs read sparse"},
       {"processor-cannot-run", "(product, processor) pairs not runnable"}},
      [](const PassOptions &options) -> llvm::Expected<std::unique_ptr<Pass>> {
        return std::make_unique<EncodeWeightsPass>(
            options.getString("platform", ""));
      }};
  return info;
}

} // namespace sparseloom
