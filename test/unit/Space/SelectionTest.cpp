//===- SelectionTest.cpp - Choosing variants under a memory budget --------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Space/Selection.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

using namespace sparseloom;

namespace {

/// Two tasks; task t's variant i uses subgraphs of 2 segments. Subgraph id
/// = task * 100 + segment * 10 + variant of that segment.
SelectionProblem twoTasks() {
  SelectionProblem problem;
  problem.taskNames = {"vision", "audio"};
  problem.gridSize = 8;
  for (unsigned t = 0; t < 2; ++t)
    for (unsigned a = 0; a < 3; ++a)
      for (unsigned b = 0; b < 3; ++b) {
        SelectionCandidate c;
        c.task = t;
        c.frontIndex = a * 3 + b;
        // Sparser (higher index) = less accurate, faster, smaller.
        c.accuracy = 0.95 - 0.04 * a - 0.03 * b;
        c.latencyMs = {10.0 - 2.5 * a - 2.0 * b, 4.0};
        c.subgraphs = {uint64_t(t * 100 + 0 * 10 + a),
                       uint64_t(t * 100 + 1 * 10 + b)};
        problem.candidates.push_back(c);
      }
  for (unsigned t = 0; t < 2; ++t)
    for (unsigned s = 0; s < 2; ++s)
      for (unsigned v = 0; v < 3; ++v)
        problem.subgraphBytes[t * 100 + s * 10 + v] = 1000.0 * (3 - v);
  // The second processor runs everything in 4 ms: make the first
  // processor the interesting one for the test.
  for (SelectionCandidate &c : problem.candidates)
    c.latencyMs[1] = 1e9;
  return problem;
}

} // namespace

TEST(Selection, RespectsBudgetAndSharesSubgraphs) {
  SelectionProblem problem = twoTasks();
  problem.memoryBudgetBytes = 9000;
  auto result = selectVariants(problem);
  ASSERT_TRUE(bool(result)) << llvm::toString(result.takeError());
  EXPECT_LE(result->memoryBytes, problem.memoryBudgetBytes);
  // Memory is the union of subgraphs, recomputed independently.
  std::set<uint64_t> used;
  std::set<unsigned> tasks;
  for (size_t i : result->selected) {
    used.insert(problem.candidates[i].subgraphs.begin(),
                problem.candidates[i].subgraphs.end());
    tasks.insert(problem.candidates[i].task);
  }
  double bytes = 0;
  for (uint64_t id : used)
    bytes += problem.subgraphBytes[id];
  EXPECT_DOUBLE_EQ(bytes, result->memoryBytes);
  EXPECT_EQ(tasks.size(), 2u);
  // Sharing: with 4 subgraphs per task shipped, several stitches reuse
  // them, so more variants than "memory / variant size" are shipped.
  EXPECT_GT(result->selected.size(), 2u);
}

TEST(Selection, MoreBudgetNeverCoversLess) {
  SelectionProblem problem = twoTasks();
  double previous = -1;
  for (double budget : {4000.0, 6000.0, 9000.0, 14000.0, 24000.0}) {
    problem.memoryBudgetBytes = budget;
    auto result = selectVariants(problem);
    ASSERT_TRUE(bool(result)) << llvm::toString(result.takeError());
    double total = result->coverage[0] + result->coverage[1];
    EXPECT_GE(total, previous) << "budget " << budget;
    previous = total;
  }
  // With everything affordable, the whole grid is covered.
  EXPECT_DOUBLE_EQ(previous, 2.0);
}

TEST(Selection, NeverPicksADominatedVariant) {
  SelectionProblem problem = twoTasks();
  // A copy of the best vision variant that is worse in every way.
  SelectionCandidate worse = problem.candidates[0];
  worse.accuracy -= 0.001;
  worse.latencyMs[0] += 0.5;
  worse.subgraphs = {7, 8};
  problem.subgraphBytes[7] = 3000;
  problem.subgraphBytes[8] = 3000;
  problem.candidates.push_back(worse);
  problem.memoryBudgetBytes = 1e9;
  auto result = selectVariants(problem);
  ASSERT_TRUE(bool(result));
  for (size_t i : result->selected)
    EXPECT_NE(i, problem.candidates.size() - 1);
}

TEST(Selection, BudgetBelowOneVariantPerTaskNamesTheTask) {
  SelectionProblem problem = twoTasks();
  problem.memoryBudgetBytes = 2500; // vision's smallest needs 2000
  auto result = selectVariants(problem);
  ASSERT_FALSE(bool(result));
  std::string message = llvm::toString(result.takeError());
  EXPECT_NE(message.find("task 'audio'"), std::string::npos) << message;
  EXPECT_NE(message.find("raise the budget"), std::string::npos) << message;
}

TEST(Selection, TaskWithoutRunnableVariantIsAnError) {
  SelectionProblem problem = twoTasks();
  for (SelectionCandidate &c : problem.candidates)
    if (c.task == 1)
      c.latencyMs = {std::numeric_limits<double>::infinity(),
                     std::numeric_limits<double>::infinity()};
  problem.memoryBudgetBytes = 1e9;
  auto result = selectVariants(problem);
  ASSERT_FALSE(bool(result));
  EXPECT_NE(llvm::toString(result.takeError()).find("task 'audio'"),
            std::string::npos);
}
