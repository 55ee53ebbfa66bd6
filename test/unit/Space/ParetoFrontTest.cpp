//===- ParetoFrontTest.cpp - DP fronts against brute force ----------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The DP is only worth having if it is exact: on random small spaces its
// front must equal the brute-force front objective for objective, and every
// point it returns must really be the stitch it says it is.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Space/ParetoFront.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <set>
#include <tuple>

using namespace sparseloom;

namespace {

StitchSpace randomSpace(std::mt19937 &rng, unsigned k, unsigned n,
                        unsigned procs, bool split, bool transfers,
                        double infeasibleRate, bool pairs = false) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  StitchSpace space;
  space.numVariants = k;
  space.numSegments = n;
  space.numProcessors = procs;
  space.allowSplitPlacement = split;
  space.options.assign(n, std::vector<SegmentOption>(k));
  for (auto &row : space.options)
    for (SegmentOption &option : row) {
      // Coarse values make exact ties (and so duplicate handling) common.
      option.score = -std::round(unit(rng) * 8);
      option.memoryBytes = std::round(unit(rng) * 10);
      for (unsigned p = 0; p < procs; ++p)
        option.latencyMs.push_back(unit(rng) < infeasibleRate
                                       ? kInfeasible
                                       : std::round(unit(rng) * 20) / 4);
    }
  if (transfers && n > 1) {
    space.transferMs.assign(n - 1, std::vector<std::vector<double>>(
                                       procs, std::vector<double>(procs)));
    for (auto &matrix : space.transferMs)
      for (unsigned p = 0; p < procs; ++p)
        for (unsigned q = 0; q < procs; ++q)
          matrix[p][q] = p == q ? 0 : std::round(unit(rng) * 8) / 4;
  }
  if (pairs && n > 1) {
    // Mismatch penalties between the variants on either side of a boundary
    // (zero on the diagonal, as for the accuracy model's pair terms).
    space.pairScore.assign(
        n - 1, std::vector<std::vector<double>>(k, std::vector<double>(k)));
    for (auto &matrix : space.pairScore)
      for (unsigned v = 0; v < k; ++v)
        for (unsigned w = 0; w < k; ++w)
          matrix[v][w] = v == w ? 0 : -std::round(unit(rng) * 6);
  }
  return space;
}

using Triple = std::tuple<double, double, double>;

std::multiset<Triple> triples(const std::vector<StitchPoint> &points) {
  std::multiset<Triple> out;
  for (const StitchPoint &p : points)
    out.insert({p.score, p.latencyMs, p.memoryBytes});
  return out;
}

/// Recomputes a point's objectives from its choice, as the brute force does.
Triple evaluate(const StitchSpace &space, const StitchPoint &point) {
  double score = 0, latency = 0, memory = 0;
  for (unsigned s = 0; s < space.numSegments; ++s) {
    const SegmentOption &option = space.options[s][point.variantPerSegment[s]];
    score += option.score;
    if (s > 0)
      score += space.pair(s - 1, point.variantPerSegment[s - 1],
                          point.variantPerSegment[s]);
    if (s > 0)
      latency += space.transfer(s - 1, point.processorPerSegment[s - 1],
                                point.processorPerSegment[s]);
    latency += option.latencyMs[point.processorPerSegment[s]];
    memory += option.memoryBytes;
  }
  return {score, latency, memory};
}

} // namespace

// Property: on 400 random small spaces (all placement modes, transfers,
// infeasible processors, pair scores across boundaries, many ties) the DP
// front equals the brute-force front, and each DP point's choice reproduces
// its objectives.
TEST(ParetoFront, DPEqualsBruteForceOnRandomSpaces) {
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 400; ++trial) {
    unsigned k = 1 + rng() % 4, n = 1 + rng() % 4, procs = 1 + rng() % 3;
    bool split = rng() % 2, transfers = rng() % 2;
    bool pairs = trial % 2;
    StitchSpace space = randomSpace(rng, k, n, procs, split, transfers,
                                    trial % 3 ? 0.1 : 0, pairs);
    ASSERT_EQ(validateStitchSpace(space), "");
    FrontOptions options;
    if (trial % 5 == 0)
      options.processor = rng() % procs;
    auto dp = paretoFrontDP(space, options);
    auto brute = paretoFrontBruteForce(space, options);
    ASSERT_EQ(triples(dp), triples(brute))
        << "trial " << trial << " k=" << k << " n=" << n << " procs=" << procs
        << " split=" << split << " pairs=" << pairs;
    for (const StitchPoint &point : dp) {
      EXPECT_EQ(evaluate(space, point),
                Triple(point.score, point.latencyMs, point.memoryBytes));
      for (uint8_t p : point.processorPerSegment) {
        if (options.processor) {
          EXPECT_EQ(p, *options.processor);
        }
        if (!split) {
          EXPECT_EQ(p, point.processorPerSegment[0]);
        }
      }
    }
    for (size_t i = 0; i < dp.size(); ++i)
      for (size_t j = 0; j < dp.size(); ++j)
        EXPECT_FALSE(dominates(dp[i], dp[j]));
  }
}

// A resolution switches the DP to pruning in cells (and, on the latency
// grid, to indexing its sweep directly). The random spaces' values lie on
// a grid (whole scores and bytes, quarter milliseconds): with a resolution
// of one grid step every value has a cell of its own, at every segment and
// at the end, so the front must still equal the brute force's exactly.
TEST(ParetoFront, ResolutionOnTheDataGridIsExact) {
  std::mt19937 rng(4321);
  for (int trial = 0; trial < 300; ++trial) {
    unsigned k = 1 + rng() % 5, n = 1 + rng() % 4, procs = 1 + rng() % 3;
    bool split = rng() % 2, transfers = rng() % 2;
    StitchSpace space = randomSpace(rng, k, n, procs, split, transfers,
                                    trial % 3 ? 0.1 : 0, trial % 4 != 0);
    FrontOptions options;
    options.resolution = {1.0, 0.25, 1.0};
    auto dp = paretoFrontDP(space, options);
    auto brute = paretoFrontBruteForce(space, options);
    ASSERT_EQ(triples(dp), triples(brute))
        << "trial " << trial << " k=" << k << " n=" << n << " procs=" << procs
        << " split=" << split;
    for (const StitchPoint &point : dp)
      EXPECT_EQ(evaluate(space, point),
                Triple(point.score, point.latencyMs, point.memoryBytes));
  }
}

// With a coarse resolution r on spaces with continuous values and pair
// scores: every returned point is the stitch it says it is, none dominates
// another, and every brute-force front point has a returned point at least
// as good up to the guaranteed bound, 2r per objective (r from the cells of
// r/n at each of n segments, r from the final cells of r).
TEST(ParetoFront, ResolutionErrorStaysWithinTheBound) {
  std::mt19937 rng(777);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  double worst = 0; // largest error seen, in units of r
  for (int trial = 0; trial < 200; ++trial) {
    unsigned k = 2 + rng() % 4, n = 2 + rng() % 3, procs = 1 + rng() % 2;
    StitchSpace space;
    space.numVariants = k;
    space.numSegments = n;
    space.numProcessors = procs;
    space.allowSplitPlacement = rng() % 2;
    space.options.assign(n, std::vector<SegmentOption>(k));
    for (auto &row : space.options)
      for (SegmentOption &option : row) {
        option.score = -unit(rng);
        option.memoryBytes = unit(rng) * 1e6;
        for (unsigned p = 0; p < procs; ++p)
          option.latencyMs.push_back(unit(rng) * 5);
      }
    space.pairScore.assign(
        n - 1, std::vector<std::vector<double>>(k, std::vector<double>(k)));
    for (auto &matrix : space.pairScore)
      for (unsigned v = 0; v < k; ++v)
        for (unsigned w = 0; w < k; ++w)
          matrix[v][w] = v == w ? 0 : -0.5 * unit(rng);
    FrontOptions options;
    options.relativeResolution = 0.02 + 0.1 * unit(rng);
    FrontResolution r = effectiveResolution(space, options);
    auto dp = paretoFrontDP(space, options);
    auto exact = paretoFrontBruteForce(space);
    for (const StitchPoint &point : dp)
      EXPECT_EQ(evaluate(space, point),
                Triple(point.score, point.latencyMs, point.memoryBytes));
    for (size_t i = 0; i < dp.size(); ++i)
      for (size_t j = 0; j < dp.size(); ++j)
        EXPECT_FALSE(dominates(dp[i], dp[j]));
    for (const StitchPoint &e : exact) {
      double best = kInfeasible;
      for (const StitchPoint &a : dp)
        best = std::min(
            best, std::max({(e.score - a.score) / r.score,
                            (a.latencyMs - e.latencyMs) / r.latencyMs,
                            (a.memoryBytes - e.memoryBytes) / r.memoryBytes}));
      EXPECT_LT(best, 2.0) << "trial " << trial << ": exact point " << e.score
                           << ", " << e.latencyMs << ", " << e.memoryBytes
                           << " not covered";
      worst = std::max(worst, best);
    }
  }
  std::printf("largest error seen: %.2f r\n", worst);
}

// On a space large enough for the DP to drop dead back-pointer nodes (and
// renumber the rest), every returned point must still be the stitch it says
// it is.
TEST(ParetoFront, LargeSpaceChoicesReproduceTheObjectives) {
  std::mt19937 rng(2024);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const unsigned k = 6, n = 24;
  StitchSpace space;
  space.numVariants = k;
  space.numSegments = n;
  space.numProcessors = 2;
  space.allowSplitPlacement = true;
  space.options.assign(n, std::vector<SegmentOption>(k));
  for (auto &row : space.options)
    for (SegmentOption &option : row) {
      option.score = -unit(rng);
      option.memoryBytes = std::round(unit(rng) * 1e6);
      option.latencyMs = {unit(rng) * 5, unit(rng) * 5};
    }
  space.pairScore.assign(
      n - 1, std::vector<std::vector<double>>(k, std::vector<double>(k)));
  for (auto &matrix : space.pairScore)
    for (unsigned v = 0; v < k; ++v)
      for (unsigned w = 0; w < k; ++w)
        matrix[v][w] = v == w ? 0 : -0.3 * unit(rng);
  FrontOptions options;
  options.relativeResolution = 0.01;
  FrontStats stats;
  auto dp = paretoFrontDP(space, options, &stats);
  std::printf("nodes %zu, partials %zu, front %zu\n", stats.peakChoiceNodes,
              stats.peakPartialPoints, dp.size());
  ASSERT_FALSE(dp.empty());
  for (const StitchPoint &point : dp)
    EXPECT_EQ(evaluate(space, point),
              Triple(point.score, point.latencyMs, point.memoryBytes));
}

// With a resolution the front is smaller, and on this space every exact
// front point is within the resolution of a returned point that is at least
// as good (the guaranteed bound, 2r, is checked above).
TEST(ParetoFront, ResolutionBoundsTheError) {
  std::mt19937 rng(99);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  StitchSpace space;
  space.numVariants = 4;
  space.numSegments = 6;
  space.numProcessors = 1;
  space.options.assign(6, std::vector<SegmentOption>(4));
  for (auto &row : space.options)
    for (SegmentOption &option : row) {
      option.score = -unit(rng);
      option.memoryBytes = unit(rng) * 1e6;
      option.latencyMs = {unit(rng) * 5};
    }
  auto exact = paretoFrontDP(space);
  FrontOptions coarse;
  coarse.resolution = {0.05, 0.5, 1e5};
  auto approx = paretoFrontDP(space, coarse);
  EXPECT_LT(approx.size(), exact.size());
  for (const StitchPoint &e : exact) {
    bool covered = false;
    for (const StitchPoint &a : approx)
      covered |= a.score >= e.score - 0.05 - 1e-12 &&
                 a.latencyMs <= e.latencyMs + 0.5 + 1e-12 &&
                 a.memoryBytes <= e.memoryBytes + 1e5 + 1e-6;
    EXPECT_TRUE(covered) << "exact point " << e.score << ", " << e.latencyMs
                         << ", " << e.memoryBytes << " not covered";
  }
}

TEST(ParetoFront, AllInfeasibleGivesAnEmptyFront) {
  StitchSpace space;
  space.numVariants = 2;
  space.numSegments = 2;
  space.numProcessors = 1;
  space.options.assign(2, std::vector<SegmentOption>(2));
  for (auto &row : space.options)
    for (SegmentOption &option : row)
      option.latencyMs = {1.0};
  space.options[1][0].latencyMs = {kInfeasible};
  space.options[1][1].latencyMs = {kInfeasible};
  EXPECT_TRUE(paretoFrontDP(space).empty());
  EXPECT_TRUE(paretoFrontBruteForce(space).empty());
}

TEST(ParetoFront, ValidationNamesTheProblem) {
  StitchSpace space;
  EXPECT_NE(validateStitchSpace(space).find("empty"), std::string::npos);
  space.numVariants = 1;
  space.numSegments = 1;
  space.numProcessors = 1;
  space.options = {{SegmentOption{0, 0, {1.0, 2.0}}}};
  EXPECT_NE(validateStitchSpace(space).find("one latency per processor"),
            std::string::npos);
  space.options = {{SegmentOption{NAN, 0, {1.0}}}};
  EXPECT_NE(validateStitchSpace(space).find("finite"), std::string::npos);
}
