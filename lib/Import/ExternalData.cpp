//===- ExternalData.cpp - Load externally stored ONNX tensors -------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Large ONNX models keep their weights in side files: a tensor with
// data_location EXTERNAL names a `location` relative to the model's
// directory, plus an optional `offset` and `length`. The bytes are read here,
// before ONNX's checker and shape inference run, and stored back into the
// proto as raw_data, so every later step (and the exporter) sees an ordinary
// self-contained model. Locations may not leave the model's directory, the
// rule ONNX's own loader enforces, so a model cannot make us read arbitrary
// files.
//
//===----------------------------------------------------------------------===//

#include "ImportInternal.h"

#include "sparseloom/Support/Diagnostics.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

namespace sparseloom {
namespace onnx_import {

namespace {

/// Where an error about one tensor is reported: the node (for a tensor
/// attribute) and how the tensor is called ("weight 'W'").
struct TensorSite {
  std::string node;
  std::string what;

  llvm::Error error(const llvm::Twine &message) const {
    std::string text = what + ": " + message.str();
    return node.empty() ? makeError(text) : makeNodeError(node, text);
  }
};

llvm::Expected<uint64_t> parseSize(llvm::StringRef key, llvm::StringRef value,
                                   const TensorSite &site) {
  uint64_t result = 0;
  if (value.getAsInteger(10, result))
    return site.error("external data " + key + " '" + value +
                      "' is not a non-negative integer");
  return result;
}

llvm::Error loadExternal(onnx::TensorProto &tensor, const TensorSite &site,
                         llvm::StringRef baseDir) {
  if (tensor.data_location() != onnx::TensorProto::EXTERNAL)
    return llvm::Error::success();

  std::string location;
  uint64_t offset = 0;
  std::optional<uint64_t> length;
  for (const auto &entry : tensor.external_data()) {
    if (entry.key() == "location") {
      location = entry.value();
    } else if (entry.key() == "offset") {
      auto v = parseSize("offset", entry.value(), site);
      if (!v)
        return v.takeError();
      offset = *v;
    } else if (entry.key() == "length") {
      auto v = parseSize("length", entry.value(), site);
      if (!v)
        return v.takeError();
      length = *v;
    }
    // "checksum" and unknown keys are informational.
  }
  if (location.empty())
    return site.error("external data has no 'location'");
  if (llvm::sys::path::is_absolute(location))
    return site.error("external data location '" + location +
                      "' must be a path relative to the model's directory");
  for (auto it = llvm::sys::path::begin(location),
            e = llvm::sys::path::end(location);
       it != e; ++it)
    if (*it == "..")
      return site.error("external data location '" + location +
                        "' must not leave the model's directory");

  int32_t code = tensor.data_type();
  if (!isSupportedOnnxDType(code) || code == onnx::TensorProto::STRING)
    return site.error("external data of element type " + onnxDTypeName(code) +
                      " is not supported");
  uint64_t count = 1;
  for (int64_t d : tensor.dims()) {
    if (d < 0 || (d != 0 && count > (uint64_t(1) << 40) / uint64_t(d)))
      return site.error("the tensor has an invalid shape");
    count *= uint64_t(d);
  }
  uint64_t needed = count * dtypeSize(static_cast<DType>(code));
  if (length && *length != needed)
    return site.error("external data length " + llvm::Twine(*length) +
                      " does not match the " + llvm::Twine(needed) +
                      " bytes its shape needs");

  llvm::SmallString<256> path(baseDir.empty() ? llvm::StringRef(".") : baseDir);
  llvm::sys::path::append(path, location);
  llvm::sys::fs::file_status status;
  if (std::error_code ec = llvm::sys::fs::status(path, status))
    return site.error("cannot open external data file '" + path +
                      "': " + ec.message());
  if (!llvm::sys::fs::is_regular_file(status))
    return site.error("external data file '" + path +
                      "' is not a regular file");
  uint64_t fileSize = status.getSize();
  if (offset > fileSize || fileSize - offset < needed)
    return site.error("external data file '" + path + "' is too short: needs " +
                      llvm::Twine(needed) + " bytes at offset " +
                      llvm::Twine(offset) + " but the file has " +
                      llvm::Twine(fileSize) + " bytes");

  std::string raw;
  if (needed) {
    auto buffer = llvm::MemoryBuffer::getFileSlice(path, needed, offset,
                                                   /*IsVolatile=*/false);
    if (!buffer)
      return site.error("cannot read external data file '" + path +
                        "': " + buffer.getError().message());
    raw = (*buffer)->getBuffer().str();
  }
  tensor.clear_external_data();
  tensor.set_data_location(onnx::TensorProto::DEFAULT);
  tensor.set_raw_data(std::move(raw));
  return llvm::Error::success();
}

llvm::Error loadAttributeTensors(onnx::NodeProto &node,
                                 llvm::StringRef baseDir) {
  std::string nodeName = nodeDisplayName(node);
  for (onnx::AttributeProto &attr : *node.mutable_attribute()) {
    TensorSite site{nodeName, "attribute '" + attr.name() + "'"};
    if (attr.has_t())
      if (llvm::Error err = loadExternal(*attr.mutable_t(), site, baseDir))
        return err;
    for (onnx::TensorProto &t : *attr.mutable_tensors())
      if (llvm::Error err = loadExternal(t, site, baseDir))
        return err;
  }
  return llvm::Error::success();
}

} // namespace

llvm::Error resolveExternalData(onnx::ModelProto &model,
                                llvm::StringRef baseDir) {
  onnx::GraphProto &graph = *model.mutable_graph();
  for (onnx::TensorProto &init : *graph.mutable_initializer())
    if (llvm::Error err =
            loadExternal(init, {"", "weight '" + init.name() + "'"}, baseDir))
      return err;
  for (onnx::SparseTensorProto &sparse : *graph.mutable_sparse_initializer()) {
    std::string name = sparse.values().name();
    if (llvm::Error err =
            loadExternal(*sparse.mutable_values(),
                         {"", "sparse weight '" + name + "' values"}, baseDir))
      return err;
    if (llvm::Error err =
            loadExternal(*sparse.mutable_indices(),
                         {"", "sparse weight '" + name + "' indices"}, baseDir))
      return err;
  }
  for (onnx::NodeProto &node : *graph.mutable_node())
    if (llvm::Error err = loadAttributeTensors(node, baseDir))
      return err;
  return llvm::Error::success();
}

} // namespace onnx_import
} // namespace sparseloom
