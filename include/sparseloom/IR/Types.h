//===- Types.h - Element types, dimensions and tensor types -----*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The type of every value in the IR: an element type plus a shape whose
// dimensions are either known sizes, named symbols (a dynamic batch "N") or
// unknown. The element-type codes are ONNX's TensorProto codes so that import
// and export convert them without a table, while the IR itself stays free of
// ONNX headers.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_IR_TYPES_H
#define SPARSELOOM_IR_TYPES_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sparseloom {

/// Element types. The numeric values equal onnx::TensorProto::DataType.
enum class DType : int32_t {
  Undefined = 0,
  F32 = 1,
  U8 = 2,
  I8 = 3,
  U16 = 4,
  I16 = 5,
  I32 = 6,
  I64 = 7,
  String = 8,
  Bool = 9,
  F16 = 10,
  F64 = 11,
  U32 = 12,
  U64 = 13,
  BF16 = 16,
};

/// Short textual name used by the IR printer ("f32", "i64", "bool", ...).
llvm::StringRef dtypeName(DType type);
/// Inverse of dtypeName; nullopt for an unknown name.
std::optional<DType> parseDType(llvm::StringRef name);
/// Size in bytes of one element; 0 for String and Undefined.
size_t dtypeSize(DType type);
/// True when `code` is an ONNX TensorProto code the IR can represent.
bool isSupportedOnnxDType(int32_t code);

/// One dimension of a shape: a known size, a named symbol, or unknown.
class Dim {
public:
  static Dim known(int64_t size) { return Dim(size, {}); }
  static Dim symbolic(std::string symbol) { return Dim(-1, std::move(symbol)); }
  static Dim unknown() { return Dim(-1, {}); }

  bool isKnown() const { return size_ >= 0; }
  bool isSymbolic() const { return size_ < 0 && !symbol_.empty(); }
  bool isUnknown() const { return size_ < 0 && symbol_.empty(); }
  int64_t size() const { return size_; }
  const std::string &symbol() const { return symbol_; }

  bool operator==(const Dim &other) const {
    return size_ == other.size_ && symbol_ == other.symbol_;
  }
  bool operator!=(const Dim &other) const { return !(*this == other); }

private:
  Dim(int64_t size, std::string symbol)
      : size_(size), symbol_(std::move(symbol)) {}
  int64_t size_;
  std::string symbol_;
};

/// The type of a value. `dims` is nullopt when even the rank is unknown.
struct TensorType {
  DType dtype = DType::Undefined;
  std::optional<std::vector<Dim>> dims;

  TensorType() = default;
  TensorType(DType dtype, std::optional<std::vector<Dim>> dims)
      : dtype(dtype), dims(std::move(dims)) {}
  /// A fully static type from concrete sizes.
  static TensorType get(DType dtype, const std::vector<int64_t> &sizes);

  bool hasRank() const { return dims.has_value(); }
  size_t rank() const { return dims ? dims->size() : 0; }
  /// True when the rank and every dimension are known sizes.
  bool isStatic() const;
  /// Product of the dimensions; nullopt unless static.
  std::optional<int64_t> numElements() const;
  /// The known sizes; only valid when isStatic().
  std::vector<int64_t> sizes() const;

  bool operator==(const TensorType &other) const {
    return dtype == other.dtype && dims == other.dims;
  }
  bool operator!=(const TensorType &other) const { return !(*this == other); }
};

/// Prints e.g. "f32[N,3,?,224]", "i64[]" (scalar), "f32[*]" (unknown rank),
/// "?" (unknown element type and rank).
std::string formatType(const TensorType &type);

} // namespace sparseloom

#endif // SPARSELOOM_IR_TYPES_H
