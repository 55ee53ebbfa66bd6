//===- Pruner.h - Magnitude pruning of a model's linear weights -*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Makes the sparse variants of a dense model that the rest of SparseLoom
// stitches together: the weight operands of linear ops (OpLinearWithWeight)
// are pruned by magnitude to a sparsity level, in one of four patterns:
//
//   unstructured  single weights;
//   block:RxC     aligned R x C blocks of the weight's [output channels,
//                 reduction] matrix (IR/WeightLayout.h), scored by L2 norm;
//   nm:N:M        N of every M consecutive reduction elements kept;
//   channel       whole output channels, which are *removed*: the weight,
//                 its bias and the consumers of the channels (BatchNorm
//                 parameters, the next Conv/Gemm/MatMul's input channels)
//                 shrink, giving a structurally different model.
//
// Every pattern but `channel` keeps every tensor shape, which is what lets
// the variants of a family be cut and recombined. docs/Pruning.md describes
// the rules (scopes, rounding, what the channel pattern refuses).
//
// A Pruner analyzes the model once (which weights are prunable, whether the
// pattern fits them, where channel structure is local) and reports every
// user-input problem before any level is pruned, so a tool can validate
// everything before writing anything.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_PRUNE_PRUNER_H
#define SPARSELOOM_PRUNE_PRUNER_H

#include "sparseloom/IR/Module.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sparseloom {

/// Which groups of weights are pruned together.
struct PrunePattern {
  enum class Kind { Unstructured, Block, NM, Channel };
  Kind kind = Kind::Unstructured;
  int64_t blockRows = 1, blockCols = 1; // Block: R x C
  int64_t n = 0, m = 0;                 // NM: keep n of every m

  /// Parses "unstructured", "block:RxC", "nm:N:M" (0 < N < M) or "channel".
  static llvm::Expected<PrunePattern> parse(llvm::StringRef spec);
  /// The spelling parse() accepts.
  std::string str() const;
  /// False only for `channel`, which removes channels.
  bool keepsShapes() const { return kind != Kind::Channel; }
  /// For nm:N:M, the only sparsity it produces: 1 - N/M.
  double nmSparsity() const { return 1.0 - double(n) / double(m); }
};

/// Per layer: every layer reaches the level. Global: one threshold over the
/// scores of all pruned layers, so layers end at different densities.
enum class PruneScope { PerLayer, Global };
llvm::Expected<PruneScope> parsePruneScope(llvm::StringRef spec);
llvm::StringRef pruneScopeName(PruneScope scope);

/// Appends the levels of a comma-separated list ("0.5,0.7,0.9") to `levels`.
/// Each must be a number in [0, 1).
llvm::Error parseSparsityList(llvm::StringRef spec,
                              std::vector<double> &levels);

/// Weights with fewer elements than this are left dense by default: tiny
/// weights save nothing and hurt accuracy most.
constexpr int64_t kDefaultMinParams = 16;

struct PruneOptions {
  PrunePattern pattern;
  PruneScope scope = PruneScope::PerLayer;
  /// Globs on node names (an unnamed node is matched by the name of its
  /// first output); matching nodes keep their weights dense. A pattern that
  /// matches no node is an error.
  std::vector<std::string> exclude;
  /// Keep the first and the last prunable layer (in node order) dense.
  bool keepFirstLast = false;
  /// Weights with fewer elements are not pruned.
  int64_t minParams = kDefaultMinParams;
  /// Store the pruned weights as sparse_initializers (COO). Pruned weights
  /// the input stored sparse stay sparse either way.
  bool sparseInitializers = false;
};

/// Checks the levels against the options: at least one level, no level
/// twice, and for nm:N:M every level equal to 1 - N/M (N:M fixes the
/// sparsity) and no global scope (N:M is per group by definition).
llvm::Error checkSparsityLevels(const std::vector<double> &levels,
                                const PruneOptions &options);

/// One weight considered for pruning and what happened to it at one level.
struct LayerReport {
  enum class Status {
    Pruned,
    Excluded,
    KeptFirstLast,
    BelowMinParams,
    Skipped
  };
  /// The node's name, or its first output's name when it has none (what
  /// --exclude matches).
  std::string node;
  std::string weight;
  std::vector<int64_t> shape;    // before pruning
  std::vector<int64_t> newShape; // after (differs only for `channel`)
  Status status = Status::Pruned;
  /// Why the layer was not pruned.
  std::string note;
  /// Requested density (1 - sparsity) for a pruned layer in per-layer scope;
  /// negative when the level applies to the total only (global scope) or
  /// the layer was not pruned.
  double targetDensity = -1.0;
  /// Elements of the weight before pruning, and those still non-zero after
  /// (for `channel`: the elements of the kept channels).
  int64_t elements = 0;
  int64_t kept = 0;
  /// `channel` only: output channels before and after.
  int64_t channels = 0, keptChannels = 0;

  double density() const {
    return elements == 0 ? 1.0 : double(kept) / double(elements);
  }
};

/// What one level did.
struct PruneReport {
  double sparsity = 0;
  PrunePattern pattern;
  PruneScope scope = PruneScope::PerLayer;
  std::vector<LayerReport> layers;
  /// Over the pruned layers only.
  int64_t totalElements = 0, totalKept = 0;
  double totalDensity() const {
    return totalElements == 0 ? 1.0 : double(totalKept) / double(totalElements);
  }
};

/// Prints the per-layer table of one level (node, weight, shape, pattern,
/// target and achieved density, note) and the total.
void printPruneReport(const PruneReport &report, llvm::raw_ostream &os);

class Pruner {
public:
  /// Analyzes `module` (which must outlive the Pruner). Fails, naming the
  /// node where there is one, on: an --exclude pattern that matches no node,
  /// a pattern that does not divide a weight's matrix, a model without
  /// prunable weights, and `channel` when no layer's channels can be
  /// removed.
  static llvm::Expected<std::unique_ptr<Pruner>> create(const Module &module,
                                                        PruneOptions options);
  ~Pruner();

  /// A pruned copy of the module at `sparsity` (in [0, 1)); fills `report`.
  llvm::Expected<std::unique_ptr<Module>> prune(double sparsity,
                                                PruneReport &report) const;

  /// Layers left dense for a reason the user may not expect (`channel`
  /// layers whose channels are not local), as (node display name, message).
  const std::vector<std::pair<std::string, std::string>> &warnings() const;

private:
  struct Impl;
  explicit Pruner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

} // namespace sparseloom

#endif // SPARSELOOM_PRUNE_PRUNER_H
