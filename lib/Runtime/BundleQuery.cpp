//===- BundleQuery.cpp - Reading an opened bundle's tables ----------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The C API's queries over a verified bundle: every index the caller passes
// is checked (SL_ERROR_INVALID_ARGUMENT naming the range), everything read
// from the bundle was checked at open, and strings point into the bundle's
// strings section (valid as long as the bundle).
//
//===----------------------------------------------------------------------===//

#include "Bundle.h"

namespace sparseloom {
namespace runtime {
namespace {

using namespace format;

sl_status checkIndex(const void *bundle, const void *out, size_t index,
                     size_t count, const char *what) {
  if (!bundle || !out)
    return setError(SL_ERROR_INVALID_ARGUMENT, "bundle or output is null");
  if (index >= count)
    return setError(SL_ERROR_INVALID_ARGUMENT,
                    "%s index %zu out of range (%zu %ss)", what, index, count,
                    what);
  return SL_OK;
}

sl_status checkVariant(const sl_bundle *b, const void *out, size_t task,
                       size_t variant) {
  if (sl_status s = checkIndex(b, out, task, b ? b->numTasks : 0, "task"))
    return s;
  return checkIndex(b, out, variant, b->tasks[task].numVariants, "variant");
}

void describeTaskTensor(const sl_bundle &b, const BundleTaskTensor &t,
                        sl_tensor_info &info) {
  info.name = b.stringAt(t.nameOffset);
  info.dtype = static_cast<sl_dtype>(t.dtype);
  info.rank = t.rank;
  uint64_t elements = 1;
  for (unsigned i = 0; i < SL_MAX_RANK; ++i) {
    info.dims[i] = i < t.rank ? t.dims[i] : 0;
    if (i < t.rank)
      elements *= uint64_t(t.dims[i]);
  }
  info.bytes = size_t(elements * dtypeSize(t.dtype));
}

} // namespace
} // namespace runtime
} // namespace sparseloom

using namespace sparseloom;
using namespace sparseloom::format;
using namespace sparseloom::runtime;

extern "C" {

sl_status sl_bundle_get_info(const sl_bundle *b, sl_bundle_info *out) {
  if (!b || !out)
    return setError(SL_ERROR_INVALID_ARGUMENT, "bundle or out_info is null");
  out->version_major = b->header->versionMajor;
  out->version_minor = b->header->versionMinor;
  out->total_bytes = b->header->totalSize;
  out->section_count = b->header->numSections;
  out->tensor_count = b->numTensors;
  out->program_count = b->numPrograms;
  out->processor_count = b->numProcessors;
  out->task_count = b->numTasks;
  out->variant_count = b->numVariants;
  out->tensor_bytes = b->tensorDataSize;
  out->program_bytes = b->programDataSize;
  uint64_t owned = sizeof(sl_bundle) + sizeof(sl_program *) * b->numPrograms;
  for (uint32_t i = 0; i < b->numPrograms; ++i) {
    sl_program_memory m{};
    sl_program_memory_info(b->programs[i], &m);
    owned += m.runtime_owned_bytes;
  }
  out->runtime_owned_bytes = owned;
  return SL_OK;
}

sl_status sl_bundle_section_info_at(const sl_bundle *b, size_t index,
                                    sl_bundle_section_info *out) {
  if (sl_status s =
          checkIndex(b, out, index, b ? b->header->numSections : 0, "section"))
    return s;
  const BundleSection &s = b->sections[index];
  const char *name = sectionKindName(s.kind);
  out->kind = s.kind;
  out->kind_name = name ? name : "unknown";
  out->offset = s.offset;
  out->bytes = s.size;
  out->count = s.count;
  out->crc32 = s.crc32;
  return SL_OK;
}

sl_status sl_bundle_tensor_info_at(const sl_bundle *b, size_t index,
                                   sl_bundle_tensor_info *out) {
  if (sl_status s = checkIndex(b, out, index, b ? b->numTensors : 0, "tensor"))
    return s;
  const BundleTensor &t = b->tensors[index];
  out->offset = t.offset;
  out->bytes = t.bytes;
  out->content_hash = t.contentHash;
  out->dtype = static_cast<sl_dtype>(t.dtype);
  out->encoding = encodingName(t.encoding);
  out->rank = t.rank;
  for (unsigned i = 0; i < SL_MAX_RANK; ++i)
    out->dims[i] = i < t.rank ? t.dims[i] : 0;
  return SL_OK;
}

sl_status sl_bundle_program_info_at(const sl_bundle *b, size_t index,
                                    sl_bundle_program_info *out) {
  if (sl_status s =
          checkIndex(b, out, index, b ? b->numPrograms : 0, "program"))
    return s;
  const BundleProgram &p = b->programEntries[index];
  out->program = b->programs[index];
  out->offset = p.offset;
  out->bytes = p.size;
  out->tensor_count = p.numTensors;
  uint64_t weights = 0;
  for (uint32_t k = 0; k < p.numTensors; ++k)
    weights += b->tensors[b->programTensors[p.firstTensor + k]].bytes;
  out->weight_bytes = weights;
  return SL_OK;
}

sl_status sl_bundle_program_tensor(const sl_bundle *b, size_t index, size_t k,
                                   size_t *out_tensor) {
  if (sl_status s =
          checkIndex(b, out_tensor, index, b ? b->numPrograms : 0, "program"))
    return s;
  const BundleProgram &p = b->programEntries[index];
  if (sl_status s = checkIndex(b, out_tensor, k, p.numTensors, "tensor"))
    return s;
  *out_tensor = b->programTensors[p.firstTensor + k];
  return SL_OK;
}

sl_status sl_bundle_processor_count(const sl_bundle *b, size_t *out_count) {
  if (!b || !out_count)
    return setError(SL_ERROR_INVALID_ARGUMENT, "bundle or out_count is null");
  *out_count = b->numProcessors;
  return SL_OK;
}

sl_status sl_bundle_processor_info(const sl_bundle *b, size_t index,
                                   sl_processor_info *out) {
  if (sl_status s =
          checkIndex(b, out, index, b ? b->numProcessors : 0, "processor"))
    return s;
  const BundleProcessor &p = b->processors[index];
  out->id = b->stringAt(p.idOffset);
  out->kind = static_cast<sl_processor_kind>(p.kind);
  out->kind_name = processorKindName(p.kind);
  out->threads = p.threads;
  out->dense_gflops = p.denseGflops;
  out->memory_gbps = p.memoryGBps;
  out->invocation_overhead_ms = p.invocationOverheadMs;
  out->memory_capacity_bytes = p.memoryCapacityBytes;
  return SL_OK;
}

sl_status sl_bundle_task_count(const sl_bundle *b, size_t *out_count) {
  if (!b || !out_count)
    return setError(SL_ERROR_INVALID_ARGUMENT, "bundle or out_count is null");
  *out_count = b->numTasks;
  return SL_OK;
}

sl_status sl_bundle_task_info(const sl_bundle *b, size_t task,
                              sl_task_info *out) {
  if (sl_status s = checkIndex(b, out, task, b ? b->numTasks : 0, "task"))
    return s;
  const BundleTask &t = b->tasks[task];
  out->name = b->stringAt(t.nameOffset);
  out->input_count = t.numInputs;
  out->output_count = t.numOutputs;
  out->variant_count = t.numVariants;
  out->source_variant_count = t.numSources;
  out->class_count = t.numClasses;
  out->latency_deadline_ms = t.latencyDeadlineMs;
  out->accuracy_floor = t.accuracyFloor;
  out->request_rate_hz = t.requestRateHz;
  return SL_OK;
}

sl_status sl_bundle_task_input(const sl_bundle *b, size_t task, size_t index,
                               sl_tensor_info *out) {
  if (sl_status s = checkIndex(b, out, task, b ? b->numTasks : 0, "task"))
    return s;
  const BundleTask &t = b->tasks[task];
  if (sl_status s = checkIndex(b, out, index, t.numInputs, "input"))
    return s;
  describeTaskTensor(*b, b->taskTensors[t.firstTensor + index], *out);
  return SL_OK;
}

sl_status sl_bundle_task_output(const sl_bundle *b, size_t task, size_t index,
                                sl_tensor_info *out) {
  if (sl_status s = checkIndex(b, out, task, b ? b->numTasks : 0, "task"))
    return s;
  const BundleTask &t = b->tasks[task];
  if (sl_status s = checkIndex(b, out, index, t.numOutputs, "output"))
    return s;
  describeTaskTensor(*b, b->taskTensors[t.firstTensor + t.numInputs + index],
                     *out);
  return SL_OK;
}

sl_status sl_bundle_task_source_variant(const sl_bundle *b, size_t task,
                                        size_t index, const char **out_name) {
  if (sl_status s = checkIndex(b, out_name, task, b ? b->numTasks : 0, "task"))
    return s;
  const BundleTask &t = b->tasks[task];
  if (sl_status s =
          checkIndex(b, out_name, index, t.numSources, "source variant"))
    return s;
  *out_name = b->stringAt(b->sourceVariants[t.firstSource + index]);
  return SL_OK;
}

sl_status sl_bundle_variant_info(const sl_bundle *b, size_t task,
                                 size_t variant, sl_variant_info *out) {
  if (sl_status s = checkVariant(b, out, task, variant))
    return s;
  const BundleVariant &v = b->variant(uint32_t(task), uint32_t(variant));
  out->id = v.id;
  out->name = b->stringAt(v.nameOffset);
  out->segment_count = v.numSegments;
  out->estimated_accuracy = v.estimatedAccuracy;
  out->measured_accuracy = v.measuredAccuracy;
  out->memory_bytes = v.memoryBytes;
  return SL_OK;
}

sl_status sl_bundle_variant_segment(const sl_bundle *b, size_t task,
                                    size_t variant, size_t segment,
                                    size_t *out_program,
                                    size_t *out_source_variant) {
  if (sl_status s = checkVariant(b, out_program, task, variant))
    return s;
  const BundleVariant &v = b->variant(uint32_t(task), uint32_t(variant));
  if (sl_status s =
          checkIndex(b, out_program, segment, v.numSegments, "segment"))
    return s;
  const BundleSegment &seg = b->segments[v.firstSegment + segment];
  *out_program = seg.program;
  if (out_source_variant)
    *out_source_variant = seg.sourceVariant;
  return SL_OK;
}

sl_status sl_bundle_variant_latency_ms(const sl_bundle *b, size_t task,
                                       size_t variant, size_t processor,
                                       double *out_ms) {
  if (sl_status s = checkVariant(b, out_ms, task, variant))
    return s;
  if (sl_status s =
          checkIndex(b, out_ms, processor, b->numProcessors, "processor"))
    return s;
  *out_ms = b->latency(b->tasks[task].firstVariant + uint32_t(variant),
                       uint32_t(processor));
  return SL_OK;
}

} // extern "C"
