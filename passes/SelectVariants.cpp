//===- SelectVariants.cpp - Choose the stitched variants to ship ----------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Picks, from the enumerated fronts, the stitched variants that ship under a
// memory budget: the most SLO grid points (latency deadline x accuracy
// floor) met per byte, counting each distinct subgraph once
// (lib/Space/Selection.cpp). In sparseloom-opt the budget is one task's;
// sparseloom-compile selects for all tasks under one budget.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"

#include "sparseloom/Space/FamilySelection.h"
#include "sparseloom/Support/Diagnostics.h"

#include "llvm/Support/raw_ostream.h"

#define DEBUG_TYPE "select-variants"

namespace sparseloom {

namespace {

class SelectVariantsPass : public Pass {
public:
  explicit SelectVariantsPass(FamilySelectionOptions options)
      : Pass(selectVariantsPassInfo()), options_(std::move(options)) {}

  llvm::Error run(Module &) override {
    return makeError("select-variants works on an enumerated family");
  }

  llvm::Error runOnFamily(Family &family) override {
    if (llvm::Error err = selectFamilyVariants({&family}, options_))
      return err;
    const FamilySelection &selection = *family.state.selection;
    statistics().add("selected", int64_t(selection.selected.size()));
    SL_DEBUG(debugStream() << "select-variants: " << family.task << ": "
                           << selection.selected.size() << " variants, "
                           << selection.memoryBytes << " bytes\n");
    return llvm::Error::success();
  }

private:
  FamilySelectionOptions options_;
};

} // namespace

const PassInfo &selectVariantsPassInfo() {
  static const PassInfo info = [] {
    PassInfo i;
    i.name = "select-variants";
    i.summary = "Choose the stitched variants to ship under a memory budget "
                "(SLO coverage, shared subgraphs counted once)";
    i.options = {
        {"budget", "memory budget in bytes for the shipped subgraphs", ""},
        {"grid", "SLO grid size per task (grid x grid deadlines x floors)",
         "16"},
        {"max-per-task", "at most this many variants (0 = no limit)", "0"},
    };
    i.statistics = {{"selected", "stitched variants selected"}};
    i.create = [](const PassOptions &options)
        -> llvm::Expected<std::unique_ptr<Pass>> {
      if (!options.has("budget"))
        return makeError("select-variants needs budget=BYTES");
      auto budget = options.getDouble("budget", 0);
      auto grid = options.getInt("grid", 16);
      auto maxPerTask = options.getInt("max-per-task", 0);
      if (!budget)
        return budget.takeError();
      if (!grid)
        return grid.takeError();
      if (!maxPerTask)
        return maxPerTask.takeError();
      if (!(*budget > 0))
        return makeError("select-variants: budget must be a positive number "
                         "of bytes");
      if (*grid < 2 || *grid > 256 || *maxPerTask < 0)
        return makeError("select-variants: grid must be 2..256 and "
                         "max-per-task >= 0");
      FamilySelectionOptions selection;
      selection.budgetBytes = *budget;
      selection.gridSize = unsigned(*grid);
      selection.maxPerTask = unsigned(*maxPerTask);
      return std::make_unique<SelectVariantsPass>(std::move(selection));
    };
    return i;
  }();
  return info;
}

} // namespace sparseloom
