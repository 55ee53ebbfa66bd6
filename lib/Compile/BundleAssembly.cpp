//===- BundleAssembly.cpp - Selected families to bundle contents ----------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// A selected variant becomes a row of the bundle's variant table: one
// program per segment (the member's lowered subgraph), its accuracy
// (estimated, and measured on the calibration split where it was), and its
// latency on every processor as the sum of its subgraphs' latencies there.
// Programs are listed once per (task, segment, member); identical bytes
// across tasks are merged later by the bundle writer's dedup.
//
//===----------------------------------------------------------------------===//

#include "CompileInternal.h"

#include "sparseloom/Lower/Pipeline.h"
#include "sparseloom/Space/Platform.h"
#include "sparseloom/Support/Diagnostics.h"

#include <cmath>
#include <limits>
#include <map>
#include <tuple>

namespace sparseloom {

namespace {

format::ProcessorKind kindOf(ProcessorKind kind) {
  switch (kind) {
  case ProcessorKind::Cpu:
    return format::ProcessorKind::Cpu;
  case ProcessorKind::Gpu:
    return format::ProcessorKind::Gpu;
  case ProcessorKind::Npu:
    return format::ProcessorKind::Npu;
  case ProcessorKind::Dsp:
    return format::ProcessorKind::Dsp;
  }
  return format::ProcessorKind::Cpu;
}

/// A task input or output, batch bound to 1 as the programs are.
llvm::Expected<BundleContents::Tensor> tensorOf(const Graph &graph,
                                                const std::string &name) {
  TensorType type = graph.getType(name);
  BundleContents::Tensor tensor;
  tensor.name = name;
  switch (type.dtype) {
  case DType::F32:
  case DType::U8:
  case DType::I8:
  case DType::I32:
  case DType::I64:
  case DType::Bool:
    tensor.dtype = format::DType(uint8_t(type.dtype));
    break;
  default:
    return makeError("tensor '" + name + "' has type " +
                     dtypeName(type.dtype).str() +
                     ", which a bundle cannot carry");
  }
  if (type.dims)
    for (const Dim &d : *type.dims)
      tensor.dims.push_back(d.isKnown() ? d.size() : 1);
  return tensor;
}

} // namespace

llvm::Expected<BundleContents>
assembleBundleContents(const Manifest &manifest,
                       const std::vector<Family> &families) {
  auto platform = loadPlatformFile(manifest.platform);
  if (!platform)
    return platform.takeError();
  BundleContents contents;
  for (const Processor &p : platform->processors) {
    BundleContents::Processor processor;
    processor.id = p.id;
    processor.kind = kindOf(p.kind);
    processor.threads = p.threads;
    processor.denseGflops = p.denseGflops;
    processor.memoryGBps = p.memoryBandwidthGBs;
    processor.invocationOverheadMs = p.invocationOverheadUs / 1e3;
    processor.memoryCapacityBytes =
        uint64_t(p.memoryCapacityMiB * 1024.0 * 1024.0);
    contents.processors.push_back(std::move(processor));
  }
  std::map<std::tuple<size_t, size_t, size_t>, uint32_t> programIndex;
  for (size_t t = 0; t < families.size(); ++t) {
    const Family &family = families[t];
    const ManifestTask &spec = manifest.tasks[t];
    if (!family.state.selection || !family.state.fronts ||
        !family.state.accuracy)
      return makeError("task '" + family.task + "' has no selection");
    BundleContents::Task task;
    task.name = family.task;
    const Graph &graph = family.reference().graph;
    for (const std::string &name : graph.inputs) {
      auto tensor = tensorOf(graph, name);
      if (!tensor)
        return withFile(tensor.takeError(), family.members.front().file);
      task.inputs.push_back(std::move(*tensor));
    }
    for (const std::string &name : graph.outputs) {
      auto tensor = tensorOf(graph, name);
      if (!tensor)
        return withFile(tensor.takeError(), family.members.front().file);
      task.outputs.push_back(std::move(*tensor));
    }
    for (const FamilyMember &member : family.members)
      task.sourceVariants.push_back(member.variant);
    task.latencyDeadlineMs = spec.slo.latencyMs;
    task.accuracyFloor = spec.slo.accuracy;
    task.requestRateHz = spec.requestRateHz;
    task.numClasses = family.state.accuracy->classes;
    const FamilyStitchFronts &fronts = *family.state.fronts;
    // Most accurate first: the order a scheduler scans.
    std::vector<const FamilyStitchPoint *> selected;
    for (const FamilyStitchPoint &p : family.state.selection->selected)
      selected.push_back(&p);
    std::stable_sort(
        selected.begin(), selected.end(),
        [](const FamilyStitchPoint *a, const FamilyStitchPoint *b) {
          return a->accuracy() > b->accuracy();
        });
    for (const FamilyStitchPoint *point : selected) {
      BundleContents::Variant variant;
      variant.id = uint32_t(task.variants.size());
      variant.estimatedAccuracy = point->estimatedAccuracy;
      if (point->measuredAccuracy)
        variant.measuredAccuracy = *point->measuredAccuracy;
      variant.latencyMs.assign(fronts.processors.size(), 0);
      for (size_t s = 0; s < point->variants.size(); ++s) {
        size_t m = point->variants[s];
        variant.name += (s ? "+" : "") + family.members[m].variant;
        variant.sourceVariants.push_back(uint32_t(m));
        auto key = std::make_tuple(t, s, m);
        auto it = programIndex.find(key);
        if (it == programIndex.end()) {
          auto program =
              compileForOneSample(*family.state.segments->perMember[m][s]);
          if (!program)
            return withFile(program.takeError(), family.members[m].file);
          it = programIndex.emplace(key, uint32_t(contents.programs.size()))
                   .first;
          contents.programs.push_back({family.task + "." +
                                           family.members[m].variant + ".seg" +
                                           std::to_string(s),
                                       std::move(program->bytes)});
        }
        variant.programs.push_back(it->second);
        variant.memoryBytes += contents.programs[it->second].blob.size();
        for (size_t p = 0; p < fronts.processors.size(); ++p)
          variant.latencyMs[p] += fronts.segmentLatencyMs[s][m][p];
      }
      task.variants.push_back(std::move(variant));
    }
    contents.tasks.push_back(std::move(task));
  }
  return contents;
}

} // namespace sparseloom
