//===- CheckCompat.cpp - Which variants may be stitched at each cut -------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// For every chosen boundary (detect-boundaries) and every ordered pair of
// members (producer side from A, consumer side from B), decides whether the
// tensors live across the cut fit: element type, shape, layout and
// quantization parameters (lib/Stitch/Compatibility.cpp). The result is one
// matrix per boundary in family.state.compatibility, each "no" with its
// reason; the family printer shows it and the JSON report carries it. A
// channel-pruned member comes out stitchable at block outputs, where its
// shapes equal the reference's, and not inside the blocks.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"

#include "sparseloom/Stitch/Compatibility.h"
#include "sparseloom/Support/Diagnostics.h"

#include "llvm/Support/raw_ostream.h"

#define DEBUG_TYPE "check-compat"

namespace sparseloom {

namespace {

class CheckCompatPass : public Pass {
public:
  CheckCompatPass() : Pass(checkCompatPassInfo()) {}

  llvm::Error run(Module &) override {
    return makeError("check-compat works on a family of models; run it "
                     "through PassManager::run(Family&) (sparseloom-opt "
                     "does, also for a single model)");
  }

  llvm::Error runOnFamily(Family &family) override {
    if (llvm::Error err = checkCompatibility(family))
      return err;
    const auto &compat = family.state.compatibility;
    for (size_t i = 0; i < compat.size(); ++i) {
      int64_t no = 0;
      for (size_t a = 0; a < family.size(); ++a)
        for (size_t b = 0; b < family.size(); ++b) {
          statistics().add("pairs-checked");
          no += !compat[i].stitchable[a][b];
        }
      statistics().add("incompatible-pairs", no);
      SL_DEBUG(debugStream() << "check-compat: boundary " << i << " @"
                             << family.state.chosen[i].position << ": " << no
                             << " incompatible pairs\n");
    }
    return llvm::Error::success();
  }
};

} // namespace

const PassInfo &checkCompatPassInfo() {
  static const PassInfo info = {
      "check-compat",
      "Per chosen boundary and member pair: do the live tensors' type, shape, "
      "layout and quantization match? (matrix with reasons)",
      {},
      {{"pairs-checked", "Ordered member pairs checked, over all boundaries"},
       {"incompatible-pairs", "Pairs that cannot be stitched"}},
      [](const PassOptions &) -> llvm::Expected<std::unique_ptr<Pass>> {
        return std::make_unique<CheckCompatPass>();
      }};
  return info;
}

} // namespace sparseloom
