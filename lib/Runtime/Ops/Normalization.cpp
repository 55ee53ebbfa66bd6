//===- Normalization.cpp - Softmax, LayerNorm, BatchNorm ------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Softmax and LogSoftmax normalise along one axis (ONNX opset 13 semantics;
// the compiler rewrites older opsets' "flatten to 2-D at axis" form into a
// Reshape around a last-axis Softmax). LayerNormalization normalises over
// every axis from `axis` on, with optional Mean and InvStdDev outputs.
// BatchNormalization is the inference form (running statistics).
//
// Statistics accumulate in double: a 768-wide LayerNorm row then matches
// ONNX's reference to float precision whatever the values' magnitude.
//
//===----------------------------------------------------------------------===//

#include "Ops/OpUtil.h"
#include "Ops/VectorMath.h"

#include "Kernels/FastOps.h"

#include <cmath>

namespace sparseloom {
namespace runtime {

using namespace ops;

namespace {

/// outer x n x inner view of a tensor around `axis` (n = dims[axis]), or
/// around all axes from `axis` on when `toEnd` (inner = 1).
void splitAt(const TensorDesc &t, int axis, bool toEnd, int64_t &outer,
             int64_t &n, int64_t &inner) {
  outer = 1;
  n = 1;
  inner = 1;
  for (int a = 0; a < int(t.rank); ++a) {
    if (a < axis)
      outer *= t.dims[a];
    else if (a == axis || toEnd)
      n *= t.dims[a];
    else
      inner *= t.dims[a];
  }
}

// --- Softmax / LogSoftmax
// ------------------------------------------------------

sl_status prepareSoftmax(PrepareContext &ctx) {
  const OpInstance &op = ctx.op;
  if (sl_status s = expectOperands(ctx, 1, 1))
    return s;
  if (sl_status s = expectDType(ctx, op.input(0), "the input", kFloat))
    return s;
  if (sl_status s = expectSameDType(ctx, op.input(0), "the input", op.output(0),
                                    "the output"))
    return s;
  if (sl_status s = expectDenseData(ctx, op.input(0), "the input"))
    return s;
  if (sl_status s = expectSameShape(ctx, op.input(0), "the input", op.output(0),
                                    "the output"))
    return s;
  int axis = op.paramsAs<format::AxisParams>().axis;
  if (axis < 0 || axis >= int(op.input(0).rank))
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "axis %d is out of range for rank %u", axis,
                    unsigned(op.input(0).rank));
  return SL_OK;
}

/// One softmax row of n elements `inner` apart. A contiguous row (the
/// attention case) takes the vectorised exp (VectorMath.h).
template <bool Log>
void softmaxRow(const float *x, float *y, int64_t n, int64_t inner) {
  float max = -INFINITY;
  for (int64_t i = 0; i < n; ++i)
    max = x[i * inner] > max ? x[i * inner] : max;
  double sum = 0;
  if (inner == 1) {
    for (int64_t i = 0; i < n; ++i)
      y[i] = x[i] - max;
    if (Log) {
      // Sum exp(x - max) in chunks without storing it: y keeps x - max.
      float chunk[64];
      for (int64_t i = 0; i < n; i += 64) {
        const int64_t m = n - i < 64 ? n - i : 64;
        applyVectorFunction(VectorFunction::Exp, y + i, chunk, m);
        for (int64_t j = 0; j < m; ++j)
          sum += chunk[j];
      }
      const float logSum = float(std::log(sum));
      for (int64_t i = 0; i < n; ++i)
        y[i] -= logSum;
      return;
    }
    applyVectorFunction(VectorFunction::Exp, y, y, n);
    for (int64_t i = 0; i < n; ++i)
      sum += y[i];
    const float scale = float(1.0 / sum);
    for (int64_t i = 0; i < n; ++i)
      y[i] *= scale;
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    // Terms below e^-87 would be denormal (slow) and cannot change the sum.
    const float d = x[i * inner] - max;
    float e = d < -87.f ? 0.f : std::exp(d);
    if (!Log)
      y[i * inner] = e;
    sum += e;
  }
  if (Log) {
    float logSum = float(std::log(sum));
    for (int64_t i = 0; i < n; ++i)
      y[i * inner] = x[i * inner] - max - logSum;
  } else {
    float scale = float(1.0 / sum);
    for (int64_t i = 0; i < n; ++i)
      y[i * inner] *= scale;
  }
}

template <bool Log>
sl_status evalSoftmax(const OpInstance &op, ExecContext &ctx) {
  int64_t outer, n, inner;
  splitAt(op.input(0), op.paramsAs<format::AxisParams>().axis, false, outer, n,
          inner);
  const float *x = ctx.in<float>(op, 0);
  float *y = ctx.out<float>(op, 0);
  // A contiguous Softmax row (attention's) in one fused AVX-512 pass pair.
  if (!Log && inner == 1 && n > 0 && cpuHasAvx512Ops()) {
    parallelRange(ctx.pool, outer, outer * n, [&](int64_t begin, int64_t end) {
      for (int64_t row = begin; row < end; ++row)
        softmaxRowAvx512(x + row * n, y + row * n, n);
    });
    return SL_OK;
  }
  // Rows are independent: split them over the pool.
  auto rows = [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t base = (row / inner) * n * inner + row % inner;
      softmaxRow<Log>(x + base, y + base, n, inner);
    }
  };
  parallelRange(ctx.pool, outer * inner, outer * n * inner, rows);
  return SL_OK;
}

// --- LayerNormalization
// ----------------------------------------------------------

/// An affine operand (scale or bias) must hold either one value or the
/// normalised shape (dims[axis:], leading 1s allowed).
bool affineFits(const TensorDesc &t, const TensorDesc &x, int axis) {
  int64_t n = count(t);
  if (n == 1)
    return true;
  TensorDesc normalized = x;
  normalized.rank = uint8_t(x.rank - axis);
  for (int a = axis; a < int(x.rank); ++a)
    normalized.dims[a - axis] = x.dims[a];
  return n == count(normalized) && broadcastsTo(t, normalized);
}

sl_status prepareLayerNorm(PrepareContext &ctx) {
  const OpInstance &op = ctx.op;
  if (sl_status s = expectOperands(ctx, 2, 3, 1, 3))
    return s;
  const TensorDesc &x = op.input(0);
  const auto &p = op.paramsAs<format::LayerNormParams>();
  if (p.axis < 0 || p.axis >= int(x.rank))
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "axis %d is out of range for rank %u", p.axis,
                    unsigned(x.rank));
  if (sl_status s = expectDType(ctx, x, "the input", kFloat))
    return s;
  if (sl_status s =
          expectSameShape(ctx, x, "the input", op.output(0), "the output"))
    return s;
  for (unsigned i = 0; i < op.numInputs(); ++i) {
    if (!op.hasInput(i))
      continue;
    if (sl_status s = expectDType(ctx, op.input(i), "an input", kFloat))
      return s;
    if (sl_status s = expectDenseData(ctx, op.input(i), "an input"))
      return s;
    if (i > 0 && !affineFits(op.input(i), x, p.axis)) {
      char a[128];
      return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                      "%s shape %s does not match the normalised axes",
                      i == 1 ? "scale" : "bias",
                      shapeString(op.input(i), a, sizeof(a)));
    }
  }
  // Mean and InvStdDev keep the leading dims and have 1 from `axis` on.
  int64_t statDims[kMaxRank];
  for (int a = 0; a < int(x.rank); ++a)
    statDims[a] = a < p.axis ? x.dims[a] : 1;
  for (unsigned o = 1; o < op.numOutputs(); ++o) {
    if (sl_status s =
            expectDType(ctx, op.output(o), "a statistics output", kFloat))
      return s;
    if (sl_status s =
            expectShape(ctx, op.output(o),
                        o == 1 ? "the Mean output" : "the InvStdDev output",
                        x.rank, statDims))
      return s;
  }
  return SL_OK;
}

/// Normalises one row of n elements; returns its mean and 1/stddev.
void layerNormRow(const float *x, float *y, int64_t n, float epsilon,
                  const float *scale, bool scaleAll, const float *bias,
                  bool biasAll, float &meanOut, float &invOut) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i)
    sum += x[i];
  double mean = n ? sum / double(n) : 0.0;
  double var = 0;
  for (int64_t i = 0; i < n; ++i) {
    double d = x[i] - mean;
    var += d * d;
  }
  var = n ? var / double(n) : 0.0;
  const float inv = float(1.0 / std::sqrt(var + double(epsilon)));
  const float m = float(mean);
  for (int64_t i = 0; i < n; ++i) {
    float v = (x[i] - m) * inv * scale[scaleAll ? 0 : i];
    y[i] = bias ? v + bias[biasAll ? 0 : i] : v;
  }
  meanOut = m;
  invOut = inv;
}

sl_status evalLayerNorm(const OpInstance &op, ExecContext &ctx) {
  const auto &p = op.paramsAs<format::LayerNormParams>();
  int64_t outer, n, inner;
  splitAt(op.input(0), p.axis, true, outer, n, inner);
  const float *x = ctx.in<float>(op, 0);
  const float *scale = ctx.in<float>(op, 1);
  const bool scaleAll = count(op.input(1)) == 1;
  const float *bias = op.hasInput(2) ? ctx.in<float>(op, 2) : nullptr;
  const bool biasAll = bias && count(op.input(2)) == 1;
  float *y = ctx.out<float>(op, 0);
  float *meanOut = op.numOutputs() > 1 ? ctx.out<float>(op, 1) : nullptr;
  float *invOut = op.numOutputs() > 2 ? ctx.out<float>(op, 2) : nullptr;
  const bool wide = n > 0 && cpuHasAvx512Ops();
  auto rows = [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      float m, inv;
      if (wide)
        layerNormRowAvx512(x + o * n, y + o * n, n, p.epsilon, scale, scaleAll,
                           bias, biasAll, m, inv);
      else
        layerNormRow(x + o * n, y + o * n, n, p.epsilon, scale, scaleAll, bias,
                     biasAll, m, inv);
      if (meanOut)
        meanOut[o] = m;
      if (invOut)
        invOut[o] = inv;
    }
  };
  parallelRange(ctx.pool, outer, outer * n, rows);
  return SL_OK;
}

// --- BatchNormalization (inference)
// ---------------------------------------------

sl_status prepareBatchNorm(PrepareContext &ctx) {
  const OpInstance &op = ctx.op;
  if (sl_status s = expectOperands(ctx, 5, 5))
    return s;
  const TensorDesc &x = op.input(0);
  if (x.rank < 2)
    return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                    "the input needs rank >= 2 (N, C, ...), has %u",
                    unsigned(x.rank));
  if (sl_status s =
          expectSameShape(ctx, x, "the input", op.output(0), "the output"))
    return s;
  static const char *names[] = {"the input", "scale", "B", "mean", "var"};
  for (unsigned i = 0; i < 5; ++i) {
    if (sl_status s = expectDType(ctx, op.input(i), names[i], kFloat))
      return s;
    if (sl_status s = expectDenseData(ctx, op.input(i), names[i]))
      return s;
    if (i > 0 && count(op.input(i)) != x.dims[1])
      return ctx.fail(SL_ERROR_INVALID_PROGRAM,
                      "%s has %lld elements, expected one per channel (%lld)",
                      names[i], (long long)count(op.input(i)),
                      (long long)x.dims[1]);
  }
  return SL_OK;
}

sl_status evalBatchNorm(const OpInstance &op, ExecContext &ctx) {
  const TensorDesc &t = op.input(0);
  const float eps = op.paramsAs<format::LayerNormParams>().epsilon;
  const int64_t channels = t.dims[1];
  const int64_t batch = t.dims[0];
  const int64_t spatial = channels ? count(t) / (batch * channels) : 0;
  const float *x = ctx.in<float>(op, 0);
  const float *scale = ctx.in<float>(op, 1);
  const float *b = ctx.in<float>(op, 2);
  const float *mean = ctx.in<float>(op, 3);
  const float *var = ctx.in<float>(op, 4);
  float *y = ctx.out<float>(op, 0);
  for (int64_t nIdx = 0; nIdx < batch; ++nIdx) {
    for (int64_t c = 0; c < channels; ++c) {
      float k = scale[c] / std::sqrt(var[c] + eps);
      float shift = b[c] - mean[c] * k;
      const float *xr = x + (nIdx * channels + c) * spatial;
      float *yr = y + (nIdx * channels + c) * spatial;
      for (int64_t i = 0; i < spatial; ++i)
        yr[i] = xr[i] * k + shift;
    }
  }
  return SL_OK;
}

} // namespace

void registerNormalizationOps(OpResolver &resolver) {
  const OpKernel kernels[] = {
      {Opcode::Softmax, prepareSoftmax, evalSoftmax<false>, nullptr, false},
      {Opcode::LogSoftmax, prepareSoftmax, evalSoftmax<true>, nullptr, false},
      {Opcode::LayerNormalization, prepareLayerNorm, evalLayerNorm, nullptr,
       false},
      {Opcode::BatchNormalization, prepareBatchNorm, evalBatchNorm, nullptr,
       true},
  };
  for (const OpKernel &k : kernels)
    resolver.add(k);
}

} // namespace runtime
} // namespace sparseloom
