//===- AlignFamily.cpp - Prove the variants of a family share one graph ---===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The first family pass: matches every member node by node against the
// reference (the first member) and records the correspondence in
// family.state.alignment, which detect-boundaries, check-compat and split
// use to name the same tensor in every member. Shapes and attributes that
// differ (a channel-pruned variant) are recorded as differences, on the
// family and as `align.difference` annotations on the member's nodes;
// variants that are not of one base model, or use other opsets, are errors
// naming both files and the first node that differs. The logic is in
// lib/Stitch/Alignment.cpp.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"

#include "sparseloom/Stitch/Alignment.h"
#include "sparseloom/Support/Diagnostics.h"

#include "llvm/Support/raw_ostream.h"

#define DEBUG_TYPE "align-family"

namespace sparseloom {

namespace {

class AlignFamilyPass : public Pass {
public:
  AlignFamilyPass() : Pass(alignFamilyPassInfo()) {}

  llvm::Error run(Module &) override {
    return makeError("align-family works on a family of models; run it "
                     "through PassManager::run(Family&) (sparseloom-opt "
                     "does, also for a single model)");
  }

  llvm::Error runOnFamily(Family &family) override {
    if (llvm::Error err = alignFamily(family))
      return err;
    const FamilyAlignment &alignment = *family.state.alignment;
    for (size_t m = 0; m < family.size(); ++m) {
      statistics().add("members-aligned");
      statistics().add("differences", int64_t(alignment.differences[m].size()));
      SL_DEBUG(debugStream()
               << "align-family: \"" << family.members[m].variant
               << "\": " << alignment.nodeOrder[m].size() << " nodes, "
               << alignment.differences[m].size() << " differences\n");
    }
    return llvm::Error::success();
  }
};

} // namespace

const PassInfo &alignFamilyPassInfo() {
  static const PassInfo info = {
      "align-family",
      "Match every variant of a family node by node against the first; "
      "record differences (e.g. channel pruning)",
      {},
      {{"members-aligned", "Members matched against the reference"},
       {"differences", "Attribute and shape differences recorded"}},
      [](const PassOptions &) -> llvm::Expected<std::unique_ptr<Pass>> {
        return std::make_unique<AlignFamilyPass>();
      }};
  return info;
}

} // namespace sparseloom
