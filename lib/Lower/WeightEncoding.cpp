//===- WeightEncoding.cpp - Weights in the form their kernel reads --------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The byte layouts of encoded weights (ProgramFormat.h states the headers;
// docs/Lowering.md the arrays after them). Every encoded matrix is the 2-D
// view [rows = output channels, cols = reduction] of the weight, row-major:
//
//   Csr          SparseMatrixHeader, then rowPtr (rows + 1 x u32), colIdx
//                (nnz x u32, ascending within a row) and values (nnz x f32),
//                each array starting 64-byte aligned (offsets in the header).
//   BlockSparse  the same header with blockRows = 4, blockCols = 1; rowPtr
//                has rows / 4 + 1 entries over block rows, colIdx one column
//                per non-zero block, and values four floats per block: rows
//                4r, 4r+1, 4r+2, 4r+3 of that column. A block is stored when
//                any of its four values is non-zero (the others are explicit
//                zeros).
//   PackedPanels PackedMatrixHeader, then at dataOffset = 64 the panels
//                packWeight (the runtime's own packing routine) writes.
//
//===----------------------------------------------------------------------===//

#include "LowerInternal.h"

#include "Runtime/Kernels/FastKernels.h"

#include <cassert>
#include <cstring>

namespace sparseloom {
namespace lower {

namespace {

uint64_t alignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

template <typename T>
void put(std::vector<uint8_t> &out, uint64_t offset, const T *data,
         size_t count) {
  assert(offset + count * sizeof(T) <= out.size());
  if (count)
    std::memcpy(out.data() + offset, data, count * sizeof(T));
}

/// Lays out header + rowPtr + colIdx + values for both sparse encodings.
std::vector<uint8_t> writeSparse(uint32_t rows, uint32_t cols,
                                 uint16_t blockRows,
                                 const std::vector<uint32_t> &rowPtr,
                                 const std::vector<uint32_t> &colIdx,
                                 const std::vector<float> &values) {
  format::SparseMatrixHeader header;
  std::memset(&header, 0, sizeof(header));
  header.rows = rows;
  header.cols = cols;
  header.numBlocks = uint32_t(colIdx.size());
  header.blockRows = blockRows;
  header.blockCols = 1;
  header.rowPtrOffset = alignUp(sizeof(header), 64);
  header.colIdxOffset =
      alignUp(header.rowPtrOffset + rowPtr.size() * sizeof(uint32_t), 64);
  header.valuesOffset =
      alignUp(header.colIdxOffset + colIdx.size() * sizeof(uint32_t), 64);
  std::vector<uint8_t> out(header.valuesOffset + values.size() * sizeof(float),
                           0);
  put(out, 0, &header, 1);
  put(out, header.rowPtrOffset, rowPtr.data(), rowPtr.size());
  put(out, header.colIdxOffset, colIdx.data(), colIdx.size());
  put(out, header.valuesOffset, values.data(), values.size());
  return out;
}

} // namespace

WeightStats measureWeight(const std::vector<float> &w, int64_t rows,
                          int64_t cols) {
  assert(int64_t(w.size()) == rows * cols);
  WeightStats stats;
  int64_t nonZeros = 0;
  for (float v : w)
    nonZeros += v != 0.0f;
  stats.density = w.empty() ? 1.0 : double(nonZeros) / double(w.size());
  stats.block4x1Possible = rows > 0 && rows % 4 == 0;
  if (stats.block4x1Possible) {
    int64_t blocks = 0, nonZeroBlocks = 0;
    for (int64_t br = 0; br < rows; br += 4)
      for (int64_t c = 0; c < cols; ++c) {
        ++blocks;
        bool any = false;
        for (int64_t i = 0; i < 4 && !any; ++i)
          any = w[size_t((br + i) * cols + c)] != 0.0f;
        nonZeroBlocks += any;
      }
    stats.block4x1Density =
        blocks ? double(nonZeroBlocks) / double(blocks) : 1.0;
  }
  return stats;
}

std::vector<uint8_t> encodeCsr(const std::vector<float> &w, uint32_t rows,
                               uint32_t cols) {
  std::vector<uint32_t> rowPtr{0}, colIdx;
  std::vector<float> values;
  for (uint32_t r = 0; r < rows; ++r) {
    for (uint32_t c = 0; c < cols; ++c) {
      float v = w[size_t(r) * cols + c];
      if (v != 0.0f) {
        colIdx.push_back(c);
        values.push_back(v);
      }
    }
    rowPtr.push_back(uint32_t(colIdx.size()));
  }
  return writeSparse(rows, cols, 1, rowPtr, colIdx, values);
}

std::vector<uint8_t> encodeBlock4x1(const std::vector<float> &w, uint32_t rows,
                                    uint32_t cols) {
  assert(rows % 4 == 0 && "4x1 blocks need rows % 4 == 0");
  std::vector<uint32_t> rowPtr{0}, colIdx;
  std::vector<float> values;
  for (uint32_t br = 0; br < rows; br += 4) {
    for (uint32_t c = 0; c < cols; ++c) {
      bool any = false;
      for (uint32_t i = 0; i < 4; ++i)
        any |= w[size_t(br + i) * cols + c] != 0.0f;
      if (!any)
        continue;
      colIdx.push_back(c);
      for (uint32_t i = 0; i < 4; ++i)
        values.push_back(w[size_t(br + i) * cols + c]);
    }
    rowPtr.push_back(uint32_t(colIdx.size()));
  }
  return writeSparse(rows, cols, 4, rowPtr, colIdx, values);
}

std::vector<uint8_t> encodePackedPanels(const std::vector<float> &w,
                                        uint32_t rows, uint32_t cols) {
  format::PackedMatrixHeader header;
  std::memset(&header, 0, sizeof(header));
  header.rows = rows;
  header.cols = cols;
  header.panelWidth = runtime::packedWeightPanelWidth();
  header.layout = runtime::packedWeightLayoutTag();
  header.dataOffset = 64; // packWeight wants 64-byte aligned output
  header.dataBytes = runtime::packedWeightBytes(rows, cols);
  std::vector<uint8_t> out(header.dataOffset + header.dataBytes, 0);
  put(out, 0, &header, 1);
  // packWeight writes to 64-byte aligned memory and a vector's data is only
  // 16-byte aligned: pack into an aligned window of a larger buffer, copy.
  std::vector<float> packed(
      (header.dataBytes + sizeof(float) - 1) / sizeof(float) + 16);
  auto address = reinterpret_cast<uintptr_t>(packed.data());
  float *aligned = reinterpret_cast<float *>(alignUp(address, 64));
  runtime::packWeight(w.data(), rows, cols, aligned);
  std::memcpy(out.data() + header.dataOffset, aligned, header.dataBytes);
  return out;
}

} // namespace lower
} // namespace sparseloom
