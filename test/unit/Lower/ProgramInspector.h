//===- ProgramInspector.h - Reading program blobs in lowering tests -*- C++
//-*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The lowering tests read blobs through this header, written against
// ProgramFormat.h alone (not the lowering's own tables), so that they check
// the bytes a runtime would see. It also holds the independent memory-plan
// checker: it derives every buffer's live range from the ops in the blob and
// fails when two buffers live at the same time share a byte.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_TEST_LOWER_PROGRAMINSPECTOR_H
#define SPARSELOOM_TEST_LOWER_PROGRAMINSPECTOR_H

#include "sparseloom/IR/Module.h"
#include "sparseloom/IR/OpRegistry.h"
#include "sparseloom/ProgramFormat.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace sparseloom {
namespace testing {

/// Typed views of a blob's tables. The blob must outlive the view.
class ProgramView {
public:
  explicit ProgramView(const std::vector<uint8_t> &blob) : blob_(blob) {
    std::memcpy(&header_, blob.data(), sizeof(header_));
  }
  const format::ProgramHeader &header() const { return header_; }

  format::TensorDesc tensor(uint32_t id) const {
    return read<format::TensorDesc>(header_.tensorsOffset +
                                    id * sizeof(format::TensorDesc));
  }
  format::OpDesc op(uint32_t id) const {
    return read<format::OpDesc>(header_.opsOffset +
                                id * sizeof(format::OpDesc));
  }
  uint32_t operand(uint32_t index) const {
    return read<uint32_t>(header_.operandsOffset + index * 4);
  }
  std::vector<uint32_t> inputsOf(uint32_t opId) const {
    format::OpDesc d = op(opId);
    std::vector<uint32_t> ids;
    for (uint32_t i = 0; i < d.numInputs; ++i)
      ids.push_back(operand(d.firstOperand + i));
    return ids;
  }
  std::vector<uint32_t> outputsOf(uint32_t opId) const {
    format::OpDesc d = op(opId);
    std::vector<uint32_t> ids;
    for (uint32_t i = 0; i < d.numOutputs; ++i)
      ids.push_back(operand(d.firstOperand + d.numInputs + i));
    return ids;
  }
  std::vector<uint32_t> graphInputs() const {
    std::vector<uint32_t> ids;
    for (uint32_t i = 0; i < header_.numInputs; ++i)
      ids.push_back(read<uint32_t>(header_.ioOffset + i * 4));
    return ids;
  }
  std::vector<uint32_t> graphOutputs() const {
    std::vector<uint32_t> ids;
    for (uint32_t i = 0; i < header_.numOutputs; ++i)
      ids.push_back(
          read<uint32_t>(header_.ioOffset + (header_.numInputs + i) * 4));
    return ids;
  }
  std::string name(uint32_t offset) const {
    const char *p = reinterpret_cast<const char *>(blob_.data()) +
                    header_.namesOffset + offset;
    return std::string(p);
  }
  std::string tensorName(uint32_t id) const {
    return name(tensor(id).nameOffset);
  }
  std::string opName(uint32_t id) const { return name(op(id).nameOffset); }
  /// The bytes of a Weight tensor.
  const uint8_t *weightBytes(uint32_t id) const {
    return blob_.data() + header_.weightsOffset + tensor(id).offset;
  }
  template <typename T> T params(uint32_t opId) const {
    format::OpDesc d = op(opId);
    EXPECT_EQ(d.paramsSize, sizeof(T));
    return read<T>(header_.paramsOffset + d.paramsOffset);
  }

private:
  template <typename T> T read(uint64_t offset) const {
    T value;
    EXPECT_LE(offset + sizeof(T), blob_.size());
    std::memcpy(&value, blob_.data() + offset, sizeof(T));
    return value;
  }
  const std::vector<uint8_t> &blob_;
  format::ProgramHeader header_;
};

/// Checks the memory plan of `blob` against the ops in it.
///
/// Tensors that are views of one buffer (an aliased Reshape, the 2-D views
/// lowering makes for MatMul and 1-D Conv operands) must hold the same value,
/// so they form one group: tensor names with the ".as2d" suffix removed,
/// joined across every Reshape-like node of `module` (the module as it was
/// lowered). Each group is written once (by one op, or as a graph input); it
/// is live from that write to its last read (to the end for graph outputs).
/// Two groups whose bytes intersect must not be live at the same step, every
/// group member must sit at the same offset, and everything must fit in the
/// arena. Returns the number of groups checked.
inline size_t checkMemoryPlan(const std::vector<uint8_t> &blob,
                              const Module &module) {
  ProgramView view(blob);
  const format::ProgramHeader &h = view.header();
  // Union-find over names.
  std::map<std::string, std::string> parent;
  std::function<std::string(const std::string &)> find =
      [&](const std::string &n) -> std::string {
    auto it = parent.find(n);
    if (it == parent.end() || it->second == n)
      return n;
    return it->second = find(it->second);
  };
  auto join = [&](const std::string &a, const std::string &b) {
    std::string ra = find(a), rb = find(b);
    if (ra != rb)
      parent[ra] = rb;
  };
  auto base = [](std::string n) {
    const std::string suffix = ".as2d";
    if (n.size() > suffix.size() &&
        n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0)
      n.resize(n.size() - suffix.size());
    return n;
  };
  for (const auto &node : module.graph.nodes()) {
    const OpInfo *info = lookupOp(*node);
    bool reshapeLike = node->opType == "Reshape" || node->opType == "Flatten" ||
                       node->opType == "Squeeze" ||
                       node->opType == "Unsqueeze" ||
                       (info && info->has(OpInferenceNoOp));
    if (reshapeLike && !node->inputs.empty() && !node->outputs.empty())
      join(node->outputs[0], node->inputs[0]);
  }

  struct Group {
    std::vector<uint32_t> members;
    std::set<int64_t> writers;
    int64_t first = INT64_MAX, last = INT64_MIN;
  };
  std::map<std::string, Group> groups;
  auto groupOf = [&](uint32_t id) -> Group * {
    format::TensorDesc t = view.tensor(id);
    if (t.kind != format::TensorKind::Activation || t.bytes == 0)
      return nullptr;
    return &groups[find(base(view.tensorName(id)))];
  };
  for (uint32_t id = 0; id < h.numTensors; ++id)
    if (Group *g = groupOf(id))
      g->members.push_back(id);
  for (uint32_t id : view.graphInputs())
    if (Group *g = groupOf(id)) {
      g->writers.insert(0);
      g->first = std::min<int64_t>(g->first, 0);
      g->last = std::max<int64_t>(g->last, 0);
    }
  for (uint32_t op = 0; op < h.numOps; ++op) {
    int64_t step = int64_t(op) + 1;
    for (uint32_t id : view.inputsOf(op))
      if (id != format::kNoTensor)
        if (Group *g = groupOf(id))
          g->last = std::max(g->last, step);
    for (uint32_t id : view.outputsOf(op))
      if (Group *g = groupOf(id)) {
        g->writers.insert(step);
        g->first = std::min(g->first, step);
        g->last = std::max(g->last, step);
      }
  }
  for (uint32_t id : view.graphOutputs())
    if (Group *g = groupOf(id))
      g->last = int64_t(h.numOps) + 1;

  struct Range {
    std::string name;
    uint64_t begin, end;
    int64_t first, last;
  };
  std::vector<Range> ranges;
  for (auto &entry : groups) {
    Group &g = entry.second;
    EXPECT_EQ(g.writers.size(), 1u)
        << "buffer group '" << entry.first << "' is written "
        << g.writers.size() << " times";
    format::TensorDesc t0 = view.tensor(g.members.front());
    for (uint32_t id : g.members) {
      format::TensorDesc t = view.tensor(id);
      EXPECT_EQ(t.offset, t0.offset)
          << "views of '" << entry.first << "' disagree on the offset";
      EXPECT_LE(t.offset + t.bytes, h.arenaSize)
          << view.tensorName(id) << " lies outside the arena";
      EXPECT_EQ(t.offset % 64, 0u) << view.tensorName(id) << " misaligned";
    }
    if (g.first > g.last)
      continue; // never touched: no live range
    uint64_t bytes = 0;
    for (uint32_t id : g.members)
      bytes = std::max<uint64_t>(bytes, view.tensor(id).bytes);
    ranges.push_back(
        {entry.first, t0.offset, t0.offset + bytes, g.first, g.last});
  }
  for (size_t i = 0; i < ranges.size(); ++i)
    for (size_t j = i + 1; j < ranges.size(); ++j) {
      const Range &a = ranges[i], &b = ranges[j];
      bool memory = a.begin < b.end && b.begin < a.end;
      bool time = a.first <= b.last && b.first <= a.last;
      EXPECT_FALSE(memory && time)
          << "'" << a.name << "' [" << a.begin << ", " << a.end << ") steps "
          << a.first << ".." << a.last << " overlaps '" << b.name << "' ["
          << b.begin << ", " << b.end << ") steps " << b.first << ".."
          << b.last;
    }
  return ranges.size();
}

} // namespace testing
} // namespace sparseloom

#endif // SPARSELOOM_TEST_LOWER_PROGRAMINSPECTOR_H
