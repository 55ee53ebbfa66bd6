//===- TensorData.h - Storage for weights and tensor attributes -*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The contents of a constant tensor (an initializer or a tensor attribute).
// Storage is immutable and shared: variants of one family, or a pass that
// copies a weight, share the same bytes until one of them is replaced.
//
// The storage kinds:
//  - Dense: raw little-endian elements in row-major order.
//  - SparseCoo: linear indices plus the values at them (how ONNX
//    sparse_initializer stores an unstructured sparse tensor). Kept as such so
//    an imported sparse initializer is exported as one again.
//  - Elided: only the metadata (non-zero count and content hash) of a tensor
//    whose values were not printed. Text IR with large weights summarized
//    parses into this kind; everything except the values stays available.
//
// Later stages add encodings (CSR, block-sparse) as new kinds; every kind can
// answer the same questions (elements, non-zeros, content hash).
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_IR_TENSORDATA_H
#define SPARSELOOM_IR_TENSORDATA_H

#include "sparseloom/IR/Types.h"

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sparseloom {

class TensorData {
public:
  enum class Kind { Dense, SparseCoo, Elided };

  /// Dense tensor from raw bytes; `bytes.size()` must equal
  /// numElements * dtypeSize(dtype). String tensors use createStrings.
  static std::shared_ptr<const TensorData>
  createDense(DType dtype, std::vector<int64_t> dims,
              std::vector<uint8_t> bytes);
  /// Dense tensor of strings.
  static std::shared_ptr<const TensorData>
  createStrings(std::vector<int64_t> dims, std::vector<std::string> strings);
  /// Sparse tensor: `indices` are strictly increasing linear (row-major)
  /// positions; `valueBytes` holds indices.size() elements of `dtype`.
  static std::shared_ptr<const TensorData>
  createSparseCoo(DType dtype, std::vector<int64_t> dims,
                  std::vector<int64_t> indices,
                  std::vector<uint8_t> valueBytes);
  /// Metadata only: the values were elided from a textual form.
  static std::shared_ptr<const TensorData>
  createElided(DType dtype, std::vector<int64_t> dims, int64_t nonZeros,
               uint64_t contentHash);

  /// Convenience for tests and passes.
  static std::shared_ptr<const TensorData>
  fromFloats(std::vector<int64_t> dims, llvm::ArrayRef<float> values);
  static std::shared_ptr<const TensorData>
  fromInt64s(std::vector<int64_t> dims, llvm::ArrayRef<int64_t> values);

  Kind kind() const { return kind_; }
  DType dtype() const { return dtype_; }
  const std::vector<int64_t> &dims() const { return dims_; }
  int64_t numElements() const;
  TensorType type() const { return TensorType::get(dtype_, dims_); }

  /// False for Elided: the values are not known.
  bool hasValues() const { return kind_ != Kind::Elided; }
  /// Number of elements whose value is not zero (false for bool, "" never
  /// counts as zero for strings).
  int64_t numNonZeros() const { return nonZeros_; }
  /// nonZeros / elements; 1.0 for an empty tensor.
  double density() const;

  /// Hash of element type, dims and the dense values; equal for two tensors
  /// with the same contents whatever their storage kind.
  uint64_t contentHash() const { return hash_; }

  /// Dense row-major bytes (materialized for sparse storage). Requires
  /// hasValues() and a non-string type.
  std::vector<uint8_t> denseBytes() const;
  /// Direct access to dense storage (Kind::Dense, non-string only).
  llvm::ArrayRef<uint8_t> rawBytes() const { return bytes_; }
  /// Element i converted to double (numeric types, hasValues()).
  double elementAsDouble(int64_t index) const;
  /// Integer elements as int64 (integer and bool types, hasValues()).
  std::vector<int64_t> toInt64s() const;
  /// Numeric elements as float (hasValues()).
  std::vector<float> toFloats() const;
  const std::vector<std::string> &strings() const { return strings_; }

  /// SparseCoo storage.
  const std::vector<int64_t> &sparseIndices() const { return indices_; }
  llvm::ArrayRef<uint8_t> sparseValueBytes() const { return bytes_; }

private:
  TensorData() = default;
  void finalize(); // computes nonZeros_ and hash_ from the values

  Kind kind_ = Kind::Dense;
  DType dtype_ = DType::Undefined;
  std::vector<int64_t> dims_;
  std::vector<uint8_t> bytes_;   // dense values, or the sparse values
  std::vector<int64_t> indices_; // SparseCoo only
  std::vector<std::string> strings_;
  int64_t nonZeros_ = 0;
  uint64_t hash_ = 0;
};

using TensorDataRef = std::shared_ptr<const TensorData>;

} // namespace sparseloom

#endif // SPARSELOOM_IR_TENSORDATA_H
