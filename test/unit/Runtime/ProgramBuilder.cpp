//===- ProgramBuilder.cpp - Hand-assembled programs for runtime tests -----===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//

#include "ProgramBuilder.h"

#include "Runtime/Kernels/FastKernels.h"
#include "sparseloom/Runtime/OpRegistry.h"

#include <algorithm>
#include <cassert>

namespace sparseloom {
namespace test {

using namespace format;

namespace {
uint64_t alignUp(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

size_t elementSize(DType d) {
  switch (d) {
  case DType::F32:
  case DType::I32:
    return 4;
  case DType::I64:
    return 8;
  default:
    return 1;
  }
}

/// Appends `bytes` to `blob` at a 4-aligned offset; returns the offset.
uint64_t appendArray(std::vector<uint8_t> &blob, const void *data,
                     size_t bytes) {
  blob.resize(alignUp(blob.size(), 4));
  uint64_t at = blob.size();
  const auto *p = static_cast<const uint8_t *>(data);
  blob.insert(blob.end(), p, p + bytes);
  return at;
}
} // namespace

uint32_t ProgramBuilder::addName(const std::string &name) {
  if (name.empty())
    return 0;
  uint32_t at = uint32_t(names_.size());
  names_ += name;
  names_ += '\0';
  return at;
}

uint32_t ProgramBuilder::addTensor(const std::string &name, DType dtype,
                                   TensorKind kind, const Dims &dims) {
  TensorDesc t{};
  t.nameOffset = addName(name);
  t.dtype = dtype;
  t.kind = kind;
  t.encoding = Encoding::Dense;
  t.rank = uint8_t(dims.size());
  int64_t count = 1;
  for (size_t i = 0; i < dims.size() && i < kMaxRank; ++i) {
    t.dims[i] = dims[i];
    count *= dims[i];
  }
  t.bytes = uint64_t(count) * elementSize(dtype);
  tensors_.push_back(t);
  pinned_.push_back(false);
  return uint32_t(tensors_.size() - 1);
}

uint32_t ProgramBuilder::input(const std::string &name, DType dtype,
                               const Dims &dims) {
  uint32_t id = addTensor(name, dtype, TensorKind::Activation, dims);
  inputs_.push_back(id);
  return id;
}

uint32_t ProgramBuilder::activation(const std::string &name, DType dtype,
                                    const Dims &dims) {
  return addTensor(name, dtype, TensorKind::Activation, dims);
}

uint64_t ProgramBuilder::addWeightBytes(const void *data, size_t bytes) {
  weights_.resize(alignUp(weights_.size(), kSectionAlignment));
  uint64_t at = weights_.size();
  const auto *p = static_cast<const uint8_t *>(data);
  weights_.insert(weights_.end(), p, p + bytes);
  return at;
}

uint32_t ProgramBuilder::weightBytes(const std::string &name, DType dtype,
                                     const Dims &dims, const void *data,
                                     size_t bytes, Encoding encoding) {
  uint32_t id = addTensor(name, dtype, TensorKind::Weight, dims);
  tensors_[id].encoding = encoding;
  tensors_[id].offset = addWeightBytes(data, bytes);
  tensors_[id].bytes = bytes;
  return id;
}

uint32_t ProgramBuilder::csrWeight(const std::string &name, const Dims &dims,
                                   const std::vector<float> &m, uint32_t rows,
                                   uint32_t cols) {
  return blockWeight(name, dims, m, rows, cols, 1);
}

uint32_t ProgramBuilder::blockWeight(const std::string &name, const Dims &dims,
                                     const std::vector<float> &m, uint32_t rows,
                                     uint32_t cols, uint32_t blockRows) {
  assert(m.size() == size_t(rows) * cols && rows % blockRows == 0);
  std::vector<uint32_t> rowPtr{0}, colIdx;
  std::vector<float> values;
  for (uint32_t br = 0; br < rows / blockRows; ++br) {
    for (uint32_t c = 0; c < cols; ++c) {
      bool nonzero = false;
      for (uint32_t r = 0; r < blockRows; ++r)
        nonzero |= m[size_t(br * blockRows + r) * cols + c] != 0.f;
      if (!nonzero)
        continue;
      colIdx.push_back(c);
      for (uint32_t r = 0; r < blockRows; ++r)
        values.push_back(m[size_t(br * blockRows + r) * cols + c]);
    }
    rowPtr.push_back(uint32_t(colIdx.size()));
  }
  SparseMatrixHeader h{};
  h.rows = rows;
  h.cols = cols;
  h.numBlocks = uint32_t(colIdx.size());
  h.blockRows = uint16_t(blockRows);
  h.blockCols = 1;
  std::vector<uint8_t> blob(sizeof(h));
  h.rowPtrOffset =
      appendArray(blob, rowPtr.data(), rowPtr.size() * sizeof(uint32_t));
  h.colIdxOffset =
      appendArray(blob, colIdx.data(), colIdx.size() * sizeof(uint32_t));
  h.valuesOffset =
      appendArray(blob, values.data(), values.size() * sizeof(float));
  std::memcpy(blob.data(), &h, sizeof(h));
  return weightBytes(name, DType::F32, dims, blob.data(), blob.size(),
                     blockRows == 1 ? Encoding::Csr : Encoding::BlockSparse);
}

uint32_t ProgramBuilder::packedWeight(const std::string &name, const Dims &dims,
                                      const std::vector<float> &m,
                                      uint32_t rows, uint32_t cols) {
  PackedMatrixHeader h{};
  h.rows = rows;
  h.cols = cols;
  h.panelWidth = runtime::packedWeightPanelWidth();
  h.layout = runtime::packedWeightLayoutTag();
  h.dataOffset = 64;
  h.dataBytes = runtime::packedWeightBytes(rows, cols);
  std::vector<uint8_t> blob(64 + h.dataBytes);
  std::memcpy(blob.data(), &h, sizeof(h));
  runtime::packWeight(m.data(), rows, cols,
                      reinterpret_cast<float *>(blob.data() + 64));
  return weightBytes(name, DType::F32, dims, blob.data(), blob.size(),
                     Encoding::PackedPanels);
}

void ProgramBuilder::op(Opcode opcode, const std::vector<uint32_t> &inputs,
                        const std::vector<uint32_t> &outputs,
                        const void *params, size_t paramsSize, KernelId kernel,
                        const std::string &name) {
  OpDesc d{};
  d.opcode = opcode;
  d.kernel = kernel;
  d.numInputs = uint16_t(inputs.size());
  d.numOutputs = uint16_t(outputs.size());
  d.firstOperand = uint32_t(operands_.size());
  operands_.insert(operands_.end(), inputs.begin(), inputs.end());
  operands_.insert(operands_.end(), outputs.begin(), outputs.end());
  params_.resize(alignUp(params_.size(), 8));
  d.paramsOffset = uint32_t(params_.size());
  d.paramsSize = uint32_t(paramsSize);
  const auto *p = static_cast<const uint8_t *>(params);
  if (paramsSize)
    params_.insert(params_.end(), p, p + paramsSize);
  d.nameOffset =
      addName(name.empty() ? "op" + std::to_string(ops_.size()) : name);
  ops_.push_back(d);
}

void ProgramBuilder::setOffset(uint32_t id, uint64_t offset) {
  tensors_[id].offset = offset;
  pinned_[id] = true;
}

std::vector<uint8_t> ProgramBuilder::build() const {
  std::vector<TensorDesc> tensors = tensors_;
  // Memory plan: every unpinned activation in its own slot, in order.
  uint64_t arena = 0, unplanned = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    TensorDesc &t = tensors[i];
    if (t.kind != TensorKind::Activation)
      continue;
    unplanned += t.bytes;
    if (!pinned_[i]) {
      t.offset = arena;
      arena = alignUp(arena + t.bytes, kSectionAlignment);
    } else {
      arena = std::max(arena, alignUp(t.offset + t.bytes, kSectionAlignment));
    }
  }

  ProgramHeader h{};
  std::memcpy(h.magic, kProgramMagic, sizeof(h.magic));
  h.versionMajor = kProgramVersionMajor;
  h.versionMinor = kProgramVersionMinor;
  h.headerSize = sizeof(ProgramHeader);
  h.numTensors = uint32_t(tensors.size());
  h.numOps = uint32_t(ops_.size());
  h.numOperands = uint32_t(operands_.size());
  h.numInputs = uint32_t(inputs_.size());
  h.numOutputs = uint32_t(outputs_.size());
  h.arenaSize = arena;
  h.activationBytesUnplanned = unplanned;
  h.nameOffset = 0;

  std::vector<uint8_t> blob(sizeof(ProgramHeader));
  auto section = [&](const void *data, size_t bytes) {
    blob.resize(alignUp(blob.size(), kSectionAlignment));
    uint64_t at = blob.size();
    const auto *p = static_cast<const uint8_t *>(data);
    if (bytes)
      blob.insert(blob.end(), p, p + bytes);
    return at;
  };
  std::vector<uint32_t> io = inputs_;
  io.insert(io.end(), outputs_.begin(), outputs_.end());
  std::string names = names_;
  h.nameOffset = uint32_t(names.size());
  names += name_;
  names += '\0';
  h.tensorsOffset =
      section(tensors.data(), tensors.size() * sizeof(TensorDesc));
  h.opsOffset = section(ops_.data(), ops_.size() * sizeof(OpDesc));
  h.operandsOffset =
      section(operands_.data(), operands_.size() * sizeof(uint32_t));
  h.ioOffset = section(io.data(), io.size() * sizeof(uint32_t));
  h.paramsOffset = section(params_.data(), params_.size());
  h.paramsSize = params_.size();
  h.namesOffset = section(names.data(), names.size());
  h.namesSize = names.size();
  h.weightsOffset = section(weights_.data(), weights_.size());
  h.weightsSize = weights_.size();
  blob.resize(alignUp(blob.size(), kSectionAlignment));
  h.totalSize = blob.size();
  std::memcpy(blob.data(), &h, sizeof(h));
  fixCrc(blob);
  return blob;
}

void ProgramBuilder::fixCrc(std::vector<uint8_t> &blob) {
  ProgramHeader h = header(blob);
  uint64_t end = std::min<uint64_t>(h.totalSize, blob.size());
  if (h.headerSize > end)
    return;
  h.bodyCrc32 = runtime::crc32(blob.data() + h.headerSize, end - h.headerSize);
  std::memcpy(blob.data(), &h, sizeof(h));
}

} // namespace test
} // namespace sparseloom
