//===- DepthwiseAvx512.cpp - Depthwise convolution for AVX-512 ------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The stride-1 depthwise convolutions whose output rows are as wide as the
// input rows (OW == W: "same" padding, MobileNetV2's 3x3 pad 1 layers) read,
// for output f = oy*W + ox, input f + (i*dh - pt)*W + (j*dw - pl) for tap
// (i, j): one fixed offset per tap over the whole plane. So a channel is a
// single loop over its output in 16-float vectors, one masked load and one
// FMA per tap, with no per-row borders. The mask of tap (i, j) zeroes the
// lanes whose input column or row falls into the padding.
//
// Column masks depend only on the vector's start column, which repeats
// every W / gcd(16, W) vectors (7 for W = 112, 56, 28, 14, 7), so they are
// built once per call for one period. Row masks matter only for the vectors
// near the top and bottom of the plane (and the partial last one); the
// others skip them. DepthwiseAvx2.cpp's row-wise code spent most of its time
// on the masked border groups and the short interiors of these rows (8-lane
// vectors, 28 columns = one masked group, two vectors and another masked
// group), and ran MobileNetV2's stride-1 layers at 4-8 GMAC/s.
//
// Column stride 2 goes row by row: 16 outputs read every other float of 32,
// which one two-source permute (vpermt2ps) extracts per tap, in place of
// the AVX2 code's two permutes and a blend per 8 outputs (2.8-3.9 GMAC/s on
// MobileNetV2's stride-2 layers); see stride2Channel.
//
// Each output sums its taps in a fixed order (flat planes: one accumulator
// per filter row for 3x3 and 5x5, then the rows in order, then the bias;
// stride 2: per filter row, two chains of rows), the same whichever channel
// range a thread takes, so outputs do not depend on the thread count. The
// threading is the caller's (DepthwiseAvx2.cpp), so that no ThreadPool template
// is compiled here.
//
// Compiled with -mavx512f/bw/dq/vl (and -mavx2 -mfma); only called after
// cpuHasAvx512Ops(). Helpers are static (see KernelConfig.h).
//
//===----------------------------------------------------------------------===//

#include "DepthwiseAvx512.h"
#include "Avx512Lanes.h"
#include "FastOps.h"

namespace sparseloom {
namespace runtime {

namespace {

/// The most vectors in one period of column masks, and the most taps.
constexpr long kMaxPeriod = 128;
constexpr long kMaxTaps = 49;

/// Vectors of 16 after which the column of a vector's first lane repeats:
/// W / gcd(16, W).
static long periodOf(long w) {
  long g = 16, b = w;
  while (b) {
    const long t = g % b;
    g = b;
    b = t;
  }
  return w / g;
}

/// Lanes l of 16 floats loaded at column q that fall in [0, w).
static inline __mmask16 rangeMask(long q, long w) {
  const long from = q < 0 ? -q : 0; // first valid lane
  return __mmask16(firstLanes16(w - q) & ~firstLanes16(from));
}

/// What every channel of one call shares: the tap offsets, the column masks
/// of one period and, per vector of the period, each lane's row offset.
struct FlatPlan {
  long h, w, oh, kh, kw, dh, pt;
  long outputs, period, taps;
  long offset[kMaxTaps];
  __mmask16 colMask[kMaxPeriod * 16]; // [vector of the period][filter col]
  alignas(64) int32_t rowOfLane[kMaxPeriod][16];
  long lastRow[kMaxPeriod]; // rowOfLane[p][15]

  bool init(long height, long width, long outHeight, const long *kernel,
            const long *dil, const long *pads) {
    h = height;
    w = width;
    oh = outHeight;
    kh = kernel[0];
    kw = kernel[1];
    dh = dil[0];
    pt = pads[0];
    const long dw = dil[1], pl = pads[1];
    taps = kh * kw;
    outputs = oh * w;
    period = periodOf(w);
    if (!depthwiseFlatAvx512Fits(width, kh, kw))
      return false;
    for (long i = 0; i < kh; ++i)
      for (long j = 0; j < kw; ++j)
        offset[i * kw + j] = (i * dh - pt) * w + (j * dw - pl);
    // Walked lane by lane without divisions: every thread's chunk of
    // channels builds its own plan, and 16 * period divisions per chunk
    // showed up at ~3 % of a 2-thread MobileNetV2 profile.
    for (long p = 0; p < period; ++p)
      for (long j = 0; j < kw; ++j)
        colMask[p * 16 + j] = 0;
    long col = 0; // column of the current lane
    for (long p = 0; p < period; ++p) {
      int32_t row = 0;
      for (long l = 0; l < 16; ++l) {
        rowOfLane[p][l] = row;
        for (long j = 0; j < kw; ++j) {
          const long ix = col + j * dw - pl;
          if (ix >= 0 && ix < w)
            colMask[p * 16 + j] = __mmask16(colMask[p * 16 + j] | (1u << l));
        }
        if (++col == w) {
          col = 0;
          ++row;
        }
      }
      lastRow[p] = rowOfLane[p][15];
    }
    return true;
  }

  /// Whether every tap of every lane of a vector whose first lane is in
  /// output row r0 (period vector p) reads inside the input and the vector
  /// lies inside the output.
  bool rowsInside(long r0, long p) const {
    const long r1 = r0 + lastRow[p];
    return r0 - pt >= 0 && r1 - pt + (kh - 1) * dh < h && r1 < oh;
  }

  /// Per filter row: the lanes whose input row is inside and whose output
  /// is inside the plane.
  void rowMasks(long r0, long p, __mmask16 *rows, __mmask16 &store) const {
    const __m512i rv = _mm512_add_epi32(
        _mm512_set1_epi32(int32_t(r0)),
        _mm512_load_si512(reinterpret_cast<const void *>(rowOfLane[p])));
    store = _mm512_cmplt_epi32_mask(rv, _mm512_set1_epi32(int32_t(oh)));
    for (long i = 0; i < kh; ++i) {
      const int32_t lo = int32_t(pt - i * dh);
      rows[i] = _mm512_kand(
          store, _mm512_kand(_mm512_cmpge_epi32_mask(rv, _mm512_set1_epi32(lo)),
                             _mm512_cmplt_epi32_mask(
                                 rv, _mm512_set1_epi32(int32_t(h) + lo))));
    }
  }
};

/// One channel. KH, KW: compile-time filter size (0: the plan's).
template <int KH, int KW>
static void flatChannel(const FlatPlan &plan, const float *in, const float *wk,
                        float bias, const Act16 &act, float *out) {
  const long kh = KH ? KH : plan.kh, kw = KW ? KW : plan.kw;
  const __m512 vbias = _mm512_set1_ps(bias);
  long r0 = 0, c0 = 0, p = 0;
  for (long f = 0; f < plan.outputs; f += 16) {
    const __mmask16 *cols = plan.colMask + p * 16;
    const bool inside = plan.rowsInside(r0, p);
    __mmask16 rows[16], store = 0xFFFF;
    if (!inside)
      plan.rowMasks(r0, p, rows, store);
    const float *base = in + f;
    __m512 sum;
    if constexpr (KH > 0) {
      // One accumulator per filter row, summed in row order.
      __m512 acc[KH];
#pragma GCC unroll 8
      for (long i = 0; i < kh; ++i) {
        acc[i] = _mm512_setzero_ps();
#pragma GCC unroll 8
        for (long j = 0; j < kw; ++j) {
          const __mmask16 m = inside ? cols[j] : __mmask16(cols[j] & rows[i]);
          acc[i] = _mm512_fmadd_ps(
              _mm512_set1_ps(wk[i * kw + j]),
              _mm512_maskz_loadu_ps(m, base + plan.offset[i * kw + j]), acc[i]);
        }
      }
      sum = acc[0];
      for (long i = 1; i < kh; ++i)
        sum = _mm512_add_ps(sum, acc[i]);
    } else {
      // Any size: two chains, even and odd taps.
      __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
      for (long i = 0; i < kh; ++i)
        for (long j = 0; j < kw; ++j) {
          const __mmask16 m = inside ? cols[j] : __mmask16(cols[j] & rows[i]);
          const __m512 x =
              _mm512_maskz_loadu_ps(m, base + plan.offset[i * kw + j]);
          const __m512 wv = _mm512_set1_ps(wk[i * kw + j]);
          if ((i * kw + j) & 1)
            a1 = _mm512_fmadd_ps(wv, x, a1);
          else
            a0 = _mm512_fmadd_ps(wv, x, a0);
        }
      sum = _mm512_add_ps(a0, a1);
    }
    _mm512_mask_storeu_ps(out + f, store, act(_mm512_add_ps(sum, vbias)));
    // The next vector's first lane.
    c0 += 16;
    while (c0 >= plan.w) {
      c0 -= plan.w;
      ++r0;
    }
    if (++p == plan.period)
      p = 0;
  }
}

/// Stride-2 rows. The inputs of 16 neighbouring outputs are every other
/// float of 32 (33 with the next tap): tap j reads the evens (j even) or
/// odds (j odd) of the 32 floats loaded at column 2*ox0 - pl + j - j%2, so
/// taps 2m and 2m + 1 share one pair of loads and take one permute each.
/// The loads are masked to the input row's [0, W), which both zeroes the
/// padding taps and keeps the loads inside the row; the store is masked to
/// the output row. Vectors outer, output rows inner (independent chains).
template <int KW>
static void stride2Channel(const float *in, const float *wk, long h, long w,
                           long oh, long ow, long kh, long kwRun, long sh,
                           long dh, long pt, long pl, float bias,
                           const Act16 &act, float *out) {
  const long kw = KW ? KW : kwRun;
  const long pairs = (kw + 1) / 2;
  const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20,
                                          22, 24, 26, 28, 30);
  const __m512i odds = _mm512_add_epi32(evens, _mm512_set1_epi32(1));
  const __m512 vbias = _mm512_set1_ps(bias);
  for (long ox0 = 0; ox0 < ow; ox0 += 16) {
    const __mmask16 store = firstLanes16(ow - ox0);
    // Per pair m: the columns [q, q + 32) it loads, as two masked halves.
    long q[8];
    __mmask16 lo[8], hi[8];
    for (long m = 0; m < pairs; ++m) {
      q[m] = 2 * ox0 - pl + 2 * m;
      lo[m] = rangeMask(q[m], w);
      hi[m] = rangeMask(q[m] + 16, w);
    }
    for (long oy = 0; oy < oh; ++oy) {
      __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
      for (long i = 0; i < kh; ++i) {
        const long iy = oy * sh - pt + i * dh;
        if (iy < 0 || iy >= h)
          continue;
        const float *row = in + iy * w;
        const float *wr = wk + i * kw;
        __m512 acc = _mm512_setzero_ps();
#pragma GCC unroll 8
        for (long m = 0; m < pairs; ++m) {
          const __m512 x0 = _mm512_maskz_loadu_ps(lo[m], row + q[m]);
          const __m512 x1 = _mm512_maskz_loadu_ps(hi[m], row + q[m] + 16);
          acc = _mm512_fmadd_ps(_mm512_set1_ps(wr[2 * m]),
                                _mm512_permutex2var_ps(x0, evens, x1), acc);
          if (2 * m + 1 < kw)
            acc = _mm512_fmadd_ps(_mm512_set1_ps(wr[2 * m + 1]),
                                  _mm512_permutex2var_ps(x0, odds, x1), acc);
        }
        // Filter rows alternate between two chains.
        if (i & 1)
          a1 = _mm512_add_ps(a1, acc);
        else
          a0 = _mm512_add_ps(a0, acc);
      }
      _mm512_mask_storeu_ps(out + oy * ow + ox0, store,
                            act(_mm512_add_ps(_mm512_add_ps(a0, a1), vbias)));
    }
  }
}

} // namespace

bool depthwiseStride2Avx512Fits(long kh, long kw, long dw) {
  return kh > 0 && kw > 0 && kw <= 16 && dw == 1;
}

bool depthwiseStride2Avx512(const float *input, uint32_t height, uint32_t width,
                            const float *weight,
                            const format::ConvParams &params,
                            uint32_t outHeight, uint32_t outWidth,
                            const Epilogue &epilogue, size_t c0, size_t c1,
                            float *output, size_t planeOut) {
  const long kh = params.kernel[0], kw = params.kernel[1];
  if (params.strides[1] != 2 ||
      !depthwiseStride2Avx512Fits(kh, kw, params.dilations[1]))
    return false;
  const Act16 act(epilogue);
  const size_t planeIn = size_t(height) * width;
  const size_t taps = size_t(kh * kw);
  auto channel = kw == 3 ? stride2Channel<3> : stride2Channel<0>;
  for (size_t c = c0; c < c1; ++c)
    channel(input + c * planeIn, weight + c * taps, height, width, outHeight,
            outWidth, kh, kw, params.strides[0], params.dilations[0],
            params.pads[0], params.pads[1],
            epilogue.bias ? epilogue.bias[c] : 0.f, act, output + c * planeOut);
  return true;
}

bool depthwiseFlatAvx512Fits(long width, long kh, long kw) {
  return width > 0 && kh > 0 && kw > 0 && kh <= 16 && kw <= 16 &&
         kh * kw <= kMaxTaps && periodOf(width) <= kMaxPeriod;
}

bool depthwiseFlatAvx512(const float *input, uint32_t height, uint32_t width,
                         const float *weight, const format::ConvParams &params,
                         uint32_t outHeight, const Epilogue &epilogue,
                         size_t c0, size_t c1, float *output, size_t planeOut) {
  const long kernel[2] = {params.kernel[0], params.kernel[1]};
  const long dil[2] = {params.dilations[0], params.dilations[1]};
  const long pads[2] = {params.pads[0], params.pads[1]};
  FlatPlan plan;
  if (!plan.init(height, width, outHeight, kernel, dil, pads))
    return false;
  const Act16 act(epilogue);
  using ChannelFn = void (*)(const FlatPlan &, const float *, const float *,
                             float, const Act16 &, float *);
  ChannelFn channel = flatChannel<0, 0>;
  if (plan.kh == 3 && plan.kw == 3)
    channel = flatChannel<3, 3>;
  else if (plan.kh == 5 && plan.kw == 5)
    channel = flatChannel<5, 5>;
  const size_t planeIn = size_t(height) * width;
  const size_t taps = size_t(plan.taps);
  for (size_t c = c0; c < c1; ++c)
    channel(plan, input + c * planeIn, weight + c * taps,
            epilogue.bias ? epilogue.bias[c] : 0.f, act, output + c * planeOut);
  return true;
}

} // namespace runtime
} // namespace sparseloom
