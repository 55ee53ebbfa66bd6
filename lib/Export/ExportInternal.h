//===- ExportInternal.h - Pieces of the ONNX exporter -----------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Tensor and type conversion from the IR to ONNX protos, used by
// OnnxExporter.cpp for weights, tensor attributes and value types. Private to
// lib/Export.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_LIB_EXPORT_EXPORTINTERNAL_H
#define SPARSELOOM_LIB_EXPORT_EXPORTINTERNAL_H

#include "sparseloom/IR/TensorData.h"
#include "sparseloom/IR/Types.h"

#include "onnx/onnx_pb.h"

#include <string>

namespace sparseloom {
namespace onnx_export {

/// A dense TensorProto (raw_data; string_data for strings). Sparse storage
/// is densified. `data` must have values (the caller reports Elided ones).
void exportDenseTensor(const TensorData &data, const std::string &name,
                       onnx::TensorProto &out);

/// A SparseTensorProto with linear int64 indices [NNZ]; `data` must have
/// SparseCoo storage.
void exportSparseTensor(const TensorData &data, const std::string &name,
                        onnx::SparseTensorProto &out);

/// The TypeProto of a value type. Returns false when the type carries no
/// information ONNX can hold (unknown element type): such values get no
/// value_info entry.
bool exportType(const TensorType &type, onnx::TypeProto &out);

} // namespace onnx_export
} // namespace sparseloom

#endif // SPARSELOOM_LIB_EXPORT_EXPORTINTERNAL_H
