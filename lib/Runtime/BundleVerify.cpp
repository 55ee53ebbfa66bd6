//===- BundleVerify.cpp - Checking every table entry of a bundle ----------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// After BundleOpen.cpp has verified the frame, every table entry is checked
// here before anything reads through it: string offsets inside the strings
// blob, tensors inside the tensor data (64-byte aligned, in ascending order
// without overlap, known dtype and encoding, the byte count a Dense tensor's
// shape needs, the content hash), programs inside the program data with
// their tensor lists in range, then every program loaded by the program
// loader with its weights bound to the pool, then processors, tasks,
// variants, segments and latencies, down to every variant's programs
// fitting together and fitting the task. Messages name the table and entry
// ("variant 3 'd+s90' of task 0 'digits': segment 1: ...").
//
//===----------------------------------------------------------------------===//

#include "BundleVerify.h"

#include <cmath>
#include <cstdio>
#include <cstring>

namespace sparseloom {
namespace runtime {

using namespace format;

sl_status bundleInvalid(const char *format, ...) {
  va_list args;
  va_start(args, format);
  setErrorV(SL_ERROR_INVALID_BUNDLE, format, args);
  va_end(args);
  return SL_ERROR_INVALID_BUNDLE;
}

namespace {

constexpr uint64_t kAlign = kSectionAlignment;

sl_status checkString(const sl_bundle &b, uint32_t offset, const char *what,
                      uint64_t index) {
  if (offset < b.stringsSize)
    return SL_OK;
  return bundleInvalid(
      "%s %llu: string offset %u is outside the %llu-byte strings "
      "section",
      what, (unsigned long long)index, offset,
      (unsigned long long)b.stringsSize);
}

/// Known dtype, rank <= 8, dims >= 0; the element count in `elements`
/// (-1 on overflow, reported as an error).
sl_status checkShape(DType dtype, uint8_t rank, const int64_t *dims,
                     int64_t &elements) {
  if (dtypeSize(dtype) == 0)
    return bundleInvalid("unknown dtype %u", unsigned(dtype));
  if (rank > kMaxRank)
    return bundleInvalid("rank %u exceeds %u", unsigned(rank), kMaxRank);
  elements = 1;
  for (unsigned d = 0; d < rank; ++d) {
    if (dims[d] < 0)
      return bundleInvalid("dim %u is negative (%lld)", d, (long long)dims[d]);
    // Same bound as the program loader: 2^48 elements.
    if (dims[d] != 0 && elements > (int64_t(1) << 48) / dims[d])
      return bundleInvalid("element count overflows");
    elements *= dims[d];
  }
  return SL_OK;
}

sl_status verifyTensorEntry(const sl_bundle &b, uint32_t i) {
  const BundleTensor &t = b.tensors[i];
  if (t.offset % kAlign != 0 || !inBounds(t.offset, t.bytes, b.tensorDataSize))
    return bundleInvalid(
        "[%llu, +%llu) must be %llu-byte aligned inside the "
        "%llu-byte tensor data",
        (unsigned long long)t.offset, (unsigned long long)t.bytes,
        (unsigned long long)kAlign, (unsigned long long)b.tensorDataSize);
  if (i > 0) {
    const BundleTensor &prev = b.tensors[i - 1];
    // Ascending offsets let the loader find a program's weight by binary
    // search; no overlap means no tensor is two things at once.
    if (t.offset < prev.offset + prev.bytes || t.offset <= prev.offset)
      return bundleInvalid("starts at %llu, inside or before tensor %u [%llu, "
                           "+%llu) (the table must be sorted by offset without "
                           "overlap)",
                           (unsigned long long)t.offset, i - 1,
                           (unsigned long long)prev.offset,
                           (unsigned long long)prev.bytes);
  }
  int64_t elements = 0;
  if (sl_status s = checkShape(t.dtype, t.rank, t.dims, elements))
    return s;
  switch (t.encoding) {
  case Encoding::Dense:
    if (t.bytes != uint64_t(elements) * dtypeSize(t.dtype))
      return bundleInvalid(
          "dense tensor stores %llu bytes but its shape and dtype "
          "need %llu",
          (unsigned long long)t.bytes,
          (unsigned long long)(uint64_t(elements) * dtypeSize(t.dtype)));
    break;
  case Encoding::Csr:
  case Encoding::BlockSparse:
  case Encoding::PackedPanels:
    // The encoded layout is checked by the program loader, against the
    // weight descriptor that names this tensor (every tensor has one).
    if (t.dtype != DType::F32)
      return bundleInvalid("encoded tensors must be float32");
    break;
  default:
    return bundleInvalid("unknown encoding %u", unsigned(t.encoding));
  }
  uint64_t hash = fnv1a64(b.tensorData + t.offset, t.bytes);
  if (hash != t.contentHash)
    return bundleInvalid("content hash is 0x%016llx, the table says 0x%016llx",
                         (unsigned long long)hash,
                         (unsigned long long)t.contentHash);
  return SL_OK;
}

sl_status verifyProgramEntry(const sl_bundle &b, uint32_t i) {
  const BundleProgram &p = b.programEntries[i];
  if (p.offset % kAlign != 0 || p.size < sizeof(ProgramHeader) ||
      !inBounds(p.offset, p.size, b.programDataSize))
    return bundleInvalid("[%llu, +%llu) must be %llu-byte aligned inside the "
                         "%llu-byte program data and hold a program header",
                         (unsigned long long)p.offset,
                         (unsigned long long)p.size, (unsigned long long)kAlign,
                         (unsigned long long)b.programDataSize);
  if (i > 0) {
    const BundleProgram &prev = b.programEntries[i - 1];
    if (p.offset < prev.offset + prev.size)
      return bundleInvalid("starts at %llu, inside or before program %u (the "
                           "table must be sorted by offset without overlap)",
                           (unsigned long long)p.offset, i - 1);
  }
  ProgramHeader h;
  std::memcpy(&h, b.programData + p.offset, sizeof(h));
  if (h.totalSize != p.size)
    return bundleInvalid("the table says %llu bytes, the program's header %llu",
                         (unsigned long long)p.size,
                         (unsigned long long)h.totalSize);
  if (!inBounds(p.firstTensor, p.numTensors, b.numProgramTensors))
    return bundleInvalid("tensor list [%u, +%u) lies outside the %u-entry "
                         "program-tensors table",
                         p.firstTensor, p.numTensors, b.numProgramTensors);
  const uint32_t *refs = b.programTensors + p.firstTensor;
  for (uint32_t k = 0; k < p.numTensors; ++k) {
    if (refs[k] >= b.numTensors)
      return bundleInvalid(
          "tensor list entry %u names tensor %u, but there are %u", k, refs[k],
          b.numTensors);
    if (k > 0 && refs[k] <= refs[k - 1])
      return bundleInvalid("tensor list is not strictly ascending at entry %u",
                           k);
  }
  return SL_OK;
}

/// "variant 3 'name' of task 0 'digits'" for messages.
void variantWhere(const sl_bundle &b, uint32_t task, uint32_t v, char *buffer,
                  size_t size) {
  const BundleVariant &var = b.variants[v];
  std::snprintf(buffer, size, "variant %u '%s' of task %u '%s'",
                v - b.tasks[task].firstVariant, b.stringAt(var.nameOffset),
                task, b.stringAt(b.tasks[task].nameOffset));
}

bool sameShape(DType dtypeA, uint8_t rankA, const int64_t *dimsA, DType dtypeB,
               uint8_t rankB, const int64_t *dimsB) {
  if (dtypeA != dtypeB || rankA != rankB)
    return false;
  for (unsigned d = 0; d < rankA; ++d)
    if (dimsA[d] != dimsB[d])
      return false;
  return true;
}

/// The program's `index`-th input (or output) against the task's.
bool fitsTaskTensor(const sl_program &p, uint32_t tensorId,
                    const BundleTaskTensor &t) {
  const TensorDesc &d = p.tensors[tensorId];
  return sameShape(d.dtype, d.rank, d.dims, t.dtype, t.rank, t.dims);
}

sl_status verifyVariant(const sl_bundle &b, uint32_t task, uint32_t v) {
  const BundleTask &t = b.tasks[task];
  const BundleVariant &var = b.variants[v];
  if (var.numSegments == 0 ||
      !inBounds(var.firstSegment, var.numSegments, b.numSegments))
    return bundleInvalid(
        "segments [%u, +%u) must be at least one and lie inside "
        "the %u-entry segments table",
        var.firstSegment, var.numSegments, b.numSegments);
  if (!(var.estimatedAccuracy >= 0 && var.estimatedAccuracy <= 1))
    return bundleInvalid("estimated accuracy %g is not in [0, 1]",
                         var.estimatedAccuracy);
  if (!std::isnan(var.measuredAccuracy) &&
      !(var.measuredAccuracy >= 0 && var.measuredAccuracy <= 1))
    return bundleInvalid("measured accuracy %g is neither NaN nor in [0, 1]",
                         var.measuredAccuracy);
  for (uint32_t other = t.firstVariant; other < v; ++other)
    if (b.variants[other].id == var.id)
      return bundleInvalid("id %u is also the id of variant %u", var.id,
                           other - t.firstVariant);
  for (uint32_t p = 0; p < b.numProcessors; ++p) {
    double ms = b.latency(v, p);
    // +inf: cannot run on that processor.
    if (std::isnan(ms) || ms < 0)
      return bundleInvalid(
          "latency %g ms on processor %u is not >= 0 (or +inf)", ms, p);
  }
  const BundleSegment *segs = b.segments + var.firstSegment;
  for (uint32_t s = 0; s < var.numSegments; ++s) {
    if (segs[s].program >= b.numPrograms)
      return bundleInvalid(
          "segment %u: program %u does not exist (%u programs)", s,
          segs[s].program, b.numPrograms);
    if (segs[s].sourceVariant >= t.numSources)
      return bundleInvalid("segment %u: source variant %u does not exist (the "
                           "task has %u)",
                           s, segs[s].sourceVariant, t.numSources);
  }
  // The programs must chain as sl_session_create will require, and take
  // and give what the task declares.
  const sl_program &first = *b.programs[segs[0].program];
  const sl_program &last = *b.programs[segs[var.numSegments - 1].program];
  const BundleTaskTensor *io = b.taskTensors + t.firstTensor;
  if (first.numInputs() != t.numInputs || last.numOutputs() != t.numOutputs)
    return bundleInvalid(
        "its programs take %u inputs and give %u outputs, the task "
        "declares %u and %u",
        first.numInputs(), last.numOutputs(), t.numInputs, t.numOutputs);
  for (uint32_t k = 0; k < t.numInputs; ++k)
    if (!fitsTaskTensor(first, first.inputId(k), io[k]))
      return bundleInvalid(
          "input %u of program %u differs from the task's input "
          "'%s' (dtype or shape)",
          k, segs[0].program, b.stringAt(io[k].nameOffset));
  for (uint32_t k = 0; k < t.numOutputs; ++k)
    if (!fitsTaskTensor(last, last.outputId(k), io[t.numInputs + k]))
      return bundleInvalid(
          "output %u of program %u differs from the task's output "
          "'%s' (dtype or shape)",
          k, segs[var.numSegments - 1].program,
          b.stringAt(io[t.numInputs + k].nameOffset));
  for (uint32_t s = 0; s + 1 < var.numSegments; ++s) {
    const sl_program &from = *b.programs[segs[s].program];
    const sl_program &to = *b.programs[segs[s + 1].program];
    bool fits = from.numOutputs() == to.numInputs();
    for (uint32_t k = 0; fits && k < to.numInputs(); ++k) {
      const TensorDesc &a = from.tensors[from.outputId(k)];
      const TensorDesc &c = to.tensors[to.inputId(k)];
      fits = sameShape(a.dtype, a.rank, a.dims, c.dtype, c.rank, c.dims);
    }
    if (!fits)
      return bundleInvalid(
          "the outputs of segment %u (program %u) do not match "
          "the inputs of segment %u (program %u)",
          s, segs[s].program, s + 1, segs[s + 1].program);
  }
  return SL_OK;
}

sl_status verifyTask(const sl_bundle &b, uint32_t i) {
  const BundleTask &t = b.tasks[i];
  if (b.stringAt(t.nameOffset)[0] == '\0')
    return bundleInvalid("has no name");
  for (uint32_t other = 0; other < i; ++other)
    if (std::strcmp(b.stringAt(b.tasks[other].nameOffset),
                    b.stringAt(t.nameOffset)) == 0)
      return bundleInvalid("its name is also task %u's", other);
  if (t.numInputs == 0 || t.numOutputs == 0 ||
      !inBounds(t.firstTensor, uint64_t(t.numInputs) + t.numOutputs,
                b.numTaskTensors))
    return bundleInvalid(
        "inputs and outputs [%u, +%u+%u) must be at least one of "
        "each and lie inside the %u-entry task-tensors table",
        t.firstTensor, t.numInputs, t.numOutputs, b.numTaskTensors);
  if (t.numSources == 0 ||
      !inBounds(t.firstSource, t.numSources, b.numSourceVariants))
    return bundleInvalid(
        "source variants [%u, +%u) must be at least one and lie "
        "inside the %u-entry source-variants table",
        t.firstSource, t.numSources, b.numSourceVariants);
  if (t.numVariants == 0 ||
      !inBounds(t.firstVariant, t.numVariants, b.numVariants))
    return bundleInvalid(
        "variants [%u, +%u) must be at least one and lie inside "
        "the %u-entry variants table",
        t.firstVariant, t.numVariants, b.numVariants);
  if (!(t.latencyDeadlineMs > 0))
    return bundleInvalid("default latency deadline %g ms is not > 0",
                         t.latencyDeadlineMs);
  if (!(t.accuracyFloor >= 0 && t.accuracyFloor <= 1))
    return bundleInvalid("default accuracy floor %g is not in [0, 1]",
                         t.accuracyFloor);
  if (!(t.requestRateHz >= 0) || std::isinf(t.requestRateHz))
    return bundleInvalid("request rate %g Hz is not finite and >= 0",
                         t.requestRateHz);
  return SL_OK;
}

sl_status verifyProcessor(const sl_bundle &b, uint32_t i) {
  const BundleProcessor &p = b.processors[i];
  if (sl_status s = checkString(b, p.idOffset, "processor", i))
    return s;
  const char *id = b.stringAt(p.idOffset);
  if (id[0] == '\0')
    return bundleInvalid("processor %u has no id", i);
  for (uint32_t other = 0; other < i; ++other)
    if (std::strcmp(b.stringAt(b.processors[other].idOffset), id) == 0)
      return bundleInvalid("processor %u '%s': id also names processor %u", i,
                           id, other);
  if (!processorKindName(p.kind))
    return bundleInvalid("processor %u '%s': unknown kind %u", i, id,
                         unsigned(p.kind));
  if (p.threads == 0)
    return bundleInvalid("processor %u '%s': 0 threads", i, id);
  if (!(p.denseGflops > 0) || std::isinf(p.denseGflops) ||
      !(p.memoryGBps > 0) || std::isinf(p.memoryGBps) ||
      !(p.invocationOverheadMs >= 0) || std::isinf(p.invocationOverheadMs))
    return bundleInvalid("processor %u '%s': cost figures must be finite, "
                         "throughput and bandwidth > 0, overhead >= 0",
                         i, id);
  return SL_OK;
}

} // namespace

sl_status verifyStorageTables(sl_bundle &b) {
  if (b.stringsSize == 0 || b.strings[0] != '\0' ||
      b.strings[b.stringsSize - 1] != '\0')
    return bundleInvalid("the strings section must start with the empty string "
                         "and end with a NUL byte");
  for (uint32_t i = 0; i < b.numTensors; ++i)
    if (sl_status s = verifyTensorEntry(b, i)) {
      prefixError("tensor %u", i);
      return s;
    }
  for (uint32_t i = 0; i < b.numPrograms; ++i)
    if (sl_status s = verifyProgramEntry(b, i)) {
      prefixError("program %u", i);
      return s;
    }
  return SL_OK;
}

sl_status loadBundlePrograms(sl_bundle &b) {
  if (b.numPrograms == 0)
    return bundleInvalid("the bundle has no programs");
  size_t bytes = sizeof(sl_program *) * size_t(b.numPrograms);
  b.programs = static_cast<sl_program **>(
      allocateOrFail(b.allocator, bytes, 64, "bundle program table"));
  if (!b.programs)
    return SL_ERROR_OUT_OF_MEMORY;
  std::memset(b.programs, 0, bytes);

  sl_load_options options = {SL_LOAD_IN_PLACE, sl_builtin_op_resolver()};
  for (uint32_t i = 0; i < b.numPrograms; ++i) {
    const BundleProgram &entry = b.programEntries[i];
    ExternalWeights external;
    external.data = b.tensorData;
    external.size = b.tensorDataSize;
    external.tensors = b.tensors;
    external.numTensors = b.numTensors;
    external.refs = b.programTensors + entry.firstTensor;
    external.numRefs = entry.numTensors;
    if (sl_status s = loadProgramWithExternalWeights(
            b.programData + entry.offset, entry.size, &options, &b.allocator,
            external, &b.programs[i])) {
      prefixError("program %u", i);
      return s;
    }
  }

  // A pooled tensor no program uses would escape the encoding checks the
  // loader makes per weight (and is dead weight): reject it. Each program's
  // list is ascending, so one merge-like pass per program marks them.
  if (b.numTensors != 0) {
    auto *used = static_cast<uint8_t *>(
        allocateOrFail(b.allocator, b.numTensors, 64, "tensor use marks"));
    if (!used)
      return SL_ERROR_OUT_OF_MEMORY;
    std::memset(used, 0, b.numTensors);
    for (uint32_t i = 0; i < b.numPrograms; ++i) {
      const BundleProgram &entry = b.programEntries[i];
      for (uint32_t k = 0; k < entry.numTensors; ++k)
        used[b.programTensors[entry.firstTensor + k]] = 1;
    }
    uint32_t unused = b.numTensors;
    for (uint32_t i = 0; i < b.numTensors && unused == b.numTensors; ++i)
      if (!used[i])
        unused = i;
    b.allocator.free(used, b.allocator.user);
    if (unused != b.numTensors)
      return bundleInvalid("tensor %u is used by no program", unused);
  }
  return SL_OK;
}

sl_status verifyTaskTables(const sl_bundle &b) {
  for (uint32_t i = 0; i < b.numProcessors; ++i)
    if (sl_status s = verifyProcessor(b, i))
      return s;
  if (b.numProcessors == 0)
    return bundleInvalid("the bundle has no processors");
  for (uint32_t i = 0; i < b.numTaskTensors; ++i) {
    const BundleTaskTensor &t = b.taskTensors[i];
    if (sl_status s = checkString(b, t.nameOffset, "task tensor", i))
      return s;
    int64_t elements = 0;
    if (sl_status s = checkShape(t.dtype, t.rank, t.dims, elements)) {
      prefixError("task tensor %u '%s'", i, b.stringAt(t.nameOffset));
      return s;
    }
  }
  for (uint32_t i = 0; i < b.numSourceVariants; ++i)
    if (sl_status s = checkString(b, b.sourceVariants[i], "source variant", i))
      return s;
  for (uint32_t i = 0; i < b.numVariants; ++i) {
    const BundleVariant &v = b.variants[i];
    if (sl_status s = checkString(b, v.nameOffset, "variant", i))
      return s;
    // Each variant belongs to the task it names and lies in that task's
    // range; with every task's range checked below, the ranges partition
    // the table.
    if (v.task >= b.numTasks)
      return bundleInvalid("variant %u names task %u, but there are %u", i,
                           v.task, b.numTasks);
  }
  if (b.numTasks == 0)
    return bundleInvalid("the bundle has no tasks");
  for (uint32_t i = 0; i < b.numTasks; ++i) {
    const BundleTask &t = b.tasks[i];
    if (sl_status s = checkString(b, t.nameOffset, "task", i))
      return s;
    if (sl_status s = verifyTask(b, i)) {
      prefixError("task %u '%s'", i, b.stringAt(t.nameOffset));
      return s;
    }
  }
  for (uint32_t i = 0; i < b.numVariants; ++i) {
    const BundleVariant &v = b.variants[i];
    const BundleTask &t = b.tasks[v.task];
    if (i < t.firstVariant || i - t.firstVariant >= t.numVariants)
      return bundleInvalid("variant %u names task %u '%s', whose variants are "
                           "[%u, +%u)",
                           i, v.task, b.stringAt(t.nameOffset), t.firstVariant,
                           t.numVariants);
  }
  for (uint32_t task = 0; task < b.numTasks; ++task) {
    const BundleTask &t = b.tasks[task];
    for (uint32_t v = t.firstVariant; v < t.firstVariant + t.numVariants; ++v) {
      if (b.variants[v].task != task)
        return bundleInvalid(
            "variant %u lies in task %u's range but names task %u", v, task,
            b.variants[v].task);
      if (sl_status s = verifyVariant(b, task, v)) {
        char where[256];
        variantWhere(b, task, v, where, sizeof(where));
        prefixError("%s", where);
        return s;
      }
    }
  }
  return SL_OK;
}

const char *encodingName(Encoding encoding) {
  switch (encoding) {
  case Encoding::Dense:
    return "dense";
  case Encoding::Csr:
    return "csr";
  case Encoding::BlockSparse:
    return "block-sparse";
  case Encoding::PackedPanels:
    return "packed";
  case Encoding::PaddedPlanes:
    return "padded-planes";
  }
  return nullptr;
}

const char *processorKindName(ProcessorKind kind) {
  switch (kind) {
  case ProcessorKind::Cpu:
    return "cpu";
  case ProcessorKind::Gpu:
    return "gpu";
  case ProcessorKind::Npu:
    return "npu";
  case ProcessorKind::Dsp:
    return "dsp";
  }
  return nullptr;
}

} // namespace runtime
} // namespace sparseloom
