//===- DetectBoundaries.cpp - Cut points and segments of a family ---------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Finds the gaps in the node order where every member of a family can be
// cut (few live activation tensors, not inside a block; the rules are in
// Stitch/Boundaries.h and docs/Boundaries.md), then chooses where to cut it
// into segments balanced by cost. Stitching needs the same cut points in
// every variant, so a gap counts only when it is valid in all members: the
// members are walked in the order align-family established (the reference
// topological order, node by node), or each in its own topological order
// when the family was not aligned (then they must have as many nodes).
// Costs are the reference member's (the first, normally the dense one).
//
// Results go into family.state (candidates, chosen, boundariesDetected) and,
// so that FileCheck and the Graphviz exporter see them, into every member:
//
//   node   boundary.candidate  index of the cut point just before this node
//          boundary.live       the tensors live across it (member's names)
//          boundary.chosen     on the first node of segment i (i >= 1): i
//          boundary.segment    the segment of every node (2+ segments only)
//   module boundary.candidates positions of every cut point
//          boundary.chosen     positions of the chosen ones
//          boundary.segments   number of segments
//          boundary.segment-costs  this member's cost of each segment
//                              (in boundary.cost units)
//          boundary.cost       "flops" or "params"
//          boundary.max-live-tensors  K
//
// Run on a lone module (run(Module&)) it treats the module as a family of
// one and writes the same annotations.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"

#include "sparseloom/IR/Analysis.h"
#include "sparseloom/IR/Cost.h"
#include "sparseloom/Stitch/Alignment.h"
#include "sparseloom/Stitch/Boundaries.h"
#include "sparseloom/Support/Diagnostics.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>
#include <vector>

#define DEBUG_TYPE "detect-boundaries"

namespace sparseloom {

namespace {

constexpr const char *kSegments = "segments";
constexpr const char *kMaxSegmentCost = "max-segment-cost";
constexpr const char *kMaxLiveTensors = "max-live-tensors";
constexpr const char *kCost = "cost";

constexpr const char *kStatCandidates = "candidates";
constexpr const char *kStatChosen = "chosen";
constexpr const char *kStatTooManyLive = "gaps-too-many-live";
constexpr const char *kStatInsideBlock = "gaps-inside-block";
constexpr const char *kStatRedundant = "gaps-redundant";

constexpr const char *kPrefix = "boundary.";
constexpr const char *kNodeCandidate = "boundary.candidate";
constexpr const char *kNodeLive = "boundary.live";
constexpr const char *kNodeChosen = "boundary.chosen";
constexpr const char *kNodeSegment = "boundary.segment";
constexpr const char *kModuleCandidates = "boundary.candidates";
constexpr const char *kModuleChosen = "boundary.chosen";
constexpr const char *kModuleSegments = "boundary.segments";
constexpr const char *kModuleSegmentCosts = "boundary.segment-costs";
constexpr const char *kModuleCost = "boundary.cost";
constexpr const char *kModuleMaxLive = "boundary.max-live-tensors";

enum class CostMeasure { Flops, Params };

struct Config {
  SegmentRequest request;
  CutOptions cut;
  CostMeasure cost = CostMeasure::Flops;
};

/// One member as the pass sees it: its module, its nodes in the common
/// order, and where it came from for messages.
struct MemberView {
  Module *module;
  std::string variant;
  std::string file;
  std::vector<const Node *> order;
};

/// What the pass decided, in reference names.
struct Detection {
  std::vector<FamilyBoundary> candidates;
  std::vector<FamilyBoundary> chosen;
};

void eraseOwnAnnotations(AttributeMap &annotations) {
  for (auto it = annotations.begin(); it != annotations.end();)
    it = llvm::StringRef(it->first).startswith(kPrefix) ? annotations.erase(it)
                                                        : std::next(it);
}

class DetectBoundariesPass : public Pass {
public:
  DetectBoundariesPass(const PassInfo &info, Config config)
      : Pass(info), config_(std::move(config)) {}

  llvm::Error run(Module &module) override;
  llvm::Error runOnFamily(Family &family) override;

private:
  llvm::Expected<Detection> detect(std::vector<MemberView> &members,
                                   llvm::StringRef subject);
  void annotate(MemberView &member, const CutAnalysis &analysis,
                llvm::ArrayRef<size_t> candidates, const SegmentChoice &choice);

  Config config_;
};

llvm::Error DetectBoundariesPass::run(Module &module) {
  auto order = topologicalOrder(module.graph);
  if (!order)
    return order.takeError();
  std::vector<MemberView> members;
  members.push_back(MemberView{&module, "model", "", std::move(*order)});
  auto detection = detect(members, "model");
  return detection ? llvm::Error::success() : detection.takeError();
}

llvm::Error DetectBoundariesPass::runOnFamily(Family &family) {
  assert(family.size() > 0 && "a family has at least its reference");
  std::vector<MemberView> members;
  for (unsigned m = 0; m < family.size(); ++m) {
    FamilyMember &member = family.members[m];
    std::vector<const Node *> order;
    if (family.state.alignment) {
      auto aligned = alignedNodes(family, m);
      if (!aligned)
        return withFile(aligned.takeError(), member.file);
      order = std::move(*aligned);
    } else {
      auto topo = topologicalOrder(member.module->graph);
      if (!topo)
        return withFile(topo.takeError(), member.file);
      order = std::move(*topo);
    }
    members.push_back(MemberView{member.module.get(), member.variant,
                                 member.file, std::move(order)});
  }
  std::string subject =
      family.size() == 1 ? "model" : "family '" + family.task + "'";
  auto detection = detect(members, subject);
  if (!detection)
    return detection.takeError();
  family.state.candidates = std::move(detection->candidates);
  family.state.chosen = std::move(detection->chosen);
  family.state.boundariesDetected = true;
  return llvm::Error::success();
}

llvm::Expected<Detection>
DetectBoundariesPass::detect(std::vector<MemberView> &members,
                             llvm::StringRef subject) {
  MemberView &ref = members.front();
  const size_t n = ref.order.size();
  for (const MemberView &member : members)
    if (member.order.size() != n)
      return withFile(
          makeError("member '" + member.variant + "' has " +
                    llvm::Twine(member.order.size()) +
                    " nodes but the reference '" + ref.variant + "' has " +
                    llvm::Twine(n) +
                    "; the members of a family must share one structure (run "
                    "align-family first to see where they differ)"),
          member.file);

  // A gap is a cut point only when it is one in every member: live sets are
  // structural, but a variant with other wiring would disagree.
  std::vector<CutAnalysis> analyses;
  for (const MemberView &member : members)
    analyses.push_back(
        analyzeCuts(member.module->graph, member.order, config_.cut));
  std::vector<GapStatus> status = analyses.front().status;
  std::vector<std::string> rejectedBy(n + 1);
  for (size_t m = 1; m < members.size(); ++m)
    for (size_t p = 0; p <= n; ++p)
      if (status[p] == GapStatus::Candidate &&
          analyses[m].status[p] != GapStatus::Candidate) {
        status[p] = analyses[m].status[p];
        rejectedBy[p] = members[m].variant;
      }
  applyRedundantCutRule(status, analyses.front().weighted);

  std::vector<size_t> candidates;
  for (size_t p = 0; p <= n; ++p) {
    switch (status[p]) {
    case GapStatus::Candidate:
      candidates.push_back(p);
      statistics().add(kStatCandidates);
      break;
    case GapStatus::TooManyLive:
      statistics().add(kStatTooManyLive);
      break;
    case GapStatus::InsideBlock:
      statistics().add(kStatInsideBlock);
      break;
    case GapStatus::Redundant:
      statistics().add(kStatRedundant);
      break;
    case GapStatus::Edge:
      break;
    }
    SL_DEBUG({
      if (p > 0 && p < n &&
          analyses.front().liveCount[p] <= config_.cut.maxLiveTensors) {
        debugStream() << DEBUG_TYPE << ": gap " << p << " before "
                      << ref.order[p]->displayName() << ": "
                      << gapStatusName(status[p]);
        if (!rejectedBy[p].empty())
          debugStream() << " (in member '" << rejectedBy[p] << "')";
        for (const std::string &name : analyses.front().live[p])
          debugStream() << " '" << name << "'";
        debugStream() << "\n";
      }
    });
  }
  SL_DEBUG({
    for (const std::string &name : analyses.front().sideValues)
      debugStream() << DEBUG_TYPE << ": side value '" << name << "'\n";
  });

  if (candidates.empty()) {
    CutAnalysis combined = analyses.front();
    combined.status = status;
    return withFile(noCutPointError(combined, ref.order, config_.cut),
                    ref.file);
  }

  std::vector<double> costs;
  for (const Node *node : ref.order) {
    NodeCost cost = estimateNodeCost(ref.module->graph, *node);
    costs.push_back(config_.cost == CostMeasure::Flops
                        ? cost.flops
                        : double(cost.parameters));
  }
  SegmentNaming naming;
  naming.subject = subject.str();
  naming.unit = config_.cost == CostMeasure::Flops ? "FLOPs" : "parameters";
  for (const Node *node : ref.order)
    naming.nodeNames.push_back(node->displayName());
  auto choice = chooseSegments(costs, candidates, config_.request, naming);
  if (!choice)
    return withFile(choice.takeError(), ref.file);
  statistics().add(kStatChosen, int64_t(choice->cuts.size()));

  for (size_t m = 0; m < members.size(); ++m)
    annotate(members[m], analyses[m], candidates, *choice);

  Detection detection;
  const CutAnalysis &refAnalysis = analyses.front();
  for (size_t p : candidates)
    detection.candidates.push_back(FamilyBoundary{p, refAnalysis.live[p]});
  for (size_t p : choice->cuts)
    detection.chosen.push_back(FamilyBoundary{p, refAnalysis.live[p]});
  return detection;
}

void DetectBoundariesPass::annotate(MemberView &member,
                                    const CutAnalysis &analysis,
                                    llvm::ArrayRef<size_t> candidates,
                                    const SegmentChoice &choice) {
  Module &module = *member.module;
  // Annotations describe this run only; a previous run with other options
  // must not leave stale cut points behind.
  eraseOwnAnnotations(module.annotations);
  llvm::DenseMap<const Node *, Node *> mutableNode;
  for (const auto &node : module.graph.nodes()) {
    eraseOwnAnnotations(node->annotations);
    mutableNode[node.get()] = node.get();
  }
  auto at = [&](size_t position) -> AttributeMap & {
    return mutableNode[member.order[position]]->annotations;
  };

  std::vector<int64_t> candidatePositions, chosenPositions;
  for (size_t i = 0; i < candidates.size(); ++i) {
    size_t p = candidates[i];
    candidatePositions.push_back(int64_t(p));
    at(p)[kNodeCandidate] = Attribute(int64_t(i));
    at(p)[kNodeLive] = Attribute(analysis.live[p]);
  }
  for (size_t i = 0; i < choice.cuts.size(); ++i) {
    chosenPositions.push_back(int64_t(choice.cuts[i]));
    at(choice.cuts[i])[kNodeChosen] = Attribute(int64_t(i + 1));
  }
  if (!choice.cuts.empty()) {
    size_t segment = 0;
    for (size_t p = 0; p < member.order.size(); ++p) {
      if (segment < choice.cuts.size() && p == choice.cuts[segment])
        ++segment;
      at(p)[kNodeSegment] = Attribute(int64_t(segment));
    }
  }
  // The member's own costs at the common cuts: a channel-pruned variant
  // does less work than the reference whose costs chose the cuts.
  std::vector<float> segmentCosts(choice.segmentCosts.size(), 0.0f);
  for (size_t p = 0, segment = 0; p < member.order.size(); ++p) {
    if (segment < choice.cuts.size() && p == choice.cuts[segment])
      ++segment;
    NodeCost cost = estimateNodeCost(module.graph, *member.order[p]);
    segmentCosts[segment] +=
        float(config_.cost == CostMeasure::Flops ? cost.flops
                                                 : double(cost.parameters));
  }
  module.annotations[kModuleCandidates] = Attribute(candidatePositions);
  module.annotations[kModuleChosen] = Attribute(chosenPositions);
  module.annotations[kModuleSegments] =
      Attribute(int64_t(choice.segmentCosts.size()));
  module.annotations[kModuleSegmentCosts] = Attribute(segmentCosts);
  module.annotations[kModuleCost] =
      Attribute(config_.cost == CostMeasure::Flops ? "flops" : "params");
  module.annotations[kModuleMaxLive] =
      Attribute(int64_t(config_.cut.maxLiveTensors));
}

llvm::Expected<Config> parseConfig(const PassOptions &options) {
  Config config;
  auto segments = options.getInt(kSegments, 1);
  if (!segments)
    return segments.takeError();
  if (*segments < 1)
    return makeError(llvm::Twine("option '") + kSegments +
                     "' must be at least 1, got " + llvm::Twine(*segments));
  config.request.segments = size_t(*segments);
  if (options.has(kMaxSegmentCost)) {
    if (options.has(kSegments))
      return makeError(llvm::Twine("options '") + kSegments + "' and '" +
                       kMaxSegmentCost +
                       "' exclude each other: give a number of segments or "
                       "a cost limit");
    auto limit = options.getDouble(kMaxSegmentCost, 0);
    if (!limit)
      return limit.takeError();
    if (!(*limit > 0))
      return makeError(llvm::Twine("option '") + kMaxSegmentCost +
                       "' must be positive");
    config.request.maxSegmentCost = *limit;
  }
  auto maxLive = options.getInt(kMaxLiveTensors, 1);
  if (!maxLive)
    return maxLive.takeError();
  if (*maxLive < 1 || *maxLive > 1024)
    return makeError(llvm::Twine("option '") + kMaxLiveTensors +
                     "' must be between 1 and 1024, got " +
                     llvm::Twine(*maxLive));
  config.cut.maxLiveTensors = unsigned(*maxLive);
  std::string cost = options.getString(kCost, "flops");
  if (cost == "flops")
    config.cost = CostMeasure::Flops;
  else if (cost == "params")
    config.cost = CostMeasure::Params;
  else
    return makeError(llvm::Twine("option '") + kCost +
                     "' must be 'flops' or 'params', got '" + cost + "'");
  return config;
}

} // namespace

const PassInfo &detectBoundariesPassInfo() {
  static const PassInfo info = [] {
    PassInfo i;
    i.name = "detect-boundaries";
    i.summary = "Find cut points valid in every member of a family and "
                "choose segments balanced by cost";
    i.options = {
        {kSegments, "number of segments to cut the model into", "1"},
        {kMaxSegmentCost,
         "instead of a number: the fewest segments none of which costs more "
         "than this (in cost units)",
         ""},
        {kMaxLiveTensors,
         "most activation tensors a cut may carry (2+ for side inputs, masks "
         "or two-stream models)",
         "1"},
        {kCost, "what segments are balanced by: flops or params", "flops"},
    };
    i.statistics = {
        {kStatCandidates, "cut points valid in every member"},
        {kStatChosen, "cut points chosen"},
        {kStatTooManyLive, "gaps with more live tensors than allowed"},
        {kStatInsideBlock, "gaps inside a block"},
        {kStatRedundant, "valid gaps dropped: no weighted op on one side, or "
                         "a later gap splits the same weighted ops"},
    };
    i.create = [](const PassOptions &options)
        -> llvm::Expected<std::unique_ptr<Pass>> {
      auto config = parseConfig(options);
      if (!config)
        return config.takeError();
      return std::make_unique<DetectBoundariesPass>(detectBoundariesPassInfo(),
                                                    std::move(*config));
    };
    return i;
  }();
  return info;
}

} // namespace sparseloom
