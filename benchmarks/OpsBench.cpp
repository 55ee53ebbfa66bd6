//===- OpsBench.cpp - Speed of the non-GEMM fast paths and CSR rows -------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// One thread, the shapes of ResNet-18/50 and BERT-base at 90 % sparsity:
//  - csr/...: spmmCsrAvx2 on 3x3-as-im2col and fully-connected shapes; it
//    runs the AVX-512 rows (SpmmAvx512.cpp) unless SPARSELOOM_NO_AVX512=1,
//    so running this twice, with and without, is the A/B.
//  - vmath/...: ops::applyVectorFunction (GELU, exp) over BERT's FFN width,
//    SSE2 or AVX-512 by the same switch.
//  - csr512_block*/...: the AVX-512 rows alone over column blocks of a
//    given width (how SpmmAvx2.cpp's block for them was chosen).
//  - conv3x3_{im2col,direct}/...: a stride-1 3x3 sparse conv through
//    chunked im2col (Conv.cpp's previous path) or reading a padded copy of
//    the input through per-nonzero offsets (its path now; docs/Kernels.md,
//    "Sparse convolution without im2col").
//  - binary/, layernorm/, softmax/: the AVX-512 loops alone.
// Compare the CPU column (the thread's CPU time), the figure that survives
// a shared machine:
//   build/benchmarks/bench-ops --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
//   SPARSELOOM_NO_AVX512=1 build/benchmarks/bench-ops ...
//
//===----------------------------------------------------------------------===//

#include "Kernels/FastKernels.h"
#include "Kernels/FastOps.h"
#include "Ops/VectorMath.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace sparseloom::runtime;

namespace {

std::vector<float> randomFloats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-2.f, 2.f);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(rng);
  return v;
}

/// A [m, k] CSR weight with about 10 % nonzeros at random positions.
struct Csr {
  std::vector<uint32_t> rowPtr, colIdx;
  std::vector<float> values;
  SparseMatrixView view;
  Csr(uint32_t m, uint32_t k, double density) {
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    rowPtr.push_back(0);
    for (uint32_t r = 0; r < m; ++r) {
      for (uint32_t c = 0; c < k; ++c)
        if (u(rng) < density) {
          colIdx.push_back(c);
          values.push_back(float(u(rng) - 0.5));
        }
      rowPtr.push_back(uint32_t(colIdx.size()));
    }
    view.rows = m;
    view.cols = k;
    view.rowPtr = rowPtr.data();
    view.colIdx = colIdx.data();
    view.values = values.data();
  }
};

void benchCsr(benchmark::State &state, uint32_t m, uint32_t k, uint32_t n) {
  Csr w(m, k, 0.1);
  std::vector<float> b = randomFloats(size_t(k) * n, 1), c(size_t(m) * n);
  Epilogue e;
  e.activation = sparseloom::format::Activation::Relu;
  for (auto _ : state) {
    spmmCsrAvx2(w.view, n, b.data(), n, c.data(), n, e, nullptr, nullptr);
    benchmark::ClobberMemory();
  }
  state.counters["GFLOPS"] =
      benchmark::Counter(2.0 * double(w.values.size()) * n,
                         benchmark::Counter::kIsIterationInvariantRate);
  state.counters["avx512"] = cpuHasAvx512Ops();
}

/// The AVX-512 rows alone over column blocks of `block` columns (0: the
/// whole width), to choose the blocking.
void benchCsrRows(benchmark::State &state, uint32_t m, uint32_t k, uint32_t n,
                  uint32_t block) {
  if (!cpuHasAvx512Ops()) {
    state.SkipWithError("no AVX-512");
    return;
  }
  Csr w(m, k, 0.1);
  std::vector<float> b = randomFloats(size_t(k) * n, 1), c(size_t(m) * n);
  Epilogue e;
  const size_t step = block ? block : n;
  for (auto _ : state) {
    for (size_t col = 0; col < n; col += step)
      spmmCsrRowsAvx512(w.view, 0, m, b.data(), n, c.data(), n, col,
                        col + step < n ? col + step : n, e, nullptr);
    benchmark::ClobberMemory();
  }
  state.counters["GFLOPS"] =
      benchmark::Counter(2.0 * double(w.values.size()) * n,
                         benchmark::Counter::kIsIterationInvariantRate);
}

/// A stride-1, pad-1 3x3 sparse conv on one [c, h, w] image, two ways:
/// im2col into [9c, h*w] then spmmCsrAvx2, a chunk of output pixels at a
/// time (what Conv.cpp did before it read the input directly: about 1 MiB
/// of unfolded columns, at least 256, as its im2colChunk), or `direct`, what
/// Conv.cpp does now at stride 1: the input copied once into a zero-padded
/// [c, h+2, w+2] plane set, the weight's column indices turned into offsets
/// into it (ch*(h+2)*(w+2) + i*(w+2) + j, computed once, as Prepare does),
/// spmmCsrAvx2 with ldb = 1 over the padded-width grid [m, h*(w+2)], and
/// the w valid columns of each output row compacted (Conv.cpp does the same
/// over blocks of output rows of about 512 KiB of output).
void benchConv3x3(benchmark::State &state, uint32_t m, uint32_t c, uint32_t h,
                  uint32_t w, bool direct) {
  const uint32_t k = c * 9, n = h * w, hp = h + 2, wp = w + 2;
  Csr wt(m, k, 0.1);
  std::vector<float> x = randomFloats(size_t(c) * n, 1);
  std::vector<float> y(size_t(m) * n);
  Epilogue e;
  e.activation = sparseloom::format::Activation::Relu;
  if (!direct) {
    const uint32_t fit = ((1u << 18) / k + 63) / 64 * 64;
    const uint32_t chunk = std::min(std::max(fit, 256u), n);
    std::vector<float> cols(size_t(k) * chunk);
    for (auto _ : state) {
      for (uint32_t p0 = 0; p0 < n; p0 += chunk) {
        const uint32_t p1 = std::min(p0 + chunk, n), width = p1 - p0;
        for (uint32_t ch = 0; ch < c; ++ch)
          for (uint32_t i = 0; i < 3; ++i)
            for (uint32_t j = 0; j < 3; ++j) {
              float *row = cols.data() + (size_t(ch) * 9 + i * 3 + j) * width;
              // Output rows oh meeting [p0, p1): columns [a, b) of each.
              for (uint32_t oh = p0 / w; oh * w < p1; ++oh) {
                const uint32_t a = p0 > oh * w ? p0 - oh * w : 0;
                const uint32_t b = std::min(p1 - oh * w, w);
                float *out = row + (oh * w + a - p0);
                const int ih = int(oh + i) - 1;
                if (ih < 0 || ih >= int(h)) {
                  std::fill(out, out + (b - a), 0.f);
                  continue;
                }
                // As Conv.cpp's im2col: the valid columns with one memcpy.
                const float *xr = x.data() + (size_t(ch) * h + ih) * w;
                const uint32_t lo = std::max(a, j == 0 ? 1u : 0u);
                const uint32_t hi =
                    std::max(lo, std::min(b, j == 2 ? w - 1 : w));
                std::fill(out, out + (lo - a), 0.f);
                std::memcpy(out + (lo - a), xr + lo + j - 1,
                            sizeof(float) * (hi - lo));
                std::fill(out + (hi - a), out + (b - a), 0.f);
              }
            }
        spmmCsrAvx2(wt.view, width, cols.data(), width, y.data() + p0, n, e,
                    nullptr, nullptr);
      }
      benchmark::ClobberMemory();
    }
    return;
  }
  std::vector<uint32_t> offsets(wt.colIdx.size());
  for (size_t p = 0; p < offsets.size(); ++p) {
    const uint32_t col = wt.colIdx[p], ch = col / 9, tap = col % 9;
    offsets[p] = ch * hp * wp + (tap / 3) * wp + tap % 3;
  }
  SparseMatrixView view = wt.view;
  view.colIdx = offsets.data();
  view.cols = c * hp * wp;
  const uint32_t grid = h * wp;
  std::vector<float> padded(size_t(c) * hp * wp + 64, 0.f);
  std::vector<float> out(size_t(m) * grid);
  for (auto _ : state) {
    for (uint32_t ch = 0; ch < c; ++ch)
      for (uint32_t r = 0; r < h; ++r)
        std::memcpy(padded.data() + (size_t(ch) * hp + r + 1) * wp + 1,
                    x.data() + (size_t(ch) * h + r) * w, sizeof(float) * w);
    spmmCsrAvx2(view, grid, padded.data(), 1, out.data(), grid, e, nullptr,
                nullptr);
    for (uint32_t r = 0; r < m * h; ++r)
      std::memcpy(y.data() + size_t(r) * w, out.data() + size_t(r) * wp,
                  sizeof(float) * w);
    benchmark::ClobberMemory();
  }
}

void benchVmath(benchmark::State &state, ops::VectorFunction f) {
  const int64_t n = 128 * 3072;
  std::vector<float> x = randomFloats(size_t(n), 2);
  std::vector<float> y(x.size());
  for (auto _ : state) {
    ops::applyVectorFunction(f, x.data(), y.data(), n);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * n);
}

void benchBinary(benchmark::State &state) {
  if (!cpuHasAvx512Ops()) {
    state.SkipWithError("no AVX-512");
    return;
  }
  const int64_t n = 64 * 56 * 56;
  std::vector<float> x = randomFloats(size_t(n), 3),
                     y = randomFloats(size_t(n), 4);
  for (auto _ : state) {
    binaryAvx512(FastBinary::Add, x.data(), 1, y.data(), 1, x.data(), n);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * n);
}

void benchLayerNorm(benchmark::State &state) {
  if (!cpuHasAvx512Ops()) {
    state.SkipWithError("no AVX-512");
    return;
  }
  const int64_t rows = 128, n = 768;
  std::vector<float> x = randomFloats(size_t(rows * n), 5), y(x.size());
  std::vector<float> scale = randomFloats(size_t(n), 6),
                     bias = randomFloats(size_t(n), 7);
  for (auto _ : state) {
    for (int64_t r = 0; r < rows; ++r) {
      float mean, inv;
      layerNormRowAvx512(x.data() + r * n, y.data() + r * n, n, 1e-12f,
                         scale.data(), false, bias.data(), false, mean, inv);
    }
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * rows * n);
}

void benchSoftmax(benchmark::State &state) {
  if (!cpuHasAvx512Ops()) {
    state.SkipWithError("no AVX-512");
    return;
  }
  const int64_t rows = 12 * 128, n = 128;
  std::vector<float> x = randomFloats(size_t(rows * n), 8), y(x.size());
  for (auto _ : state) {
    for (int64_t r = 0; r < rows; ++r)
      softmaxRowAvx512(x.data() + r * n, y.data() + r * n, n);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * rows * n);
}

} // namespace

int main(int argc, char **argv) {
  if (!cpuHasAvx2Fma())
    return 0;
  struct Shape {
    const char *name;
    uint32_t m, k, n;
  };
  const Shape shapes[] = {
      {"resnet18.l1.3x3", 64, 576, 56 * 56},
      {"resnet18.l2.3x3", 128, 1152, 28 * 28},
      {"resnet18.l3.3x3", 256, 2304, 14 * 14},
      {"resnet18.l4.3x3", 512, 4608, 7 * 7},
      {"bert.attn.qkv", 768, 768, 128},
      {"bert.ffn.up", 3072, 768, 128},
      {"bert.ffn.down", 768, 3072, 128},
  };
  for (const Shape &s : shapes)
    benchmark::RegisterBenchmark((std::string("csr/") + s.name).c_str(),
                                 benchCsr, s.m, s.k, s.n);
  for (const Shape &s : shapes)
    for (uint32_t block : {32u, 64u, 128u, 256u, 0u})
      if (block < s.n)
        benchmark::RegisterBenchmark(
            (std::string("csr512_block") + std::to_string(block) + "/" + s.name)
                .c_str(),
            benchCsrRows, s.m, s.k, s.n, block);
  struct ConvShape {
    const char *name;
    uint32_t m, c, h, w;
  };
  const ConvShape convs[] = {{"resnet18.l1", 64, 64, 56, 56},
                             {"resnet18.l2", 128, 128, 28, 28},
                             {"resnet18.l3", 256, 256, 14, 14},
                             {"resnet18.l4", 512, 512, 7, 7}};
  for (const ConvShape &s : convs)
    for (bool direct : {false, true})
      benchmark::RegisterBenchmark(
          (std::string(direct ? "conv3x3_direct/" : "conv3x3_im2col/") + s.name)
              .c_str(),
          benchConv3x3, s.m, s.c, s.h, s.w, direct);
  benchmark::RegisterBenchmark("vmath/gelu_erf", benchVmath,
                               ops::VectorFunction::GeluErf);
  benchmark::RegisterBenchmark("vmath/exp", benchVmath,
                               ops::VectorFunction::Exp);
  benchmark::RegisterBenchmark("binary/add_same_shape", benchBinary);
  benchmark::RegisterBenchmark("layernorm/bert_128x768", benchLayerNorm);
  benchmark::RegisterBenchmark("softmax/bert_12x128x128", benchSoftmax);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
