//===- FamilyPrinter.cpp - The textual form of a family -------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The family block is a report, not a syntax the parser reads back: members
// are loaded from their files, and the family passes recompute the state.
// Value names and types are spelled as the module printer spells them so a
// name can be searched for in the member IR printed below the block.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/IR/FamilyPrinter.h"

#include "Lexer.h"

#include "sparseloom/IR/Analysis.h"

#include "llvm/Support/Error.h"

#include <algorithm>
#include <cstdio>

namespace sparseloom {

namespace {

/// "1 node", "2 nodes", "2 stitches".
std::string count(size_t n, llvm::StringRef noun) {
  llvm::StringRef plural = noun.endswith("ch") ? "es" : "s";
  return std::to_string(n) + " " + noun.str() + (n == 1 ? "" : plural.str());
}

class FamilyPrinter {
public:
  FamilyPrinter(const Family &family, llvm::raw_ostream &os,
                const PrintOptions &options)
      : family_(family), os_(os), options_(options) {
    const Graph &graph = family.reference().graph;
    if (auto order = topologicalOrder(graph)) {
      refOrder_ = std::move(*order);
    } else {
      // An unverified reference still prints; positions fall back to the
      // program order.
      llvm::consumeError(order.takeError());
      for (const auto &node : graph.nodes())
        refOrder_.push_back(node.get());
    }
  }

  void print();

private:
  std::string quoted(llvm::StringRef s) {
    std::string out;
    text::appendQuoted(out, s);
    return out;
  }
  std::string valueName(llvm::StringRef name) {
    return "%" + (text::isBareValueName(name) ? name.str() : quoted(name));
  }
  std::string typedValue(const Graph &graph, llvm::StringRef name) {
    return valueName(name) + " : " + formatType(graph.getType(name));
  }
  void printBoundary(llvm::StringRef keyword, size_t index,
                     const FamilyBoundary &boundary);
  void printCompatibility(size_t index, const BoundaryCompatibility &compat);
  void printSegments();
  void printAccuracy(const FamilyAccuracyProfile &profile);
  void printPoint(llvm::StringRef keyword, const FamilyStitchPoint &point);
  void printFronts(const FamilyStitchFronts &fronts);
  void printSelection(const FamilySelection &selection);
  std::string choiceText(const StitchChoiceList &choice);

  const Family &family_;
  llvm::raw_ostream &os_;
  const PrintOptions &options_;
  std::vector<const Node *> refOrder_;
};

void FamilyPrinter::printBoundary(llvm::StringRef keyword, size_t index,
                                  const FamilyBoundary &boundary) {
  os_ << "    " << keyword << " " << index << " @" << boundary.position;
  if (boundary.position > 0 && boundary.position <= refOrder_.size())
    os_ << " after " << refOrder_[boundary.position - 1]->displayName();
  os_ << ":";
  const Graph &graph = family_.reference().graph;
  for (size_t i = 0; i < boundary.liveTensors.size(); ++i)
    os_ << (i ? ", " : " ") << typedValue(graph, boundary.liveTensors[i]);
  os_ << "\n";
}

void FamilyPrinter::printCompatibility(size_t index,
                                       const BoundaryCompatibility &compat) {
  const auto &members = family_.members;
  size_t width = 4; // "from"
  for (const FamilyMember &m : members)
    width = std::max(width, m.variant.size());
  auto pad = [&](llvm::StringRef s, size_t w) {
    return s.str() + std::string(w > s.size() ? w - s.size() : 0, ' ');
  };
  os_ << "  compatibility " << index;
  if (index < family_.state.chosen.size())
    os_ << " @" << family_.state.chosen[index].position;
  os_ << " (row: producer before the cut, column: consumer after it)\n";
  // Columns are as wide as their variant name; the last is not padded so
  // that no line ends in blanks.
  auto cell = [&](llvm::StringRef s, size_t column) {
    return column + 1 == members.size()
               ? s.str()
               : pad(s, std::max<size_t>(3, members[column].variant.size()));
  };
  os_ << "    " << pad("from", width);
  for (size_t b = 0; b < members.size(); ++b)
    os_ << "  " << cell(members[b].variant, b);
  os_ << "\n";
  for (size_t a = 0; a < compat.stitchable.size(); ++a) {
    os_ << "    " << pad(members[a].variant, width);
    for (size_t b = 0; b < compat.stitchable[a].size(); ++b)
      os_ << "  " << cell(compat.stitchable[a][b] ? "yes" : "no", b);
    os_ << "\n";
  }
  for (size_t a = 0; a < compat.stitchable.size(); ++a)
    for (size_t b = 0; b < compat.stitchable[a].size(); ++b)
      if (!compat.stitchable[a][b])
        os_ << "    no " << quoted(members[a].variant) << " -> "
            << quoted(members[b].variant) << ": " << compat.reasons[a][b]
            << "\n";
}

void FamilyPrinter::printSegments() {
  const auto &perMember = family_.state.segments->perMember;
  size_t numSegments = perMember.empty() ? 0 : perMember.front().size();
  os_ << "  segments: " << numSegments << "\n";
  for (size_t s = 0; s < numSegments; ++s) {
    os_ << "    segment " << s << ":";
    for (size_t m = 0; m < perMember.size(); ++m) {
      const Graph &graph = perMember[m][s]->graph;
      if (m == 0)
        os_ << " " << count(graph.numNodes(), "node") << "\n";
      os_ << "      " << quoted(family_.members[m].variant) << ": (";
      for (size_t i = 0; i < graph.inputs.size(); ++i)
        os_ << (i ? ", " : "") << typedValue(graph, graph.inputs[i]);
      os_ << ") -> (";
      for (size_t i = 0; i < graph.outputs.size(); ++i)
        os_ << (i ? ", " : "") << typedValue(graph, graph.outputs[i]);
      os_ << "), " << count(graph.weights().size(), "weight") << "\n";
    }
  }
}

/// A number with `decimals` digits after the point, for stable output.
std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, value);
  return buffer;
}

std::string FamilyPrinter::choiceText(const StitchChoiceList &choice) {
  std::string text;
  for (size_t s = 0; s < choice.size(); ++s)
    text += (s ? "," : "") + (choice[s] < family_.size()
                                  ? quoted(family_.members[choice[s]].variant)
                                  : "?" + std::to_string(choice[s]));
  return text;
}

void FamilyPrinter::printAccuracy(const FamilyAccuracyProfile &profile) {
  os_ << "  accuracy: " << profile.metric << ", estimator fitted on "
      << count(profile.fittingPoints, "stitch") << " of "
      << quoted(profile.calibrationFile) << " ("
      << count(size_t(profile.calibrationSamples), "sample") << ")"
      << (profile.exhaustive ? ", every stitch measured" : "") << "\n";
  if (profile.estimator && profile.naive) {
    auto check = [&](const EstimatorCheck &c) {
      return "MAE " + fixed(c.meanAbsErrorPoints, 2) + " points, max " +
             fixed(c.maxAbsErrorPoints, 1) + ", Spearman " +
             fixed(c.rankCorrelation, 3);
    };
    os_ << "    validation: " << count(profile.estimator->points, "stitch")
        << " not used for fitting, measured on " << quoted(profile.testFile)
        << " (" << count(size_t(profile.testSamples), "sample") << ")\n";
    os_ << "      estimator: " << check(*profile.estimator) << "\n";
    os_ << "      naive additive: " << check(*profile.naive) << "\n";
  }
  for (const MeasuredStitch &m : profile.calibration) {
    bool original = true;
    for (uint8_t v : m.choice)
      original &= v == m.choice.front();
    if (original && !m.choice.empty())
      os_ << "    original " << quoted(family_.members[m.choice[0]].variant)
          << ": measured " << fixed(100 * m.accuracy, 2) << " %\n";
  }
}

void FamilyPrinter::printPoint(llvm::StringRef keyword,
                               const FamilyStitchPoint &point) {
  const auto &procs = family_.state.fronts->processors;
  os_ << "    " << keyword << " " << choiceText(point.variants) << " on ";
  bool same = true;
  for (uint8_t p : point.processors)
    same &= p == point.processors.front();
  auto procName = [&](uint8_t p) {
    return p < procs.size() ? quoted(procs[p]) : "?" + std::to_string(p);
  };
  if (same && !point.processors.empty()) {
    os_ << procName(point.processors.front());
  } else {
    for (size_t s = 0; s < point.processors.size(); ++s)
      os_ << (s ? "," : "") << procName(point.processors[s]);
  }
  os_ << ": estimated " << fixed(100 * point.estimatedAccuracy, 2) << " %";
  if (point.measuredAccuracy)
    os_ << " (measured " << fixed(100 * *point.measuredAccuracy, 2) << " %)";
  os_ << ", " << fixed(point.latencyMs, 4) << " ms, "
      << fixed(point.memoryBytes / 1024, 1) << " KiB"
      << (point.original ? ", original" : "") << "\n";
}

void FamilyPrinter::printFronts(const FamilyStitchFronts &fronts) {
  os_ << "  platform " << quoted(fronts.platformName) << " (latency "
      << fronts.latencySource << "), processors:";
  for (size_t p = 0; p < fronts.processors.size(); ++p)
    os_ << (p ? ", " : " ") << quoted(fronts.processors[p]);
  os_ << "\n";
  for (const FamilyFront &front : fronts.fronts) {
    size_t originals = 0;
    for (const FamilyStitchPoint &point : front.points)
      originals += point.original;
    os_ << "  front " << quoted(front.placement) << ": "
        << count(front.points.size(), "point") << ", " << originals << " of "
        << family_.size() << " originals\n";
    for (const FamilyStitchPoint &point : front.points)
      printPoint("point", point);
  }
}

void FamilyPrinter::printSelection(const FamilySelection &selection) {
  os_ << "  selection: " << count(selection.selected.size(), "variant") << ", "
      << fixed(selection.memoryBytes, 0) << " of "
      << fixed(selection.budgetBytes, 0) << " bytes, SLO coverage "
      << fixed(100 * selection.coverage, 1) << " % of a " << selection.gridSize
      << "x" << selection.gridSize << " grid, " << selection.freeStitches
      << " free (made of shipped subgraphs)\n";
  for (const FamilyStitchPoint &point : selection.selected)
    printPoint("selected", point);
}

void FamilyPrinter::print() {
  const FamilyState &state = family_.state;
  os_ << "family " << quoted(family_.task) << " {\n";
  for (size_t m = 0; m < family_.size(); ++m)
    os_ << "  member " << quoted(family_.members[m].variant) << " file "
        << quoted(family_.members[m].file) << (m == 0 ? " reference" : "")
        << "\n";

  if (state.alignment) {
    const FamilyAlignment &alignment = *state.alignment;
    os_ << "  alignment: "
        << count(alignment.nodeOrder.empty() ? 0
                                             : alignment.nodeOrder[0].size(),
                 "node")
        << "\n";
    for (size_t m = 1; m < family_.size(); ++m) {
      const auto &diffs = alignment.differences[m];
      os_ << "    " << quoted(family_.members[m].variant) << ": ";
      if (diffs.empty())
        os_ << "same structure\n";
      else
        os_ << count(diffs.size(), "difference") << "\n";
      for (const std::string &d : diffs)
        os_ << "      difference " << d << "\n";
    }
  }

  if (state.boundariesDetected || !state.candidates.empty()) {
    os_ << "  candidates: " << state.candidates.size() << "\n";
    for (size_t i = 0; i < state.candidates.size(); ++i)
      printBoundary("candidate", i, state.candidates[i]);
    os_ << "  boundaries: " << state.chosen.size() << " ("
        << count(state.chosen.size() + 1, "segment") << ")\n";
    for (size_t i = 0; i < state.chosen.size(); ++i)
      printBoundary("boundary", i, state.chosen[i]);
  }
  for (size_t i = 0; i < state.compatibility.size(); ++i)
    printCompatibility(i, state.compatibility[i]);
  if (state.segments)
    printSegments();
  if (state.accuracy)
    printAccuracy(*state.accuracy);
  if (state.fronts)
    printFronts(*state.fronts);
  if (state.selection && state.fronts)
    printSelection(*state.selection);
  os_ << "}\n";

  for (const FamilyMember &member : family_.members) {
    os_ << "// member " << quoted(member.variant) << " (" << quoted(member.file)
        << ")\n";
    printModule(*member.module, os_, options_);
  }
  if (state.segments)
    for (const auto &segments : state.segments->perMember)
      for (const auto &segment : segments) {
        os_ << "// segment " << quoted(segment->graph.name) << "\n";
        printModule(*segment, os_, options_);
      }
}

} // namespace

bool isPlainModule(const Family &family) {
  const FamilyState &state = family.state;
  return family.size() == 1 && !state.alignment && state.candidates.empty() &&
         state.chosen.empty() && !state.boundariesDetected &&
         state.compatibility.empty() && !state.segments;
}

void printFamily(const Family &family, llvm::raw_ostream &os,
                 const PrintOptions &options) {
  if (isPlainModule(family)) {
    printModule(family.reference(), os, options);
    return;
  }
  FamilyPrinter(family, os, options).print();
}

std::string printFamilyToString(const Family &family,
                                const PrintOptions &options) {
  std::string text;
  llvm::raw_string_ostream os(text);
  printFamily(family, os, options);
  os.flush();
  return text;
}

} // namespace sparseloom
