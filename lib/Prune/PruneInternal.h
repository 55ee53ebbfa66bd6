//===- PruneInternal.h - Shared pieces of the pruner ------------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Private to lib/Prune: unit selection (which scores are pruned), tensor
// helpers, and the channel-removal planner and rewriter that
// ChannelPruning.cpp implements for Pruner.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_LIB_PRUNE_PRUNEINTERNAL_H
#define SPARSELOOM_LIB_PRUNE_PRUNEINTERNAL_H

#include "sparseloom/IR/Analysis.h"
#include "sparseloom/IR/Module.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sparseloom {
namespace prune {

/// A level as a percentage with as few digits as it needs: 0.5 -> "50",
/// 0.875 -> "87.5" (file names use it; so does duplicate detection).
std::string formatPercent(double level);
/// A level for messages: 0.5 -> "0.5".
std::string formatLevel(double level);
/// A shape for messages and reports: "[8,4,3,3]".
std::string formatShape(const std::vector<int64_t> &dims);

/// Marks exactly `count` of `scores` (the lowest; ties go to the earlier
/// index, so the result is deterministic) and returns the marks. NaN scores
/// count as +infinity: a NaN weight is never pruned first.
std::vector<uint8_t> selectLowest(const std::vector<float> &scores,
                                  int64_t count);

/// round(fraction * units), the number of units a level prunes.
int64_t unitsToPrune(double fraction, int64_t units);

/// The same tensor stored as SparseCoo (its non-zeros).
TensorDataRef toSparseCoo(const TensorData &data);

/// A copy of `data` keeping, along each dimension listed in `keep`, only the
/// listed indices (sorted, in range); other dimensions are kept whole.
TensorDataRef gatherAxes(const TensorData &data,
                         const std::map<size_t, std::vector<int64_t>> &keep);

/// Slice one weight along one dimension with the producer's kept channels;
/// each channel is a run of `block` consecutive indices there (a consumer
/// behind a Flatten sees a channel as H*W... features).
struct AxisEdit {
  std::string weight;
  size_t dim = 0;
  int64_t block = 1;
};

/// How removing output channels of one layer changes the model: which
/// weights shrink along which dimension (the layer's own weight first), and
/// which values lose channels (their types are inferred again).
struct ChannelPlan {
  int64_t channels = 0;
  std::vector<AxisEdit> edits;
  std::vector<std::string> values;
  /// Nodes the channels flow through or end in (producer included).
  std::vector<const Node *> nodes;
};

/// Plans removing output channels of `producer` (a linear op reading
/// `weight`). Returns the reason when its channels are not local: they
/// reach a graph output, an op that mixes them with another activation (a
/// residual Add), a reshape, or anything else whose channels cannot be
/// adjusted.
std::optional<std::string> planChannelRemoval(const Graph &graph,
                                              const UseDefInfo &uses,
                                              const Node &producer,
                                              const std::string &weight,
                                              ChannelPlan &plan);

/// One layer's decision at one level: the output channels it keeps.
struct ChannelCut {
  const ChannelPlan *plan = nullptr;
  std::vector<int64_t> kept; // sorted
};

/// Applies the cuts (whose plans never edit the same weight dimension
/// twice) and infers the types of the values that lost channels again.
llvm::Error removeChannels(Module &module, const std::vector<ChannelCut> &cuts);

} // namespace prune
} // namespace sparseloom

#endif // SPARSELOOM_LIB_PRUNE_PRUNEINTERNAL_H
