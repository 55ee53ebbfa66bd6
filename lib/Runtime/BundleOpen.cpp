//===- BundleOpen.cpp - Verifying the frame of a bundle and opening it ----===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// sl_bundle_open trusts nothing in the file. This file checks the frame: the
// header (magic, version, sizes, the CRC-32 over header and section table),
// the section table (each section 64-byte aligned, inside the file, in
// ascending order without overlap, its size a whole number of entries of the
// kind's struct, its CRC-32 right; one section of every kind 1.0 defines;
// every byte between and after sections zero) and binds each section to the
// bundle. The tables' contents and the programs are checked by
// BundleVerify.cpp, in an order where every check reads only what earlier
// ones proved in bounds. Together every byte of a bundle is covered by a
// checksum or a zero check, so any bit flip is an error.
//
// The bytes are read in place (the caller keeps them alive, typically an
// mmap'ed file); the bundle owns only its object, the program handles and
// what loading the programs allocated.
//
//===----------------------------------------------------------------------===//

#include "Bundle.h"
#include "BundleVerify.h"

#include <cstring>
#include <new>

namespace sparseloom {
namespace runtime {

using namespace format;

namespace {

constexpr uint64_t kAlign = kSectionAlignment;

/// The entry size 1.0 defines for each section kind (1 for blobs).
uint32_t expectedEntrySize(uint32_t kind) {
  switch (SectionKind(kind)) {
  case SectionKind::Strings:
  case SectionKind::TensorData:
  case SectionKind::ProgramData:
    return 1;
  case SectionKind::Tensors:
    return sizeof(BundleTensor);
  case SectionKind::Programs:
    return sizeof(BundleProgram);
  case SectionKind::ProgramTensors:
  case SectionKind::SourceVariants:
    return sizeof(uint32_t);
  case SectionKind::Processors:
    return sizeof(BundleProcessor);
  case SectionKind::Tasks:
    return sizeof(BundleTask);
  case SectionKind::TaskTensors:
    return sizeof(BundleTaskTensor);
  case SectionKind::Variants:
    return sizeof(BundleVariant);
  case SectionKind::Segments:
    return sizeof(BundleSegment);
  case SectionKind::Latencies:
    return sizeof(double);
  }
  return 0;
}

/// First non-zero byte in [begin, end), or `end`.
uint64_t firstNonZero(const uint8_t *bytes, uint64_t begin, uint64_t end) {
  for (uint64_t i = begin; i < end; ++i)
    if (bytes[i] != 0)
      return i;
  return end;
}

sl_status verifyHeader(const BundleHeader &h, const uint8_t *bytes,
                       uint64_t size) {
  if (std::memcmp(h.magic, kBundleMagic, sizeof(kBundleMagic)) != 0) {
    if (std::memcmp(h.magic, kProgramMagic, sizeof(kProgramMagic)) == 0)
      return bundleInvalid("this is a program, not a bundle (load it with "
                           "sl_program_load)");
    return bundleInvalid("not a SparseLoom bundle (bad magic; expected "
                         "\"SLBUNDLE\")");
  }
  if (h.versionMajor != kBundleVersionMajor)
    return setError(SL_ERROR_UNSUPPORTED,
                    "bundle format version %u.%u; this runtime reads %u.x "
                    "(recompile the bundle with a matching compiler)",
                    h.versionMajor, h.versionMinor, kBundleVersionMajor);
  if (h.headerSize < sizeof(BundleHeader) || h.headerSize % kAlign != 0)
    return bundleInvalid(
        "header size %u is invalid (expected a multiple of %llu, "
        "at least %zu)",
        h.headerSize, (unsigned long long)kAlign, sizeof(BundleHeader));
  if (h.sectionEntrySize != sizeof(BundleSection))
    return bundleInvalid(
        "section table entries are %u bytes; this runtime reads "
        "%zu-byte entries",
        h.sectionEntrySize, sizeof(BundleSection));
  if (h.numSections == 0 || h.numSections > kBundleMaxSections)
    return bundleInvalid("%u sections (expected 1 to %u)", h.numSections,
                         kBundleMaxSections);
  if (h.sectionTableOffset != h.headerSize)
    return bundleInvalid(
        "the section table is at byte %llu, not right after the "
        "%u-byte header",
        (unsigned long long)h.sectionTableOffset, h.headerSize);
  uint64_t tableEnd =
      uint64_t(h.headerSize) + uint64_t(h.numSections) * sizeof(BundleSection);
  if (tableEnd > size)
    return bundleInvalid(
        "bundle is %llu bytes, but its header and section table "
        "need %llu (truncated?)",
        (unsigned long long)size, (unsigned long long)tableEnd);
  // The CRC covers the header without its own field, then the table.
  constexpr size_t kCrcField = offsetof(BundleHeader, metaCrc32);
  uint32_t crc = crc32(bytes, kCrcField);
  crc = crc32(bytes + kCrcField + 4, h.headerSize - kCrcField - 4, crc);
  crc = crc32(bytes + h.headerSize, tableEnd - h.headerSize, crc);
  if (crc != h.metaCrc32)
    return bundleInvalid("header checksum mismatch: the CRC-32 of header and "
                         "section table is 0x%08x, the header says 0x%08x "
                         "(corrupt bundle)",
                         crc, h.metaCrc32);
  if (h.flags != 0)
    return setError(SL_ERROR_UNSUPPORTED,
                    "bundle flags 0x%x are not defined in format %u.x "
                    "(compiled for a newer runtime?)",
                    h.flags, kBundleVersionMajor);
  if (h.totalSize > size)
    return bundleInvalid("bundle claims %llu bytes but only %llu were given "
                         "(truncated?)",
                         (unsigned long long)h.totalSize,
                         (unsigned long long)size);
  if (h.totalSize < tableEnd || h.totalSize % kAlign != 0)
    return bundleInvalid(
        "bundle size %llu must be a multiple of %llu and hold the "
        "%llu bytes of header and section table",
        (unsigned long long)h.totalSize, (unsigned long long)kAlign,
        (unsigned long long)tableEnd);
  return SL_OK;
}

/// Checks the section table and binds every known section to `b`.
sl_status verifySections(sl_bundle &b) {
  const BundleHeader &h = *b.header;
  uint64_t tableEnd =
      uint64_t(h.headerSize) + uint64_t(h.numSections) * sizeof(BundleSection);
  uint64_t previousEnd = tableEnd;
  for (uint32_t i = 0; i < h.numSections; ++i) {
    const BundleSection &s = b.sections[i];
    const char *name = sectionKindName(s.kind);
    if (!name)
      name = "unknown kind";
    if (s.offset % kAlign != 0 || s.offset < previousEnd)
      return bundleInvalid(
          "section %u (%s) at byte %llu must be %llu-byte "
          "aligned and start after the previous section or the "
          "table (byte %llu)",
          i, name, (unsigned long long)s.offset, (unsigned long long)kAlign,
          (unsigned long long)previousEnd);
    if (!inBounds(s.offset, s.size, h.totalSize))
      return bundleInvalid("section %u (%s) [%llu, +%llu) lies outside the "
                           "%llu-byte bundle",
                           i, name, (unsigned long long)s.offset,
                           (unsigned long long)s.size,
                           (unsigned long long)h.totalSize);
    if (s.entrySize == 0 || s.count > s.size / s.entrySize ||
        s.count * s.entrySize != s.size)
      return bundleInvalid(
          "section %u (%s): %llu bytes are not %llu entries of "
          "%u bytes",
          i, name, (unsigned long long)s.size, (unsigned long long)s.count,
          s.entrySize);
    uint64_t gap = firstNonZero(b.bytes, previousEnd, s.offset);
    if (gap != s.offset)
      return bundleInvalid("byte %llu, padding before section %u (%s), is not "
                           "zero (corrupt bundle)",
                           (unsigned long long)gap, i, name);
    uint32_t crc = crc32(b.bytes + s.offset, s.size);
    if (crc != s.crc32)
      return bundleInvalid("section %u (%s): checksum mismatch: its CRC-32 is "
                           "0x%08x, the table says 0x%08x (corrupt bundle)",
                           i, name, crc, s.crc32);
    previousEnd = s.offset + s.size;
    // A section of a kind this runtime does not know (added by a newer
    // minor version) is checked like any other, then skipped.
    if (s.kind < kFirstSectionKind || s.kind > kLastSectionKind)
      continue;
    if (b.byKind[s.kind])
      return bundleInvalid("section %u: a second %s section", i, name);
    if (s.entrySize != expectedEntrySize(s.kind))
      return bundleInvalid("section %u (%s): entries are %u bytes, expected %u",
                           i, name, s.entrySize, expectedEntrySize(s.kind));
    // Indices into tables are 32-bit.
    if (s.count > UINT32_MAX)
      return bundleInvalid(
          "section %u (%s) has %llu entries (at most 2^32 - 1)", i, name,
          (unsigned long long)s.count);
    b.byKind[s.kind] = &s;
  }
  uint64_t gap = firstNonZero(b.bytes, previousEnd, h.totalSize);
  if (gap != h.totalSize)
    return bundleInvalid("byte %llu, after the last section, is not zero "
                         "(corrupt bundle)",
                         (unsigned long long)gap);
  for (uint32_t kind = kFirstSectionKind; kind <= kLastSectionKind; ++kind)
    if (!b.byKind[kind])
      return bundleInvalid("the bundle has no %s section",
                           sectionKindName(kind));

  auto at = [&](SectionKind kind) {
    return b.bytes + b.byKind[int(kind)]->offset;
  };
  auto count = [&](SectionKind kind) {
    return uint32_t(b.byKind[int(kind)]->count);
  };
  b.strings = reinterpret_cast<const char *>(at(SectionKind::Strings));
  b.stringsSize = b.byKind[int(SectionKind::Strings)]->size;
  b.tensors = reinterpret_cast<const BundleTensor *>(at(SectionKind::Tensors));
  b.numTensors = count(SectionKind::Tensors);
  b.tensorData = at(SectionKind::TensorData);
  b.tensorDataSize = b.byKind[int(SectionKind::TensorData)]->size;
  b.programEntries =
      reinterpret_cast<const BundleProgram *>(at(SectionKind::Programs));
  b.numPrograms = count(SectionKind::Programs);
  b.programTensors =
      reinterpret_cast<const uint32_t *>(at(SectionKind::ProgramTensors));
  b.numProgramTensors = count(SectionKind::ProgramTensors);
  b.programData = at(SectionKind::ProgramData);
  b.programDataSize = b.byKind[int(SectionKind::ProgramData)]->size;
  b.processors =
      reinterpret_cast<const BundleProcessor *>(at(SectionKind::Processors));
  b.numProcessors = count(SectionKind::Processors);
  b.tasks = reinterpret_cast<const BundleTask *>(at(SectionKind::Tasks));
  b.numTasks = count(SectionKind::Tasks);
  b.taskTensors =
      reinterpret_cast<const BundleTaskTensor *>(at(SectionKind::TaskTensors));
  b.numTaskTensors = count(SectionKind::TaskTensors);
  b.sourceVariants =
      reinterpret_cast<const uint32_t *>(at(SectionKind::SourceVariants));
  b.numSourceVariants = count(SectionKind::SourceVariants);
  b.variants =
      reinterpret_cast<const BundleVariant *>(at(SectionKind::Variants));
  b.numVariants = count(SectionKind::Variants);
  b.segments =
      reinterpret_cast<const BundleSegment *>(at(SectionKind::Segments));
  b.numSegments = count(SectionKind::Segments);
  b.latencies = reinterpret_cast<const double *>(at(SectionKind::Latencies));
  if (uint64_t(b.numVariants) * b.numProcessors !=
      b.byKind[int(SectionKind::Latencies)]->count)
    return bundleInvalid(
        "the latency table has %llu entries, expected %u "
        "variants x %u processors",
        (unsigned long long)b.byKind[int(SectionKind::Latencies)]->count,
        b.numVariants, b.numProcessors);
  return SL_OK;
}

void destroyBundle(sl_bundle *b) {
  if (!b)
    return;
  sl_allocator allocator = b->allocator;
  if (b->programs) {
    for (uint32_t i = 0; i < b->numPrograms; ++i)
      sl_program_destroy(b->programs[i]);
    allocator.free(b->programs, allocator.user);
  }
  b->~sl_bundle();
  allocator.free(b, allocator.user);
}

} // namespace

const char *sectionKindName(uint32_t kind) {
  switch (SectionKind(kind)) {
  case SectionKind::Strings:
    return "strings";
  case SectionKind::Tensors:
    return "tensors";
  case SectionKind::TensorData:
    return "tensor-data";
  case SectionKind::Programs:
    return "programs";
  case SectionKind::ProgramTensors:
    return "program-tensors";
  case SectionKind::ProgramData:
    return "program-data";
  case SectionKind::Processors:
    return "processors";
  case SectionKind::Tasks:
    return "tasks";
  case SectionKind::TaskTensors:
    return "task-tensors";
  case SectionKind::SourceVariants:
    return "source-variants";
  case SectionKind::Variants:
    return "variants";
  case SectionKind::Segments:
    return "segments";
  case SectionKind::Latencies:
    return "latencies";
  }
  return nullptr;
}

} // namespace runtime
} // namespace sparseloom

using namespace sparseloom;
using namespace sparseloom::runtime;

extern "C" {

sl_status sl_bundle_open(const void *bytes, size_t size,
                         const sl_allocator *allocatorIn,
                         sl_bundle **out_bundle) {
  if (!out_bundle)
    return setError(SL_ERROR_INVALID_ARGUMENT, "out_bundle is null");
  if (!bytes)
    return setError(SL_ERROR_INVALID_ARGUMENT, "bundle bytes are null");
  if (reinterpret_cast<uintptr_t>(bytes) % kAlign != 0)
    return setError(SL_ERROR_INVALID_ARGUMENT,
                    "bundle bytes must be 64-byte aligned (the bundle is "
                    "read in place: mmap the file or copy it to aligned "
                    "memory)");
  // Bundles are little-endian and read in place, without byte swapping.
  const uint16_t probe = 1;
  if (*reinterpret_cast<const uint8_t *>(&probe) != 1)
    return setError(SL_ERROR_UNSUPPORTED,
                    "this runtime reads little-endian bundles in place and "
                    "does not run on big-endian hosts");
  if (size < sizeof(format::BundleHeader))
    return setError(SL_ERROR_INVALID_BUNDLE,
                    "bundle is %zu bytes, smaller than its %zu-byte header "
                    "(truncated?)",
                    size, sizeof(format::BundleHeader));
  const auto *data = static_cast<const uint8_t *>(bytes);
  const auto *header = reinterpret_cast<const format::BundleHeader *>(data);
  if (sl_status s = verifyHeader(*header, data, size))
    return s;

  sl_allocator allocator = resolveAllocator(allocatorIn);
  void *mem = allocateOrFail(allocator, sizeof(sl_bundle), 64, "bundle");
  if (!mem)
    return SL_ERROR_OUT_OF_MEMORY;
  sl_bundle *b = new (mem) sl_bundle();
  b->allocator = allocator;
  b->bytes = data;
  b->header = header;
  b->sections = reinterpret_cast<const format::BundleSection *>(
      data + header->headerSize);
  sl_status s = verifySections(*b);
  if (s == SL_OK)
    s = verifyStorageTables(*b);
  if (s == SL_OK)
    s = loadBundlePrograms(*b);
  if (s == SL_OK)
    s = verifyTaskTables(*b);
  if (s != SL_OK) {
    destroyBundle(b);
    return s;
  }
  *out_bundle = b;
  return SL_OK;
}

void sl_bundle_destroy(sl_bundle *bundle) { destroyBundle(bundle); }

} // extern "C"
