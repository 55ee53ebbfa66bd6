//===- ProgramWriter.cpp - A ProgramDraft as bytes ------------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Writes the blob in the section order of ProgramFormat.h, each section
// 64-byte aligned, into a zero-filled buffer sized up front: the layout is
// computed first, then every table is copied to its place, then the CRC of
// the body goes into the header. Structs are memset to zero before their
// fields are set so that padding bytes are deterministic too.
//
//===----------------------------------------------------------------------===//

#include "LowerInternal.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/CRC.h"

#include <cassert>
#include <cstring>
#include <map>

namespace sparseloom {
namespace lower {

namespace {

constexpr uint64_t kAlign = format::kSectionAlignment;

uint64_t alignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

/// The names blob: NUL-terminated strings, each stored once, offset 0 being
/// the empty string.
class NameTable {
public:
  NameTable() { bytes_.push_back('\0'); }
  uint32_t add(const std::string &name) {
    if (name.empty())
      return 0;
    auto it = offsets_.find(name);
    if (it != offsets_.end())
      return it->second;
    uint32_t offset = uint32_t(bytes_.size());
    bytes_.insert(bytes_.end(), name.begin(), name.end());
    bytes_.push_back('\0');
    offsets_.emplace(name, offset);
    return offset;
  }
  const std::vector<uint8_t> &bytes() const { return bytes_; }

private:
  std::vector<uint8_t> bytes_;
  std::map<std::string, uint32_t> offsets_;
};

} // namespace

std::vector<format::TensorDesc> tensorDescs(const ProgramDraft &draft) {
  std::vector<format::TensorDesc> descs(draft.tensors.size());
  for (size_t i = 0; i < draft.tensors.size(); ++i) {
    const ProgramTensor &t = draft.tensors[i];
    format::TensorDesc &d = descs[i];
    std::memset(&d, 0, sizeof(d));
    d.dtype = t.dtype;
    d.kind = t.kind;
    d.encoding = t.encoding;
    assert(t.dims.size() <= format::kMaxRank && "rank checked by lowering");
    d.rank = uint8_t(t.dims.size());
    for (size_t k = 0; k < t.dims.size(); ++k)
      d.dims[k] = t.dims[k];
    d.offset = t.offset;
    d.bytes = t.bytes;
  }
  return descs;
}

std::vector<uint8_t> serializeProgram(const ProgramDraft &draft) {
  NameTable names;
  format::ProgramHeader header;
  std::memset(&header, 0, sizeof(header));
  std::memcpy(header.magic, format::kProgramMagic, sizeof(header.magic));
  header.versionMajor = format::kProgramVersionMajor;
  header.versionMinor = format::kProgramVersionMinor;
  header.headerSize = sizeof(format::ProgramHeader);
  header.nameOffset = names.add(draft.name);

  std::vector<format::TensorDesc> tensors = tensorDescs(draft);
  for (size_t i = 0; i < draft.tensors.size(); ++i)
    tensors[i].nameOffset = names.add(draft.tensors[i].name);

  // Operands, params and op descriptors.
  std::vector<uint32_t> operands;
  std::vector<uint8_t> params;
  std::vector<format::OpDesc> ops(draft.ops.size());
  for (size_t i = 0; i < draft.ops.size(); ++i) {
    const ProgramOp &op = draft.ops[i];
    format::OpDesc &d = ops[i];
    std::memset(&d, 0, sizeof(d));
    d.opcode = op.opcode;
    d.kernel = op.kernel;
    d.numInputs = uint16_t(op.inputs.size());
    d.numOutputs = uint16_t(op.outputs.size());
    d.firstOperand = uint32_t(operands.size());
    operands.insert(operands.end(), op.inputs.begin(), op.inputs.end());
    operands.insert(operands.end(), op.outputs.begin(), op.outputs.end());
    if (!op.params.empty()) {
      params.resize(alignUp(params.size(), 8), 0);
      d.paramsOffset = uint32_t(params.size());
      d.paramsSize = uint32_t(op.params.size());
      params.insert(params.end(), op.params.begin(), op.params.end());
    }
    d.nameOffset = names.add(op.name);
  }
  std::vector<uint32_t> io = draft.inputs;
  io.insert(io.end(), draft.outputs.begin(), draft.outputs.end());

  // Weights, each 64-byte aligned within the weights blob.
  uint64_t weightsSize = 0;
  for (size_t i = 0; i < draft.tensors.size(); ++i) {
    const ProgramTensor &t = draft.tensors[i];
    if (t.kind != format::TensorKind::Weight)
      continue;
    weightsSize = alignUp(weightsSize, kAlign);
    tensors[i].offset = weightsSize;
    weightsSize += t.data.size();
  }

  // Layout of the sections.
  uint64_t cursor = alignUp(sizeof(header), kAlign);
  auto place = [&](uint64_t bytes) {
    uint64_t offset = cursor;
    cursor = alignUp(cursor + bytes, kAlign);
    return offset;
  };
  header.numTensors = uint32_t(tensors.size());
  header.numOps = uint32_t(ops.size());
  header.numOperands = uint32_t(operands.size());
  header.numInputs = uint32_t(draft.inputs.size());
  header.numOutputs = uint32_t(draft.outputs.size());
  header.tensorsOffset = place(tensors.size() * sizeof(format::TensorDesc));
  header.opsOffset = place(ops.size() * sizeof(format::OpDesc));
  header.operandsOffset = place(operands.size() * sizeof(uint32_t));
  header.ioOffset = place(io.size() * sizeof(uint32_t));
  header.paramsSize = params.size();
  header.paramsOffset = place(params.size());
  header.namesSize = names.bytes().size();
  header.namesOffset = place(names.bytes().size());
  header.weightsSize = weightsSize;
  header.weightsOffset = place(weightsSize);
  header.totalSize = cursor;
  header.arenaSize = draft.arenaBytes;
  header.activationBytesUnplanned = draft.unplannedBytes;
  header.scratchSize = draft.scratchBytes;

  std::vector<uint8_t> blob(header.totalSize, 0);
  auto copy = [&](uint64_t offset, const void *data, size_t bytes) {
    assert(offset + bytes <= blob.size());
    if (bytes)
      std::memcpy(blob.data() + offset, data, bytes);
  };
  copy(header.tensorsOffset, tensors.data(),
       tensors.size() * sizeof(format::TensorDesc));
  copy(header.opsOffset, ops.data(), ops.size() * sizeof(format::OpDesc));
  copy(header.operandsOffset, operands.data(),
       operands.size() * sizeof(uint32_t));
  copy(header.ioOffset, io.data(), io.size() * sizeof(uint32_t));
  copy(header.paramsOffset, params.data(), params.size());
  copy(header.namesOffset, names.bytes().data(), names.bytes().size());
  for (size_t i = 0; i < draft.tensors.size(); ++i) {
    const ProgramTensor &t = draft.tensors[i];
    if (t.kind == format::TensorKind::Weight)
      copy(header.weightsOffset + tensors[i].offset, t.data.data(),
           t.data.size());
  }
  header.bodyCrc32 = llvm::crc32(llvm::ArrayRef<uint8_t>(
      blob.data() + header.headerSize, blob.size() - header.headerSize));
  copy(0, &header, sizeof(header));
  return blob;
}

} // namespace lower
} // namespace sparseloom
