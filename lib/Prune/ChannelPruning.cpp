//===- ChannelPruning.cpp - Removing output channels of linear layers -----===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The `channel` pattern removes output channels instead of zeroing them, so
// everything those channels flow into must shrink with them. Removal is only
// done where the channel structure is *local*: starting at the producer
// (Conv with group 1, Gemm, or MatMul with a matrix weight), the channels may
// pass through
//   - no-ops at inference (Identity, Dropout: OpInferenceNoOp),
//   - affine normalizations (BatchNormalization: its parameters shrink),
//   - elementwise ops whose other operands are weights (a per-channel weight
//     shrinks, a broadcast one stays), or that combine values carrying the
//     same channels (Mul(Sigmoid(x), x)),
//   - pooling, which works per channel,
//   - Flatten at the channel axis, after which each channel is a run of
//     H*W... consecutive features (the consumer loses whole runs),
// and must end in the data input of Conv (group 1), Gemm (transA = 0) or
// MatMul with a matrix weight, whose input channels are then removed. They
// must not reach a graph output, meet another activation in an elementwise
// op (a residual Add: the other branch keeps all channels), or pass a
// Reshape, Concat or any other op not listed; such layers are skipped with
// the reason.
//
// After the weights are sliced, the types of the values that lost channels
// are inferred again by ONNX's strict shape inference (through the exporter
// and importer), which also proves the rewritten model valid.
//
//===----------------------------------------------------------------------===//

#include "PruneInternal.h"

#include "sparseloom/Export/OnnxExporter.h"
#include "sparseloom/IR/OpRegistry.h"
#include "sparseloom/Import/OnnxImporter.h"
#include "sparseloom/Support/Diagnostics.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <set>

namespace sparseloom {
namespace prune {

namespace {

/// Pooling keeps channels apart, which the op registry does not record (it
/// is not elementwise), so the pooling ops are named here.
bool isPerChannelPooling(const Node &node) {
  static const char *const kPools[] = {
      "MaxPool",       "AveragePool", "GlobalAveragePool",
      "GlobalMaxPool", "LpPool",      "GlobalLpPool"};
  if (!node.domain.empty() && node.domain != "ai.onnx")
    return false;
  for (const char *pool : kPools)
    if (node.opType == pool)
      return true;
  return false;
}

/// Flatten is data movement in the registry; how it maps channels (each
/// becomes a run of features) is its own semantics.
bool isFlatten(const Node &node) {
  return (node.domain.empty() || node.domain == "ai.onnx") &&
         node.opType == "Flatten";
}

std::string quoted(const std::string &text) { return "'" + text + "'"; }

/// "Reshape node 'name'", or for an unnamed node "Reshape producing 'out'".
std::string describe(const Node &node) {
  if (node.name.empty())
    return node.displayName();
  return node.opType + " node " + quoted(node.name);
}

/// True when a node's outputs other than the first are absent or unused
/// (Dropout's mask, MaxPool's indices, BatchNormalization's training
/// statistics): those would need their own adjustment.
bool onlyFirstOutputUsed(const Node &node, const UseDefInfo &uses) {
  for (size_t i = 1; i < node.outputs.size(); ++i)
    if (!node.outputs[i].empty() && !uses.isDead(node.outputs[i]))
      return false;
  return true;
}

/// Planning state: the values that carry the producer's channels and the
/// axis they are on.
class ChannelFlow {
public:
  ChannelFlow(const Graph &graph, const UseDefInfo &uses, ChannelPlan &plan)
      : graph_(graph), uses_(uses), plan_(plan) {}

  std::optional<std::string> run(const Node &producer,
                                 const std::string &weight);

private:
  std::optional<std::string> startAt(const Node &producer,
                                     const std::string &weight);
  std::optional<std::string> visit(const Node &node,
                                   const std::vector<size_t> &chained);
  std::optional<std::string> endInLinear(const Node &node, const OpInfo &info,
                                         const std::string &value);
  std::optional<std::string> flatten(const Node &node,
                                     const std::string &value);
  std::optional<std::string> follow(const std::string &value, int64_t axis,
                                    int64_t block);
  /// Slices `weightName` where it broadcasts against `value`, which carries
  /// the channels; nothing when it broadcasts them.
  std::optional<std::string> broadcastEdit(const Node &node,
                                           const std::string &weightName,
                                           const std::string &value);
  void addEdit(const std::string &weightName, size_t dim, int64_t block = 1) {
    plan_.edits.push_back({weightName, dim, block});
  }
  int64_t rankOf(const std::string &value) const {
    return int64_t(graph_.getType(value).rank());
  }

  /// Where a value carries the channels: on `axis`, each channel a run of
  /// `block` consecutive indices (1 until a Flatten merges the channel
  /// axis with the dimensions after it).
  struct Carried {
    int64_t axis;
    int64_t block;
  };

  const Graph &graph_;
  const UseDefInfo &uses_;
  ChannelPlan &plan_;
  std::map<std::string, Carried> carried_;
};

std::optional<std::string> ChannelFlow::follow(const std::string &value,
                                               int64_t axis, int64_t block) {
  TensorType type = graph_.getType(value);
  if (!type.hasRank())
    return "the rank of " + quoted(value) + " is unknown";
  if (axis < 0 || size_t(axis) >= type.rank())
    return "the channels of " + quoted(value) + " are not on one axis";
  if (uses_.isGraphOutput(value))
    return "its output channels reach the graph output " + quoted(value);
  carried_[value] = {axis, block};
  plan_.values.push_back(value);
  return std::nullopt;
}

std::optional<std::string> ChannelFlow::startAt(const Node &producer,
                                                const std::string &weight) {
  const Weight *w = graph_.findWeight(weight);
  assert(w && "the producer's weight is a weight");
  const std::vector<int64_t> &dims = w->data->dims();
  if (uses_.users(weight).size() != 1)
    return "its weight " + quoted(weight) + " is shared with other nodes";
  if (producer.outputs.size() != 1 || producer.outputs[0].empty())
    return "it does not have exactly one output";
  const std::string &out = producer.outputs[0];
  TensorType outType = graph_.getType(out);
  if (!outType.hasRank())
    return "the rank of its output " + quoted(out) + " is unknown";

  // Which dimension of the weight (and of the bias) holds output channels
  // is op semantics, like the layouts of IR/WeightLayout.h.
  int64_t axis = 0;
  std::string bias;
  if (producer.opType == "Conv") {
    if (int64_t group = producer.getIntAttr("group", 1); group != 1)
      return "it is a grouped convolution (group = " + std::to_string(group) +
             "); only group 1 is supported";
    if (dims.size() < 3)
      return "its weight is not a convolution kernel";
    plan_.channels = dims[0];
    addEdit(weight, 0);
    axis = 1;
    if (producer.inputs.size() > 2)
      bias = producer.inputs[2];
  } else if (producer.opType == "Gemm") {
    if (dims.size() != 2)
      return "its weight is not a matrix";
    bool transB = producer.getIntAttr("transB", 0) != 0;
    plan_.channels = transB ? dims[0] : dims[1];
    addEdit(weight, transB ? 0 : 1);
    axis = 1;
    if (producer.inputs.size() > 2)
      bias = producer.inputs[2];
  } else if (producer.opType == "MatMul") {
    if (dims.size() != 2)
      return "its weight is not a matrix (a batched MatMul weight)";
    plan_.channels = dims[1];
    addEdit(weight, 1);
    axis = int64_t(outType.rank()) - 1;
  } else {
    return "removing output channels of " + producer.opType +
           " is not supported (Conv with group 1, Gemm and MatMul are)";
  }
  if (plan_.channels <= 1)
    return "it has a single output channel";
  if (!bias.empty()) {
    if (!graph_.findWeight(bias))
      return "its bias " + quoted(bias) + " is not a weight";
    // A Gemm bias broadcasts against [M, N]; it is sliced along its last
    // dimension only when that dimension holds the channels.
    const std::vector<int64_t> &biasDims =
        graph_.findWeight(bias)->data->dims();
    int64_t dim = int64_t(biasDims.size()) - 1;
    if (dim >= 0 && biasDims[size_t(dim)] != 1) {
      if (biasDims[size_t(dim)] != plan_.channels)
        return "its bias " + quoted(bias) + " is not one value per channel";
      addEdit(bias, size_t(dim));
    }
  }
  plan_.nodes.push_back(&producer);
  return follow(out, axis, 1);
}

std::optional<std::string>
ChannelFlow::broadcastEdit(const Node &node, const std::string &weightName,
                           const std::string &value) {
  const Carried &c = carried_.at(value);
  const std::vector<int64_t> &dims =
      graph_.findWeight(weightName)->data->dims();
  // Broadcasting aligns trailing dimensions.
  int64_t dim = int64_t(dims.size()) - (rankOf(value) - c.axis);
  if (dim < 0 || dims[size_t(dim)] == 1)
    return std::nullopt;
  if (dims[size_t(dim)] != plan_.channels * c.block)
    return "weight " + quoted(weightName) + " of " + describe(node) +
           " does not broadcast per channel";
  addEdit(weightName, size_t(dim), c.block);
  return std::nullopt;
}

std::optional<std::string> ChannelFlow::flatten(const Node &node,
                                                const std::string &value) {
  const Carried &c = carried_.at(value);
  TensorType type = graph_.getType(value);
  int64_t rank = int64_t(type.rank());
  int64_t axis = node.getIntAttr("axis", 1);
  if (axis < 0)
    axis += rank;
  // Only a Flatten that starts at the channel axis keeps each channel one
  // run of the output's second dimension.
  if (axis != c.axis)
    return "its output channels flow into " + describe(node) +
           ", which does not flatten from the channel axis";
  int64_t block = c.block;
  for (int64_t d = c.axis + 1; d < rank; ++d) {
    const Dim &dim = (*type.dims)[size_t(d)];
    if (!dim.isKnown())
      return "its output channels flow into " + describe(node) +
             ", whose input's dimension " + std::to_string(d) +
             " is not static";
    block *= dim.size();
  }
  plan_.nodes.push_back(&node);
  return follow(node.outputs[0], 1, block);
}

std::optional<std::string> ChannelFlow::endInLinear(const Node &node,
                                                    const OpInfo &info,
                                                    const std::string &value) {
  const Carried &c = carried_.at(value);
  const int64_t width = plan_.channels * c.block;
  std::string where = describe(node);
  size_t wi = size_t(info.weightOperand);
  const std::string weight =
      wi < node.inputs.size() ? node.inputs[wi] : std::string();
  const Weight *w = weight.empty() ? nullptr : graph_.findWeight(weight);
  if (!w)
    return "its output channels flow into " + where +
           ", which has no constant weight to adjust";
  const std::vector<int64_t> &dims = w->data->dims();
  if (node.opType == "Conv" && node.getIntAttr("group", 1) == 1 &&
      c.axis == 1 && c.block == 1 && dims.size() >= 3 &&
      dims[1] == plan_.channels) {
    addEdit(weight, 1);
  } else if (node.opType == "Gemm" && node.getIntAttr("transA", 0) == 0 &&
             c.axis == 1 && dims.size() == 2) {
    size_t dim = node.getIntAttr("transB", 0) != 0 ? 1 : 0;
    if (dims[dim] != width)
      return "the weight of " + where + " does not match its input channels";
    addEdit(weight, dim, c.block);
  } else if (node.opType == "MatMul" && c.axis == rankOf(value) - 1 &&
             dims.size() == 2 && dims[0] == width) {
    addEdit(weight, 0, c.block);
  } else {
    return "its output channels flow into " + where +
           ", whose input channels cannot be removed (Conv needs group 1, "
           "Gemm transA = 0, MatMul a matrix weight)";
  }
  plan_.nodes.push_back(&node);
  return std::nullopt;
}

std::optional<std::string>
ChannelFlow::visit(const Node &node, const std::vector<size_t> &chained) {
  const std::string &first = node.inputs[chained.front()];
  const Carried carried = carried_.at(first);
  const int64_t axis = carried.axis, rank = rankOf(first);
  std::string where = describe(node);
  const OpInfo *info = lookupOp(node);
  if (!info)
    return "its output channels flow into " + where +
           ", an op SparseLoom does not know";

  if (info->has(OpLinearWithWeight)) {
    if (chained.size() != 1 || chained.front() != 0)
      return "its output channels are read by " + where +
             " as an operand other than its data input";
    return endInLinear(node, *info, first);
  }
  if (isFlatten(node)) {
    if (chained.size() != 1 || chained.front() != 0)
      return "its output channels are read by " + where +
             " as an operand other than its data input";
    return flatten(node, first);
  }

  bool passes = info->has(OpInferenceNoOp) ||
                info->has(OpAffineNormalization) || info->has(OpElementwise) ||
                isPerChannelPooling(node);
  if (!passes)
    return "its output channels flow into " + where +
           ", which cannot be adjusted (only elementwise, normalization, "
           "pooling, Flatten and no-op nodes may lie between a layer and the "
           "Conv, Gemm or MatMul that reads its channels)";
  if (!onlyFirstOutputUsed(node, uses_))
    return "its output channels flow into " + where +
           ", whose secondary outputs are used";
  if (node.outputs.empty() || node.outputs[0].empty())
    return "its output channels flow into " + where + ", which has no output";
  const std::string &out = node.outputs[0];
  TensorType outType = graph_.getType(out);
  if (!outType.hasRank())
    return "the rank of " + quoted(out) + " is unknown";
  int64_t outRank = int64_t(outType.rank());

  if (!info->has(OpElementwise)) {
    // Normalization, pooling and no-ops read the channels as their data
    // input; every other operand is a parameter.
    if (chained.size() != 1 || chained.front() != 0)
      return "its output channels are read by " + where +
             " as an operand other than its data input";
    if ((info->has(OpAffineNormalization) || isPerChannelPooling(node)) &&
        (axis != 1 || carried.block != 1))
      return "its output channels are not on axis 1 where " + where +
             " expects them";
    for (size_t i = 1; i < node.inputs.size(); ++i) {
      const std::string &param = node.inputs[i];
      if (param.empty())
        continue;
      const Weight *w = graph_.findWeight(param);
      if (!w)
        return "parameter " + quoted(param) + " of " + where +
               " is not a weight";
      if (info->has(OpAffineNormalization)) {
        // Scale, bias, mean and variance: one entry per channel.
        if (w->data->dims() != std::vector<int64_t>{plan_.channels})
          return "parameter " + quoted(param) + " of " + where +
                 " does not have one entry per channel";
        addEdit(param, 0);
      }
    }
    plan_.nodes.push_back(&node);
    return follow(out, axis, carried.block);
  }

  // Elementwise: every operand carries these channels (on the same axis
  // counted from the end) or is a weight that broadcasts against them.
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    const std::string &in = node.inputs[i];
    if (in.empty())
      continue;
    if (auto it = carried_.find(in); it != carried_.end()) {
      if (it->second.axis - rankOf(in) != axis - rank ||
          it->second.block != carried.block)
        return "its output channels meet on different axes in " + where;
      continue;
    }
    if (!graph_.findWeight(in))
      return "its output channels meet the activation " + quoted(in) + " in " +
             where +
             " (a residual connection or another merge): the other operand "
             "keeps all its channels";
    if (auto reason = broadcastEdit(node, in, first))
      return reason;
  }
  plan_.nodes.push_back(&node);
  return follow(out, axis + (outRank - rank), carried.block);
}

std::optional<std::string> ChannelFlow::run(const Node &producer,
                                            const std::string &weight) {
  if (auto reason = startAt(producer, weight))
    return reason;
  // Program order is topological, so every operand that carries the
  // channels is known before the node that combines them is visited.
  int start = graph_.indexOf(&producer);
  assert(start >= 0 && "the producer is in the graph");
  for (size_t i = size_t(start) + 1; i < graph_.numNodes(); ++i) {
    const Node &node = *graph_.nodes()[i];
    std::vector<size_t> chained;
    for (size_t j = 0; j < node.inputs.size(); ++j)
      if (!node.inputs[j].empty() && carried_.count(node.inputs[j]))
        chained.push_back(j);
    if (chained.empty())
      continue;
    if (auto reason = visit(node, chained))
      return reason;
  }

  // A weight that shrinks must not be read by anything that does not see
  // the shrunken channels, and must shrink along one dimension only.
  std::set<const Node *> inPlan(plan_.nodes.begin(), plan_.nodes.end());
  std::map<std::string, std::pair<size_t, int64_t>> dims;
  std::vector<AxisEdit> unique;
  for (const AxisEdit &edit : plan_.edits) {
    auto [it, inserted] =
        dims.emplace(edit.weight, std::make_pair(edit.dim, edit.block));
    if (!inserted) {
      if (it->second != std::make_pair(edit.dim, edit.block))
        return "weight " + quoted(edit.weight) +
               " would lose channels along two dimensions";
      continue;
    }
    unique.push_back(edit);
    for (const Node *user : uses_.users(edit.weight))
      if (!inPlan.count(user))
        return "weight " + quoted(edit.weight) + " is also read by " +
               describe(*user) + ", which keeps all channels";
  }
  plan_.edits = std::move(unique);
  return std::nullopt;
}

} // namespace

std::optional<std::string> planChannelRemoval(const Graph &graph,
                                              const UseDefInfo &uses,
                                              const Node &producer,
                                              const std::string &weight,
                                              ChannelPlan &plan) {
  plan = ChannelPlan();
  ChannelFlow flow(graph, uses, plan);
  return flow.run(producer, weight);
}

TensorDataRef gatherAxes(const TensorData &data,
                         const std::map<size_t, std::vector<int64_t>> &keep) {
  const std::vector<int64_t> &dims = data.dims();
  const size_t rank = dims.size();
  const size_t elementSize = dtypeSize(data.dtype());
  std::vector<std::vector<int64_t>> indices(rank);
  std::vector<int64_t> newDims(rank);
  for (size_t d = 0; d < rank; ++d) {
    auto it = keep.find(d);
    if (it != keep.end()) {
      indices[d] = it->second;
    } else {
      indices[d].resize(size_t(dims[d]));
      for (int64_t i = 0; i < dims[d]; ++i)
        indices[d][size_t(i)] = i;
    }
    newDims[d] = int64_t(indices[d].size());
  }
  std::vector<int64_t> strides(rank, 1);
  for (size_t d = rank; d-- > 1;)
    strides[d - 1] = strides[d] * dims[d];

  int64_t total = 1;
  for (int64_t d : newDims)
    total *= d;
  std::vector<uint8_t> source = data.denseBytes();
  std::vector<uint8_t> bytes(size_t(total) * elementSize);
  // Odometer over the output's multi-index.
  std::vector<size_t> position(rank, 0);
  for (int64_t out = 0; out < total; ++out) {
    int64_t in = 0;
    for (size_t d = 0; d < rank; ++d)
      in += indices[d][position[d]] * strides[d];
    std::memcpy(&bytes[size_t(out) * elementSize],
                &source[size_t(in) * elementSize], elementSize);
    for (size_t d = rank; d-- > 0;) {
      if (++position[d] < indices[d].size())
        break;
      position[d] = 0;
    }
  }
  return TensorData::createDense(data.dtype(), std::move(newDims),
                                 std::move(bytes));
}

llvm::Error removeChannels(Module &module,
                           const std::vector<ChannelCut> &cuts) {
  Graph &graph = module.graph;
  std::map<std::string, std::map<size_t, std::vector<int64_t>>> keep;
  for (const ChannelCut &cut : cuts)
    for (const AxisEdit &edit : cut.plan->edits) {
      // Channel c of a flattened value is the run [c * block, (c+1) * block).
      std::vector<int64_t> indices;
      indices.reserve(cut.kept.size() * size_t(edit.block));
      for (int64_t channel : cut.kept)
        for (int64_t j = 0; j < edit.block; ++j)
          indices.push_back(channel * edit.block + j);
      bool inserted =
          keep[edit.weight].emplace(edit.dim, std::move(indices)).second;
      (void)inserted;
      assert(inserted && "plans never edit one weight dimension twice");
    }
  for (const auto &[name, axes] : keep) {
    Weight weight = *graph.findWeight(name);
    TensorDataRef sliced = gatherAxes(*weight.data, axes);
    // A sparse initializer stays one.
    if (weight.data->kind() == TensorData::Kind::SparseCoo)
      sliced = toSparseCoo(*sliced);
    weight.data = std::move(sliced);
    graph.setWeight(std::move(weight));
  }

  // Forget the shapes of the values that lost channels, then let ONNX's
  // strict shape inference compute them from the new weights.
  for (const ChannelCut &cut : cuts)
    for (const std::string &value : cut.plan->values)
      graph.setType(value, TensorType(graph.getType(value).dtype, {}));
  ExportOptions exportOptions;
  exportOptions.runChecker = false; // the importer runs it
  auto bytes = exportOnnxBytes(module, exportOptions);
  if (!bytes)
    return bytes.takeError();
  auto inferred = importOnnxBytes(*bytes, ".");
  if (!inferred)
    return makeError("removing channels produced a model that ONNX rejects: " +
                     llvm::toString(inferred.takeError()));
  for (const ChannelCut &cut : cuts)
    for (const std::string &value : cut.plan->values)
      graph.setType(value, (*inferred)->graph.getType(value));
  return llvm::Error::success();
}

} // namespace prune
} // namespace sparseloom
