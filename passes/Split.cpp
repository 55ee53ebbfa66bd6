//===- Split.cpp - Cut every variant into standalone segments -------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Cuts every member at the chosen boundaries into n standalone modules
// (family.state.segments): a segment's inputs are the tensors live across
// the boundary before it (and the graph inputs it reads), its outputs those
// live across the boundary after it plus the graph outputs it produces, and
// it carries only the weights it reads. Each segment verifies and exports as
// a valid ONNX model (`sparseloom-opt --emit=onnx -o DIR` writes them as
// <task>.<variant>.seg<i>.onnx). The logic is in lib/Stitch/Splitting.cpp.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"

#include "sparseloom/Stitch/Splitting.h"
#include "sparseloom/Support/Diagnostics.h"

#include "llvm/Support/raw_ostream.h"

#define DEBUG_TYPE "split"

namespace sparseloom {

namespace {

class SplitPass : public Pass {
public:
  SplitPass() : Pass(splitPassInfo()) {}

  llvm::Error run(Module &) override {
    return makeError("split works on a family of models; run it through "
                     "PassManager::run(Family&) (sparseloom-opt does, also "
                     "for a single model)");
  }

  llvm::Error runOnFamily(Family &family) override {
    if (llvm::Error err = splitFamily(family))
      return err;
    for (const auto &segments : family.state.segments->perMember)
      for (const auto &segment : segments) {
        statistics().add("segments");
        SL_DEBUG(debugStream()
                 << "split: " << segment->graph.name << ": "
                 << segment->graph.numNodes() << " nodes, "
                 << segment->graph.inputs.size() << " inputs, "
                 << segment->graph.outputs.size() << " outputs\n");
      }
    return llvm::Error::success();
  }
};

} // namespace

const PassInfo &splitPassInfo() {
  static const PassInfo info = {
      "split",
      "Cut every variant at the chosen boundaries into standalone segment "
      "models",
      {},
      {{"segments", "Segment modules made, over all members"}},
      [](const PassOptions &) -> llvm::Expected<std::unique_ptr<Pass>> {
        return std::make_unique<SplitPass>();
      }};
  return info;
}

} // namespace sparseloom
