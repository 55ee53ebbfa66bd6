//===- LatencyModel.cpp - Modeled segment latencies -----------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// A roofline-style model, deliberately simple: a node takes the larger of
// its compute time and its memory time. Compute on weight-multiplying ops
// runs at the processor's dense throughput, or, when the processor has a
// sparse kernel for the weight's pattern, at density / efficiency of that
// (whichever is faster, as the compiler picks per layer); other ops run at a
// fixed fraction of dense throughput. Sparse weights are read as values plus
// 4-byte indices.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Space/LatencyModel.h"

#include "sparseloom/IR/Cost.h"
#include "sparseloom/IR/OpRegistry.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sparseloom {

namespace {

/// "block:4x1" -> "block", "nm:2:4" -> "nm".
std::string patternFamily(const std::string &pattern) {
  return pattern.substr(0, pattern.find(':'));
}

/// Bytes of an activation per sample: symbolic and unknown dimensions (a
/// dynamic batch) count as 1, as in the FLOP counts of Cost.h.
double tensorBytes(const Graph &graph, const std::string &value) {
  if (value.empty() || graph.findWeight(value))
    return 0;
  TensorType type = graph.getType(value);
  if (!type.dims)
    return 0;
  double elements = 1;
  for (const Dim &dim : *type.dims)
    elements *= dim.isKnown() ? double(dim.size()) : 1.0;
  return elements * double(dtypeSize(type.dtype));
}

} // namespace

SegmentWork describeSegment(const Module &module) {
  const Graph &graph = module.graph;
  SegmentWork work;
  for (const auto &entry : graph.weights()) {
    const Weight &weight = entry.second;
    work.weightBytes += double(weight.data->numElements()) *
                        double(dtypeSize(weight.data->dtype()));
  }
  for (const auto &nodePtr : graph.nodes()) {
    const Node &node = *nodePtr;
    NodeWork nodeWork;
    nodeWork.opType = node.opType;
    nodeWork.nodeName = node.name;
    NodeCost cost = estimateNodeCost(graph, node);
    nodeWork.flops = cost.flops;
    nodeWork.weightParameters = cost.parameters;
    nodeWork.weightNonzeros = cost.nonzeros;
    const OpInfo *info = lookupOp(node);
    if (info && info->has(OpLinearWithWeight) &&
        size_t(info->weightOperand) < node.inputs.size()) {
      if (const Weight *weight =
              graph.findWeight(node.inputs[info->weightOperand])) {
        nodeWork.linearWithWeight = true;
        auto it = weight->annotations.find("sparsity.pattern");
        if (it != weight->annotations.end() &&
            it->second.kind() == Attribute::Kind::String)
          nodeWork.pattern = patternFamily(it->second.getString());
      }
    }
    for (const std::string &input : node.inputs)
      nodeWork.activationBytes += tensorBytes(graph, input);
    for (const std::string &output : node.outputs)
      nodeWork.activationBytes += tensorBytes(graph, output);
    work.activationBytes += nodeWork.activationBytes;
    work.opTypes.insert(node.opType);
    work.nodes.push_back(std::move(nodeWork));
  }
  return work;
}

std::string sparseKernelPattern(const Processor &p, const NodeWork &node) {
  if (!node.linearWithWeight || node.weightParameters <= 0 ||
      node.weightNonzeros >= node.weightParameters)
    return "";
  // N:M and block patterns are unstructured sparsity too: without a
  // kernel for the structure, the unstructured kernel still runs them.
  auto sparse = p.sparseEfficiency.find(node.pattern);
  if (sparse == p.sparseEfficiency.end() && node.pattern != "dense")
    sparse = p.sparseEfficiency.find("unstructured");
  if (sparse == p.sparseEfficiency.end() || !(sparse->second > 0))
    return "";
  double density = double(node.weightNonzeros) / double(node.weightParameters);
  // Sparse time is density / efficiency of the dense time.
  return density < sparse->second ? sparse->first : "";
}

double ModeledLatency::nodeLatencyMs(const NodeWork &node,
                                     unsigned processor) const {
  const Processor &p = platform_.processors[processor];
  double flopsPerMs = p.denseGflops * 1e6;
  double computeMs;
  double weightBytes = double(node.weightParameters) * 4;
  if (node.linearWithWeight) {
    computeMs = node.flops / flopsPerMs;
    std::string pattern = sparseKernelPattern(p, node);
    if (!pattern.empty()) {
      double density =
          double(node.weightNonzeros) / double(node.weightParameters);
      computeMs =
          node.flops * density / (p.sparseEfficiency.at(pattern) * flopsPerMs);
      weightBytes = double(node.weightNonzeros) * 8; // value + index
    }
  } else {
    computeMs = node.flops / (p.otherOpEfficiency * flopsPerMs);
  }
  double memoryMs =
      (weightBytes + node.activationBytes) / (p.memoryBandwidthGBs * 1e6);
  return std::max(computeMs, memoryMs);
}

std::string ModeledLatency::infeasibleReason(const SegmentWork &segment,
                                             unsigned processor) const {
  const Processor &p = platform_.processors[processor];
  for (const std::string &op : segment.opTypes)
    if (p.unsupportedOps.count(op))
      return "processor '" + p.id + "' cannot run " + op;
  double neededMiB =
      (segment.weightBytes + segment.activationBytes) / (1024.0 * 1024.0);
  if (neededMiB > p.memoryCapacityMiB)
    return "processor '" + p.id + "' has " +
           std::to_string(p.memoryCapacityMiB) + " MiB, the segment needs " +
           std::to_string(neededMiB) + " MiB";
  return "";
}

double ModeledLatency::segmentLatencyMs(const SegmentWork &segment,
                                        unsigned processor) const {
  if (!infeasibleReason(segment, processor).empty())
    return std::numeric_limits<double>::infinity();
  double total = platform_.processors[processor].invocationOverheadUs / 1e3;
  for (const NodeWork &node : segment.nodes)
    total += nodeLatencyMs(node, processor);
  return total;
}

} // namespace sparseloom
