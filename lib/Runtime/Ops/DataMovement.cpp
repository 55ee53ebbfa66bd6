//===- DataMovement.cpp - Transpose, Concat, Split, Slice, Gather, ... ----===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Ops that move elements without computing on them, for every dtype (the
// kernels copy 1-, 4- or 8-byte units). Most reduce to one strided copy: a
// walk over a box of indices with a destination and a source stride per
// axis, which the broadcasting iterator already does (merging axes, so a
// contiguous box becomes one memcpy).
//
// Gather is the one data-dependent op here: indices may be negative (counted
// from the end) and an index outside [-n, n) is a run-time error that names
// the value, never a read outside the tensor.
//
// PadParams::pads holds the begins at [0, kMaxRank) and the ends at
// [kMaxRank, 2 * kMaxRank), one per axis, like SliceParams's arrays.
//
//===----------------------------------------------------------------------===//

#include "Ops/OpUtil.h"

namespace sparseloom {
namespace runtime {

using namespace ops;

namespace {

/// Copies the box `dims` from src to dst with per-axis element strides.
template <typename T>
void stridedCopy(unsigned rank, const int64_t *dims, T *dst,
                 const int64_t *dstStrides, const T *src,
                 const int64_t *srcStrides) {
  int64_t strides[kMaxOperands][kMaxRank] = {};
  for (unsigned a = 0; a < rank; ++a) {
    strides[0][a] = dstStrides[a];
    strides[1][a] = srcStrides[a];
  }
  Broadcast b;
  makeStrided(rank, dims, strides, 2, b);
  forEachRow(b, [&](int64_t, const int64_t *off, int64_t n, const int64_t *s) {
    T *d = dst + off[0];
    const T *p = src + off[1];
    if (s[0] == 1 && s[1] == 1) {
      std::memcpy(d, p, size_t(n) * sizeof(T));
    } else {
      for (int64_t i = 0; i < n; ++i)
        d[i * s[0]] = p[i * s[1]];
    }
  });
}

/// Calls f(T{}) with the unsigned type of `t`'s element size.
template <typename F> void byElement(const TensorDesc &t, F &&f) {
  dispatchBySize(dtypeSize(t.dtype), f);
}

sl_status expectUnaryMove(PrepareContext &ctx) {
  const OpInstance &op = ctx.op;
  if (sl_status s = expectOperands(ctx, 1, 1))
    return s;
  if (sl_status s = expectDenseData(ctx, op.input(0), "the input"))
    return s;
  return expectSameDType(ctx, op.input(0), "the input", op.output(0),
                         "the output");
}

// --- Transpose
// -----------------------------------------------------------------------

sl_status prepareTranspose(PrepareContext &ctx) {
  if (sl_status s = expectUnaryMove(ctx))
    return s;
  const OpInstance &op = ctx.op;
  const TensorDesc &x = op.input(0);
  const auto &p = op.paramsAs<format::TransposeParams>();
  bool seen[kMaxRank] = {};
  int64_t dims[kMaxRank];
  for (unsigned a = 0; a < x.rank; ++a) {
    int32_t from = p.perm[a];
    if (from < 0 || from >= int32_t(x.rank) || seen[from])
      return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                      "perm is not a permutation of 0..%u (entry %u is %d)",
                      unsigned(x.rank) - 1, a, from);
    seen[from] = true;
    dims[a] = x.dims[from];
  }
  return expectShape(ctx, op.output(0), "the output", x.rank, dims);
}

sl_status evalTranspose(const OpInstance &op, ExecContext &ctx) {
  const TensorDesc &x = op.input(0);
  const TensorDesc &y = op.output(0);
  const auto &p = op.paramsAs<format::TransposeParams>();
  int64_t inStrides[kMaxRank], outStrides[kMaxRank], src[kMaxRank];
  contiguousStrides(x, inStrides);
  contiguousStrides(y, outStrides);
  for (unsigned a = 0; a < y.rank; ++a)
    src[a] = inStrides[p.perm[a]];
  byElement(x, [&](auto tag) {
    using T = decltype(tag);
    stridedCopy<T>(y.rank, y.dims, ctx.out<T>(op, 0), outStrides,
                   ctx.in<T>(op, 0), src);
  });
  return SL_OK;
}

// --- Concat / Split
// ---------------------------------------------------------------------

/// Checks that `parts` (concatenated along `axis`) make `whole`.
sl_status checkParts(PrepareContext &ctx, const TensorDesc &whole,
                     const uint32_t *parts, unsigned numParts, int axis,
                     const char *partName) {
  const OpInstance &op = ctx.op;
  if (axis < 0 || axis >= int(whole.rank))
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "axis %d is out of range for rank %u", axis,
                    unsigned(whole.rank));
  int64_t sum = 0;
  for (unsigned i = 0; i < numParts; ++i) {
    if (parts[i] == format::kNoTensor)
      return ctx.fail(SL_ERROR_INVALID_PROGRAM, "%s %u is absent", partName, i);
    const TensorDesc &t = op.tensors[parts[i]];
    if (sl_status s = expectSameDType(ctx, t, partName, whole, "the whole"))
      return s;
    if (sl_status s = expectDenseData(ctx, t, partName))
      return s;
    bool ok = t.rank == whole.rank;
    for (unsigned a = 0; ok && a < t.rank; ++a)
      ok = int(a) == axis || t.dims[a] == whole.dims[a];
    if (!ok) {
      char a[128], b[128];
      return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                      "%s %u shape %s does not match %s outside axis %d",
                      partName, i, shapeString(t, a, sizeof(a)),
                      shapeString(whole, b, sizeof(b)), axis);
    }
    sum += t.dims[axis];
  }
  if (sum != whole.dims[axis])
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "%ss add up to %lld along axis %d, expected %lld", partName,
                    (long long)sum, axis, (long long)whole.dims[axis]);
  return SL_OK;
}

sl_status prepareConcat(PrepareContext &ctx) {
  const OpInstance &op = ctx.op;
  if (sl_status s = expectOperands(ctx, 1, 0xFFFF))
    return s;
  return checkParts(ctx, op.output(0), op.inputs, op.numInputs(),
                    op.paramsAs<format::AxisParams>().axis, "input");
}

/// Bytes of one slab (all axes from `axis` on) of `t`, and the slab count.
void slabs(const TensorDesc &t, int axis, int64_t &outer, int64_t &bytes) {
  outer = 1;
  int64_t inner = 1;
  for (int a = 0; a < int(t.rank); ++a)
    (a < axis ? outer : inner) *= t.dims[a];
  bytes = inner * int64_t(dtypeSize(t.dtype));
}

sl_status evalConcat(const OpInstance &op, ExecContext &ctx) {
  const int axis = op.paramsAs<format::AxisParams>().axis;
  int64_t outer, outSlab;
  slabs(op.output(0), axis, outer, outSlab);
  uint8_t *out = ctx.out<uint8_t>(op, 0);
  int64_t at = 0;
  for (unsigned i = 0; i < op.numInputs(); ++i) {
    int64_t unused, slab;
    slabs(op.input(i), axis, unused, slab);
    const uint8_t *in = ctx.in<uint8_t>(op, i);
    if (slab)
      for (int64_t o = 0; o < outer; ++o)
        std::memcpy(out + o * outSlab + at, in + o * slab, size_t(slab));
    at += slab;
  }
  return SL_OK;
}

sl_status prepareSplit(PrepareContext &ctx) {
  const OpInstance &op = ctx.op;
  if (sl_status s = expectOperands(ctx, 1, 1, 1, 0xFFFF))
    return s;
  if (sl_status s = expectDenseData(ctx, op.input(0), "the input"))
    return s;
  return checkParts(ctx, op.input(0), op.outputs, op.numOutputs(),
                    op.paramsAs<format::AxisParams>().axis, "output");
}

sl_status evalSplit(const OpInstance &op, ExecContext &ctx) {
  const int axis = op.paramsAs<format::AxisParams>().axis;
  int64_t outer, inSlab;
  slabs(op.input(0), axis, outer, inSlab);
  const uint8_t *in = ctx.in<uint8_t>(op, 0);
  int64_t at = 0;
  for (unsigned i = 0; i < op.numOutputs(); ++i) {
    int64_t unused, slab;
    slabs(op.output(i), axis, unused, slab);
    uint8_t *out = ctx.out<uint8_t>(op, i);
    if (slab)
      for (int64_t o = 0; o < outer; ++o)
        std::memcpy(out + o * slab, in + o * inSlab + at, size_t(slab));
    at += slab;
  }
  return SL_OK;
}

// --- Slice
// ------------------------------------------------------------------------------

sl_status prepareSlice(PrepareContext &ctx) {
  if (sl_status s = expectUnaryMove(ctx))
    return s;
  const OpInstance &op = ctx.op;
  const TensorDesc &x = op.input(0);
  const TensorDesc &y = op.output(0);
  if (y.rank != x.rank)
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "the output rank %u differs from the input's %u",
                    unsigned(y.rank), unsigned(x.rank));
  const auto &p = op.paramsAs<format::SliceParams>();
  if (count(y) == 0)
    return SL_OK;
  for (unsigned a = 0; a < x.rank; ++a) {
    int64_t start = p.starts[a], step = p.steps[a], n = y.dims[a];
    // Every index start + i * step, i < n, must lie in [0, dim).
    int64_t last = start + (n - 1) * step;
    if (step == 0 || start < 0 || start >= x.dims[a] || last < 0 ||
        last >= x.dims[a])
      return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                      "axis %u: start %lld, step %lld and %lld elements "
                      "leave the input's [0, %lld)",
                      a, (long long)start, (long long)step, (long long)n,
                      (long long)x.dims[a]);
  }
  return SL_OK;
}

sl_status evalSlice(const OpInstance &op, ExecContext &ctx) {
  const TensorDesc &x = op.input(0);
  const TensorDesc &y = op.output(0);
  if (count(y) == 0)
    return SL_OK;
  const auto &p = op.paramsAs<format::SliceParams>();
  int64_t inStrides[kMaxRank], outStrides[kMaxRank], src[kMaxRank];
  contiguousStrides(x, inStrides);
  contiguousStrides(y, outStrides);
  int64_t base = 0;
  for (unsigned a = 0; a < x.rank; ++a) {
    base += p.starts[a] * inStrides[a];
    src[a] = p.steps[a] * inStrides[a];
  }
  byElement(x, [&](auto tag) {
    using T = decltype(tag);
    stridedCopy<T>(y.rank, y.dims, ctx.out<T>(op, 0), outStrides,
                   ctx.in<T>(op, 0) + base, src);
  });
  return SL_OK;
}

// --- Gather
// -------------------------------------------------------------------------------

sl_status prepareGather(PrepareContext &ctx) {
  const OpInstance &op = ctx.op;
  if (sl_status s = expectOperands(ctx, 2, 2))
    return s;
  const TensorDesc &data = op.input(0);
  const TensorDesc &indices = op.input(1);
  if (sl_status s = expectDenseData(ctx, data, "the data"))
    return s;
  if (sl_status s = expectDenseData(ctx, indices, "the indices"))
    return s;
  if (sl_status s = expectDType(ctx, indices, "the indices", kInts))
    return s;
  if (sl_status s =
          expectSameDType(ctx, data, "the data", op.output(0), "the output"))
    return s;
  int axis = op.paramsAs<format::AxisParams>().axis;
  if (axis < 0 || axis >= int(data.rank))
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "axis %d is out of range for rank %u", axis,
                    unsigned(data.rank));
  unsigned rank = data.rank - 1 + indices.rank;
  if (rank > kMaxRank)
    return ctx.fail(SL_ERROR_INVALID_PROGRAM, "the output rank %u exceeds %u",
                    rank, kMaxRank);
  int64_t dims[kMaxRank];
  unsigned r = 0;
  for (int a = 0; a < axis; ++a)
    dims[r++] = data.dims[a];
  for (unsigned a = 0; a < indices.rank; ++a)
    dims[r++] = indices.dims[a];
  for (unsigned a = axis + 1; a < data.rank; ++a)
    dims[r++] = data.dims[a];
  return expectShape(ctx, op.output(0), "the output", rank, dims);
}

sl_status evalGather(const OpInstance &op, ExecContext &ctx) {
  const TensorDesc &data = op.input(0);
  const int axis = op.paramsAs<format::AxisParams>().axis;
  int64_t outer = 1, inner = 1, n = data.dims[axis];
  for (int a = 0; a < int(data.rank); ++a) {
    if (a < axis)
      outer *= data.dims[a];
    else if (a > axis)
      inner *= data.dims[a];
  }
  const size_t elem = dtypeSize(data.dtype);
  const size_t rowBytes = size_t(inner) * elem;
  const int64_t numIdx = count(op.input(1));
  const bool i64 = op.input(1).dtype == DType::I64;
  const void *idxData = ctx.data(op, op.inputs[1]);
  const uint8_t *in = ctx.in<uint8_t>(op, 0);
  uint8_t *out = ctx.out<uint8_t>(op, 0);
  for (int64_t j = 0; j < numIdx; ++j) {
    int64_t idx = i64 ? static_cast<const int64_t *>(idxData)[j]
                      : static_cast<const int32_t *>(idxData)[j];
    if (idx < -n || idx >= n)
      return ctx.fail(op, SL_ERROR_RUNTIME,
                      "index %lld (element %lld of the indices) is out of "
                      "range [%lld, %lld)",
                      (long long)idx, (long long)j, (long long)-n,
                      (long long)n);
    if (idx < 0)
      idx += n;
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(out + (o * numIdx + j) * rowBytes,
                  in + (o * n + idx) * rowBytes, rowBytes);
  }
  return SL_OK;
}

// --- Expand
// ---------------------------------------------------------------------------------

sl_status prepareExpand(PrepareContext &ctx) {
  if (sl_status s = expectUnaryMove(ctx))
    return s;
  const OpInstance &op = ctx.op;
  if (!broadcastsTo(op.input(0), op.output(0))) {
    char a[128], b[128];
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "the input shape %s does not broadcast to the output "
                    "shape %s",
                    shapeString(op.input(0), a, sizeof(a)),
                    shapeString(op.output(0), b, sizeof(b)));
  }
  return SL_OK;
}

sl_status evalExpand(const OpInstance &op, ExecContext &ctx) {
  const TensorDesc *ins[1] = {&op.input(0)};
  Broadcast b;
  makeBroadcast(op.output(0), ins, 1, b);
  byElement(op.input(0), [&](auto tag) {
    using T = decltype(tag);
    const T *x = ctx.in<T>(op, 0);
    T *y = ctx.out<T>(op, 0);
    forEachRow(b,
               [&](int64_t o, const int64_t *in, int64_t n, const int64_t *s) {
                 if (s[0] == 1) {
                   std::memcpy(y + o, x + in[0], size_t(n) * sizeof(T));
                 } else {
                   const T v = x[in[0]];
                   for (int64_t i = 0; i < n; ++i)
                     y[o + i] = s[0] ? x[in[0] + i * s[0]] : v;
                 }
               });
  });
  return SL_OK;
}

// --- Pad (constant)
// -----------------------------------------------------------------------------

sl_status preparePad(PrepareContext &ctx) {
  if (sl_status s = expectUnaryMove(ctx))
    return s;
  const OpInstance &op = ctx.op;
  const TensorDesc &x = op.input(0);
  const auto &p = op.paramsAs<format::PadParams>();
  int64_t dims[kMaxRank];
  for (unsigned a = 0; a < x.rank; ++a) {
    dims[a] = x.dims[a] + p.pads[a] + p.pads[kMaxRank + a];
    if (dims[a] < 0)
      return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                      "axis %u: pads %lld/%lld leave a negative size", a,
                      (long long)p.pads[a], (long long)p.pads[kMaxRank + a]);
  }
  return expectShape(ctx, op.output(0), "the output", x.rank, dims);
}

sl_status evalPad(const OpInstance &op, ExecContext &ctx) {
  const TensorDesc &x = op.input(0);
  const TensorDesc &y = op.output(0);
  const auto &p = op.paramsAs<format::PadParams>();
  int64_t inStrides[kMaxRank], outStrides[kMaxRank], box[kMaxRank];
  contiguousStrides(x, inStrides);
  contiguousStrides(y, outStrides);
  // The copied box: output [max(0, b), min(out, b + in)) per axis.
  int64_t inBase = 0, outBase = 0;
  bool empty = false;
  for (unsigned a = 0; a < x.rank; ++a) {
    int64_t b = p.pads[a];
    int64_t lo = b > 0 ? b : 0;
    int64_t hi = b + x.dims[a] < y.dims[a] ? b + x.dims[a] : y.dims[a];
    box[a] = hi > lo ? hi - lo : 0;
    empty = empty || box[a] == 0;
    outBase += lo * outStrides[a];
    inBase += (lo - b) * inStrides[a];
  }
  const int64_t n = count(y);
  dispatchDType(y.dtype, [&](auto tag) {
    using T = decltype(tag);
    T *out = ctx.out<T>(op, 0);
    const T fill = y.dtype == DType::Bool ? T(p.value != 0.f)
                                          : saturateCast<T>(double(p.value));
    for (int64_t i = 0; i < n; ++i)
      out[i] = fill;
    if (!empty)
      stridedCopy<T>(x.rank, box, out + outBase, outStrides,
                     ctx.in<T>(op, 0) + inBase, inStrides);
  });
  return SL_OK;
}

// --- Tile
// ---------------------------------------------------------------------------------------

sl_status prepareTile(PrepareContext &ctx) {
  if (sl_status s = expectUnaryMove(ctx))
    return s;
  const OpInstance &op = ctx.op;
  const TensorDesc &x = op.input(0);
  const TensorDesc &y = op.output(0);
  bool ok = x.rank == y.rank;
  for (unsigned a = 0; ok && a < x.rank; ++a)
    ok = x.dims[a] == 0 ? y.dims[a] == 0 : y.dims[a] % x.dims[a] == 0;
  if (!ok) {
    char a[128], b[128];
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "the output shape %s is not a whole repetition of the "
                    "input shape %s",
                    shapeString(y, b, sizeof(b)), shapeString(x, a, sizeof(a)));
  }
  return SL_OK;
}

sl_status evalTile(const OpInstance &op, ExecContext &ctx) {
  const TensorDesc &x = op.input(0);
  const TensorDesc &y = op.output(0);
  const int64_t total = count(y);
  if (total == 0)
    return SL_OK;
  int64_t inStrides[kMaxRank];
  contiguousStrides(x, inStrides);
  byElement(x, [&](auto tag) {
    using T = decltype(tag);
    const T *in = ctx.in<T>(op, 0);
    T *out = ctx.out<T>(op, 0);
    if (x.rank == 0) {
      out[0] = in[0];
      return;
    }
    const unsigned r = x.rank;
    const int64_t rowLen = y.dims[r - 1], inRow = x.dims[r - 1];
    int64_t idx[kMaxRank] = {};
    for (int64_t o = 0; o < total; o += rowLen) {
      int64_t src = 0;
      for (unsigned a = 0; a + 1 < r; ++a)
        src += (idx[a] % x.dims[a]) * inStrides[a];
      for (int64_t j = 0; j < rowLen; ++j)
        out[o + j] = in[src + j % inRow];
      for (int a = int(r) - 2; a >= 0; --a) {
        if (++idx[a] < y.dims[a])
          break;
        idx[a] = 0;
      }
    }
  });
  return SL_OK;
}

} // namespace

void registerDataMovementOps(OpResolver &resolver) {
  const OpKernel kernels[] = {
      {Opcode::Transpose, prepareTranspose, evalTranspose, nullptr, false},
      {Opcode::Concat, prepareConcat, evalConcat, nullptr, false},
      {Opcode::Split, prepareSplit, evalSplit, nullptr, false},
      {Opcode::Slice, prepareSlice, evalSlice, nullptr, false},
      {Opcode::Gather, prepareGather, evalGather, nullptr, false},
      {Opcode::Expand, prepareExpand, evalExpand, nullptr, false},
      {Opcode::Pad, preparePad, evalPad, nullptr, false},
      {Opcode::Tile, prepareTile, evalTile, nullptr, false},
  };
  for (const OpKernel &k : kernels)
    resolver.add(k);
}

} // namespace runtime
} // namespace sparseloom
