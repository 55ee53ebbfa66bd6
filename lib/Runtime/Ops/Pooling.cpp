//===- Pooling.cpp - MaxPool, AveragePool, global pools -------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// 2-D pooling in NCHW with strides, explicit pads and dilations (1-D pooling
// arrives as rank-3 NCW tensors: PoolParams index 0 (H) is then the trivial
// 1/1/0/1 and index 1 holds the 1-D window). The compiler resolves auto_pad
// into pads and ceil_mode into the output shape; Prepare checks that shape
// lies between the floor and ceil formulas and that no window starts in the
// trailing padding.
//
// AveragePool's divisor: with count_include_pad, the window positions
// inside the padded input [-pad_begin, size + pad_end); without, the
// positions inside the input. Positions past the trailing pad (ceil_mode's
// partial last window) never count, as in ONNX's reference.
//
//===----------------------------------------------------------------------===//

#include "Ops/OpUtil.h"

#include "Kernels/FastOps.h"

#include <algorithm>
#include <limits>

namespace sparseloom {
namespace runtime {

using namespace ops;

namespace {

struct PoolGeom {
  int64_t n, c, h, w, oh, ow;
  int64_t kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
};

PoolGeom geometry(const OpView &op) {
  const TensorDesc &x = op.input(0);
  const TensorDesc &y = op.output(0);
  const auto &p = op.paramsAs<format::PoolParams>();
  PoolGeom g;
  bool oneD = x.rank == 3;
  g.n = x.dims[0];
  g.c = x.dims[1];
  g.h = oneD ? 1 : x.dims[2];
  g.w = x.dims[oneD ? 2 : 3];
  g.oh = oneD ? 1 : y.dims[2];
  g.ow = y.dims[oneD ? 2 : 3];
  setWindow(g, p);
  return g;
}

/// Checks one spatial axis: window, stride, dilation, pads and the output
/// size against the floor/ceil formulas.
sl_status checkAxis(PrepareContext &ctx, const char *axis, int64_t in,
                    int64_t out, int64_t k, int64_t s, int64_t d, int64_t p0,
                    int64_t p1) {
  if (sl_status st = expectWindow(ctx, axis, k, s, d, p0, p1))
    return st;
  int64_t span = (k - 1) * d + 1;
  int64_t padded = in + p0 + p1;
  if (padded < span)
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "%s: window %lld is larger than the padded input %lld",
                    axis, (long long)span, (long long)padded);
  int64_t lo = (padded - span) / s + 1;
  int64_t hi = (padded - span + s - 1) / s + 1;
  if (out < lo || out > hi || (out - 1) * s >= in + p0)
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "%s: output size %lld does not fit input %lld, window "
                    "%lld, stride %lld, pads %lld/%lld (expected %lld%s%lld)",
                    axis, (long long)out, (long long)in, (long long)span,
                    (long long)s, (long long)p0, (long long)p1, (long long)lo,
                    lo == hi ? " = " : " to ", (long long)hi);
  return SL_OK;
}

sl_status preparePool(PrepareContext &ctx, DTypeMask allowed) {
  const OpInstance &op = ctx.op;
  if (sl_status s = expectOperands(ctx, 1, 1))
    return s;
  const TensorDesc &x = op.input(0);
  const TensorDesc &y = op.output(0);
  if (sl_status s = expectDType(ctx, x, "the input", allowed))
    return s;
  if (sl_status s = expectSameDType(ctx, x, "the input", y, "the output"))
    return s;
  if (sl_status s = expectDenseData(ctx, x, "the input"))
    return s;
  if (x.rank != 3 && x.rank != 4)
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "the input must be NCW or NCHW (rank 3 or 4), has rank %u",
                    unsigned(x.rank));
  if (y.rank != x.rank || y.dims[0] != x.dims[0] || y.dims[1] != x.dims[1])
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "the output must keep the input's rank, batch and "
                    "channels");
  const auto &p = op.paramsAs<format::PoolParams>();
  if (x.rank == 3 && (p.kernel[0] != 1 || p.strides[0] != 1 || p.pads[0] != 0 ||
                      p.pads[2] != 0 || p.dilations[0] != 1))
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "1-D pooling needs the trivial H parameters (kernel 1, "
                    "stride 1, pads 0, dilation 1) at index 0");
  PoolGeom g = geometry(op);
  if (sl_status s =
          checkAxis(ctx, "H", g.h, g.oh, g.kh, g.sh, g.dh, g.pt, g.pb))
    return s;
  return checkAxis(ctx, "W", g.w, g.ow, g.kw, g.sw, g.dw, g.pl, g.pr);
}

sl_status prepareMaxPool(PrepareContext &ctx) {
  return preparePool(ctx, kFloat | kSmallInts);
}

sl_status prepareAvgPool(PrepareContext &ctx) {
  return preparePool(ctx, kFloat);
}

/// MaxPool of one plane, NaN-aware: a NaN in a window wins, as numpy's
/// max. Branchy, so only for planes that hold a NaN.
template <typename T>
void maxPoolPlaneExact(const PoolGeom &g, const T *xp, T *yp) {
  for (int64_t oh = 0; oh < g.oh; ++oh) {
    for (int64_t ow = 0; ow < g.ow; ++ow) {
      T best = std::numeric_limits<T>::has_infinity
                   ? -std::numeric_limits<T>::infinity()
                   : std::numeric_limits<T>::lowest();
      for (int64_t i = 0; i < g.kh; ++i) {
        int64_t h = oh * g.sh - g.pt + i * g.dh;
        if (h < 0 || h >= g.h)
          continue;
        for (int64_t j = 0; j < g.kw; ++j) {
          int64_t w = ow * g.sw - g.pl + j * g.dw;
          if (w < 0 || w >= g.w)
            continue;
          T v = xp[h * g.w + w];
          if (v > best || v != v)
            best = v;
        }
      }
      yp[oh * g.ow + ow] = best;
    }
  }
}

/// MaxPool of one NaN-free plane: per kernel tap, the valid outputs of a
/// row are one range, folded in with std::max (no branches, no bounds
/// checks in the inner loop).
template <typename T>
void maxPoolPlaneFast(const PoolGeom &g, const T *xp, T *yp) {
  const T lowest = std::numeric_limits<T>::has_infinity
                       ? -std::numeric_limits<T>::infinity()
                       : std::numeric_limits<T>::lowest();
  std::fill(yp, yp + g.oh * g.ow, lowest);
  for (int64_t j = 0; j < g.kw; ++j) {
    int64_t lo, hi;
    validOutputRange(g.ow, g.w, g.sw, g.pl, j * g.dw, lo, hi);
    const int64_t shift = j * g.dw - g.pl;
    for (int64_t oh = 0; oh < g.oh; ++oh) {
      T *yr = yp + oh * g.ow;
      for (int64_t i = 0; i < g.kh; ++i) {
        const int64_t h = oh * g.sh - g.pt + i * g.dh;
        if (h < 0 || h >= g.h)
          continue;
        const T *xr = xp + h * g.w + shift;
        for (int64_t ow = lo; ow < hi; ++ow)
          yr[ow] = std::max(yr[ow], xr[ow * g.sw]);
      }
    }
  }
}

/// The AVX-512 plane kernel takes float planes without dilation, at W
/// stride 1 or 2 (ResNet's 3x3/2 stem pool), whose padded row fits its
/// buffer.
bool fastMaxPool(const PoolGeom &g) {
  const int64_t span = (g.ow - 1) * g.sw + g.kw;
  return g.dh == 1 && g.dw == 1 && (g.sw == 1 || g.sw == 2) &&
         span <= kMaxPoolFastWidth && g.pl + g.w <= kMaxPoolFastWidth &&
         cpuHasAvx512Ops();
}

sl_status evalMaxPool(const OpInstance &op, ExecContext &ctx) {
  const PoolGeom g = geometry(op);
  const bool fast = op.input(0).dtype == DType::F32 && fastMaxPool(g);
  dispatchDType(op.input(0).dtype, [&](auto tag) {
    using T = decltype(tag);
    const T *x = ctx.in<T>(op, 0);
    T *y = ctx.out<T>(op, 0);
    auto planes = [&](int64_t begin, int64_t end) {
      for (int64_t plane = begin; plane < end; ++plane) {
        const T *xp = x + plane * g.h * g.w;
        T *yp = y + plane * g.oh * g.ow;
        // The AVX-512 kernel checks the rows it reads for NaN itself; the
        // portable path scans the plane first.
        if constexpr (std::is_same<T, float>::value) {
          if (fast && maxPoolPlaneAvx512(xp, g.h, g.w, yp, g.oh, g.ow, g.kh,
                                         g.kw, g.sh, g.sw, g.pt, g.pl))
            continue;
        }
        bool nan = false;
        if constexpr (std::is_floating_point<T>::value)
          for (int64_t i = 0; i < g.h * g.w; ++i)
            nan |= xp[i] != xp[i];
        if (nan) {
          maxPoolPlaneExact(g, xp, yp);
          continue;
        }
        maxPoolPlaneFast(g, xp, yp);
      }
    };
    parallelRange(ctx.pool, g.n * g.c, g.n * g.c * g.oh * g.ow * g.kh * g.kw,
                  planes);
  });
  return SL_OK;
}

sl_status evalAvgPool(const OpInstance &op, ExecContext &ctx) {
  const PoolGeom g = geometry(op);
  const bool includePad = op.paramsAs<format::PoolParams>().countIncludePad;
  const float *x = ctx.in<float>(op, 0);
  float *y = ctx.out<float>(op, 0);
  for (int64_t plane = 0; plane < g.n * g.c; ++plane) {
    const float *xp = x + plane * g.h * g.w;
    float *yp = y + plane * g.oh * g.ow;
    for (int64_t oh = 0; oh < g.oh; ++oh) {
      for (int64_t ow = 0; ow < g.ow; ++ow) {
        float sum = 0.f;
        int64_t valid = 0, padded = 0;
        for (int64_t i = 0; i < g.kh; ++i) {
          int64_t h = oh * g.sh - g.pt + i * g.dh;
          bool hIn = h >= 0 && h < g.h;
          bool hPad = h >= -g.pt && h < g.h + g.pb;
          for (int64_t j = 0; j < g.kw; ++j) {
            int64_t w = ow * g.sw - g.pl + j * g.dw;
            bool wIn = w >= 0 && w < g.w;
            if (hPad && w >= -g.pl && w < g.w + g.pr)
              ++padded;
            if (hIn && wIn) {
              sum += xp[h * g.w + w];
              ++valid;
            }
          }
        }
        int64_t divisor = includePad ? padded : valid;
        yp[oh * g.ow + ow] = divisor ? sum / float(divisor) : 0.f;
      }
    }
  }
  return SL_OK;
}

// --- Global pools
// -------------------------------------------------------------------

sl_status prepareGlobalPool(PrepareContext &ctx) {
  const OpInstance &op = ctx.op;
  if (sl_status s = expectOperands(ctx, 1, 1))
    return s;
  const TensorDesc &x = op.input(0);
  if (sl_status s = expectDType(ctx, x, "the input", kFloat))
    return s;
  if (sl_status s =
          expectSameDType(ctx, x, "the input", op.output(0), "the output"))
    return s;
  if (sl_status s = expectDenseData(ctx, x, "the input"))
    return s;
  if (x.rank < 3)
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "the input needs rank >= 3 (N, C, spatial...), has %u",
                    unsigned(x.rank));
  int64_t dims[kMaxRank];
  for (unsigned a = 0; a < x.rank; ++a)
    dims[a] = a < 2 ? x.dims[a] : 1;
  return expectShape(ctx, op.output(0), "the output", x.rank, dims);
}

template <bool Max>
sl_status evalGlobalPool(const OpInstance &op, ExecContext &ctx) {
  const TensorDesc &x = op.input(0);
  const int64_t planes = x.dims[0] * x.dims[1];
  const int64_t spatial = planes ? count(x) / planes : 0;
  const float *in = ctx.in<float>(op, 0);
  float *out = ctx.out<float>(op, 0);
  for (int64_t p = 0; p < planes; ++p) {
    const float *row = in + p * spatial;
    if (Max) {
      float best = -std::numeric_limits<float>::infinity();
      for (int64_t i = 0; i < spatial; ++i)
        if (row[i] > best || row[i] != row[i])
          best = row[i];
      out[p] = best;
    } else {
      double sum = 0;
      for (int64_t i = 0; i < spatial; ++i)
        sum += row[i];
      out[p] = spatial ? float(sum / double(spatial)) : 0.f;
    }
  }
  return SL_OK;
}

} // namespace

void registerPoolingOps(OpResolver &resolver) {
  const OpKernel kernels[] = {
      {Opcode::MaxPool, prepareMaxPool, evalMaxPool, nullptr, false},
      {Opcode::AveragePool, prepareAvgPool, evalAvgPool, nullptr, false},
      {Opcode::GlobalAveragePool, prepareGlobalPool, evalGlobalPool<false>,
       nullptr, false},
      {Opcode::GlobalMaxPool, prepareGlobalPool, evalGlobalPool<true>, nullptr,
       false},
  };
  for (const OpKernel &k : kernels)
    resolver.add(k);
}

} // namespace runtime
} // namespace sparseloom
