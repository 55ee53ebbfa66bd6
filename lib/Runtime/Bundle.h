//===- Bundle.h - Opened bundles (internal) ---------------------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The struct behind the C API's sl_bundle handle, and the loader entry point
// for programs whose weights live in a bundle's tensor pool. Nothing here is
// public: applications see bundles only through sparseloom_runtime.h.
//
// An opened bundle points into the caller's bytes for every table (the
// bundle is read in place, typically from an mmap'ed file); the only memory
// it owns is the bundle object, one sl_program per stored program (each
// loaded in place from the ProgramData section) and the array of them.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_LIB_RUNTIME_BUNDLE_H
#define SPARSELOOM_LIB_RUNTIME_BUNDLE_H

#include "Program.h"

#include "sparseloom/BundleFormat.h"

namespace sparseloom {
namespace runtime {

/// Where a bundled program's weights are: the TensorData section, the
/// bundle's tensor table, and the program's own slice of ProgramTensors
/// (tensor indices, ascending). The bundle verifier has checked every table
/// entry against the section bounds before a program sees them.
struct ExternalWeights {
  const uint8_t *data = nullptr; // TensorData, 64-byte aligned
  uint64_t size = 0;
  const format::BundleTensor *tensors = nullptr;
  uint64_t numTensors = 0;
  const uint32_t *refs = nullptr;
  uint32_t numRefs = 0;
};

/// loadProgram for a program with kProgramFlagExternalWeights: every weight
/// must be exactly one of `external`'s tensors (offset, bytes, dtype,
/// encoding, dims), every listed tensor must be used, and kernels read the
/// weights from `external->data` in place. `options` must request
/// SL_LOAD_IN_PLACE (the program lives in the bundle too).
sl_status loadProgramWithExternalWeights(const void *bytes, size_t size,
                                         const sl_load_options *options,
                                         const sl_allocator *allocator,
                                         const ExternalWeights &external,
                                         sl_program **out);

/// Human-readable names of enum values in the bundle (null when unknown).
const char *sectionKindName(uint32_t kind);
const char *encodingName(format::Encoding encoding);
const char *processorKindName(format::ProcessorKind kind);

} // namespace runtime
} // namespace sparseloom

/// A verified bundle (BundleOpen.cpp checks everything before it exists).
struct sl_bundle {
  sl_allocator allocator{};
  const uint8_t *bytes = nullptr; // the caller's, read in place
  const sparseloom::format::BundleHeader *header = nullptr;
  const sparseloom::format::BundleSection *sections = nullptr;
  /// The section of each kind (index = kind); null for an unknown kind.
  const sparseloom::format::BundleSection
      *byKind[sparseloom::format::kLastSectionKind + 1] = {};

  const char *strings = nullptr;
  uint64_t stringsSize = 0;
  const sparseloom::format::BundleTensor *tensors = nullptr;
  uint32_t numTensors = 0;
  const uint8_t *tensorData = nullptr;
  uint64_t tensorDataSize = 0;
  const sparseloom::format::BundleProgram *programEntries = nullptr;
  uint32_t numPrograms = 0;
  const uint32_t *programTensors = nullptr;
  uint32_t numProgramTensors = 0;
  const uint8_t *programData = nullptr;
  uint64_t programDataSize = 0;
  const sparseloom::format::BundleProcessor *processors = nullptr;
  uint32_t numProcessors = 0;
  const sparseloom::format::BundleTask *tasks = nullptr;
  uint32_t numTasks = 0;
  const sparseloom::format::BundleTaskTensor *taskTensors = nullptr;
  uint32_t numTaskTensors = 0;
  const uint32_t *sourceVariants = nullptr;
  uint32_t numSourceVariants = 0;
  const sparseloom::format::BundleVariant *variants = nullptr;
  uint32_t numVariants = 0;
  const sparseloom::format::BundleSegment *segments = nullptr;
  uint32_t numSegments = 0;
  const double *latencies = nullptr; // numVariants x numProcessors

  /// numPrograms loaded programs (owned), in table order.
  sl_program **programs = nullptr;

  /// A verified string (offset checked at open).
  const char *stringAt(uint32_t offset) const { return strings + offset; }
  const sparseloom::format::BundleVariant &variant(uint32_t task,
                                                   uint32_t index) const {
    return variants[tasks[task].firstVariant + index];
  }
  double latency(uint32_t globalVariant, uint32_t processor) const {
    return latencies[uint64_t(globalVariant) * numProcessors + processor];
  }
};

#endif // SPARSELOOM_LIB_RUNTIME_BUNDLE_H
