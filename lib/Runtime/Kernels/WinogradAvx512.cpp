//===- WinogradAvx512.cpp - Winograd F(2x2, 3x3) transforms, 16 tiles a time //
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The input and output transforms of Ops/ConvWinograd.cpp (FastOps.h,
// winogradInputAvx512 / winogradOutputAvx512). Both work on sixteen
// horizontally adjacent 2x2 output tiles at once, one tile per lane: tile t
// of a tile row reads input columns 2t .. 2t+3, so the four columns of every
// tile are the even and odd lanes of two 32-float loads, compacted by one
// permute each (padding lanes are masked off the loads and read as zero).
// The output transform writes each tile's two columns interleaved back into
// the image row with two permutes.
//
//   V = B^T d B,   Y = A^T M A   (Lavin & Gray, "Fast Algorithms for
//   Convolutional Neural Networks", 2016; F(2x2, 3x3))
//
// with B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1] and
// A^T = [1 1 1 0; 0 1 -1 -1]: additions and subtractions only, so each
// element's value does not depend on the lane or the thread that computed it.
//
//===----------------------------------------------------------------------===//

#include "Avx512Lanes.h"
#include "FastOps.h"

namespace sparseloom {
namespace runtime {

namespace {

/// 16 floats of `row` from `index`, zero where outside [0, w).
inline __m512 loadRow(const float *row, int64_t w, int64_t index) {
  return _mm512_maskz_loadu_ps(laneRange(-index, w - index),
                               floatAt(row, index));
}

} // namespace

void winogradInputAvx512(const WinogradTiles &g, const float *x, int64_t th0,
                         int64_t th1, int64_t c0, int64_t c1, float *v,
                         size_t ldv, size_t vStride) {
  const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20,
                                          22, 24, 26, 28, 30);
  const __m512i odds = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21,
                                         23, 25, 27, 29, 31);
  for (int64_t c = c0; c < c1; ++c) {
    const float *xc = x + c * g.h * g.w;
    for (int64_t th = th0; th < th1; ++th) {
      for (int64_t tw = 0; tw < g.tilesW; tw += 16) {
        const __mmask16 tiles = laneRange(0, g.tilesW - tw);
        const int64_t col = 2 * tw - g.pl;
        __m512 d[4][4];
        for (int i = 0; i < 4; ++i) {
          const int64_t ih = 2 * th - g.pt + i;
          if (ih < 0 || ih >= g.h) {
            for (int j = 0; j < 4; ++j)
              d[i][j] = _mm512_setzero_ps();
            continue;
          }
          const float *row = xc + ih * g.w;
          const __m512 a0 = loadRow(row, g.w, col);
          const __m512 a1 = loadRow(row, g.w, col + 16);
          const __m512 b0 = loadRow(row, g.w, col + 2);
          const __m512 b1 = loadRow(row, g.w, col + 18);
          d[i][0] = _mm512_permutex2var_ps(a0, evens, a1);
          d[i][1] = _mm512_permutex2var_ps(a0, odds, a1);
          d[i][2] = _mm512_permutex2var_ps(b0, evens, b1);
          d[i][3] = _mm512_permutex2var_ps(b0, odds, b1);
        }
        // t = B^T d (rows), then V = t B (columns).
        __m512 t[4][4];
        for (int j = 0; j < 4; ++j) {
          t[0][j] = _mm512_sub_ps(d[0][j], d[2][j]);
          t[1][j] = _mm512_add_ps(d[1][j], d[2][j]);
          t[2][j] = _mm512_sub_ps(d[2][j], d[1][j]);
          t[3][j] = _mm512_sub_ps(d[1][j], d[3][j]);
        }
        float *out = v + c * ldv + (th - th0) * g.tilesW + tw;
        for (int i = 0; i < 4; ++i) {
          const __m512 r0 = _mm512_sub_ps(t[i][0], t[i][2]);
          const __m512 r1 = _mm512_add_ps(t[i][1], t[i][2]);
          const __m512 r2 = _mm512_sub_ps(t[i][2], t[i][1]);
          const __m512 r3 = _mm512_sub_ps(t[i][1], t[i][3]);
          _mm512_mask_storeu_ps(out + (4 * i + 0) * vStride, tiles, r0);
          _mm512_mask_storeu_ps(out + (4 * i + 1) * vStride, tiles, r1);
          _mm512_mask_storeu_ps(out + (4 * i + 2) * vStride, tiles, r2);
          _mm512_mask_storeu_ps(out + (4 * i + 3) * vStride, tiles, r3);
        }
      }
    }
  }
}

void winogradOutputAvx512(const WinogradTiles &g, const float *m, int64_t th0,
                          int64_t th1, int64_t m0, int64_t m1, size_t ldm,
                          size_t mStride, const Epilogue &e, float *y) {
  // Tile lane t's two columns go to output columns 2t and 2t + 1.
  const __m512i low =
      _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i high = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28,
                                         13, 29, 14, 30, 15, 31);
  const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20,
                                          22, 24, 26, 28, 30);
  const __m512i odds = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21,
                                         23, 25, 27, 29, 31);
  const int64_t plane = g.oh * g.ow;
  const Act16 act(e);
  for (int64_t o = m0; o < m1; ++o) {
    const __m512 bias = _mm512_set1_ps(e.bias ? e.bias[o] : 0.f);
    for (int64_t th = th0; th < th1; ++th) {
      for (int64_t tw = 0; tw < g.tilesW; tw += 16) {
        const __mmask16 tiles = laneRange(0, g.tilesW - tw);
        const float *src = m + o * ldm + (th - th0) * g.tilesW + tw;
        __m512 s[4][2];
        for (int i = 0; i < 4; ++i) {
          const __m512 q0 = _mm512_maskz_loadu_ps(tiles, src + 4 * i * mStride);
          const __m512 q1 =
              _mm512_maskz_loadu_ps(tiles, src + (4 * i + 1) * mStride);
          const __m512 q2 =
              _mm512_maskz_loadu_ps(tiles, src + (4 * i + 2) * mStride);
          const __m512 q3 =
              _mm512_maskz_loadu_ps(tiles, src + (4 * i + 3) * mStride);
          s[i][0] = _mm512_add_ps(_mm512_add_ps(q0, q1), q2);
          s[i][1] = _mm512_sub_ps(_mm512_sub_ps(q1, q2), q3);
        }
        const int64_t col = 2 * tw;
        // Output columns [col, col + 32) that exist.
        const int64_t valid = g.ow - col;
        for (int i = 0; i < 2; ++i) {
          const int64_t oh = 2 * th + i;
          if (oh >= g.oh)
            break;
          __m512 out[2];
          for (int j = 0; j < 2; ++j) {
            const __m512 r =
                i == 0
                    ? _mm512_add_ps(_mm512_add_ps(s[0][j], s[1][j]), s[2][j])
                    : _mm512_sub_ps(_mm512_sub_ps(s[1][j], s[2][j]), s[3][j]);
            out[j] = _mm512_add_ps(r, bias);
          }
          float *row = y + o * plane + oh * g.ow + col;
          if (e.residual) {
            // The same order of roundings as a product's store: the biased
            // sum, then the residual, then the activation.
            const float *z = e.residual + o * e.residualLd + oh * g.ow + col;
            const __m512 z0 = _mm512_maskz_loadu_ps(laneRange(0, valid), z);
            const __m512 z1 =
                _mm512_maskz_loadu_ps(laneRange(0, valid - 16), z + 16);
            out[0] =
                _mm512_add_ps(out[0], _mm512_permutex2var_ps(z0, evens, z1));
            out[1] =
                _mm512_add_ps(out[1], _mm512_permutex2var_ps(z0, odds, z1));
          }
          for (int j = 0; j < 2; ++j)
            out[j] = act(out[j]);
          _mm512_mask_storeu_ps(row, laneRange(0, valid),
                                _mm512_permutex2var_ps(out[0], low, out[1]));
          _mm512_mask_storeu_ps(row + 16, laneRange(0, valid - 16),
                                _mm512_permutex2var_ps(out[0], high, out[1]));
        }
      }
    }
  }
}

} // namespace runtime
} // namespace sparseloom
