//===- Splitting.cpp - Cutting variants into segments, stitching ----------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Segments are extracted with extractSubgraph (IR/Analysis.h), which already
// computes a standalone interface (what is read from outside becomes an
// input, what is read outside or is a graph output becomes an output, only
// used weights are copied); split only orders that interface by the
// boundaries so that a segment's inputs line up with the previous segment's
// outputs.
//
// Stitching renames nothing that it need not: every value keeps the name its
// producing member gives it, and a weight keeps its name unless another
// segment already brought a different tensor under that name. Values are
// matched across members through the alignment (FamilyValueMap), so members
// whose value names differ still stitch.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Stitch/Splitting.h"

#include "sparseloom/IR/Analysis.h"
#include "sparseloom/IR/Verifier.h"
#include "sparseloom/Stitch/Alignment.h"
#include "sparseloom/Stitch/Compatibility.h"
#include "sparseloom/Support/Diagnostics.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <algorithm>
#include <cassert>

namespace sparseloom {

namespace {

constexpr const char *kSegmentAnnotation = "split.segment";
constexpr const char *kVariantAnnotation = "split.variant";

/// Reorders `names` so that those in `first` come first (in `first`'s
/// order), then those in `second` (in its order), then the rest as they were.
void orderBy(std::vector<std::string> &names,
             const std::vector<std::string> &first,
             const std::vector<std::string> &second) {
  llvm::StringSet<> present;
  for (const std::string &n : names)
    present.insert(n);
  std::vector<std::string> ordered;
  llvm::StringSet<> placed;
  for (const auto *list : {&first, &second})
    for (const std::string &n : *list)
      if (!n.empty() && present.count(n) && placed.insert(n).second)
        ordered.push_back(n);
  for (const std::string &n : names)
    if (placed.insert(n).second)
      ordered.push_back(n);
  names = std::move(ordered);
}

/// Values that cross a segment without being produced or read in it (an
/// attention mask made in the first segment and read in the third, a model
/// input first read in the last segment) become an input and an output of
/// that segment under the same name: every
/// segment then feeds the next with everything later segments read, which
/// is what running the segments as a chain (profile-accuracy, the bundle's
/// variants) needs.
void passThrough(Graph &segment, const Module &member,
                 const std::vector<std::string> &liveAfter) {
  llvm::StringSet<> outputs;
  for (const std::string &out : segment.outputs)
    outputs.insert(out);
  for (const std::string &value : liveAfter) {
    if (value.empty() || outputs.count(value) || member.graph.findWeight(value))
      continue;
    if (std::find(segment.inputs.begin(), segment.inputs.end(), value) ==
        segment.inputs.end()) {
      segment.inputs.push_back(value);
      segment.setType(value, member.graph.getType(value));
    }
    segment.outputs.push_back(value);
    outputs.insert(value);
  }
}

std::string boundaryText(const Family &family, size_t index) {
  return "boundary " + std::to_string(index) + " (before node " +
         std::to_string(family.state.chosen[index].position) +
         " of the reference order)";
}

} // namespace

llvm::Expected<std::vector<std::pair<size_t, size_t>>>
segmentRanges(const Family &family) {
  size_t numNodes = family.state.alignment
                        ? family.state.alignment->nodeOrder.front().size()
                        : family.reference().graph.numNodes();
  std::vector<std::pair<size_t, size_t>> ranges;
  size_t begin = 0;
  for (size_t i = 0; i < family.state.chosen.size(); ++i) {
    size_t position = family.state.chosen[i].position;
    if (position <= begin || position >= numNodes)
      return withFile(
          makeError(boundaryText(family, i) + " does not cut the " +
                    std::to_string(numNodes) +
                    "-node order into non-empty segments: positions must "
                    "increase strictly between 1 and " +
                    std::to_string(numNodes - 1)),
          family.members.front().file);
    ranges.emplace_back(begin, position);
    begin = position;
  }
  ranges.emplace_back(begin, numNodes);
  return ranges;
}

std::string segmentName(const Family &family, unsigned member, unsigned seg) {
  return family.task + "." + family.members[member].variant + ".seg" +
         std::to_string(seg);
}

llvm::Error splitFamily(Family &family) {
  const std::string &file = family.members.front().file;
  if (!family.state.alignment)
    return withFile(makeError("split needs the family alignment: run "
                              "align-family first (e.g. --pass-pipeline="
                              "align-family,detect-boundaries,split)"),
                    file);
  if (!family.state.boundariesDetected)
    return withFile(makeError("split needs the chosen boundaries: run "
                              "detect-boundaries first (e.g. --pass-pipeline="
                              "align-family,detect-boundaries,split)"),
                    file);
  auto ranges = segmentRanges(family);
  if (!ranges)
    return ranges.takeError();
  auto map = FamilyValueMap::build(family);
  if (!map)
    return map.takeError();

  const auto &chosen = family.state.chosen;
  FamilySegments segments;
  segments.perMember.resize(family.size());
  for (unsigned m = 0; m < family.size(); ++m) {
    const FamilyMember &member = family.members[m];
    auto nodes = alignedNodes(family, m);
    if (!nodes)
      return nodes.takeError();
    auto toMember = [&](const std::vector<std::string> &refNames) {
      std::vector<std::string> names;
      for (const std::string &r : refNames)
        names.push_back(map->toMember(m, r));
      return names;
    };
    for (unsigned s = 0; s < ranges->size(); ++s) {
      auto [begin, end] = (*ranges)[s];
      std::vector<const Node *> part(nodes->begin() + begin,
                                     nodes->begin() + end);
      auto segment =
          extractSubgraph(*member.module, part, segmentName(family, m, s));
      if (!segment)
        return withFile(segment.takeError(), member.file);
      Graph &graph = (*segment)->graph;
      if (s + 1 < ranges->size())
        passThrough(graph, *member.module, toMember(chosen[s].liveTensors));
      orderBy(graph.inputs,
              s > 0 ? toMember(chosen[s - 1].liveTensors)
                    : std::vector<std::string>(),
              member.module->graph.inputs);
      orderBy(graph.outputs,
              s + 1 < ranges->size() ? toMember(chosen[s].liveTensors)
                                     : std::vector<std::string>(),
              member.module->graph.outputs);
      if (graph.outputs.empty())
        return withFile(
            makeNodeError(part.back()->displayName(),
                          "segment " + llvm::Twine(s) +
                              " produces nothing that later segments or the "
                              "graph outputs read; choose other boundaries"),
            member.file);
      (*segment)->annotations[kSegmentAnnotation] = int64_t(s);
      (*segment)->annotations[kVariantAnnotation] = member.variant;
      // extractSubgraph keeps every invariant; a failure is a bug here.
      assert(!verify(**segment) && "a segment must be a valid module");
      segments.perMember[m].push_back(std::move(*segment));
    }
  }
  family.state.segments = std::move(segments);
  return llvm::Error::success();
}

llvm::Expected<std::unique_ptr<Module>>
composeStitched(const Family &family,
                llvm::ArrayRef<unsigned> memberPerSegment) {
  const std::string &file = family.members.front().file;
  if (!family.state.segments)
    return withFile(makeError("stitching needs the segments: run split first"),
                    file);
  const auto &perMember = family.state.segments->perMember;
  const size_t numSegments = perMember.front().size();
  if (memberPerSegment.size() != numSegments)
    return withFile(makeError("a stitch names " +
                              llvm::Twine(memberPerSegment.size()) +
                              " members, but the family has " +
                              llvm::Twine(numSegments) + " segments"),
                    file);
  bool mixed = false;
  for (unsigned m : memberPerSegment) {
    if (m >= family.size())
      return withFile(makeError("a stitch names member " + llvm::Twine(m) +
                                ", but the family has " +
                                llvm::Twine(family.size())),
                      file);
    mixed |= m != memberPerSegment.front();
  }
  auto variant = [&](unsigned m) {
    return "\"" + family.members[m].variant + "\"";
  };

  // The matrix decides at each boundary.
  const auto &compat = family.state.compatibility;
  if (mixed && compat.size() != family.state.chosen.size())
    return withFile(makeError("stitching different members needs the "
                              "compatibility matrix: run check-compat first"),
                    file);
  for (size_t j = 0; mixed && j + 1 < numSegments; ++j) {
    unsigned a = memberPerSegment[j], b = memberPerSegment[j + 1];
    if (!compat[j].stitchable[a][b])
      return withFile(makeError("cannot stitch " + variant(a) + " into " +
                                variant(b) + " at " + boundaryText(family, j) +
                                ": " + compat[j].reasons[a][b]),
                      file);
  }

  auto map = FamilyValueMap::build(family);
  if (!map)
    return map.takeError();
  auto ranges = segmentRanges(family);
  if (!ranges)
    return ranges.takeError();
  // Which segment produces each reference value; graph inputs are produced
  // "before segment 0" by the first segment's member.
  auto refNodes = alignedNodes(family, 0);
  if (!refNodes)
    return refNodes.takeError();
  llvm::StringMap<unsigned> producerMember;
  for (const std::string &in : family.reference().graph.inputs)
    producerMember[in] = memberPerSegment.front();
  for (unsigned s = 0; s < numSegments; ++s)
    for (size_t i = (*ranges)[s].first; i < (*ranges)[s].second; ++i)
      for (const std::string &out : (*refNodes)[i]->outputs)
        if (!out.empty())
          producerMember[out] = memberPerSegment[s];

  const Module &first = *perMember[memberPerSegment.front()].front();
  auto result = std::make_unique<Module>();
  result->irVersion = first.irVersion;
  result->producerName = first.producerName;
  result->producerVersion = first.producerVersion;
  result->domain = first.domain;
  result->modelVersion = first.modelVersion;
  result->docString = first.docString;
  result->opsetImports = first.opsetImports;
  result->metadata = first.metadata;
  Graph &graph = result->graph;
  const Module &firstMember = *family.members[memberPerSegment.front()].module;
  graph.name = firstMember.graph.name;

  llvm::StringMap<std::string> finalName; // reference value -> result name
  for (const std::string &in : firstMember.graph.inputs) {
    graph.inputs.push_back(in);
    graph.setType(in, firstMember.graph.getType(in));
    finalName[map->toReference(memberPerSegment.front(), in)] = in;
  }

  for (unsigned s = 0; s < numSegments; ++s) {
    unsigned m = memberPerSegment[s];
    const Graph &seg = perMember[m][s]->graph;
    llvm::StringMap<std::string> local; // segment name -> result name
    for (const std::string &in : seg.inputs) {
      std::string ref = map->toReference(m, in);
      auto it = finalName.find(ref);
      if (ref.empty() || it == finalName.end())
        return withFile(makeError("segment " + llvm::Twine(s) + " of " +
                                  variant(m) + " reads '" + in +
                                  "', which no earlier segment produces; "
                                  "run split again"),
                        family.members[m].file);
      // Readers two or more segments after the producer, and graph inputs,
      // are not covered by one boundary's matrix entry: check them here.
      unsigned producer = producerMember.lookup(ref);
      if (producer != m) {
        std::string why = interfaceMismatch(family, *map, producer, m, ref);
        if (!why.empty())
          return withFile(makeError("cannot stitch " + variant(producer) +
                                    " into " + variant(m) + " at segment " +
                                    llvm::Twine(s) + ": " + why),
                          file);
      }
      local[in] = it->second;
    }
    for (const auto &entry : seg.weights()) {
      const Weight &weight = entry.second;
      std::string name = weight.name;
      if (const Weight *existing = graph.findWeight(name)) {
        bool same = existing->data && weight.data &&
                    existing->data->type() == weight.data->type() &&
                    existing->data->contentHash() == weight.data->contentHash();
        if (same) {
          local[weight.name] = name;
          continue;
        }
      }
      if (graph.findWeight(name) || graph.hasType(name))
        name = graph.uniqueName(name);
      Weight copy = weight;
      copy.name = name;
      graph.setWeight(std::move(copy));
      local[weight.name] = name;
    }
    for (const auto &node : seg.nodes()) {
      Node copy = *node;
      for (std::string &in : copy.inputs) {
        if (in.empty())
          continue;
        auto it = local.find(in);
        assert(it != local.end() && "segments are valid standalone modules");
        in = it->second;
      }
      for (std::string &out : copy.outputs) {
        if (out.empty())
          continue;
        std::string name = out;
        if (graph.hasType(name) || graph.findWeight(name))
          name = graph.uniqueName(name);
        graph.setType(name, seg.getType(out));
        local[out] = name;
        std::string ref = map->toReference(m, out);
        if (!ref.empty())
          finalName[ref] = name;
        out = name;
      }
      graph.addNode(std::move(copy));
    }
  }

  for (const std::string &out : family.reference().graph.outputs) {
    auto it = finalName.find(out);
    assert(it != finalName.end() && "every graph output has a producer");
    graph.outputs.push_back(it->second);
  }
  if (llvm::Error err = verify(*result))
    return withFile(std::move(err), file);
  return result;
}

} // namespace sparseloom
