//===- FuseActivation.cpp - Mark Relu/Clip for a product's epilogue -------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The runtime's products (Conv, Gemm, MatMul by a weight) apply an activation
// while their result is still in registers (FastKernels.h, Epilogue), which
// saves a full pass over the output. This pass finds the activations that
// can go there: a Relu, or a Clip whose bounds are constants (Relu6 in
// MobileNetV2), that is the only reader of the output of an op with a weight
// operand (OpLinearWithWeight whose weight operand is a constant), possibly
// through a bias Add with a constant operand (torch's Linear on 3-D input:
// MatMul, Add, Relu). It marks them rather than rewriting them:
//
//   linear op:   fuse.activation = "Relu" | "Clip"
//                fuse.min, fuse.max (Clip: the resolved bounds)
//   activation:  fuse.into = the linear op's name
//
// so the IR stays plain ONNX (it exports and runs anywhere unchanged) and
// lowering, which reads the marks, applies the activation in the product's
// epilogue and emits no op for it. Lowering checks the pattern again and
// ignores a mark that a later rewrite made stale.
//
// A residual Add (a ResNet block's shortcut) goes into a Conv's epilogue
// too: Conv -> Add(conv output, Z), where the Add is the Conv output's only
// reader, Z is another activation of exactly the output's type (no
// broadcasting) defined before the Conv (so that its tensor exists when
// the Conv runs; of an Add of two Conv outputs only the later Conv
// qualifies), and the Conv has a constant weight:
//
//   Conv:        fuse.residual = Z's value name
//   Add:         fuse.into = the Conv's name
//
// A Relu or Clip after such an Add is marked for the same Conv, as if it
// followed the Conv directly; lowering then computes act(conv + bias + Z),
// the Add's rounding before the activation's, exactly as the unfused ops
// do (never act(conv + bias) + Z). Residual Adds are marked first, so that
// the activation loop sees them.
//
//===----------------------------------------------------------------------===//

#include "FusionUtils.h"
#include "Passes.h"

#include "sparseloom/IR/Analysis.h"
#include "sparseloom/IR/OpRegistry.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <limits>
#include <map>

#define DEBUG_TYPE "fuse-activation"

namespace sparseloom {

namespace {

constexpr const char *kMarked = "activations-marked";
constexpr const char *kResiduals = "residuals-marked";

using fusion::constantScalar;
using fusion::isOp;
using fusion::otherOperand;
using fusion::soleUser;

/// True for a node with a weight operand that is a constant, whose single
/// output can carry an epilogue.
bool isLinearWithConstantWeight(const Graph &graph, const Node *node) {
  if (!node || node->outputs.size() != 1)
    return false;
  const OpInfo *info = lookupOp(*node);
  if (!info || !info->has(OpLinearWithWeight) || info->weightOperand < 0 ||
      size_t(info->weightOperand) >= node->inputs.size())
    return false;
  return graph.findWeight(node->inputs[size_t(info->weightOperand)]) != nullptr;
}

/// The Conv that Add `add` may go into as a residual (see the file comment),
/// and its other operand Z; null when there is none.
Node *residualConv(Graph &graph, const UseDefInfo &uses, const Node &add,
                   std::string &z) {
  if (!isOp(&add, "Add") || add.inputs.size() != 2 || add.outputs.size() != 1 ||
      add.inputs[0] == add.inputs[1])
    return nullptr;
  const TensorType sum = graph.getType(add.outputs[0]);
  if (sum.dtype != DType::F32 || !sum.isStatic())
    return nullptr;
  for (size_t i = 0; i < 2; ++i) {
    const std::string &product = add.inputs[i], &other = add.inputs[1 - i];
    const Node *conv = uses.definingNode(product);
    if (!isOp(conv, "Conv") || soleUser(uses, product) != &add ||
        !isLinearWithConstantWeight(graph, conv) || graph.findWeight(other) ||
        graph.getType(product) != sum || graph.getType(other) != sum)
      continue;
    // Z must exist when the Conv runs: a graph input, or an earlier node's.
    const Node *zProducer = uses.definingNode(other);
    if (zProducer ? graph.indexOf(zProducer) >= graph.indexOf(conv)
                  : !llvm::is_contained(graph.inputs, other))
      continue;
    z = other;
    return graph.nodes()[size_t(graph.indexOf(conv))].get();
  }
  return nullptr;
}

class FuseActivationPass : public Pass {
public:
  FuseActivationPass() : Pass(fuseActivationPassInfo()) {}

  llvm::Error run(Module &module) override {
    Graph &graph = module.graph;
    UseDefInfo uses(graph);
    // Residual Adds first: the activation loop treats a marked Add as its
    // Conv.
    std::map<const Node *, Node *> residualOf; // Add -> its Conv
    for (const auto &owned : graph.nodes()) {
      std::string z;
      Node *conv = residualConv(graph, uses, *owned, z);
      if (!conv)
        continue;
      conv->annotations["fuse.residual"] = Attribute(z);
      owned->annotations["fuse.into"] = Attribute(conv->displayName());
      residualOf[owned.get()] = conv;
      SL_DEBUG(debugStream()
               << DEBUG_TYPE << ": " << owned->displayName() << " (adding '"
               << z << "') goes into the epilogue of " << conv->displayName()
               << "\n");
      statistics().add(kResiduals);
    }

    for (const auto &owned : graph.nodes()) {
      Node &act = *owned;
      const bool relu = isOp(&act, "Relu"), clip = isOp(&act, "Clip");
      if ((!relu && !clip) || act.inputs.empty() || act.outputs.size() != 1)
        continue;
      float lo = -std::numeric_limits<float>::infinity();
      float hi = std::numeric_limits<float>::infinity();
      bool constantBounds = true;
      for (size_t i = 1; clip && i < act.inputs.size() && i < 3; ++i) {
        if (act.inputs[i].empty())
          continue;
        auto bound = constantScalar(graph, act.inputs[i]);
        constantBounds &= bound.has_value();
        if (bound)
          (i == 1 ? lo : hi) = float(*bound);
      }
      if (!constantBounds)
        continue;

      // The producer, or the producer of a constant bias Add before it.
      const std::string &value = act.inputs[0];
      if (soleUser(uses, value) != &act)
        continue;
      const Node *producer = uses.definingNode(value);
      auto residual = residualOf.find(producer);
      if (residual != residualOf.end()) {
        producer = residual->second;
      } else if (isOp(producer, "Add") && producer->inputs.size() == 2) {
        const std::string *product = nullptr;
        for (const std::string &in : producer->inputs)
          if (!graph.findWeight(in))
            product = product ? nullptr : &in;
        const Node *linear = product ? uses.definingNode(*product) : nullptr;
        if (product && soleUser(uses, *product) == producer &&
            graph.findWeight(otherOperand(*producer, *product)) &&
            isLinearWithConstantWeight(graph, linear))
          producer = linear;
      }
      if (!isLinearWithConstantWeight(graph, producer))
        continue;

      Node *linear = graph.nodes()[size_t(graph.indexOf(producer))].get();
      linear->annotations["fuse.activation"] = Attribute(act.opType);
      if (clip) {
        linear->annotations["fuse.min"] = Attribute(lo);
        linear->annotations["fuse.max"] = Attribute(hi);
      }
      act.annotations["fuse.into"] = Attribute(linear->displayName());
      SL_DEBUG(debugStream() << DEBUG_TYPE << ": " << act.displayName()
                             << " goes into the epilogue of "
                             << linear->displayName() << "\n");
      statistics().add(kMarked);
    }
    return llvm::Error::success();
  }
};

} // namespace

const PassInfo &fuseActivationPassInfo() {
  static const PassInfo info = {
      "fuse-activation",
      "Mark Relu and constant-bound Clip after a Conv/Gemm/MatMul (or its "
      "bias Add), and a residual Add after a Conv, for the product's "
      "epilogue (fuse.* annotations)",
      {},
      {{kMarked, "activations marked for a product's epilogue"},
       {kResiduals, "residual Adds marked for a Conv's epilogue"}},
      [](const PassOptions &) -> llvm::Expected<std::unique_ptr<Pass>> {
        return std::make_unique<FuseActivationPass>();
      }};
  return info;
}

} // namespace sparseloom
