//===- ParetoFront.cpp - Pareto fronts by DP and by brute force -----------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Pruning a set of 3-objective points is a sweep: sorted by score (best
// first), a point is dominated exactly when some earlier point has latency
// and memory no worse. A prefix-minimum tree over latency ranks answers
// "least memory among earlier points with latency <= mine" in O(log N), so
// the whole prune is O(N log N) with small constants.
//
// The DP runs that sweep for every state at every segment, over the union
// of the predecessor fronts, each shifted by what the segment's choice
// adds (with pair scores, a different score per predecessor variant). It
// keeps every front sorted by score, and a shift keeps it sorted, so the
// sweep needs no sort: FrontMerger walks the predecessors together, one
// score cell at a time. With a resolution, latencies fall into a few
// thousand cells that index an O(1) prefix-minimum structure directly.
// (Sorting and ranking the candidates took three quarters of the time
// before; see docs/StitchSpace.md for the figures.)
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Space/ParetoFront.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <tuple>

namespace sparseloom {

bool dominates(const StitchPoint &a, const StitchPoint &b) {
  bool noWorse = a.score >= b.score && a.latencyMs <= b.latencyMs &&
                 a.memoryBytes <= b.memoryBytes;
  bool better = a.score > b.score || a.latencyMs < b.latencyMs ||
                a.memoryBytes < b.memoryBytes;
  return noWorse && better;
}

std::string validateStitchSpace(const StitchSpace &space) {
  if (space.numVariants == 0 || space.numSegments == 0)
    return "the stitch space is empty (no variants or no segments)";
  if (space.numVariants > 255)
    return "at most 255 variants per task are supported";
  if (space.numProcessors == 0 || space.numProcessors > 255)
    return "the number of processors must be between 1 and 255";
  if (space.options.size() != space.numSegments)
    return "options must have one row per segment";
  for (const auto &row : space.options) {
    if (row.size() != space.numVariants)
      return "options must have one entry per variant in every segment";
    for (const SegmentOption &option : row) {
      if (option.latencyMs.size() != space.numProcessors)
        return "every segment option needs one latency per processor";
      if (std::isnan(option.score) || std::isnan(option.memoryBytes) ||
          !std::isfinite(option.score) || !std::isfinite(option.memoryBytes))
        return "accuracy scores and memory sizes must be finite numbers";
      for (double latency : option.latencyMs)
        if (std::isnan(latency) || latency < 0)
          return "latencies must be non-negative (infinity = cannot run)";
    }
  }
  if (!space.transferMs.empty()) {
    if (space.transferMs.size() + 1 != space.numSegments)
      return "transferMs must have one matrix per boundary (segments - 1)";
    for (const auto &matrix : space.transferMs) {
      if (matrix.size() != space.numProcessors)
        return "every transfer matrix must be processors x processors";
      for (const auto &row : matrix)
        if (row.size() != space.numProcessors)
          return "every transfer matrix must be processors x processors";
    }
  }
  if (!space.pairScore.empty()) {
    if (space.pairScore.size() + 1 != space.numSegments)
      return "pairScore must have one matrix per boundary (segments - 1)";
    for (const auto &matrix : space.pairScore) {
      if (matrix.size() != space.numVariants)
        return "every pair-score matrix must be variants x variants";
      for (const auto &row : matrix) {
        if (row.size() != space.numVariants)
          return "every pair-score matrix must be variants x variants";
        for (double score : row)
          if (!std::isfinite(score))
            return "pair scores must be finite numbers";
      }
    }
  }
  return "";
}

namespace {

/// Prefix minimum over ranks 0..i, for "the least memory among points with
/// latency no worse than mine".
class PrefixMin {
public:
  explicit PrefixMin(size_t size) : tree_(size + 1, kInfeasible) {}
  double query(size_t rank) const {
    double best = kInfeasible;
    for (size_t i = rank + 1; i > 0; i -= i & (~i + 1))
      best = std::min(best, tree_[i]);
    return best;
  }
  void update(size_t rank, double value) {
    for (size_t i = rank + 1; i < tree_.size(); i += i & (~i + 1))
      tree_[i] = std::min(tree_[i], value);
  }

private:
  std::vector<double> tree_;
};

double quantize(double value, double step) {
  return step > 0 ? std::floor(value / step) : value;
}

/// Keeps the points no other point dominates (after quantizing each
/// objective with `resolution`). Order of the result: score descending,
/// then latency, memory ascending.
template <typename T, typename Key>
std::vector<T> pruneDominated(std::vector<T> points,
                              const FrontResolution &resolution, Key key) {
  struct Keyed {
    double score, latency, memory;
    uint32_t latencyRank;
    uint32_t index;
  };
  std::vector<Keyed> keyed;
  keyed.reserve(points.size());
  std::vector<double> latencies;
  latencies.reserve(points.size());
  for (size_t i = 0; i < points.size(); ++i) {
    auto [score, latency, memory] = key(points[i]);
    keyed.push_back({quantize(score, resolution.score),
                     quantize(latency, resolution.latencyMs),
                     quantize(memory, resolution.memoryBytes), 0, uint32_t(i)});
    latencies.push_back(keyed.back().latency);
  }
  std::sort(latencies.begin(), latencies.end());
  latencies.erase(std::unique(latencies.begin(), latencies.end()),
                  latencies.end());
  for (Keyed &p : keyed)
    p.latencyRank = uint32_t(
        std::lower_bound(latencies.begin(), latencies.end(), p.latency) -
        latencies.begin());
  // Ties are broken by the original index so the result is deterministic.
  std::sort(keyed.begin(), keyed.end(), [](const Keyed &a, const Keyed &b) {
    return std::tie(b.score, a.latency, a.memory, a.index) <
           std::tie(a.score, b.latency, b.memory, b.index);
  });
  PrefixMin leastMemory(latencies.size());
  std::vector<T> kept;
  for (const Keyed &p : keyed) {
    // Every earlier point scores at least as well; one with latency and
    // memory no worse dominates p (or duplicates it).
    if (leastMemory.query(p.latencyRank) <= p.memory)
      continue;
    leastMemory.update(p.latencyRank, p.memory);
    kept.push_back(std::move(points[p.index]));
  }
  return kept;
}

bool processorAllowed(const FrontOptions &options, unsigned p) {
  return !options.processor || *options.processor == p;
}

} // namespace

std::vector<StitchPoint> paretoFilter(std::vector<StitchPoint> points) {
  return pruneDominated(
      std::move(points), FrontResolution{}, [](const StitchPoint &p) {
        return std::make_tuple(p.score, p.latencyMs, p.memoryBytes);
      });
}

FrontResolution effectiveResolution(const StitchSpace &space,
                                    const FrontOptions &options) {
  FrontResolution result = options.resolution;
  if (options.relativeResolution <= 0)
    return result;
  // Spans are sums over segments of (largest - smallest) choice, an upper
  // bound on the range of totals; transfers are ignored (they only widen
  // the latency range slightly).
  double scoreSpan = 0, latencySpan = 0, memorySpan = 0;
  for (const auto &row : space.options) {
    double sMin = kInfeasible, sMax = -kInfeasible, lMin = kInfeasible,
           lMax = 0, mMin = kInfeasible, mMax = 0;
    for (const SegmentOption &option : row) {
      sMin = std::min(sMin, option.score);
      sMax = std::max(sMax, option.score);
      mMin = std::min(mMin, option.memoryBytes);
      mMax = std::max(mMax, option.memoryBytes);
      for (unsigned p = 0; p < space.numProcessors; ++p)
        if (std::isfinite(option.latencyMs[p]) &&
            processorAllowed(options, p)) {
          lMin = std::min(lMin, option.latencyMs[p]);
          lMax = std::max(lMax, option.latencyMs[p]);
        }
    }
    scoreSpan += sMax - sMin;
    memorySpan += mMax - mMin;
    if (std::isfinite(lMin))
      latencySpan += lMax - lMin;
  }
  double rel = options.relativeResolution;
  result.score = std::max(result.score, rel * scoreSpan);
  result.latencyMs = std::max(result.latencyMs, rel * latencySpan);
  result.memoryBytes = std::max(result.memoryBytes, rel * memorySpan);
  return result;
}

namespace {

/// A partial stitch during the DP: its objectives so far, its last choice,
/// and the back-pointer node of the choices before it (-1 at segment 0).
struct Partial {
  double score;
  double latency;
  double memory;
  int32_t previous;
  uint8_t variant;
  uint8_t processor;
};

/// Back-pointers: the choice made at one segment and the node before it.
/// Nodes are created only for partials that survive pruning, so memory
/// grows with the fronts, not with everything generated.
struct ChoiceNode {
  int32_t previous; // -1 at segment 0
  uint8_t variant;
  uint8_t processor;
};

/// What one segment choice adds to the partials of one predecessor front,
/// as two terms per objective so that sums are formed in the brute force's
/// order ((score + option) + pair, (latency + transfer) + own latency) and
/// match its values bit for bit.
struct Shift {
  double score1, score2, latency1, latency2, memory;
  uint8_t variant, processor;
};

/// One input of a merge: the unread part of a predecessor front (sorted by
/// score, descending), its shift, the node of its next partial and that
/// partial shifted. A shift is monotone, so the shifted front stays sorted
/// by score.
struct Source {
  const Partial *next, *end;
  int32_t node;
  Shift shift;
  double lowestLatency, highestLatency; // of the front, shifted
  Partial head;

  void loadHead() {
    head = {(next->score + shift.score1) + shift.score2,
            (next->latency + shift.latency1) + shift.latency2,
            next->memory + shift.memory,
            node,
            shift.variant,
            shift.processor};
  }
};

/// The cells pruning compares in: floor(value / cell) per objective, or the
/// value itself where the cell is 0 (exact). Stored as 1 / cell: the merge
/// computes three cells per candidate, and a multiplication is as monotone
/// as a division.
struct Cells {
  double score, latency, memory;
  Cells(double scoreCell, double latencyCell, double memoryCell)
      : score(inverse(scoreCell)), latency(inverse(latencyCell)),
        memory(inverse(memoryCell)) {}
  static double inverse(double cell) { return cell > 0 ? 1 / cell : 0; }
};

double cellOf(double value, double inverseCell) {
  return inverseCell > 0 ? std::floor(value * inverseCell) : value;
}

/// The same question as PrefixMin ("least memory among points with
/// latency rank <= r") answered in O(1): ranks are cut into blocks (of 64,
/// or about the square root of the size when that is larger), each keeping
/// prefix minima within the block, and the blocks keep prefix minima over
/// whole blocks. The merge asks it once per candidate but updates it only
/// for the few it keeps; an update lowers two monotone runs, at most one
/// block and the number of blocks long, and stops where they are already
/// low enough.
class BlockedPrefixMin {
public:
  void reset(size_t size) {
    shift_ = 6;
    while ((size_t(1) << (2 * shift_)) < size)
      ++shift_;
    inBlock_.assign(size, kInfeasible);
    blocks_.assign((size >> shift_) + 1, kInfeasible);
  }
  double query(size_t rank) const {
    size_t block = rank >> shift_;
    double best = inBlock_[rank];
    return block ? std::min(best, blocks_[block - 1]) : best;
  }
  void update(size_t rank, double value) {
    size_t end = std::min(inBlock_.size(), ((rank >> shift_) + 1) << shift_);
    for (size_t i = rank; i < end && inBlock_[i] > value; ++i)
      inBlock_[i] = value;
    for (size_t b = rank >> shift_; b < blocks_.size() && blocks_[b] > value;
         ++b)
      blocks_[b] = value;
  }

  size_t bytes() const {
    return (inBlock_.capacity() + blocks_.capacity()) * sizeof(double);
  }

private:
  unsigned shift_ = 6; // log2 of the block size
  std::vector<double> inBlock_;
  std::vector<double> blocks_;
};

/// A stable sort for the merge's short per-cell lists: insertion sort when
/// short (no allocation, unlike std::stable_sort), else std::stable_sort.
template <typename T, typename Less>
void stableSortShort(typename std::vector<T>::iterator first,
                     typename std::vector<T>::iterator last, Less less) {
  if (last - first > 32) {
    std::stable_sort(first, last, less);
    return;
  }
  for (auto i = first + (first != last); i < last; ++i) {
    T value = std::move(*i);
    auto j = i;
    for (; j != first && less(value, *(j - 1)); --j)
      *j = std::move(*(j - 1));
    *j = std::move(value);
  }
}

/// Merges shifted predecessor fronts into one pruned front: the sweep of
/// pruneDominated (a candidate is dropped when one of a better or equal
/// score cell has latency and memory cells no worse), without its sort.
/// The fronts are sorted by score already, so the merge walks the score
/// cells downwards taking from each front its run in the current cell. A
/// candidate is checked first against the better cells (most are dropped
/// there, for one O(1) query); the few survivors of a cell are filtered
/// among themselves by a latency-ordered sweep, enter the structure, and
/// leave sorted by score for the next segment. On a grid latency cells are
/// whole numbers in a range of about n / resolution and index the structure
/// directly; exact latencies are ranked by a sort. Buffers are reused.
class FrontMerger {
public:
  void merge(std::vector<Source> &sources, const Cells &cells,
             std::vector<Partial> &out) {
    out.clear();
    size_t total = 0;
    double lowest = kInfeasible, highest = -kInfeasible;
    for (const Source &source : sources) {
      total += size_t(source.end - source.next);
      if (source.next != source.end) {
        lowest = std::min(lowest, cellOf(source.lowestLatency, cells.latency));
        highest =
            std::max(highest, cellOf(source.highestLatency, cells.latency));
      }
    }
    if (total == 0)
      return;
    const bool direct =
        cells.latency > 0 && highest - lowest < double(4 * total + 4096);
    ranks_.clear();
    if (!direct) {
      for (const Source &source : sources)
        for (const Partial *p = source.next; p != source.end; ++p)
          ranks_.push_back(cellOf((p->latency + source.shift.latency1) +
                                      source.shift.latency2,
                                  cells.latency));
      std::sort(ranks_.begin(), ranks_.end());
      ranks_.erase(std::unique(ranks_.begin(), ranks_.end()), ranks_.end());
    }
    auto rankOf = [&](double latencyCell) {
      return direct ? size_t(latencyCell - lowest)
                    : size_t(std::lower_bound(ranks_.begin(), ranks_.end(),
                                              latencyCell) -
                             ranks_.begin());
    };
    leastMemory_.reset(direct ? size_t(highest - lowest) + 1 : ranks_.size());

    active_.clear();
    for (Source &source : sources)
      if (source.next != source.end) {
        source.loadHead();
        active_.push_back(&source);
      }
    while (!active_.empty()) {
      double level = -kInfeasible;
      for (const Source *source : active_)
        level = std::max(level, cellOf(source->head.score, cells.score));
      level_.clear();
      for (size_t i = 0; i < active_.size();) {
        Source &source = *active_[i];
        // Every head's cell is at most `level`, so reaching it is enough.
        while ((cells.score > 0 ? source.head.score * cells.score
                                : source.head.score) >= level) {
          const Partial &candidate = source.head;
          double latency = cellOf(candidate.latency, cells.latency);
          double memory = cellOf(candidate.memory, cells.memory);
          size_t rank = rankOf(latency);
          if (leastMemory_.query(rank) > memory)
            level_.push_back({latency, memory, rank, candidate});
          if (++source.next == source.end)
            break;
          ++source.node;
          source.loadHead();
        }
        if (source.next == source.end) {
          active_[i] = active_.back();
          active_.pop_back();
        } else {
          ++i;
        }
      }
      // Within the cell: by latency, then memory; a candidate is dropped
      // when an earlier one has memory no worse. Of candidates sharing all
      // three cells the best-scoring one stays (then the first).
      stableSortShort<Candidate>(level_.begin(), level_.end(),
                                 [](const Candidate &a, const Candidate &b) {
                                   if (a.latency != b.latency)
                                     return a.latency < b.latency;
                                   if (a.memory != b.memory)
                                     return a.memory < b.memory;
                                   return a.partial.score > b.partial.score;
                                 });
      size_t first = out.size();
      double levelMemory = kInfeasible;
      for (const Candidate &c : level_) {
        if (c.memory >= levelMemory)
          continue;
        levelMemory = c.memory;
        leastMemory_.update(c.rank, c.memory);
        out.push_back(c.partial);
      }
      stableSortShort<Partial>(
          out.begin() + first, out.end(),
          [](const Partial &a, const Partial &b) { return a.score > b.score; });
    }
  }

  size_t bytes() const {
    return leastMemory_.bytes() + ranks_.capacity() * sizeof(double) +
           active_.capacity() * sizeof(Source *) +
           level_.capacity() * sizeof(Candidate);
  }

private:
  struct Candidate {
    double latency, memory; // cells
    size_t rank;
    Partial partial;
  };
  BlockedPrefixMin leastMemory_;
  std::vector<double> ranks_;
  std::vector<Source *> active_;
  std::vector<Candidate> level_;
};

/// One DP state's front and the range of its latencies.
struct StateFront {
  std::vector<Partial> partials;
  double lowestLatency = 0, highestLatency = 0;

  void updateRange() {
    lowestLatency = kInfeasible;
    highestLatency = -kInfeasible;
    for (const Partial &p : partials) {
      lowestLatency = std::min(lowestLatency, p.latency);
      highestLatency = std::max(highestLatency, p.latency);
    }
  }
};

} // namespace

std::vector<StitchPoint> paretoFrontDP(const StitchSpace &space,
                                       const FrontOptions &options,
                                       FrontStats *stats) {
  assert(validateStitchSpace(space).empty() && "invalid stitch space");
  const unsigned n = space.numSegments, k = space.numVariants,
                 numProcs = space.numProcessors;
  const FrontResolution resolution = effectiveResolution(space, options);
  const Cells stageCells(resolution.score / n, resolution.latencyMs / n,
                         resolution.memoryBytes / n);
  const Cells finalCells(resolution.score, resolution.latencyMs,
                         resolution.memoryBytes);

  // A partial's future depends on the processor that ran its last segment
  // (transfers) and, with pair scores, on that segment's variant: partials
  // are only compared within one such state.
  const bool byVariant = !space.pairScore.empty();
  const unsigned numStates = byVariant ? numProcs * k : numProcs;
  auto stateProcessor = [&](unsigned state) {
    return byVariant ? state / k : state;
  };
  std::vector<ChoiceNode> nodes;
  std::vector<int32_t> firstNode(numStates);
  std::vector<StateFront> fronts(numStates), next(numStates);
  std::vector<Source> sources;
  FrontMerger merger;
  FrontStats localStats;
  StateFront seed;
  seed.partials.push_back({0, 0, 0, -1, 0, 0});

  // Gives nodes to the partials of the last segment done: they are final.
  // Nodes of partials pruned since, and of ancestors no live partial
  // descends from, are dead; once they could make up half the nodes they
  // are dropped, so the nodes stay within a small multiple of the live
  // choices (one backward pass marks the ancestors of the new nodes: a
  // node's predecessor always comes before it).
  size_t liveNodes = 0;
  std::vector<int32_t> renumber;
  auto recordNodes = [&] {
    const size_t firstNew = nodes.size();
    for (unsigned state = 0; state < numStates; ++state) {
      firstNode[state] = int32_t(nodes.size());
      for (const Partial &partial : fronts[state].partials)
        nodes.push_back({partial.previous, partial.variant, partial.processor});
    }
    localStats.peakChoiceNodes =
        std::max(localStats.peakChoiceNodes, nodes.size());
    if (nodes.size() < 2 * liveNodes + 65536)
      return;
    renumber.assign(nodes.size(), -1); // -1 dead, 0 live (for now)
    for (size_t i = nodes.size(); i-- > 0;)
      if ((i >= firstNew || renumber[i] == 0) && nodes[i].previous >= 0)
        renumber[nodes[i].previous] = 0;
    size_t live = 0, liveBeforeNew = 0;
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (i < firstNew && renumber[i] < 0)
        continue;
      if (i == firstNew)
        liveBeforeNew = live;
      ChoiceNode node = nodes[i];
      if (node.previous >= 0)
        node.previous = renumber[node.previous];
      renumber[i] = int32_t(live);
      nodes[live++] = node;
    }
    if (firstNew == nodes.size())
      liveBeforeNew = live;
    nodes.resize(live);
    liveNodes = live;
    for (int32_t &first : firstNode)
      first -= int32_t(firstNew - liveBeforeNew);
  };
  auto addSource = [&](const StateFront &front, int32_t node,
                       const Shift &shift) {
    if (front.partials.empty())
      return;
    auto shifted = [&](double latency) {
      return (latency + shift.latency1) + shift.latency2;
    };
    sources.push_back({front.partials.data(),
                       front.partials.data() + front.partials.size(), node,
                       shift, shifted(front.lowestLatency),
                       shifted(front.highestLatency), Partial{}});
  };
  // Adds the predecessor fronts of segment s choosing variant w on
  // processor q.
  auto addSources = [&](unsigned s, unsigned q, unsigned w) {
    const SegmentOption &option = space.options[s][w];
    double latency = option.latencyMs[q];
    if (!std::isfinite(latency))
      return;
    if (s == 0) {
      addSource(seed, -1,
                {option.score, 0, 0, latency, option.memoryBytes, uint8_t(w),
                 uint8_t(q)});
      return;
    }
    for (unsigned state = 0; state < numStates; ++state) {
      unsigned p = stateProcessor(state);
      if (p != q && !space.allowSplitPlacement)
        continue;
      double pair = byVariant ? space.pair(s - 1, state % k, w) : 0;
      addSource(fronts[state], firstNode[state],
                {option.score, pair, space.transfer(s - 1, p, q), latency,
                 option.memoryBytes, uint8_t(w), uint8_t(q)});
    }
  };

  for (unsigned s = 0; s < n; ++s) {
    recordNodes();
    for (StateFront &front : next)
      front.partials.clear();
    for (unsigned q = 0; q < numProcs; ++q) {
      if (!processorAllowed(options, q))
        continue;
      // With pair scores each variant of segment s is its own state;
      // without, all variants on q compete in one front.
      for (unsigned w = 0; w < k; ++w) {
        if (byVariant || w == 0)
          sources.clear();
        addSources(s, q, w);
        if (!byVariant && w + 1 < k)
          continue;
        for (const Source &source : sources)
          localStats.candidatesGenerated += size_t(source.end - source.next);
        StateFront &target = next[byVariant ? q * k + w : q];
        merger.merge(sources, stageCells, target.partials);
        target.updateRange();
      }
    }
    std::swap(fronts, next);
    size_t kept = 0;
    for (const StateFront &front : fronts)
      kept += front.partials.size();
    localStats.peakPartialPoints = std::max(localStats.peakPartialPoints, kept);
    size_t bytes = nodes.capacity() * sizeof(ChoiceNode) +
                   renumber.capacity() * sizeof(int32_t) +
                   sources.capacity() * sizeof(Source) + merger.bytes();
    for (unsigned state = 0; state < numStates; ++state)
      bytes += (fronts[state].partials.capacity() +
                next[state].partials.capacity()) *
               sizeof(Partial);
    localStats.peakBytes = std::max(localStats.peakBytes, bytes);
  }

  // The states' fronts together, pruned at the full resolution.
  recordNodes();
  sources.clear();
  for (unsigned state = 0; state < numStates; ++state)
    addSource(fronts[state], firstNode[state], Shift{});
  std::vector<Partial> finals;
  merger.merge(sources, finalCells, finals);

  std::vector<StitchPoint> result;
  result.reserve(finals.size());
  for (const Partial &partial : finals) {
    StitchPoint point;
    point.score = partial.score;
    point.latencyMs = partial.latency;
    point.memoryBytes = partial.memory;
    point.variantPerSegment.assign(n, 0);
    point.processorPerSegment.assign(n, 0);
    int32_t i = partial.previous;
    for (unsigned s = n; s-- > 0;) {
      assert(i >= 0 && "back-pointer chain shorter than the segments");
      point.variantPerSegment[s] = nodes[i].variant;
      point.processorPerSegment[s] = nodes[i].processor;
      i = nodes[i].previous;
    }
    result.push_back(std::move(point));
  }
  if (stats)
    *stats = localStats;
  return result;
}

std::vector<StitchPoint> paretoFrontBruteForce(const StitchSpace &space,
                                               const FrontOptions &options) {
  assert(validateStitchSpace(space).empty() && "invalid stitch space");
  const unsigned n = space.numSegments, k = space.numVariants,
                 numProcs = space.numProcessors;
  std::vector<StitchPoint> all;
  std::vector<unsigned> variants(n, 0), procs(n, 0);
  // Odometer over variants, and over placements (per segment when split
  // placement is allowed, else one processor for the whole variant).
  auto advance = [](std::vector<unsigned> &digits, unsigned base) {
    for (unsigned &digit : digits) {
      if (++digit < base)
        return true;
      digit = 0;
    }
    return false;
  };
  do {
    std::fill(procs.begin(), procs.end(), 0);
    do {
      if (!space.allowSplitPlacement &&
          std::any_of(procs.begin(), procs.end(),
                      [&](unsigned p) { return p != procs[0]; }))
        continue;
      if (!std::all_of(procs.begin(), procs.end(), [&](unsigned p) {
            return processorAllowed(options, p);
          }))
        continue;
      StitchPoint point;
      bool feasible = true;
      for (unsigned s = 0; s < n && feasible; ++s) {
        const SegmentOption &option = space.options[s][variants[s]];
        double latency = option.latencyMs[procs[s]];
        feasible = std::isfinite(latency);
        point.score += option.score;
        if (s > 0) {
          point.score += space.pair(s - 1, variants[s - 1], variants[s]);
          point.latencyMs += space.transfer(s - 1, procs[s - 1], procs[s]);
        }
        point.latencyMs += latency;
        point.memoryBytes += option.memoryBytes;
        point.variantPerSegment.push_back(uint8_t(variants[s]));
        point.processorPerSegment.push_back(uint8_t(procs[s]));
      }
      if (feasible)
        all.push_back(std::move(point));
    } while (advance(procs, numProcs));
  } while (advance(variants, k));
  return paretoFilter(std::move(all));
}

} // namespace sparseloom
