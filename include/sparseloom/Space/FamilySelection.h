//===- FamilySelection.h - Choose what each task ships ----------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// What select-variants does: turn the fronts of one or more enumerated
// families (one per task) into a selection problem (Selection.h: SLO
// coverage under one memory budget, with subgraph sharing) and record each
// task's pick in family.state.selection. sparseloom-opt selects for one
// task; sparseloom-compile for all the tasks of an application at once.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_SPACE_FAMILYSELECTION_H
#define SPARSELOOM_SPACE_FAMILYSELECTION_H

#include "sparseloom/IR/Family.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace sparseloom {

struct FamilySelectionOptions {
  double budgetBytes = 0;
  unsigned gridSize = 16;
  unsigned maxPerTask = 0; // 0: no limit
};

/// Every family must have been enumerated (state.fronts). Errors name the
/// task when the budget cannot hold even its smallest variant.
llvm::Error selectFamilyVariants(const std::vector<Family *> &families,
                                 const FamilySelectionOptions &options);

} // namespace sparseloom

#endif // SPARSELOOM_SPACE_FAMILYSELECTION_H
