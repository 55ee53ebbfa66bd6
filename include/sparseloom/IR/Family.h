//===- Family.h - The variants of one task, aligned -------------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// A family is the set of sparse variants of one base model (one task). Family
// passes (align-family, detect-boundaries, check-compat, split) need all the
// variants at once, so the pass manager runs over a Family; a single model is
// a family of one, which keeps every module pass usable unchanged.
//
// Per-variant results live in each member's Module/Node annotations (so the
// IR printer and FileCheck see them). Results that relate variants to each
// other (node correspondence, boundaries chosen for the whole family, the
// compatibility matrix, the split segments) live in the FamilyState below,
// owned by the family and filled by the passes in pipeline order.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_IR_FAMILY_H
#define SPARSELOOM_IR_FAMILY_H

#include "sparseloom/IR/Module.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sparseloom {

/// One variant of a family: its name (e.g. "dense", "s90"), where it came
/// from (for error messages), and its IR.
struct FamilyMember {
  std::string variant;
  std::string file;
  std::unique_ptr<Module> module;
};

/// A cut point of the family: a position in the reference topological order
/// (nodes [0, position) run before the cut) and the activation tensors live
/// across it, named in the reference variant.
struct FamilyBoundary {
  size_t position = 0;
  std::vector<std::string> liveTensors;
};

/// Written by align-family: for every member, node i of the reference
/// (member 0) order corresponds to nodeOrder[member][i]. Differences that do
/// not break the correspondence (shapes changed by channel pruning) are
/// listed so check-compat can decide where pieces still fit.
struct FamilyAlignment {
  /// Reference topological order, as node names per member.
  std::vector<std::vector<std::string>> nodeOrder;
  /// Human-readable differences per member ("node X: output shape ...").
  std::vector<std::vector<std::string>> differences;
};

/// Written by check-compat: per chosen boundary, stitchable[a][b] says
/// whether the part before the boundary from member a may feed the part
/// after it from member b; reasons[a][b] explains every "no".
struct BoundaryCompatibility {
  std::vector<std::vector<bool>> stitchable;
  std::vector<std::vector<std::string>> reasons;
};

/// Written by split: member m's segment s as a standalone module.
struct FamilySegments {
  std::vector<std::vector<std::unique_ptr<Module>>> perMember;
};

/// Results shared across the members, filled by the family passes.
struct FamilyState {
  std::optional<FamilyAlignment> alignment;
  /// Every valid cut point (detect-boundaries), in order.
  std::vector<FamilyBoundary> candidates;
  /// The chosen cut points (a subset of candidates), in order; n segments
  /// have n-1 chosen boundaries.
  std::vector<FamilyBoundary> chosen;
  bool boundariesDetected = false;
  std::vector<BoundaryCompatibility> compatibility; // one per chosen boundary
  std::optional<FamilySegments> segments;
};

class Family {
public:
  /// The task name (e.g. "digits"); derived from file names when not given.
  std::string task;
  std::vector<FamilyMember> members;
  FamilyState state;

  /// A family of one, for running module pipelines on a single model.
  static Family ofOne(std::unique_ptr<Module> module, std::string file,
                      std::string variant = "model");
  /// The reference member whose order and costs define the boundaries.
  Module &reference() { return *members.front().module; }
  const Module &reference() const { return *members.front().module; }
  size_t size() const { return members.size(); }
};

} // namespace sparseloom

#endif // SPARSELOOM_IR_FAMILY_H
