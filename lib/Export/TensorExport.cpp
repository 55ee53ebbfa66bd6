//===- TensorExport.cpp - IR tensors and types into ONNX protos -----------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Writes TensorData and TensorType as ONNX protos. Dense values always go to
// raw_data: it is exact for every element type (16-bit floats included) and
// the importer reads it back byte for byte, which is what makes
// import(export(m)) an identity. Sparse weights keep their COO form with
// linear indices, the more compact of the two index layouts ONNX allows.
//
//===----------------------------------------------------------------------===//

#include "ExportInternal.h"

#include <cassert>
#include <cstring>

namespace sparseloom {
namespace onnx_export {

void exportDenseTensor(const TensorData &data, const std::string &name,
                       onnx::TensorProto &out) {
  assert(data.hasValues() && "the caller reports elided tensors");
  out.set_name(name);
  out.set_data_type(int32_t(data.dtype()));
  for (int64_t d : data.dims())
    out.add_dims(d);
  if (data.dtype() == DType::String) {
    for (const std::string &s : data.strings())
      out.add_string_data(s);
    return;
  }
  std::vector<uint8_t> bytes = data.denseBytes();
  out.set_raw_data(std::string(bytes.begin(), bytes.end()));
}

void exportSparseTensor(const TensorData &data, const std::string &name,
                        onnx::SparseTensorProto &out) {
  for (int64_t d : data.dims())
    out.add_dims(d);
  const std::vector<int64_t> &indices = data.sparseIndices();
  onnx::TensorProto &values = *out.mutable_values();
  values.set_name(name);
  values.set_data_type(int32_t(data.dtype()));
  values.add_dims(int64_t(indices.size()));
  llvm::ArrayRef<uint8_t> valueBytes = data.sparseValueBytes();
  values.set_raw_data(std::string(valueBytes.begin(), valueBytes.end()));

  onnx::TensorProto &idx = *out.mutable_indices();
  idx.set_data_type(onnx::TensorProto::INT64);
  idx.add_dims(int64_t(indices.size()));
  std::string raw(indices.size() * sizeof(int64_t), '\0');
  if (!indices.empty())
    std::memcpy(&raw[0], indices.data(), raw.size());
  idx.set_raw_data(std::move(raw));
}

bool exportType(const TensorType &type, onnx::TypeProto &out) {
  if (type.dtype == DType::Undefined)
    return false;
  onnx::TypeProto::Tensor &tensor = *out.mutable_tensor_type();
  tensor.set_elem_type(int32_t(type.dtype));
  if (!type.dims)
    return true; // unknown rank: no shape field at all
  onnx::TensorShapeProto &shape = *tensor.mutable_shape();
  for (const Dim &dim : *type.dims) {
    onnx::TensorShapeProto::Dimension &d = *shape.add_dim();
    if (dim.isKnown())
      d.set_dim_value(dim.size());
    else if (dim.isSymbolic())
      d.set_dim_param(dim.symbol());
    // An unknown dimension is a Dimension with neither field set.
  }
  return true;
}

} // namespace onnx_export
} // namespace sparseloom
