//===- DotExporter.cpp - A module as a Graphviz graph ---------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The boundary annotations are read back from the IR (DetectBoundaries.cpp
// documents them) rather than recomputed: the picture shows what the
// pipeline decided, and the exporter stays independent of the stitching
// library. An edge crosses the cut just before node X when it carries one
// of the tensors X's `boundary.live` lists and ends at X or later in the
// topological order.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Export/DotExporter.h"

#include "sparseloom/IR/Analysis.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Format.h"

#include <map>
#include <set>
#include <vector>

namespace sparseloom {

namespace {

/// Escapes text for a double-quoted DOT string; "\n" becomes a line break.
std::string escape(llvm::StringRef text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

/// 1234567 -> "1.23M".
std::string compact(double value) {
  static const char *suffixes[] = {"", "K", "M", "G", "T", "P"};
  int i = 0;
  while (value >= 1000 && i < 5) {
    value /= 1000;
    ++i;
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  if (i == 0)
    os << llvm::format("%.0f", value);
  else
    os << llvm::format(value < 10    ? "%.2f"
                       : value < 100 ? "%.1f"
                                     : "%.0f",
                       value)
       << suffixes[i];
  return os.str();
}

// Pastel fills for segment clusters, cycled.
const char *const kSegmentColors[] = {"#e3f2fd", "#fff3e0", "#e8f5e9",
                                      "#fce4ec", "#ede7f6", "#e0f7fa",
                                      "#f9fbe7", "#efebe9"};

struct Cut {
  size_t position; // topological position of the first node after it
  int64_t index;   // boundary.candidate
  int64_t chosen;  // boundary.chosen, or 0
  std::set<std::string> live;
};

} // namespace

llvm::Error exportDot(const Module &module, llvm::raw_ostream &os,
                      const DotOptions &options) {
  const Graph &graph = module.graph;
  auto order = topologicalOrder(graph);
  if (!order)
    return order.takeError();

  llvm::DenseMap<const Node *, size_t> position;
  for (size_t i = 0; i < order->size(); ++i)
    position[(*order)[i]] = i;

  // Constant values: weights and what is computed from them alone.
  llvm::StringSet<> constant;
  for (const auto &entry : graph.weights())
    constant.insert(entry.first);
  std::vector<bool> hidden(order->size(), false);
  llvm::StringMap<const Node *> producer;
  for (size_t i = 0; i < order->size(); ++i) {
    const Node &node = *(*order)[i];
    bool allConstant = true;
    for (const std::string &in : node.inputs)
      allConstant &= in.empty() || constant.count(in);
    for (const std::string &out : node.outputs) {
      if (out.empty())
        continue;
      producer[out] = &node;
      if (allConstant)
        constant.insert(out);
    }
    hidden[i] = options.hideConstants && allConstant;
  }

  // Cut points and segments written by detect-boundaries.
  std::vector<Cut> cuts;
  std::map<int64_t, std::vector<size_t>> segments; // segment -> positions
  for (size_t i = 0; i < order->size(); ++i) {
    const AttributeMap &notes = (*order)[i]->annotations;
    auto candidate = notes.find("boundary.candidate");
    if (candidate != notes.end() &&
        candidate->second.kind() == Attribute::Kind::Int) {
      Cut cut{i, candidate->second.getInt(), 0, {}};
      auto chosen = notes.find("boundary.chosen");
      if (chosen != notes.end() &&
          chosen->second.kind() == Attribute::Kind::Int)
        cut.chosen = chosen->second.getInt();
      auto live = notes.find("boundary.live");
      if (live != notes.end() &&
          live->second.kind() == Attribute::Kind::Strings)
        cut.live.insert(live->second.getStrings().begin(),
                        live->second.getStrings().end());
      cuts.push_back(std::move(cut));
    }
    auto segment = notes.find("boundary.segment");
    if (segment != notes.end() &&
        segment->second.kind() == Attribute::Kind::Int && !hidden[i])
      segments[segment->second.getInt()].push_back(i);
  }
  std::vector<double> segmentCosts;
  std::string costUnit = "FLOPs";
  if (auto it = module.annotations.find("boundary.segment-costs");
      it != module.annotations.end() &&
      it->second.kind() == Attribute::Kind::Floats)
    segmentCosts.assign(it->second.getFloats().begin(),
                        it->second.getFloats().end());
  if (auto it = module.annotations.find("boundary.cost");
      it != module.annotations.end() &&
      it->second.kind() == Attribute::Kind::String &&
      it->second.getString() == "params")
    costUnit = "params";

  std::string title = options.title.empty() ? graph.name : options.title;
  if (!cuts.empty()) {
    size_t chosen = 0;
    for (const Cut &cut : cuts)
      chosen += cut.chosen != 0;
    title += "\n" + std::to_string(cuts.size()) + " cut point" +
             (cuts.size() == 1 ? "" : "s") + " (dashed), " +
             std::to_string(chosen) + " chosen (bold)";
  }

  os << "digraph \"" << escape(graph.name) << "\" {\n";
  os << "  graph [rankdir=" << (options.topToBottom ? "TB" : "LR")
     << ", fontname=\"Helvetica\", fontsize=12, labelloc=t, label=\""
     << escape(title) << "\"];\n";
  os << "  node [shape=box, style=\"rounded,filled\", fillcolor=white, "
        "fontname=\"Helvetica\", fontsize=10];\n";
  os << "  edge [fontname=\"Helvetica\", fontsize=8, color=\"#606060\"];\n";

  // Graph inputs and outputs.
  llvm::StringMap<std::string> inputId;
  for (size_t i = 0; i < graph.inputs.size(); ++i) {
    const std::string &in = graph.inputs[i];
    if (in.empty() || graph.findWeight(in))
      continue;
    inputId[in] = "in" + std::to_string(i);
    os << "  " << inputId[in] << " [shape=ellipse, fillcolor=\"#eeeeee\", "
       << "label=\"" << escape(in + "\n" + formatType(graph.getType(in)))
       << "\"];\n";
  }
  for (size_t i = 0; i < graph.outputs.size(); ++i) {
    const std::string &out = graph.outputs[i];
    os << "  out" << i << " [shape=ellipse, fillcolor=\"#eeeeee\", label=\""
       << escape(out + "\n" + formatType(graph.getType(out))) << "\"];\n";
  }

  auto nodeLabel = [&](const Node &node) {
    std::string label = node.opType;
    if (!node.name.empty())
      label += "\n" + node.name;
    for (const std::string &out : node.outputs)
      if (!out.empty())
        label += "\n" + formatType(graph.getType(out));
    if (options.summarizeWeights) {
      int64_t count = 0, elements = 0, nonZeros = 0;
      std::set<std::string> seen;
      for (const std::string &in : node.inputs)
        if (const Weight *w = in.empty() ? nullptr : graph.findWeight(in))
          if (seen.insert(in).second) {
            ++count;
            elements += w->data->numElements();
            nonZeros += w->data->numNonZeros();
          }
      if (count > 0) {
        std::string line = std::to_string(count) + " weight" +
                           (count == 1 ? "" : "s") + ", " +
                           compact(double(elements)) + " params";
        if (nonZeros < elements) {
          std::string density;
          llvm::raw_string_ostream ds(density);
          ds << llvm::format("%.2f", double(nonZeros) / double(elements));
          line += ", density " + ds.str();
        }
        label += "\n" + line;
      }
    }
    return label;
  };
  auto emitNode = [&](size_t i, llvm::StringRef indent) {
    os << indent << "n" << i << " [label=\"" << escape(nodeLabel(*(*order)[i]))
       << "\"];\n";
  };

  std::set<size_t> inCluster;
  for (const auto &entry : segments) {
    int64_t segment = entry.first;
    std::string label = "segment " + std::to_string(segment);
    if (segment >= 0 && size_t(segment) < segmentCosts.size())
      label += ": " + compact(segmentCosts[size_t(segment)]) + " " + costUnit;
    const char *color =
        kSegmentColors[size_t(segment) %
                       (sizeof(kSegmentColors) / sizeof(kSegmentColors[0]))];
    os << "  subgraph cluster_segment" << segment << " {\n";
    os << "    label=\"" << escape(label) << "\"; style=\"filled,rounded\"; "
       << "fillcolor=\"" << color << "\"; color=\"#9e9e9e\";\n";
    for (size_t i : entry.second) {
      emitNode(i, "    ");
      inCluster.insert(i);
    }
    os << "  }\n";
  }
  for (size_t i = 0; i < order->size(); ++i)
    if (!hidden[i] && !inCluster.count(i))
      emitNode(i, "  ");

  // Edges: one per (value, reading node), from its producer or input.
  auto sourceOf = [&](llvm::StringRef value) -> std::string {
    if (auto it = inputId.find(value); it != inputId.end())
      return it->second;
    if (auto it = producer.find(value); it != producer.end()) {
      size_t p = position[it->second];
      return hidden[p] ? "" : "n" + std::to_string(p);
    }
    return ""; // a weight
  };
  auto emitEdge = [&](llvm::StringRef value, const std::string &from,
                      const std::string &to, size_t toPosition) {
    std::string label = value.str();
    bool crossesChosen = false, crossesCandidate = false;
    std::string crossed;
    const Node *def = producer.lookup(value);
    size_t fromPosition = def ? position[def] : 0;
    for (const Cut &cut : cuts) {
      if (!cut.live.count(value.str()))
        continue;
      bool after = toPosition >= cut.position;
      bool before = !def || fromPosition < cut.position;
      if (!after || !before)
        continue;
      crossesCandidate = true;
      crossesChosen |= cut.chosen != 0;
      crossed += (crossed.empty() ? "" : ",") + std::to_string(cut.index);
    }
    os << "  " << from << " -> " << to << " [label=\"" << escape(label);
    if (crossesCandidate)
      os << "\\ncut " << crossed;
    os << "\"";
    if (crossesChosen)
      os << ", style=bold, penwidth=3, color=\"#d32f2f\", "
            "fontcolor=\"#d32f2f\"";
    else if (crossesCandidate)
      os << ", style=dashed, color=\"#1565c0\", fontcolor=\"#1565c0\"";
    os << "];\n";
  };
  for (size_t i = 0; i < order->size(); ++i) {
    if (hidden[i])
      continue;
    const Node &node = *(*order)[i];
    std::set<std::string> seen;
    for (const std::string &in : node.inputs) {
      if (in.empty() || constant.count(in) || !seen.insert(in).second)
        continue;
      std::string from = sourceOf(in);
      if (!from.empty())
        emitEdge(in, from, "n" + std::to_string(i), i);
    }
  }
  for (size_t i = 0; i < graph.outputs.size(); ++i) {
    std::string from = sourceOf(graph.outputs[i]);
    if (!from.empty())
      // A graph output leaves its own segment; it crosses no cut.
      emitEdge(graph.outputs[i], from, "out" + std::to_string(i),
               /*toPosition=*/0);
  }
  os << "}\n";
  return llvm::Error::success();
}

} // namespace sparseloom
