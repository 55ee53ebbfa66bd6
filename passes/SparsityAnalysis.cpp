//===- SparsityAnalysis.cpp - Density and zero pattern of each weight -----===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Measures how sparse the weights of linear ops (OpLinearWithWeight operands)
// are and which structure their zeros have, and writes the result into the
// IR as annotations, where the encoder, the cost model and lit tests read it:
//
//   weight: sparsity.density        non-zeros / elements (float)
//           sparsity.zeros          number of zero elements (int)
//           sparsity.pattern        the most structured exact description of
//                                   the zero set (string, rules below)
//           sparsity.channel-zeros  all-zero output channels (int)
//   node:   sparsity.weight-density density of its weight operand
//   module: sparsity.total-density  non-zeros / elements over all analyzed
//                                   weights; sparsity.analyzed-weights
//
// The weight is viewed as a matrix [output channels, reduction] so that one
// set of rules serves every op (IR/WeightLayout.h, shared with the pruner so
// that what sparseloom-prune makes is what this pass reports):
//   Conv           [M, C/g, k...]  -> rows M, columns C/g*k... (row-major);
//   ConvTranspose  [C, M/g, k...]  -> rows M (group g's block of output
//                                     channels), columns C/g*k...;
//   Gemm transB=1  [N, K]          -> as is;  Gemm transB=0 [K, N] and
//   MatMul         [..., K, N]     -> transposed: rows N (per batch), cols K;
//   anything else (all-weights=true, unknown linear ops): [dim0, rest], and a
//   vector is one row.
// Pattern rules, first match wins:
//   "dense"        no zeros;
//   "channel"      the zeros are exactly whole rows (output channels);
//   "block:RxC"    rows % R == 0, cols % C == 0 and every aligned RxC block is
//                  either all zero or has no zero; R x C tried in the order
//                  4x4, 8x1, 4x1, 1x4, 2x2, 2x1, 1x2 (largest block first);
//   "nm:N:M"       cols % M == 0 and every run of M consecutive elements of a
//                  row has at most N non-zeros, N < M; for M in {4, 8}, N is
//                  the maximum over runs and the smaller N/M wins (M = 4 on a
//                  tie, the form sparse hardware supports);
//   "unstructured" anything else.
// An elided weight (values not known) gets density and zeros from its
// metadata; its pattern is "dense" when it has no zeros (that is exact) and
// "unknown" otherwise, without channel-zeros.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"

#include "sparseloom/IR/OpRegistry.h"
#include "sparseloom/IR/WeightLayout.h"
#include "sparseloom/Support/Diagnostics.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#define DEBUG_TYPE "sparsity-analysis"

namespace sparseloom {

namespace {

constexpr const char *kAllWeights = "all-weights";
constexpr const char *kMinElements = "min-elements";
constexpr int64_t kDefaultMinElements = 16;

constexpr const char *kWeightsAnalyzed = "weights-analyzed";
constexpr const char *kDenseWeights = "dense-weights";
constexpr const char *kSparseWeights = "sparse-weights";

constexpr const char *kPrefix = "sparsity.";
constexpr const char *kDensity = "sparsity.density";
constexpr const char *kZeros = "sparsity.zeros";
constexpr const char *kPattern = "sparsity.pattern";
constexpr const char *kChannelZeros = "sparsity.channel-zeros";
constexpr const char *kWeightDensity = "sparsity.weight-density";
constexpr const char *kTotalDensity = "sparsity.total-density";
constexpr const char *kAnalyzedWeights = "sparsity.analyzed-weights";

/// Zero mask of a weight as a row-major rows x cols matrix.
struct ZeroMatrix {
  int64_t rows = 1, cols = 1;
  std::vector<uint8_t> zero;
  bool at(int64_t r, int64_t c) const { return zero[size_t(r * cols + c)]; }
};

ZeroMatrix buildMatrix(const TensorData &data, const WeightMatrixView &view) {
  ZeroMatrix m;
  m.rows = view.rows();
  m.cols = view.cols();
  m.zero.resize(size_t(m.rows * m.cols));
  for (int64_t r = 0; r < m.rows; ++r)
    for (int64_t c = 0; c < m.cols; ++c)
      m.zero[size_t(r * m.cols + c)] =
          data.elementAsDouble(view.index(r, c)) == 0.0;
  return m;
}

int64_t countZeroRows(const ZeroMatrix &m) {
  int64_t count = 0;
  for (int64_t r = 0; r < m.rows; ++r) {
    bool all = true;
    for (int64_t c = 0; c < m.cols && all; ++c)
      all = m.at(r, c);
    count += all && m.cols > 0;
  }
  return count;
}

/// True when every aligned R x C block is all zero or zero-free.
bool isBlockPattern(const ZeroMatrix &m, int64_t r, int64_t c) {
  if (m.rows % r != 0 || m.cols % c != 0)
    return false;
  for (int64_t br = 0; br < m.rows; br += r)
    for (int64_t bc = 0; bc < m.cols; bc += c) {
      int64_t zeros = 0;
      for (int64_t i = 0; i < r; ++i)
        for (int64_t j = 0; j < c; ++j)
          zeros += m.at(br + i, bc + j);
      if (zeros != 0 && zeros != r * c)
        return false;
    }
  return true;
}

/// Largest number of non-zeros in a run of `groupSize` consecutive row
/// elements, or nullopt when rows do not split into such runs.
std::optional<int64_t> maxNonZerosPerGroup(const ZeroMatrix &m,
                                           int64_t groupSize) {
  if (m.cols % groupSize != 0)
    return std::nullopt;
  int64_t most = 0;
  for (int64_t r = 0; r < m.rows; ++r)
    for (int64_t g = 0; g < m.cols; g += groupSize) {
      int64_t nonZeros = 0;
      for (int64_t j = 0; j < groupSize; ++j)
        nonZeros += !m.at(r, g + j);
      most = std::max(most, nonZeros);
    }
  return most;
}

struct Result {
  int64_t elements = 0;
  int64_t zeros = 0;
  std::string pattern;
  std::optional<int64_t> channelZeros;
};

Result analyzeWeight(const TensorData &data, const WeightMatrixView &view) {
  Result result;
  result.elements = data.numElements();
  result.zeros = result.elements - data.numNonZeros();
  if (result.zeros == 0) {
    result.pattern = "dense";
    result.channelZeros = 0;
    return result;
  }
  if (!data.hasValues()) {
    result.pattern = "unknown";
    return result;
  }

  ZeroMatrix m = buildMatrix(data, view);
  result.channelZeros = countZeroRows(m);
  if (*result.channelZeros * m.cols == result.zeros) {
    result.pattern = "channel";
    return result;
  }
  static const int64_t kBlocks[][2] = {{4, 4}, {8, 1}, {4, 1}, {1, 4},
                                       {2, 2}, {2, 1}, {1, 2}};
  for (const auto &block : kBlocks)
    if (isBlockPattern(m, block[0], block[1])) {
      result.pattern =
          "block:" + std::to_string(block[0]) + "x" + std::to_string(block[1]);
      return result;
    }
  std::optional<std::pair<int64_t, int64_t>> best; // (N, M)
  for (int64_t groupSize : {4, 8}) {
    auto n = maxNonZerosPerGroup(m, groupSize);
    if (!n || *n >= groupSize)
      continue;
    // Strictly tighter only: N/M < bestN/bestM, compared without division.
    if (!best || *n * best->second < best->first * groupSize)
      best = std::make_pair(*n, groupSize);
  }
  if (best) {
    result.pattern = "nm:" + std::to_string(best->first) + ":" +
                     std::to_string(best->second);
    return result;
  }
  result.pattern = "unstructured";
  return result;
}

bool isAnalyzableType(DType t) {
  return t != DType::String && t != DType::Bool && t != DType::Undefined;
}

bool isFloatType(DType t) {
  return t == DType::F32 || t == DType::F64 || t == DType::F16 ||
         t == DType::BF16;
}

void eraseOwnAnnotations(AttributeMap &annotations) {
  for (auto it = annotations.begin(); it != annotations.end();)
    it = llvm::StringRef(it->first).startswith(kPrefix) ? annotations.erase(it)
                                                        : std::next(it);
}

class SparsityAnalysisPass : public Pass {
public:
  SparsityAnalysisPass(const PassInfo &info, bool allWeights,
                       int64_t minElements)
      : Pass(info), allWeights_(allWeights), minElements_(minElements) {}

  llvm::Error run(Module &module) override;

private:
  bool allWeights_;
  int64_t minElements_;
};

llvm::Error SparsityAnalysisPass::run(Module &module) {
  Graph &graph = module.graph;

  // Annotations describe this run only: a weight no longer analyzed (say,
  // after an option change) must not keep a stale result.
  eraseOwnAnnotations(module.annotations);
  for (const auto &node : graph.nodes())
    eraseOwnAnnotations(node->annotations);
  std::vector<std::string> weightNames;
  for (const auto &entry : graph.weights())
    weightNames.push_back(entry.first);
  for (const std::string &name : weightNames)
    eraseOwnAnnotations(graph.findWeight(name)->annotations);

  // Which weights to analyze, viewed as their first linear reader sees them.
  std::map<std::string, WeightMatrixView> views;
  std::map<std::string, std::vector<Node *>> readers;
  for (const auto &node : graph.nodes()) {
    const OpInfo *info = lookupOp(*node);
    if (!info || !info->has(OpLinearWithWeight) || info->weightOperand < 0 ||
        size_t(info->weightOperand) >= node->inputs.size())
      continue;
    const std::string &name = node->inputs[size_t(info->weightOperand)];
    const Weight *w = name.empty() ? nullptr : graph.findWeight(name);
    if (!w || !isAnalyzableType(w->data->dtype()))
      continue; // e.g. a MatMul of two activations
    views.emplace(name, WeightMatrixView::forNode(*node, w->data->dims()));
    readers[name].push_back(node.get());
  }
  if (allWeights_)
    for (const std::string &name : weightNames)
      if (const Weight *w = graph.findWeight(name);
          isFloatType(w->data->dtype()))
        views.emplace(name, WeightMatrixView::outFirst(w->data->dims()));

  int64_t totalElements = 0, totalNonZeros = 0, analyzed = 0;
  for (const std::string &name : weightNames) {
    auto view = views.find(name);
    if (view == views.end())
      continue;
    Weight &w = *graph.findWeight(name);
    if (w.data->numElements() < minElements_)
      continue;
    Result r = analyzeWeight(*w.data, view->second);
    double density = r.elements == 0
                         ? 1.0
                         : double(r.elements - r.zeros) / double(r.elements);
    w.annotations[kDensity] = Attribute(density);
    w.annotations[kZeros] = Attribute(r.zeros);
    w.annotations[kPattern] = Attribute(r.pattern);
    if (r.channelZeros)
      w.annotations[kChannelZeros] = Attribute(*r.channelZeros);
    for (Node *reader : readers[name])
      reader->annotations[kWeightDensity] = Attribute(density);

    SL_DEBUG(debugStream() << DEBUG_TYPE << ": '" << name << "' "
                           << formatType(w.data->type()) << ": density "
                           << density << ", pattern " << r.pattern << "\n");
    ++analyzed;
    totalElements += r.elements;
    totalNonZeros += r.elements - r.zeros;
    statistics().add(kWeightsAnalyzed);
    statistics().add(r.zeros == 0 ? kDenseWeights : kSparseWeights);
  }
  // Same convention as TensorData::density: nothing counts as dense.
  module.annotations[kTotalDensity] = Attribute(
      totalElements == 0 ? 1.0 : double(totalNonZeros) / double(totalElements));
  module.annotations[kAnalyzedWeights] = Attribute(analyzed);
  return llvm::Error::success();
}

} // namespace

const PassInfo &sparsityAnalysisPassInfo() {
  static const PassInfo info = [] {
    PassInfo i;
    i.name = "sparsity-analysis";
    i.summary = "Annotate weights with their density and zero pattern "
                "(dense, channel, block, N:M, unstructured)";
    i.options = {
        {kAllWeights,
         "analyze every floating-point weight, not only the weight operands "
         "of linear ops",
         "false"},
        {kMinElements, "skip weights with fewer elements than this",
         std::to_string(kDefaultMinElements)},
    };
    i.statistics = {
        {kWeightsAnalyzed, "weights analyzed"},
        {kDenseWeights, "analyzed weights without any zero"},
        {kSparseWeights, "analyzed weights with at least one zero"},
    };
    i.create = [](const PassOptions &options)
        -> llvm::Expected<std::unique_ptr<Pass>> {
      auto allWeights = options.getBool(kAllWeights, false);
      if (!allWeights)
        return allWeights.takeError();
      auto minElements = options.getInt(kMinElements, kDefaultMinElements);
      if (!minElements)
        return minElements.takeError();
      if (*minElements < 0)
        return makeError(llvm::Twine("option '") + kMinElements +
                         "' must not be negative, got " +
                         llvm::Twine(*minElements));
      return std::make_unique<SparsityAnalysisPass>(sparsityAnalysisPassInfo(),
                                                    *allWeights, *minElements);
    };
    return i;
  }();
  return info;
}

} // namespace sparseloom
