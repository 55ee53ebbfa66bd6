//===- BundleWriter.cpp - BundleContents as a .loom file ------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Runs the writer's steps in order: check the contents, take each program's
// weights into the tensor pool (deduplicating tensors), point the program at
// the pool and store it unless an identical program is already stored, then
// build every table and lay the file out in the section order of
// BundleFormat.h. Every struct is zeroed before its fields are set and every
// gap is zero, and nothing depends on addresses, time or hash-map order, so
// the same contents always give the same bytes.
//
//===----------------------------------------------------------------------===//

#include "BundleInternal.h"

#include "sparseloom/Runtime/OpRegistry.h"
#include "sparseloom/Runtime/Runtime.hpp"
#include "sparseloom/Support/Diagnostics.h"

#include <algorithm>
#include <cstring>
#include <map>

using namespace sparseloom;
using namespace sparseloom::bundle;
using namespace sparseloom::format;

namespace {

/// The strings section: NUL-terminated strings, each stored once, offset 0
/// being the empty string.
class StringTable {
public:
  StringTable() { bytes_.push_back('\0'); }
  uint32_t add(const std::string &s) {
    if (s.empty())
      return 0;
    auto it = offsets_.find(s);
    if (it != offsets_.end())
      return it->second;
    uint32_t offset = uint32_t(bytes_.size());
    bytes_.insert(bytes_.end(), s.begin(), s.end());
    bytes_.push_back('\0');
    offsets_.emplace(s, offset);
    return offset;
  }
  const std::vector<uint8_t> &bytes() const { return bytes_; }

private:
  std::vector<uint8_t> bytes_;
  std::map<std::string, uint32_t> offsets_;
};

/// A zero-initialised struct (padding included), for deterministic bytes.
template <typename T> T zeroed() {
  T value;
  std::memset(&value, 0, sizeof(value));
  return value;
}

/// The stored programs, each once by content.
struct ProgramStore {
  std::vector<std::vector<uint8_t>> blobs;
  std::vector<std::vector<uint32_t>> tensors; // per stored program
  std::multimap<uint64_t, uint32_t> byHash;

  uint32_t add(std::vector<uint8_t> blob, std::vector<uint32_t> used,
               bool dedup) {
    uint64_t hash = fnv1a64(blob.data(), blob.size());
    if (dedup) {
      auto range = byHash.equal_range(hash);
      for (auto it = range.first; it != range.second; ++it)
        if (blobs[it->second] == blob)
          return it->second;
    }
    uint32_t index = uint32_t(blobs.size());
    blobs.push_back(std::move(blob));
    tensors.push_back(std::move(used));
    byHash.emplace(hash, index);
    return index;
  }
};

/// Moves every input program's weights into `pool` and stores the programs.
llvm::Error placePrograms(const BundleContents &contents, bool dedup,
                          TensorPool &pool, ProgramStore &store,
                          std::vector<ProgramPlacement> &placements) {
  placements.resize(contents.programs.size());
  for (size_t i = 0; i < contents.programs.size(); ++i) {
    const BundleContents::Program &input = contents.programs[i];
    auto split = splitProgramWeights(input.blob, input.name);
    if (!split)
      return split.takeError();
    ProgramPlacement &placement = placements[i];
    placement.standaloneBytes = split->standaloneBytes;
    placement.weightTensors = split->weights.size();
    std::vector<uint64_t> offsets;
    for (const ProgramWeight &w : split->weights) {
      uint32_t index = pool.intern(w);
      offsets.push_back(pool.entries()[index].offset);
      placement.tensors.push_back(index);
      placement.weightBytes += w.bytes.size();
    }
    bindProgramWeights(*split, offsets);
    std::sort(placement.tensors.begin(), placement.tensors.end());
    placement.tensors.erase(
        std::unique(placement.tensors.begin(), placement.tensors.end()),
        placement.tensors.end());
    placement.storedIndex =
        store.add(std::move(split->blob), placement.tensors, dedup);
  }
  return llvm::Error::success();
}

BundleTaskTensor taskTensor(const BundleContents::Tensor &t,
                            StringTable &strings) {
  auto entry = zeroed<BundleTaskTensor>();
  entry.nameOffset = strings.add(t.name);
  entry.dtype = t.dtype;
  entry.rank = uint8_t(t.dims.size());
  for (size_t d = 0; d < t.dims.size(); ++d)
    entry.dims[d] = t.dims[d];
  return entry;
}

/// One section's bytes before layout.
struct SectionData {
  SectionKind kind;
  uint32_t entrySize;
  std::vector<uint8_t> bytes;
};

template <typename T>
SectionData table(SectionKind kind, const std::vector<T> &entries) {
  SectionData s{kind, uint32_t(sizeof(T)), {}};
  s.bytes.resize(entries.size() * sizeof(T));
  if (!entries.empty())
    std::memcpy(s.bytes.data(), entries.data(), s.bytes.size());
  return s;
}

/// Header, section table and sections, each section 64-byte aligned.
std::vector<uint8_t> layOut(const std::vector<SectionData> &sections) {
  auto header = zeroed<BundleHeader>();
  std::memcpy(header.magic, kBundleMagic, sizeof(header.magic));
  header.versionMajor = kBundleVersionMajor;
  header.versionMinor = kBundleVersionMinor;
  header.headerSize = sizeof(BundleHeader);
  header.sectionTableOffset = sizeof(BundleHeader);
  header.numSections = uint32_t(sections.size());
  header.sectionEntrySize = sizeof(BundleSection);

  std::vector<BundleSection> entries;
  uint64_t cursor =
      alignUp(sizeof(BundleHeader) + sections.size() * sizeof(BundleSection));
  for (const SectionData &s : sections) {
    auto entry = zeroed<BundleSection>();
    entry.kind = uint32_t(s.kind);
    entry.entrySize = s.entrySize;
    entry.offset = cursor;
    entry.size = s.bytes.size();
    entry.count = s.bytes.size() / s.entrySize;
    entry.crc32 = runtime::crc32(s.bytes.data(), s.bytes.size());
    entries.push_back(entry);
    cursor = alignUp(cursor + s.bytes.size());
  }
  header.totalSize = cursor;

  std::vector<uint8_t> out(cursor, 0);
  std::memcpy(out.data() + sizeof(BundleHeader), entries.data(),
              entries.size() * sizeof(BundleSection));
  for (size_t i = 0; i < sections.size(); ++i)
    if (!sections[i].bytes.empty())
      std::memcpy(out.data() + entries[i].offset, sections[i].bytes.data(),
                  sections[i].bytes.size());
  // The header's CRC leaves its own field out and continues over the table.
  std::memcpy(out.data(), &header, sizeof(header));
  constexpr size_t kCrcField = offsetof(BundleHeader, metaCrc32);
  uint32_t crc = runtime::crc32(out.data(), kCrcField);
  crc = runtime::crc32(out.data() + kCrcField + 4,
                       sizeof(BundleHeader) - kCrcField - 4, crc);
  crc = runtime::crc32(out.data() + sizeof(BundleHeader),
                       entries.size() * sizeof(BundleSection), crc);
  header.metaCrc32 = crc;
  std::memcpy(out.data(), &header, sizeof(header));
  return out;
}

/// Opens `bytes` with the runtime (on an aligned copy, as it reads in place).
llvm::Error verifyWithRuntime(const std::vector<uint8_t> &bytes) {
  struct alignas(64) Block {
    uint8_t b[64];
  };
  std::vector<Block> copy((bytes.size() + 63) / 64);
  std::memcpy(copy.data(), bytes.data(), bytes.size());
  runtime::Bundle bundle;
  runtime::Status s = runtime::Bundle::open(copy.data(), bytes.size(), bundle);
  if (!s)
    return makeError("the runtime rejects the bundle: " + s.message());
  return llvm::Error::success();
}

} // namespace

llvm::Expected<std::vector<uint8_t>>
sparseloom::buildBundle(const BundleContents &contents,
                        const BundleWriteOptions &options, BundleStats *stats) {
  if (llvm::Error err = checkContents(contents))
    return err;
  TensorPool pool(options.dedup);
  ProgramStore store;
  std::vector<ProgramPlacement> placements;
  if (llvm::Error err =
          placePrograms(contents, options.dedup, pool, store, placements))
    return err;

  StringTable strings;
  // Programs, each 64-byte aligned in the program data.
  std::vector<BundleProgram> programs;
  std::vector<uint32_t> programTensors;
  std::vector<uint8_t> programData;
  for (size_t i = 0; i < store.blobs.size(); ++i) {
    auto entry = zeroed<BundleProgram>();
    entry.offset = alignUp(programData.size());
    entry.size = store.blobs[i].size();
    entry.firstTensor = uint32_t(programTensors.size());
    entry.numTensors = uint32_t(store.tensors[i].size());
    programTensors.insert(programTensors.end(), store.tensors[i].begin(),
                          store.tensors[i].end());
    programData.resize(entry.offset, 0);
    programData.insert(programData.end(), store.blobs[i].begin(),
                       store.blobs[i].end());
    programs.push_back(entry);
  }

  std::vector<BundleProcessor> processors;
  for (const BundleContents::Processor &p : contents.processors) {
    auto entry = zeroed<BundleProcessor>();
    entry.idOffset = strings.add(p.id);
    entry.kind = p.kind;
    entry.threads = p.threads;
    entry.denseGflops = p.denseGflops;
    entry.memoryGBps = p.memoryGBps;
    entry.invocationOverheadMs = p.invocationOverheadMs;
    entry.memoryCapacityBytes = p.memoryCapacityBytes;
    processors.push_back(entry);
  }

  std::vector<BundleTask> tasks;
  std::vector<BundleTaskTensor> taskTensors;
  std::vector<uint32_t> sourceVariants;
  std::vector<BundleVariant> variants;
  std::vector<BundleSegment> segments;
  std::vector<double> latencies;
  for (size_t t = 0; t < contents.tasks.size(); ++t) {
    const BundleContents::Task &task = contents.tasks[t];
    auto entry = zeroed<BundleTask>();
    entry.nameOffset = strings.add(task.name);
    entry.numClasses = task.numClasses;
    entry.firstTensor = uint32_t(taskTensors.size());
    entry.numInputs = uint32_t(task.inputs.size());
    entry.numOutputs = uint32_t(task.outputs.size());
    for (const BundleContents::Tensor &in : task.inputs)
      taskTensors.push_back(taskTensor(in, strings));
    for (const BundleContents::Tensor &out : task.outputs)
      taskTensors.push_back(taskTensor(out, strings));
    entry.firstSource = uint32_t(sourceVariants.size());
    entry.numSources = uint32_t(task.sourceVariants.size());
    for (const std::string &name : task.sourceVariants)
      sourceVariants.push_back(strings.add(name));
    entry.firstVariant = uint32_t(variants.size());
    entry.numVariants = uint32_t(task.variants.size());
    entry.latencyDeadlineMs = task.latencyDeadlineMs;
    entry.accuracyFloor = task.accuracyFloor;
    entry.requestRateHz = task.requestRateHz;
    tasks.push_back(entry);
    for (const BundleContents::Variant &v : task.variants) {
      auto var = zeroed<BundleVariant>();
      var.id = v.id;
      var.nameOffset = strings.add(v.name);
      var.task = uint32_t(t);
      var.firstSegment = uint32_t(segments.size());
      var.numSegments = uint32_t(v.programs.size());
      var.estimatedAccuracy = v.estimatedAccuracy;
      var.measuredAccuracy = v.measuredAccuracy;
      var.memoryBytes = v.memoryBytes;
      variants.push_back(var);
      for (size_t s = 0; s < v.programs.size(); ++s) {
        auto seg = zeroed<BundleSegment>();
        seg.program = placements[v.programs[s]].storedIndex;
        seg.sourceVariant = v.sourceVariants[s];
        segments.push_back(seg);
      }
      latencies.insert(latencies.end(), v.latencyMs.begin(), v.latencyMs.end());
    }
  }

  std::vector<SectionData> sections;
  sections.push_back({SectionKind::Strings, 1, strings.bytes()});
  sections.push_back(table(SectionKind::Tensors, pool.entries()));
  sections.push_back({SectionKind::TensorData, 1, pool.data()});
  sections.push_back(table(SectionKind::Programs, programs));
  sections.push_back(table(SectionKind::ProgramTensors, programTensors));
  sections.push_back({SectionKind::ProgramData, 1, programData});
  sections.push_back(table(SectionKind::Processors, processors));
  sections.push_back(table(SectionKind::Tasks, tasks));
  sections.push_back(table(SectionKind::TaskTensors, taskTensors));
  sections.push_back(table(SectionKind::SourceVariants, sourceVariants));
  sections.push_back(table(SectionKind::Variants, variants));
  sections.push_back(table(SectionKind::Segments, segments));
  sections.push_back(table(SectionKind::Latencies, latencies));
  std::vector<uint8_t> bytes = layOut(sections);

  if (options.verifyWithRuntime)
    if (llvm::Error err = verifyWithRuntime(bytes))
      return err;

  if (stats) {
    std::vector<uint64_t> storedBytes;
    for (const std::vector<uint8_t> &blob : store.blobs)
      storedBytes.push_back(blob.size());
    *stats = BundleStats();
    std::vector<uint32_t> all;
    for (uint32_t i = 0; i < placements.size(); ++i)
      all.push_back(i);
    stats->total = dedupStats(all, placements, storedBytes, pool);
    for (const BundleContents::Task &task : contents.tasks) {
      std::vector<uint32_t> used;
      for (const BundleContents::Variant &v : task.variants)
        used.insert(used.end(), v.programs.begin(), v.programs.end());
      std::sort(used.begin(), used.end());
      used.erase(std::unique(used.begin(), used.end()), used.end());
      stats->tasks.push_back(
          {task.name, dedupStats(used, placements, storedBytes, pool)});
    }
    stats->fileBytes = bytes.size();
    stats->tensorDataBytes = pool.data().size();
    stats->programDataBytes = programData.size();
  }
  return bytes;
}
