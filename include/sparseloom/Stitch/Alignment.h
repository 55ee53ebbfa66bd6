//===- Alignment.h - Aligning the variants of a family ----------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// align-family's logic. Every member of a family is matched node by node
// against the reference (member 0): same ops, domains, connectivity and
// operand kinds, weight values ignored. What may differ without breaking the
// correspondence (attributes, activation and weight shapes, as channel
// pruning changes them) is recorded as a difference for check-compat; what
// breaks it (another op, other wiring, another node count, other opsets) is
// an error naming both files and the first node that differs.
//
// The result lives in family.state.alignment: nodeOrder[m][i] is the key of
// member m's node that corresponds to node i of the reference topological
// order. A key is the node's name when that is non-empty and unique in its
// graph, else its displayName() ("Op producing OUT", unique because values
// are SSA). FamilyValueMap turns the correspondence into value names, which
// is what boundary tensors, segments and stitching need.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_STITCH_ALIGNMENT_H
#define SPARSELOOM_STITCH_ALIGNMENT_H

#include "sparseloom/IR/Family.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace sparseloom {

/// Matches every member against the reference and fills
/// family.state.alignment. Fails (naming the member's file, the node, and
/// the reference file) when a member cannot be aligned or its opset imports
/// differ. Annotates each member module with `align.nodes` and
/// `align.differences`, and every node that differs from its reference
/// counterpart with `align.difference`.
llvm::Error alignFamily(Family &family);

/// The key under which alignment lists `node` of `graph` (see above).
std::string alignmentNodeKey(const Graph &graph, const Node &node);

/// Member m's nodes in reference order: result[i] corresponds to node i of
/// the reference order. Requires alignment; fails if a key no longer
/// resolves (the member was changed after align-family).
llvm::Expected<std::vector<const Node *>> alignedNodes(const Family &family,
                                                       unsigned member);

/// Value names across members, derived from the node correspondence: graph
/// inputs correspond by position, node outputs by (node, slot). Weights are
/// not activations and are not mapped.
class FamilyValueMap {
public:
  /// Requires family.state.alignment.
  static llvm::Expected<FamilyValueMap> build(const Family &family);

  /// Member m's name of the reference value `refName`, or "" when the value
  /// is not an activation of the reference.
  std::string toMember(unsigned member, llvm::StringRef refName) const;
  /// The reference name of member m's value, or "" when none.
  std::string toReference(unsigned member, llvm::StringRef memberName) const;

private:
  std::vector<llvm::StringMap<std::string>> toMember_;
  std::vector<llvm::StringMap<std::string>> toReference_;
};

} // namespace sparseloom

#endif // SPARSELOOM_STITCH_ALIGNMENT_H
