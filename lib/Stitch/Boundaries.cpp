//===- Boundaries.cpp - Cut points of a model and balanced segments -------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Three steps, each linear or close to it in the model size:
//  1. classify values in one forward pass (constant / activation; stream /
//     side) and one backward pass (which side values feed a weighted op on
//     their own and are therefore streams after all);
//  2. sweep the gaps once with an ordered live set: counts everywhere, the
//     tensors themselves only where a cut is possible;
//  3. only for gaps that carry two or more stream values within K, test for
//     a block with ancestor/descendant bit sets (built lazily, so the usual
//     K = 1 run never pays their quadratic memory).
// Segment choice is a bottleneck search (greedy feasibility, bisection on
// the maximum) followed by a dynamic program over the candidates that
// minimizes the sum of squares under that maximum.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Stitch/Boundaries.h"

#include "sparseloom/IR/Analysis.h"
#include "sparseloom/IR/Cost.h"
#include "sparseloom/IR/OpRegistry.h"
#include "sparseloom/Support/Diagnostics.h"

#include "llvm/ADT/BitVector.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <set>

namespace sparseloom {

llvm::StringRef gapStatusName(GapStatus status) {
  switch (status) {
  case GapStatus::Edge:
    return "edge";
  case GapStatus::TooManyLive:
    return "too-many-live";
  case GapStatus::InsideBlock:
    return "inside-block";
  case GapStatus::Redundant:
    return "redundant";
  case GapStatus::Candidate:
    return "candidate";
  }
  return "?";
}

std::vector<size_t> CutAnalysis::candidates() const {
  std::vector<size_t> result;
  for (size_t p = 0; p < status.size(); ++p)
    if (status[p] == GapStatus::Candidate)
      result.push_back(p);
  return result;
}

namespace {

/// What the analysis knows about one named value.
struct ValueInfo {
  /// Position of the producing node; -1 for a graph input.
  int producer = -1;
  /// Output index at the producer, or index among the graph inputs.
  int slot = 0;
  /// A weight, or computed from weights and constants alone.
  bool constant = false;
  /// Depends on a weighted op.
  bool main = false;
  /// Not a side value (see Boundaries.h).
  bool stream = false;
  /// Last position reading it; -1 when nothing reads it.
  int lastUse = -1;
  /// Positions of the nodes reading it, increasing, each once.
  std::vector<int> consumers;
};

struct NodeInfo {
  bool constant = false;
  bool weighted = false;
  bool hasMainInput = false;
  /// Reaches a weighted op through nodes none of which reads a main value.
  bool feedsWeightedAlone = false;
  /// Distinct activation inputs.
  std::vector<std::string> activationInputs;
};

/// A Conv/Gemm/MatMul whose weight operand is a constant: the ops that
/// transform features, as opposed to the cheap arithmetic around them.
bool isWeighted(const Node &node, const llvm::StringMap<ValueInfo> &values) {
  const OpInfo *info = lookupOp(node);
  if (!info || !info->has(OpLinearWithWeight) || info->weightOperand < 0 ||
      size_t(info->weightOperand) >= node.inputs.size())
    return false;
  const std::string &weight = node.inputs[size_t(info->weightOperand)];
  auto it = values.find(weight);
  return !weight.empty() && it != values.end() && it->second.constant;
}

/// Ancestor and descendant bit sets for the block test. Sources are nodes
/// (their positions) and graph inputs (numNodes + input slot). Quadratic in
/// memory, so only built when some gap needs the test.
class BlockOracle {
public:
  BlockOracle(llvm::ArrayRef<const Node *> order,
              llvm::ArrayRef<NodeInfo> nodes,
              const llvm::StringMap<ValueInfo> &values, size_t numInputs)
      : numNodes_(nodes.size()) {
    size_t n = nodes.size();
    ancestors_.assign(n, llvm::BitVector(n + numInputs));
    descendants_.assign(n, llvm::BitVector(n));
    // Ancestry follows stream values only: a side value (a mask) links
    // everything that reads it, which would make every pair related.
    for (size_t i = 0; i < n; ++i)
      for (const std::string &in : nodes[i].activationInputs) {
        const ValueInfo &v = values.find(in)->second;
        if (v.stream)
          ancestors_[i] |= selfAndAncestors(v);
      }
    // Descendants follow every activation edge: streams that meet in an
    // Add that also adds a mask still reconverge.
    for (size_t i = n; i-- > 0;)
      for (const std::string &out : order[i]->outputs) {
        auto it = out.empty() ? values.end() : values.find(out);
        if (it == values.end())
          continue;
        for (int c : it->second.consumers) {
          descendants_[i].set(size_t(c));
          descendants_[i] |= descendants_[size_t(c)];
        }
      }
  }

  /// True when `a` and `b` depend on a common source and some node at or
  /// after `gap` depends on both.
  bool formBlock(const ValueInfo &a, const ValueInfo &b, size_t gap) const {
    if (!selfAndAncestors(a).anyCommon(selfAndAncestors(b)))
      return false;
    llvm::BitVector common = reachedFrom(a);
    common &= reachedFrom(b);
    return common.find_next(int(gap) - 1) != -1;
  }

private:
  llvm::BitVector selfAndAncestors(const ValueInfo &v) const {
    if (v.producer < 0) {
      llvm::BitVector bits(ancestors_.empty() ? numNodes_ + size_t(v.slot) + 1
                                              : ancestors_[0].size());
      bits.set(numNodes_ + size_t(v.slot));
      return bits;
    }
    llvm::BitVector bits = ancestors_[size_t(v.producer)];
    bits.set(size_t(v.producer));
    return bits;
  }

  /// Nodes reading `v`, and everything that depends on them.
  llvm::BitVector reachedFrom(const ValueInfo &v) const {
    llvm::BitVector bits(numNodes_);
    for (int c : v.consumers) {
      bits.set(size_t(c));
      bits |= descendants_[size_t(c)];
    }
    return bits;
  }

  size_t numNodes_;
  std::vector<llvm::BitVector> ancestors_;
  std::vector<llvm::BitVector> descendants_;
};

} // namespace

CutAnalysis analyzeCuts(const Graph &graph, llvm::ArrayRef<const Node *> order,
                        const CutOptions &options) {
  const size_t n = order.size();
  assert(n == graph.numNodes() && "the order must list every node once");
  const unsigned k = std::max(1u, options.maxLiveTensors);

  CutAnalysis result;

  // --- 1. Classify values and nodes. ---------------------------------------
  llvm::StringMap<ValueInfo> values;
  for (const auto &entry : graph.weights()) {
    ValueInfo &w = values[entry.first];
    w.constant = true;
  }
  size_t numInputs = 0;
  for (const std::string &in : graph.inputs) {
    if (in.empty() || graph.findWeight(in))
      continue; // an old-style model listing an initializer as an input
    ValueInfo &v = values[in];
    v.producer = -1;
    v.slot = int(numInputs++);
  }

  std::vector<NodeInfo> nodes(n);
  for (size_t i = 0; i < n; ++i) {
    const Node &node = *order[i];
    NodeInfo &info = nodes[i];
    for (const std::string &in : node.inputs) {
      if (in.empty())
        continue;
      auto it = values.find(in);
      assert(it != values.end() && "the order must be topological");
      if (it == values.end() || it->second.constant)
        continue;
      if (std::find(info.activationInputs.begin(), info.activationInputs.end(),
                    in) != info.activationInputs.end())
        continue;
      info.activationInputs.push_back(in);
      ValueInfo &v = it->second;
      v.lastUse = std::max(v.lastUse, int(i));
      v.consumers.push_back(int(i));
      info.hasMainInput |= v.main;
    }
    info.constant = info.activationInputs.empty();
    info.weighted = !info.constant && isWeighted(node, values);
    result.weighted.push_back(info.weighted);
    bool main = !info.constant && (info.weighted || info.hasMainInput);
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      if (node.outputs[o].empty())
        continue;
      ValueInfo &v = values[node.outputs[o]];
      v.producer = int(i);
      v.slot = int(o);
      v.constant = info.constant;
      v.main = main;
    }
  }
  // Backwards: which nodes lead to a weighted op without meeting a main
  // value. An activation that does so is a feature stream even before the
  // first weighted op (the embedding of a transformer, the image of a CNN);
  // one that reaches weighted ops only by joining a main value is a side
  // value (a mask).
  for (size_t i = n; i-- > 0;) {
    NodeInfo &info = nodes[i];
    if (info.constant || info.hasMainInput)
      continue;
    bool feeds = info.weighted;
    for (const std::string &out : order[i]->outputs) {
      if (feeds || out.empty())
        continue;
      for (int c : values[out].consumers)
        feeds |= nodes[size_t(c)].feedsWeightedAlone;
    }
    info.feedsWeightedAlone = feeds;
  }
  for (auto &entry : values) {
    ValueInfo &v = entry.second;
    if (v.constant)
      continue;
    v.stream = v.main;
    for (int c : v.consumers)
      v.stream |= nodes[size_t(c)].feedsWeightedAlone;
    if (!v.stream)
      result.sideValues.push_back(entry.first().str());
  }
  std::sort(result.sideValues.begin(), result.sideValues.end());

  // --- 2. Live sets. -------------------------------------------------------
  using Key = std::pair<std::pair<int, int>, std::string>;
  std::vector<std::vector<Key>> adds(n + 2), removes(n + 2);
  std::vector<int> delta(n + 2, 0);
  for (const auto &entry : values) {
    const ValueInfo &v = entry.second;
    if (v.constant || v.lastUse < 0)
      continue;
    size_t first = size_t(v.producer + 1), last = size_t(v.lastUse);
    if (first > last)
      continue;
    Key key{{v.producer, v.slot}, entry.first().str()};
    adds[first].push_back(key);
    removes[last + 1].push_back(key);
    ++delta[first];
    --delta[last + 1];
  }
  result.liveCount.assign(n + 1, 0);
  int running = 0;
  for (size_t p = 0; p <= n; ++p) {
    running += delta[p];
    result.liveCount[p] = unsigned(running);
  }
  // The gap between two nodes with the fewest live tensors is listed even
  // when over K: the "no cut point" error names its tensors.
  size_t fewest = n > 1 ? 1 : 0;
  for (size_t p = 1; p < n; ++p)
    if (result.liveCount[p] < result.liveCount[fewest])
      fewest = p;
  result.live.assign(n + 1, {});
  std::set<Key> liveSet;
  for (size_t p = 0; p <= n; ++p) {
    for (const Key &key : removes[p])
      liveSet.erase(key);
    for (const Key &key : adds[p])
      liveSet.insert(key);
    assert(liveSet.size() == result.liveCount[p]);
    if (liveSet.size() <= k || p == fewest)
      for (const Key &key : liveSet)
        result.live[p].push_back(key.second);
  }

  // --- 3. Classify gaps. ---------------------------------------------------
  result.status.assign(n + 1, GapStatus::Candidate);
  std::optional<BlockOracle> oracle;
  for (size_t p = 0; p <= n; ++p) {
    if (p == 0 || p == n) {
      result.status[p] = GapStatus::Edge;
      continue;
    }
    if (result.liveCount[p] > k) {
      result.status[p] = GapStatus::TooManyLive;
      continue;
    }
    std::vector<const ValueInfo *> streams;
    for (const std::string &name : result.live[p]) {
      const ValueInfo &v = values.find(name)->second;
      if (v.stream)
        streams.push_back(&v);
    }
    if (streams.size() < 2)
      continue;
    if (!oracle)
      oracle.emplace(order, nodes, values, numInputs);
    bool block = false;
    for (size_t a = 0; a < streams.size() && !block; ++a)
      for (size_t b = a + 1; b < streams.size() && !block; ++b)
        block = oracle->formBlock(*streams[a], *streams[b], p);
    if (block)
      result.status[p] = GapStatus::InsideBlock;
  }
  return result;
}

void applyRedundantCutRule(std::vector<GapStatus> &status,
                           const std::vector<bool> &weighted) {
  const size_t n = weighted.size();
  assert(status.size() == n + 1);
  // before[p]: weighted ops among nodes [0, p).
  std::vector<size_t> before(n + 1, 0);
  for (size_t i = 0; i < n; ++i)
    before[i + 1] = before[i] + (weighted[i] ? 1 : 0);
  // Walk backwards so that "a later valid gap before the next weighted op"
  // is known when a gap is visited.
  std::optional<size_t> laterValid;
  for (size_t p = n; p-- > 1;) {
    if (status[p] != GapStatus::Candidate)
      continue;
    bool weightsBefore = before[p] > 0;
    bool weightsAfter = before[n] > before[p];
    bool superseded = laterValid && before[*laterValid] == before[p];
    laterValid = p;
    if (!weightsBefore || !weightsAfter || superseded)
      status[p] = GapStatus::Redundant;
  }
}

std::vector<double> nodeFlopsInOrder(const Graph &graph,
                                     llvm::ArrayRef<const Node *> order) {
  std::vector<double> flops;
  flops.reserve(order.size());
  for (const Node *node : order)
    flops.push_back(estimateNodeCost(graph, *node).flops);
  return flops;
}

llvm::Expected<std::vector<CutPoint>> findCutPoints(const Graph &graph,
                                                    const CutOptions &options) {
  auto order = topologicalOrder(graph);
  if (!order)
    return order.takeError();
  CutAnalysis analysis = analyzeCuts(graph, *order, options);
  applyRedundantCutRule(analysis.status, analysis.weighted);
  std::vector<CutPoint> points;
  for (size_t p : analysis.candidates())
    points.push_back(CutPoint{p, analysis.live[p]});
  return points;
}

namespace {

std::string formatNumber(double value) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::format("%.6g", value);
  return os.str();
}

std::string joinNames(llvm::ArrayRef<std::string> names) {
  std::string text;
  for (const std::string &name : names)
    text += (text.empty() ? "'" : ", '") + name + "'";
  return text;
}

} // namespace

llvm::Error noCutPointError(const CutAnalysis &analysis,
                            llvm::ArrayRef<const Node *> order,
                            const CutOptions &options) {
  const size_t n = analysis.numNodes();
  if (n < 2)
    return makeError("no valid cut point: the model has " + llvm::Twine(n) +
                     " node" + (n == 1 ? "" : "s") +
                     "; a cut needs a node on each side");
  size_t best = 1;
  size_t blocks = 0, redundant = 0;
  for (size_t p = 1; p < n; ++p) {
    if (analysis.liveCount[p] < analysis.liveCount[best])
      best = p;
    blocks += analysis.status[p] == GapStatus::InsideBlock;
    redundant += analysis.status[p] == GapStatus::Redundant;
  }
  unsigned k = std::max(1u, options.maxLiveTensors);
  unsigned fewest = analysis.liveCount[best];
  if (fewest > k)
    return makeError(
        "no valid cut point: every gap between two nodes has more than " +
        llvm::Twine(k) + " live activation tensor" + (k == 1 ? "" : "s") +
        "; the fewest, " + llvm::Twine(fewest) + " (" +
        joinNames(analysis.live[best]) + "), cross before node " +
        order[best]->displayName() +
        " (allow them with max-live-tensors=" + llvm::Twine(fewest) + ")");
  size_t weightedOps = size_t(
      std::count(analysis.weighted.begin(), analysis.weighted.end(), true));
  if (weightedOps < 2)
    return makeError(
        "no valid cut point: the model has " + llvm::Twine(weightedOps) +
        " weighted op" + (weightedOps == 1 ? "" : "s") +
        " (Conv, Gemm or MatMul with a constant weight) and every segment "
        "needs one: a segment without weights is the same in every variant");
  return makeError(
      "no valid cut point: of the gaps with at most " + llvm::Twine(k) +
      " live activation tensor" + (k == 1 ? "" : "s") + ", " +
      llvm::Twine(blocks) +
      " lie inside blocks (their tensors fork from a common producer and "
      "reconverge) and " +
      llvm::Twine(redundant) +
      " would leave a segment without a weighted op (Conv, Gemm or MatMul "
      "with a constant weight)");
}

//===----------------------------------------------------------------------===//
// Segment choice
//===----------------------------------------------------------------------===//

namespace {

/// Prefix sums over the nodes and the stretch endpoints 0, candidates, N.
class Stretches {
public:
  Stretches(llvm::ArrayRef<double> costs, llvm::ArrayRef<size_t> candidates) {
    prefix_.assign(costs.size() + 1, 0.0);
    for (size_t i = 0; i < costs.size(); ++i)
      prefix_[i + 1] = prefix_[i] + costs[i];
    points_.push_back(0);
    points_.insert(points_.end(), candidates.begin(), candidates.end());
    points_.push_back(costs.size());
  }
  size_t numPoints() const { return points_.size(); }
  size_t point(size_t i) const { return points_[i]; }
  /// Cost of the nodes between points i < j.
  double cost(size_t i, size_t j) const {
    return prefix_[points_[j]] - prefix_[points_[i]];
  }
  /// Fewest segments with every segment costing at most `limit`; each
  /// segment reaches as far as it can. 0 when one stretch alone is over.
  size_t minSegments(double limit, std::vector<size_t> *cuts = nullptr) const {
    size_t count = 0, start = 0, last = numPoints() - 1;
    while (start < last) {
      size_t end = start;
      while (end < last && cost(start, end + 1) <= limit)
        ++end;
      if (end == start)
        return 0;
      ++count;
      if (cuts && end < last)
        cuts->push_back(end);
      start = end;
    }
    return count;
  }

private:
  std::vector<double> prefix_;
  std::vector<size_t> points_;
};

std::string nodeLabel(const SegmentNaming &naming, size_t i) {
  if (i < naming.nodeNames.size())
    return naming.nodeNames[i];
  return "#" + std::to_string(i);
}

} // namespace

llvm::Expected<SegmentChoice> chooseSegments(llvm::ArrayRef<double> nodeCosts,
                                             llvm::ArrayRef<size_t> candidates,
                                             const SegmentRequest &request,
                                             const SegmentNaming &naming) {
  assert(std::is_sorted(candidates.begin(), candidates.end()));
  assert(candidates.empty() ||
         (candidates.front() > 0 && candidates.back() < nodeCosts.size()));
  Stretches s(nodeCosts, candidates);
  const size_t last = s.numPoints() - 1;
  const size_t m = candidates.size();

  size_t segments = request.segments;
  if (request.maxSegmentCost) {
    double limit = *request.maxSegmentCost;
    // The stretch no cut point divides that costs the most decides whether
    // the limit can be met at all.
    size_t worst = 0;
    for (size_t i = 0; i < last; ++i)
      if (s.cost(i, i + 1) > s.cost(worst, worst + 1))
        worst = i;
    double worstCost = s.cost(worst, worst + 1);
    if (worstCost > limit) {
      size_t from = s.point(worst), to = s.point(worst + 1);
      size_t heaviest = from;
      for (size_t i = from; i < to; ++i)
        if (nodeCosts[i] > nodeCosts[heaviest])
          heaviest = i;
      std::string limitText = formatNumber(limit);
      if (nodeCosts[heaviest] > limit)
        return makeNodeError(nodeLabel(naming, heaviest),
                             "max-segment-cost=" + limitText +
                                 " cannot be met: this node alone costs " +
                                 formatNumber(nodeCosts[heaviest]) + " " +
                                 naming.unit);
      return makeNodeError(
          nodeLabel(naming, heaviest),
          "max-segment-cost=" + limitText + " cannot be met: this node (" +
              formatNumber(nodeCosts[heaviest]) + " " + naming.unit +
              ", the most expensive of nodes " + nodeLabel(naming, from) +
              " to " + nodeLabel(naming, to - 1) +
              ") lies in a stretch without a valid cut point that costs " +
              formatNumber(worstCost) + " " + naming.unit +
              "; raise max-segment-cost to at least " +
              formatNumber(worstCost) + " or allow more live tensors");
    }
    segments = s.minSegments(limit);
    assert(segments >= 1);
  }
  if (segments == 0)
    return makeError("the number of segments must be at least 1");
  if (segments > m + 1)
    return makeError(naming.subject + " has only " + llvm::Twine(m) +
                     " valid cut point" + (m == 1 ? "" : "s") + "; at most " +
                     llvm::Twine(m + 1) + " segment" + (m == 0 ? "" : "s") +
                     " (asked for " + llvm::Twine(segments) + ")");

  SegmentChoice choice;
  if (segments == 1) {
    choice.segmentCosts.push_back(s.cost(0, last));
    return choice;
  }

  // The smallest achievable maximum: bisection on the limit with the greedy
  // feasibility test (a limit admits `segments` segments exactly when the
  // greedy needs no more, since splitting a segment never raises the
  // maximum), then the greedy's own maximum at the found limit, which is a
  // real segment cost.
  double lo = 0, hi = s.cost(0, last);
  for (size_t i = 0; i < last; ++i)
    lo = std::max(lo, s.cost(i, i + 1));
  if (s.minSegments(lo) == 0 || s.minSegments(lo) > segments) {
    for (int iteration = 0; iteration < 200 && hi - lo > 1e-12 * hi;
         ++iteration) {
      double mid = lo + (hi - lo) / 2;
      size_t need = s.minSegments(mid);
      if (need != 0 && need <= segments)
        hi = mid;
      else
        lo = mid;
    }
  } else {
    hi = lo;
  }
  std::vector<size_t> greedyCuts;
  s.minSegments(hi, &greedyCuts);
  double bottleneck = 0;
  {
    size_t start = 0;
    greedyCuts.push_back(last);
    for (size_t end : greedyCuts) {
      bottleneck = std::max(bottleneck, s.cost(start, end));
      start = end;
    }
  }
  // Costs are sums of doubles: allow for rounding in the comparisons.
  const double limit = bottleneck * (1 + 1e-12);

  // Among choices with every segment within the limit, the least sum of
  // squares. best[j] over points; one layer per segment count. Segments
  // ending at point j may start at points [first[j], j) only, which keeps
  // the DP near-linear when segments are much shorter than the model.
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<size_t> first(last + 1, 0);
  for (size_t j = 1, i = 0; j <= last; ++j) {
    while (s.cost(i, j) > limit)
      ++i;
    first[j] = i;
  }
  std::vector<double> previous(last + 1, inf), current(last + 1, inf);
  std::vector<std::vector<uint32_t>> parent(segments + 1,
                                            std::vector<uint32_t>(last + 1, 0));
  previous[0] = 0;
  for (size_t seg = 1; seg <= segments; ++seg) {
    std::fill(current.begin(), current.end(), inf);
    for (size_t j = seg; j <= last; ++j) {
      for (size_t i = first[j]; i < j; ++i) {
        if (previous[i] == inf)
          continue;
        double c = s.cost(i, j);
        double value = previous[i] + c * c;
        if (value < current[j]) {
          current[j] = value;
          parent[seg][j] = uint32_t(i);
        }
      }
    }
    std::swap(previous, current);
  }
  assert(previous[last] != inf && "the greedy solution is within the limit");
  std::vector<size_t> pointsChosen;
  for (size_t seg = segments, j = last; seg > 0; --seg) {
    size_t i = parent[seg][j];
    if (i != 0)
      pointsChosen.push_back(i);
    choice.segmentCosts.push_back(s.cost(i, j));
    j = i;
  }
  std::reverse(pointsChosen.begin(), pointsChosen.end());
  std::reverse(choice.segmentCosts.begin(), choice.segmentCosts.end());
  for (size_t point : pointsChosen)
    choice.cuts.push_back(s.point(point));
  return choice;
}

} // namespace sparseloom
