//===- Platform.h - Processors of a target SoC and their costs --*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// A platform file (JSON, docs/Platforms.md) lists the processors a bundle
// may run on and, per processor, a cost model: sustained dense throughput,
// how much of it survives when skipping zeros of each sparsity pattern,
// memory bandwidth, per-invocation overhead, memory capacity and ops it
// cannot run. Links between processors give the cost of moving a boundary
// tensor when a stitched variant changes processor between segments.
//
// Processors that exist on the build machine (CPU cores) and those that are
// only modeled (a phone's GPU/NPU) are described the same way; where the
// latency comes from (this model, or a measured profile later) is hidden
// behind LatencySource (LatencyModel.h).
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_SPACE_PLATFORM_H
#define SPARSELOOM_SPACE_PLATFORM_H

#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace sparseloom {

enum class ProcessorKind { Cpu, Gpu, Npu, Dsp };

const char *processorKindName(ProcessorKind kind);

struct Processor {
  std::string id;
  ProcessorKind kind = ProcessorKind::Cpu;
  /// Worker threads (CPU clusters: cores used); 1 for accelerators.
  unsigned threads = 1;
  /// Sustained dense float32 throughput on convolution / matrix layers,
  /// GFLOP/s, with `threads` threads.
  double denseGflops = 0;
  /// Throughput on elementwise, normalisation and data-movement ops, as a
  /// fraction of denseGflops (they are memory bound on every processor).
  double otherOpEfficiency = 0.1;
  /// Per sparsity pattern ("unstructured", "block", "channel", "nm"): the
  /// fraction of dense throughput achieved per *non-zero* FLOP by this
  /// processor's sparse kernels. A layer of density d then costs
  /// d / efficiency of its dense time (never more than dense: the compiler
  /// picks the dense kernel when that is faster). A pattern without an entry
  /// uses the "unstructured" one (an N:M or block weight is also
  /// unstructured-sparse); without either, sparsity brings nothing.
  std::map<std::string, double> sparseEfficiency;
  /// Sustained memory bandwidth in GB/s (weights and activations).
  double memoryBandwidthGBs = 10;
  /// Fixed cost per segment invocation (dispatch, synchronisation), us.
  double invocationOverheadUs = 0;
  /// Memory this processor may use for weights and activations, MiB.
  double memoryCapacityMiB = 0;
  /// ONNX op types this processor cannot run: a segment containing one is
  /// infeasible here.
  std::set<std::string> unsupportedOps;
};

/// Moving tensors between two processors.
struct ProcessorLink {
  double bandwidthGBs = 0;
  double latencyUs = 0;
};

struct Platform {
  std::string name;
  std::string description;
  std::vector<Processor> processors;
  /// Whether one stitched variant may place its segments on different
  /// processors.
  bool allowSplitPlacement = false;
  /// links[{from, to}] for distinct processors; a missing pair means that
  /// placement is not possible (infinite cost).
  std::map<std::pair<unsigned, unsigned>, ProcessorLink> links;

  std::optional<unsigned> processorIndex(const std::string &id) const;
  /// Milliseconds to move `bytes` from processor `from` to `to` (0 when
  /// equal, +infinity without a link).
  double transferMs(unsigned from, unsigned to, double bytes) const;
};

/// Parses a platform file. Errors name the file and the JSON path of the
/// offending field ("processors[1].dense_gflops: expected a number > 0").
llvm::Expected<Platform> parsePlatformJson(const std::string &text,
                                           const std::string &fileName);
llvm::Expected<Platform> loadPlatformFile(const std::string &path);

} // namespace sparseloom

#endif // SPARSELOOM_SPACE_PLATFORM_H
