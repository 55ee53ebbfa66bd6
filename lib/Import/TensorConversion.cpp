//===- TensorConversion.cpp - ONNX tensors and types into the IR ----------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Converts TensorProto, SparseTensorProto and TypeProto into TensorData and
// TensorType. ONNX stores tensor values either as little-endian raw_data or
// in a typed repeated field that depends on the element type (16-bit floats
// travel as bit patterns in int32_data). ONNX's checker does not verify that
// the number of stored values matches the shape, so this file does, and every
// mismatch is an error naming the tensor rather than an out-of-bounds read.
//
//===----------------------------------------------------------------------===//

#include "ImportInternal.h"

#include "sparseloom/Support/Diagnostics.h"

#include <algorithm>
#include <cstring>
#include <numeric>

namespace sparseloom {
namespace onnx_import {

namespace {

// Tensors beyond this many elements are rejected before any allocation: a
// corrupt dims field must not turn into a multi-terabyte allocation.
constexpr int64_t kMaxElements = int64_t(1) << 40;

llvm::Expected<int64_t> countElements(llvm::ArrayRef<int64_t> dims,
                                      llvm::StringRef what) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0)
      return makeError(what + " has a negative dimension (" + llvm::Twine(d) +
                       ")");
    if (d != 0 && n > kMaxElements / d)
      return makeError(what + " has too many elements");
    n *= d;
  }
  return n;
}

std::string formatDims(llvm::ArrayRef<int64_t> dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

template <typename T> void store(uint8_t *out, T value) {
  std::memcpy(out, &value, sizeof value);
}

// Copies the elements of a typed field into little-endian bytes of `dtype`,
// narrowing as ONNX prescribes (e.g. int8 values live in int32_data, 16-bit
// floats as their bit patterns).
template <typename Field>
std::vector<uint8_t> packField(const Field &field, DType dtype) {
  size_t esize = dtypeSize(dtype);
  std::vector<uint8_t> bytes(size_t(field.size()) * esize);
  for (int i = 0; i < field.size(); ++i) {
    uint8_t *out = &bytes[size_t(i) * esize];
    auto value = field.Get(i);
    // clang-format off
    switch (dtype) {
    case DType::F32: store(out, float(value)); break;
    case DType::F64: store(out, double(value)); break;
    case DType::I64: store(out, int64_t(value)); break;
    case DType::U64: store(out, uint64_t(value)); break;
    case DType::I32: store(out, int32_t(value)); break;
    case DType::U32: store(out, uint32_t(value)); break;
    case DType::I16:
    case DType::U16:
    case DType::F16:
    case DType::BF16: store(out, uint16_t(value)); break;
    case DType::I8:
    case DType::U8: store(out, uint8_t(value)); break;
    case DType::Bool: store(out, uint8_t(value ? 1 : 0)); break;
    case DType::String:
    case DType::Undefined: break;
    }
    // clang-format on
  }
  return bytes;
}

/// The values of a numeric tensor as little-endian bytes, checking that
/// exactly `count` values are stored.
llvm::Expected<std::vector<uint8_t>>
tensorBytes(const onnx::TensorProto &tensor, DType dtype, int64_t count,
            llvm::StringRef what) {
  size_t esize = dtypeSize(dtype);
  if (tensor.has_raw_data()) {
    const std::string &raw = tensor.raw_data();
    if (int64_t(raw.size()) != count * int64_t(esize))
      return makeError(what + " has " + llvm::Twine(raw.size()) +
                       " bytes of raw_data but its shape needs " +
                       llvm::Twine(count * int64_t(esize)));
    return std::vector<uint8_t>(raw.begin(), raw.end());
  }
  int stored = 0;
  std::vector<uint8_t> bytes;
  switch (dtype) {
  case DType::F32:
    stored = tensor.float_data_size();
    bytes = packField(tensor.float_data(), dtype);
    break;
  case DType::F64:
    stored = tensor.double_data_size();
    bytes = packField(tensor.double_data(), dtype);
    break;
  case DType::I64:
    stored = tensor.int64_data_size();
    bytes = packField(tensor.int64_data(), dtype);
    break;
  case DType::U32:
  case DType::U64:
    stored = tensor.uint64_data_size();
    bytes = packField(tensor.uint64_data(), dtype);
    break;
  case DType::I32:
  case DType::I16:
  case DType::U16:
  case DType::I8:
  case DType::U8:
  case DType::Bool:
  case DType::F16:
  case DType::BF16:
    stored = tensor.int32_data_size();
    bytes = packField(tensor.int32_data(), dtype);
    break;
  case DType::String:
  case DType::Undefined:
    break;
  }
  if (stored != count)
    return makeError(what + " stores " + llvm::Twine(stored) +
                     " values but its shape " +
                     formatDims(std::vector<int64_t>(tensor.dims().begin(),
                                                     tensor.dims().end())) +
                     " needs " + llvm::Twine(count));
  return bytes;
}

llvm::Expected<DType> tensorDType(const onnx::TensorProto &tensor,
                                  llvm::StringRef what) {
  int32_t code = tensor.data_type();
  if (code == 0)
    return makeError(what + " has no element type (data_type is UNDEFINED)");
  if (!isSupportedOnnxDType(code))
    return makeError(what + " has element type " + onnxDTypeName(code) +
                     ", which SparseLoom does not support");
  return static_cast<DType>(code);
}

/// Integer index values of a sparse tensor's `indices` (int64 per the spec).
llvm::Expected<std::vector<int64_t>>
indexValues(const onnx::TensorProto &indices, int64_t count,
            llvm::StringRef what) {
  if (indices.data_type() != onnx::TensorProto::INT64)
    return makeError(what + " has indices of type " +
                     onnxDTypeName(indices.data_type()) +
                     "; ONNX requires INT64");
  auto bytes =
      tensorBytes(indices, DType::I64, count, (what + " indices").str());
  if (!bytes)
    return bytes.takeError();
  std::vector<int64_t> values(static_cast<size_t>(count));
  if (count)
    std::memcpy(values.data(), bytes->data(), bytes->size());
  return values;
}

llvm::Error nonTensorType(llvm::StringRef valueName, llvm::StringRef kind) {
  llvm::StringRef article = kind.front() == 'o' ? "an " : "a ";
  return makeError("value '" + valueName + "' has " + article + kind +
                   " type; SparseLoom supports tensor values only");
}

} // namespace

llvm::Expected<TensorDataRef> convertTensor(const onnx::TensorProto &tensor,
                                            llvm::StringRef what) {
  if (tensor.has_segment())
    return makeError(what +
                     " is segmented; segmented tensors are not supported");
  if (tensor.data_location() == onnx::TensorProto::EXTERNAL)
    return makeError(what + " still refers to external data");
  auto dtype = tensorDType(tensor, what);
  if (!dtype)
    return dtype.takeError();
  std::vector<int64_t> dims(tensor.dims().begin(), tensor.dims().end());
  auto count = countElements(dims, what);
  if (!count)
    return count.takeError();

  if (*dtype == DType::String) {
    if (tensor.string_data_size() != *count)
      return makeError(what + " stores " +
                       llvm::Twine(tensor.string_data_size()) +
                       " strings but its shape " + formatDims(dims) +
                       " needs " + llvm::Twine(*count));
    std::vector<std::string> strings(tensor.string_data().begin(),
                                     tensor.string_data().end());
    return TensorData::createStrings(std::move(dims), std::move(strings));
  }
  auto bytes = tensorBytes(tensor, *dtype, *count, what);
  if (!bytes)
    return bytes.takeError();
  return TensorData::createDense(*dtype, std::move(dims), std::move(*bytes));
}

llvm::Expected<TensorDataRef>
convertSparseTensor(const onnx::SparseTensorProto &sparse,
                    llvm::StringRef what) {
  const onnx::TensorProto &values = sparse.values();
  auto dtype = tensorDType(values, what);
  if (!dtype)
    return dtype.takeError();
  if (*dtype == DType::String)
    return makeError(what +
                     " is a sparse string tensor, which is not supported");
  if (values.data_location() == onnx::TensorProto::EXTERNAL ||
      sparse.indices().data_location() == onnx::TensorProto::EXTERNAL)
    return makeError(what + " still refers to external data");

  std::vector<int64_t> dims(sparse.dims().begin(), sparse.dims().end());
  auto total = countElements(dims, what);
  if (!total)
    return total.takeError();
  if (values.dims_size() != 1)
    return makeError(what + " has sparse values of rank " +
                     llvm::Twine(values.dims_size()) +
                     "; ONNX requires rank 1 [NNZ]");
  int64_t nnz = values.dims(0);
  if (nnz < 0 || nnz > *total)
    return makeError(what + " has " + llvm::Twine(nnz) +
                     " sparse values for a tensor of " + llvm::Twine(*total) +
                     " elements");
  auto valueBytes = tensorBytes(values, *dtype, nnz, (what + " values").str());
  if (!valueBytes)
    return valueBytes.takeError();

  // Indices are either linear positions [NNZ] or coordinates [NNZ, rank].
  const onnx::TensorProto &indices = sparse.indices();
  std::vector<int64_t> linear;
  if (indices.dims_size() == 1 && indices.dims(0) == nnz) {
    auto idx = indexValues(indices, nnz, what);
    if (!idx)
      return idx.takeError();
    linear = std::move(*idx);
  } else if (indices.dims_size() == 2 && indices.dims(0) == nnz &&
             indices.dims(1) == int64_t(dims.size())) {
    auto idx = indexValues(indices, nnz * int64_t(dims.size()), what);
    if (!idx)
      return idx.takeError();
    size_t rank = dims.size();
    linear.resize(size_t(nnz));
    for (size_t i = 0; i < size_t(nnz); ++i) {
      int64_t pos = 0;
      for (size_t k = 0; k < rank; ++k) {
        int64_t c = (*idx)[i * rank + k];
        if (c < 0 || c >= dims[k])
          return makeError(what + " has sparse coordinate " + llvm::Twine(c) +
                           " out of range in dimension " + llvm::Twine(k) +
                           " of size " + llvm::Twine(dims[k]));
        pos = pos * dims[k] + c;
      }
      linear[i] = pos;
    }
  } else if (nnz == 0 && indices.dims_size() == 0) {
    // An all-zero tensor may omit the indices entirely.
  } else {
    return makeError(what + " has sparse indices of shape " +
                     formatDims(std::vector<int64_t>(indices.dims().begin(),
                                                     indices.dims().end())) +
                     "; expected [" + llvm::Twine(nnz) + "] or [" +
                     llvm::Twine(nnz) + "," + llvm::Twine(dims.size()) + "]");
  }
  for (int64_t pos : linear)
    if (pos < 0 || pos >= *total)
      return makeError(what + " has sparse index " + llvm::Twine(pos) +
                       " outside its " + llvm::Twine(*total) + " elements");

  // ONNX asks for sorted indices, but the checker may be off; sort here so
  // TensorData's invariant (strictly increasing) always holds.
  std::vector<size_t> order(linear.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return linear[a] < linear[b]; });
  size_t esize = dtypeSize(*dtype);
  std::vector<int64_t> sortedIdx(linear.size());
  std::vector<uint8_t> sortedVals(valueBytes->size());
  for (size_t i = 0; i < order.size(); ++i) {
    sortedIdx[i] = linear[order[i]];
    if (i && sortedIdx[i] == sortedIdx[i - 1])
      return makeError(what + " has the sparse index " +
                       llvm::Twine(sortedIdx[i]) + " twice");
    std::memcpy(&sortedVals[i * esize], &(*valueBytes)[order[i] * esize],
                esize);
  }
  return TensorData::createSparseCoo(
      *dtype, std::move(dims), std::move(sortedIdx), std::move(sortedVals));
}

llvm::Expected<TensorType> convertType(const onnx::TypeProto &type,
                                       llvm::StringRef valueName) {
  switch (type.value_case()) {
  case onnx::TypeProto::VALUE_NOT_SET:
    return TensorType();
  case onnx::TypeProto::kTensorType:
    break;
  case onnx::TypeProto::kSequenceType:
    return nonTensorType(valueName, "sequence");
  case onnx::TypeProto::kMapType:
    return nonTensorType(valueName, "map");
  case onnx::TypeProto::kOptionalType:
    return nonTensorType(valueName, "optional");
  case onnx::TypeProto::kSparseTensorType:
    return nonTensorType(valueName, "sparse tensor");
  case onnx::TypeProto::kOpaqueType:
    return nonTensorType(valueName, "opaque");
  }
  const onnx::TypeProto::Tensor &tensor = type.tensor_type();
  TensorType result;
  int32_t code = tensor.elem_type();
  if (code != 0) {
    if (!isSupportedOnnxDType(code))
      return makeError("value '" + valueName + "' has element type " +
                       onnxDTypeName(code) +
                       ", which SparseLoom does not support");
    result.dtype = static_cast<DType>(code);
  }
  if (!tensor.has_shape())
    return result;
  std::vector<Dim> dims;
  for (const auto &dim : tensor.shape().dim()) {
    if (dim.has_dim_value()) {
      if (dim.dim_value() < 0)
        return makeError("value '" + valueName +
                         "' has a negative dimension (" +
                         llvm::Twine(dim.dim_value()) + ")");
      dims.push_back(Dim::known(dim.dim_value()));
    } else if (dim.has_dim_param() && !dim.dim_param().empty()) {
      dims.push_back(Dim::symbolic(dim.dim_param()));
    } else {
      dims.push_back(Dim::unknown());
    }
  }
  result.dims = std::move(dims);
  return result;
}

} // namespace onnx_import
} // namespace sparseloom
