//===- Attribute.cpp - Node attributes and annotations --------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/IR/Attribute.h"

#include <cstring>

namespace sparseloom {

namespace {
// Floats compare bitwise so that NaN attributes equal themselves and a
// round trip that preserves bits compares equal.
bool sameBits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }
} // namespace

bool Attribute::operator==(const Attribute &other) const {
  if (kind() != other.kind())
    return false;
  switch (kind()) {
  case Kind::Float:
    return sameBits(getFloat(), other.getFloat());
  case Kind::Floats: {
    const auto &a = getFloats(), &b = other.getFloats();
    if (a.size() != b.size())
      return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (!sameBits(a[i], b[i]))
        return false;
    return true;
  }
  case Kind::Tensor: {
    const auto &a = getTensor(), &b = other.getTensor();
    return a->contentHash() == b->contentHash() && a->dtype() == b->dtype() &&
           a->dims() == b->dims();
  }
  default:
    return value_ == other.value_;
  }
}

llvm::StringRef attributeKindName(Attribute::Kind kind) {
  switch (kind) {
  case Attribute::Kind::Int:
    return "int";
  case Attribute::Kind::Float:
    return "float";
  case Attribute::Kind::String:
    return "string";
  case Attribute::Kind::Tensor:
    return "tensor";
  case Attribute::Kind::Ints:
    return "ints";
  case Attribute::Kind::Floats:
    return "floats";
  case Attribute::Kind::Strings:
    return "strings";
  }
  return "unknown";
}

} // namespace sparseloom
