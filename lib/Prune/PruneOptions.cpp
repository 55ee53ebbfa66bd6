//===- PruneOptions.cpp - Parsing and checking what to prune --------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The textual forms of the pruner's options (patterns, scopes, sparsity
// lists) and the checks that need no model: they run before the input is
// read, so a typo on the command line is reported as such and not as a
// problem of the model.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Prune/Pruner.h"

#include "PruneInternal.h"

#include "sparseloom/Support/Diagnostics.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"

#include <cmath>
#include <cstdio>
#include <set>

namespace sparseloom {

namespace {

constexpr const char *kPatternHelp =
    "expected unstructured, block:RxC (e.g. block:4x1), nm:N:M (e.g. nm:2:4) "
    "or channel";

/// A positive integer, the whole string.
bool parsePositive(llvm::StringRef text, int64_t &value) {
  return !text.getAsInteger(10, value) && value > 0;
}

} // namespace

llvm::Expected<PrunePattern> PrunePattern::parse(llvm::StringRef spec) {
  PrunePattern pattern;
  llvm::StringRef trimmed = spec.trim();
  if (trimmed == "unstructured")
    return pattern;
  if (trimmed == "channel") {
    pattern.kind = Kind::Channel;
    return pattern;
  }
  if (trimmed.consume_front("block:")) {
    auto [rows, cols] = trimmed.split('x');
    if (!parsePositive(rows, pattern.blockRows) ||
        !parsePositive(cols, pattern.blockCols))
      return makeError("--pattern: '" + spec +
                       "' is not a block size: expected block:RxC with "
                       "positive R and C, e.g. block:4x1");
    pattern.kind = Kind::Block;
    return pattern;
  }
  if (trimmed.consume_front("nm:")) {
    auto [n, m] = trimmed.split(':');
    if (!parsePositive(n, pattern.n) || !parsePositive(m, pattern.m) ||
        pattern.n >= pattern.m)
      return makeError("--pattern: '" + spec +
                       "' is not an N:M pattern: expected nm:N:M with "
                       "0 < N < M, e.g. nm:2:4");
    pattern.kind = Kind::NM;
    return pattern;
  }
  return makeError("--pattern: unknown pattern '" + spec + "'; " +
                   kPatternHelp);
}

std::string PrunePattern::str() const {
  switch (kind) {
  case Kind::Unstructured:
    return "unstructured";
  case Kind::Block:
    return "block:" + std::to_string(blockRows) + "x" +
           std::to_string(blockCols);
  case Kind::NM:
    return "nm:" + std::to_string(n) + ":" + std::to_string(m);
  case Kind::Channel:
    return "channel";
  }
  return "unstructured";
}

llvm::Expected<PruneScope> parsePruneScope(llvm::StringRef spec) {
  if (spec == "per-layer")
    return PruneScope::PerLayer;
  if (spec == "global")
    return PruneScope::Global;
  return makeError("--scope: unknown scope '" + spec +
                   "'; expected per-layer or global");
}

llvm::StringRef pruneScopeName(PruneScope scope) {
  return scope == PruneScope::Global ? "global" : "per-layer";
}

llvm::Error parseSparsityList(llvm::StringRef spec,
                              std::vector<double> &levels) {
  llvm::SmallVector<llvm::StringRef, 8> items;
  spec.split(items, ',');
  for (llvm::StringRef item : items) {
    llvm::StringRef text = item.trim();
    double value = 0;
    // getAsDouble accepts "nan" and "inf"; neither is a level.
    if (text.empty() || text.getAsDouble(value) || !std::isfinite(value))
      return makeError("--sparsity: '" + text +
                       "' is not a number; expected a comma-separated list "
                       "of levels in [0, 1), e.g. 0.5,0.7,0.9");
    if (value < 0.0 || value >= 1.0)
      return makeError("--sparsity: " + text +
                       " is outside [0, 1): a level is the fraction of "
                       "weights set to zero, and 1 would remove them all");
    levels.push_back(value);
  }
  return llvm::Error::success();
}

llvm::Error checkSparsityLevels(const std::vector<double> &levels,
                                const PruneOptions &options) {
  if (levels.empty())
    return makeError("--sparsity: no level given; expected e.g. "
                     "--sparsity 0.5,0.7,0.9");
  std::set<std::string> seen;
  for (double level : levels)
    if (!seen.insert(prune::formatPercent(level)).second)
      return makeError("--sparsity: level " + prune::formatLevel(level) +
                       " is listed twice (each level names one output "
                       "file)");
  if (options.pattern.kind != PrunePattern::Kind::NM)
    return llvm::Error::success();
  if (options.scope == PruneScope::Global)
    return makeError("--scope global does not apply to " +
                     options.pattern.str() +
                     ": every group of M weights keeps N, in every layer");
  double fixed = options.pattern.nmSparsity();
  for (double level : levels)
    if (std::fabs(level - fixed) > 1e-6)
      return makeError("--sparsity: " + options.pattern.str() +
                       " keeps N of every M weights, which fixes the "
                       "sparsity at " +
                       prune::formatLevel(fixed) + ", but " +
                       prune::formatLevel(level) +
                       " was requested (omit --sparsity, or pick N and M "
                       "with 1 - N/M equal to the level)");
  return llvm::Error::success();
}

namespace prune {

std::string formatPercent(double level) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.4f", level * 100.0);
  std::string text = buffer;
  // Trailing zeros and a trailing point say nothing: 50.0000 -> 50.
  while (text.back() == '0')
    text.pop_back();
  if (text.back() == '.')
    text.pop_back();
  return text;
}

std::string formatLevel(double level) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.6g", level);
  return buffer;
}

} // namespace prune

} // namespace sparseloom
