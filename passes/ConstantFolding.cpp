//===- ConstantFolding.cpp - Reference evaluators for constant ops --------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// One evaluator per op that the registry marks OpShapeComputation or
// OpReadsShapeOnly, written as a plain loop over output elements. Which nodes
// get folded is canonicalize's decision (by op property); this file only
// knows what each op computes, so a table keyed by op name is the right shape
// here, just as every op's semantics live somewhere under its own name.
//
// Values are held in a small Tensor: integer and bool elements as int64,
// floating-point ones as double. int64 keeps shape values such as Slice's
// INT64_MAX "to the end" exact, which double would not; a single f32
// operation computed in double and rounded back gives the correctly rounded
// f32 result, so evaluating f32 in double changes nothing. Narrow integer
// types wrap when the result is stored, as C casts do.
//
// Evaluators return false (leave the node alone) for cases they do not
// cover, and an error only when constant operands prove the model invalid.
//
//===----------------------------------------------------------------------===//

#include "ConstantFolding.h"

#include "sparseloom/Support/Diagnostics.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <string>

namespace sparseloom {
namespace folding {

namespace {

//===----------------------------------------------------------------------===//
// Tensor values
//===----------------------------------------------------------------------===//

bool isRealType(DType t) { return t == DType::F32 || t == DType::F64; }

bool isIntegerType(DType t) {
  switch (t) {
  case DType::I8:
  case DType::I16:
  case DType::I32:
  case DType::I64:
  case DType::U8:
  case DType::U16:
  case DType::U32:
  case DType::U64:
  case DType::Bool:
    return true;
  default:
    return false;
  }
}

// f16/bf16 are left out: nothing in shape arithmetic uses them, and writing
// them back would need rounding code that is not worth its risk here.
bool isFoldableType(DType t) { return isRealType(t) || isIntegerType(t); }

struct Tensor {
  DType dtype = DType::Undefined;
  std::vector<int64_t> dims;
  std::vector<int64_t> ints; // integer and bool types
  std::vector<double> reals; // f32 and f64

  bool isReal() const { return isRealType(dtype); }
  int64_t size() const {
    return int64_t(isReal() ? reals.size() : ints.size());
  }
  double real(int64_t i) const {
    if (isReal())
      return reals[size_t(i)];
    // u64 values above INT64_MAX are stored wrapped; undo that here.
    if (dtype == DType::U64)
      return double(uint64_t(ints[size_t(i)]));
    return double(ints[size_t(i)]);
  }
  void copyElement(int64_t to, const Tensor &src, int64_t from) {
    if (isReal())
      reals[size_t(to)] = src.reals[size_t(from)];
    else
      ints[size_t(to)] = src.ints[size_t(from)];
  }
};

/// Product of `dims`, or nullopt when a dim is negative or the product
/// exceeds `cap` (checked before it can overflow).
std::optional<int64_t> boundedProduct(const std::vector<int64_t> &dims,
                                      int64_t cap) {
  for (int64_t d : dims) {
    if (d < 0)
      return std::nullopt;
    if (d == 0)
      return 0; // an empty tensor is always small
  }
  int64_t n = 1;
  for (int64_t d : dims) {
    if (n > cap / d)
      return std::nullopt;
    n *= d;
  }
  if (n > cap)
    return std::nullopt;
  return n;
}

int64_t product(const std::vector<int64_t> &dims, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t i = begin; i < end; ++i)
    n *= dims[i];
  return n;
}

std::optional<Tensor> fromData(const TensorDataRef &data) {
  if (!data || !data->hasValues() || !isFoldableType(data->dtype()))
    return std::nullopt;
  Tensor t;
  t.dtype = data->dtype();
  t.dims = data->dims();
  if (t.isReal()) {
    std::vector<uint8_t> bytes = data->denseBytes();
    t.reals.resize(size_t(data->numElements()));
    for (size_t i = 0; i < t.reals.size(); ++i) {
      if (t.dtype == DType::F32) {
        float v;
        std::memcpy(&v, &bytes[i * 4], 4);
        t.reals[i] = v;
      } else {
        std::memcpy(&t.reals[i], &bytes[i * 8], 8);
      }
    }
  } else {
    t.ints = data->toInt64s();
  }
  return t;
}

template <typename T> void put(uint8_t *p, T v) {
  std::memcpy(p, &v, sizeof(T));
}

TensorDataRef toData(const Tensor &t) {
  size_t esize = dtypeSize(t.dtype);
  std::vector<uint8_t> bytes(size_t(t.size()) * esize);
  for (size_t i = 0; i < size_t(t.size()); ++i) {
    uint8_t *p = &bytes[i * esize];
    // Storing through the unsigned type of the same width wraps modulo 2^n,
    // which is the two's-complement bit pattern of the signed result too.
    switch (t.dtype) {
    case DType::F32:
      put(p, float(t.reals[i]));
      break;
    case DType::F64:
      put(p, t.reals[i]);
      break;
    case DType::Bool:
      put(p, uint8_t(t.ints[i] != 0));
      break;
    case DType::I8:
    case DType::U8:
      put(p, uint8_t(uint64_t(t.ints[i])));
      break;
    case DType::I16:
    case DType::U16:
      put(p, uint16_t(uint64_t(t.ints[i])));
      break;
    case DType::I32:
    case DType::U32:
      put(p, uint32_t(uint64_t(t.ints[i])));
      break;
    case DType::I64:
    case DType::U64:
      put(p, uint64_t(t.ints[i]));
      break;
    default:
      break; // fromData and the evaluators only produce the above
    }
  }
  return TensorData::createDense(t.dtype, t.dims, std::move(bytes));
}

//===----------------------------------------------------------------------===//
// Evaluation context and helpers
//===----------------------------------------------------------------------===//

struct Context {
  const Node &node;
  std::vector<std::optional<Tensor>> in;
  int64_t opset;
  int64_t maxElements;
  std::vector<Tensor> out;

  bool has(size_t i) const { return i < in.size() && in[i].has_value(); }
  const Tensor &arg(size_t i) const { return *in[i]; }
  llvm::Error error(const llvm::Twine &message) const {
    return makeNodeError(node.displayName(), node.opType + ": " + message);
  }
  /// A zero-filled result tensor, or nullopt when it would exceed the cap.
  std::optional<Tensor> make(DType dtype, std::vector<int64_t> dims) const {
    auto n = boundedProduct(dims, maxElements);
    if (!n)
      return std::nullopt;
    Tensor t;
    t.dtype = dtype;
    t.dims = std::move(dims);
    if (t.isReal())
      t.reals.assign(size_t(*n), 0.0);
    else
      t.ints.assign(size_t(*n), 0);
    return t;
  }
  bool emit(std::optional<Tensor> t) {
    if (!t)
      return false;
    out.push_back(std::move(*t));
    return true;
  }
};

using Evaluator = llvm::Expected<bool> (*)(Context &);

/// Normalizes `axis` into [0, rank) (ONNX allows [-rank, rank-1]).
std::optional<int64_t> normalizeAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    return std::nullopt;
  return axis < 0 ? axis + rank : axis;
}

std::string formatDims(const std::vector<int64_t> &dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

/// Multidirectional (numpy) broadcast of several shapes.
std::optional<std::vector<int64_t>>
broadcastShapes(const std::vector<const std::vector<int64_t> *> &shapes) {
  size_t rank = 0;
  for (const auto *s : shapes)
    rank = std::max(rank, s->size());
  std::vector<int64_t> out(rank, 1);
  for (const auto *s : shapes) {
    size_t offset = rank - s->size();
    for (size_t i = 0; i < s->size(); ++i) {
      int64_t d = (*s)[i];
      int64_t &o = out[offset + i];
      if (d == o || d == 1)
        continue;
      if (o != 1)
        return std::nullopt;
      o = d;
    }
  }
  return out;
}

/// Maps a linear index of a broadcast result to the linear index of one
/// operand: broadcast dimensions get stride 0.
class BroadcastIndexer {
public:
  BroadcastIndexer(const std::vector<int64_t> &outDims,
                   const std::vector<int64_t> &inDims)
      : outDims_(outDims), strides_(outDims.size(), 0) {
    size_t offset = outDims.size() - inDims.size();
    int64_t stride = 1;
    for (size_t i = inDims.size(); i-- > 0;) {
      if (inDims[i] != 1)
        strides_[offset + i] = stride;
      stride *= inDims[i];
    }
  }
  int64_t operator()(int64_t index) const {
    int64_t result = 0;
    for (size_t a = outDims_.size(); a-- > 0;) {
      int64_t d = outDims_[a];
      if (d == 0)
        return 0;
      result += (index % d) * strides_[a];
      index /= d;
    }
    return result;
  }

private:
  std::vector<int64_t> outDims_;
  std::vector<int64_t> strides_;
};

/// Axes operand: an input from `inputOpset` on, an attribute before.
std::optional<std::vector<int64_t>> axesOperand(const Context &c, size_t input,
                                                int64_t inputOpset) {
  if (c.opset >= inputOpset || c.node.getAttr("axes") == nullptr) {
    if (c.has(input))
      return c.arg(input).ints;
    return std::nullopt;
  }
  return c.node.getIntsAttr("axes");
}

bool allIntegerOperands(const Context &c, std::initializer_list<size_t> which) {
  for (size_t i : which)
    if (!c.has(i) || c.arg(i).isReal())
      return false;
  return true;
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

// Integer arithmetic wraps like the int64 the runtime computes in; going
// through uint64 keeps overflow defined.
int64_t wrapAdd(int64_t a, int64_t b) {
  return int64_t(uint64_t(a) + uint64_t(b));
}
int64_t wrapSub(int64_t a, int64_t b) {
  return int64_t(uint64_t(a) - uint64_t(b));
}
int64_t wrapMul(int64_t a, int64_t b) {
  return int64_t(uint64_t(a) * uint64_t(b));
}

llvm::Expected<bool> evalArithmetic(Context &c) {
  if (!c.has(0) || !c.has(1) || c.arg(0).dtype != c.arg(1).dtype)
    return false;
  const Tensor &a = c.arg(0), &b = c.arg(1);
  auto dims = broadcastShapes({&a.dims, &b.dims});
  if (!dims)
    return c.error("operand shapes " + formatDims(a.dims) + " and " +
                   formatDims(b.dims) + " do not broadcast");
  llvm::StringRef op = c.node.opType;
  // Unsigned 64-bit division would need unsigned arithmetic throughout; it
  // never occurs in shape code.
  if (op == "Div" && a.dtype == DType::U64)
    return false;
  auto r = c.make(a.dtype, *dims);
  if (!r)
    return false;
  BroadcastIndexer ia(*dims, a.dims), ib(*dims, b.dims);
  for (int64_t i = 0; i < r->size(); ++i) {
    int64_t x = ia(i), y = ib(i);
    if (r->isReal()) {
      double u = a.reals[size_t(x)], v = b.reals[size_t(y)];
      r->reals[size_t(i)] = op == "Add"   ? u + v
                            : op == "Sub" ? u - v
                            : op == "Mul" ? u * v
                                          : u / v;
      continue;
    }
    int64_t u = a.ints[size_t(x)], v = b.ints[size_t(y)];
    if (op == "Add") {
      r->ints[size_t(i)] = wrapAdd(u, v);
    } else if (op == "Sub") {
      r->ints[size_t(i)] = wrapSub(u, v);
    } else if (op == "Mul") {
      r->ints[size_t(i)] = wrapMul(u, v);
    } else {
      // Division by zero has no defined result; leave it to run time.
      if (v == 0 || (u == std::numeric_limits<int64_t>::min() && v == -1))
        return false;
      r->ints[size_t(i)] = u / v; // truncates toward zero, as ONNX Runtime
    }
  }
  return c.emit(std::move(r));
}

llvm::Expected<bool> evalEqual(Context &c) {
  if (!c.has(0) || !c.has(1) || c.arg(0).dtype != c.arg(1).dtype)
    return false;
  const Tensor &a = c.arg(0), &b = c.arg(1);
  auto dims = broadcastShapes({&a.dims, &b.dims});
  if (!dims)
    return c.error("operand shapes " + formatDims(a.dims) + " and " +
                   formatDims(b.dims) + " do not broadcast");
  auto r = c.make(DType::Bool, *dims);
  if (!r)
    return false;
  BroadcastIndexer ia(*dims, a.dims), ib(*dims, b.dims);
  for (int64_t i = 0; i < r->size(); ++i)
    r->ints[size_t(i)] = a.isReal()
                             ? a.reals[size_t(ia(i))] == b.reals[size_t(ib(i))]
                             : a.ints[size_t(ia(i))] == b.ints[size_t(ib(i))];
  return c.emit(std::move(r));
}

llvm::Expected<bool> evalNot(Context &c) {
  if (!c.has(0) || c.arg(0).dtype != DType::Bool)
    return false;
  auto r = c.make(DType::Bool, c.arg(0).dims);
  if (!r)
    return false;
  for (int64_t i = 0; i < r->size(); ++i)
    r->ints[size_t(i)] = c.arg(0).ints[size_t(i)] == 0;
  return c.emit(std::move(r));
}

llvm::Expected<bool> evalWhere(Context &c) {
  if (!c.has(0) || !c.has(1) || !c.has(2) || c.arg(0).dtype != DType::Bool ||
      c.arg(1).dtype != c.arg(2).dtype)
    return false;
  const Tensor &cond = c.arg(0), &x = c.arg(1), &y = c.arg(2);
  auto dims = broadcastShapes({&cond.dims, &x.dims, &y.dims});
  if (!dims)
    return c.error("operand shapes " + formatDims(cond.dims) + ", " +
                   formatDims(x.dims) + " and " + formatDims(y.dims) +
                   " do not broadcast");
  auto r = c.make(x.dtype, *dims);
  if (!r)
    return false;
  BroadcastIndexer ic(*dims, cond.dims), ix(*dims, x.dims), iy(*dims, y.dims);
  for (int64_t i = 0; i < r->size(); ++i) {
    if (cond.ints[size_t(ic(i))])
      r->copyElement(i, x, ix(i));
    else
      r->copyElement(i, y, iy(i));
  }
  return c.emit(std::move(r));
}

llvm::Expected<bool> evalCast(Context &c) {
  const Attribute *to = c.node.getAttr("to");
  if (!c.has(0) || !to || to->kind() != Attribute::Kind::Int ||
      !isSupportedOnnxDType(int32_t(to->getInt())))
    return false;
  DType target = static_cast<DType>(to->getInt());
  if (!isFoldableType(target))
    return false;
  const Tensor &x = c.arg(0);
  auto r = c.make(target, x.dims);
  if (!r)
    return false;
  for (int64_t i = 0; i < r->size(); ++i) {
    if (r->isReal()) {
      r->reals[size_t(i)] = x.real(i);
    } else if (target == DType::Bool) {
      r->ints[size_t(i)] = x.real(i) != 0.0;
    } else if (!x.isReal()) {
      r->ints[size_t(i)] = x.ints[size_t(i)]; // wraps when stored
    } else {
      // Float to integer truncates toward zero; values outside int64 (and
      // NaN) have no portable result, so such a Cast is left to run time.
      double v = std::trunc(x.reals[size_t(i)]);
      if (!(v >= -9.2233720368547758e18 && v < 9.2233720368547758e18))
        return false;
      r->ints[size_t(i)] = int64_t(v);
    }
  }
  return c.emit(std::move(r));
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

/// Result with the data of operand 0 under new dims (Reshape and friends).
bool emitReshaped(Context &c, std::vector<int64_t> dims) {
  auto r = c.make(c.arg(0).dtype, std::move(dims));
  if (!r)
    return false;
  r->ints = c.arg(0).ints;
  r->reals = c.arg(0).reals;
  return c.emit(std::move(r));
}

llvm::Expected<bool> evalReshape(Context &c) {
  // Before opset 5 the target shape was an attribute; no exporter we support
  // emits that form.
  if (c.opset < 5 || !allIntegerOperands(c, {1}) || !c.has(0))
    return false;
  const Tensor &data = c.arg(0);
  const std::vector<int64_t> &shape = c.arg(1).ints;
  bool allowZero = c.node.getIntAttr("allowzero", 0) != 0;
  std::vector<int64_t> dims(shape.size());
  int inferred = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    int64_t d = shape[i];
    if (d == 0 && !allowZero) {
      if (i >= data.dims.size())
        return c.error("shape element " + llvm::Twine(i) +
                       " is 0 (copy the input dimension) but the input has "
                       "rank " +
                       llvm::Twine(data.dims.size()));
      d = data.dims[i];
    }
    if (d == -1) {
      if (inferred >= 0)
        return c.error("shape " + formatDims(shape) + " has more than one -1");
      inferred = int(i);
      continue;
    }
    if (d < 0)
      return c.error("shape " + formatDims(shape) +
                     " has a negative dimension");
    dims[i] = d;
    known *= d;
  }
  if (inferred >= 0) {
    if (known == 0 || data.size() % known != 0)
      return c.error("cannot reshape " + formatDims(data.dims) + " to " +
                     formatDims(shape));
    dims[size_t(inferred)] = data.size() / known;
  } else if (known != data.size()) {
    return c.error("cannot reshape " + formatDims(data.dims) + " (" +
                   llvm::Twine(data.size()) + " elements) to " +
                   formatDims(shape));
  }
  return emitReshaped(c, std::move(dims));
}

llvm::Expected<bool> evalFlatten(Context &c) {
  if (!c.has(0))
    return false;
  const Tensor &data = c.arg(0);
  int64_t rank = int64_t(data.dims.size());
  int64_t axis = c.node.getIntAttr("axis", 1);
  if (axis < -rank || axis > rank)
    return c.error("axis " + llvm::Twine(axis) + " is out of range for rank " +
                   llvm::Twine(rank));
  if (axis < 0)
    axis += rank;
  return emitReshaped(c, {product(data.dims, 0, size_t(axis)),
                          product(data.dims, size_t(axis), size_t(rank))});
}

llvm::Expected<bool> evalUnsqueeze(Context &c) {
  if (!c.has(0))
    return false;
  auto axes = axesOperand(c, 1, 13);
  if (!axes)
    return false;
  const Tensor &data = c.arg(0);
  int64_t outRank = int64_t(data.dims.size() + axes->size());
  std::vector<bool> inserted(size_t(outRank), false);
  for (int64_t a : *axes) {
    auto axis = normalizeAxis(a, outRank);
    if (!axis || inserted[size_t(*axis)])
      return c.error("axes " + formatDims(*axes) +
                     " are out of range or repeated for output rank " +
                     llvm::Twine(outRank));
    inserted[size_t(*axis)] = true;
  }
  std::vector<int64_t> dims;
  size_t next = 0;
  for (int64_t i = 0; i < outRank; ++i)
    dims.push_back(inserted[size_t(i)] ? 1 : data.dims[next++]);
  return emitReshaped(c, std::move(dims));
}

llvm::Expected<bool> evalSqueeze(Context &c) {
  if (!c.has(0))
    return false;
  const Tensor &data = c.arg(0);
  int64_t rank = int64_t(data.dims.size());
  std::vector<bool> removed(size_t(rank), false);
  auto axes = axesOperand(c, 1, 13);
  if (!axes || axes->empty()) {
    // No axes: every dimension of size 1 goes.
    for (int64_t i = 0; i < rank; ++i)
      removed[size_t(i)] = data.dims[size_t(i)] == 1;
  } else {
    for (int64_t a : *axes) {
      auto axis = normalizeAxis(a, rank);
      if (!axis)
        return c.error("axis " + llvm::Twine(a) + " is out of range for rank " +
                       llvm::Twine(rank));
      if (data.dims[size_t(*axis)] != 1)
        return c.error("cannot squeeze axis " + llvm::Twine(a) + " of size " +
                       llvm::Twine(data.dims[size_t(*axis)]));
      removed[size_t(*axis)] = true;
    }
  }
  std::vector<int64_t> dims;
  for (int64_t i = 0; i < rank; ++i)
    if (!removed[size_t(i)])
      dims.push_back(data.dims[size_t(i)]);
  return emitReshaped(c, std::move(dims));
}

llvm::Expected<bool> evalTranspose(Context &c) {
  if (!c.has(0))
    return false;
  const Tensor &data = c.arg(0);
  size_t rank = data.dims.size();
  std::vector<int64_t> perm = c.node.getIntsAttr("perm");
  if (perm.empty() && rank > 0)
    for (size_t i = 0; i < rank; ++i)
      perm.push_back(int64_t(rank - 1 - i));
  std::vector<bool> seen(rank, false);
  if (perm.size() != rank)
    return c.error("perm " + formatDims(perm) + " does not match rank " +
                   llvm::Twine(rank));
  for (int64_t p : perm) {
    if (p < 0 || p >= int64_t(rank) || seen[size_t(p)])
      return c.error("perm " + formatDims(perm) + " is not a permutation");
    seen[size_t(p)] = true;
  }
  std::vector<int64_t> dims(rank), inStrides(rank, 1);
  for (size_t i = rank; i-- > 1;)
    inStrides[i - 1] = inStrides[i] * data.dims[i];
  for (size_t i = 0; i < rank; ++i)
    dims[i] = data.dims[size_t(perm[i])];
  auto r = c.make(data.dtype, dims);
  if (!r)
    return false;
  for (int64_t i = 0; i < r->size(); ++i) {
    int64_t rest = i, src = 0;
    for (size_t a = rank; a-- > 0;) {
      src += (rest % dims[a]) * inStrides[size_t(perm[a])];
      rest /= dims[a];
    }
    r->copyElement(i, data, src);
  }
  return c.emit(std::move(r));
}

llvm::Expected<bool> evalConcat(Context &c) {
  const Attribute *axisAttr = c.node.getAttr("axis");
  if (!axisAttr || axisAttr->kind() != Attribute::Kind::Int)
    return c.error("the 'axis' attribute is missing");
  if (c.in.empty())
    return false;
  for (size_t i = 0; i < c.in.size(); ++i)
    if (!c.has(i) || c.arg(i).dtype != c.arg(0).dtype)
      return false;
  const std::vector<int64_t> &first = c.arg(0).dims;
  int64_t rank = int64_t(first.size());
  auto axis = normalizeAxis(axisAttr->getInt(), rank);
  if (!axis)
    return c.error("axis " + llvm::Twine(axisAttr->getInt()) +
                   " is out of range for rank " + llvm::Twine(rank));
  std::vector<int64_t> dims = first;
  dims[size_t(*axis)] = 0;
  for (size_t i = 0; i < c.in.size(); ++i) {
    const std::vector<int64_t> &d = c.arg(i).dims;
    for (int64_t a = 0; a < rank; ++a)
      if (d.size() != first.size() ||
          (a != *axis && d[size_t(a)] != first[size_t(a)]))
        return c.error("operand shapes " + formatDims(first) + " and " +
                       formatDims(d) + " differ outside axis " +
                       llvm::Twine(*axis));
    dims[size_t(*axis)] += d[size_t(*axis)];
  }
  auto r = c.make(c.arg(0).dtype, dims);
  if (!r)
    return false;
  int64_t outer = product(dims, 0, size_t(*axis));
  int64_t inner = product(dims, size_t(*axis) + 1, dims.size());
  int64_t dst = 0;
  for (int64_t o = 0; o < outer; ++o)
    for (size_t i = 0; i < c.in.size(); ++i) {
      int64_t chunk = c.arg(i).dims[size_t(*axis)] * inner;
      for (int64_t k = 0; k < chunk; ++k)
        r->copyElement(dst++, c.arg(i), o * chunk + k);
    }
  return c.emit(std::move(r));
}

llvm::Expected<bool> evalGather(Context &c) {
  if (!c.has(0) || !allIntegerOperands(c, {1}))
    return false;
  const Tensor &data = c.arg(0), &indices = c.arg(1);
  int64_t rank = int64_t(data.dims.size());
  auto axis = normalizeAxis(c.node.getIntAttr("axis", 0), rank);
  if (!axis)
    return c.error("axis " + llvm::Twine(c.node.getIntAttr("axis", 0)) +
                   " is out of range for rank " + llvm::Twine(rank));
  int64_t axisSize = data.dims[size_t(*axis)];
  std::vector<int64_t> dims(data.dims.begin(), data.dims.begin() + *axis);
  dims.insert(dims.end(), indices.dims.begin(), indices.dims.end());
  dims.insert(dims.end(), data.dims.begin() + *axis + 1, data.dims.end());
  auto r = c.make(data.dtype, dims);
  if (!r)
    return false;
  int64_t outer = product(data.dims, 0, size_t(*axis));
  int64_t inner = product(data.dims, size_t(*axis) + 1, data.dims.size());
  int64_t count = indices.size();
  for (int64_t j = 0; j < count; ++j) {
    int64_t index = indices.ints[size_t(j)];
    if (index < -axisSize || index >= axisSize)
      return c.error("index " + llvm::Twine(index) +
                     " is out of range for axis " + llvm::Twine(*axis) +
                     " of size " + llvm::Twine(axisSize));
    if (index < 0)
      index += axisSize;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k = 0; k < inner; ++k)
        r->copyElement((o * count + j) * inner + k, data,
                       (o * axisSize + index) * inner + k);
  }
  return c.emit(std::move(r));
}

llvm::Expected<bool> evalSlice(Context &c) {
  if (!c.has(0))
    return false;
  const Tensor &data = c.arg(0);
  int64_t rank = int64_t(data.dims.size());
  std::vector<int64_t> starts, ends, axes, steps;
  if (c.opset < 10) {
    starts = c.node.getIntsAttr("starts");
    ends = c.node.getIntsAttr("ends");
    axes = c.node.getIntsAttr("axes");
  } else {
    if (!allIntegerOperands(c, {1, 2}))
      return false;
    starts = c.arg(1).ints;
    ends = c.arg(2).ints;
    if (c.has(3))
      axes = c.arg(3).ints;
    if (c.has(4))
      steps = c.arg(4).ints;
  }
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i)
      axes.push_back(int64_t(i));
  if (steps.empty())
    steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size())
    return c.error("starts, ends, axes and steps have different lengths");

  // Per axis: first index, step and count; untouched axes take everything.
  std::vector<int64_t> first(size_t(rank), 0), step(size_t(rank), 1),
      dims = data.dims;
  std::vector<bool> seen(size_t(rank), false);
  for (size_t i = 0; i < starts.size(); ++i) {
    auto axis = normalizeAxis(axes[i], rank);
    if (!axis || seen[size_t(*axis)])
      return c.error("axes " + formatDims(axes) +
                     " are out of range or repeated for rank " +
                     llvm::Twine(rank));
    seen[size_t(*axis)] = true;
    int64_t d = data.dims[size_t(*axis)], s = starts[i], e = ends[i],
            st = steps[i];
    if (st == 0)
      return c.error("a step is 0");
    if (s < 0)
      s += d;
    if (e < 0)
      e += d;
    // The clamping rules of the ONNX Slice specification.
    int64_t count;
    if (st > 0) {
      s = std::clamp<int64_t>(s, 0, d);
      e = std::clamp<int64_t>(e, 0, d);
      count = e > s ? (e - s + st - 1) / st : 0;
    } else {
      s = std::clamp<int64_t>(s, 0, d - 1);
      e = std::clamp<int64_t>(e, -1, d - 1);
      count = s > e ? (s - e + (-st) - 1) / (-st) : 0;
    }
    first[size_t(*axis)] = s;
    step[size_t(*axis)] = st;
    dims[size_t(*axis)] = count;
  }
  auto r = c.make(data.dtype, dims);
  if (!r)
    return false;
  std::vector<int64_t> inStrides(size_t(rank), 1);
  for (size_t a = size_t(rank); a-- > 1;)
    inStrides[a - 1] = inStrides[a] * data.dims[a];
  for (int64_t i = 0; i < r->size(); ++i) {
    int64_t rest = i, src = 0;
    for (size_t a = size_t(rank); a-- > 0;) {
      int64_t coord = rest % dims[a];
      rest /= dims[a];
      src += (first[a] + coord * step[a]) * inStrides[a];
    }
    r->copyElement(i, data, src);
  }
  return c.emit(std::move(r));
}

llvm::Expected<bool> evalExpand(Context &c) {
  if (!c.has(0) || !allIntegerOperands(c, {1}))
    return false;
  const Tensor &data = c.arg(0);
  const std::vector<int64_t> &shape = c.arg(1).ints;
  auto dims = broadcastShapes({&data.dims, &shape});
  if (!dims)
    return c.error("input shape " + formatDims(data.dims) +
                   " cannot be expanded to " + formatDims(shape));
  auto r = c.make(data.dtype, *dims);
  if (!r)
    return false;
  BroadcastIndexer index(*dims, data.dims);
  for (int64_t i = 0; i < r->size(); ++i)
    r->copyElement(i, data, index(i));
  return c.emit(std::move(r));
}

llvm::Expected<bool> evalSplit(Context &c) {
  if (!c.has(0))
    return false;
  const Tensor &data = c.arg(0);
  int64_t rank = int64_t(data.dims.size());
  auto axis = normalizeAxis(c.node.getIntAttr("axis", 0), rank);
  if (!axis)
    return c.error("axis is out of range for rank " + llvm::Twine(rank));
  int64_t axisSize = data.dims[size_t(*axis)];
  size_t numOutputs = c.node.outputs.size();
  std::vector<int64_t> sizes;
  if (c.opset >= 13 && c.has(1))
    sizes = c.arg(1).ints;
  else if (c.opset < 13)
    sizes = c.node.getIntsAttr("split");
  if (sizes.empty()) {
    // Even split; uneven remainders (opset 18 num_outputs) are left alone.
    if (numOutputs == 0 || axisSize % int64_t(numOutputs) != 0)
      return false;
    sizes.assign(numOutputs, axisSize / int64_t(numOutputs));
  }
  int64_t total = 0;
  for (int64_t s : sizes)
    total += s;
  if (sizes.size() != numOutputs || total != axisSize)
    return c.error("split sizes " + formatDims(sizes) + " do not cover axis " +
                   llvm::Twine(*axis) + " of size " + llvm::Twine(axisSize) +
                   " with " + llvm::Twine(numOutputs) + " outputs");
  int64_t outer = product(data.dims, 0, size_t(*axis));
  int64_t inner = product(data.dims, size_t(*axis) + 1, data.dims.size());
  int64_t offset = 0;
  for (int64_t s : sizes) {
    std::vector<int64_t> dims = data.dims;
    dims[size_t(*axis)] = s;
    auto r = c.make(data.dtype, dims);
    if (!r)
      return false;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k = 0; k < s * inner; ++k)
        r->copyElement(o * s * inner + k, data,
                       (o * axisSize + offset) * inner + k);
    offset += s;
    c.emit(std::move(r));
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Sources and reductions
//===----------------------------------------------------------------------===//

llvm::Expected<bool> evalConstantOfShape(Context &c) {
  if (!allIntegerOperands(c, {0}))
    return false;
  const std::vector<int64_t> &dims = c.arg(0).ints;
  for (int64_t d : dims)
    if (d < 0)
      return c.error("shape " + formatDims(dims) + " has a negative dimension");
  std::optional<Tensor> fill = Tensor{DType::F32, {}, {}, {0.0}};
  if (const Attribute *value = c.node.getAttr("value")) {
    if (value->kind() != Attribute::Kind::Tensor || !value->getTensor() ||
        value->getTensor()->numElements() != 1)
      return c.error("'value' must be a one-element tensor");
    fill = fromData(value->getTensor());
    if (!fill)
      return false;
  }
  auto r = c.make(fill->dtype, dims);
  if (!r)
    return false;
  for (int64_t i = 0; i < r->size(); ++i)
    r->copyElement(i, *fill, 0);
  return c.emit(std::move(r));
}

llvm::Expected<bool> evalRange(Context &c) {
  if (!c.has(0) || !c.has(1) || !c.has(2))
    return false;
  const Tensor &start = c.arg(0), &limit = c.arg(1), &delta = c.arg(2);
  if (start.dtype != limit.dtype || start.dtype != delta.dtype ||
      start.size() != 1 || limit.size() != 1 || delta.size() != 1)
    return false;
  if (start.isReal()) {
    double s = start.reals[0], l = limit.reals[0], d = delta.reals[0];
    if (d == 0)
      return c.error("delta is 0");
    double n = std::max(std::ceil((l - s) / d), 0.0);
    if (!(n <= double(c.maxElements)))
      return false;
    auto r = c.make(start.dtype, {int64_t(n)});
    if (!r)
      return false;
    for (int64_t i = 0; i < r->size(); ++i)
      r->reals[size_t(i)] = s + double(i) * d;
    return c.emit(std::move(r));
  }
  // 128-bit intermediates: limit - start can overflow int64.
  __int128 s = start.ints[0], l = limit.ints[0], d = delta.ints[0];
  if (d == 0)
    return c.error("delta is 0");
  __int128 span = l - s;
  __int128 n = 0;
  if ((span > 0 && d > 0) || (span < 0 && d < 0)) {
    __int128 ad = d > 0 ? d : -d, as = span > 0 ? span : -span;
    n = (as + ad - 1) / ad;
  }
  if (n > c.maxElements)
    return false;
  auto r = c.make(start.dtype, {int64_t(n)});
  if (!r)
    return false;
  for (int64_t i = 0; i < r->size(); ++i)
    r->ints[size_t(i)] = int64_t(s + __int128(i) * d);
  return c.emit(std::move(r));
}

llvm::Expected<bool> evalReduceSum(Context &c) {
  if (!c.has(0))
    return false;
  const Tensor &data = c.arg(0);
  int64_t rank = int64_t(data.dims.size());
  std::vector<int64_t> axes;
  if (auto given = axesOperand(c, 1, 13))
    axes = *given;
  bool keepDims = c.node.getIntAttr("keepdims", 1) != 0;
  if (axes.empty() && c.node.getIntAttr("noop_with_empty_axes", 0) != 0)
    return emitReshaped(c, data.dims);
  std::vector<bool> reduced(size_t(rank), axes.empty());
  for (int64_t a : axes) {
    auto axis = normalizeAxis(a, rank);
    if (!axis)
      return c.error("axis " + llvm::Twine(a) + " is out of range for rank " +
                     llvm::Twine(rank));
    reduced[size_t(*axis)] = true;
  }
  // The result keeps every dimension (reduced ones as 1) while summing;
  // dropping them afterwards does not move any element.
  std::vector<int64_t> kept(data.dims), dims;
  for (int64_t a = 0; a < rank; ++a) {
    if (reduced[size_t(a)])
      kept[size_t(a)] = 1;
    if (!reduced[size_t(a)] || keepDims)
      dims.push_back(kept[size_t(a)]);
  }
  auto r = c.make(data.dtype, kept);
  if (!r)
    return false;
  std::vector<int64_t> outStrides(size_t(rank), 1);
  for (size_t a = size_t(rank); a-- > 1;)
    outStrides[a - 1] = outStrides[a] * kept[a];
  for (int64_t i = 0; i < data.size(); ++i) {
    int64_t rest = i, dst = 0;
    for (size_t a = size_t(rank); a-- > 0;) {
      int64_t coord = rest % data.dims[a];
      rest /= data.dims[a];
      if (!reduced[a])
        dst += coord * outStrides[a];
    }
    if (r->isReal())
      r->reals[size_t(dst)] += data.reals[size_t(i)];
    else
      r->ints[size_t(dst)] =
          wrapAdd(r->ints[size_t(dst)], data.ints[size_t(i)]);
  }
  r->dims = std::move(dims);
  return c.emit(std::move(r));
}

const std::map<std::string, Evaluator, std::less<>> &evaluators() {
  static const std::map<std::string, Evaluator, std::less<>> table = {
      {"Add", evalArithmetic},
      {"Sub", evalArithmetic},
      {"Mul", evalArithmetic},
      {"Div", evalArithmetic},
      {"Equal", evalEqual},
      {"Not", evalNot},
      {"Where", evalWhere},
      {"Cast", evalCast},
      {"Reshape", evalReshape},
      {"Flatten", evalFlatten},
      {"Unsqueeze", evalUnsqueeze},
      {"Squeeze", evalSqueeze},
      {"Transpose", evalTranspose},
      {"Concat", evalConcat},
      {"Gather", evalGather},
      {"Slice", evalSlice},
      {"Expand", evalExpand},
      {"Split", evalSplit},
      {"ConstantOfShape", evalConstantOfShape},
      {"Range", evalRange},
      {"ReduceSum", evalReduceSum},
  };
  return table;
}

bool isDefaultDomain(llvm::StringRef domain) {
  return domain.empty() || domain == "ai.onnx";
}

} // namespace

bool hasEvaluator(const Node &node) {
  return isDefaultDomain(node.domain) && evaluators().count(node.opType) != 0;
}

llvm::Expected<bool> evaluateNode(const Node &node,
                                  llvm::ArrayRef<TensorDataRef> inputs,
                                  int64_t opset, int64_t maxElements,
                                  std::vector<TensorDataRef> &results) {
  results.clear();
  if (!isDefaultDomain(node.domain))
    return false;
  auto it = evaluators().find(node.opType);
  if (it == evaluators().end())
    return false;
  Context c{node, {}, opset, maxElements, {}};
  for (const TensorDataRef &input : inputs) {
    if (!input) {
      c.in.emplace_back(std::nullopt);
      continue;
    }
    std::optional<Tensor> t = fromData(input);
    if (!t)
      return false; // an element type the evaluators do not handle
    c.in.push_back(std::move(t));
  }
  auto folded = it->second(c);
  if (!folded)
    return folded.takeError();
  if (!*folded || c.out.size() != node.outputs.size())
    return false;
  for (const Tensor &t : c.out)
    results.push_back(toData(t));
  return true;
}

bool evaluateShapeOnlyNode(const Node &node,
                           llvm::ArrayRef<TensorType> inputTypes, int64_t opset,
                           std::vector<TensorDataRef> &results) {
  results.clear();
  if (!isDefaultDomain(node.domain) || inputTypes.empty() ||
      !inputTypes[0].hasRank() || node.outputs.size() != 1)
    return false;
  const std::vector<Dim> &dims = *inputTypes[0].dims;
  int64_t rank = int64_t(dims.size());
  if (node.opType == "Size") {
    auto n = inputTypes[0].numElements();
    if (!n)
      return false;
    results.push_back(TensorData::fromInt64s({}, {*n}));
    return true;
  }
  if (node.opType != "Shape")
    return false;
  // start/end (opset 15) select a range of dimensions; a symbolic batch
  // dimension outside the range does not prevent folding.
  auto clampIndex = [&](int64_t i) {
    if (i < 0)
      i += rank;
    return std::clamp<int64_t>(i, 0, rank);
  };
  int64_t start = 0, end = rank;
  if (opset >= 15) {
    start = clampIndex(node.getIntAttr("start", 0));
    end = clampIndex(node.getIntAttr("end", rank));
  }
  std::vector<int64_t> sizes;
  for (int64_t i = start; i < end; ++i) {
    if (!dims[size_t(i)].isKnown())
      return false;
    sizes.push_back(dims[size_t(i)].size());
  }
  results.push_back(TensorData::fromInt64s({int64_t(sizes.size())}, sizes));
  return true;
}

llvm::Expected<TensorDataRef> constantNodeValue(const Node &node) {
  // Exactly one of these attributes carries the value (ONNX Constant, v13).
  for (const auto &entry : node.attributes) {
    const std::string &name = entry.first;
    const Attribute &a = entry.second;
    auto wrongKind = [&]() {
      return makeNodeError(node.displayName(), "Constant attribute '" + name +
                                                   "' has kind " +
                                                   attributeKindName(a.kind()));
    };
    if (name == "value" || name == "sparse_value") {
      if (a.kind() != Attribute::Kind::Tensor || !a.getTensor())
        return wrongKind();
      return a.getTensor();
    }
    if (name == "value_float") {
      if (a.kind() != Attribute::Kind::Float)
        return wrongKind();
      return TensorData::fromFloats({}, {a.getFloat()});
    }
    if (name == "value_floats") {
      if (a.kind() != Attribute::Kind::Floats)
        return wrongKind();
      return TensorData::fromFloats({int64_t(a.getFloats().size())},
                                    a.getFloats());
    }
    if (name == "value_int") {
      if (a.kind() != Attribute::Kind::Int)
        return wrongKind();
      return TensorData::fromInt64s({}, {a.getInt()});
    }
    if (name == "value_ints") {
      if (a.kind() != Attribute::Kind::Ints)
        return wrongKind();
      return TensorData::fromInt64s({int64_t(a.getInts().size())}, a.getInts());
    }
    if (name == "value_string") {
      if (a.kind() != Attribute::Kind::String)
        return wrongKind();
      return TensorData::createStrings({}, {a.getString()});
    }
    if (name == "value_strings") {
      if (a.kind() != Attribute::Kind::Strings)
        return wrongKind();
      return TensorData::createStrings({int64_t(a.getStrings().size())},
                                       a.getStrings());
    }
  }
  return makeNodeError(node.displayName(),
                       "Constant has no value attribute (value, value_float, "
                       "value_ints, ...)");
}

} // namespace folding
} // namespace sparseloom
