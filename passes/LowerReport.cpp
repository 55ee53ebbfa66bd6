//===- LowerReport.cpp - Lowering decisions as IR annotations -------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Lowers the module to a runtime program (lib/Lower), throws the bytes away,
// and writes what lowering decided into the IR, where FileCheck and readers
// of `sparseloom-opt` output can see it:
//
//   node:   lower.opcode    the program opcode the node became ("Gemm")
//           lower.kernel    the kernel chosen ("SpmmCsrAvx2")
//           lower.encoding  the weight's encoding, for products ("Csr")
//           lower.elided    why the node became no op of its own (an aliased
//                           Reshape, a fused activation or bias Add)
//   module: lower.ops, lower.arena-bytes, lower.unplanned-bytes,
//           lower.scratch-bytes, lower.weight-bytes
//
// It fails exactly where lowering fails (an op the runtime cannot run, a
// shape that is not static...), naming the node, so it is also the way to
// check a model for the runtime without running anything. The module's
// values and nodes are left as they are.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"

#include "sparseloom/Lower/Lower.h"
#include "sparseloom/Support/Diagnostics.h"

#include "llvm/Support/raw_ostream.h"

#include <map>

#define DEBUG_TYPE "lower-report"

namespace sparseloom {

namespace {

constexpr const char *kPolicy = "kernels";
constexpr const char *kAlias = "alias";

constexpr const char *kOps = "program-ops";
constexpr const char *kSparse = "sparse-products";
constexpr const char *kElided = "nodes-elided";

class LowerReportPass : public Pass {
public:
  LowerReportPass(KernelPolicy policy, bool alias)
      : Pass(lowerReportPassInfo()), policy_(policy), alias_(alias) {}

  llvm::Error run(Module &module) override {
    LowerOptions options;
    options.kernelPolicy = policy_;
    options.aliasReshapes = alias_;
    LoweringReport report;
    auto blob = lowerModule(module, options, &report);
    if (!blob)
      return blob.takeError();
    SL_DEBUG(report.print(debugStream()));

    std::map<std::string, Node *> byName;
    for (const auto &node : module.graph.nodes())
      byName[node->displayName()] = node.get();
    for (const LoweredOp &op : report.ops) {
      statistics().add(kOps);
      if (op.kernel == "SpmmCsrAvx2" || op.kernel == "SpmmBlock4x1Avx2")
        statistics().add(kSparse);
      auto it = byName.find(op.node);
      if (it == byName.end())
        continue; // a copy lowering made for a constant graph output
      it->second->annotations["lower.opcode"] = Attribute(op.opcode);
      it->second->annotations["lower.kernel"] = Attribute(op.kernel);
      if (!op.encoding.empty())
        it->second->annotations["lower.encoding"] = Attribute(op.encoding);
    }
    for (const LoweringReport::ElidedNode &elided : report.elidedNodes) {
      statistics().add(kElided);
      auto it = byName.find(elided.node);
      if (it != byName.end())
        it->second->annotations["lower.elided"] = Attribute(elided.reason);
    }
    module.annotations["lower.ops"] = Attribute(int64_t(report.ops.size()));
    module.annotations["lower.arena-bytes"] =
        Attribute(int64_t(report.arenaBytes));
    module.annotations["lower.unplanned-bytes"] =
        Attribute(int64_t(report.unplannedActivationBytes));
    module.annotations["lower.scratch-bytes"] =
        Attribute(int64_t(report.scratchBytes));
    module.annotations["lower.weight-bytes"] =
        Attribute(int64_t(report.weightBytes));
    return llvm::Error::success();
  }

private:
  KernelPolicy policy_;
  bool alias_;
};

} // namespace

const PassInfo &lowerReportPassInfo() {
  static const PassInfo info = {
      "lower-report",
      "Lower to a runtime program and annotate each node with its opcode, "
      "kernel and weight encoding (fails where lowering fails)",
      {{kPolicy, "kernel policy: auto, reference, dense, sparse, csr, block4x1",
        "auto"},
       {kAlias, "let Reshape-like ops share their input's buffer", "true"}},
      {{kOps, "ops in the program"},
       {kSparse, "products on a sparse kernel"},
       {kElided, "nodes that became no op of their own"}},
      [](const PassOptions &options) -> llvm::Expected<std::unique_ptr<Pass>> {
        std::string name = options.getString(kPolicy, "auto");
        std::optional<KernelPolicy> policy = parseKernelPolicy(name);
        if (!policy)
          return makeError("option 'kernels' must be one of auto, reference, "
                           "dense, sparse, csr, block4x1; got '" +
                           name + "'");
        auto alias = options.getBool(kAlias, true);
        if (!alias)
          return alias.takeError();
        return std::make_unique<LowerReportPass>(*policy, *alias);
      }};
  return info;
}

} // namespace sparseloom
