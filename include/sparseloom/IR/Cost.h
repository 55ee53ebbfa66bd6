//===- Cost.h - FLOPs and parameters of nodes and modules -------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// A static cost model: how much arithmetic a node does and how many weight
// elements it reads. Boundary detection balances segments by it, the family
// report prints it per segment and variant, and later stages seed latency
// models with it. It needs nothing but the graph's type table, so it works
// on any imported model without running it.
//
// Conventions (docs/Boundaries.md):
//  - a multiply-add is 2 FLOPs; Conv, ConvTranspose, Gemm and MatMul count
//    2 x output elements x reduction length (plus one per output element for
//    a bias); an elementwise op 1 per output element; normalizations,
//    softmax, reductions and pooling have their own formulas, kept in one
//    table in Cost.cpp; data movement, shape queries, constants and
//    inference no-ops cost 0;
//  - a symbolic dimension (a dynamic batch "N") counts as 1, so costs are
//    per sample; an unknown dimension or rank also counts as 1 but marks
//    the cost `approximate`, as does an op without a formula;
//  - parameters are the elements of the weights (initializers) a node reads
//    directly, nonzeros those of them that are not zero; FLOPs do not shrink
//    with sparsity here (that is the latency model's business).
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_IR_COST_H
#define SPARSELOOM_IR_COST_H

#include "sparseloom/IR/Module.h"

#include <cstddef>
#include <cstdint>

namespace sparseloom {

struct NodeCost {
  /// Floating-point (or integer) operations; a multiply-add counts 2.
  double flops = 0;
  /// Elements of the weights the node reads.
  int64_t parameters = 0;
  /// Non-zero elements among them.
  int64_t nonzeros = 0;
  /// True when a dimension or rank the formula needed was unknown, or the op
  /// has no formula (then it counts one FLOP per output element).
  bool approximate = false;

  NodeCost &operator+=(const NodeCost &other) {
    flops += other.flops;
    parameters += other.parameters;
    nonzeros += other.nonzeros;
    approximate |= other.approximate;
    return *this;
  }
};

/// The cost of one node of `graph`.
NodeCost estimateNodeCost(const Graph &graph, const Node &node);

/// Totals over a module. A weight read by several nodes counts once here
/// (it is stored once), unlike the sum of the nodes' costs.
struct ModuleCost {
  double flops = 0;
  int64_t parameters = 0;
  int64_t nonzeros = 0;
  /// Nodes whose cost is approximate.
  size_t approximateNodes = 0;
};

ModuleCost estimateModuleCost(const Module &module);

} // namespace sparseloom

#endif // SPARSELOOM_IR_COST_H
