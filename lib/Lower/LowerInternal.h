//===- LowerInternal.h - The program under construction ---------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Lowering builds a ProgramDraft (tensors, ops, io, plan) in memory first and
// serializes it in one go at the end, so that every table size and offset is
// known before the first byte is written and a failure halfway leaves
// nothing behind. Private to lib/Lower.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_LIB_LOWER_LOWERINTERNAL_H
#define SPARSELOOM_LIB_LOWER_LOWERINTERNAL_H

#include "sparseloom/Lower/KernelSelection.h"
#include "sparseloom/ProgramFormat.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace sparseloom {
namespace lower {

/// One arena buffer; several tensors share it when a Reshape-like op is
/// aliased (they are views of the same bytes).
struct Storage {
  uint64_t bytes = 0;
  int64_t firstStep = std::numeric_limits<int64_t>::max();
  int64_t lastStep = std::numeric_limits<int64_t>::min();
  uint64_t offset = 0;
};

struct ProgramTensor {
  std::string name;
  format::DType dtype = format::DType::F32;
  format::TensorKind kind = format::TensorKind::Activation;
  format::Encoding encoding = format::Encoding::Dense;
  std::vector<int64_t> dims;
  uint64_t bytes = 0;
  int storage = -1;          // Activation: index into ProgramDraft::storages
  std::vector<uint8_t> data; // Weight: the encoded bytes
  uint64_t offset = 0;       // filled when the layout is fixed
};

struct ProgramOp {
  format::Opcode opcode = format::Opcode::Identity;
  format::KernelId kernel = format::KernelId::Reference;
  std::vector<uint32_t> inputs; // kNoTensor for an absent optional input
  std::vector<uint32_t> outputs;
  std::vector<uint8_t> params; // the opcode's params struct, or empty
  std::string name;
};

struct ProgramDraft {
  std::string name;
  std::vector<ProgramTensor> tensors;
  std::vector<Storage> storages;
  std::vector<ProgramOp> ops;
  std::vector<uint32_t> inputs;
  std::vector<uint32_t> outputs;
  uint64_t arenaBytes = 0;
  uint64_t unplannedBytes = 0;
  uint64_t scratchBytes = 0;
};

/// "Dense", "Csr", "BlockSparse4x1", "PackedPanels", "PaddedPlanes".
const char *encodingName(format::Encoding encoding);

/// A 1x1, stride-1, unpadded conv of one group: the runtime runs its
/// product on the image in place (no im2col, no phase planes).
inline bool isPointwise(const format::ConvParams &p) {
  return p.kernel[0] == 1 && p.kernel[1] == 1 && p.strides[0] == 1 &&
         p.strides[1] == 1 && p.dilations[0] == 1 && p.dilations[1] == 1 &&
         !p.pads[0] && !p.pads[1] && !p.pads[2] && !p.pads[3] && p.group == 1;
}

/// The TensorDesc of every tensor (offsets must be final).
std::vector<format::TensorDesc> tensorDescs(const ProgramDraft &draft);

/// The blob, laid out as ProgramFormat.h states, CRC filled. Deterministic:
/// padding is zero and strings are stored in first-use order.
std::vector<uint8_t> serializeProgram(const ProgramDraft &draft);

// --- Weight encodings (WeightEncoding.cpp) ----------------------------------

/// `w` is a row-major [rows, cols] float matrix.
WeightStats measureWeight(const std::vector<float> &w, int64_t rows,
                          int64_t cols);
std::vector<uint8_t> encodeCsr(const std::vector<float> &w, uint32_t rows,
                               uint32_t cols);
std::vector<uint8_t> encodeBlock4x1(const std::vector<float> &w, uint32_t rows,
                                    uint32_t cols);
std::vector<uint8_t> encodePackedPanels(const std::vector<float> &w,
                                        uint32_t rows, uint32_t cols);

} // namespace lower
} // namespace sparseloom

#endif // SPARSELOOM_LIB_LOWER_LOWERINTERNAL_H
