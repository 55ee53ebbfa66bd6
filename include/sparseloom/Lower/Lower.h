//===- Lower.h - IR modules to runtime programs -----------------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Lowering turns one IR module (a whole model or one subgraph of a stitched
// variant) into a runtime program blob laid out exactly as
// formats/sparseloom/ProgramFormat.h states: every op mapped to an opcode
// with its attributes resolved into a parameter struct, static shapes, one
// activation arena planned by liveness, a kernel chosen per op, and weights
// encoded for that kernel (dense, packed panels, CSR or 4x1 block-sparse).
//
// Everything the runtime would otherwise discover late (an op it has no
// kernel for, a 3-D convolution, a Slice whose starts are computed at run
// time, a symbolic batch dimension) is a DiagnosticError here, naming the
// node or value and saying what to do. The same module and options always
// give the same bytes.
//
// lowerModule expects a module that is already canonical (shape computations
// folded, Identity/Dropout removed, static shapes); compileForRuntime
// (Lower/Pipeline.h) runs those passes first and is what tools call.
// docs/Lowering.md describes each step, the op table and the kernel rule.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_LOWER_LOWER_H
#define SPARSELOOM_LOWER_LOWER_H

#include "sparseloom/IR/Module.h"
#include "sparseloom/Lower/KernelSelection.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sparseloom {

struct LowerOptions {
  /// Program name stored in the blob; the graph's name when empty.
  std::string programName;
  /// Which kernels products may use (tests force one family).
  KernelPolicy kernelPolicy = KernelPolicy::Auto;
  /// Dense/sparse crossover table; the calibrated built-in one when null.
  const KernelThresholds *thresholds = nullptr;
  /// Worker threads the scratch figure in the header is computed for.
  unsigned scratchThreads = 1;
  /// Let Reshape-like ops share their input's arena slot instead of copying.
  bool aliasReshapes = true;
  /// Honour `fuse.*` annotations (fuse-activation) and fold a MatMul's bias
  /// Add into the product.
  bool fuse = true;
  /// With `fuse`: run a sparse 1x1 conv and the depthwise conv that alone
  /// reads its output as one PointwiseDepthwise op, where that output (one
  /// image) has at least `fuseDepthwiseMinBytes`: the L2 of the machines
  /// measured; smaller ones ran as fast apart (docs/Kernels.md).
  bool fuseDepthwise = true;
  int64_t fuseDepthwiseMinBytes = int64_t(2) << 20;
  /// The same threshold where the depthwise conv has a stride above 1: it
  /// then writes a quarter of what it reads, so the expanded tensor is most
  /// of the pair's memory traffic and fusing pays from 1 MiB (MobileNetV2's
  /// features.4, docs/Kernels.md).
  int64_t fuseStridedDepthwiseMinBytes = int64_t(1) << 20;
  /// Store a depthwise conv's output that a sparse 1x1 conv alone reads
  /// with 64-byte aligned planes (Encoding::PaddedPlanes), so that the
  /// sparse kernel reads it in place instead of copying it
  /// (lib/Lower/PaddedPlanes.cpp).
  bool padPlanes = true;
};

/// What lowering decided for one program op.
struct LoweredOp {
  std::string node;      // the source node (the first, when several fused)
  std::string sourceOps; // e.g. "MatMul+Add+Relu"
  std::string opcode;    // e.g. "Gemm"
  std::string kernel;    // e.g. "SpmmCsrAvx2"
  std::string encoding;  // the weight's encoding, or "" without a weight
  std::string reason;    // why this kernel
  double weightDensity = -1.0; // of the weight operand, -1 without one
  uint64_t scratchBytes = 0;
};

/// The lowering report: per-op choices and the memory plan's figures.
struct LoweringReport {
  std::string programName;
  std::vector<LoweredOp> ops;
  /// A source node that became no program op of its own.
  struct ElidedNode {
    std::string node;   // its display name
    std::string reason; // "Reshape aliased to ...", "fused into ..."
  };
  /// Aliased reshapes, fused activations and bias adds.
  std::vector<ElidedNode> elidedNodes;
  uint64_t arenaBytes = 0;
  uint64_t unplannedActivationBytes = 0;
  uint64_t scratchBytes = 0;
  uint64_t weightBytes = 0; // encoded, as stored in the blob
  uint64_t blobBytes = 0;
  unsigned numTensors = 0;
  unsigned numActivations = 0;
  unsigned numAliases = 0; // activations sharing another's arena slot

  /// "Conv: DenseGemmAvx2 x12, SpmmCsrAvx2 x8; Gemm: ..." per opcode.
  std::string kernelSummary() const;
  /// Human-readable table: totals, then one line per op when `perOp`.
  void print(llvm::raw_ostream &os, bool perOp = true) const;
};

/// Lowers `module` to a program blob. `report`, when non-null, receives what
/// was decided. Fails with a DiagnosticError naming the node or value for
/// anything the runtime cannot run.
llvm::Expected<std::vector<uint8_t>>
lowerModule(const Module &module, const LowerOptions &options,
            LoweringReport *report = nullptr);

} // namespace sparseloom

#endif // SPARSELOOM_LOWER_LOWER_H
