//===- Dedup.cpp - Find weights and segments stored more than once --------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Content-hashes every weight of every segment of every member (values,
// dtype and shape) and every segment as a whole (structure plus its weights'
// hashes). The first occurrence is the one stored; each later copy is
// annotated `dedup.same_as = "<segment>/<weight>"` (a whole segment:
// `dedup.same_as = "<segment>"`) so FileCheck and reports see what sharing
// saves: layers pruning left dense in every variant, segments pruning did
// not touch. Statistics give the bytes before and after. The bundle writer
// applies the same identity (lib/Bundle) across tasks as well.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"

#include "sparseloom/IR/Analysis.h"
#include "sparseloom/Support/Diagnostics.h"

#include "llvm/Support/raw_ostream.h"

#include <map>
#include <tuple>

#define DEBUG_TYPE "dedup"

namespace sparseloom {

namespace {

using WeightKey = std::tuple<uint64_t, DType, std::vector<int64_t>>;

class DedupPass : public Pass {
public:
  DedupPass() : Pass(dedupPassInfo()) {}

  llvm::Error run(Module &) override {
    return makeError("dedup works on the segments of a split family");
  }

  llvm::Error runOnFamily(Family &family) override {
    if (!family.state.segments)
      return makeError("dedup needs the split family: run "
                       "align-family,detect-boundaries,split first");
    std::map<WeightKey, std::string> firstWeight;
    std::map<std::pair<size_t, uint64_t>, std::string> firstSegment;
    for (auto &segments : family.state.segments->perMember)
      for (size_t s = 0; s < segments.size(); ++s) {
        Graph &graph = segments[s]->graph;
        uint64_t segmentHash = structuralHash(graph);
        std::vector<std::string> names;
        for (const auto &entry : graph.weights())
          names.push_back(entry.first);
        for (const std::string &name : names) {
          Weight &weight = *graph.findWeight(name);
          const TensorData &data = *weight.data;
          WeightKey key{data.contentHash(), data.dtype(), data.dims()};
          segmentHash = segmentHash * 1099511628211ull ^ data.contentHash();
          int64_t bytes = data.numElements() * int64_t(dtypeSize(data.dtype()));
          statistics().add("weights");
          statistics().add("weight-bytes-before", bytes);
          auto [it, inserted] =
              firstWeight.emplace(key, graph.name + "/" + name);
          if (inserted) {
            statistics().add("weight-bytes-after", bytes);
            continue;
          }
          statistics().add("weights-shared");
          weight.annotations["dedup.same_as"] = it->second;
          SL_DEBUG(debugStream() << "dedup: " << graph.name << "/" << name
                                 << " = " << it->second << "\n");
        }
        statistics().add("segments");
        auto [it, inserted] =
            firstSegment.emplace(std::make_pair(s, segmentHash), graph.name);
        if (!inserted) {
          statistics().add("segments-shared");
          segments[s]->annotations["dedup.same_as"] = it->second;
        }
      }
    return llvm::Error::success();
  }
};

} // namespace

const PassInfo &dedupPassInfo() {
  static const PassInfo info = {
      "dedup",
      "Find weights and segments stored more than once across the variants "
      "of a split family (content hash) and mark the copies",
      {},
      {{"weights", "weights over every segment of every member"},
       {"weights-shared", "weights identical to one seen before"},
       {"weight-bytes-before", "bytes of all weights"},
       {"weight-bytes-after", "bytes with each distinct weight once"},
       {"segments", "segments over all members"},
       {"segments-shared", "segments identical to another member's"}},
      [](const PassOptions &) -> llvm::Expected<std::unique_ptr<Pass>> {
        return std::make_unique<DedupPass>();
      }};
  return info;
}

} // namespace sparseloom
