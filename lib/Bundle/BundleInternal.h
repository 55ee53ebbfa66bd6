//===- BundleInternal.h - Pieces of the bundle writer -----------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The writer's steps, one file each: checking the contents
// (ContentsCheck.cpp), taking a standalone program's weights out
// (ProgramWeights.cpp), pooling tensors by content (TensorPool.cpp), and
// counting what deduplication saved (BundleStats.cpp). BundleWriter.cpp
// runs them and lays out the file.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_LIB_BUNDLE_BUNDLEINTERNAL_H
#define SPARSELOOM_LIB_BUNDLE_BUNDLEINTERNAL_H

#include "sparseloom/Bundle/BundleWriter.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <vector>

namespace sparseloom {
namespace bundle {

constexpr uint64_t kAlign = format::kSectionAlignment;

inline uint64_t alignUp(uint64_t value, uint64_t alignment = kAlign) {
  return (value + alignment - 1) / alignment * alignment;
}

/// Every index, count and number in `contents` is in range and every
/// program is used by some variant; errors name the entry at fault.
llvm::Error checkContents(const BundleContents &contents);

/// One weight of a standalone program.
struct ProgramWeight {
  uint32_t tensorId; // index into the program's tensor table
  format::TensorDesc desc;
  llvm::ArrayRef<uint8_t> bytes; // inside the standalone blob
};

/// A standalone program with its weights taken out: `blob` is the program
/// without its weights section, flagged kProgramFlagExternalWeights, whose
/// weight offsets bindProgramWeights fills in.
struct SplitProgram {
  std::vector<uint8_t> blob;
  std::vector<ProgramWeight> weights;
  uint64_t standaloneBytes = 0;
};

/// Checks the standalone blob's structure (header, tables and every weight
/// inside it, body CRC) and splits it. `name` names it in errors.
llvm::Expected<SplitProgram> splitProgramWeights(llvm::ArrayRef<uint8_t> blob,
                                                 llvm::StringRef name);

/// Points weight `i` of `program` at `offsets[i]` (in the bundle's tensor
/// data) and recomputes the body CRC.
void bindProgramWeights(SplitProgram &program,
                        llvm::ArrayRef<uint64_t> offsets);

/// The bundle's weight tensors, each stored once by content (or every time,
/// without dedup), laid out in order of first appearance.
class TensorPool {
public:
  explicit TensorPool(bool dedup) : dedup_(dedup) {}

  /// The pool index of `weight`'s content, adding it when new.
  uint32_t intern(const ProgramWeight &weight);

  const std::vector<format::BundleTensor> &entries() const { return entries_; }
  /// The tensor data section (entries at 64-byte aligned offsets, zero
  /// padding between them).
  const std::vector<uint8_t> &data() const { return data_; }

private:
  bool dedup_;
  std::vector<format::BundleTensor> entries_;
  std::vector<uint8_t> data_;
  std::multimap<uint64_t, uint32_t> byHash_;
};

/// What the writer did with input program `i`.
struct ProgramPlacement {
  uint32_t storedIndex = 0;      // the bundle program it became
  std::vector<uint32_t> tensors; // pool indices, ascending, distinct
  uint64_t standaloneBytes = 0;
  uint64_t weightTensors = 0; // weight descriptors in the input
  uint64_t weightBytes = 0;   // their bytes in the input
};

/// Before/after figures for the input programs `inputs` (indices into
/// `placements`), given the stored programs' sizes and the pool.
BundleDedupStats dedupStats(const std::vector<uint32_t> &inputs,
                            const std::vector<ProgramPlacement> &placements,
                            const std::vector<uint64_t> &storedProgramBytes,
                            const TensorPool &pool);

} // namespace bundle
} // namespace sparseloom

#endif // SPARSELOOM_LIB_BUNDLE_BUNDLEINTERNAL_H
