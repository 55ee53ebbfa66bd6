//===- OnnxImporter.cpp - ONNX models into the IR -------------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The public entry points of the importer: read a file, parse binary or text
// protobuf, then run the steps of ImportInternal.h in order. The order
// matters: external data is loaded first (ONNX's checker and shape inference
// need the values), SparseLoom's own structural checks come before ONNX's
// checker (their messages name the node and cannot be switched off), and
// conversion to the IR comes last, on a model that is known to be sound.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Import/OnnxImporter.h"

#include "ImportInternal.h"

#include "sparseloom/Support/Diagnostics.h"

#include "onnx/defs/parser.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <climits>

namespace sparseloom {

namespace {

using namespace onnx_import;

llvm::Expected<std::unique_ptr<Module>>
importProto(onnx::ModelProto &model, llvm::StringRef baseDir,
            const ImportOptions &options) {
  if (!model.has_graph())
    return makeError(
        "not a valid ONNX model (it has no graph; is this an ONNX file?)");
  if (model.functions_size() > 0) {
    const onnx::FunctionProto &fn = model.functions(0);
    return makeError("model-local function '" + fn.domain() + ":" + fn.name() +
                     "' is not supported; export the model without local "
                     "functions (inline them)");
  }
  if (llvm::Error err = resolveExternalData(model, baseDir))
    return err;
  if (llvm::Error err = checkAndOrderGraph(*model.mutable_graph()))
    return err;
  if (llvm::Error err = prepareModel(model, options))
    return err;
  return convertModel(model);
}

/// Runs `body` and turns any escaping exception (ONNX and protobuf throw;
/// std::bad_alloc on absurd sizes) into a diagnostic: import never crashes.
template <typename Fn>
llvm::Expected<std::unique_ptr<Module>> guarded(Fn body) {
  try {
    return body();
  } catch (const std::exception &e) {
    return makeError(llvm::Twine("import failed: ") +
                     flattenOnnxMessage(e.what()));
  } catch (...) {
    return makeError("import failed with an unknown exception");
  }
}

bool isTextPath(llvm::StringRef path) {
  llvm::StringRef ext = llvm::sys::path::extension(path);
  return ext == ".onnxtext" || ext == ".onnxtxt";
}

} // namespace

llvm::Expected<std::unique_ptr<Module>>
importOnnxBytes(llvm::StringRef bytes, llvm::StringRef baseDir,
                const ImportOptions &options) {
  return guarded([&]() -> llvm::Expected<std::unique_ptr<Module>> {
    if (bytes.size() > size_t(INT_MAX))
      return makeError("the model is larger than 2 GB; store its weights as "
                       "external data");
    onnx::ModelProto model;
    if (!model.ParseFromArray(bytes.data(), int(bytes.size())))
      return makeError("not a valid ONNX model (protobuf parse failed; is the "
                       "file truncated?)");
    return importProto(model, baseDir, options);
  });
}

llvm::Expected<std::unique_ptr<Module>>
importOnnxText(llvm::StringRef text, llvm::StringRef baseDir,
               const ImportOptions &options) {
  return guarded([&]() -> llvm::Expected<std::unique_ptr<Module>> {
    std::string source = text.str(); // the parser wants a NUL-terminated string
    onnx::ModelProto model;
    onnx::Common::Status status =
        onnx::OnnxParser::Parse(model, source.c_str());
    if (!status.IsOK())
      return makeError("not a valid ONNX text model: " +
                       flattenOnnxMessage(status.ErrorMessage()));
    // The textual syntax makes the IR version optional; hand-written inputs
    // usually omit it, so default to the version ONNX 1.12 writes.
    if (model.ir_version() == 0)
      model.set_ir_version(onnx::Version::IR_VERSION);
    return importProto(model, baseDir, options);
  });
}

llvm::Expected<std::unique_ptr<Module>>
importOnnxFile(llvm::StringRef path, const ImportOptions &options) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return withFile(makeError("cannot open: " + buffer.getError().message()),
                    path);
  llvm::StringRef baseDir = llvm::sys::path::parent_path(path);
  auto module = isTextPath(path)
                    ? importOnnxText((*buffer)->getBuffer(), baseDir, options)
                    : importOnnxBytes((*buffer)->getBuffer(), baseDir, options);
  if (!module)
    return withFile(module.takeError(), path);
  return module;
}

llvm::Error
parseInputShapeBinding(llvm::StringRef spec,
                       std::map<std::string, std::vector<int64_t>> &out) {
  auto invalid = [&](const llvm::Twine &why) {
    return makeError("invalid input shape '" + spec + "': " + why +
                     " (expected NAME=D1,D2,... with non-negative sizes, e.g. "
                     "input=1,3,224,224)");
  };
  // Split at the last '=': sizes never contain one, names might.
  size_t eq = spec.rfind('=');
  if (eq == llvm::StringRef::npos)
    return invalid("no '='");
  llvm::StringRef name = spec.substr(0, eq).trim();
  llvm::StringRef list = spec.substr(eq + 1).trim();
  if (name.empty())
    return invalid("the input name is empty");
  std::vector<int64_t> sizes;
  if (!list.empty()) {
    llvm::SmallVector<llvm::StringRef, 8> parts;
    list.split(parts, ',');
    for (llvm::StringRef part : parts) {
      int64_t size = 0;
      if (part.trim().getAsInteger(10, size) || size < 0)
        return invalid("'" + part.trim() + "' is not a non-negative integer");
      sizes.push_back(size);
    }
  }
  if (!out.emplace(name.str(), std::move(sizes)).second)
    return makeError("the shape of input '" + name + "' is given twice");
  return llvm::Error::success();
}

} // namespace sparseloom
