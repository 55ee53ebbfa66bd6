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
// The output side (writeBundleOutputs) is here too: the emit-bundle pass and
// sparseloom-compile deliver a bundle as the same files.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Bundle/BundleAssembly.h"

#include "sparseloom/Lower/Pipeline.h"
#include "sparseloom/Support/Diagnostics.h"
#include "sparseloom/Support/FileIO.h"

#include "llvm/Support/Path.h"

#include <cctype>

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
assembleBundleContents(const Platform &platform,
                       llvm::ArrayRef<BundleTaskSpec> tasks) {
  BundleContents contents;
  for (const Processor &p : platform.processors) {
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
  for (size_t t = 0; t < tasks.size(); ++t) {
    const BundleTaskSpec &spec = tasks[t];
    const Family &family = *spec.family;
    if (!family.state.selection || !family.state.fronts ||
        !family.state.accuracy || !family.state.segments)
      return makeError("task '" + family.task +
                       "' has no selection: run split, profile-accuracy, "
                       "enumerate-stitches and select-variants first");
    std::vector<std::string> ids;
    for (const Processor &p : platform.processors)
      ids.push_back(p.id);
    if (family.state.fronts->processors != ids) {
      auto list = [](const std::vector<std::string> &v) {
        std::string text;
        for (const std::string &id : v)
          text += (text.empty() ? "" : ", ") + id;
        return text;
      };
      return makeError("task '" + family.task +
                       "' was enumerated for processors " +
                       list(family.state.fronts->processors) + ", platform '" +
                       platform.name + "' has " + list(ids) +
                       ": give the platform enumerate-stitches used");
    }
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
    task.latencyDeadlineMs = spec.latencyDeadlineMs;
    task.accuracyFloor = spec.accuracyFloor;
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

namespace {

/// "app" -> "app_loom"; anything but letters and digits becomes '_'.
std::string symbolFor(llvm::StringRef stem) {
  std::string symbol;
  for (char c : stem)
    symbol += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  if (symbol.empty() || std::isdigit(static_cast<unsigned char>(symbol[0])))
    symbol = "bundle_" + symbol;
  return symbol + "_loom";
}

} // namespace

llvm::Expected<BundleOutputPaths>
writeBundleOutputs(llvm::StringRef out, llvm::ArrayRef<uint8_t> bundle,
                   const std::string &summaryJson, bool emitC) {
  llvm::StringRef bytes(reinterpret_cast<const char *>(bundle.data()),
                        bundle.size());
  BundleOutputPaths paths;
  llvm::Error err = llvm::Error::success();
  if (out.endswith(".loom")) {
    paths.loom = out.str();
    paths.described = paths.loom;
    err = writeFileAtomically(out, bytes);
    if (!err)
      err = writeFileAtomically((out + ".json").str(), summaryJson);
  } else {
    std::string stem = llvm::sys::path::stem(out).str();
    llvm::SmallString<256> path(out);
    llvm::sys::path::append(path, stem + ".loom");
    paths.loom = path.str().str();
    paths.described = out.str() + "/ (" + stem + ".loom, summary.json)";
    err = writeDirectoryAtomically(
        out, {{stem + ".loom", bytes.str()}, {"summary.json", summaryJson}});
  }
  if (!err && emitC) {
    llvm::SmallString<256> base(paths.loom);
    llvm::sys::path::replace_extension(base, "");
    err = writeBundleAsC(bundle, symbolFor(llvm::sys::path::filename(base)),
                         (base + ".c").str(), (base + ".h").str());
  }
  if (err)
    return err;
  return paths;
}

} // namespace sparseloom
