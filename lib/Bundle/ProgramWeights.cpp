//===- ProgramWeights.cpp - Taking a program's weights out ----------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// A bundled program keeps everything of its standalone form except the
// weights section: it is marked kProgramFlagExternalWeights (program format
// 1.1) and each weight descriptor's offset becomes the offset of its tensor
// in the bundle's pool, so the runtime's kernels, which address a weight as
// base + offset, read the pool in place with the base moved.
//
// The lowering writes the weights section last, so dropping it is a
// truncation; should another section ever follow it, its bytes are zeroed
// instead (the program stays valid, only larger). The input comes from the
// compiler, but it is checked before any of it is read: a blob from a file
// may be anything.
//
//===----------------------------------------------------------------------===//

#include "BundleInternal.h"

#include "sparseloom/Runtime/OpRegistry.h"
#include "sparseloom/Support/Diagnostics.h"

#include "llvm/ADT/Twine.h"

#include <cassert>
#include <cstring>

using namespace sparseloom;
using namespace sparseloom::bundle;
using format::ProgramHeader;
using format::TensorDesc;

namespace {

bool inBounds(uint64_t offset, uint64_t size, uint64_t limit) {
  return offset <= limit && size <= limit - offset;
}

llvm::Error programError(llvm::StringRef name, const llvm::Twine &message) {
  return makeError("program '" + name + "': " + message);
}

} // namespace

llvm::Expected<SplitProgram>
sparseloom::bundle::splitProgramWeights(llvm::ArrayRef<uint8_t> blob,
                                        llvm::StringRef name) {
  ProgramHeader h;
  if (blob.size() < sizeof(h))
    return programError(name, "is " + llvm::Twine(blob.size()) +
                                  " bytes, smaller than a program header");
  std::memcpy(&h, blob.data(), sizeof(h));
  if (std::memcmp(h.magic, format::kProgramMagic, sizeof(h.magic)) != 0)
    return programError(name, "is not a SparseLoom program (bad magic)");
  if (h.versionMajor != format::kProgramVersionMajor)
    return programError(name, "has program format version " +
                                  llvm::Twine(h.versionMajor) +
                                  ", this compiler writes " +
                                  llvm::Twine(format::kProgramVersionMajor));
  if (h.flags != 0)
    return programError(name, "is not a standalone program (flags " +
                                  llvm::Twine(h.flags) + ")");
  if (h.headerSize < sizeof(h) || h.headerSize % 8 != 0 ||
      h.totalSize < h.headerSize || h.totalSize > blob.size())
    return programError(name, "has inconsistent header sizes (truncated?)");
  uint32_t crc =
      runtime::crc32(blob.data() + h.headerSize, h.totalSize - h.headerSize);
  if (crc != h.bodyCrc32)
    return programError(name, "checksum mismatch (corrupt program)");
  uint64_t tableBytes = uint64_t(h.numTensors) * sizeof(TensorDesc);
  if (h.numTensors != 0 &&
      (h.tensorsOffset % 8 != 0 ||
       !inBounds(h.tensorsOffset, tableBytes, h.totalSize)))
    return programError(name, "tensor table lies outside the blob");
  if (h.weightsSize != 0 &&
      (h.weightsOffset < h.headerSize ||
       !inBounds(h.weightsOffset, h.weightsSize, h.totalSize)))
    return programError(name, "weights section lies outside the blob");

  SplitProgram out;
  out.standaloneBytes = h.totalSize;
  for (uint32_t i = 0; i < h.numTensors; ++i) {
    TensorDesc d;
    std::memcpy(&d, blob.data() + h.tensorsOffset + i * sizeof(TensorDesc),
                sizeof(d));
    if (d.kind != format::TensorKind::Weight)
      continue;
    if (d.rank > format::kMaxRank ||
        !inBounds(d.offset, d.bytes, h.weightsSize))
      return programError(name, "weight tensor " + llvm::Twine(i) +
                                    " lies outside the weights section");
    llvm::ArrayRef<uint8_t> bytes(blob.data() + h.weightsOffset + d.offset,
                                  d.bytes);
    out.weights.push_back({i, d, bytes});
  }

  // Every other section must end before the weights, or the weights are
  // zeroed in place rather than cut off.
  uint64_t end = h.totalSize;
  if (h.weightsSize != 0) {
    struct {
      uint64_t offset, bytes;
    } others[] = {
        {h.tensorsOffset, tableBytes},
        {h.opsOffset, uint64_t(h.numOps) * sizeof(format::OpDesc)},
        {h.operandsOffset, uint64_t(h.numOperands) * 4},
        {h.ioOffset, (uint64_t(h.numInputs) + h.numOutputs) * 4},
        {h.paramsOffset, h.paramsSize},
        {h.namesOffset, h.namesSize},
    };
    bool last = true;
    for (const auto &s : others)
      if (s.bytes != 0 && s.offset + s.bytes > h.weightsOffset)
        last = false;
    end = last ? h.weightsOffset : h.totalSize;
  }
  out.blob.assign(blob.begin(), blob.begin() + end);
  if (end == h.totalSize && h.weightsSize != 0)
    std::memset(out.blob.data() + h.weightsOffset, 0, h.weightsSize);

  h.versionMinor = format::kProgramVersionMinorExternalWeights;
  h.flags = format::kProgramFlagExternalWeights;
  h.totalSize = end;
  h.weightsOffset = 0;
  h.weightsSize = 0;
  std::memcpy(out.blob.data(), &h, sizeof(h));
  return out;
}

void sparseloom::bundle::bindProgramWeights(SplitProgram &program,
                                            llvm::ArrayRef<uint64_t> offsets) {
  assert(offsets.size() == program.weights.size() && "one offset per weight");
  ProgramHeader h;
  std::memcpy(&h, program.blob.data(), sizeof(h));
  for (size_t w = 0; w < program.weights.size(); ++w) {
    TensorDesc d = program.weights[w].desc;
    d.offset = offsets[w];
    std::memcpy(program.blob.data() + h.tensorsOffset +
                    program.weights[w].tensorId * sizeof(TensorDesc),
                &d, sizeof(d));
  }
  h.bodyCrc32 = runtime::crc32(program.blob.data() + h.headerSize,
                               h.totalSize - h.headerSize);
  std::memcpy(program.blob.data(), &h, sizeof(h));
}
