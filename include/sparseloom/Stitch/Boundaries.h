//===- Boundaries.h - Cut points and balanced segments ----------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Where a model can be cut into segments that run one after the other, and
// which of those cuts to take. The detect-boundaries pass applies this to
// every member of a family; the rules are documented in docs/Boundaries.md.
//
// Vocabulary. Given a topological order of N nodes, gap p (0 <= p <= N) lies
// just before node p: nodes [0, p) run before a cut at p. The *live set* of
// gap p holds the activation tensors produced before it (node outputs or
// graph inputs) and read by a node at or after it. Weights, and values
// computed from weights and Constant nodes alone, are not activations:
// they are constants each segment can hold (canonicalize folds the latter
// into weights). A graph output produced before the cut belongs to its
// segment and does not cross the cut.
//
// A gap is a cut point (a *candidate*) when
//   1. it is neither 0 nor N (both segments must be non-empty);
//   2. at most K tensors are live across it (K = maxLiveTensors, 1 by
//      default);
//   3. it is not inside a block (below);
//   4. it is not redundant: a weighted op (a Conv, Gemm or MatMul whose
//      weight operand is a constant: what pruning makes sparse) lies
//      before it and one after it, and no later gap passing 1-3 comes
//      before the next weighted op. A segment without weighted ops is the
//      same in every variant, so there is nothing to stitch in it; and of
//      several cuts between the same two weighted ops only the last is
//      kept, so activations, pooling and reshapes stay with the op they
//      follow (a cut lands after a block's final ReLU, not before it).
//
// Blocks. With K = 1 a single tensor crosses the cut and everything after it
// depends on that tensor alone, which is exactly what a block output is. With
// K > 1 the live set may hold
//   - *side values*: activations that never pass through a weighted op
//     (a Conv/Gemm/MatMul whose weight operand is a constant) and reach one
//     only after joining another activation, such as an attention mask or a
//     late side input. They cross block boundaries unchanged and never form
//     a block themselves; they do count towards K;
//   - *stream values*: all other activations (the features).
// A gap is inside a block when two of its live stream values have a common
// ancestor (a node or graph input both depend on, through stream values)
// and a common descendant (they reconverge later): a residual block's skip
// and branch, the Q/K/V paths of attention, two streams forked from one stem.
// Streams that come from different graph inputs and only meet at the end
// (a two-stream model) may be cut with K = 2.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_STITCH_BOUNDARIES_H
#define SPARSELOOM_STITCH_BOUNDARIES_H

#include "sparseloom/IR/Module.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace sparseloom {

/// Why a gap is, or is not, a cut point.
enum class GapStatus {
  /// Gap 0 or N: one side would be empty.
  Edge,
  /// More than K activation tensors are live across it.
  TooManyLive,
  /// Its live stream values fork from a common ancestor and reconverge.
  InsideBlock,
  /// No weighted op lies on one of its sides, or a later valid gap comes
  /// before the next weighted op (rule 4).
  Redundant,
  /// A cut point.
  Candidate,
};

llvm::StringRef gapStatusName(GapStatus status);

struct CutOptions {
  /// K: the most activation tensors a cut may carry.
  unsigned maxLiveTensors = 1;
};

/// The live sets and classification of every gap of one graph in one order.
struct CutAnalysis {
  /// liveCount[p]: activation tensors live across gap p (0 <= p <= N).
  std::vector<unsigned> liveCount;
  /// live[p]: those tensors, in order of definition (graph inputs first);
  /// filled where liveCount[p] <= maxLiveTensors and at the first gap
  /// between two nodes with the fewest, empty elsewhere.
  std::vector<std::vector<std::string>> live;
  /// status[p]: Redundant is only set by applyRedundantCutRule.
  std::vector<GapStatus> status;
  /// weighted[i]: node i of the order is a weighted op.
  std::vector<bool> weighted;
  /// Activation values classified as side values (sorted by name).
  std::vector<std::string> sideValues;

  size_t numNodes() const { return status.empty() ? 0 : status.size() - 1; }
  /// Gaps whose status is Candidate, in order.
  std::vector<size_t> candidates() const;
};

/// Analyzes `graph` in `order`, which must list every node of the graph
/// exactly once in a topological order (asserted).
CutAnalysis analyzeCuts(const Graph &graph, llvm::ArrayRef<const Node *> order,
                        const CutOptions &options);

/// Rule 4 above: turns Candidate gaps into Redundant ones given which nodes
/// of the analyzed order are weighted ops.
void applyRedundantCutRule(std::vector<GapStatus> &status,
                           const std::vector<bool> &weighted);

/// FLOPs of every node of `graph` in `order` (IR/Cost.h).
std::vector<double> nodeFlopsInOrder(const Graph &graph,
                                     llvm::ArrayRef<const Node *> order);

/// A cut point of one model.
struct CutPoint {
  size_t position = 0;
  std::vector<std::string> liveTensors;
};

/// Every cut point of `graph` in its stable topological order, all four
/// rules applied. Fails only on a graph without a topological order.
llvm::Expected<std::vector<CutPoint>> findCutPoints(const Graph &graph,
                                                    const CutOptions &options);

/// The error for a model (or family) without any cut point: says what the
/// smallest live set was and which option would admit it. `order` is the
/// analyzed order (for node names).
llvm::Error noCutPointError(const CutAnalysis &analysis,
                            llvm::ArrayRef<const Node *> order,
                            const CutOptions &options);

// --- Choosing segments ----------------------------------------------------

/// Exactly one of: a number of segments, or a cost no segment may exceed
/// (then the fewest segments that achieve it).
struct SegmentRequest {
  size_t segments = 1;
  std::optional<double> maxSegmentCost;
};

/// Names used in error messages.
struct SegmentNaming {
  /// E.g. "model" or "family 'kws'"; the file is added by the caller.
  std::string subject = "model";
  /// Node names in the analyzed order (may be empty: "node #i" is used).
  std::vector<std::string> nodeNames;
  /// Unit of the costs ("FLOPs", "parameters").
  std::string unit = "FLOPs";
};

struct SegmentChoice {
  /// Chosen cut positions (a subset of the candidates), increasing.
  std::vector<size_t> cuts;
  /// Cost of each of the cuts.size() + 1 segments.
  std::vector<double> segmentCosts;
};

/// Chooses segments over nodes with costs `nodeCosts` (in analyzed order),
/// cutting only at `candidates` (increasing, each in (0, N)). Among all
/// choices with the requested number of segments it minimizes the cost of
/// the most expensive segment, and among those the sum of squared segment
/// costs (the variance: the most even split). Fails when more segments are
/// asked for than there are candidates plus one, or when the maximum cost
/// cannot be met (naming the most expensive node of the stretch that
/// cannot be cut).
llvm::Expected<SegmentChoice> chooseSegments(llvm::ArrayRef<double> nodeCosts,
                                             llvm::ArrayRef<size_t> candidates,
                                             const SegmentRequest &request,
                                             const SegmentNaming &naming = {});

} // namespace sparseloom

#endif // SPARSELOOM_STITCH_BOUNDARIES_H
