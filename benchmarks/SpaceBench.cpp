//===- SpaceBench.cpp - Pareto enumeration of large stitch spaces ---------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The target: k = 8 variants, n = 32 segments (8^32 stitched
// variants) in under a second with bounded memory. Segment options are drawn
// like real families: sparser variants lose more accuracy, run faster on a
// CPU and take less memory, with noise so that no variant dominates another
// everywhere. Reported counters: the front size, the most partial
// stitches the DP held at once, and the most memory its buffers held.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Space/ParetoFront.h"

#include <benchmark/benchmark.h>

#include <cmath>
#include <random>

using namespace sparseloom;

namespace {

/// Options drawn like a real family: every segment has its own size,
/// cost and sensitivity to pruning; a variant's memory follows its density
/// exactly, its latency closely (+-5 %), its accuracy loss loosely (+-30 %).
/// With `independentNoise` every objective gets +-20 % noise of its own: a
/// harder, less realistic space whose fronts are much larger.
StitchSpace familyLikeSpace(unsigned k, unsigned n, unsigned processors,
                            bool split, bool independentNoise,
                            bool pairs = false) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  auto noise = [&](double amount) { return 1 + amount * (2 * unit(rng) - 1); };
  StitchSpace space;
  space.numVariants = k;
  space.numSegments = n;
  space.numProcessors = processors;
  space.allowSplitPlacement = split;
  space.options.assign(n, std::vector<SegmentOption>(k));
  for (unsigned s = 0; s < n; ++s) {
    double size = 4e6 / n * (0.25 + 1.5 * unit(rng));
    double cost = 10.0 / n * (0.25 + 1.5 * unit(rng));
    double sensitivity = 0.2 + 1.8 * unit(rng);
    for (unsigned v = 0; v < k; ++v) {
      double sparsity = 0.95 * v / (k > 1 ? k - 1 : 1); // 0 .. 0.95
      SegmentOption &option = space.options[s][v];
      option.score = -sensitivity * 20.0 / n * std::pow(sparsity, 3) *
                     noise(independentNoise ? 0.2 : 0.3);
      option.memoryBytes = std::round(size * (1 - 0.9 * sparsity) *
                                      (independentNoise ? noise(0.2) : 1.0));
      for (unsigned p = 0; p < processors; ++p) {
        // Processor 0 exploits sparsity; the others run every piece at a
        // fixed, faster dense speed (a GPU/NPU that cannot skip zeros).
        double dense = cost * (p == 0 ? 1.0 : 0.4 + 0.2 * p);
        option.latencyMs.push_back(
            p == 0 ? dense * (1 - 0.7 * sparsity) *
                         noise(independentNoise ? 0.2 : 0.05)
                   : dense);
      }
    }
  }
  if (pairs && n > 1) {
    // Mismatch across a boundary grows with how far apart the two
    // variants' sparsities are (what the zoo's chain estimator measures).
    space.pairScore.assign(
        n - 1, std::vector<std::vector<double>>(k, std::vector<double>(k, 0)));
    for (auto &matrix : space.pairScore)
      for (unsigned v = 0; v < k; ++v)
        for (unsigned w = 0; w < k; ++w)
          matrix[v][w] = v == w ? 0
                                : -2.0 / n * std::abs(double(v) - double(w)) /
                                      double(k) * noise(0.3);
  }
  if (split && n > 1) {
    space.transferMs.assign(
        n - 1, std::vector<std::vector<double>>(
                   processors, std::vector<double>(processors, 0.05)));
    for (auto &matrix : space.transferMs)
      for (unsigned p = 0; p < processors; ++p)
        matrix[p][p] = 0;
  }
  return space;
}

void runFront(benchmark::State &state, unsigned processors, bool split,
              double relativeResolution, bool independentNoise = false,
              bool pairs = false) {
  StitchSpace space =
      familyLikeSpace(unsigned(state.range(0)), unsigned(state.range(1)),
                      processors, split, independentNoise, pairs);
  FrontOptions options;
  options.relativeResolution = relativeResolution;
  FrontStats stats;
  size_t frontSize = 0;
  for (auto _ : state) {
    auto front = paretoFrontDP(space, options, &stats);
    frontSize = front.size();
    benchmark::DoNotOptimize(front.data());
  }
  state.counters["front"] = double(frontSize);
  state.counters["peak_partial"] = double(stats.peakPartialPoints);
  // Memory the DP holds at its peak (fronts, back-pointers, buffers).
  state.counters["peak_MiB"] = double(stats.peakBytes) / (1 << 20);
}

void BM_FrontOneProcessorExact(benchmark::State &state) {
  runFront(state, 1, false, 0);
}
// A hundredth of each objective's range: below the accuracy estimator's
// error and the latency noise, so nothing a scheduler could use is lost.
void BM_FrontOneProcessor(benchmark::State &state) {
  runFront(state, 1, false, 1e-2);
}
void BM_FrontSplitThreeProcessors(benchmark::State &state) {
  runFront(state, 3, true, 1e-2);
}
void BM_FrontOneProcessorNoisy(benchmark::State &state) {
  runFront(state, 1, false, 1e-2, /*independentNoise=*/true);
}
// With pair scores across boundaries (the chain estimator's terms) the DP
// keeps one partial front per last variant: k times the states.
void BM_FrontOneProcessorPairs(benchmark::State &state) {
  runFront(state, 1, false, 1e-2, false, /*pairs=*/true);
}

} // namespace

BENCHMARK(BM_FrontOneProcessorExact)
    ->Args({4, 8})
    ->Args({8, 8})
    ->Args({8, 16})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FrontOneProcessor)
    ->Args({8, 8})
    ->Args({8, 16})
    ->Args({8, 32})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FrontSplitThreeProcessors)
    ->Args({8, 16})
    ->Args({8, 32})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FrontOneProcessorNoisy)
    ->Args({8, 32})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FrontOneProcessorPairs)
    ->Args({8, 16})
    ->Args({8, 32})
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
