//===- FamilyReport.cpp - The family's JSON report ------------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Segment costs are computed from the node ranges of the chosen boundaries,
// whether or not split has run, so the report can size segments before any
// are written. Parameters count every weight the segment's nodes read once,
// as estimateModuleCost does for a whole module, so the cost of a segment
// equals the cost of the module split makes of it.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Stitch/FamilyReport.h"

#include "StitchReportInternal.h"

#include "sparseloom/IR/Analysis.h"
#include "sparseloom/IR/Cost.h"
#include "sparseloom/Stitch/Alignment.h"
#include "sparseloom/Stitch/Splitting.h"
#include "sparseloom/Support/Diagnostics.h"

#include "llvm/ADT/StringSet.h"

#include <nlohmann/json.hpp>

namespace sparseloom {

namespace {

// Keys keep the order they are written in: the report reads top-down.
using json = nlohmann::ordered_json;

/// {name, dtype, shape, type} of a value; shape is null when the rank is
/// unknown, a dimension an integer, a symbol's name, or null when unknown.
json valueJson(llvm::StringRef name, const TensorType &type) {
  json shape = nullptr;
  if (type.dims) {
    shape = json::array();
    for (const Dim &d : *type.dims) {
      if (d.isKnown())
        shape.push_back(d.size());
      else if (d.isSymbolic())
        shape.push_back(d.symbol());
      else
        shape.push_back(nullptr);
    }
  }
  return {{"name", name.str()},
          {"dtype", dtypeName(type.dtype).str()},
          {"shape", shape},
          {"type", formatType(type)}};
}

/// Adds the cost of `nodes` to `out` (weights read by several of them count
/// once).
void addCost(json &out, const std::vector<const Node *> &nodes,
             const Graph &graph) {
  double flops = 0;
  int64_t parameters = 0, nonzeros = 0, approximate = 0;
  llvm::StringSet<> counted;
  for (const Node *node : nodes) {
    NodeCost cost = estimateNodeCost(graph, *node);
    flops += cost.flops;
    approximate += cost.approximate ? 1 : 0;
    for (const std::string &in : node->inputs) {
      if (in.empty() || counted.count(in))
        continue;
      if (const Weight *w = graph.findWeight(in)) {
        counted.insert(in);
        parameters += w->data->numElements();
        nonzeros += w->data->numNonZeros();
      }
    }
  }
  out["nodes"] = nodes.size();
  out["flops"] = flops;
  out["parameters"] = parameters;
  out["nonzeros"] = nonzeros;
  out["density"] = parameters ? double(nonzeros) / double(parameters) : 1.0;
  out["approximate_nodes"] = approximate;
}

json boundaryJson(const FamilyBoundary &boundary, const Graph &refGraph,
                  const std::vector<const Node *> &refOrder) {
  json live = json::array();
  for (const std::string &name : boundary.liveTensors)
    live.push_back(valueJson(name, refGraph.getType(name)));
  json after = nullptr;
  if (boundary.position > 0 && boundary.position <= refOrder.size())
    after = refOrder[boundary.position - 1]->displayName();
  return {{"position", boundary.position},
          {"after_node", after},
          {"live", std::move(live)}};
}

json namesWithTypes(const Graph &graph, const std::vector<std::string> &names) {
  json out = json::array();
  for (const std::string &name : names)
    out.push_back(valueJson(name, graph.getType(name)));
  return out;
}

} // namespace

llvm::Expected<std::string> familyReportJson(const Family &family) {
  const FamilyState &state = family.state;
  json report;
  report["format"] = "sparseloom-family-report";
  report["version"] = kFamilyReportVersion;
  report["task"] = family.task;

  // Each member's nodes in reference order, where that is known: every
  // member once aligned, the reference alone otherwise.
  std::vector<std::vector<const Node *>> orders(family.size());
  auto refTopo = topologicalOrder(family.reference().graph);
  if (!refTopo)
    return withFile(refTopo.takeError(), family.members.front().file);
  orders[0] = *refTopo;
  if (state.alignment)
    for (unsigned m = 0; m < family.size(); ++m) {
      auto nodes = alignedNodes(family, m);
      if (!nodes)
        return nodes.takeError();
      orders[m] = std::move(*nodes);
    }

  json variants = json::array();
  json members = json::array();
  for (unsigned m = 0; m < family.size(); ++m) {
    const FamilyMember &member = family.members[m];
    std::vector<const Node *> all;
    for (const auto &node : member.module->graph.nodes())
      all.push_back(node.get());
    json entry = {{"variant", member.variant},
                  {"file", member.file},
                  {"reference", m == 0}};
    addCost(entry, all, member.module->graph);
    members.push_back(std::move(entry));
    variants.push_back(member.variant);
  }
  report["variants"] = std::move(variants);
  report["members"] = std::move(members);

  if (state.alignment) {
    json aligned = json::array();
    for (unsigned m = 0; m < family.size(); ++m)
      aligned.push_back(
          {{"variant", family.members[m].variant},
           {"same_structure", state.alignment->differences[m].empty()},
           {"differences", state.alignment->differences[m]}});
    report["alignment"] = {{"nodes", state.alignment->nodeOrder[0].size()},
                           {"members", std::move(aligned)}};
  } else {
    report["alignment"] = nullptr;
  }

  const Graph &refGraph = family.reference().graph;
  if (state.boundariesDetected || !state.candidates.empty()) {
    json candidates = json::array(), chosen = json::array();
    for (const FamilyBoundary &b : state.candidates)
      candidates.push_back(boundaryJson(b, refGraph, orders[0]));
    for (const FamilyBoundary &b : state.chosen)
      chosen.push_back(boundaryJson(b, refGraph, orders[0]));
    report["boundaries"] = {{"candidates", std::move(candidates)},
                            {"chosen", std::move(chosen)}};
  } else {
    report["boundaries"] = nullptr;
  }

  auto ranges = segmentRanges(family);
  if (!ranges)
    return ranges.takeError();
  json segments = json::array();
  for (size_t s = 0; s < ranges->size(); ++s) {
    auto [begin, end] = (*ranges)[s];
    json perVariant = json::object();
    for (unsigned m = 0; m < family.size(); ++m) {
      if (orders[m].empty())
        continue; // not aligned: the reference alone
      std::vector<const Node *> part(orders[m].begin() + begin,
                                     orders[m].begin() + end);
      json entry = json::object();
      if (state.segments)
        entry["name"] = state.segments->perMember[m][s]->graph.name;
      addCost(entry, part, family.members[m].module->graph);
      if (state.segments) {
        const Graph &segment = state.segments->perMember[m][s]->graph;
        entry["inputs"] = namesWithTypes(segment, segment.inputs);
        entry["outputs"] = namesWithTypes(segment, segment.outputs);
      }
      perVariant[family.members[m].variant] = std::move(entry);
    }
    segments.push_back({{"index", s},
                        {"begin", begin},
                        {"end", end},
                        {"variants", std::move(perVariant)}});
  }
  report["segments"] = std::move(segments);

  if (!state.compatibility.empty()) {
    json compat = json::array();
    for (size_t i = 0; i < state.compatibility.size(); ++i) {
      const BoundaryCompatibility &c = state.compatibility[i];
      json incompatible = json::array();
      for (size_t a = 0; a < c.stitchable.size(); ++a)
        for (size_t b = 0; b < c.stitchable[a].size(); ++b)
          if (!c.stitchable[a][b])
            incompatible.push_back({{"from", family.members[a].variant},
                                    {"to", family.members[b].variant},
                                    {"reason", c.reasons[a][b]}});
      compat.push_back({{"boundary", i},
                        {"position", state.chosen[i].position},
                        {"stitchable", c.stitchable},
                        {"incompatible", std::move(incompatible)}});
    }
    report["compatibility"] = std::move(compat);
  } else {
    report["compatibility"] = nullptr;
  }
  report["stitch_space"] = stitchSpaceJson(family);
  return report.dump(2) + "\n";
}

} // namespace sparseloom
