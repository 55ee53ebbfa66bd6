//===- BundleFormat.h - Binary layout of a deployable bundle ----*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// A bundle (`app.loom`) is everything an application deploys in one file:
// the deduplicated weight tensors of every subgraph program, the programs
// themselves (ProgramFormat.h blobs whose weights live in the bundle's tensor
// pool instead of inside each program), the stitched-variant table of every
// task, the processors it was compiled for and the tasks' SLO defaults. The
// compiler writes it (lib/Bundle), the runtime reads it in place, typically
// mmap'ed (lib/Runtime/Bundle*.cpp), so the layout is stated here once.
//
// Layout (all integers little-endian, every offset relative to the start of
// the file, every section 64-byte aligned, every gap between sections zero):
//
//   BundleHeader                       magic, version, sizes, meta CRC-32
//   BundleSection[numSections]         the section table, right after it
//   sections, in table order           each with its own CRC-32
//
// Sections hold either a table of fixed-size entries (`entrySize` is the
// struct's size) or a blob (`entrySize` 1). Tables index each other with
// uint32 indices and name things by offsets into the Strings section.
// docs/BundleFormat.md specifies every field and every check the runtime's
// verifier makes; nothing in a bundle is trusted before those checks pass.
//
// Rules (formats/README.md): standard headers only, fixed-width fields,
// explicit padding, a static_assert on every struct size.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_FORMATS_BUNDLEFORMAT_H
#define SPARSELOOM_FORMATS_BUNDLEFORMAT_H

#include "sparseloom/ProgramFormat.h"

#include <cstddef>
#include <cstdint>

namespace sparseloom {
namespace format {

constexpr char kBundleMagic[8] = {'S', 'L', 'B', 'U', 'N', 'D', 'L', 'E'};
/// A reader accepts an equal major version and any minor version. Minor
/// versions only add fields in reserved space, new section kinds (which an
/// older reader skips after checking their bounds and CRC) or new enum
/// values (which an older reader rejects).
constexpr uint16_t kBundleVersionMajor = 1;
constexpr uint16_t kBundleVersionMinor = 0;
/// A sanity bound on the section table (1.0 writes 13 sections).
constexpr uint32_t kBundleMaxSections = 64;

enum class SectionKind : uint32_t {
  /// Blob: NUL-terminated UTF-8 strings; offset 0 is the empty string.
  Strings = 1,
  /// Table: BundleTensor, sorted by offset.
  Tensors = 2,
  /// Blob: every tensor's bytes, each 64-byte aligned.
  TensorData = 3,
  /// Table: BundleProgram, sorted by offset.
  Programs = 4,
  /// Table: uint32_t tensor indices, each program's slice ascending.
  ProgramTensors = 5,
  /// Blob: every program blob, each 64-byte aligned.
  ProgramData = 6,
  /// Table: BundleProcessor.
  Processors = 7,
  /// Table: BundleTask.
  Tasks = 8,
  /// Table: BundleTaskTensor (each task's inputs, then its outputs).
  TaskTensors = 9,
  /// Table: uint32_t string offsets, each task's source variant names.
  SourceVariants = 10,
  /// Table: BundleVariant, grouped by task.
  Variants = 11,
  /// Table: BundleSegment, each variant's segments in execution order.
  Segments = 12,
  /// Table: double, numProcessors latencies (ms) per variant, row-major.
  Latencies = 13,
};
/// Every kind above is required exactly once in a 1.0 bundle.
constexpr uint32_t kFirstSectionKind = 1;
constexpr uint32_t kLastSectionKind = 13;

enum class ProcessorKind : uint8_t {
  Cpu = 0,
  Gpu = 1,
  Npu = 2,
  Dsp = 3,
};

// --- Header and section table
// -------------------------------------------------

struct BundleHeader {
  char magic[8];
  uint16_t versionMajor;
  uint16_t versionMinor;
  uint32_t headerSize; // sizeof(BundleHeader) when written; multiple of 64
  /// CRC-32 (IEEE, as zlib) of the header with this field left out (bytes
  /// [0, 16) then [20, headerSize)), continued over the section table.
  uint32_t metaCrc32;
  uint32_t flags;     // none defined in 1.0; a reader rejects unknown bits
  uint64_t totalSize; // bytes of the whole file, a multiple of 64
  uint64_t sectionTableOffset; // == headerSize
  uint32_t numSections;
  uint32_t sectionEntrySize; // sizeof(BundleSection)
  uint8_t reserved[16];
};
static_assert(sizeof(BundleHeader) == 64, "BundleHeader layout changed");

struct BundleSection {
  uint32_t kind;      // SectionKind
  uint32_t entrySize; // bytes per entry for a table, 1 for a blob
  uint64_t offset;    // 64-byte aligned, after the section table
  uint64_t size;      // bytes == count * entrySize
  uint64_t count;     // entries
  uint32_t crc32;     // CRC-32 of [offset, offset + size)
  uint32_t reserved;
};
static_assert(sizeof(BundleSection) == 40, "BundleSection layout changed");

// --- Tensors and programs
// -----------------------------------------------------

/// One deduplicated weight tensor, encoded exactly as a program stores it
/// (ProgramFormat.h: Dense, Csr, BlockSparse, PackedPanels).
struct BundleTensor {
  uint64_t offset;      // in TensorData, 64-byte aligned
  uint64_t bytes;       // storage bytes at offset
  uint64_t contentHash; // fnv1a64 of the bytes
  DType dtype;
  Encoding encoding;
  uint8_t rank; // <= kMaxRank
  uint8_t reserved[5];
  int64_t dims[kMaxRank];
};
static_assert(sizeof(BundleTensor) == 96, "BundleTensor layout changed");

/// One deduplicated program. Its blob has kProgramFlagExternalWeights set:
/// each weight TensorDesc's `offset` is a BundleTensor's offset in
/// TensorData (and `bytes`, dtype, encoding and dims equal that entry's).
struct BundleProgram {
  uint64_t offset;      // in ProgramData, 64-byte aligned
  uint64_t size;        // the blob's totalSize
  uint32_t firstTensor; // ProgramTensors[firstTensor, +numTensors)
  uint32_t numTensors;  // the distinct tensors its weights use
  uint64_t reserved;
};
static_assert(sizeof(BundleProgram) == 32, "BundleProgram layout changed");

// --- Processors, tasks, variants
// ----------------------------------------------

struct BundleProcessor {
  uint32_t idOffset; // Strings: "cpu.big", "gpu", ...
  ProcessorKind kind;
  uint8_t reserved0[3];
  uint32_t threads; // >= 1
  uint32_t reserved1;
  double denseGflops;           // sustained dense f32 throughput, > 0
  double memoryGBps;            // sustained memory bandwidth, > 0
  double invocationOverheadMs;  // per segment invocation, >= 0
  uint64_t memoryCapacityBytes; // 0: unknown / unlimited
};
static_assert(sizeof(BundleProcessor) == 48, "BundleProcessor layout changed");

struct BundleTask {
  uint32_t nameOffset;
  uint32_t numClasses;  // 0 when not a classifier
  uint32_t firstTensor; // TaskTensors: numInputs inputs, then numOutputs
  uint32_t numInputs;
  uint32_t numOutputs;
  uint32_t firstVariant; // Variants[firstVariant, +numVariants)
  uint32_t numVariants;  // >= 1
  uint32_t firstSource;  // SourceVariants[firstSource, +numSources)
  uint32_t numSources;   // >= 1: the family's variants segments come from
  uint32_t reserved0;
  double latencyDeadlineMs; // default SLO: > 0, +inf for none
  double accuracyFloor;     // default SLO: in [0, 1]
  double requestRateHz;     // expected requests per second, >= 0
  uint64_t reserved1;
};
static_assert(sizeof(BundleTask) == 72, "BundleTask layout changed");

/// A task input or output as the task's model declares it (static shape).
struct BundleTaskTensor {
  uint32_t nameOffset;
  DType dtype;
  uint8_t rank; // <= kMaxRank
  uint8_t reserved[2];
  int64_t dims[kMaxRank];
};
static_assert(sizeof(BundleTaskTensor) == 72,
              "BundleTaskTensor layout changed");

/// One stitched variant of a task.
struct BundleVariant {
  uint32_t id; // the compiler's id of the stitch (unique within the task)
  uint32_t nameOffset;
  uint32_t task;         // the task whose variant range holds this entry
  uint32_t firstSegment; // Segments[firstSegment, +numSegments)
  uint32_t numSegments;  // >= 1
  uint32_t reserved0;
  double estimatedAccuracy; // in [0, 1]
  double measuredAccuracy;  // in [0, 1], NaN when not measured
  uint64_t memoryBytes;     // resident bytes (programs, weights, arena)
  uint64_t reserved1;
};
static_assert(sizeof(BundleVariant) == 56, "BundleVariant layout changed");

struct BundleSegment {
  uint32_t program;       // Programs index
  uint32_t sourceVariant; // index into the task's source variants
};
static_assert(sizeof(BundleSegment) == 8, "BundleSegment layout changed");

// --- Content hash
// -------------------------------------------------------------

/// 64-bit FNV-1a: the content hash of a BundleTensor. The writer
/// deduplicates by it (then compares the bytes); the reader recomputes it.
inline uint64_t fnv1a64(const void *data, size_t size) {
  const auto *p = static_cast<const unsigned char *>(data);
  uint64_t hash = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < size; ++i) {
    hash ^= p[i];
    hash *= 0x100000001b3ull;
  }
  return hash;
}

} // namespace format
} // namespace sparseloom

#endif // SPARSELOOM_FORMATS_BUNDLEFORMAT_H
