//===- Types.cpp - Element types, dimensions and tensor types -------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/IR/Types.h"

#include "llvm/ADT/StringSwitch.h"

namespace sparseloom {

llvm::StringRef dtypeName(DType type) {
  switch (type) {
  case DType::Undefined:
    return "undefined";
  case DType::F32:
    return "f32";
  case DType::U8:
    return "u8";
  case DType::I8:
    return "i8";
  case DType::U16:
    return "u16";
  case DType::I16:
    return "i16";
  case DType::I32:
    return "i32";
  case DType::I64:
    return "i64";
  case DType::String:
    return "string";
  case DType::Bool:
    return "bool";
  case DType::F16:
    return "f16";
  case DType::F64:
    return "f64";
  case DType::U32:
    return "u32";
  case DType::U64:
    return "u64";
  case DType::BF16:
    return "bf16";
  }
  return "undefined";
}

std::optional<DType> parseDType(llvm::StringRef name) {
  auto type = llvm::StringSwitch<DType>(name)
                  .Case("f32", DType::F32)
                  .Case("u8", DType::U8)
                  .Case("i8", DType::I8)
                  .Case("u16", DType::U16)
                  .Case("i16", DType::I16)
                  .Case("i32", DType::I32)
                  .Case("i64", DType::I64)
                  .Case("string", DType::String)
                  .Case("bool", DType::Bool)
                  .Case("f16", DType::F16)
                  .Case("f64", DType::F64)
                  .Case("u32", DType::U32)
                  .Case("u64", DType::U64)
                  .Case("bf16", DType::BF16)
                  .Default(DType::Undefined);
  if (type == DType::Undefined)
    return std::nullopt;
  return type;
}

size_t dtypeSize(DType type) {
  switch (type) {
  case DType::U8:
  case DType::I8:
  case DType::Bool:
    return 1;
  case DType::U16:
  case DType::I16:
  case DType::F16:
  case DType::BF16:
    return 2;
  case DType::F32:
  case DType::I32:
  case DType::U32:
    return 4;
  case DType::I64:
  case DType::U64:
  case DType::F64:
    return 8;
  case DType::String:
  case DType::Undefined:
    return 0;
  }
  return 0;
}

bool isSupportedOnnxDType(int32_t code) {
  return code != 0 && dtypeName(static_cast<DType>(code)) != "undefined";
}

TensorType TensorType::get(DType dtype, const std::vector<int64_t> &sizes) {
  std::vector<Dim> dims;
  dims.reserve(sizes.size());
  for (int64_t s : sizes)
    dims.push_back(Dim::known(s));
  return TensorType(dtype, std::move(dims));
}

bool TensorType::isStatic() const {
  if (!dims)
    return false;
  for (const Dim &d : *dims)
    if (!d.isKnown())
      return false;
  return true;
}

std::optional<int64_t> TensorType::numElements() const {
  if (!isStatic())
    return std::nullopt;
  int64_t n = 1;
  for (const Dim &d : *dims)
    n *= d.size();
  return n;
}

std::vector<int64_t> TensorType::sizes() const {
  std::vector<int64_t> result;
  if (dims)
    for (const Dim &d : *dims)
      result.push_back(d.size());
  return result;
}

std::string formatType(const TensorType &type) {
  if (type.dtype == DType::Undefined && !type.dims)
    return "?";
  std::string s =
      type.dtype == DType::Undefined ? "?" : dtypeName(type.dtype).str();
  if (!type.dims)
    return s + "[*]";
  s += '[';
  for (size_t i = 0; i < type.dims->size(); ++i) {
    if (i)
      s += ',';
    const Dim &d = (*type.dims)[i];
    if (d.isKnown())
      s += std::to_string(d.size());
    else if (d.isSymbolic())
      s += d.symbol();
    else
      s += '?';
  }
  s += ']';
  return s;
}

} // namespace sparseloom
