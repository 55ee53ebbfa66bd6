//===- KernelBench.cpp - Speed of the runtime's fast kernels --------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Measures the AVX2+FMA kernels against this machine's own limits and
// against each other, in the same run:
//
//  - peak: before any benchmark, a calibrated FMA-throughput loop (12
//    independent ymm FMA chains, more than the two FMA ports can retire)
//    gives the core's real FMA rate, hence its clock (2 FMAs per cycle) and
//    its AVX2 peak = 2 ports x 8 floats x 2 flops x clock. A chain of
//    dependent integer adds (1 cycle each) cross-checks the clock.
//  - sgemm/...: the packed SGEMM on square sizes and on layer shapes of
//    ResNet-50, MobileNetV2 and BERT-base; counters GFLOPS and pct_peak.
//  - spmm_{csr,4x1}/...: the sparse kernels on the same layer shapes at
//    50/70/90/95 % sparsity. Every iteration times the dense SGEMM and the
//    sparse kernel back to back on the same data, so `speedup` (dense time
//    / sparse time) compares the two under the same machine load.
//    `4x1` uses unstructured weights stored as 4x1 blocks (zeros filled
//    in); `4x1s` uses weights pruned in 4x1 blocks.
//  - depthwise/...: MobileNetV2's depthwise layers.
//
// Run (the figures in docs/Kernels.md):
//   build/benchmarks/bench-kernels --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true --benchmark_min_time=0.2
// --benchmark_filter selects a family, e.g. 'sgemm/square'.
//
//===----------------------------------------------------------------------===//

#include "FastKernels.h"
#include "ThreadPool.h"

#include "benchmark/benchmark.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <time.h>
#include <utility>
#include <vector>

using namespace sparseloom;
using namespace sparseloom::runtime;

namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

/// CPU time of the calling thread: on a shared machine it leaves out the
/// time the thread waited for a core, which wall time cannot.
double threadCpuSeconds() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

/// Wall and thread-CPU time of one timed region.
struct Stopwatch {
  Clock::time_point wall0;
  double cpu0;
  void start() {
    wall0 = Clock::now();
    cpu0 = threadCpuSeconds();
  }
  /// Returns {wall, cpu} seconds since start().
  std::pair<double, double> stop() const {
    double cpu = threadCpuSeconds() - cpu0;
    return {seconds(wall0, Clock::now()), cpu};
  }
};

// --- Peak calibration
// ----------------------------------------------------------

/// Runs `iters` steps of 12 independent FMA chains; returns a value that
/// depends on all of them so nothing is optimised away.
__attribute__((target("avx2,fma"), noinline)) float fmaLoop(long iters) {
  const __m256 m = _mm256_set1_ps(0.9999999f), c = _mm256_set1_ps(1e-7f);
  __m256 a[12];
  for (int i = 0; i < 12; ++i)
    a[i] = _mm256_set1_ps(1.f + 0.01f * float(i));
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i)
      a[i] = _mm256_fmadd_ps(a[i], m, c);
  }
  __m256 s = a[0];
  for (int i = 1; i < 12; ++i)
    s = _mm256_add_ps(s, a[i]);
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0];
}

/// 8 dependent 1-cycle adds per iteration. The addend is a register: recent
/// Intel cores fold add-immediate chains at rename, which would run faster
/// than one per cycle.
__attribute__((noinline)) long addChain(long iters) {
  long x = 0, one = 1;
  __asm__ volatile("1:\n\t"
                   "add %2, %0\n\tadd %2, %0\n\tadd %2, %0\n\tadd %2, %0\n\t"
                   "add %2, %0\n\tadd %2, %0\n\tadd %2, %0\n\tadd %2, %0\n\t"
                   "dec %1\n\tjnz 1b"
                   : "+r"(x), "+r"(iters)
                   : "r"(one)
                   : "cc");
  return x;
}

struct Peak {
  double fmaPerSec = 0;   // ymm FMA instructions per second, one core
  double clockGHz = 0;    // from the FMA rate (2 per cycle)
  double addClockGHz = 0; // from the add chain
  double gflops = 0;      // 2 ports x 8 floats x 2 flops x clock
};

Peak gPeak;

/// Best of `reps` short runs, timed by thread CPU time: the machine is
/// shared, and interference only ever makes a run slower.
Peak calibratePeak(int reps, long fmaIters, long addIters) {
  Peak p;
  volatile float sink = 0;
  for (int rep = 0; rep < reps; ++rep) {
    double t0 = threadCpuSeconds();
    sink = sink + fmaLoop(fmaIters);
    double t1 = threadCpuSeconds();
    p.fmaPerSec = std::max(p.fmaPerSec, 12.0 * fmaIters / (t1 - t0));
    if (addIters) {
      t0 = threadCpuSeconds();
      addChain(addIters);
      t1 = threadCpuSeconds();
      p.addClockGHz = std::max(p.addClockGHz, 8.0 * addIters / (t1 - t0) / 1e9);
    }
  }
  p.clockGHz = p.fmaPerSec / 2 / 1e9;
  p.gflops = 2 * 8 * 2 * p.clockGHz;
  return p;
}

/// The clock changes with the load on the other core (turbo), so each
/// benchmark measures the peak again just before it runs and reports its
/// percentage against that.
Peak localPeak() { return calibratePeak(3, 2'000'000, 0); }

// --- Data
// ------------------------------------------------------------------------

std::vector<float> randomVector(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(rng);
  return v;
}

/// Buffers that stay 64-byte aligned, as the runtime's arena gives them.
struct Aligned {
  std::unique_ptr<float[]> raw;
  float *p = nullptr;
  explicit Aligned(size_t floats) : raw(new float[floats + 16]) {
    auto v = reinterpret_cast<uintptr_t>(raw.get());
    p = reinterpret_cast<float *>((v + 63) / 64 * 64);
    std::memset(p, 0, floats * sizeof(float));
  }
};

/// A dense weight, its packed form, and a [K, N] activation.
struct DenseCase {
  uint32_t m, k, n;
  std::vector<float> w, packed, b;
  Aligned c, scratch;
  DenseCase(uint32_t m, uint32_t k, uint32_t n, unsigned threads,
            std::vector<float> weight)
      : m(m), k(k), n(n), w(std::move(weight)),
        b(randomVector(size_t(k) * n, 2)), c(size_t(m) * n),
        scratch(sgemmScratchBytes(m, n, k, threads) / sizeof(float) + 1) {
    packed.resize(packedWeightBytes(m, k) / sizeof(float));
    packWeight(w.data(), m, k, packed.data());
  }
  void run(ThreadPool *pool) {
    Epilogue e;
    sgemmPackedAvx2(packed.data(), m, n, k, b.data(), n, c.p, n, e, scratch.p,
                    pool);
  }
};

struct Sparse {
  std::vector<uint32_t> rowPtr, colIdx;
  std::vector<float> values;
  SparseMatrixView view;
};

Sparse toCsr(const std::vector<float> &w, uint32_t m, uint32_t k) {
  Sparse s;
  s.rowPtr.push_back(0);
  for (uint32_t i = 0; i < m; ++i) {
    for (uint32_t j = 0; j < k; ++j)
      if (w[size_t(i) * k + j] != 0.f) {
        s.colIdx.push_back(j);
        s.values.push_back(w[size_t(i) * k + j]);
      }
    s.rowPtr.push_back(uint32_t(s.colIdx.size()));
  }
  s.view.rows = m;
  s.view.cols = k;
  s.view.rowPtr = s.rowPtr.data();
  s.view.colIdx = s.colIdx.data();
  s.view.values = s.values.data();
  return s;
}

Sparse toBlock4x1(const std::vector<float> &w, uint32_t m, uint32_t k) {
  Sparse s;
  s.rowPtr.push_back(0);
  for (uint32_t br = 0; br < m / 4; ++br) {
    for (uint32_t j = 0; j < k; ++j) {
      bool any = false;
      for (uint32_t r = 0; r < 4; ++r)
        any |= w[size_t(br * 4 + r) * k + j] != 0.f;
      if (!any)
        continue;
      s.colIdx.push_back(j);
      for (uint32_t r = 0; r < 4; ++r)
        s.values.push_back(w[size_t(br * 4 + r) * k + j]);
    }
    s.rowPtr.push_back(uint32_t(s.colIdx.size()));
  }
  s.view.rows = m;
  s.view.cols = k;
  s.view.blockRows = 4;
  s.view.blockCols = 1;
  s.view.rowPtr = s.rowPtr.data();
  s.view.colIdx = s.colIdx.data();
  s.view.values = s.values.data();
  return s;
}

/// Unstructured: each weight kept with probability `density`. Blocked:
/// each aligned 4x1 block kept with probability `density`.
std::vector<float> prunedWeight(uint32_t m, uint32_t k, double density,
                                bool blocks, uint32_t seed) {
  std::vector<float> w = randomVector(size_t(m) * k, seed);
  std::mt19937 rng(seed + 1);
  std::uniform_real_distribution<double> u(0, 1);
  if (!blocks) {
    for (float &x : w)
      if (u(rng) >= density)
        x = 0.f;
    return w;
  }
  for (uint32_t br = 0; br < m / 4; ++br)
    for (uint32_t j = 0; j < k; ++j)
      if (u(rng) >= density)
        for (uint32_t r = 0; r < 4; ++r)
          w[size_t(br * 4 + r) * k + j] = 0.f;
  return w;
}

// --- Benchmarks
// ----------------------------------------------------------------

struct Layer {
  const char *name;
  uint32_t m, k, n;
};

/// Layer shapes as the runtime sees them: M output channels, K reduction
/// (input channels x kernel area), N output positions (or tokens).
const Layer kLayers[] = {
    // ResNet-50 1x1 convolutions (and one 3x3 as im2col for reference).
    {"resnet50.l1.1x1.expand", 256, 64, 56 * 56},
    {"resnet50.l1.1x1.reduce", 64, 256, 56 * 56},
    {"resnet50.l3.1x1.expand", 1024, 256, 14 * 14},
    {"resnet50.l4.1x1.expand", 2048, 512, 7 * 7},
    {"resnet50.l4.1x1.reduce", 512, 2048, 7 * 7},
    {"resnet50.l1.3x3.im2col", 64, 576, 56 * 56},
    // ResNet-18/50's last stage as im2col: N = 49, one column past three
    // whole vectors (SgemmAvx512.cpp, kMaxExtra).
    {"resnet.l4.3x3.im2col", 512, 4608, 7 * 7},
    // ResNet's 7x7 stride-2 stem as im2col (K = 3 x 49).
    {"resnet.stem.7x7.im2col", 64, 147, 112 * 112},
    // MobileNetV2 pointwise convolutions.
    {"mobilenetv2.b3.expand", 144, 24, 56 * 56},
    {"mobilenetv2.b3.project", 24, 144, 56 * 56},
    {"mobilenetv2.b11.expand", 384, 64, 14 * 14},
    {"mobilenetv2.b11.project", 64, 384, 14 * 14},
    {"mobilenetv2.b16.expand", 960, 160, 7 * 7},
    {"mobilenetv2.last.1x1", 1280, 320, 7 * 7},
    // BERT-base fully-connected layers at sequence length 128.
    {"bert.attn.qkv", 768, 768, 128},
    {"bert.ffn.up", 3072, 768, 128},
    {"bert.ffn.down", 768, 3072, 128},
    // Fully-connected at batch 1.
    {"resnet50.fc.b1", 1000, 2048, 1},
    {"mobilenetv2.fc.b1", 1000, 1280, 1},
    {"bert.pooler.b1", 768, 768, 1},
};

std::unique_ptr<ThreadPool> makePool(unsigned threads) {
  return threads > 1 ? std::make_unique<ThreadPool>(threads) : nullptr;
}

/// GFLOPS and pct_peak from wall time; with one thread also GFLOPS_cpu and
/// pct_peak_cpu from the thread's CPU time, the figures that survive a
/// loaded machine. The peak is `peak`, measured just before the run.
void setGemmCounters(benchmark::State &state, double flops, double wall,
                     double cpu, const Peak &peak) {
  const double threads = double(state.range(0));
  const double iters = double(state.iterations());
  const double gflops = flops * iters / wall / 1e9;
  state.counters["GFLOPS"] = gflops;
  state.counters["pct_peak"] = 100.0 * gflops / (peak.gflops * threads);
  state.counters["clock_GHz"] = peak.clockGHz;
  if (state.range(0) == 1) {
    const double gflopsCpu = flops * iters / cpu / 1e9;
    state.counters["GFLOPS_cpu"] = gflopsCpu;
    state.counters["pct_peak_cpu"] = 100.0 * gflopsCpu / peak.gflops;
  }
}

void benchDense(benchmark::State &state, Layer layer) {
  const unsigned threads = unsigned(state.range(0));
  auto pool = makePool(threads);
  DenseCase dc(layer.m, layer.k, layer.n, threads,
               randomVector(size_t(layer.m) * layer.k, 1));
  dc.run(pool.get()); // warm up caches and pool
  const Peak peak = localPeak();
  double wall = 0, cpu = 0;
  Stopwatch sw;
  for (auto _ : state) {
    sw.start();
    dc.run(pool.get());
    auto [w, c] = sw.stop();
    state.SetIterationTime(w);
    wall += w;
    cpu += c;
  }
  setGemmCounters(state, 2.0 * layer.m * layer.k * layer.n, wall, cpu, peak);
}

enum class SparseKind { Csr, Block4x1Unstructured, Block4x1Structured };

void benchSparse(benchmark::State &state, Layer layer, double sparsity,
                 SparseKind kind) {
  const unsigned threads = unsigned(state.range(0));
  auto pool = makePool(threads);
  const double density = 1.0 - sparsity;
  std::vector<float> w = prunedWeight(
      layer.m, layer.k, density, kind == SparseKind::Block4x1Structured, 7);
  Sparse s = kind == SparseKind::Csr ? toCsr(w, layer.m, layer.k)
                                     : toBlock4x1(w, layer.m, layer.k);
  DenseCase dc(layer.m, layer.k, layer.n, threads, w);
  Aligned c(size_t(layer.m) * layer.n);
  // As in the runtime: B copied to aligned rows when N is not a multiple
  // of 16 (spmmCsrAvx2).
  Aligned scratch(spmmCsrScratchBytes(layer.k, layer.n) / sizeof(float) + 1);
  Epilogue e;
  auto runSparse = [&] {
    if (kind == SparseKind::Csr)
      spmmCsrAvx2(s.view, layer.n, dc.b.data(), layer.n, c.p, layer.n, e,
                  pool.get(), scratch.p);
    else
      spmmBlock4x1Avx2(s.view, layer.n, dc.b.data(), layer.n, c.p, layer.n, e,
                       pool.get());
  };
  dc.run(pool.get());
  runSparse();
  double dense = 0, sparse = 0, denseCpu = 0, sparseCpu = 0;
  Stopwatch sw;
  for (auto _ : state) {
    sw.start();
    dc.run(pool.get());
    auto [denseWall, denseThreadCpu] = sw.stop();
    sw.start();
    runSparse();
    auto [sparseWall, sparseThreadCpu] = sw.stop();
    dense += denseWall;
    sparse += sparseWall;
    denseCpu += denseThreadCpu;
    sparseCpu += sparseThreadCpu;
    state.SetIterationTime(sparseWall);
  }
  const double iters = double(state.iterations());
  state.counters["speedup"] = dense / sparse;
  state.counters["dense_us"] = dense / iters * 1e6;
  if (threads == 1)
    state.counters["speedup_cpu"] = denseCpu / sparseCpu;
  // Values the kernel multiplies: nonzeros (CSR) or 4 per stored block.
  const double stored = double(s.values.size());
  state.counters["stored_density"] = stored / (double(layer.m) * layer.k);
  state.counters["GFLOPS"] = 2.0 * stored * layer.n * iters / sparse / 1e9;
}

struct DwLayer {
  const char *name;
  uint32_t c, h, w;
  int k, s;
};

const DwLayer kDwLayers[] = {
    {"mobilenetv2.b1.dw3x3s1", 32, 112, 112, 3, 1},
    {"mobilenetv2.b2.dw3x3s2", 96, 112, 112, 3, 2},
    {"mobilenetv2.b3.dw3x3s1", 144, 56, 56, 3, 1},
    {"mobilenetv2.b11.dw3x3s1", 384, 14, 14, 3, 1},
    {"mobilenetv2.b14.dw3x3s2", 576, 14, 14, 3, 2},
    {"mobilenetv2.b16.dw3x3s1", 960, 7, 7, 3, 1},
    {"synthetic.dw5x5s1", 240, 28, 28, 5, 1},
    {"synthetic.dw5x5s2", 240, 28, 28, 5, 2},
};

void benchDepthwise(benchmark::State &state, DwLayer l) {
  const unsigned threads = unsigned(state.range(0));
  auto pool = makePool(threads);
  format::ConvParams p{};
  p.kernel[0] = p.kernel[1] = l.k;
  p.strides[0] = p.strides[1] = l.s;
  p.dilations[0] = p.dilations[1] = 1;
  p.pads[0] = p.pads[1] = p.pads[2] = p.pads[3] = l.k / 2;
  p.group = int32_t(l.c);
  const uint32_t oh = (l.h + 2 * (l.k / 2) - l.k) / l.s + 1;
  const uint32_t ow = (l.w + 2 * (l.k / 2) - l.k) / l.s + 1;
  std::vector<float> in = randomVector(size_t(l.c) * l.h * l.w, 3);
  std::vector<float> wt = randomVector(size_t(l.c) * l.k * l.k, 4);
  std::vector<float> bias = randomVector(l.c, 5);
  Aligned out(size_t(l.c) * oh * ow);
  Epilogue e;
  e.bias = bias.data();
  e.activation = format::Activation::Clip;
  e.actMax = 6.f;
  const Peak peak = localPeak();
  double wall = 0, cpu = 0;
  Stopwatch sw;
  for (auto _ : state) {
    sw.start();
    depthwiseConvAvx2(in.data(), l.c, l.h, l.w, wt.data(), p, oh, ow, out.p,
                      size_t(oh) * ow, e, pool.get());
    auto [w, c] = sw.stop();
    state.SetIterationTime(w);
    wall += w;
    cpu += c;
  }
  setGemmCounters(state, 2.0 * l.c * oh * ow * l.k * l.k, wall, cpu, peak);
}

void registerAll() {
  for (uint32_t size : {256u, 512u, 1024u, 1536u, 2048u}) {
    Layer l{"square", size, size, size};
    benchmark::RegisterBenchmark(
        ("sgemm/square/" + std::to_string(size)).c_str(), benchDense, l)
        ->Arg(1)
        ->Arg(2)
        ->ArgName("threads")
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
  for (const Layer &l : kLayers)
    benchmark::RegisterBenchmark(("sgemm/" + std::string(l.name)).c_str(),
                                 benchDense, l)
        ->Arg(1)
        ->Arg(2)
        ->ArgName("threads")
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
  const struct {
    SparseKind kind;
    const char *name;
  } kinds[] = {{SparseKind::Csr, "csr"},
               {SparseKind::Block4x1Unstructured, "4x1"},
               {SparseKind::Block4x1Structured, "4x1s"}};
  for (const auto &kd : kinds)
    for (const Layer &l : kLayers)
      for (int pct : {50, 70, 90, 95}) {
        std::string name = "spmm_" + std::string(kd.name) + "/" + l.name +
                           "/s" + std::to_string(pct);
        benchmark::RegisterBenchmark(name.c_str(), benchSparse, l, pct / 100.0,
                                     kd.kind)
            ->Arg(1)
            ->Arg(2)
            ->ArgName("threads")
            ->UseManualTime()
            ->Unit(benchmark::kMicrosecond);
      }
  for (const DwLayer &l : kDwLayers)
    benchmark::RegisterBenchmark(("depthwise/" + std::string(l.name)).c_str(),
                                 benchDepthwise, l)
        ->Arg(1)
        ->Arg(2)
        ->ArgName("threads")
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
}

} // namespace

int main(int argc, char **argv) {
  if (!cpuHasAvx2Fma()) {
    std::fprintf(stderr, "bench-kernels: this CPU lacks AVX2+FMA; the fast "
                         "kernels cannot run here\n");
    return 1;
  }
  gPeak = calibratePeak(9, 4'000'000, 10'000'000);
  std::printf("peak: %.3g ymm FMA/s per core -> clock %.2f GHz (add chain: "
              "%.2f GHz) -> AVX2 FMA peak %.1f GFLOP/s per core\n",
              gPeak.fmaPerSec, gPeak.clockGHz, gPeak.addClockGHz, gPeak.gflops);
  benchmark::AddCustomContext("fma_peak_gflops_per_core",
                              std::to_string(gPeak.gflops));
  benchmark::AddCustomContext("clock_ghz_from_fma",
                              std::to_string(gPeak.clockGHz));
  benchmark::AddCustomContext("clock_ghz_from_add_chain",
                              std::to_string(gPeak.addClockGHz));
  registerAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
