//===- Unary.cpp - Elementwise ops with one input -------------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Activations and math functions (float32), the integer-capable Relu, Abs,
// Neg and Clip, logical Not, Cast between every runtime dtype, and Identity,
// which also stands for Reshape/Flatten/Squeeze/Unsqueeze when the compiler
// could not alias the output onto the input (same elements, new shape).
//
// Cast follows ONNX where it is defined and stays defined where ONNX is not:
// float to integer truncates toward zero and saturates out-of-range values
// (NaN becomes 0) instead of invoking undefined behaviour; anything to bool
// is (x != 0).
//
//===----------------------------------------------------------------------===//

#include "Ops/OpUtil.h"
#include "Ops/VectorMath.h"

#include <algorithm>
#include <cmath>

namespace sparseloom {
namespace runtime {

using namespace ops;

namespace {

/// Parameters of an activation, read once per op.
struct UnaryParams {
  float a = 0.f, b = 0.f;
  bool flag = false;
};

UnaryParams readParams(const OpView &op) {
  UnaryParams p;
  switch (op.desc->opcode) {
  case Opcode::Clip: {
    const auto &c = op.paramsAs<format::ClipParams>();
    p.a = c.min;
    p.b = c.max;
    break;
  }
  case Opcode::HardSigmoid:
  case Opcode::LeakyRelu:
  case Opcode::Elu: {
    const auto &c = op.paramsAs<format::AlphaBetaParams>();
    p.a = c.alpha;
    p.b = c.beta;
    break;
  }
  case Opcode::Gelu:
    p.flag = op.paramsAs<format::GeluParams>().approximateTanh;
    break;
  default:
    break;
  }
  return p;
}

/// The ops whose float kernel is the vectorised one (VectorMath.h).
template <Opcode K>
constexpr bool kVectorised = K == Opcode::Erf || K == Opcode::Tanh ||
                             K == Opcode::Sigmoid || K == Opcode::Gelu;

template <Opcode K> float applyFloat(float x, const UnaryParams &p) {
  // Written so that NaN fails every comparison and passes through, and so
  // that the compiler can vectorise them (maxps/minps).
  if constexpr (K == Opcode::Relu)
    return x < 0.f ? 0.f : x;
  else if constexpr (K == Opcode::Clip)
    return x < p.a ? p.a : (x > p.b ? p.b : x);
  else if constexpr (K == Opcode::HardSigmoid)
    return std::min(std::max(p.a * x + p.b, 0.f), 1.f);
  else if constexpr (K == Opcode::HardSwish)
    return x * std::min(std::max(x / 6.f + 0.5f, 0.f), 1.f);
  else if constexpr (K == Opcode::Sqrt)
    return std::sqrt(x);
  else if constexpr (K == Opcode::Exp)
    return std::exp(x); // not the clamped vector exp: overflow must be inf
  else if constexpr (K == Opcode::Log)
    return std::log(x);
  else if constexpr (K == Opcode::Reciprocal)
    return 1.f / x;
  else if constexpr (K == Opcode::LeakyRelu)
    return x < 0.f ? p.a * x : x;
  else if constexpr (K == Opcode::Floor)
    return std::floor(x);
  else if constexpr (K == Opcode::Ceil)
    return std::ceil(x);
  else if constexpr (K == Opcode::Elu)
    return x < 0.f ? p.a * (std::exp(x) - 1.f) : x;
  else if constexpr (K == Opcode::Softplus)
    return x > 20.f ? x : std::log1p(std::exp(x));
  else if constexpr (K == Opcode::Sin)
    return std::sin(x);
  else if constexpr (K == Opcode::Cos)
    return std::cos(x);
  else if constexpr (K == Opcode::Abs)
    return std::fabs(x);
  else if constexpr (K == Opcode::Neg)
    return -x;
  else
    return x;
}

/// Integer versions of the ops that ONNX defines on integers; two's
/// complement wrap-around instead of signed overflow.
template <Opcode K, typename T> T applyInt(T x, const UnaryParams &p) {
  using U = std::make_unsigned_t<T>;
  if constexpr (K == Opcode::Relu)
    return x > 0 ? x : T(0);
  else if constexpr (K == Opcode::Neg)
    return T(U(0) - U(x));
  else if constexpr (K == Opcode::Abs)
    return x < 0 ? T(U(0) - U(x)) : x;
  else {
    // Clip: float bounds compared in double (exact for every int32 and
    // for int64 below 2^53).
    double v = double(x);
    if (v < double(p.a))
      return saturateCast<T>(std::ceil(double(p.a)));
    if (v > double(p.b))
      return saturateCast<T>(std::floor(double(p.b)));
    return x;
  }
}

template <Opcode K> DTypeMask allowedDTypes() {
  if constexpr (K == Opcode::Relu || K == Opcode::Abs || K == Opcode::Neg)
    return kFloat | kInts | bit(DType::I8);
  else if constexpr (K == Opcode::Clip)
    return kNumeric;
  else
    return kFloat;
}

template <Opcode K> sl_status prepareUnary(PrepareContext &ctx) {
  const OpInstance &op = ctx.op;
  if (sl_status s = expectOperands(ctx, 1, 1))
    return s;
  if (sl_status s =
          expectDType(ctx, op.input(0), "the input", allowedDTypes<K>()))
    return s;
  if (sl_status s = expectSameDType(ctx, op.input(0), "the input", op.output(0),
                                    "the output"))
    return s;
  if (sl_status s = expectDenseData(ctx, op.input(0), "the input"))
    return s;
  return expectSameShape(ctx, op.input(0), "the input", op.output(0),
                         "the output");
}

template <Opcode K>
sl_status evalUnary(const OpInstance &op, ExecContext &ctx) {
  const UnaryParams p = readParams(op);
  const int64_t n = count(op.output(0));
  dispatchDType(op.input(0).dtype, [&](auto tag) {
    using T = decltype(tag);
    const T *x = ctx.in<T>(op, 0);
    T *y = ctx.out<T>(op, 0);
    if constexpr (std::is_same<T, float>::value && kVectorised<K>) {
      VectorFunction f = K == Opcode::Erf       ? VectorFunction::Erf
                         : K == Opcode::Tanh    ? VectorFunction::Tanh
                         : K == Opcode::Sigmoid ? VectorFunction::Sigmoid
                         : p.flag               ? VectorFunction::GeluTanh
                                                : VectorFunction::GeluErf;
      parallelRange(ctx.pool, n, n, [&](int64_t begin, int64_t end) {
        applyVectorFunction(f, x + begin, y + begin, end - begin);
      });
    } else if constexpr (std::is_same<T, float>::value &&
                         (K == Opcode::Relu || K == Opcode::Clip)) {
      const float lo = K == Opcode::Relu ? 0.f : p.a;
      const float hi = K == Opcode::Relu ? INFINITY : p.b;
      parallelRange(ctx.pool, n, n, [&](int64_t begin, int64_t end) {
        clampArray(x + begin, y + begin, end - begin, lo, hi);
      });
    } else if constexpr (std::is_same<T, float>::value) {
      parallelRange(ctx.pool, n, n, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i)
          y[i] = applyFloat<K>(x[i], p);
      });
    } else if constexpr (K == Opcode::Relu || K == Opcode::Abs ||
                         K == Opcode::Neg || K == Opcode::Clip) {
      for (int64_t i = 0; i < n; ++i)
        y[i] = applyInt<K, T>(x[i], p);
    }
  });
  return SL_OK;
}

// --- Not, Cast, Identity
// ---------------------------------------------------------

sl_status prepareNot(PrepareContext &ctx) {
  const OpInstance &op = ctx.op;
  if (sl_status s = expectOperands(ctx, 1, 1))
    return s;
  if (sl_status s = expectDType(ctx, op.input(0), "the input", kBool))
    return s;
  if (sl_status s = expectDType(ctx, op.output(0), "the output", kBool))
    return s;
  if (sl_status s = expectDenseData(ctx, op.input(0), "the input"))
    return s;
  return expectSameShape(ctx, op.input(0), "the input", op.output(0),
                         "the output");
}

sl_status evalNot(const OpInstance &op, ExecContext &ctx) {
  const int64_t n = count(op.output(0));
  const uint8_t *x = ctx.in<uint8_t>(op, 0);
  uint8_t *y = ctx.out<uint8_t>(op, 0);
  for (int64_t i = 0; i < n; ++i)
    y[i] = x[i] == 0;
  return SL_OK;
}

sl_status prepareCast(PrepareContext &ctx) {
  const OpInstance &op = ctx.op;
  if (sl_status s = expectOperands(ctx, 1, 1))
    return s;
  if (sl_status s = expectDenseData(ctx, op.input(0), "the input"))
    return s;
  return expectSameShape(ctx, op.input(0), "the input", op.output(0),
                         "the output");
}

template <typename From, typename To> To castValue(From v) {
  if constexpr (std::is_same<From, To>::value)
    return v;
  else if constexpr (std::is_floating_point<From>::value)
    return saturateCast<To>(double(v));
  else
    return static_cast<To>(v); // integer to float or integer: exact or
                               // modular, never undefined
}

sl_status evalCast(const OpInstance &op, ExecContext &ctx) {
  const int64_t n = count(op.output(0));
  const DType from = op.input(0).dtype, to = op.output(0).dtype;
  dispatchDType(from, [&](auto fromTag) {
    using F = decltype(fromTag);
    dispatchDType(to, [&](auto toTag) {
      using T = decltype(toTag);
      const F *x = ctx.in<F>(op, 0);
      T *y = ctx.out<T>(op, 0);
      if (to == DType::Bool) {
        for (int64_t i = 0; i < n; ++i)
          y[i] = T(x[i] != F(0));
      } else if (from == DType::Bool) {
        for (int64_t i = 0; i < n; ++i)
          y[i] = T(x[i] != 0 ? 1 : 0);
      } else {
        for (int64_t i = 0; i < n; ++i)
          y[i] = castValue<F, T>(x[i]);
      }
    });
  });
  return SL_OK;
}

sl_status prepareIdentity(PrepareContext &ctx) {
  const OpInstance &op = ctx.op;
  if (sl_status s = expectOperands(ctx, 1, 1))
    return s;
  if (sl_status s = expectDenseData(ctx, op.input(0), "the input"))
    return s;
  if (sl_status s = expectSameDType(ctx, op.input(0), "the input", op.output(0),
                                    "the output"))
    return s;
  return expectSameCount(ctx, op.input(0), "the input", op.output(0),
                         "the output");
}

sl_status evalIdentity(const OpInstance &op, ExecContext &ctx) {
  const void *x = ctx.data(op, op.inputs[0]);
  void *y = ctx.out<uint8_t>(op, 0);
  if (x != y && op.output(0).bytes)
    std::memcpy(y, x, op.output(0).bytes);
  return SL_OK;
}

template <Opcode K> OpKernel unary() {
  return OpKernel{K, prepareUnary<K>, evalUnary<K>, nullptr, true};
}

} // namespace

void registerUnaryOps(OpResolver &resolver) {
  const OpKernel kernels[] = {
      unary<Opcode::Relu>(),
      unary<Opcode::Clip>(),
      unary<Opcode::Sigmoid>(),
      unary<Opcode::HardSigmoid>(),
      unary<Opcode::HardSwish>(),
      unary<Opcode::Tanh>(),
      unary<Opcode::Erf>(),
      unary<Opcode::Gelu>(),
      unary<Opcode::Sqrt>(),
      unary<Opcode::Exp>(),
      unary<Opcode::Log>(),
      unary<Opcode::Abs>(),
      unary<Opcode::Neg>(),
      unary<Opcode::Reciprocal>(),
      unary<Opcode::LeakyRelu>(),
      unary<Opcode::Floor>(),
      unary<Opcode::Ceil>(),
      unary<Opcode::Elu>(),
      unary<Opcode::Softplus>(),
      unary<Opcode::Sin>(),
      unary<Opcode::Cos>(),
      {Opcode::Not, prepareNot, evalNot, nullptr, true},
      // Cast changes the element size, so it never runs in place.
      {Opcode::Cast, prepareCast, evalCast, nullptr, false},
      {Opcode::Identity, prepareIdentity, evalIdentity, nullptr, true},
  };
  for (const OpKernel &k : kernels)
    resolver.add(k);
}

} // namespace runtime
} // namespace sparseloom
