//===- OpUtil.cpp - Helpers shared by the op kernels ----------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//

#include "Ops/OpUtil.h"

#include <cstdio>

namespace sparseloom {
namespace runtime {
namespace ops {

const char *shapeString(const TensorDesc &t, char *buffer, size_t size) {
  size_t used = std::snprintf(buffer, size, "[");
  for (unsigned i = 0; i < t.rank && used < size; ++i)
    used += std::snprintf(buffer + used, size - used, i ? ",%lld" : "%lld",
                          (long long)t.dims[i]);
  if (used < size)
    std::snprintf(buffer + used, size - used, "]");
  return buffer;
}

sl_status expectOperands(PrepareContext &ctx, unsigned minIn, unsigned maxIn,
                         unsigned minOut, unsigned maxOut) {
  const OpInstance &op = ctx.op;
  if (op.numInputs() < minIn || op.numInputs() > maxIn) {
    if (minIn == maxIn)
      return ctx.fail(SL_ERROR_INVALID_PROGRAM, "has %u inputs, expected %u",
                      op.numInputs(), minIn);
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "has %u inputs, expected %u to %u", op.numInputs(), minIn,
                    maxIn);
  }
  if (op.numOutputs() < minOut || op.numOutputs() > maxOut) {
    if (minOut == maxOut)
      return ctx.fail(SL_ERROR_INVALID_PROGRAM, "has %u outputs, expected %u",
                      op.numOutputs(), minOut);
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "has %u outputs, expected %u to %u", op.numOutputs(),
                    minOut, maxOut);
  }
  for (unsigned i = 0; i < minIn; ++i)
    if (!op.hasInput(i))
      return ctx.fail(SL_ERROR_INVALID_PROGRAM, "required input %u is absent",
                      i);
  return SL_OK;
}

sl_status expectDType(PrepareContext &ctx, const TensorDesc &t,
                      const char *what, DTypeMask allowed) {
  if (allowed & bit(t.dtype))
    return SL_OK;
  char list[128];
  size_t used = 0;
  list[0] = '\0';
  const DType all[] = {DType::F32, DType::I32, DType::I64,
                       DType::U8,  DType::I8,  DType::Bool};
  for (DType d : all)
    if (allowed & bit(d))
      used += std::snprintf(list + used, sizeof(list) - used, "%s%s",
                            used ? ", " : "", dtypeName(d));
  return ctx.fail(SL_ERROR_INVALID_PROGRAM, "%s is %s, expected %s", what,
                  dtypeName(t.dtype), list);
}

sl_status expectSameDType(PrepareContext &ctx, const TensorDesc &a,
                          const char *whatA, const TensorDesc &b,
                          const char *whatB) {
  if (a.dtype == b.dtype)
    return SL_OK;
  return ctx.fail(SL_ERROR_INVALID_PROGRAM, "%s is %s but %s is %s", whatA,
                  dtypeName(a.dtype), whatB, dtypeName(b.dtype));
}

sl_status expectShape(PrepareContext &ctx, const TensorDesc &t,
                      const char *what, unsigned rank, const int64_t *dims) {
  bool same = t.rank == rank;
  for (unsigned i = 0; same && i < rank; ++i)
    same = t.dims[i] == dims[i];
  if (same)
    return SL_OK;
  TensorDesc want = t;
  want.rank = uint8_t(rank);
  for (unsigned i = 0; i < rank && i < kMaxRank; ++i)
    want.dims[i] = dims[i];
  char got[160], expected[160];
  return ctx.fail(SL_ERROR_INVALID_PROGRAM, "%s has shape %s, expected %s",
                  what, shapeString(t, got, sizeof(got)),
                  shapeString(want, expected, sizeof(expected)));
}

sl_status expectSameShape(PrepareContext &ctx, const TensorDesc &a,
                          const char *whatA, const TensorDesc &b,
                          const char *whatB) {
  if (sameDims(a, b))
    return SL_OK;
  char sa[160], sb[160];
  return ctx.fail(
      SL_ERROR_INVALID_PROGRAM, "%s has shape %s but %s has shape %s", whatA,
      shapeString(a, sa, sizeof(sa)), whatB, shapeString(b, sb, sizeof(sb)));
}

sl_status expectSameCount(PrepareContext &ctx, const TensorDesc &a,
                          const char *whatA, const TensorDesc &b,
                          const char *whatB) {
  if (count(a) == count(b))
    return SL_OK;
  char sa[160], sb[160];
  return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                  "%s %s and %s %s differ in element count", whatA,
                  shapeString(a, sa, sizeof(sa)), whatB,
                  shapeString(b, sb, sizeof(sb)));
}

sl_status expectBroadcast(PrepareContext &ctx, const TensorDesc *const *ins,
                          unsigned n, const TensorDesc &out) {
  unsigned rank = 0;
  for (unsigned k = 0; k < n; ++k)
    rank = ins[k]->rank > rank ? ins[k]->rank : rank;
  bool ok = out.rank == rank;
  for (unsigned a = 0; ok && a < rank; ++a) {
    // The broadcast dim: any non-1 dim (all non-1 dims must agree), else 1.
    int64_t dim = 1;
    for (unsigned k = 0; ok && k < n; ++k) {
      int shift = int(rank) - int(ins[k]->rank);
      if (int(a) < shift)
        continue;
      int64_t d = ins[k]->dims[a - shift];
      if (d == 1)
        continue;
      if (dim != 1 && d != dim)
        ok = false;
      dim = d;
    }
    ok = ok && out.dims[a] == dim;
  }
  if (ok)
    return SL_OK;
  char buf[kMaxOperands][96], o[96];
  for (unsigned k = 0; k < n && k < kMaxOperands; ++k)
    shapeString(*ins[k], buf[k], sizeof(buf[k]));
  return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                  "output shape %s is not the broadcast of the inputs' "
                  "shapes %s %s %s",
                  shapeString(out, o, sizeof(o)), n > 0 ? buf[0] : "",
                  n > 1 ? buf[1] : "", n > 2 ? buf[2] : "");
}

bool broadcastsTo(const TensorDesc &in, const TensorDesc &out) {
  if (in.rank > out.rank)
    return false;
  int shift = int(out.rank) - int(in.rank);
  for (unsigned a = 0; a < in.rank; ++a)
    if (in.dims[a] != 1 && in.dims[a] != out.dims[a + shift])
      return false;
  return true;
}

sl_status expectDenseData(PrepareContext &ctx, const TensorDesc &t,
                          const char *what) {
  if (t.encoding == Encoding::Dense)
    return SL_OK;
  return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                  "%s must be stored Dense (encoding %u is only for "
                  "Conv/Gemm/MatMul weights)",
                  what, unsigned(t.encoding));
}

sl_status expectWindow(PrepareContext &ctx, const char *axis, int64_t k,
                       int64_t s, int64_t d, int64_t p0, int64_t p1) {
  if (k >= 1 && s >= 1 && d >= 1 && p0 >= 0 && p1 >= 0)
    return SL_OK;
  return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                  "%s: kernel %lld, stride %lld, dilation %lld must be >= "
                  "1 and pads %lld/%lld >= 0",
                  axis, (long long)k, (long long)s, (long long)d, (long long)p0,
                  (long long)p1);
}

void contiguousStrides(const TensorDesc &t, int64_t *strides) {
  int64_t s = 1;
  for (int a = int(t.rank) - 1; a >= 0; --a) {
    strides[a] = s;
    s *= t.dims[a];
  }
}

void makeStrided(unsigned rank, const int64_t *dims,
                 const int64_t (*strides)[kMaxRank], unsigned n, Broadcast &b) {
  b = Broadcast();
  b.operands = n;
  b.total = 1;
  for (unsigned a = 0; a < rank; ++a)
    b.total *= dims[a];
  if (b.total == 0)
    return;
  // Drop size-1 axes, then merge an axis into its left neighbour when every
  // operand steps over the right one exactly (or not at all).
  for (unsigned a = 0; a < rank; ++a) {
    if (dims[a] == 1)
      continue;
    if (b.rank > 0) {
      unsigned p = b.rank - 1;
      bool merge = true;
      for (unsigned k = 0; merge && k < n; ++k)
        merge = b.strides[k][p] == strides[k][a] * dims[a];
      if (merge) {
        b.dims[p] *= dims[a];
        for (unsigned k = 0; k < n; ++k)
          b.strides[k][p] = strides[k][a];
        continue;
      }
    }
    b.dims[b.rank] = dims[a];
    for (unsigned k = 0; k < n; ++k)
      b.strides[k][b.rank] = strides[k][a];
    ++b.rank;
  }
}

void makeBroadcast(const TensorDesc &out, const TensorDesc *const *ins,
                   unsigned n, Broadcast &b) {
  int64_t strides[kMaxOperands][kMaxRank] = {};
  for (unsigned k = 0; k < n; ++k) {
    const TensorDesc &in = *ins[k];
    int64_t own[kMaxRank];
    contiguousStrides(in, own);
    int shift = int(out.rank) - int(in.rank);
    for (unsigned a = 0; a < out.rank; ++a) {
      int ia = int(a) - shift;
      strides[k][a] = (ia < 0 || in.dims[ia] == 1) ? 0 : own[ia];
    }
  }
  makeStrided(out.rank, out.dims, strides, n, b);
}

} // namespace ops
} // namespace runtime
} // namespace sparseloom
