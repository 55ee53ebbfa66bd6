//===- Attribute.h - Node attributes and annotations ------------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// An Attribute is a typed constant: an ONNX node attribute, or an annotation
// that a pass attaches to a node, a weight or the module (e.g. the density a
// sparsity analysis measured). Graph-valued attributes (If/Loop bodies) are
// not represented; the importer rejects them with a clear error.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_IR_ATTRIBUTE_H
#define SPARSELOOM_IR_ATTRIBUTE_H

#include "sparseloom/IR/TensorData.h"

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace sparseloom {

class Attribute {
public:
  enum class Kind { Int, Float, String, Tensor, Ints, Floats, Strings };

  Attribute() : value_(int64_t(0)) {}
  Attribute(int64_t v) : value_(v) {}
  Attribute(int v) : value_(int64_t(v)) {}
  Attribute(float v) : value_(v) {}
  Attribute(double v) : value_(float(v)) {}
  Attribute(std::string v) : value_(std::move(v)) {}
  Attribute(const char *v) : value_(std::string(v)) {}
  Attribute(TensorDataRef v) : value_(std::move(v)) {}
  Attribute(std::vector<int64_t> v) : value_(std::move(v)) {}
  Attribute(std::vector<float> v) : value_(std::move(v)) {}
  Attribute(std::vector<std::string> v) : value_(std::move(v)) {}

  Kind kind() const { return static_cast<Kind>(value_.index()); }

  int64_t getInt() const { return std::get<int64_t>(value_); }
  float getFloat() const { return std::get<float>(value_); }
  const std::string &getString() const { return std::get<std::string>(value_); }
  const TensorDataRef &getTensor() const {
    return std::get<TensorDataRef>(value_);
  }
  const std::vector<int64_t> &getInts() const {
    return std::get<std::vector<int64_t>>(value_);
  }
  const std::vector<float> &getFloats() const {
    return std::get<std::vector<float>>(value_);
  }
  const std::vector<std::string> &getStrings() const {
    return std::get<std::vector<std::string>>(value_);
  }

  /// Structural equality; tensors compare by content hash.
  bool operator==(const Attribute &other) const;
  bool operator!=(const Attribute &other) const { return !(*this == other); }

private:
  // The order of alternatives matches Kind.
  std::variant<int64_t, float, std::string, TensorDataRef, std::vector<int64_t>,
               std::vector<float>, std::vector<std::string>>
      value_;
};

/// Attributes and annotations are kept sorted by name so that printing and
/// hashing are deterministic.
using AttributeMap = std::map<std::string, Attribute>;

llvm::StringRef attributeKindName(Attribute::Kind kind);

} // namespace sparseloom

#endif // SPARSELOOM_IR_ATTRIBUTE_H
