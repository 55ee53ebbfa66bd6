//===- Binary.cpp - Elementwise ops with numpy broadcasting ---------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Add, Sub, Mul, Div, Pow, Mod, comparisons, logical And/Or, variadic
// Max/Min and Where, all with ONNX's multidirectional broadcasting. Shapes are
// static, so Prepare checks that the output shape is exactly the broadcast
// of the inputs' and Eval derives the strides from the descriptors.
//
// Integer division and modulo by zero would trap, and INT_MIN / -1
// overflows: Div and Mod check the divisor tensor for zeros before
// computing (a data-dependent SL_ERROR_RUNTIME) and handle -1 explicitly.
//
//===----------------------------------------------------------------------===//

#include "Ops/OpUtil.h"

#include "Kernels/FastOps.h"

#include <algorithm>
#include <cmath>

namespace sparseloom {
namespace runtime {

using namespace ops;

namespace {

/// Applies `op` elementwise over two broadcast operands, split over `pool`
/// for large outputs.
template <typename T, typename R, typename Op>
void binaryLoop(const Broadcast &b, const T *x, const T *y, R *z, Op op,
                ThreadPool *pool) {
  forEachRowParallel(
      b, pool, [&](int64_t o, const int64_t *in, int64_t n, const int64_t *s) {
        const T *xa = x + in[0];
        const T *ya = y + in[1];
        R *za = z + o;
        if (s[0] == 1 && s[1] == 1) {
          for (int64_t i = 0; i < n; ++i)
            za[i] = op(xa[i], ya[i]);
        } else if (s[0] == 1 && s[1] == 0) {
          const T yv = *ya;
          for (int64_t i = 0; i < n; ++i)
            za[i] = op(xa[i], yv);
        } else if (s[0] == 0 && s[1] == 1) {
          const T xv = *xa;
          for (int64_t i = 0; i < n; ++i)
            za[i] = op(xv, ya[i]);
        } else {
          for (int64_t i = 0; i < n; ++i)
            za[i] = op(xa[i * s[0]], ya[i * s[1]]);
        }
      });
}

template <typename T, typename R, typename Op>
void evalBinary(const OpInstance &op, ExecContext &ctx, Op f) {
  const TensorDesc *ins[2] = {&op.input(0), &op.input(1)};
  Broadcast b;
  makeBroadcast(op.output(0), ins, 2, b);
  binaryLoop<T, R>(b, ctx.in<T>(op, 0), ctx.in<T>(op, 1), ctx.out<R>(op, 0), f,
                   ctx.pool);
}

sl_status prepareBinary(PrepareContext &ctx, DTypeMask allowed,
                        bool boolOutput) {
  const OpInstance &op = ctx.op;
  if (sl_status s = expectOperands(ctx, 2, 2))
    return s;
  if (sl_status s = expectDType(ctx, op.input(0), "input 0", allowed))
    return s;
  if (sl_status s =
          expectSameDType(ctx, op.input(0), "input 0", op.input(1), "input 1"))
    return s;
  if (boolOutput) {
    if (sl_status s = expectDType(ctx, op.output(0), "the output", kBool))
      return s;
  } else if (sl_status s = expectSameDType(ctx, op.input(0), "input 0",
                                           op.output(0), "the output")) {
    return s;
  }
  for (unsigned i = 0; i < 2; ++i)
    if (sl_status s = expectDenseData(ctx, op.input(i), "an input"))
      return s;
  const TensorDesc *ins[2] = {&op.input(0), &op.input(1)};
  return expectBroadcast(ctx, ins, 2, op.output(0));
}

// --- Arithmetic
// ---------------------------------------------------------------

template <Opcode K> struct Arith {
  template <typename T> static T apply(T a, T b) {
    if constexpr (K == Opcode::Add)
      return wrap<T>(a, b, [](auto x, auto y) { return x + y; });
    else if constexpr (K == Opcode::Sub)
      return wrap<T>(a, b, [](auto x, auto y) { return x - y; });
    else if constexpr (K == Opcode::Mul)
      return wrap<T>(a, b, [](auto x, auto y) { return x * y; });
    else
      return div(a, b);
  }
  /// Integer arithmetic wraps (two's complement) instead of overflowing:
  /// compute in the unsigned type of the same width.
  template <typename T, typename F> static T wrap(T a, T b, F f) {
    if constexpr (std::is_integral<T>::value) {
      using U = std::make_unsigned_t<T>;
      return static_cast<T>(
          static_cast<U>(f(static_cast<U>(a), static_cast<U>(b))));
    } else {
      return f(a, b);
    }
  }
  template <typename T> static T div(T a, T b) {
    if constexpr (std::is_integral<T>::value) {
      // Zero divisors were rejected before the loop; -1 would trap on
      // INT_MIN.
      if (b == T(-1) && std::is_signed<T>::value)
        return wrap<T>(T(0), a, [](auto x, auto y) { return x - y; });
      return a / b;
    } else {
      return a / b;
    }
  }
};

/// True when the integer tensor `t` holds a zero.
template <typename T> bool hasZero(const T *data, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (data[i] == 0)
      return true;
  return false;
}

template <Opcode K> sl_status prepareArith(PrepareContext &ctx) {
  return prepareBinary(ctx, kNumeric, false);
}

/// Float Add/Sub/Mul/Div with AVX-512 on rows whose operands are
/// contiguous or broadcast scalars (every pattern the models use: same
/// shape, per-channel, per-feature, scalar); any other row, the scalar
/// loop. Bit-identical to the portable loop (FastOps.h).
template <Opcode K>
void evalArithAvx512(const OpInstance &op, ExecContext &ctx) {
  constexpr FastBinary f = K == Opcode::Add   ? FastBinary::Add
                           : K == Opcode::Sub ? FastBinary::Sub
                           : K == Opcode::Mul ? FastBinary::Mul
                                              : FastBinary::Div;
  const TensorDesc *ins[2] = {&op.input(0), &op.input(1)};
  Broadcast b;
  makeBroadcast(op.output(0), ins, 2, b);
  const float *x = ctx.in<float>(op, 0);
  const float *y = ctx.in<float>(op, 1);
  float *z = ctx.out<float>(op, 0);
  forEachRowParallel(
      b, ctx.pool,
      [&](int64_t o, const int64_t *in, int64_t n, const int64_t *s) {
        if ((s[0] == 0 || s[0] == 1) && (s[1] == 0 || s[1] == 1)) {
          binaryAvx512(f, x + in[0], s[0], y + in[1], s[1], z + o, n);
          return;
        }
        for (int64_t i = 0; i < n; ++i)
          z[o + i] = Arith<K>::template apply<float>(x[in[0] + i * s[0]],
                                                     y[in[1] + i * s[1]]);
      });
}

template <Opcode K>
sl_status evalArith(const OpInstance &op, ExecContext &ctx) {
  sl_status status = SL_OK;
  if (op.input(0).dtype == DType::F32 && cpuHasAvx512Ops()) {
    evalArithAvx512<K>(op, ctx);
    return SL_OK;
  }
  dispatchDType(op.input(0).dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (K == Opcode::Div && std::is_integral<T>::value) {
      if (hasZero(ctx.in<T>(op, 1), count(op.input(1)))) {
        status = ctx.fail(op, SL_ERROR_RUNTIME, "integer division by zero");
        return;
      }
    }
    evalBinary<T, T>(
        op, ctx, [](T a, T b) { return Arith<K>::template apply<T>(a, b); });
  });
  return status;
}

// --- Pow
// ------------------------------------------------------------------------

sl_status preparePow(PrepareContext &ctx) {
  const OpInstance &op = ctx.op;
  if (sl_status s = expectOperands(ctx, 2, 2))
    return s;
  if (sl_status s = expectDType(ctx, op.input(0), "the base", kFloat | kInts))
    return s;
  if (sl_status s =
          expectDType(ctx, op.input(1), "the exponent", kFloat | kInts))
    return s;
  if (sl_status s = expectSameDType(ctx, op.input(0), "the base", op.output(0),
                                    "the output"))
    return s;
  for (unsigned i = 0; i < 2; ++i)
    if (sl_status s = expectDenseData(ctx, op.input(i), "an input"))
      return s;
  const TensorDesc *ins[2] = {&op.input(0), &op.input(1)};
  return expectBroadcast(ctx, ins, 2, op.output(0));
}

sl_status evalPow(const OpInstance &op, ExecContext &ctx) {
  const TensorDesc *ins[2] = {&op.input(0), &op.input(1)};
  Broadcast b;
  makeBroadcast(op.output(0), ins, 2, b);
  dispatchDType(op.input(0).dtype, [&](auto baseTag) {
    using T = decltype(baseTag);
    dispatchDType(op.input(1).dtype, [&](auto expTag) {
      using E = decltype(expTag);
      const T *x = ctx.in<T>(op, 0);
      const E *y = ctx.in<E>(op, 1);
      T *z = ctx.out<T>(op, 0);
      forEachRow(
          b, [&](int64_t o, const int64_t *in, int64_t n, const int64_t *s) {
            for (int64_t i = 0; i < n; ++i) {
              T a = x[in[0] + i * s[0]];
              E e = y[in[1] + i * s[1]];
              if constexpr (std::is_same<T, float>::value &&
                            std::is_same<E, float>::value)
                z[o + i] = std::pow(a, e);
              else
                z[o + i] = saturateCast<T>(std::pow(double(a), double(e)));
            }
          });
    });
  });
  return SL_OK;
}

// --- Mod
// --------------------------------------------------------------------------

sl_status prepareMod(PrepareContext &ctx) {
  if (sl_status s = prepareBinary(ctx, kNumeric, false))
    return s;
  const auto &p = ctx.op.paramsAs<format::ModParams>();
  if (ctx.op.input(0).dtype == DType::F32 && !p.fmod)
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "float Mod needs fmod = 1 (ONNX requires it)");
  return SL_OK;
}

template <typename T> T modInt(T a, T b, bool fmod) {
  if (b == T(-1) && std::is_signed<T>::value)
    return 0; // a % -1 is 0, and INT_MIN % -1 would trap
  T r = a % b;
  // Without fmod the result takes the divisor's sign (Python's %).
  if (!fmod && r != 0 && ((r < 0) != (b < 0)))
    r = T(r + b);
  return r;
}

sl_status evalMod(const OpInstance &op, ExecContext &ctx) {
  bool fmod = op.paramsAs<format::ModParams>().fmod;
  sl_status status = SL_OK;
  dispatchDType(op.input(0).dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_integral<T>::value) {
      if (hasZero(ctx.in<T>(op, 1), count(op.input(1)))) {
        status = ctx.fail(op, SL_ERROR_RUNTIME, "integer modulo by zero");
        return;
      }
      evalBinary<T, T>(op, ctx,
                       [fmod](T a, T b) { return modInt(a, b, fmod); });
    } else {
      evalBinary<T, T>(op, ctx, [](T a, T b) { return T(std::fmod(a, b)); });
    }
  });
  return status;
}

// --- Comparisons and logic
// -----------------------------------------------------

template <Opcode K> sl_status prepareCompare(PrepareContext &ctx) {
  DTypeMask allowed = K == Opcode::Equal ? kAny : kNumeric;
  return prepareBinary(ctx, allowed, true);
}

template <Opcode K>
sl_status evalCompare(const OpInstance &op, ExecContext &ctx) {
  DType dtype = op.input(0).dtype;
  dispatchDType(dtype, [&](auto tag) {
    using T = decltype(tag);
    if (dtype == DType::Bool) {
      // Compare truth values, not bytes.
      evalBinary<T, uint8_t>(
          op, ctx, [](T a, T b) { return uint8_t((a != 0) == (b != 0)); });
      return;
    }
    evalBinary<T, uint8_t>(op, ctx, [](T a, T b) {
      if constexpr (K == Opcode::Equal)
        return uint8_t(a == b);
      else if constexpr (K == Opcode::Less)
        return uint8_t(a < b);
      else
        return uint8_t(a > b);
    });
  });
  return SL_OK;
}

template <Opcode K> sl_status prepareLogic(PrepareContext &ctx) {
  return prepareBinary(ctx, kBool, true);
}

template <Opcode K>
sl_status evalLogic(const OpInstance &op, ExecContext &ctx) {
  evalBinary<uint8_t, uint8_t>(op, ctx, [](uint8_t a, uint8_t b) {
    if constexpr (K == Opcode::And)
      return uint8_t(a != 0 && b != 0);
    else
      return uint8_t(a != 0 || b != 0);
  });
  return SL_OK;
}

// --- Variadic Max / Min
// ---------------------------------------------------------

sl_status prepareMaxMin(PrepareContext &ctx) {
  const OpInstance &op = ctx.op;
  if (sl_status s = expectOperands(ctx, 1, kMaxOperands * 16))
    return s;
  if (sl_status s = expectDType(ctx, op.output(0), "the output", kNumeric))
    return s;
  const TensorDesc &out = op.output(0);
  for (unsigned i = 0; i < op.numInputs(); ++i) {
    if (!op.hasInput(i))
      return ctx.fail(SL_ERROR_INVALID_PROGRAM, "input %u is absent", i);
    if (sl_status s =
            expectSameDType(ctx, op.input(i), "an input", out, "the output"))
      return s;
    if (sl_status s = expectDenseData(ctx, op.input(i), "an input"))
      return s;
    if (!broadcastsTo(op.input(i), out)) {
      char a[128], b[128];
      return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                      "input %u shape %s does not broadcast to the output "
                      "shape %s",
                      i, shapeString(op.input(i), a, sizeof(a)),
                      shapeString(out, b, sizeof(b)));
    }
  }
  // The output shape must be the broadcast of all inputs, not larger.
  int64_t wanted[kMaxRank];
  unsigned rank = 0;
  for (unsigned i = 0; i < op.numInputs(); ++i)
    rank = op.input(i).rank > rank ? op.input(i).rank : rank;
  for (unsigned a = 0; a < rank; ++a) {
    wanted[a] = 1;
    for (unsigned i = 0; i < op.numInputs(); ++i) {
      const TensorDesc &t = op.input(i);
      int ia = int(a) - int(rank - t.rank);
      if (ia >= 0 && t.dims[ia] != 1)
        wanted[a] = t.dims[ia];
    }
  }
  if (sl_status s = expectShape(ctx, out, "the output", rank, wanted))
    return s;
  return SL_OK;
}

template <Opcode K>
sl_status evalMaxMin(const OpInstance &op, ExecContext &ctx) {
  dispatchDType(op.output(0).dtype, [&](auto tag) {
    using T = decltype(tag);
    const TensorDesc &out = op.output(0);
    T *z = ctx.out<T>(op, 0);
    // NaN wins, as in numpy's maximum/minimum.
    auto pick = [](T a, T b) {
      if constexpr (std::is_floating_point<T>::value)
        if (a != a || b != b)
          return a != a ? a : b;
      if constexpr (K == Opcode::Max)
        return a < b ? b : a;
      else
        return b < a ? b : a;
    };
    // out = broadcast(in_first), then out = pick(out, in_k) for the others.
    // The loader lets the output share a slot only with a same-shape input;
    // starting from that input means no input is read after it was
    // overwritten.
    unsigned first = 0;
    for (unsigned k = 0; k < op.numInputs(); ++k)
      if (ctx.in<T>(op, k) == z)
        first = k;
    {
      const TensorDesc *ins[1] = {&op.input(first)};
      Broadcast b;
      makeBroadcast(out, ins, 1, b);
      const T *x = ctx.in<T>(op, first);
      if (x != z)
        forEachRow(
            b, [&](int64_t o, const int64_t *in, int64_t n, const int64_t *s) {
              for (int64_t i = 0; i < n; ++i)
                z[o + i] = x[in[0] + i * s[0]];
            });
    }
    for (unsigned k = 0; k < op.numInputs(); ++k) {
      if (k == first)
        continue;
      const TensorDesc *ins[2] = {&out, &op.input(k)};
      Broadcast b;
      makeBroadcast(out, ins, 2, b);
      binaryLoop<T, T>(b, z, ctx.in<T>(op, k), z, pick, ctx.pool);
    }
  });
  return SL_OK;
}

// --- Where
// ------------------------------------------------------------------------

sl_status prepareWhere(PrepareContext &ctx) {
  const OpInstance &op = ctx.op;
  if (sl_status s = expectOperands(ctx, 3, 3))
    return s;
  if (sl_status s = expectDType(ctx, op.input(0), "the condition", kBool))
    return s;
  if (sl_status s =
          expectSameDType(ctx, op.input(1), "input 1", op.input(2), "input 2"))
    return s;
  if (sl_status s = expectSameDType(ctx, op.input(1), "input 1", op.output(0),
                                    "the output"))
    return s;
  for (unsigned i = 0; i < 3; ++i)
    if (sl_status s = expectDenseData(ctx, op.input(i), "an input"))
      return s;
  const TensorDesc *ins[3] = {&op.input(0), &op.input(1), &op.input(2)};
  return expectBroadcast(ctx, ins, 3, op.output(0));
}

sl_status evalWhere(const OpInstance &op, ExecContext &ctx) {
  const TensorDesc *ins[3] = {&op.input(0), &op.input(1), &op.input(2)};
  Broadcast b;
  makeBroadcast(op.output(0), ins, 3, b);
  const uint8_t *c = ctx.in<uint8_t>(op, 0);
  dispatchBySize(dtypeSize(op.output(0).dtype), [&](auto tag) {
    using T = decltype(tag);
    const T *x = ctx.in<T>(op, 1);
    const T *y = ctx.in<T>(op, 2);
    T *z = ctx.out<T>(op, 0);
    auto rows = [&](int64_t o, const int64_t *in, int64_t n, const int64_t *s) {
      for (int64_t i = 0; i < n; ++i)
        z[o + i] =
            c[in[0] + i * s[0]] ? x[in[1] + i * s[1]] : y[in[2] + i * s[2]];
    };
    forEachRowParallel(b, ctx.pool, rows);
  });
  return SL_OK;
}

} // namespace

void registerBinaryOps(OpResolver &resolver) {
  // Elementwise kernels read element i before writing element i, so an
  // output may share its slot with a same-shape input.
  const OpKernel kernels[] = {
      {Opcode::Add, prepareArith<Opcode::Add>, evalArith<Opcode::Add>, nullptr,
       true},
      {Opcode::Sub, prepareArith<Opcode::Sub>, evalArith<Opcode::Sub>, nullptr,
       true},
      {Opcode::Mul, prepareArith<Opcode::Mul>, evalArith<Opcode::Mul>, nullptr,
       true},
      {Opcode::Div, prepareArith<Opcode::Div>, evalArith<Opcode::Div>, nullptr,
       true},
      {Opcode::Pow, preparePow, evalPow, nullptr, true},
      {Opcode::Mod, prepareMod, evalMod, nullptr, true},
      {Opcode::Equal, prepareCompare<Opcode::Equal>, evalCompare<Opcode::Equal>,
       nullptr, false},
      {Opcode::Less, prepareCompare<Opcode::Less>, evalCompare<Opcode::Less>,
       nullptr, false},
      {Opcode::Greater, prepareCompare<Opcode::Greater>,
       evalCompare<Opcode::Greater>, nullptr, false},
      {Opcode::And, prepareLogic<Opcode::And>, evalLogic<Opcode::And>, nullptr,
       true},
      {Opcode::Or, prepareLogic<Opcode::Or>, evalLogic<Opcode::Or>, nullptr,
       true},
      {Opcode::Max, prepareMaxMin, evalMaxMin<Opcode::Max>, nullptr, true},
      {Opcode::Min, prepareMaxMin, evalMaxMin<Opcode::Min>, nullptr, true},
      {Opcode::Where, prepareWhere, evalWhere, nullptr, true},
  };
  for (const OpKernel &k : kernels)
    resolver.add(k);
}

} // namespace runtime
} // namespace sparseloom
