//===- LatencyModel.h - Where segment latencies come from -------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The stitch space needs the latency of every subgraph on every processor.
// LatencySource is the one interface for it: ModeledLatency derives it from
// the platform's cost model and the subgraph's work (below); a measured
// profile (a later issue: sparseloom-profile on real hardware, or timings of
// our own kernels on the host) implements the same interface, so nothing
// downstream changes when measurements replace the model.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_SPACE_LATENCYMODEL_H
#define SPARSELOOM_SPACE_LATENCYMODEL_H

#include "sparseloom/IR/Module.h"
#include "sparseloom/Space/Platform.h"

#include <set>
#include <string>
#include <vector>

namespace sparseloom {

/// What one node asks of a processor.
struct NodeWork {
  std::string opType;
  std::string nodeName;
  double flops = 0;
  /// Whether the node multiplies by a weight (Conv, Gemm, MatMul with a
  /// constant operand): the ops sparse kernels accelerate.
  bool linearWithWeight = false;
  int64_t weightParameters = 0;
  int64_t weightNonzeros = 0;
  /// Sparsity pattern family of its weight ("dense", "unstructured",
  /// "block", "channel", "nm"), from the sparsity-analysis annotations.
  std::string pattern = "dense";
  /// Bytes of activations read and written.
  double activationBytes = 0;
};

/// What one subgraph asks of a processor.
struct SegmentWork {
  std::vector<NodeWork> nodes;
  /// Bytes of the weights as stored (each weight once).
  double weightBytes = 0;
  /// Peak bytes of activations (sum of all, an upper bound).
  double activationBytes = 0;
  std::set<std::string> opTypes;
};

/// Describes a module (a segment) for latency estimation. Run
/// sparsity-analysis first so weights carry their pattern annotations;
/// without them every weight counts as dense-patterned.
SegmentWork describeSegment(const Module &module);

/// The sparsity pattern whose sparse kernel `processor` runs `node` with:
/// the node's own pattern, or "unstructured" for a structure the processor
/// has no kernel for; "" when the dense kernel is at least as fast or the
/// node has no sparse weight. The choice ModeledLatency's cost assumes, and
/// the one encode-weights records per processor.
std::string sparseKernelPattern(const Processor &processor,
                                const NodeWork &node);

class LatencySource {
public:
  virtual ~LatencySource() = default;
  /// A short name for reports ("modeled:host", "measured:profile.json").
  virtual std::string name() const = 0;
  /// Milliseconds for one invocation of the segment on the processor, or
  /// +infinity when the processor cannot run it.
  virtual double segmentLatencyMs(const SegmentWork &segment,
                                  unsigned processor) const = 0;
  /// Why segmentLatencyMs is infinite ("" when it is not).
  virtual std::string infeasibleReason(const SegmentWork &segment,
                                       unsigned processor) const = 0;
};

/// Latency from the platform's cost model: per node, the larger of compute
/// time (dense, or sparse when the processor's sparse kernels make it
/// faster) and memory time, plus the per-invocation overhead.
class ModeledLatency : public LatencySource {
public:
  explicit ModeledLatency(const Platform &platform) : platform_(platform) {}
  std::string name() const override { return "modeled:" + platform_.name; }
  double segmentLatencyMs(const SegmentWork &segment,
                          unsigned processor) const override;
  std::string infeasibleReason(const SegmentWork &segment,
                               unsigned processor) const override;
  /// One node's time in milliseconds (exposed for reports and tests).
  double nodeLatencyMs(const NodeWork &node, unsigned processor) const;

private:
  const Platform &platform_;
};

} // namespace sparseloom

#endif // SPARSELOOM_SPACE_LATENCYMODEL_H
