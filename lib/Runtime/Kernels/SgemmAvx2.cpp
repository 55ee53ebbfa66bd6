//===- SgemmAvx2.cpp - Blocked, packed SGEMM for AVX2+FMA -----------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Dense C = W * B in the Goto/BLIS structure: the activation B is copied, one
// K block (kKC rows) x N block (kNC columns) at a time, into 16-column
// micro-panels in scratch; the weight is already packed in 6-row panels
// (packWeight) or, for sgemmAvx2, packed per block here. A 6x16 register
// tile (sgemm_6x16__avx2) then runs down K with 12 FMAs per step: per step
// it loads two activation vectors and broadcasts six weights, so it is bound
// by the two FMA ports and not by loads.
//
// Threads take (M range, N range) tasks; each packs the activation columns
// it needs into its own scratch slice, so tasks never wait for one another.
// Every output element is summed over K in the same order whichever task or
// tile width computes it, so results do not depend on the thread count.
//
// A single output column (a fully-connected layer at batch 1) is a
// matrix-vector product and memory-bound; it gets its own loop
// (sgemv_6x1__avx2) instead of a 6x16 tile that would be 15/16 padding.
//
// On a CPU with AVX-512F the entry points hand the products (all but the
// matrix-vector one) to SgemmAvx512.cpp, which reads the same packed weights
// and scratch.
//
// The epilogue (last K block) adds the bias, then the residual, then applies
// the activation, each a rounded float operation of its own, so a fused
// residual gives the bits of a product followed by an Add op.
//
// Compiled with -mavx2 -mfma. Helpers are static so that none can leak into
// portable code (see KernelConfig.h).
//
//===----------------------------------------------------------------------===//

#include "FastKernels.h"
#include "KernelConfig.h"
#include "ThreadPool.h"

#include <immintrin.h>

#include <cassert>
#include <cstring>

namespace sparseloom {
namespace runtime {

using namespace kernels;

namespace {

/// maskTable + 8 - n gives a mask selecting the first n (0..8) lanes.
alignas(64) const int32_t kMaskTable[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                            0,  0,  0,  0,  0,  0,  0,  0};

static inline __m256i laneMask(unsigned n) {
  return _mm256_loadu_si256(
      reinterpret_cast<const __m256i *>(kMaskTable + 8 - n));
}

static inline float *alignScratch(void *p) {
  auto v = reinterpret_cast<uintptr_t>(p);
  v = (v + kScratchAlign - 1) / kScratchAlign * kScratchAlign;
  return reinterpret_cast<float *>(v);
}

/// How a finished register tile is combined with C.
struct StoreCtx {
  float *c;
  size_t ldc;
  bool transC;
  float alpha; // scales the product
  /// Adds cScale * C (a later K block, or beta != 0 on the first).
  bool loadC;
  float cScale;
  /// The last K block also applies bias, residual and activation.
  bool last;
  const float *bias;
  /// Laid out like C (transC included), leading dimension residualLd.
  const float *residual;
  size_t residualLd;
  format::Activation act;
  float lo, hi;
};

static inline __m256 activate(__m256 x, const StoreCtx &s) {
  switch (s.act) {
  case format::Activation::None:
    return x;
  case format::Activation::Relu:
    // max/min return their second operand when either is NaN: x goes
    // second so a NaN propagates, as ONNX Relu/Clip (and our reference) do.
    return _mm256_max_ps(_mm256_setzero_ps(), x);
  case format::Activation::Clip:
    return _mm256_min_ps(_mm256_set1_ps(s.hi),
                         _mm256_max_ps(_mm256_set1_ps(s.lo), x));
  }
  return x;
}

static inline float activateScalar(float x, const StoreCtx &s) {
  switch (s.act) {
  case format::Activation::None:
    return x;
  case format::Activation::Relu:
    return x < 0.f ? 0.f : x; // NaN stays NaN
  case format::Activation::Clip:
    x = x < s.lo ? s.lo : x;
    return x > s.hi ? s.hi : x;
  }
  return x;
}

/// Writes rows [row0, row0 + mr) x columns [col0, col0 + nr) of C from the
/// tile acc[6][2] (row r, 8-column half h at acc[2r + h]).
static void storeTile(const StoreCtx &s, const __m256 *acc, size_t row0,
                      size_t col0, unsigned mr, unsigned nr) {
  // The common case, a whole tile of a packed-weight product: straight-line
  // code. At small K the store is a good part of a tile's time.
  if (!s.transC && mr == kMR && nr == kNR && s.alpha == 1.f &&
      (!s.loadC || s.cScale == 1.f)) {
    float *out = s.c + row0 * s.ldc + col0;
    for (unsigned r = 0; r < kMR; ++r, out += s.ldc) {
      __m256 x0 = acc[2 * r], x1 = acc[2 * r + 1];
      if (s.loadC) {
        x0 = _mm256_add_ps(x0, _mm256_loadu_ps(out));
        x1 = _mm256_add_ps(x1, _mm256_loadu_ps(out + 8));
      }
      if (s.last) {
        if (s.bias) {
          const __m256 bias = _mm256_broadcast_ss(s.bias + row0 + r);
          x0 = _mm256_add_ps(x0, bias);
          x1 = _mm256_add_ps(x1, bias);
        }
        if (s.residual) {
          const float *z = s.residual + (row0 + r) * s.residualLd + col0;
          x0 = _mm256_add_ps(x0, _mm256_loadu_ps(z));
          x1 = _mm256_add_ps(x1, _mm256_loadu_ps(z + 8));
        }
        x0 = activate(x0, s);
        x1 = activate(x1, s);
      }
      _mm256_storeu_ps(out, x0);
      _mm256_storeu_ps(out + 8, x1);
    }
    return;
  }
  if (s.transC) {
    alignas(32) float t[kMR][kNR];
    for (unsigned r = 0; r < mr; ++r) {
      _mm256_store_ps(&t[r][0], acc[2 * r]);
      _mm256_store_ps(&t[r][8], acc[2 * r + 1]);
    }
    for (unsigned j = 0; j < nr; ++j) {
      float *out = s.c + (col0 + j) * s.ldc + row0;
      for (unsigned r = 0; r < mr; ++r) {
        float x = t[r][j] * s.alpha;
        if (s.loadC)
          x += s.cScale * out[r];
        if (s.last) {
          if (s.bias)
            x += s.bias[row0 + r];
          if (s.residual)
            x += s.residual[(col0 + j) * s.residualLd + row0 + r];
          x = activateScalar(x, s);
        }
        out[r] = x;
      }
    }
    return;
  }
  const __m256 alpha = _mm256_set1_ps(s.alpha);
  const __m256 cScale = _mm256_set1_ps(s.cScale);
  for (unsigned r = 0; r < mr; ++r) {
    float *out = s.c + (row0 + r) * s.ldc + col0;
    const float *z =
        s.residual ? s.residual + (row0 + r) * s.residualLd + col0 : nullptr;
    const __m256 bias =
        _mm256_set1_ps(s.last && s.bias ? s.bias[row0 + r] : 0.f);
    for (unsigned h = 0; h < 2; ++h) {
      unsigned cols = nr > 8 * h ? nr - 8 * h : 0;
      if (cols == 0)
        break;
      cols = cols > 8 ? 8 : cols;
      float *o = out + 8 * h;
      __m256 x = acc[2 * r + h];
      if (s.alpha != 1.f)
        x = _mm256_mul_ps(x, alpha);
      __m256i mask = laneMask(cols);
      if (s.loadC) {
        __m256 old =
            cols == 8 ? _mm256_loadu_ps(o) : _mm256_maskload_ps(o, mask);
        x = _mm256_fmadd_ps(old, cScale, x);
      }
      if (s.last) {
        x = _mm256_add_ps(x, bias);
        if (z)
          x = _mm256_add_ps(x, cols == 8 ? _mm256_loadu_ps(z + 8 * h)
                                         : _mm256_maskload_ps(z + 8 * h, mask));
        x = activate(x, s);
      }
      if (cols == 8)
        _mm256_storeu_ps(o, x);
      else
        _mm256_maskstore_ps(o, mask, x);
    }
  }
}

// One k step of the 6x16 tile: two activation vectors (ymm12, ymm13), six
// broadcast weights (alternating ymm14, ymm15), twelve FMAs into ymm0-11
// (row r in ymm(2r), ymm(2r+1)). A and B are the byte offsets of the step
// within an unrolled group.
#define SL_K16(A, B)                                                           \
  "vmovaps " B "(%[b]), %%ymm12\n\t"                                           \
  "vmovaps " B "+32(%[b]), %%ymm13\n\t"                                        \
  "vbroadcastss " A "(%[a]), %%ymm14\n\t"                                      \
  "vbroadcastss " A "+4(%[a]), %%ymm15\n\t"                                    \
  "vfmadd231ps %%ymm12, %%ymm14, %%ymm0\n\t"                                   \
  "vfmadd231ps %%ymm13, %%ymm14, %%ymm1\n\t"                                   \
  "vfmadd231ps %%ymm12, %%ymm15, %%ymm2\n\t"                                   \
  "vfmadd231ps %%ymm13, %%ymm15, %%ymm3\n\t"                                   \
  "vbroadcastss " A "+8(%[a]), %%ymm14\n\t"                                    \
  "vbroadcastss " A "+12(%[a]), %%ymm15\n\t"                                   \
  "vfmadd231ps %%ymm12, %%ymm14, %%ymm4\n\t"                                   \
  "vfmadd231ps %%ymm13, %%ymm14, %%ymm5\n\t"                                   \
  "vfmadd231ps %%ymm12, %%ymm15, %%ymm6\n\t"                                   \
  "vfmadd231ps %%ymm13, %%ymm15, %%ymm7\n\t"                                   \
  "vbroadcastss " A "+16(%[a]), %%ymm14\n\t"                                   \
  "vbroadcastss " A "+20(%[a]), %%ymm15\n\t"                                   \
  "vfmadd231ps %%ymm12, %%ymm14, %%ymm8\n\t"                                   \
  "vfmadd231ps %%ymm13, %%ymm14, %%ymm9\n\t"                                   \
  "vfmadd231ps %%ymm12, %%ymm15, %%ymm10\n\t"                                  \
  "vfmadd231ps %%ymm13, %%ymm15, %%ymm11\n\t"

// The 6x8 form: one activation vector (ymm12), accumulators ymm0, 2, .., 10.
#define SL_K8(A, B)                                                            \
  "vmovaps " B "(%[b]), %%ymm12\n\t"                                           \
  "vbroadcastss " A "(%[a]), %%ymm14\n\t"                                      \
  "vbroadcastss " A "+4(%[a]), %%ymm15\n\t"                                    \
  "vfmadd231ps %%ymm12, %%ymm14, %%ymm0\n\t"                                   \
  "vfmadd231ps %%ymm12, %%ymm15, %%ymm2\n\t"                                   \
  "vbroadcastss " A "+8(%[a]), %%ymm14\n\t"                                    \
  "vbroadcastss " A "+12(%[a]), %%ymm15\n\t"                                   \
  "vfmadd231ps %%ymm12, %%ymm14, %%ymm4\n\t"                                   \
  "vfmadd231ps %%ymm12, %%ymm15, %%ymm6\n\t"                                   \
  "vbroadcastss " A "+16(%[a]), %%ymm14\n\t"                                   \
  "vbroadcastss " A "+20(%[a]), %%ymm15\n\t"                                   \
  "vfmadd231ps %%ymm12, %%ymm14, %%ymm8\n\t"                                   \
  "vfmadd231ps %%ymm12, %%ymm15, %%ymm10\n\t"

#define SL_ZERO_ACC                                                            \
  "vxorps %%ymm0, %%ymm0, %%ymm0\n\t"                                          \
  "vxorps %%ymm1, %%ymm1, %%ymm1\n\t"                                          \
  "vxorps %%ymm2, %%ymm2, %%ymm2\n\t"                                          \
  "vxorps %%ymm3, %%ymm3, %%ymm3\n\t"                                          \
  "vxorps %%ymm4, %%ymm4, %%ymm4\n\t"                                          \
  "vxorps %%ymm5, %%ymm5, %%ymm5\n\t"                                          \
  "vxorps %%ymm6, %%ymm6, %%ymm6\n\t"                                          \
  "vxorps %%ymm7, %%ymm7, %%ymm7\n\t"                                          \
  "vxorps %%ymm8, %%ymm8, %%ymm8\n\t"                                          \
  "vxorps %%ymm9, %%ymm9, %%ymm9\n\t"                                          \
  "vxorps %%ymm10, %%ymm10, %%ymm10\n\t"                                       \
  "vxorps %%ymm11, %%ymm11, %%ymm11\n\t"

#define SL_SAVE_ACC                                                            \
  "vmovaps %%ymm0, (%[acc])\n\t"                                               \
  "vmovaps %%ymm1, 32(%[acc])\n\t"                                             \
  "vmovaps %%ymm2, 64(%[acc])\n\t"                                             \
  "vmovaps %%ymm3, 96(%[acc])\n\t"                                             \
  "vmovaps %%ymm4, 128(%[acc])\n\t"                                            \
  "vmovaps %%ymm5, 160(%[acc])\n\t"                                            \
  "vmovaps %%ymm6, 192(%[acc])\n\t"                                            \
  "vmovaps %%ymm7, 224(%[acc])\n\t"                                            \
  "vmovaps %%ymm8, 256(%[acc])\n\t"                                            \
  "vmovaps %%ymm9, 288(%[acc])\n\t"                                            \
  "vmovaps %%ymm10, 320(%[acc])\n\t"                                           \
  "vmovaps %%ymm11, 352(%[acc])\n\t"

#define SL_CLOBBERS                                                            \
  "cc", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",      \
      "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",     \
      "xmm15"

/// sgemm_6x16__avx2 (NV = 2) and its 6x8 tail (NV = 1): the product of a
/// 6-row weight micro-panel `a` (6 floats per k) and a 16-column activation
/// micro-panel `b` (16 floats per k, 32-byte aligned) over kc steps, stored
/// through `s`. The loop is written in assembly because compilers spill some
/// of the twelve accumulators when they schedule intrinsics, which costs a
/// third of the speed; four k steps per iteration.
template <int NV>
static void microKernel(size_t kc, const float *a, const float *b,
                        const StoreCtx &s, size_t row0, size_t col0,
                        unsigned mr, unsigned nr) {
  alignas(32) __m256 acc[12];
  size_t quads = kc / 4, rest = kc % 4;
  // The tile of C is read back after the loop (a later K block adds to it)
  // and is usually not cached; fetching it now hides the miss behind the
  // ~6*kc cycles of FMAs.
  if (!s.transC)
    for (unsigned r = 0; r < mr; ++r) {
      const char *row =
          reinterpret_cast<const char *>(s.c + (row0 + r) * s.ldc + col0);
      _mm_prefetch(row, _MM_HINT_T0);
      _mm_prefetch(row + 60, _MM_HINT_T0);
      // The same for the residual the last K block adds.
      if (s.last && s.residual) {
        const char *z = reinterpret_cast<const char *>(
            s.residual + (row0 + r) * s.residualLd + col0);
        _mm_prefetch(z, _MM_HINT_T0);
        _mm_prefetch(z + 60, _MM_HINT_T0);
      }
    }
  // clang-format off
  if (NV == 2) {
    __asm__ volatile(
        SL_ZERO_ACC
        "test %[quads], %[quads]\n\t"
        "jz 2f\n\t"
        "1:\n\t"
        SL_K16("0", "0") SL_K16("24", "64") SL_K16("48", "128")
        SL_K16("72", "192")
        "add $96, %[a]\n\t"
        "add $256, %[b]\n\t"
        "dec %[quads]\n\t"
        "jnz 1b\n\t"
        "2:\n\t"
        "test %[rest], %[rest]\n\t"
        "jz 4f\n\t"
        "3:\n\t"
        SL_K16("0", "0")
        "add $24, %[a]\n\t"
        "add $64, %[b]\n\t"
        "dec %[rest]\n\t"
        "jnz 3b\n\t"
        "4:\n\t"
        SL_SAVE_ACC
        : [a] "+r"(a), [b] "+r"(b), [quads] "+r"(quads), [rest] "+r"(rest)
        : [acc] "r"(acc)
        : SL_CLOBBERS);
  } else {
    __asm__ volatile(
        SL_ZERO_ACC
        "test %[quads], %[quads]\n\t"
        "jz 2f\n\t"
        "1:\n\t"
        SL_K8("0", "0") SL_K8("24", "64") SL_K8("48", "128")
        SL_K8("72", "192")
        "add $96, %[a]\n\t"
        "add $256, %[b]\n\t"
        "dec %[quads]\n\t"
        "jnz 1b\n\t"
        "2:\n\t"
        "test %[rest], %[rest]\n\t"
        "jz 4f\n\t"
        "3:\n\t"
        SL_K8("0", "0")
        "add $24, %[a]\n\t"
        "add $64, %[b]\n\t"
        "dec %[rest]\n\t"
        "jnz 3b\n\t"
        "4:\n\t"
        SL_SAVE_ACC
        : [a] "+r"(a), [b] "+r"(b), [quads] "+r"(quads), [rest] "+r"(rest)
        : [acc] "r"(acc)
        : SL_CLOBBERS);
  }
  // clang-format on
  storeTile(s, acc, row0, col0, mr, nr);
}

#undef SL_K16
#undef SL_K8
#undef SL_ZERO_ACC
#undef SL_SAVE_ACC
#undef SL_CLOBBERS

/// Transposes the 8x8 block in r0..r7 in place.
static inline void transpose8x8(__m256 &r0, __m256 &r1, __m256 &r2, __m256 &r3,
                                __m256 &r4, __m256 &r5, __m256 &r6,
                                __m256 &r7) {
  __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44),
         u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44),
         u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44),
         u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44),
         u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r0 = _mm256_permute2f128_ps(u0, u4, 0x20);
  r1 = _mm256_permute2f128_ps(u1, u5, 0x20);
  r2 = _mm256_permute2f128_ps(u2, u6, 0x20);
  r3 = _mm256_permute2f128_ps(u3, u7, 0x20);
  r4 = _mm256_permute2f128_ps(u0, u4, 0x31);
  r5 = _mm256_permute2f128_ps(u1, u5, 0x31);
  r6 = _mm256_permute2f128_ps(u2, u6, 0x31);
  r7 = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/// dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols.
static void transposeBlock(const float *src, size_t rows, size_t cols,
                           size_t lds, float *dst, size_t ldd) {
  size_t r = 0;
  for (; r + 8 <= rows; r += 8) {
    size_t c = 0;
    for (; c + 8 <= cols; c += 8) {
      const float *s = src + r * lds + c;
      __m256 x0 = _mm256_loadu_ps(s), x1 = _mm256_loadu_ps(s + lds);
      __m256 x2 = _mm256_loadu_ps(s + 2 * lds),
             x3 = _mm256_loadu_ps(s + 3 * lds);
      __m256 x4 = _mm256_loadu_ps(s + 4 * lds),
             x5 = _mm256_loadu_ps(s + 5 * lds);
      __m256 x6 = _mm256_loadu_ps(s + 6 * lds),
             x7 = _mm256_loadu_ps(s + 7 * lds);
      transpose8x8(x0, x1, x2, x3, x4, x5, x6, x7);
      float *d = dst + c * ldd + r;
      _mm256_storeu_ps(d, x0);
      _mm256_storeu_ps(d + ldd, x1);
      _mm256_storeu_ps(d + 2 * ldd, x2);
      _mm256_storeu_ps(d + 3 * ldd, x3);
      _mm256_storeu_ps(d + 4 * ldd, x4);
      _mm256_storeu_ps(d + 5 * ldd, x5);
      _mm256_storeu_ps(d + 6 * ldd, x6);
      _mm256_storeu_ps(d + 7 * ldd, x7);
    }
    for (; c < cols; ++c)
      for (size_t i = 0; i < 8; ++i)
        dst[c * ldd + r + i] = src[(r + i) * lds + c];
  }
  for (; r < rows; ++r)
    for (size_t c = 0; c < cols; ++c)
      dst[c * ldd + r] = src[r * lds + c];
}

/// Copies B[k0 : k0+kc, n0 : n0+nc] into 16-column micro-panels: panel j
/// holds kc rows of 16 floats (columns past nc zero).
static void packB(const float *b, size_t ldb, bool transB, size_t k0, size_t kc,
                  size_t n0, size_t nc, float *out) {
  for (size_t j = 0; j < nc; j += kNR) {
    const unsigned nr = unsigned(nc - j < kNR ? nc - j : kNR);
    float *panel = out + (j / kNR) * kc * kNR;
    if (!transB) {
      const float *src = b + k0 * ldb + n0 + j;
      if (nr == kNR) {
        for (size_t k = 0; k < kc; ++k) {
          _mm256_store_ps(panel + k * kNR, _mm256_loadu_ps(src + k * ldb));
          _mm256_store_ps(panel + k * kNR + 8,
                          _mm256_loadu_ps(src + k * ldb + 8));
        }
      } else {
        const unsigned lo = nr > 8 ? 8 : nr, hi = nr > 8 ? nr - 8 : 0;
        const __m256i mLo = laneMask(lo), mHi = laneMask(hi);
        for (size_t k = 0; k < kc; ++k) {
          _mm256_store_ps(panel + k * kNR,
                          _mm256_maskload_ps(src + k * ldb, mLo));
          _mm256_store_ps(panel + k * kNR + 8,
                          _mm256_maskload_ps(src + k * ldb + 8, mHi));
        }
      }
      continue;
    }
    // B[k][n] = b[n * ldb + k]: rows of the source are panel columns.
    const float *src = b + (n0 + j) * ldb + k0;
    transposeBlock(src, nr, kc, ldb, panel, kNR);
    if (nr < kNR)
      for (size_t k = 0; k < kc; ++k)
        for (unsigned jj = nr; jj < kNR; ++jj)
          panel[k * kNR + jj] = 0.f;
  }
}

/// Copies rows [m0, m0+mc) x K range [k0, k0+kc) of A into 6-row panels
/// (6 floats per k, rows past mc zero), the layout of a packed weight.
static void packA(const float *a, size_t lda, bool transA, size_t m0, size_t mc,
                  size_t k0, size_t kc, float *out) {
  for (size_t i = 0; i < mc; i += kMR) {
    const size_t mr = mc - i < kMR ? mc - i : kMR;
    float *panel = out + (i / kMR) * kc * kMR;
    for (size_t k = 0; k < kc; ++k) {
      float *dst = panel + k * kMR;
      for (size_t r = 0; r < kMR; ++r) {
        size_t row = m0 + i + r, col = k0 + k;
        dst[r] =
            r >= mr ? 0.f : (transA ? a[col * lda + row] : a[row * lda + col]);
      }
    }
  }
}

/// One product, as the tasks see it.
struct GemmProblem {
  size_t m, n, k;
  // Weight side: packed (a = packedW, panels of K*6 floats) or raw.
  const float *a;
  size_t lda;
  bool aPacked;
  bool transA;
  const float *b;
  size_t ldb;
  bool transB;
  float *c;
  size_t ldc;
  bool transC;
  float alpha, beta;
  const Epilogue *epilogue;
};

/// Computes rows [m0, m1) and columns [n0, n1) (m0 a multiple of 6).
static void gemmTask(const GemmProblem &p, size_t m0, size_t m1, size_t n0,
                     size_t n1, float *bPack, float *aPack) {
  StoreCtx s;
  s.c = p.c;
  s.ldc = p.ldc;
  s.transC = p.transC;
  s.alpha = p.alpha;
  s.bias = p.epilogue ? p.epilogue->bias : nullptr;
  s.residual = p.epilogue ? p.epilogue->residual : nullptr;
  s.residualLd = p.epilogue ? p.epilogue->residualLd : 0;
  s.act = p.epilogue ? p.epilogue->activation : format::Activation::None;
  s.lo = p.epilogue ? p.epilogue->actMin : 0.f;
  s.hi = p.epilogue ? p.epilogue->actMax : 0.f;
  for (size_t jc = n0; jc < n1; jc += kNC) {
    const size_t nc = n1 - jc < kNC ? n1 - jc : kNC;
    for (size_t pc = 0; pc < p.k; pc += kKC) {
      const size_t kc = p.k - pc < kKC ? p.k - pc : kKC;
      packB(p.b, p.ldb, p.transB, pc, kc, jc, nc, bPack);
      s.last = pc + kc == p.k;
      if (pc == 0) {
        s.loadC = p.beta != 0.f;
        s.cScale = p.beta;
      } else {
        s.loadC = true;
        s.cScale = 1.f;
      }
      for (size_t ic = m0; ic < m1; ic += kMC) {
        const size_t mc = m1 - ic < kMC ? m1 - ic : kMC;
        const float *aBlock;
        size_t panelStride;
        if (p.aPacked) {
          aBlock = p.a + (ic / kMR) * p.k * kMR + pc * kMR;
          panelStride = p.k * kMR;
        } else {
          packA(p.a, p.lda, p.transA, ic, mc, pc, kc, aPack);
          aBlock = aPack;
          panelStride = kc * kMR;
        }
        for (size_t jr = 0; jr < nc; jr += kNR) {
          const unsigned nr = unsigned(nc - jr < kNR ? nc - jr : kNR);
          const float *bPanel = bPack + (jr / kNR) * kc * kNR;
          for (size_t ir = 0; ir < mc; ir += kMR) {
            const unsigned mr = unsigned(mc - ir < kMR ? mc - ir : kMR);
            const float *aPanel = aBlock + (ir / kMR) * panelStride;
            if (nr > 8)
              microKernel<2>(kc, aPanel, bPanel, s, ic + ir, jc + jr, mr, nr);
            else
              microKernel<1>(kc, aPanel, bPanel, s, ic + ir, jc + jr, mr, nr);
          }
        }
      }
    }
  }
}

/// Splits the product into tasks: N first (no duplicated packing), then M
/// in ranges of at least 4 panels when N alone gives too few tasks.
static void planTasks(size_t m, size_t n, size_t k, unsigned threads,
                      size_t &mChunks, size_t &nChunks) {
  mChunks = nChunks = 1;
  // Below ~64K multiply-adds the fork-join costs more than it saves.
  if (threads <= 1 || m * n * k < (size_t(1) << 16))
    return;
  const size_t target = size_t(threads) * 3;
  const size_t nTiles = (n + kNR - 1) / kNR;
  const size_t mPanels = (m + kMR - 1) / kMR;
  nChunks = nTiles < target ? nTiles : target;
  size_t wantM = (target + nChunks - 1) / nChunks;
  size_t maxM = mPanels / 4 ? mPanels / 4 : 1;
  mChunks = wantM < maxM ? wantM : maxM;
}

static void runGemm(const GemmProblem &p, float *scratch, ThreadPool *pool) {
  const unsigned threads = pool ? pool->threads() : 1;
  size_t mChunks, nChunks;
  planTasks(p.m, p.n, p.k, threads, mChunks, nChunks);
  const size_t bSlice = sliceBytes(packedBFloats(uint32_t(p.n), uint32_t(p.k)));
  const size_t aSlice =
      p.aPacked ? 0 : sliceBytes(packedAFloats(uint32_t(p.m), uint32_t(p.k)));
  char *base = reinterpret_cast<char *>(scratch);
  auto task = [&](unsigned thread, size_t begin, size_t end) {
    char *slice = base + thread * (bSlice + aSlice);
    float *bPack = alignScratch(slice);
    float *aPack = p.aPacked ? nullptr : alignScratch(slice + bSlice);
    const size_t mPanels = (p.m + kMR - 1) / kMR;
    const size_t nTiles = (p.n + kNR - 1) / kNR;
    for (size_t t = begin; t < end; ++t) {
      size_t mi = t / nChunks, ni = t % nChunks, pb, pe, tb, te;
      ThreadPool::splitRange(mPanels, mChunks, mi, pb, pe);
      ThreadPool::splitRange(nTiles, nChunks, ni, tb, te);
      size_t m1 = pe * kMR < p.m ? pe * kMR : p.m;
      size_t n1 = te * kNR < p.n ? te * kNR : p.n;
      if (pb * kMR < m1 && tb * kNR < n1)
        gemmTask(p, pb * kMR, m1, tb * kNR, n1, bPack, aPack);
    }
  };
  const size_t tasks = mChunks * nChunks;
  if (!pool || tasks == 1)
    task(0, 0, tasks);
  else
    pool->parallelForWithThread(tasks, 1, task);
}

/// sgemv_6x1__avx2: y = W x for one packed 6-row panel range. Four k steps
/// of a panel are 24 consecutive floats = three vectors whose lanes belong
/// to rows (0..5,0,1), (2..5,0..3), (4,5,0..5); x is permuted to match, and
/// the lanes of each row are summed at the end.
static void gemvPanels(const float *packedW, size_t k, const float *x,
                       size_t p0, size_t p1, float *sums) {
  const __m256i i0 = _mm256_setr_epi32(0, 0, 0, 0, 0, 0, 1, 1);
  const __m256i i1 = _mm256_setr_epi32(1, 1, 1, 1, 2, 2, 2, 2);
  const __m256i i2 = _mm256_setr_epi32(2, 2, 3, 3, 3, 3, 3, 3);
  for (size_t p = p0; p < p1; ++p) {
    const float *w = packedW + p * k * kMR;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(),
           a2 = _mm256_setzero_ps(), b0 = _mm256_setzero_ps(),
           b1 = _mm256_setzero_ps(), b2 = _mm256_setzero_ps();
    size_t kk = 0;
    for (; kk + 8 <= k; kk += 8) {
      __m256 xv = _mm256_broadcast_ps(reinterpret_cast<const __m128 *>(x + kk));
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w), _mm256_permutevar8x32_ps(xv, i0),
                           a0);
      a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + 8),
                           _mm256_permutevar8x32_ps(xv, i1), a1);
      a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w + 16),
                           _mm256_permutevar8x32_ps(xv, i2), a2);
      xv = _mm256_broadcast_ps(reinterpret_cast<const __m128 *>(x + kk + 4));
      b0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + 24),
                           _mm256_permutevar8x32_ps(xv, i0), b0);
      b1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + 32),
                           _mm256_permutevar8x32_ps(xv, i1), b1);
      b2 = _mm256_fmadd_ps(_mm256_loadu_ps(w + 40),
                           _mm256_permutevar8x32_ps(xv, i2), b2);
      w += 8 * kMR;
    }
    alignas(32) float l[24];
    _mm256_store_ps(l, _mm256_add_ps(a0, b0));
    _mm256_store_ps(l + 8, _mm256_add_ps(a1, b1));
    _mm256_store_ps(l + 16, _mm256_add_ps(a2, b2));
    float *y = sums + (p - p0) * kMR;
    for (unsigned r = 0; r < kMR; ++r)
      y[r] = 0.f;
    for (unsigned lane = 0; lane < 24; ++lane)
      y[lane % kMR] += l[lane];
    for (; kk < k; ++kk, w += kMR)
      for (unsigned r = 0; r < kMR; ++r)
        y[r] += w[r] * x[kk];
  }
}

static void runGemv(const float *packedW, size_t m, size_t k, const float *b,
                    size_t ldb, bool transB, float *c, size_t ldc, bool transC,
                    const Epilogue &epilogue, float *scratch,
                    ThreadPool *pool) {
  // Column 0 of B: contiguous when transposed ([1, K]) or when ldb is 1.
  const float *x = b;
  if (!transB && ldb != 1) {
    float *copy = alignScratch(scratch);
    for (size_t kk = 0; kk < k; ++kk)
      copy[kk] = b[kk * ldb];
    x = copy;
  }
  StoreCtx s{};
  s.act = epilogue.activation;
  s.lo = epilogue.actMin;
  s.hi = epilogue.actMax;
  const size_t panels = (m + kMR - 1) / kMR;
  auto task = [&](size_t begin, size_t end) {
    // 16 panels at a time keeps the partial sums on the stack.
    constexpr size_t kBatch = 16;
    float sums[kBatch * kMR];
    for (size_t p0 = begin; p0 < end; p0 += kBatch) {
      size_t p1 = p0 + kBatch < end ? p0 + kBatch : end;
      gemvPanels(packedW, k, x, p0, p1, sums);
      for (size_t row = p0 * kMR; row < p1 * kMR && row < m; ++row) {
        float v = sums[row - p0 * kMR];
        if (epilogue.bias)
          v += epilogue.bias[row];
        // C[row][0] sits at row * ldc, or at row when C is transposed; the
        // residual likewise.
        if (epilogue.residual)
          v += epilogue.residual[transC ? row : row * epilogue.residualLd];
        c[transC ? row : row * ldc] = activateScalar(v, s);
      }
    }
  };
  const unsigned threads = pool ? pool->threads() : 1;
  if (!pool || threads == 1 || m * k < (size_t(1) << 15))
    task(0, panels);
  else
    pool->parallelFor(panels, (panels + 2 * threads - 1) / (2 * threads), task);
}

/// C = epilogue(0) or beta * C: the products with K = 0.
static void emptyProduct(size_t m, size_t n, float *c, size_t ldc, bool transC,
                         float beta, const Epilogue *epilogue) {
  StoreCtx s{};
  if (epilogue) {
    s.act = epilogue->activation;
    s.lo = epilogue->actMin;
    s.hi = epilogue->actMax;
  }
  for (size_t i = 0; i < m; ++i)
    for (size_t j = 0; j < n; ++j) {
      float &out = transC ? c[j * ldc + i] : c[i * ldc + j];
      if (epilogue) {
        float v = epilogue->bias ? epilogue->bias[i] : 0.f;
        if (epilogue->residual)
          v += epilogue->residual[transC ? j * epilogue->residualLd + i
                                         : i * epilogue->residualLd + j];
        out = activateScalar(v, s);
      } else
        out = beta == 0.f ? 0.f : beta * out;
    }
}

} // namespace

const void *sgemvCode() { return reinterpret_cast<const void *>(&runGemv); }

void sgemmPackedTransAvx2(const float *packedW, uint32_t m, uint32_t n,
                          uint32_t k, const float *b, size_t ldb, bool transB,
                          float *c, size_t ldc, bool transC,
                          const Epilogue &epilogue, float *scratch,
                          ThreadPool *pool) {
  assert(packedW && b && c && scratch && "null operand");
  if (m == 0 || n == 0)
    return;
  if (k == 0)
    return emptyProduct(m, n, c, ldc, transC, 0.f, &epilogue);
  if (n == 1)
    return runGemv(packedW, m, k, b, ldb, transB, c, ldc, transC, epilogue,
                   scratch, pool);
  if (cpuHasAvx512f())
    return sgemmPackedTransAvx512(packedW, m, n, k, b, ldb, transB, c, ldc,
                                  transC, epilogue, scratch, pool);
  GemmProblem p{m,   n,      k, packedW, 0,      true, false, b,
                ldb, transB, c, ldc,     transC, 1.f,  0.f,   &epilogue};
  runGemm(p, scratch, pool);
}

void sgemmPackedAvx2(const float *packedW, uint32_t m, uint32_t n, uint32_t k,
                     const float *b, size_t ldb, float *c, size_t ldc,
                     const Epilogue &epilogue, float *scratch,
                     ThreadPool *pool) {
  sgemmPackedTransAvx2(packedW, m, n, k, b, ldb, false, c, ldc, false, epilogue,
                       scratch, pool);
}

void sgemmAvx2(uint32_t m, uint32_t n, uint32_t k, const float *a, size_t lda,
               bool transA, const float *b, size_t ldb, bool transB, float *c,
               size_t ldc, float alpha, float beta, float *scratch,
               ThreadPool *pool) {
  assert(a && b && c && scratch && "null operand");
  if (m == 0 || n == 0)
    return;
  if (k == 0 || alpha == 0.f)
    return emptyProduct(m, n, c, ldc, false, beta, nullptr);
  if (cpuHasAvx512f())
    return sgemmAvx512(m, n, k, a, lda, transA, b, ldb, transB, c, ldc, alpha,
                       beta, scratch, pool);
  GemmProblem p{m,   n,      k, a,   lda,   false, transA, b,
                ldb, transB, c, ldc, false, alpha, beta,   nullptr};
  runGemm(p, scratch, pool);
}

void transposeAvx2(const float *src, uint32_t rows, uint32_t cols, size_t lds,
                   float *dst, size_t ldd, ThreadPool *pool) {
  assert((src && dst) || rows == 0 || cols == 0);
  // Bands of 64 source rows: each task writes a 64-float stripe of every
  // destination row.
  constexpr size_t kBand = 64;
  const size_t bands = (size_t(rows) + kBand - 1) / kBand;
  auto task = [&](size_t begin, size_t end) {
    for (size_t band = begin; band < end; ++band) {
      size_t r0 = band * kBand;
      size_t r1 = r0 + kBand < rows ? r0 + kBand : rows;
      transposeBlock(src + r0 * lds, r1 - r0, cols, lds, dst + r0, ldd);
    }
  };
  if (!pool || size_t(rows) * cols < (size_t(1) << 15))
    task(0, bands);
  else
    pool->parallelFor(bands, 1, task);
}

} // namespace runtime
} // namespace sparseloom
