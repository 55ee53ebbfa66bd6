//===- FuseGelu.cpp - Erf-based GELU patterns to one Gelu node ------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// GELU(x) = x * 0.5 * (1 + erf(x / sqrt(2))) has no ONNX op before opset 20,
// so exporters write it out: torch 1.13 at opset 13 emits
//
//   t = Div(x, 1.4142135)   a = Add(Erf(t), 1)   y = Mul(Mul(x, a), 0.5)
//
// and other exporters scale by Mul(x, 0.70710677) or associate the three
// factors differently. This pass recognises the scaling (Div by sqrt(2) or
// Mul by 1/sqrt(2)), the Add of 1 (either operand order) and every
// association of the product of x, 0.5 and a:
//
//   (x * a) * 0.5     (0.5 * a) * x     (x * 0.5) * a     (commuted alike)
//
// and replaces the five nodes by one Gelu(x). Intermediates must be read only
// inside the pattern and the result must have x's type.
//
// Gelu is an ONNX op only from opset 20, which SparseLoom does not import,
// so the fused node is `com.sparseloom::Gelu` (domain "com.sparseloom",
// version 1; same semantics as ONNX Gelu with approximate = "none"). ONNX's
// checker accepts ops of other domains, so the module still exports; other
// ONNX consumers need the op registered (docs/Lowering.md).
//
//===----------------------------------------------------------------------===//

#include "FusionUtils.h"
#include "Passes.h"

#include "sparseloom/IR/Analysis.h"

#include "llvm/Support/raw_ostream.h"

#include <cmath>

#define DEBUG_TYPE "fuse-gelu"

namespace sparseloom {

namespace {

constexpr const char *kFused = "gelus-fused";
constexpr const char *kDomain = "com.sparseloom";

using fusion::constantScalar;
using fusion::isNear;
using fusion::isOp;
using fusion::otherOperand;
using fusion::soleUser;

class FuseGeluPass : public Pass {
public:
  FuseGeluPass() : Pass(fuseGeluPassInfo()) {}

  llvm::Error run(Module &module) override {
    while (fuseOne(module.graph)) {
      statistics().add(kFused);
      if (!module.opsetImports.count(kDomain))
        module.opsetImports[kDomain] = 1;
    }
    return llvm::Error::success();
  }

private:
  bool fuseOne(Graph &graph);
};

bool FuseGeluPass::fuseOne(Graph &graph) {
  const double sqrt2 = std::sqrt(2.0);
  UseDefInfo uses(graph);
  for (const auto &owned : graph.nodes()) {
    const Node *erf = owned.get();
    if (!isOp(erf, "Erf") || erf->inputs.size() != 1)
      continue;
    // t = x / sqrt(2), or x * (1 / sqrt(2)).
    const Node *scale = uses.definingNode(erf->inputs[0]);
    if (!scale || soleUser(uses, erf->inputs[0]) != erf ||
        scale->inputs.size() != 2)
      continue;
    std::string x, scaleConstant;
    if (isOp(scale, "Div") &&
        isNear(constantScalar(graph, scale->inputs[1]), sqrt2)) {
      x = scale->inputs[0];
      scaleConstant = scale->inputs[1];
    } else if (isOp(scale, "Mul")) {
      for (int i = 0; i < 2 && x.empty(); ++i)
        if (isNear(constantScalar(graph, scale->inputs[size_t(i)]),
                   1.0 / sqrt2)) {
          scaleConstant = scale->inputs[size_t(i)];
          x = scale->inputs[size_t(1 - i)];
        }
    }
    if (x.empty() || graph.findWeight(x) ||
        graph.getType(x).dtype != DType::F32)
      continue;

    // a = erf(t) + 1.
    const Node *addOne = soleUser(uses, erf->outputs[0]);
    if (!isOp(addOne, "Add"))
      continue;
    std::string one = otherOperand(*addOne, erf->outputs[0]);
    if (!isNear(constantScalar(graph, one), 1.0))
      continue;
    const std::string a = addOne->outputs[0];

    // The product of x, 0.5 and a, in any association.
    const Node *first = soleUser(uses, a);
    if (!isOp(first, "Mul"))
      continue;
    std::string partner = otherOperand(*first, a);
    const Node *mulHalf = nullptr, *last = nullptr;
    std::string half;
    if (partner == x || isNear(constantScalar(graph, partner), 0.5)) {
      // (x * a) * 0.5 or (0.5 * a) * x.
      const bool withX = partner == x;
      if (!withX)
        half = partner;
      last = soleUser(uses, first->outputs[0]);
      if (!isOp(last, "Mul"))
        continue;
      std::string rest = otherOperand(*last, first->outputs[0]);
      if (withX ? !isNear(constantScalar(graph, rest), 0.5) : rest != x)
        continue;
      if (withX)
        half = rest;
    } else {
      // (x * 0.5) * a: partner is x * 0.5, read only here.
      mulHalf = uses.definingNode(partner);
      if (!isOp(mulHalf, "Mul") || soleUser(uses, partner) != first)
        continue;
      half = otherOperand(*mulHalf, x);
      if (!isNear(constantScalar(graph, half), 0.5))
        continue;
      last = first;
      first = mulHalf;
    }
    const std::string y = last->outputs[0];
    if (graph.getType(y) != graph.getType(x))
      continue;

    std::vector<const Node *> matched = {scale, erf, addOne, first, last};
    Node fused;
    fused.domain = kDomain;
    fused.opType = "Gelu";
    fused.name = fusion::fusedNodeName(graph, *erf, "Gelu");
    fused.inputs = {x};
    fused.outputs = {y};
    SL_DEBUG(debugStream() << DEBUG_TYPE << ": GELU of '" << x << "' into '"
                           << y << "' becomes " << fused.name << "\n");
    fusion::replaceNodes(graph, matched, std::move(fused),
                         {scaleConstant, one, half});
    return true;
  }
  return false;
}

} // namespace

const PassInfo &fuseGeluPassInfo() {
  static const PassInfo info = {
      "fuse-gelu",
      "Replace erf-based GELU patterns (x * 0.5 * (1 + erf(x / sqrt(2)))) by "
      "com.sparseloom::Gelu",
      {},
      {{kFused, "GELU patterns fused into Gelu"}},
      [](const PassOptions &) -> llvm::Expected<std::unique_ptr<Pass>> {
        return std::make_unique<FuseGeluPass>();
      }};
  return info;
}

} // namespace sparseloom
