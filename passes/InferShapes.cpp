//===- InferShapes.cpp - Refine value types with ONNX shape inference -----===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Rewrites can make types knowable that were not at import: once
// canonicalize folds the shape operand of a Reshape into a weight, the
// Reshape's output has a static shape, but its recorded type is still the
// unknown-rank one shape inference gave it at import. This pass re-runs
// ONNX's own (strict) shape inference on the current graph, through the
// exporter and importer, and refines every recorded type with what it learns.
// It never loosens a type, and a contradiction between the IR and ONNX's
// inference is an error naming the value.
//
// Weights must have values: ONNX needs them to infer through Reshape and
// friends, and an elided weight cannot be exported.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"

#include "sparseloom/Export/OnnxExporter.h"
#include "sparseloom/Import/OnnxImporter.h"
#include "sparseloom/Support/Diagnostics.h"

#define DEBUG_TYPE "infer-shapes"

namespace sparseloom {

namespace {

constexpr const char *kTypesRefined = "types-refined";

/// Merges what inference learned into `current`. Returns false on a
/// contradiction (two different known sizes, different ranks or dtypes).
bool refine(TensorType &current, const TensorType &inferred) {
  if (inferred.dtype != DType::Undefined) {
    if (current.dtype == DType::Undefined)
      current.dtype = inferred.dtype;
    else if (current.dtype != inferred.dtype)
      return false;
  }
  if (!inferred.dims)
    return true;
  if (!current.dims) {
    current.dims = inferred.dims;
    return true;
  }
  if (current.dims->size() != inferred.dims->size())
    return false;
  for (size_t i = 0; i < current.dims->size(); ++i) {
    Dim &have = (*current.dims)[i];
    const Dim &got = (*inferred.dims)[i];
    if (have.isKnown() && got.isKnown() && have.size() != got.size())
      return false;
    // A known size beats a symbol, a symbol beats unknown.
    if (!have.isKnown() &&
        (got.isKnown() || (have.isUnknown() && got.isSymbolic())))
      have = got;
  }
  return true;
}

class InferShapesPass : public Pass {
public:
  InferShapesPass() : Pass(inferShapesPassInfo()) {}

  llvm::Error run(Module &module) override {
    for (const auto &entry : module.graph.weights())
      if (!entry.second.data->hasValues())
        return makeNodeError(entry.first,
                             "infer-shapes needs weight values, but this "
                             "weight is elided (print IR with "
                             "--print-weights=all)");
    ExportOptions exportOptions;
    exportOptions.runChecker = false;
    auto bytes = exportOnnxBytes(module, exportOptions);
    if (!bytes)
      return bytes.takeError();
    ImportOptions importOptions;
    importOptions.runChecker = false;
    auto inferred = importOnnxBytes(*bytes, ".", importOptions);
    if (!inferred)
      return inferred.takeError();

    Graph &graph = module.graph;
    for (const auto &entry : (*inferred)->graph.types()) {
      if (!graph.hasType(entry.first))
        continue;
      TensorType type = graph.getType(entry.first);
      TensorType before = type;
      if (!refine(type, entry.second))
        return makeNodeError(
            entry.first, "shape inference infers " + formatType(entry.second) +
                             " but the IR records " + formatType(before));
      if (type != before) {
        SL_DEBUG(debugStream()
                 << "refined '" << entry.first << "': " << formatType(before)
                 << " -> " << formatType(type) << "\n");
        graph.setType(entry.first, type);
        statistics().add(kTypesRefined);
      }
    }
    return llvm::Error::success();
  }
};

} // namespace

const PassInfo &inferShapesPassInfo() {
  static const PassInfo info = {
      "infer-shapes",
      "Refine value types with ONNX shape inference on the current graph",
      {},
      {{kTypesRefined, "value types made more precise"}},
      [](const PassOptions &) -> llvm::Expected<std::unique_ptr<Pass>> {
        return std::make_unique<InferShapesPass>();
      }};
  return info;
}

} // namespace sparseloom
