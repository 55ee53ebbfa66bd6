//===- Pruner.cpp - Magnitude pruning of a model's linear weights ---------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The analysis a Pruner does once per model (which weights are prunable,
// exclusions, pattern fit, channel plans) and the pruning it does per level.
//
// Prunable: the weight operand of an OpLinearWithWeight node, stored as an
// f32 weight with values, with at least --min-params elements, and not
// excluded. A weight read by several linear nodes is pruned once, in the
// view of its first reader. Scores, lowest pruned first:
//   unstructured  |w|;
//   block:RxC     L2 norm of the block in the [output channels, reduction]
//                 matrix of IR/WeightLayout.h;
//   nm:N:M        |w| within each run of M consecutive reduction elements;
//   channel       L2 norm of the output channel (its matrix row).
// Per layer, round(level x units) units of every layer go. Globally, the
// lowest round(level x units) units of all layers go (one threshold);
// weights and blocks are compared by their raw scores, but channel norms are
// divided by the root mean square of their layer's channel norms first,
// because layers differ in row length and scale, and every layer keeps at
// least one channel.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Prune/Pruner.h"

#include "PruneInternal.h"

#include "sparseloom/IR/OpRegistry.h"
#include "sparseloom/IR/WeightLayout.h"
#include "sparseloom/Support/Diagnostics.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/GlobPattern.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <set>

namespace sparseloom {

using namespace prune;

namespace {

/// Recorded in the output model's metadata_props, so a variant says how it
/// was made.
constexpr const char *kMetadataKey = "sparseloom.prune";

/// What --exclude matches and the report shows: ONNX text models cannot
/// name nodes, so an unnamed node goes by its first output.
std::string nodeLabel(const Node &node) {
  if (!node.name.empty())
    return node.name;
  return node.outputs.empty() ? node.opType : node.outputs.front();
}

int64_t product(const std::vector<int64_t> &dims) {
  int64_t n = 1;
  for (int64_t d : dims)
    n *= d;
  return n;
}

float squareRoot(double value) { return float(std::sqrt(value)); }

} // namespace

namespace prune {

TensorDataRef toSparseCoo(const TensorData &data) {
  const size_t elementSize = dtypeSize(data.dtype());
  std::vector<uint8_t> dense = data.denseBytes();
  std::vector<int64_t> indices;
  std::vector<uint8_t> values;
  for (int64_t i = 0, n = data.numElements(); i < n; ++i) {
    if (data.elementAsDouble(i) == 0.0)
      continue;
    indices.push_back(i);
    values.insert(values.end(), dense.begin() + i * int64_t(elementSize),
                  dense.begin() + (i + 1) * int64_t(elementSize));
  }
  return TensorData::createSparseCoo(data.dtype(), data.dims(),
                                     std::move(indices), std::move(values));
}

} // namespace prune

struct Pruner::Impl {
  struct Layer {
    size_t nodeIndex = 0;
    std::string label;   // what --exclude matches
    std::string display; // what diagnostics name
    std::string weight;
    std::vector<int64_t> shape;
    WeightMatrixView view;
    LayerReport::Status status = LayerReport::Status::Pruned;
    std::string note;
    std::vector<float> values; // pruned layers only
    ChannelPlan channel;       // `channel` only

    bool pruned() const { return status == LayerReport::Status::Pruned; }
  };

  Impl(const Module &module, PruneOptions options)
      : module(module), options(std::move(options)) {}

  llvm::Error analyze();
  llvm::Error checkPatternFits() const;
  llvm::Error planChannels();
  /// The scores of a layer's pruning units (elements, blocks or channels).
  std::vector<float> unitScores(const Layer &layer) const;
  /// Which units of every pruned layer go at `sparsity`.
  std::vector<std::vector<uint8_t>> selectUnits(double sparsity) const;
  /// Element (row-major tensor index) mask of a layer's pruned units.
  std::vector<uint8_t> elementMask(const Layer &layer,
                                   const std::vector<uint8_t> &units) const;
  std::vector<uint8_t> nmMask(const Layer &layer) const;

  const Module &module;
  PruneOptions options;
  std::vector<Layer> layers;
  std::vector<std::pair<std::string, std::string>> warnings;
};

llvm::Error Pruner::Impl::analyze() {
  const Graph &graph = module.graph;

  // Exclusion globs; each must name at least one node, or it is a typo.
  std::vector<std::pair<std::string, llvm::GlobPattern>> globs;
  llvm::Error errors = llvm::Error::success();
  for (const std::string &spec : options.exclude) {
    llvm::SmallVector<llvm::StringRef, 4> items;
    llvm::StringRef(spec).split(items, ',', -1, /*KeepEmpty=*/false);
    for (llvm::StringRef item : items) {
      auto glob = llvm::GlobPattern::create(item.trim());
      if (!glob) {
        errors = llvm::joinErrors(
            std::move(errors),
            makeError("--exclude: invalid pattern '" + item.trim() +
                      "': " + llvm::toString(glob.takeError())));
        continue;
      }
      bool matches = false;
      for (const auto &node : graph.nodes())
        matches = matches || glob->match(nodeLabel(*node));
      if (!matches)
        errors = llvm::joinErrors(
            std::move(errors),
            makeError("--exclude: unknown node pattern '" + item.trim() +
                      "': no node is named like it (an unnamed node is "
                      "matched by the name of its first output)"));
      globs.emplace_back(item.trim().str(), std::move(*glob));
    }
  }
  if (errors)
    return errors;

  // The candidate layers, in node order.
  std::set<std::string> seen;
  for (size_t i = 0; i < graph.numNodes(); ++i) {
    const Node &node = *graph.nodes()[i];
    const OpInfo *info = lookupOp(node);
    if (!info || !info->has(OpLinearWithWeight) || info->weightOperand < 0 ||
        size_t(info->weightOperand) >= node.inputs.size())
      continue;
    const std::string &name = node.inputs[size_t(info->weightOperand)];
    const Weight *w = name.empty() ? nullptr : graph.findWeight(name);
    if (!w || !seen.insert(name).second)
      continue; // an activation operand, or a weight pruned already
    if (w->data->dtype() != DType::F32 || !w->data->hasValues())
      continue;
    Layer layer;
    layer.nodeIndex = i;
    layer.label = nodeLabel(node);
    layer.display = node.displayName();
    layer.weight = name;
    layer.shape = w->data->dims();
    layer.view = WeightMatrixView::forNode(node, layer.shape);
    if (w->data->numElements() < options.minParams) {
      layer.status = LayerReport::Status::BelowMinParams;
      layer.note =
          "fewer than --min-params=" + std::to_string(options.minParams) +
          " elements";
    } else {
      for (const auto &[text, glob] : globs)
        if (glob.match(layer.label)) {
          layer.status = LayerReport::Status::Excluded;
          layer.note = "matches --exclude '" + text + "'";
          break;
        }
    }
    layers.push_back(std::move(layer));
  }
  std::vector<Layer *> prunable;
  for (Layer &layer : layers)
    if (layer.status != LayerReport::Status::BelowMinParams)
      prunable.push_back(&layer);
  if (prunable.empty())
    return makeError(
        "the model has no prunable weights: pruning needs an f32 weight "
        "operand of a linear op (Conv, ConvTranspose, Gemm, MatMul) with at "
        "least " +
        std::to_string(options.minParams) + " elements (--min-params)");

  if (options.keepFirstLast) {
    auto keep = [](Layer &layer, const char *which) {
      if (!layer.pruned())
        return;
      layer.status = LayerReport::Status::KeptFirstLast;
      layer.note = std::string(which) + " prunable layer (--keep-first-last)";
    };
    keep(*prunable.front(), "first");
    keep(*prunable.back(), "last");
  }

  if (llvm::Error err = checkPatternFits())
    return err;
  if (options.pattern.kind == PrunePattern::Kind::Channel)
    if (llvm::Error err = planChannels())
      return err;
  if (std::none_of(layers.begin(), layers.end(),
                   [](const Layer &l) { return l.pruned(); }))
    return makeError("every prunable weight is excluded or kept dense "
                     "(--exclude, --keep-first-last): nothing to prune");

  for (Layer &layer : layers)
    if (layer.pruned())
      layer.values = graph.findWeight(layer.weight)->data->toFloats();
  return llvm::Error::success();
}

llvm::Error Pruner::Impl::checkPatternFits() const {
  const PrunePattern &pattern = options.pattern;
  int64_t rowStep = 1, colStep = 1;
  if (pattern.kind == PrunePattern::Kind::Block) {
    rowStep = pattern.blockRows;
    colStep = pattern.blockCols;
  } else if (pattern.kind == PrunePattern::Kind::NM) {
    colStep = pattern.m;
  } else {
    return llvm::Error::success();
  }
  llvm::Error errors = llvm::Error::success();
  for (const Layer &layer : layers) {
    if (!layer.pruned())
      continue;
    int64_t rows = layer.view.rows(), cols = layer.view.cols();
    if (rows % rowStep == 0 && cols % colStep == 0)
      continue;
    std::string why = rows % rowStep != 0
                          ? std::to_string(rows) +
                                " output channels are not a multiple of " +
                                std::to_string(rowStep)
                          : std::to_string(cols) +
                                " reduction columns are not a multiple of " +
                                std::to_string(colStep);
    errors = llvm::joinErrors(
        std::move(errors),
        makeNodeError(layer.display,
                      "pattern " + pattern.str() + " does not divide weight '" +
                          layer.weight + "' of shape " +
                          formatShape(layer.shape) + ": " + why +
                          " (exclude the node with --exclude " + layer.label +
                          ", or choose another pattern)"));
  }
  return errors;
}

llvm::Error Pruner::Impl::planChannels() {
  const Graph &graph = module.graph;
  UseDefInfo uses(graph);
  // Which layer shrinks each weight dimension: two layers must not both.
  std::map<std::pair<std::string, size_t>, std::string> owners;
  bool any = false;
  for (Layer &layer : layers) {
    if (!layer.pruned())
      continue;
    const Node &node = *graph.nodes()[layer.nodeIndex];
    std::optional<std::string> reason =
        planChannelRemoval(graph, uses, node, layer.weight, layer.channel);
    for (size_t i = 0; !reason && i < layer.channel.edits.size(); ++i) {
      const AxisEdit &edit = layer.channel.edits[i];
      auto owner = owners.find({edit.weight, edit.dim});
      if (owner != owners.end())
        reason = "weight '" + edit.weight + "' also loses the channels of " +
                 owner->second;
    }
    if (reason) {
      layer.status = LayerReport::Status::Skipped;
      layer.note = *reason;
      warnings.emplace_back(layer.display,
                            "output channels not removed: " + *reason);
      continue;
    }
    for (const AxisEdit &edit : layer.channel.edits)
      owners[{edit.weight, edit.dim}] = "'" + layer.display + "'";
    any = true;
  }
  if (any)
    return llvm::Error::success();
  llvm::Error errors = llvm::Error::success();
  for (const Layer &layer : layers)
    if (layer.status == LayerReport::Status::Skipped)
      errors = llvm::joinErrors(
          std::move(errors),
          makeNodeError(layer.display,
                        "cannot remove output channels: " + layer.note));
  return llvm::joinErrors(
      std::move(errors),
      makeError("--pattern channel: no layer's output channels can be "
                "removed; nothing to prune"));
}

std::vector<float> Pruner::Impl::unitScores(const Layer &layer) const {
  const std::vector<float> &v = layer.values;
  const WeightMatrixView &view = layer.view;
  std::vector<float> scores;
  switch (options.pattern.kind) {
  case PrunePattern::Kind::Unstructured:
  case PrunePattern::Kind::NM:
    scores.reserve(v.size());
    for (float x : v)
      scores.push_back(std::fabs(x));
    break;
  case PrunePattern::Kind::Block: {
    const int64_t r = options.pattern.blockRows, c = options.pattern.blockCols;
    for (int64_t br = 0; br < view.rows(); br += r)
      for (int64_t bc = 0; bc < view.cols(); bc += c) {
        double sum = 0;
        for (int64_t i = 0; i < r; ++i)
          for (int64_t j = 0; j < c; ++j) {
            double x = v[size_t(view.index(br + i, bc + j))];
            sum += x * x;
          }
        scores.push_back(squareRoot(sum));
      }
    break;
  }
  case PrunePattern::Kind::Channel:
    for (int64_t row = 0; row < view.rows(); ++row) {
      double sum = 0;
      for (int64_t col = 0; col < view.cols(); ++col) {
        double x = v[size_t(view.index(row, col))];
        sum += x * x;
      }
      scores.push_back(squareRoot(sum));
    }
    break;
  }
  return scores;
}

std::vector<std::vector<uint8_t>>
Pruner::Impl::selectUnits(double sparsity) const {
  const bool channel = options.pattern.kind == PrunePattern::Kind::Channel;
  std::vector<std::vector<float>> scores(layers.size());
  for (size_t i = 0; i < layers.size(); ++i)
    if (layers[i].pruned())
      scores[i] = unitScores(layers[i]);
  std::vector<std::vector<uint8_t>> marks(layers.size());

  if (options.scope == PruneScope::PerLayer) {
    for (size_t i = 0; i < layers.size(); ++i) {
      if (!layers[i].pruned())
        continue;
      int64_t units = int64_t(scores[i].size());
      int64_t count = unitsToPrune(sparsity, units);
      if (channel) // a layer without channels would have an empty output
        count = std::min(count, units - 1);
      marks[i] = selectLowest(scores[i], count);
    }
    return marks;
  }

  if (!channel) {
    // One threshold over the raw scores of every pruned layer.
    std::vector<float> all;
    for (const std::vector<float> &s : scores)
      all.insert(all.end(), s.begin(), s.end());
    std::vector<uint8_t> chosen =
        selectLowest(all, unitsToPrune(sparsity, int64_t(all.size())));
    size_t offset = 0;
    for (size_t i = 0; i < layers.size(); ++i) {
      marks[i].assign(chosen.begin() + offset,
                      chosen.begin() + offset + scores[i].size());
      offset += scores[i].size();
    }
    return marks;
  }

  // Channels: scores relative to their layer, every layer keeps one. The
  // level counts weights, as for the other patterns, so channels go in
  // score order until the pruned weights are as close to the level as a
  // channel allows.
  struct Unit {
    float score;
    size_t layer;
    size_t row;
  };
  std::vector<Unit> units;
  std::vector<int64_t> kept(layers.size(), 0);
  int64_t totalElements = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    if (!layers[i].pruned())
      continue;
    double meanSquare = 0;
    for (float s : scores[i])
      meanSquare += double(s) * double(s);
    meanSquare /= double(std::max<size_t>(1, scores[i].size()));
    float scale = meanSquare > 0 ? squareRoot(meanSquare) : 1.0f;
    for (size_t row = 0; row < scores[i].size(); ++row) {
      float s = scores[i][row] / scale;
      units.push_back(
          {std::isnan(s) ? std::numeric_limits<float>::infinity() : s, i, row});
    }
    kept[i] = int64_t(scores[i].size());
    marks[i].assign(scores[i].size(), 0);
    totalElements += layers[i].view.rows() * layers[i].view.cols();
  }
  std::stable_sort(
      units.begin(), units.end(),
      [](const Unit &a, const Unit &b) { return a.score < b.score; });
  const int64_t target = unitsToPrune(sparsity, totalElements);
  int64_t pruned = 0;
  for (const Unit &unit : units) {
    int64_t size = layers[unit.layer].view.cols();
    // Stop where one more channel would overshoot more than it helps.
    if (2 * (target - pruned) < size)
      break;
    if (kept[unit.layer] <= 1)
      continue;
    marks[unit.layer][unit.row] = 1;
    --kept[unit.layer];
    pruned += size;
  }
  return marks;
}

std::vector<uint8_t>
Pruner::Impl::elementMask(const Layer &layer,
                          const std::vector<uint8_t> &units) const {
  if (options.pattern.kind == PrunePattern::Kind::Unstructured)
    return units;
  std::vector<uint8_t> mask(layer.values.size(), 0);
  const WeightMatrixView &view = layer.view;
  const int64_t r = options.pattern.blockRows, c = options.pattern.blockCols;
  const int64_t blocksPerRow = view.cols() / c;
  for (size_t unit = 0; unit < units.size(); ++unit) {
    if (!units[unit])
      continue;
    int64_t br = int64_t(unit) / blocksPerRow * r;
    int64_t bc = int64_t(unit) % blocksPerRow * c;
    for (int64_t i = 0; i < r; ++i)
      for (int64_t j = 0; j < c; ++j)
        mask[size_t(view.index(br + i, bc + j))] = 1;
  }
  return mask;
}

std::vector<uint8_t> Pruner::Impl::nmMask(const Layer &layer) const {
  const WeightMatrixView &view = layer.view;
  const int64_t n = options.pattern.n, m = options.pattern.m;
  std::vector<uint8_t> mask(layer.values.size(), 0);
  std::vector<float> group(size_t(m), 0.0f);
  for (int64_t row = 0; row < view.rows(); ++row)
    for (int64_t g = 0; g < view.cols(); g += m) {
      for (int64_t j = 0; j < m; ++j)
        group[size_t(j)] =
            std::fabs(layer.values[size_t(view.index(row, g + j))]);
      std::vector<uint8_t> drop = selectLowest(group, m - n);
      for (int64_t j = 0; j < m; ++j)
        if (drop[size_t(j)])
          mask[size_t(view.index(row, g + j))] = 1;
    }
  return mask;
}

Pruner::Pruner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Pruner::~Pruner() = default;

llvm::Expected<std::unique_ptr<Pruner>> Pruner::create(const Module &module,
                                                       PruneOptions options) {
  auto impl = std::make_unique<Impl>(module, std::move(options));
  if (llvm::Error err = impl->analyze())
    return err;
  return std::unique_ptr<Pruner>(new Pruner(std::move(impl)));
}

const std::vector<std::pair<std::string, std::string>> &
Pruner::warnings() const {
  return impl_->warnings;
}

llvm::Expected<std::unique_ptr<Module>>
Pruner::prune(double sparsity, PruneReport &report) const {
  assert(sparsity >= 0.0 && sparsity < 1.0 && "levels are checked earlier");
  const Impl &impl = *impl_;
  const PruneOptions &options = impl.options;
  const bool channel = options.pattern.kind == PrunePattern::Kind::Channel;
  const bool nm = options.pattern.kind == PrunePattern::Kind::NM;
  std::unique_ptr<Module> out = impl.module.clone();
  Graph &graph = out->graph;

  std::vector<std::vector<uint8_t>> units;
  if (!nm)
    units = impl.selectUnits(sparsity);
  if (channel) {
    std::vector<ChannelCut> cuts;
    for (size_t i = 0; i < impl.layers.size(); ++i) {
      if (!impl.layers[i].pruned())
        continue;
      ChannelCut cut;
      cut.plan = &impl.layers[i].channel;
      for (size_t row = 0; row < units[i].size(); ++row)
        if (!units[i][row])
          cut.kept.push_back(int64_t(row));
      cuts.push_back(std::move(cut));
    }
    if (llvm::Error err = removeChannels(*out, cuts))
      return err;
  } else {
    for (size_t i = 0; i < impl.layers.size(); ++i) {
      const Impl::Layer &layer = impl.layers[i];
      if (!layer.pruned())
        continue;
      std::vector<uint8_t> mask =
          nm ? impl.nmMask(layer) : impl.elementMask(layer, units[i]);
      std::vector<float> values = layer.values;
      for (size_t j = 0; j < values.size(); ++j)
        if (mask[j])
          values[j] = 0.0f;
      Weight weight = *graph.findWeight(layer.weight);
      weight.data = TensorData::fromFloats(layer.shape, values);
      graph.setWeight(std::move(weight));
    }
  }
  // Pruned weights are stored sparse when asked, and stay sparse when the
  // input stored them so.
  for (const Impl::Layer &layer : impl.layers) {
    if (!layer.pruned())
      continue;
    const Weight &original = *impl.module.graph.findWeight(layer.weight);
    if (!options.sparseInitializers &&
        original.data->kind() != TensorData::Kind::SparseCoo)
      continue;
    Weight weight = *graph.findWeight(layer.weight);
    weight.data = toSparseCoo(*weight.data);
    graph.setWeight(std::move(weight));
  }

  report = PruneReport();
  report.sparsity = sparsity;
  report.pattern = options.pattern;
  report.scope = options.scope;
  for (size_t i = 0; i < impl.layers.size(); ++i) {
    const Impl::Layer &layer = impl.layers[i];
    const TensorData &data = *graph.findWeight(layer.weight)->data;
    LayerReport row;
    row.node = layer.label;
    row.weight = layer.weight;
    row.shape = layer.shape;
    row.newShape = data.dims();
    row.status = layer.status;
    row.note = layer.note;
    if (!layer.pruned()) {
      row.elements = data.numElements();
      row.kept = data.numNonZeros();
      report.layers.push_back(std::move(row));
      continue;
    }
    if (options.scope == PruneScope::PerLayer)
      row.targetDensity =
          nm ? 1.0 - options.pattern.nmSparsity() : 1.0 - sparsity;
    row.elements = product(layer.shape);
    if (channel) {
      row.channels = layer.view.rows();
      row.keptChannels =
          row.channels - std::count(units[i].begin(), units[i].end(), 1);
      row.kept = row.keptChannels * layer.view.cols();
    } else {
      row.kept = data.numNonZeros();
    }
    report.totalElements += row.elements;
    report.totalKept += row.kept;
    report.layers.push_back(std::move(row));
  }

  std::string provenance = "pattern=" + options.pattern.str() +
                           ";scope=" + pruneScopeName(options.scope).str() +
                           ";sparsity=" + formatLevel(sparsity);
  auto entry =
      std::find_if(out->metadata.begin(), out->metadata.end(),
                   [](const auto &kv) { return kv.first == kMetadataKey; });
  if (entry != out->metadata.end())
    entry->second = provenance;
  else
    out->metadata.emplace_back(kMetadataKey, provenance);
  return out;
}

} // namespace sparseloom
