//===- TensorData.cpp - Storage for weights and tensor attributes ---------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/IR/TensorData.h"

#include "llvm/Support/xxhash.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>

namespace sparseloom {

namespace {

// Converts one little-endian element to double. Half types are widened by
// bit manipulation so no extra dependency is needed.
double halfToDouble(uint16_t h) {
  uint32_t sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  double v;
  if (exp == 0)
    v = std::ldexp(double(mant), -24);
  else if (exp == 31)
    v = mant ? NAN : INFINITY;
  else
    v = std::ldexp(double(mant | 0x400), int(exp) - 25);
  return sign ? -v : v;
}

double loadElement(DType dtype, const uint8_t *p) {
  switch (dtype) {
  case DType::F32: {
    float v;
    std::memcpy(&v, p, 4);
    return v;
  }
  case DType::F64: {
    double v;
    std::memcpy(&v, p, 8);
    return v;
  }
  case DType::F16: {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return halfToDouble(v);
  }
  case DType::BF16: {
    uint16_t v;
    std::memcpy(&v, p, 2);
    uint32_t bits = uint32_t(v) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  case DType::U8:
    return *p;
  case DType::Bool:
    return *p ? 1 : 0;
  case DType::I8:
    return int8_t(*p);
  case DType::U16: {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
  }
  case DType::I16: {
    int16_t v;
    std::memcpy(&v, p, 2);
    return v;
  }
  case DType::I32: {
    int32_t v;
    std::memcpy(&v, p, 4);
    return v;
  }
  case DType::U32: {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
  }
  case DType::I64: {
    int64_t v;
    std::memcpy(&v, p, 8);
    return double(v);
  }
  case DType::U64: {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return double(v);
  }
  case DType::String:
  case DType::Undefined:
    break;
  }
  assert(false && "not a numeric type");
  return 0;
}

int64_t loadInteger(DType dtype, const uint8_t *p) {
  switch (dtype) {
  case DType::I64: {
    int64_t v;
    std::memcpy(&v, p, 8);
    return v;
  }
  case DType::U64: {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return int64_t(v);
  }
  default:
    return int64_t(loadElement(dtype, p));
  }
}

bool isZeroElement(const uint8_t *p, size_t size) {
  // Bitwise zero; -0.0 counts as a non-zero bit pattern but is numerically
  // zero, so floats are compared by value.
  for (size_t i = 0; i < size; ++i)
    if (p[i])
      return false;
  return true;
}

bool isFloat(DType t) {
  return t == DType::F32 || t == DType::F64 || t == DType::F16 ||
         t == DType::BF16;
}

} // namespace

int64_t TensorData::numElements() const {
  int64_t n = 1;
  for (int64_t d : dims_)
    n *= d;
  return n;
}

double TensorData::density() const {
  int64_t n = numElements();
  return n == 0 ? 1.0 : double(nonZeros_) / double(n);
}

std::shared_ptr<const TensorData>
TensorData::createDense(DType dtype, std::vector<int64_t> dims,
                        std::vector<uint8_t> bytes) {
  auto t = std::shared_ptr<TensorData>(new TensorData());
  t->kind_ = Kind::Dense;
  t->dtype_ = dtype;
  t->dims_ = std::move(dims);
  t->bytes_ = std::move(bytes);
  assert(dtype != DType::String && "use createStrings");
  assert(int64_t(t->bytes_.size()) ==
         t->numElements() * int64_t(dtypeSize(dtype)));
  t->finalize();
  return t;
}

std::shared_ptr<const TensorData>
TensorData::createStrings(std::vector<int64_t> dims,
                          std::vector<std::string> strings) {
  auto t = std::shared_ptr<TensorData>(new TensorData());
  t->kind_ = Kind::Dense;
  t->dtype_ = DType::String;
  t->dims_ = std::move(dims);
  t->strings_ = std::move(strings);
  assert(int64_t(t->strings_.size()) == t->numElements());
  t->finalize();
  return t;
}

std::shared_ptr<const TensorData>
TensorData::createSparseCoo(DType dtype, std::vector<int64_t> dims,
                            std::vector<int64_t> indices,
                            std::vector<uint8_t> valueBytes) {
  auto t = std::shared_ptr<TensorData>(new TensorData());
  t->kind_ = Kind::SparseCoo;
  t->dtype_ = dtype;
  t->dims_ = std::move(dims);
  t->indices_ = std::move(indices);
  t->bytes_ = std::move(valueBytes);
  assert(t->bytes_.size() == t->indices_.size() * dtypeSize(dtype));
  t->finalize();
  return t;
}

std::shared_ptr<const TensorData>
TensorData::createElided(DType dtype, std::vector<int64_t> dims,
                         int64_t nonZeros, uint64_t contentHash) {
  auto t = std::shared_ptr<TensorData>(new TensorData());
  t->kind_ = Kind::Elided;
  t->dtype_ = dtype;
  t->dims_ = std::move(dims);
  t->nonZeros_ = nonZeros;
  t->hash_ = contentHash;
  return t;
}

std::shared_ptr<const TensorData>
TensorData::fromFloats(std::vector<int64_t> dims,
                       llvm::ArrayRef<float> values) {
  std::vector<uint8_t> bytes(values.size() * 4);
  if (!values.empty())
    std::memcpy(bytes.data(), values.data(), bytes.size());
  return createDense(DType::F32, std::move(dims), std::move(bytes));
}

std::shared_ptr<const TensorData>
TensorData::fromInt64s(std::vector<int64_t> dims,
                       llvm::ArrayRef<int64_t> values) {
  std::vector<uint8_t> bytes(values.size() * 8);
  if (!values.empty())
    std::memcpy(bytes.data(), values.data(), bytes.size());
  return createDense(DType::I64, std::move(dims), std::move(bytes));
}

std::vector<uint8_t> TensorData::denseBytes() const {
  assert(hasValues() && dtype_ != DType::String);
  if (kind_ == Kind::Dense)
    return bytes_;
  size_t esize = dtypeSize(dtype_);
  std::vector<uint8_t> dense(size_t(numElements()) * esize, 0);
  for (size_t i = 0; i < indices_.size(); ++i)
    std::memcpy(&dense[size_t(indices_[i]) * esize], &bytes_[i * esize], esize);
  return dense;
}

double TensorData::elementAsDouble(int64_t index) const {
  assert(hasValues() && dtype_ != DType::String);
  size_t esize = dtypeSize(dtype_);
  if (kind_ == Kind::Dense)
    return loadElement(dtype_, &bytes_[size_t(index) * esize]);
  auto it = std::lower_bound(indices_.begin(), indices_.end(), index);
  if (it == indices_.end() || *it != index)
    return 0;
  return loadElement(dtype_, &bytes_[size_t(it - indices_.begin()) * esize]);
}

std::vector<int64_t> TensorData::toInt64s() const {
  std::vector<uint8_t> dense = denseBytes();
  size_t esize = dtypeSize(dtype_);
  std::vector<int64_t> out(static_cast<size_t>(numElements()));
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = loadInteger(dtype_, &dense[i * esize]);
  return out;
}

std::vector<float> TensorData::toFloats() const {
  std::vector<uint8_t> dense = denseBytes();
  size_t esize = dtypeSize(dtype_);
  std::vector<float> out(static_cast<size_t>(numElements()));
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = float(loadElement(dtype_, &dense[i * esize]));
  return out;
}

void TensorData::finalize() {
  // The hash covers the dense view, so a sparse tensor and its dense twin
  // hash alike: deduplication later compares contents, not encodings.
  uint64_t h = llvm::xxHash64(llvm::StringRef(dtypeName(dtype_)));
  auto mix = [&](llvm::ArrayRef<uint8_t> bytes) {
    h = llvm::xxHash64(bytes) ^ (h * 0x9E3779B97F4A7C15ull + (h >> 7));
  };
  mix(llvm::ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(dims_.data()),
                              dims_.size() * sizeof(int64_t)));
  if (dtype_ == DType::String) {
    nonZeros_ = 0;
    for (const std::string &s : strings_) {
      mix(llvm::ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(s.data()),
                                  s.size()));
      mix(llvm::ArrayRef<uint8_t>()); // separator: {"ab",""} != {"a","b"}
      if (!s.empty())
        ++nonZeros_;
    }
    hash_ = h;
    return;
  }
  size_t esize = dtypeSize(dtype_);
  std::vector<uint8_t> dense =
      kind_ == Kind::Dense ? std::vector<uint8_t>() : denseBytes();
  const std::vector<uint8_t> &view = kind_ == Kind::Dense ? bytes_ : dense;
  mix(view);
  int64_t nnz = 0;
  int64_t n = numElements();
  if (dtype_ == DType::F32) {
    // Almost every weight is f32: a plain loop the compiler vectorizes
    // (the generic path below was most of the time of importing a model).
    // Same meaning as the generic path: -0.0 is zero, NaN is not.
    const uint8_t *p = view.data();
    for (int64_t i = 0; i < n; ++i) {
      float v;
      std::memcpy(&v, p + size_t(i) * 4, 4);
      nnz += v != 0.0f;
    }
    nonZeros_ = nnz;
    hash_ = h;
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t *p = &view[size_t(i) * esize];
    bool zero = isFloat(dtype_) ? loadElement(dtype_, p) == 0.0
                                : isZeroElement(p, esize);
    if (!zero)
      ++nnz;
  }
  nonZeros_ = nnz;
  hash_ = h;
}

} // namespace sparseloom
