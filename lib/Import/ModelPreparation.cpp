//===- ModelPreparation.cpp - Validate, upgrade and type an ONNX model ----===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Runs ONNX's own machinery over a structurally sound model before it is
// converted: the opset range check and input-shape binding (ours), then
// ONNX's checker, the version converter (so every pass sees
// opset >= kNormalizedOpset semantics) and strict shape inference. Those
// three run isolated in a child process (ProcessIsolation.cpp). ONNX reports
// failures by throwing; every exception is caught and turned into a
// diagnostic, naming the node when ONNX's text allows it.
//
//===----------------------------------------------------------------------===//

#include "ImportInternal.h"

#include "sparseloom/Support/Diagnostics.h"

#include "onnx/checker.h"
#include "onnx/defs/schema.h"
#include "onnx/version_converter/convert.h"

#include "llvm/ADT/STLExtras.h"

#include <set>

namespace sparseloom {
namespace onnx_import {

namespace {

bool isDefaultDomain(llvm::StringRef domain) {
  return domain.empty() || domain == "ai.onnx";
}

/// ONNX 1.12's checker and schema lookup only know the default domain as "";
/// a model spelling it "ai.onnx" (valid ONNX) is rewritten before they run.
void normalizeDefaultDomain(onnx::ModelProto &model) {
  bool hasEmpty = llvm::any_of(model.opset_import(), [](const auto &imp) {
    return imp.domain().empty();
  });
  for (auto &imp : *model.mutable_opset_import())
    if (imp.domain() == "ai.onnx" && !hasEmpty)
      imp.set_domain("");
  for (auto &node : *model.mutable_graph()->mutable_node())
    if (node.domain() == "ai.onnx")
      node.set_domain("");
}

llvm::Error checkOpsetRange(const onnx::ModelProto &model) {
  int64_t version = defaultOpset(model);
  if (version == 0) {
    bool usesDefault =
        llvm::any_of(model.graph().node(), [](const onnx::NodeProto &n) {
          return isDefaultDomain(n.domain());
        });
    if (usesDefault)
      return makeError(
          "the model imports no version of the default ONNX operator "
          "set (opset_import is missing; is the file truncated?)");
    return llvm::Error::success();
  }
  if (version < kMinImportOpset || version > kMaxImportOpset)
    return makeError(
        "unsupported opset " + llvm::Twine(version) +
        " (SparseLoom imports opsets " + llvm::Twine(kMinImportOpset) + " to " +
        llvm::Twine(kMaxImportOpset) +
        "; convert the model with onnx.version_converter to an opset "
        "in that range)");
  return llvm::Error::success();
}

/// ONNX's checker names the node in a context line, "Bad node spec for
/// node. Name: N OpType: T"; use it as the diagnostic's node and drop the
/// line, which then says nothing new.
llvm::Error checkerError(llvm::StringRef what,
                         const TemporaryNodeNames &names) {
  std::string text = flattenOnnxMessage(what);
  llvm::StringRef message(text);
  constexpr llvm::StringLiteral kContext = "Bad node spec for node. Name: ";
  size_t pos = message.find(kContext);
  if (pos != llvm::StringRef::npos) {
    llvm::StringRef name = message.substr(pos + kContext.size());
    name = name.substr(0, name.find(" OpType:")).trim();
    message = message.substr(0, pos);
    message.consume_back("; ");
    return makeNodeError(names.displayName(name),
                         "the ONNX checker rejected the node: " +
                             names.rewrite(message));
  }
  return makeError("the ONNX checker rejected the model: " +
                   names.rewrite(message));
}

llvm::Error runChecker(onnx::ModelProto &model) {
  TemporaryNodeNames names(*model.mutable_graph());
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception &e) {
    // ValidationError derives from std::runtime_error.
    return checkerError(e.what(), names);
  } catch (...) {
    return makeError("the ONNX checker failed with an unknown exception");
  }
  return llvm::Error::success();
}

/// The version converter rebuilds the model from its graph; model-level
/// fields it does not carry over are restored from the original.
void restoreModelFields(const onnx::ModelProto &original,
                        onnx::ModelProto &converted) {
  converted.set_ir_version(original.ir_version());
  converted.set_producer_name(original.producer_name());
  converted.set_producer_version(original.producer_version());
  converted.set_domain(original.domain());
  converted.set_model_version(original.model_version());
  converted.set_doc_string(original.doc_string());
  *converted.mutable_metadata_props() = original.metadata_props();
  for (const auto &imp : original.opset_import()) {
    if (isDefaultDomain(imp.domain()))
      continue;
    bool present = llvm::any_of(converted.opset_import(), [&](const auto &c) {
      return c.domain() == imp.domain();
    });
    if (!present)
      *converted.add_opset_import() = imp;
  }
  if (converted.graph().name().empty())
    converted.mutable_graph()->set_name(original.graph().name());
}

llvm::Error convertOpset(onnx::ModelProto &model) {
  int64_t version = defaultOpset(model);
  if (version == 0 || version >= kNormalizedOpset)
    return llvm::Error::success();
  SparseInitializersAsInputs sparse(*model.mutable_graph());
  onnx::ModelProto converted;
  std::string failure;
  try {
    converted =
        onnx::version_conversion::ConvertVersion(model, int(kNormalizedOpset));
  } catch (const std::exception &e) {
    failure = flattenOnnxMessage(e.what());
  } catch (...) {
    failure = "unknown exception";
  }
  if (!failure.empty()) {
    sparse.restore(*model.mutable_graph());
    return makeError("cannot convert the model from opset " +
                     llvm::Twine(version) + " to opset " +
                     llvm::Twine(kNormalizedOpset) + ": " + failure +
                     " (convert it to opset 13 or newer with another tool)");
  }
  sparse.restore(*converted.mutable_graph());
  restoreModelFields(model, converted);
  model = std::move(converted);
  return llvm::Error::success();
}

llvm::Error bindInputShapes(onnx::ModelProto &model,
                            const ImportOptions &options) {
  onnx::GraphProto &graph = *model.mutable_graph();
  std::set<std::string> weights;
  for (const auto &init : graph.initializer())
    weights.insert(init.name());
  for (const auto &init : graph.sparse_initializer())
    weights.insert(init.values().name());

  for (const auto &[name, sizes] : options.inputShapes) {
    onnx::ValueInfoProto *input = nullptr;
    std::string inputNames;
    for (onnx::ValueInfoProto &candidate : *graph.mutable_input()) {
      if (weights.count(candidate.name()))
        continue;
      inputNames += (inputNames.empty() ? "" : ", ") + candidate.name();
      if (candidate.name() == name)
        input = &candidate;
    }
    if (!input)
      return makeError("cannot bind the shape of '" + name +
                       "': the model has no input of that name (inputs: " +
                       (inputNames.empty() ? std::string("none") : inputNames) +
                       ")");
    if (input->type().value_case() != onnx::TypeProto::kTensorType &&
        input->type().value_case() != onnx::TypeProto::VALUE_NOT_SET)
      return makeError("cannot bind the shape of input '" + name +
                       "': it is not a tensor");
    onnx::TypeProto::Tensor &tensor =
        *input->mutable_type()->mutable_tensor_type();
    if (tensor.has_shape()) {
      const auto &dims = tensor.shape().dim();
      if (size_t(dims.size()) != sizes.size())
        return makeError("cannot bind the shape of input '" + name +
                         "': it has rank " + llvm::Twine(dims.size()) +
                         " but " + llvm::Twine(sizes.size()) +
                         " sizes were given");
      for (size_t i = 0; i < sizes.size(); ++i)
        if (dims[int(i)].has_dim_value() &&
            dims[int(i)].dim_value() != sizes[i])
          return makeError("cannot bind the shape of input '" + name +
                           "': dimension " + llvm::Twine(i) + " is " +
                           llvm::Twine(dims[int(i)].dim_value()) + ", not " +
                           llvm::Twine(sizes[i]));
    }
    tensor.mutable_shape()->clear_dim();
    for (int64_t size : sizes)
      tensor.mutable_shape()->add_dim()->set_dim_value(size);
  }
  return llvm::Error::success();
}

} // namespace

int64_t defaultOpset(const onnx::ModelProto &model) {
  for (const auto &imp : model.opset_import())
    if (isDefaultDomain(imp.domain()))
      return imp.version();
  return 0;
}

namespace {

/// The ONNX steps proper: checker, version conversion, shape inference.
llvm::Error runOnnxSteps(onnx::ModelProto &model, bool check) {
  if (check)
    if (llvm::Error err = runChecker(model))
      return err;
  if (llvm::Error err = convertOpset(model))
    return err;
  return inferShapes(model);
}

// The result of runOnnxSteps travels from the child process as one string:
//   'E' node '\0' message   an error
//   'M' ModelProto         the whole model, when the converter rewrote it
//   'G' GraphProto         otherwise only what inference changed: the
//                          graph's value_info and outputs
std::string encodeResult(llvm::Error err, const onnx::ModelProto &model,
                         bool converted) {
  if (err) {
    std::string out = "E";
    llvm::handleAllErrors(
        std::move(err),
        [&](const DiagnosticError &diag) {
          if (out.size() == 1)
            out += diag.node() + '\0' + diag.reason();
        },
        [&](const llvm::ErrorInfoBase &other) {
          if (out.size() == 1)
            out += '\0' + other.message();
        });
    return out;
  }
  if (converted)
    return "M" + model.SerializeAsString();
  onnx::GraphProto types;
  *types.mutable_value_info() = model.graph().value_info();
  *types.mutable_output() = model.graph().output();
  return "G" + types.SerializeAsString();
}

llvm::Error applyResult(llvm::StringRef result, onnx::ModelProto &model) {
  char kind = result.empty() ? '\0' : result.front();
  llvm::StringRef body = result.drop_front();
  if (kind == 'E') {
    auto [node, message] = body.split('\0');
    return node.empty() ? makeError(message) : makeNodeError(node, message);
  }
  if (kind == 'M' && model.ParseFromArray(body.data(), int(body.size())))
    return llvm::Error::success();
  onnx::GraphProto types;
  if (kind == 'G' && types.ParseFromArray(body.data(), int(body.size()))) {
    model.mutable_graph()->mutable_value_info()->Swap(
        types.mutable_value_info());
    model.mutable_graph()->mutable_output()->Swap(types.mutable_output());
    return llvm::Error::success();
  }
  return makeError(
      "internal error: the ONNX checker and shape inference returned "
      "no result");
}

} // namespace

llvm::Error prepareModel(onnx::ModelProto &model,
                         const ImportOptions &options) {
  normalizeDefaultDomain(model);
  if (llvm::Error err = checkOpsetRange(model))
    return err;
  if (llvm::Error err = bindInputShapes(model, options))
    return err;
  // The version converter assumes a valid model (it crashes on some invalid
  // ones), so a model that needs converting is always checked first.
  int64_t opset = defaultOpset(model);
  bool convert = opset != 0 && opset < kNormalizedOpset;
  bool check = options.runChecker || convert;
  // Register ONNX's schemas here, once, rather than in every child.
  (void)onnx::OpSchemaRegistry::Instance();
  auto result = runIsolated(
      [&] { return encodeResult(runOnnxSteps(model, check), model, convert); },
      "checking the model and inferring its shapes");
  if (!result)
    return result.takeError();
  return applyResult(*result, model);
}

} // namespace onnx_import
} // namespace sparseloom
