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
// The choice is the host's: processors whose kernels differ get the same
// encoding (not yet processor-aware).
//
//===----------------------------------------------------------------------===//

#include "Passes.h"

#include "sparseloom/Lower/Pipeline.h"
#include "sparseloom/Support/Diagnostics.h"

#include "llvm/Support/raw_ostream.h"

#include <map>

#define DEBUG_TYPE "encode-weights"

namespace sparseloom {

namespace {

class EncodeWeightsPass : public Pass {
public:
  EncodeWeightsPass() : Pass(encodeWeightsPassInfo()) {}

  llvm::Error run(Module &) override {
    return makeError("encode-weights works on the segments of a split family");
  }

  llvm::Error runOnFamily(Family &family) override {
    if (!family.state.segments)
      return makeError("encode-weights needs the split family: run "
                       "align-family,detect-boundaries,split first");
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
};

} // namespace

const PassInfo &encodeWeightsPassInfo() {
  static const PassInfo info = {
      "encode-weights",
      "Record how every segment's weights are stored (dense panels, CSR, "
      "4x1 blocks) and which kernel reads them, as lowered for one sample",
      {},
      {{"products", "products with a weight, over all segments"},
       {"format-PackedPanels", "weights stored as dense packed panels"},
       {"format-Dense", "weights stored dense"},
       {"format-Csr", "weights stored as CSR"},
       {"format-BlockSparse", "weights stored as 4x1 blocks"},
       {"weight-bytes-encoded", "bytes of all weights as stored"}},
      [](const PassOptions &) -> llvm::Expected<std::unique_ptr<Pass>> {
        return std::make_unique<EncodeWeightsPass>();
      }};
  return info;
}

} // namespace sparseloom
