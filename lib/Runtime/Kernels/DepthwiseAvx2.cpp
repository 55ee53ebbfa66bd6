//===- DepthwiseAvx2.cpp - Depthwise convolution for AVX2+FMA -------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Depthwise (one filter per channel) 2-D convolution on one NCHW image,
// vectorised along the output row: eight neighbouring outputs of a row share
// every filter tap, so each tap is one broadcast weight and one FMA per eight
// outputs. Padding is handled by splitting each output row into the columns
// whose taps all fall inside the input (vector loads, no checks) and the few
// border columns (scalar, with checks); rows outside the input are skipped,
// so no padded copy is needed and the kernel takes no scratch.
//
// Stride 1 reads eight consecutive inputs per tap; stride 2 reads fifteen
// and keeps the even ones (two permutes and a blend). Kernel widths 3 and 5
// are compile-time constants so the tap loop unrolls (dw_3x3s1__avx2 and
// friends); any other size, stride or dilation takes the same code with a
// run-time width, or the scalar loop for strides above 2.
//
// Threads take (channel, band of output rows) tasks.
//
// With AVX-512 (cpuHasAvx512Ops), stride-1 layers with OW == W and
// column-stride-2 layers run DepthwiseAvx512.cpp's kernels instead, split by
// channels; the AVX2 code stays for the other shapes and CPUs.
//
// Compiled with -mavx2 -mfma; helpers are static (see KernelConfig.h).
//
//===----------------------------------------------------------------------===//

#include "DepthwiseAvx512.h"
#include "FastKernels.h"
#include "FastOps.h"
#include "ThreadPool.h"

#include <immintrin.h>

#include <cassert>

namespace sparseloom {
namespace runtime {

namespace {

struct DwShape {
  long h, w, oh, ow;
  long kh, kw, sh, sw, dh, dw, pt, pl;
};

struct DwAct {
  format::Activation kind;
  float lo, hi;
  __m256 vlo, vhi;
  explicit DwAct(const Epilogue &e)
      : kind(e.activation), lo(e.actMin), hi(e.actMax),
        vlo(_mm256_set1_ps(e.actMin)), vhi(_mm256_set1_ps(e.actMax)) {}
  __m256 operator()(__m256 x) const {
    switch (kind) {
    case format::Activation::None:
      return x;
    case format::Activation::Relu:
      // x second: NaN propagates (see SgemmAvx2.cpp).
      return _mm256_max_ps(_mm256_setzero_ps(), x);
    case format::Activation::Clip:
      return _mm256_min_ps(vhi, _mm256_max_ps(vlo, x));
    }
    return x;
  }
  float operator()(float x) const {
    switch (kind) {
    case format::Activation::None:
      return x;
    case format::Activation::Relu:
      return x < 0.f ? 0.f : x; // NaN stays NaN
    case format::Activation::Clip:
      x = x < lo ? lo : x;
      return x > hi ? hi : x;
    }
    return x;
  }
};

/// One output with bounds checks (borders, and strides above 2).
static float dwPoint(const float *in, const float *wk, const DwShape &s,
                     long oy, long ox) {
  float sum = 0.f;
  for (long i = 0; i < s.kh; ++i) {
    long iy = oy * s.sh - s.pt + i * s.dh;
    if (iy < 0 || iy >= s.h)
      continue;
    for (long j = 0; j < s.kw; ++j) {
      long ix = ox * s.sw - s.pl + j * s.dw;
      if (ix < 0 || ix >= s.w)
        continue;
      sum += wk[i * s.kw + j] * in[iy * s.w + ix];
    }
  }
  return sum;
}

/// Eight inputs at stride SW starting at p: p[0..7], or the even elements
/// of p[0..14] (never reading p[15], which may lie past the row).
template <int SW> static inline __m256 loadStrided(const float *p) {
  if (SW == 1)
    return _mm256_loadu_ps(p);
  const __m256 lo = _mm256_permutevar8x32_ps(
      _mm256_loadu_ps(p), _mm256_setr_epi32(0, 2, 4, 6, 0, 0, 0, 0));
  const __m256 hi = _mm256_permutevar8x32_ps(
      _mm256_loadu_ps(p + 7), _mm256_setr_epi32(0, 0, 0, 0, 1, 3, 5, 7));
  return _mm256_blend_ps(lo, hi, 0xF0);
}

/// The most filter columns the masked path handles (wider filters use the
/// scalar loop at the borders).
constexpr long kMaxMaskedTaps = 16;

/// Filter rows [iLo, iHi) of output row `oy` that land inside the input.
static inline void validFilterRows(const DwShape &s, long oy, long &iLo,
                                   long &iHi) {
  iLo = 0;
  iHi = s.kh;
  while (iLo < iHi && oy * s.sh - s.pt + iLo * s.dh < 0)
    ++iLo;
  while (iHi > iLo && oy * s.sh - s.pt + (iHi - 1) * s.dh >= s.h)
    --iHi;
}

/// Output columns [ox0, ox0 + count), count <= 8, of rows [oy0, oy1) where
/// taps may fall outside the input: masked loads read zero there instead (a
/// masked-off lane touches no memory), so borders and narrow planes stay
/// vectorised. The masks depend on the column only and are built once for
/// all rows; the rows are independent chains the core overlaps.
template <int KW, int SW>
static void dwColumnsMasked(const float *in, const float *wk, const DwShape &s,
                            long oy0, long oy1, long ox0, long count,
                            __m256 bias, const DwAct &act, float *out) {
  const long kw = KW ? KW : s.kw;
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i minusOne = _mm256_set1_epi32(-1);
  const __m256i width = _mm256_set1_epi32(int32_t(s.w));
  // Which input columns each filter column may read: the first eight
  // (lo) and, at stride 2, the next eight from offset 7 (hi).
  __m256i lo[kMaxMaskedTaps], hi[kMaxMaskedTaps];
  for (long j = 0; j < kw; ++j) {
    const int32_t base = int32_t(ox0 * SW - s.pl + j * s.dw);
    __m256i ix = _mm256_add_epi32(_mm256_set1_epi32(base), lane);
    lo[j] = _mm256_and_si256(_mm256_cmpgt_epi32(ix, minusOne),
                             _mm256_cmpgt_epi32(width, ix));
    if (SW == 2) {
      ix = _mm256_add_epi32(ix, _mm256_set1_epi32(7));
      hi[j] = _mm256_and_si256(_mm256_cmpgt_epi32(ix, minusOne),
                               _mm256_cmpgt_epi32(width, ix));
    }
  }
  const __m256i keep =
      _mm256_cmpgt_epi32(_mm256_set1_epi32(int32_t(count)), lane);
  for (long oy = oy0; oy < oy1; ++oy) {
    long iLo, iHi;
    validFilterRows(s, oy, iLo, iHi);
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    for (long i = iLo; i < iHi; ++i) {
      const float *row =
          in + (oy * s.sh - s.pt + i * s.dh) * s.w + ox0 * SW - s.pl;
      const float *wr = wk + i * kw;
#pragma GCC unroll 8
      for (long j = 0; j < kw; ++j) {
        const float *p = row + j * s.dw;
        __m256 x;
        if (SW == 1) {
          x = _mm256_maskload_ps(p, lo[j]);
        } else {
          const __m256 l = _mm256_permutevar8x32_ps(
              _mm256_maskload_ps(p, lo[j]),
              _mm256_setr_epi32(0, 2, 4, 6, 0, 0, 0, 0));
          const __m256 h = _mm256_permutevar8x32_ps(
              _mm256_maskload_ps(p + 7, hi[j]),
              _mm256_setr_epi32(0, 0, 0, 0, 1, 3, 5, 7));
          x = _mm256_blend_ps(l, h, 0xF0);
        }
        // Two chains (even and odd taps) halve the FMA latency on the path.
        if (j & 1)
          a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(wr + j), x, a1);
        else
          a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(wr + j), x, a0);
      }
    }
    const __m256 y = act(_mm256_add_ps(_mm256_add_ps(a0, a1), bias));
    if (count == 8)
      _mm256_storeu_ps(out + oy * s.ow + ox0, y);
    else
      _mm256_maskstore_ps(out + oy * s.ow + ox0, keep, y);
  }
}

/// Columns whose taps all fall inside the input for every row:
/// ox*SW - pl >= 0 and ox*SW - pl + (kw-1)*dw <= w-1, clamped to [0, ow].
static inline void interiorColumns(const DwShape &s, long kw, long sw,
                                   long &oxLo, long &oxHi) {
  oxLo = (s.pl + sw - 1) / sw;
  const long last = s.w - 1 + s.pl - (kw - 1) * s.dw;
  oxHi = last < 0 ? 0 : last / sw + 1;
  oxLo = oxLo < s.ow ? oxLo : s.ow;
  oxHi = oxHi < s.ow ? oxHi : s.ow;
  if (oxHi < oxLo)
    oxHi = oxLo;
}

/// Interior columns [oxA, oxB) of output row `oy` (oxB - oxA a multiple
/// of 8): unmasked loads, 32 outputs (four chains) at a time, then 8.
template <int KW, int SW>
static void dwRowInterior(const float *in, const float *wk, const DwShape &s,
                          long oy, long oxA, long oxB, __m256 vbias,
                          const DwAct &act, float *out) {
  const long kw = KW ? KW : s.kw;
  long iLo, iHi;
  validFilterRows(s, oy, iLo, iHi);
  long ox = oxA;
  for (; ox + 32 <= oxB; ox += 32) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(),
           a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    for (long i = iLo; i < iHi; ++i) {
      const float *row =
          in + (oy * s.sh - s.pt + i * s.dh) * s.w + ox * SW - s.pl;
      const float *wr = wk + i * kw;
#pragma GCC unroll 8
      for (long j = 0; j < kw; ++j) {
        const __m256 wv = _mm256_broadcast_ss(wr + j);
        const float *p = row + j * s.dw;
        a0 = _mm256_fmadd_ps(wv, loadStrided<SW>(p), a0);
        a1 = _mm256_fmadd_ps(wv, loadStrided<SW>(p + 8 * SW), a1);
        a2 = _mm256_fmadd_ps(wv, loadStrided<SW>(p + 16 * SW), a2);
        a3 = _mm256_fmadd_ps(wv, loadStrided<SW>(p + 24 * SW), a3);
      }
    }
    _mm256_storeu_ps(out + ox, act(_mm256_add_ps(a0, vbias)));
    _mm256_storeu_ps(out + ox + 8, act(_mm256_add_ps(a1, vbias)));
    _mm256_storeu_ps(out + ox + 16, act(_mm256_add_ps(a2, vbias)));
    _mm256_storeu_ps(out + ox + 24, act(_mm256_add_ps(a3, vbias)));
  }
  for (; ox < oxB; ox += 8) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    for (long i = iLo; i < iHi; ++i) {
      const float *row =
          in + (oy * s.sh - s.pt + i * s.dh) * s.w + ox * SW - s.pl;
      const float *wr = wk + i * kw;
#pragma GCC unroll 8
      for (long j = 0; j < kw; ++j) {
        const __m256 x = loadStrided<SW>(row + j * s.dw);
        if (j & 1)
          a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(wr + j), x, a1);
        else
          a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(wr + j), x, a0);
      }
    }
    _mm256_storeu_ps(out + ox,
                     act(_mm256_add_ps(_mm256_add_ps(a0, a1), vbias)));
  }
}

/// Output rows [oy0, oy1) of one channel: masked groups of eight from the
/// left edge until the interior starts (the last may reach into it), the
/// interior in whole vectors, then masked groups to the right edge. Filters
/// wider than kMaxMaskedTaps do their borders with the scalar loop.
template <int KW, int SW>
static void dwRows(const float *in, const float *wk, const DwShape &s, long oy0,
                   long oy1, float bias, const DwAct &act, float *out) {
  const long kw = KW ? KW : s.kw;
  long oxLo, oxHi;
  interiorColumns(s, kw, SW, oxLo, oxHi);
  const __m256 vbias = _mm256_set1_ps(bias);
  const bool masked = kw <= kMaxMaskedTaps;
  // [oxA, oxB): the interior columns done with whole unmasked vectors.
  long oxA = masked ? (oxLo + 7) / 8 * 8 : oxLo;
  if (oxA > oxHi)
    oxA = oxHi;
  const long oxB = oxA + (oxHi - oxA) / 8 * 8;
  if (masked) {
    for (long ox = 0; ox < oxA; ox += 8)
      dwColumnsMasked<KW, SW>(in, wk, s, oy0, oy1, ox,
                              oxA - ox < 8 ? oxA - ox : 8, vbias, act, out);
  } else {
    for (long oy = oy0; oy < oy1; ++oy)
      for (long ox = 0; ox < oxA; ++ox)
        out[oy * s.ow + ox] = act(dwPoint(in, wk, s, oy, ox) + bias);
  }
  if (oxA < oxB)
    for (long oy = oy0; oy < oy1; ++oy)
      dwRowInterior<KW, SW>(in, wk, s, oy, oxA, oxB, vbias, act,
                            out + oy * s.ow);
  if (masked) {
    for (long ox = oxB; ox < s.ow; ox += 8)
      dwColumnsMasked<KW, SW>(in, wk, s, oy0, oy1, ox,
                              s.ow - ox < 8 ? s.ow - ox : 8, vbias, act, out);
  } else {
    for (long oy = oy0; oy < oy1; ++oy)
      for (long ox = oxB; ox < s.ow; ++ox)
        out[oy * s.ow + ox] = act(dwPoint(in, wk, s, oy, ox) + bias);
  }
}

static void dwRowsScalar(const float *in, const float *wk, const DwShape &s,
                         long oy0, long oy1, float bias, const DwAct &act,
                         float *out) {
  for (long oy = oy0; oy < oy1; ++oy)
    for (long ox = 0; ox < s.ow; ++ox)
      out[oy * s.ow + ox] = act(dwPoint(in, wk, s, oy, ox) + bias);
}

/// Small planes at stride 1 whose output rows are as wide as the input rows
/// (the usual "same" padding): output f = oy*W + ox reads input f + offset
/// for every tap, so the whole plane is one contiguous vector loop, with a
/// mask per (tap, vector) that zeroes the taps falling into the padding.
/// Row-wise processing of a 7x7 plane would instead spend most of its time
/// on one partial vector per row.
struct SmallPlane {
  /// Taps x vectors masks at most (8 KiB on the stack).
  static constexpr long kMaxMasks = 256;
  long vectors = 0, taps = 0;
  long offset[kMaxMasks];  // per tap
  __m256i mask[kMaxMasks]; // [tap][vector]

  /// Builds the masks when the shape qualifies; false otherwise.
  bool init(const DwShape &s) {
    if (s.sh != 1 || s.sw != 1 || s.ow != s.w)
      return false;
    const long outputs = s.oh * s.ow;
    vectors = (outputs + 7) / 8;
    taps = s.kh * s.kw;
    if (vectors * taps > kMaxMasks)
      return false;
    for (long i = 0; i < s.kh; ++i)
      for (long j = 0; j < s.kw; ++j) {
        const long t = i * s.kw + j;
        offset[t] = (i * s.dh - s.pt) * s.w + (j * s.dw - s.pl);
        for (long v = 0; v < vectors; ++v) {
          alignas(32) int32_t lanes[8];
          for (long l = 0; l < 8; ++l) {
            const long f = v * 8 + l;
            const long iy = f / s.ow + i * s.dh - s.pt;
            const long ix = f % s.ow + j * s.dw - s.pl;
            lanes[l] = f < outputs && iy >= 0 && iy < s.h && ix >= 0 && ix < s.w
                           ? -1
                           : 0;
          }
          mask[t * vectors + v] =
              _mm256_load_si256(reinterpret_cast<const __m256i *>(lanes));
        }
      }
    return true;
  }

  /// One channel.
  void run(const float *in, const float *wk, float bias, const DwAct &act,
           long outputs, float *out) const {
    const __m256 vbias = _mm256_set1_ps(bias);
    for (long v = 0; v < vectors; ++v) {
      __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
      const float *base = in + v * 8;
      long t = 0;
      for (; t + 2 <= taps; t += 2) {
        a0 = _mm256_fmadd_ps(
            _mm256_broadcast_ss(wk + t),
            _mm256_maskload_ps(base + offset[t], mask[t * vectors + v]), a0);
        a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(wk + t + 1),
                             _mm256_maskload_ps(base + offset[t + 1],
                                                mask[(t + 1) * vectors + v]),
                             a1);
      }
      if (t < taps)
        a0 = _mm256_fmadd_ps(
            _mm256_broadcast_ss(wk + t),
            _mm256_maskload_ps(base + offset[t], mask[t * vectors + v]), a0);
      const __m256 y = act(_mm256_add_ps(_mm256_add_ps(a0, a1), vbias));
      if (v * 8 + 8 <= outputs) {
        _mm256_storeu_ps(out + v * 8, y);
      } else {
        const __m256i keep =
            _mm256_cmpgt_epi32(_mm256_set1_epi32(int32_t(outputs - v * 8)),
                               _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        _mm256_maskstore_ps(out + v * 8, keep, y);
      }
    }
  }
};

} // namespace

void depthwiseConvAvx2(const float *input, uint32_t channels, uint32_t height,
                       uint32_t width, const float *weight,
                       const format::ConvParams &params, uint32_t outHeight,
                       uint32_t outWidth, float *output, size_t planeOut,
                       const Epilogue &epilogue, ThreadPool *pool) {
  assert(input && weight && output && "null operand");
  DwShape s;
  s.h = height;
  s.w = width;
  s.oh = outHeight;
  s.ow = outWidth;
  s.kh = params.kernel[0];
  s.kw = params.kernel[1];
  s.sh = params.strides[0];
  s.sw = params.strides[1];
  s.dh = params.dilations[0];
  s.dw = params.dilations[1];
  s.pt = params.pads[0];
  s.pl = params.pads[1];
  assert(s.kh > 0 && s.kw > 0 && s.sh > 0 && s.sw > 0 && s.dh > 0 && s.dw > 0 &&
         "unresolved convolution parameters");
  if (channels == 0 || outHeight == 0 || outWidth == 0)
    return;
  const DwAct act(epilogue);

  using RowsFn = void (*)(const float *, const float *, const DwShape &, long,
                          long, float, const DwAct &, float *);
  RowsFn rows = dwRowsScalar;
  if (s.sw == 1)
    rows = s.kw == 3 ? dwRows<3, 1> : s.kw == 5 ? dwRows<5, 1> : dwRows<0, 1>;
  else if (s.sw == 2)
    rows = s.kw == 3 ? dwRows<3, 2> : s.kw == 5 ? dwRows<5, 2> : dwRows<0, 2>;

  const size_t plane = size_t(outHeight) * outWidth;
  assert(planeOut >= plane && "planes overlap");
  const size_t planeIn = size_t(height) * width;
  const size_t kernelSize = size_t(s.kh * s.kw);
  const size_t work = size_t(channels) * plane * kernelSize;
  const bool parallel = pool && pool->threads() > 1 && work >= 32768;
  // `count` tasks (channels or bands), about four per thread when parallel.
  auto runTasks = [&](size_t count, const auto &task) {
    if (!parallel)
      task(size_t(0), count);
    else
      pool->parallelFor(
          count, (count + 4 * pool->threads() - 1) / (4 * pool->threads()),
          task);
  };

  // Where the CPU has AVX-512 (DepthwiseAvx512.cpp): stride 1 with OW == W
  // as whole planes in 16-float vectors, column stride 2 row by row with
  // one permute per tap.
  const bool wide = cpuHasAvx512Ops();
  const bool flat = wide && s.sh == 1 && s.sw == 1 && s.ow == s.w &&
                    depthwiseFlatAvx512Fits(s.w, s.kh, s.kw);
  if (flat ||
      (wide && s.sw == 2 && depthwiseStride2Avx512Fits(s.kh, s.kw, s.dw))) {
    auto task = [&](size_t begin, size_t end) {
      if (flat)
        depthwiseFlatAvx512(input, height, width, weight, params, outHeight,
                            epilogue, begin, end, output, planeOut);
      else
        depthwiseStride2Avx512(input, height, width, weight, params, outHeight,
                               outWidth, epilogue, begin, end, output,
                               planeOut);
    };
    runTasks(size_t(channels), task);
    return;
  }

  SmallPlane small;
  if (small.init(s)) {
    auto task = [&](size_t begin, size_t end) {
      for (size_t c = begin; c < end; ++c)
        small.run(input + c * planeIn, weight + c * kernelSize,
                  epilogue.bias ? epilogue.bias[c] : 0.f, act, long(plane),
                  output + c * planeOut);
    };
    runTasks(size_t(channels), task);
    return;
  }

  // Bands of about 16K outputs keep tasks even when planes are large.
  const long bandRows = s.ow >= 16384 ? 1 : 16384 / s.ow;
  const size_t bands = size_t((s.oh + bandRows - 1) / bandRows);
  auto task = [&](size_t begin, size_t end) {
    for (size_t t = begin; t < end; ++t) {
      const size_t c = t / bands, band = t % bands;
      const long oy0 = long(band) * bandRows;
      const long oy1 = oy0 + bandRows < s.oh ? oy0 + bandRows : s.oh;
      rows(input + c * planeIn, weight + c * kernelSize, s, oy0, oy1,
           epilogue.bias ? epilogue.bias[c] : 0.f, act, output + c * planeOut);
    }
  };
  runTasks(size_t(channels) * bands, task);
}

} // namespace runtime
} // namespace sparseloom
