//===- Im2colAvx512.cpp - Unfolding a conv input with masked loads --------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The AVX-512 form of Conv.cpp's im2col (FastOps.h, im2colAvx512). The
// portable loop copies each output row's valid columns with memcpy and fills
// the padding with std::fill: three library calls per 7-56-float segment,
// and one scalar load and store per element at stride 2 (the ResNet stem and
// the stride-2 3x3 convs). Together that was about an eighth of a dense
// ResNet-18 inference. Here every 16 output columns are one masked load (the
// lanes that fall in the padding are masked off, so they read as zero and
// never touch memory) and one masked store; at stride 2 two loads of 16
// source floats are compacted to the 16 even ones by one permute.
//
// It copies values only, so the unfolded matrix is exactly the portable
// loop's.
//
//===----------------------------------------------------------------------===//

#include "Avx512Lanes.h"
#include "FastOps.h"

namespace sparseloom {
namespace runtime {

void unfoldSegmentAvx512(const float *xr, int64_t w, int64_t src,
                         int64_t stride, float *dst, int64_t count) {
  if (stride == 1) {
    for (int64_t t = 0; t < count; t += 16) {
      const int64_t s = src + t;
      const __mmask16 valid = laneRange(-s, w - s) & laneRange(0, count - t);
      _mm512_mask_storeu_ps(dst + t, laneRange(0, count - t),
                            _mm512_maskz_loadu_ps(valid, floatAt(xr, s)));
    }
    return;
  }
  if (stride == 2) {
    const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18,
                                            20, 22, 24, 26, 28, 30);
    for (int64_t t = 0; t < count; t += 16) {
      const int64_t s = src + 2 * t;
      // Source lanes past the segment's last column are not needed; they
      // are read only if they lie in the row (harmless) and then dropped by
      // the store mask.
      const __m512 lo =
          _mm512_maskz_loadu_ps(laneRange(-s, w - s), floatAt(xr, s));
      const __m512 hi = _mm512_maskz_loadu_ps(laneRange(-s - 16, w - s - 16),
                                              floatAt(xr, s + 16));
      _mm512_mask_storeu_ps(dst + t, laneRange(0, count - t),
                            _mm512_permutex2var_ps(lo, evens, hi));
    }
    return;
  }
  for (int64_t t = 0; t < count; ++t) {
    const int64_t s = src + t * stride;
    dst[t] = s >= 0 && s < w ? xr[s] : 0.f;
  }
}

void unfoldRowsStride2Avx512(const float *x, int64_t rowStep, int64_t rows,
                             int64_t w, int64_t src, float *dst,
                             int64_t count) {
  const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20,
                                          22, 24, 26, 28, 30);
  // Per vector of a row: the two load masks and the store mask.
  constexpr int64_t kMaxVectors = 32;
  const int64_t vectors = (count + 15) / 16;
  if (vectors > kMaxVectors) {
    for (int64_t r = 0; r < rows; ++r)
      unfoldSegmentAvx512(x + r * rowStep, w, src, 2, dst + r * count, count);
    return;
  }
  __mmask16 lo[kMaxVectors], hi[kMaxVectors], store[kMaxVectors];
  for (int64_t v = 0; v < vectors; ++v) {
    const int64_t t = 16 * v, s = src + 2 * t;
    lo[v] = laneRange(-s, w - s);
    hi[v] = laneRange(-s - 16, w - s - 16);
    store[v] = laneRange(0, count - t);
  }
  for (int64_t r = 0; r < rows; ++r) {
    const float *xr = x + r * rowStep;
    float *out = dst + r * count;
    for (int64_t v = 0; v < vectors; ++v) {
      const int64_t s = src + 32 * v;
      const __m512 a = _mm512_maskz_loadu_ps(lo[v], floatAt(xr, s));
      const __m512 b = _mm512_maskz_loadu_ps(hi[v], floatAt(xr, s + 16));
      _mm512_mask_storeu_ps(out + 16 * v, store[v],
                            _mm512_permutex2var_ps(a, evens, b));
    }
  }
}

void im2colAvx512(const UnfoldGeom &g, const float *x, int64_t p0, int64_t p1,
                  int64_t c0, int64_t c1, float *cols) {
  const int64_t width = p1 - p0;
  for (int64_t c = c0; c < c1; ++c) {
    const float *xc = x + c * g.h * g.w;
    for (int64_t i = 0; i < g.kh; ++i) {
      for (int64_t j = 0; j < g.kw; ++j) {
        float *row = cols + ((c * g.kh + i) * g.kw + j) * width;
        const int64_t shift = j * g.dw - g.pl;
        for (int64_t oh = p0 / g.ow; oh * g.ow < p1; ++oh) {
          // Output columns [a, b) of row oh fall in [p0, p1).
          const int64_t rowStart = oh * g.ow;
          const int64_t a = p0 > rowStart ? p0 - rowStart : 0;
          const int64_t b = p1 < rowStart + g.ow ? p1 - rowStart : g.ow;
          float *seg = row + (rowStart + a - p0);
          const int64_t ih = oh * g.sh - g.pt + i * g.dh;
          if (ih < 0 || ih >= g.h) {
            for (int64_t t = 0; t < b - a; t += 16)
              _mm512_mask_storeu_ps(seg + t, laneRange(0, b - a - t),
                                    _mm512_setzero_ps());
            continue;
          }
          unfoldSegmentAvx512(xc + ih * g.w, g.w, a * g.sw + shift, g.sw, seg,
                              b - a);
        }
      }
    }
  }
}

} // namespace runtime
} // namespace sparseloom
