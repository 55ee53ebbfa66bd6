//===- SgemmAvx512.cpp - Blocked, packed SGEMM for AVX-512F ---------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The AVX-512 form of SgemmAvx2.cpp's products, used in their place when
// cpuHasAvx512f() (the entry points of SgemmAvx2.cpp forward here), so the
// compiler's programs and packed weights stay exactly as they are: the
// weight is still read in panels of kMR = 6 rows (packWeight's layout).
//
// The register tile is 6 x 64 (sgemm_6x64__avx512f): per k step it loads
// four activation vectors, broadcasts six weights and issues 24 FMAs into 24
// of the 32 zmm registers. The activation micro-panel of one K block (kc x 64
// floats, kc <= kKC512 = 128: 32 KiB) stays in L1 while the microkernel
// sweeps the weight panels of an M block, whose 6-float steps come from L2
// or further (each tile prefetches the next weight panel as it goes).
// Narrower tails (the last columns of a task) use 6x48, 6x32 and 6x16 tiles
// of the same code and masked loads/stores, so no column is computed twice.
//
// Every output element is a chain of FMAs over k in order within a K block,
// and the K blocks are added in order, so a result does not depend on the
// thread count or on which tile width computed it. The K blocks are cut
// evenly (K = 147 gives 74 + 73, not 128 + 19).
//
// Compiled with -mavx512f (plus -mavx2 -mfma); everything is static or in
// an anonymous namespace so that nothing compiled for AVX-512 can be picked
// by the linker for portable code (see KernelConfig.h).
//
//===----------------------------------------------------------------------===//

#include "FastKernels.h"
#include "KernelConfig.h"
#include "ThreadPool.h"

// GCC 12 reports its own _mm512_max_ps, _mm512_min_ps and
// _mm512_zextps256_ps512 as reading an uninitialised value (the "undefined"
// pass-through of their masked builtins) once they are inlined: a false
// positive.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cassert>
#include <cstring>

namespace sparseloom {
namespace runtime {

using namespace kernels;

namespace {

/// Widest register tile, in columns (four zmm vectors).
constexpr size_t kNR512 = 64;
/// Largest K block: a 64-column activation micro-panel of kKC512 rows is
/// 32 KiB and fits L1 (48 KiB) with the weight steps streaming past it.
constexpr size_t kKC512 = 128;
/// Weight rows per M block: 48 panels x kKC512 x 6 floats = 144 KiB of the
/// packed weight, reused from L2 for every activation micro-panel.
constexpr size_t kMC512 = 288;
/// Columns per N block (kKC512 x kNC512 floats = 512 KiB, in L2).
constexpr size_t kNC512 = 1024;
/// Tasks split N in whole register tiles.
constexpr size_t kNU = kNR512;
/// At most this many columns past a tile's last full 16-lane vector are
/// computed as 6-lane row vectors (one FMA per column per k step) instead of
/// a masked 16-lane vector (six FMAs per k step, one per weight row).
/// ResNet's last stage has N = 49 = 3 x 16 + 1 columns: its tiles did 24
/// FMAs per k step for 49 columns' worth of work, now 18 + 1.
constexpr unsigned kMaxExtra = 3;

// The scratch that PackedWeight.cpp sizes for the AVX2 kernels must hold
// this file's packed activation block too.
static_assert(kKC512 <= kKC && kNC512 <= kNC,
              "AVX-512 blocks must fit the AVX2 scratch sizing");
static_assert(kMC512 % kMR == 0, "M blocks are whole panels");

static inline float *alignScratch(void *p) {
  auto v = reinterpret_cast<uintptr_t>(p);
  v = (v + kScratchAlign - 1) / kScratchAlign * kScratchAlign;
  return reinterpret_cast<float *>(v);
}

/// The first n (0..16) lanes.
static inline __mmask16 laneMask(size_t n) {
  return n >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1u);
}

/// The columns of an nr-column tile that are computed as row vectors (see
/// kMaxExtra), 0 for none. Plain layouts only: the transposed forms keep
/// whole vectors.
static inline unsigned extraColumns(size_t nr, bool transB, bool transC) {
  const unsigned rest = unsigned(nr % 16);
  return !transB && !transC && rest <= kMaxExtra ? rest : 0;
}

/// How a finished register tile is combined with C (as in SgemmAvx2.cpp).
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
  /// Laid out like C (Epilogue::residual), or null.
  const float *residual;
  size_t residualLd;
  format::Activation act;
  float lo, hi;
};

static inline __m512 activate(__m512 x, const StoreCtx &s) {
  switch (s.act) {
  case format::Activation::None:
    return x;
  case format::Activation::Relu:
    // vmaxps returns its second operand when either is NaN: x goes second
    // so a NaN propagates, as ONNX Relu/Clip (and our reference) do.
    return _mm512_max_ps(_mm512_setzero_ps(), x);
  case format::Activation::Clip:
    return _mm512_min_ps(_mm512_set1_ps(s.hi),
                         _mm512_max_ps(_mm512_set1_ps(s.lo), x));
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
/// tile acc (row r, vector v at acc[r * NV + v]). The arithmetic is the
/// AVX2 store's: alpha * acc, + cScale * C (one fma; with cScale 1 that is
/// the plain sum), + bias, activation.
template <int NV>
static inline __attribute__((always_inline)) void
storeTile(const StoreCtx &s, const __m512 *acc, size_t row0, size_t col0,
          unsigned mr, unsigned nr) {
  if (s.transC) {
    // Element by element, once per K block: correct but slow, so Gemm and
    // MatMul (lib/Runtime/Ops/Gemm.cpp) compute the row-major product and
    // transpose it once instead.
    alignas(64) float t[kMR][NV * 16];
    for (unsigned r = 0; r < kMR; ++r)
      for (int v = 0; v < NV; ++v)
        _mm512_store_ps(&t[r][16 * v], acc[r * NV + v]);
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
  const __m512 alpha = _mm512_set1_ps(s.alpha);
  const __m512 cScale = _mm512_set1_ps(s.cScale);
  for (unsigned r = 0; r < mr; ++r) {
    float *out = s.c + (row0 + r) * s.ldc + col0;
    const __m512 bias =
        _mm512_set1_ps(s.last && s.bias ? s.bias[row0 + r] : 0.f);
    for (int v = 0; v < NV; ++v) {
      const size_t done = size_t(16) * v;
      if (done >= nr)
        break;
      const __mmask16 mask = laneMask(nr - done);
      float *o = out + done;
      __m512 x = acc[r * NV + v];
      if (s.alpha != 1.f)
        x = _mm512_mul_ps(x, alpha);
      if (s.loadC)
        x = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, o), cScale, x);
      if (s.last) {
        x = _mm512_add_ps(x, bias);
        if (s.residual)
          x = _mm512_add_ps(
              x,
              _mm512_maskz_loadu_ps(
                  mask, s.residual + (row0 + r) * s.residualLd + col0 + done));
        x = activate(x, s);
      }
      _mm512_mask_storeu_ps(o, mask, x);
    }
  }
}

/// Writes the E extra columns of a tile (see kMaxExtra): lane r of
/// accx[e] is row row0 + r of column col0 + e. The arithmetic is
/// storeTile's, lane for lane, so a column gets the same bits whichever
/// way its tile computed it.
template <int E>
static inline __attribute__((always_inline)) void
storeExtra(const StoreCtx &s, const __m512 *accx, size_t row0, size_t col0,
           unsigned mr) {
  const __mmask16 rows = laneMask(mr);
  const __m512 bias = s.last && s.bias
                          ? _mm512_maskz_loadu_ps(rows, s.bias + row0)
                          : _mm512_setzero_ps();
  for (int e = 0; e < E; ++e) {
    alignas(64) float t[16] = {};
    float *out = s.c + row0 * s.ldc + col0 + e;
    __m512 x = accx[e];
    if (s.alpha != 1.f)
      x = _mm512_mul_ps(x, _mm512_set1_ps(s.alpha));
    if (s.loadC) {
      for (unsigned r = 0; r < mr; ++r)
        t[r] = out[r * s.ldc];
      x = _mm512_fmadd_ps(_mm512_load_ps(t), _mm512_set1_ps(s.cScale), x);
    }
    if (s.last) {
      x = _mm512_add_ps(x, bias);
      if (s.residual) {
        alignas(64) float z[16] = {};
        const float *zc = s.residual + row0 * s.residualLd + col0 + e;
        for (unsigned r = 0; r < mr; ++r)
          z[r] = zc[r * s.residualLd];
        x = _mm512_add_ps(x, _mm512_load_ps(z));
      }
      x = activate(x, s);
    }
    _mm512_store_ps(t, x);
    for (unsigned r = 0; r < mr; ++r)
      out[r * s.ldc] = t[r];
  }
}

/// sgemm_6x64__avx512f (NV = 4) and its 6x48, 6x32, 6x16 tails: the
/// product of a 6-row weight micro-panel `a` (6 floats per k) and an
/// activation micro-panel `b` (16 * NV floats per k, 64-byte aligned) over
/// kc steps. The accumulators are a fully unrolled array that the compiler
/// keeps in registers (6 * NV + NV + 1 <= 29 of 32 zmm; no spills in the
/// loop, checked on GCC 12 with objdump).
/// E > 0 adds E extra columns after the NV vectors (see kMaxExtra), read
/// from `bx` (E floats per k): per k step one masked load of the six
/// weights as a row vector and one FMA per column. Each lane then runs the
/// same FMA chain as the vector form would, so the bits are the same.
template <int NV, int E>
static void microKernel(size_t kc, const float *a, const float *aNext,
                        const float *b, const float *bx, const StoreCtx &s,
                        size_t row0, size_t col0, unsigned mr, unsigned nr) {
  // The next weight micro-panel is the same K range of the next 6 rows, a
  // whole row of panels (K * 24 bytes) further on: too far for the hardware
  // prefetchers, which stop at page boundaries. With a few activation
  // columns (N = 49 in ResNet's last stage) every weight byte is used once
  // and the kernel would wait on each line; fetching it during this tile,
  // one 24-byte k step per k step, overlaps the fetch with the FMAs
  // (ResNet-18 -11 % CPU time against no prefetch, -4 % against prefetching
  // the whole panel up front). Without a next panel it touches `a` itself.
  const char *pf = reinterpret_cast<const char *>(aNext ? aNext : a);
  // The tile of C is read back after the loop (a later K block adds to it)
  // and is usually not cached: fetching it now hides the miss.
  if (!s.transC && s.loadC)
    for (unsigned r = 0; r < mr; ++r) {
      const char *row =
          reinterpret_cast<const char *>(s.c + (row0 + r) * s.ldc + col0);
      for (int v = 0; v < NV; ++v)
        _mm_prefetch(row + 64 * v, _MM_HINT_T0);
    }
  constexpr int kAcc = int(kMR) * NV > 0 ? int(kMR) * NV : 1;
  constexpr int kExtra = E > 0 ? E : 1;
  __m512 acc[kAcc];
  __m512 accx[kExtra];
#pragma GCC unroll 24
  for (int i = 0; i < kAcc; ++i)
    acc[i] = _mm512_setzero_ps();
#pragma GCC unroll 3
  for (int e = 0; e < kExtra; ++e)
    accx[e] = _mm512_setzero_ps();
  // One k step. The extra columns need the step's six weights as one
  // vector: a plain 8-float load, whose last two lanes (the next step's
  // first weights) go to accumulator lanes that are never stored. A masked
  // load would not read past the panel, but GCC 12 then keeps every
  // accumulator on the stack as well (it treats the builtin as reading any
  // memory), which made N = 49 twice as slow; so only the panel's last
  // step, where 8 floats could run past the weight, copies its six.
  auto step = [&](bool lastStep) __attribute__((always_inline)) {
    __m512 bv[NV > 0 ? NV : 1];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v)
      bv[v] = _mm512_load_ps(b + 16 * v);
#pragma GCC unroll 6
    for (unsigned r = 0; r < kMR; ++r) {
      const __m512 ar = _mm512_set1_ps(a[r]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v)
        acc[r * NV + v] = _mm512_fmadd_ps(ar, bv[v], acc[r * NV + v]);
    }
    if constexpr (E > 0) {
      __m256 six;
      if (lastStep) {
        alignas(32) float copy[8] = {a[0], a[1], a[2], a[3], a[4], a[5]};
        six = _mm256_load_ps(copy);
      } else {
        six = _mm256_loadu_ps(a);
      }
      const __m512 column = _mm512_zextps256_ps512(six);
#pragma GCC unroll 3
      for (int e = 0; e < E; ++e)
        accx[e] = _mm512_fmadd_ps(column, _mm512_set1_ps(bx[e]), accx[e]);
      bx += E;
    }
    _mm_prefetch(pf, _MM_HINT_T0);
    pf += kMR * sizeof(float);
    a += kMR;
    b += 16 * NV;
  };
  if constexpr (E == 0) {
#pragma GCC unroll 2
    for (size_t k = 0; k < kc; ++k)
      step(false);
  } else {
    for (size_t k = 1; k < kc; ++k)
      step(false);
    step(true);
  }
  if constexpr (NV > 0)
    storeTile<NV>(s, acc, row0, col0, mr, nr - unsigned(E));
  if constexpr (E > 0)
    storeExtra<E>(s, accx, row0, col0 + 16 * NV, mr);
}

/// Copies B[k0 : k0+kc, n0 : n0+nc] into micro-panels of 64 columns (the
/// last one roundUp(rest, 16) wide, zero-padded): the panel of columns
/// [j, j+w) starts at out + j * kc and holds kc rows of w floats. A last
/// panel with extra columns (extraColumns, transC given by the caller) holds
/// kc rows of its whole vectors, then kc rows of its E extra columns.
static void packB(const float *b, size_t ldb, bool transB, bool transC,
                  size_t k0, size_t kc, size_t n0, size_t nc, float *out) {
  for (size_t j = 0; j < nc; j += kNR512) {
    const size_t nr = nc - j < kNR512 ? nc - j : kNR512;
    const unsigned extra = extraColumns(nr, transB, transC);
    float *panel = out + j * kc;
    if (extra) {
      const size_t w = nr - extra;
      const float *src = b + k0 * ldb + n0 + j;
      float *tail = panel + kc * w;
      for (size_t k = 0; k < kc; ++k, src += ldb) {
        for (size_t v = 0; v < w; v += 16)
          _mm512_store_ps(panel + k * w + v, _mm512_loadu_ps(src + v));
        for (unsigned e = 0; e < extra; ++e)
          tail[k * extra + e] = src[w + e];
      }
      continue;
    }
    const size_t w = roundUp(nr, 16);
    if (!transB) {
      const float *src = b + k0 * ldb + n0 + j;
      if (nr == kNR512) {
        for (size_t k = 0; k < kc; ++k, src += ldb, panel += kNR512) {
          _mm512_store_ps(panel, _mm512_loadu_ps(src));
          _mm512_store_ps(panel + 16, _mm512_loadu_ps(src + 16));
          _mm512_store_ps(panel + 32, _mm512_loadu_ps(src + 32));
          _mm512_store_ps(panel + 48, _mm512_loadu_ps(src + 48));
        }
      } else {
        for (size_t k = 0; k < kc; ++k, src += ldb, panel += w)
          for (size_t v = 0; v < w; v += 16)
            _mm512_store_ps(panel + v,
                            _mm512_maskz_loadu_ps(laneMask(nr - v), src + v));
      }
      continue;
    }
    // B[k][n] = b[n * ldb + k]: the nr source rows become panel columns.
    transposeAvx2(b + (n0 + j) * ldb + k0, uint32_t(nr), uint32_t(kc), ldb,
                  panel, w, nullptr);
    if (nr < w)
      for (size_t k = 0; k < kc; ++k)
        std::memset(panel + k * w + nr, 0, (w - nr) * sizeof(float));
  }
}

/// Copies rows [m0, m0+mc) x K range [k0, k0+kc) of A into 6-row panels
/// (6 floats per k, rows past mc zero), the layout of a packed weight.
static void packA(const float *a, size_t lda, bool transA, size_t m0, size_t mc,
                  size_t k0, size_t kc, float *out) {
  for (size_t i = 0; i < mc; i += kMR) {
    const size_t mr = mc - i < kMR ? mc - i : kMR;
    float *panel = out + (i / kMR) * kc * kMR;
    if (!transA) {
      // Row by row: each source row is read contiguously.
      for (size_t r = 0; r < kMR; ++r) {
        if (r >= mr) {
          for (size_t k = 0; k < kc; ++k)
            panel[k * kMR + r] = 0.f;
          continue;
        }
        const float *src = a + (m0 + i + r) * lda + k0;
        for (size_t k = 0; k < kc; ++k)
          panel[k * kMR + r] = src[k];
      }
      continue;
    }
    for (size_t k = 0; k < kc; ++k) {
      float *dst = panel + k * kMR;
      const float *src = a + (k0 + k) * lda + m0 + i;
      for (size_t r = 0; r < kMR; ++r)
        dst[r] = r < mr ? src[r] : 0.f;
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

/// The K block length: K cut into ceil(K / kKC512) near-equal blocks.
static size_t blockK(size_t k) {
  const size_t blocks = (k + kKC512 - 1) / kKC512;
  return (k + blocks - 1) / blocks;
}

/// Computes rows [m0, m1) and columns [n0, n1) (m0 a multiple of 6).
static void gemmTask(const GemmProblem &p, size_t m0, size_t m1, size_t n0,
                     size_t n1, float *bPack, float *aPack) {
  const size_t kcMax = blockK(p.k);
  // A packed block of an unpacked A must fit packedAFloats(m, k), sized for
  // the AVX2 blocks (kMC x kKC): at least kcMax x min(kMC, M) floats.
  size_t mcMax = kMC512;
  if (!p.aPacked) {
    const size_t fit =
        packedAFloats(uint32_t(p.m), uint32_t(p.k)) / kcMax / kMR * kMR;
    mcMax = fit < mcMax ? fit : mcMax;
  }
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
  for (size_t jc = n0; jc < n1; jc += kNC512) {
    const size_t nc = n1 - jc < kNC512 ? n1 - jc : kNC512;
    for (size_t pc = 0; pc < p.k; pc += kcMax) {
      const size_t kc = p.k - pc < kcMax ? p.k - pc : kcMax;
      packB(p.b, p.ldb, p.transB, p.transC, pc, kc, jc, nc, bPack);
      s.last = pc + kc == p.k;
      if (pc == 0) {
        s.loadC = p.beta != 0.f;
        s.cScale = p.beta;
      } else {
        s.loadC = true;
        s.cScale = 1.f;
      }
      for (size_t ic = m0; ic < m1; ic += mcMax) {
        const size_t mc = m1 - ic < mcMax ? m1 - ic : mcMax;
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
        for (size_t jr = 0; jr < nc; jr += kNR512) {
          const unsigned nr = unsigned(nc - jr < kNR512 ? nc - jr : kNR512);
          const float *bPanel = bPack + jr * kc;
          for (size_t ir = 0; ir < mc; ir += kMR) {
            const unsigned mr = unsigned(mc - ir < kMR ? mc - ir : kMR);
            const float *aPanel = aBlock + (ir / kMR) * panelStride;
            // Only the packed weight is far away; a packed A block is in
            // L2 already.
            const float *aNext =
                p.aPacked && ir + kMR < mc ? aPanel + panelStride : nullptr;
            const unsigned extra = extraColumns(nr, p.transB, p.transC);
            const float *bExtra = bPanel + kc * (nr - extra);
            const size_t row0 = ic + ir, col0 = jc + jr;
            // Whole vectors (the last one masked), or whole vectors plus
            // extra columns.
            switch (extra ? 4 * (nr / 16) + extra : 4 * ((nr + 15) / 16)) {
#define SL_TILE(NV, E)                                                         \
  case 4 * NV + E:                                                             \
    microKernel<NV, E>(kc, aPanel, aNext, bPanel, bExtra, s, row0, col0, mr,   \
                       nr);                                                    \
    break;
              SL_TILE(4, 0)
              SL_TILE(3, 0)
              SL_TILE(2, 0)
              SL_TILE(1, 0)
              SL_TILE(0, 1)
              SL_TILE(0, 2)
              SL_TILE(0, 3)
              SL_TILE(1, 1)
              SL_TILE(1, 2)
              SL_TILE(1, 3)
              SL_TILE(2, 1)
              SL_TILE(2, 2)
              SL_TILE(2, 3)
              SL_TILE(3, 1)
              SL_TILE(3, 2)
              SL_TILE(3, 3)
#undef SL_TILE
            default:
              assert(false && "no tile for this width");
            }
          }
        }
      }
    }
  }
}

/// Splits the product into tasks: N first (no duplicated packing), in whole
/// 64-column tiles (a 16-column tail tile runs at half the speed of a full
/// one, so ranges of 80 or 96 columns would waste a good part of a task),
/// then M in ranges of at least 4 panels when N alone gives too few tasks;
/// M alone when N is at most four tiles and M is large.
/// About three tasks per thread: the pool hands them out dynamically, which
/// evens out a core slowed by another process.
static void planTasks(size_t m, size_t n, size_t k, unsigned threads,
                      size_t &mChunks, size_t &nChunks) {
  mChunks = nChunks = 1;
  // Below ~64K multiply-adds the fork-join costs more than it saves.
  if (threads <= 1 || m * n * k < (size_t(1) << 16))
    return;
  const size_t target = size_t(threads) * 3;
  const size_t nTiles = (n + kNU - 1) / kNU;
  const size_t mPanels = (m + kMR - 1) / kMR;
  // A few column tiles (N = 196 or 49 on ResNet's late layers) against a
  // large weight: split M only, one range per thread. Split over N, every
  // task would stream its rows of the weight (up to 9 MiB) from L3 once
  // per column tile; split over M, each weight byte is read once and each
  // thread packs the few columns of B itself.
  if (nTiles <= 4 && mPanels >= 4 * size_t(threads)) {
    mChunks = threads;
    return;
  }
  nChunks = nTiles < target ? nTiles : target;
  size_t wantM = (target + nChunks - 1) / nChunks;
  size_t maxM = mPanels / 4 ? mPanels / 4 : 1;
  mChunks = wantM < maxM ? wantM : maxM;
}

/// ThreadPool::splitRange's partition, kept here so that no inline function
/// shared with portable code is compiled for AVX-512 in this file.
static void splitRange(size_t count, size_t parts, size_t index, size_t &begin,
                       size_t &end) {
  size_t base = count / parts, extra = count % parts;
  begin = index * base + (index < extra ? index : extra);
  end = begin + base + (index < extra ? 1 : 0);
}

static void runGemm(const GemmProblem &p, float *scratch, ThreadPool *pool) {
  const unsigned threads = pool ? pool->threads() : 1;
  size_t mChunks, nChunks;
  planTasks(p.m, p.n, p.k, threads, mChunks, nChunks);
  // The slices as PackedWeight.cpp sizes them (the AVX2 blocks, which are
  // at least as large as this file's).
  const size_t bSlice = sliceBytes(packedBFloats(uint32_t(p.n), uint32_t(p.k)));
  const size_t aSlice =
      p.aPacked ? 0 : sliceBytes(packedAFloats(uint32_t(p.m), uint32_t(p.k)));
  char *base = reinterpret_cast<char *>(scratch);
  const size_t mPanels = (p.m + kMR - 1) / kMR;
  const size_t nUnits = (p.n + kNU - 1) / kNU; // column tiles
  auto task = [&](unsigned thread, size_t begin, size_t end) {
    char *slice = base + thread * (bSlice + aSlice);
    float *bPack = alignScratch(slice);
    float *aPack = p.aPacked ? nullptr : alignScratch(slice + bSlice);
    for (size_t t = begin; t < end; ++t) {
      size_t mi = t / nChunks, ni = t % nChunks, pb, pe, ub, ue;
      splitRange(mPanels, mChunks, mi, pb, pe);
      splitRange(nUnits, nChunks, ni, ub, ue);
      size_t m1 = pe * kMR < p.m ? pe * kMR : p.m;
      size_t n1 = ue * kNU < p.n ? ue * kNU : p.n;
      if (pb * kMR < m1 && ub * kNU < n1)
        gemmTask(p, pb * kMR, m1, ub * kNU, n1, bPack, aPack);
    }
  };
  const size_t tasks = mChunks * nChunks;
  if (!pool || tasks == 1)
    task(0, 0, tasks);
  else
    pool->parallelForWithThread(tasks, 1, task);
}

} // namespace

void sgemmPackedTransAvx512(const float *packedW, uint32_t m, uint32_t n,
                            uint32_t k, const float *b, size_t ldb, bool transB,
                            float *c, size_t ldc, bool transC,
                            const Epilogue &epilogue, float *scratch,
                            ThreadPool *pool) {
  assert(packedW && b && c && scratch && m && n && k && "degenerate product");
  GemmProblem p{m,   n,      k, packedW, 0,      true, false, b,
                ldb, transB, c, ldc,     transC, 1.f,  0.f,   &epilogue};
  runGemm(p, scratch, pool);
}

void sgemmAvx512(uint32_t m, uint32_t n, uint32_t k, const float *a, size_t lda,
                 bool transA, const float *b, size_t ldb, bool transB, float *c,
                 size_t ldc, float alpha, float beta, float *scratch,
                 ThreadPool *pool) {
  assert(a && b && c && scratch && m && n && k && "degenerate product");
  GemmProblem p{m,   n,      k, a,   lda,   false, transA, b,
                ldb, transB, c, ldc, false, alpha, beta,   nullptr};
  runGemm(p, scratch, pool);
}

} // namespace runtime
} // namespace sparseloom
