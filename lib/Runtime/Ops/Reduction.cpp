//===- Reduction.cpp - ReduceSum/Mean/Max/Min/Prod, ArgMax/ArgMin ---------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Reductions over any set of axes (ReduceParams::axesMask, resolved by the
// compiler from the attribute or the axes input; an empty mask is the
// identity, what ONNX's noop_with_empty_axes asks for, while "reduce all"
// arrives as a full mask). The kernel walks the input once in memory order
// with the broadcasting iterator, the output being the operand whose strides
// are 0 on reduced axes; a reduction along the innermost axis accumulates a
// whole row in a register (and in double for floats) before storing it.
//
//===----------------------------------------------------------------------===//

#include "Ops/OpUtil.h"

#include <cmath>
#include <limits>

namespace sparseloom {
namespace runtime {

using namespace ops;

namespace {

bool reduces(uint32_t mask, unsigned axis) { return (mask >> axis) & 1u; }

sl_status prepareReduceCommon(PrepareContext &ctx, DTypeMask inputs,
                              bool argReduce) {
  const OpInstance &op = ctx.op;
  if (sl_status s = expectOperands(ctx, 1, 1))
    return s;
  const TensorDesc &x = op.input(0);
  if (sl_status s = expectDType(ctx, x, "the input", inputs))
    return s;
  if (sl_status s = expectDenseData(ctx, x, "the input"))
    return s;
  if (argReduce) {
    if (sl_status s =
            expectDType(ctx, op.output(0), "the output", bit(DType::I64)))
      return s;
  } else if (sl_status s = expectSameDType(ctx, x, "the input", op.output(0),
                                           "the output")) {
    return s;
  }
  const auto &p = op.paramsAs<format::ReduceParams>();
  if (x.rank < 32 && (p.axesMask >> x.rank) != 0)
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "axes mask 0x%x names an axis beyond rank %u", p.axesMask,
                    unsigned(x.rank));
  if (argReduce) {
    uint32_t m = p.axesMask;
    if (m == 0 || (m & (m - 1)) != 0)
      return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                      "needs exactly one axis (mask 0x%x)", p.axesMask);
  }
  int64_t dims[kMaxRank];
  unsigned rank = 0;
  for (unsigned a = 0; a < x.rank; ++a) {
    if (!reduces(p.axesMask, a))
      dims[rank++] = x.dims[a];
    else if (p.keepDims)
      dims[rank++] = 1;
  }
  return expectShape(ctx, op.output(0), "the output", rank, dims);
}

template <Opcode K> sl_status prepareReduce(PrepareContext &ctx) {
  return prepareReduceCommon(ctx, kFloat | kInts, false);
}

template <Opcode K, typename T> T identityOf() {
  if constexpr (K == Opcode::ReduceMax)
    return std::numeric_limits<T>::has_infinity
               ? -std::numeric_limits<T>::infinity()
               : std::numeric_limits<T>::lowest();
  else if constexpr (K == Opcode::ReduceMin)
    return std::numeric_limits<T>::has_infinity
               ? std::numeric_limits<T>::infinity()
               : std::numeric_limits<T>::max();
  else if constexpr (K == Opcode::ReduceProd)
    return T(1);
  else
    return T(0);
}

/// The accumulator type: double for floats, the element type otherwise
/// (integer sums wrap as ONNX Runtime's do).
template <typename T>
using Acc = std::conditional_t<std::is_floating_point<T>::value, double, T>;

template <Opcode K, typename A> A combine(A acc, A v) {
  if constexpr (K == Opcode::ReduceMax)
    return (v > acc || v != v) ? v : acc;
  else if constexpr (K == Opcode::ReduceMin)
    return (v < acc || v != v) ? v : acc;
  else if constexpr (K == Opcode::ReduceProd) {
    if constexpr (std::is_integral<A>::value)
      return A(std::make_unsigned_t<A>(acc) * std::make_unsigned_t<A>(v));
    else
      return acc * v;
  } else {
    if constexpr (std::is_integral<A>::value)
      return A(std::make_unsigned_t<A>(acc) + std::make_unsigned_t<A>(v));
    else
      return acc + v;
  }
}

template <Opcode K>
sl_status evalReduce(const OpInstance &op, ExecContext &ctx) {
  const TensorDesc &x = op.input(0);
  const uint32_t mask = op.paramsAs<format::ReduceParams>().axesMask;
  // Output strides over the input's axes: 0 where reduced.
  int64_t strides[2][kMaxRank] = {};
  int64_t s = 1;
  for (int a = int(x.rank) - 1; a >= 0; --a) {
    if (reduces(mask, a)) {
      strides[0][a] = 0;
    } else {
      strides[0][a] = s;
      s *= x.dims[a];
    }
  }
  Broadcast b;
  makeStrided(x.rank, x.dims, strides, 1, b);
  int64_t reduced = 1;
  for (unsigned a = 0; a < x.rank; ++a)
    if (reduces(mask, a))
      reduced *= x.dims[a];
  const int64_t outCount = count(op.output(0));
  dispatchDType(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    using A = Acc<T>;
    const T *in = ctx.in<T>(op, 0);
    T *out = ctx.out<T>(op, 0);
    for (int64_t i = 0; i < outCount; ++i)
      out[i] = identityOf<K, T>();
    forEachRow(
        b, [&](int64_t inOff, const int64_t *o, int64_t n, const int64_t *st) {
          if (st[0] == 0) {
            A acc = A(out[o[0]]);
            for (int64_t i = 0; i < n; ++i)
              acc = combine<K, A>(acc, A(in[inOff + i]));
            out[o[0]] = T(acc);
          } else {
            for (int64_t i = 0; i < n; ++i) {
              T &dst = out[o[0] + i * st[0]];
              dst = T(combine<K, A>(A(dst), A(in[inOff + i])));
            }
          }
        });
    if constexpr (K == Opcode::ReduceMean) {
      if (reduced > 0)
        for (int64_t i = 0; i < outCount; ++i)
          out[i] = T(A(out[i]) / A(reduced));
    }
  });
  return SL_OK;
}

// --- ArgMax / ArgMin
// --------------------------------------------------------------

sl_status prepareArg(PrepareContext &ctx) {
  return prepareReduceCommon(ctx, kNumeric, true);
}

template <bool Max> sl_status evalArg(const OpInstance &op, ExecContext &ctx) {
  const TensorDesc &x = op.input(0);
  const auto &p = op.paramsAs<format::ReduceParams>();
  int axis = 0;
  while (!reduces(p.axesMask, axis))
    ++axis;
  int64_t outer = 1, n = x.dims[axis], inner = 1;
  for (int a = 0; a < int(x.rank); ++a) {
    if (a < axis)
      outer *= x.dims[a];
    else if (a > axis)
      inner *= x.dims[a];
  }
  int64_t *out = ctx.out<int64_t>(op, 0);
  dispatchDType(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    const T *in = ctx.in<T>(op, 0);
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t j = 0; j < inner; ++j) {
        const T *row = in + o * n * inner + j;
        int64_t best = 0;
        for (int64_t i = 1; i < n; ++i) {
          T v = row[i * inner], b = row[best * inner];
          bool better = Max ? (p.selectLastIndex ? v >= b : v > b)
                            : (p.selectLastIndex ? v <= b : v < b);
          if (better)
            best = i;
        }
        out[o * inner + j] = best;
      }
    }
  });
  return SL_OK;
}

} // namespace

void registerReductionOps(OpResolver &resolver) {
  const OpKernel kernels[] = {
      {Opcode::ReduceMean, prepareReduce<Opcode::ReduceMean>,
       evalReduce<Opcode::ReduceMean>, nullptr, false},
      {Opcode::ReduceSum, prepareReduce<Opcode::ReduceSum>,
       evalReduce<Opcode::ReduceSum>, nullptr, false},
      {Opcode::ReduceMax, prepareReduce<Opcode::ReduceMax>,
       evalReduce<Opcode::ReduceMax>, nullptr, false},
      {Opcode::ReduceMin, prepareReduce<Opcode::ReduceMin>,
       evalReduce<Opcode::ReduceMin>, nullptr, false},
      {Opcode::ReduceProd, prepareReduce<Opcode::ReduceProd>,
       evalReduce<Opcode::ReduceProd>, nullptr, false},
      {Opcode::ArgMax, prepareArg, evalArg<true>, nullptr, false},
      {Opcode::ArgMin, prepareArg, evalArg<false>, nullptr, false},
  };
  for (const OpKernel &k : kernels)
    resolver.add(k);
}

} // namespace runtime
} // namespace sparseloom
