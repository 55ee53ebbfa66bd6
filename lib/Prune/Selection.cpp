//===- Selection.cpp - Choosing which pruning units go --------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Every pattern reduces to "prune the `count` units with the lowest scores"
// (weights by magnitude, blocks and channels by L2 norm), per layer or over
// all layers at once. The count is exact: ties at the threshold are broken
// by position, so a level is met to the unit and the result does not depend
// on the sort algorithm.
//
//===----------------------------------------------------------------------===//

#include "PruneInternal.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sparseloom {
namespace prune {

std::vector<uint8_t> selectLowest(const std::vector<float> &scores,
                                  int64_t count) {
  const size_t n = scores.size();
  std::vector<uint8_t> marks(n, 0);
  if (count <= 0)
    return marks;
  if (size_t(count) >= n) {
    std::fill(marks.begin(), marks.end(), 1);
    return marks;
  }
  auto key = [](float score) {
    return std::isnan(score) ? std::numeric_limits<float>::infinity() : score;
  };
  // The count-th smallest score is the threshold: everything below it goes,
  // and as many of the scores equal to it as the count still allows.
  std::vector<float> sorted(n);
  std::transform(scores.begin(), scores.end(), sorted.begin(), key);
  std::nth_element(sorted.begin(), sorted.begin() + (count - 1), sorted.end());
  const float threshold = sorted[size_t(count - 1)];
  int64_t below = 0;
  for (float score : scores)
    below += key(score) < threshold;
  int64_t ties = count - below;
  for (size_t i = 0; i < n; ++i) {
    float score = key(scores[i]);
    if (score < threshold) {
      marks[i] = 1;
    } else if (score == threshold && ties > 0) {
      marks[i] = 1;
      --ties;
    }
  }
  return marks;
}

int64_t unitsToPrune(double fraction, int64_t units) {
  int64_t count = std::llround(fraction * double(units));
  return std::clamp<int64_t>(count, 0, units);
}

} // namespace prune
} // namespace sparseloom
