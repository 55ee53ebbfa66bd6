//===- ProgramBuilder.h - Programs for runtime tests ------------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// A small writer of program blobs (formats/sparseloom/ProgramFormat.h) so the
// runtime's loader and kernels can be tested without the compiler: declare
// tensors and ops, then build() lays out the sections, gives every
// activation its own 64-byte aligned arena slot (unless a test pins an
// offset) and fills the CRC. Tests corrupt the result byte by byte; the
// real lowering lives in lib/Lower.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_TEST_UNIT_RUNTIME_PROGRAMBUILDER_H
#define SPARSELOOM_TEST_UNIT_RUNTIME_PROGRAMBUILDER_H

#include "sparseloom/ProgramFormat.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace sparseloom {
namespace test {

class ProgramBuilder {
public:
  using DType = format::DType;
  using Dims = std::vector<int64_t>;

  explicit ProgramBuilder(std::string name = "test") : name_(std::move(name)) {}

  /// A graph input (an activation listed in the io table).
  uint32_t input(const std::string &name, DType dtype, const Dims &dims);
  /// An intermediate or output activation.
  uint32_t activation(const std::string &name, DType dtype, const Dims &dims);
  /// Marks `id` as a graph output.
  void output(uint32_t id) { outputs_.push_back(id); }

  /// A Dense weight of any dtype from raw little-endian bytes.
  uint32_t weightBytes(const std::string &name, DType dtype, const Dims &dims,
                       const void *data, size_t bytes,
                       format::Encoding encoding = format::Encoding::Dense);
  uint32_t weight(const std::string &name, const Dims &dims,
                  const std::vector<float> &values) {
    return weightBytes(name, DType::F32, dims, values.data(),
                       values.size() * sizeof(float));
  }
  uint32_t weightI64(const std::string &name, const Dims &dims,
                     const std::vector<int64_t> &values) {
    return weightBytes(name, DType::I64, dims, values.data(),
                       values.size() * sizeof(int64_t));
  }
  /// `matrix` is row-major [rows, cols]; the tensor keeps `dims`.
  uint32_t csrWeight(const std::string &name, const Dims &dims,
                     const std::vector<float> &matrix, uint32_t rows,
                     uint32_t cols);
  uint32_t blockWeight(const std::string &name, const Dims &dims,
                       const std::vector<float> &matrix, uint32_t rows,
                       uint32_t cols, uint32_t blockRows = 4);
  /// Packed for DenseGemmAvx2 with the runtime's own packWeight.
  uint32_t packedWeight(const std::string &name, const Dims &dims,
                        const std::vector<float> &matrix, uint32_t rows,
                        uint32_t cols);

  /// An op; `params` may be null when the opcode takes none.
  void op(format::Opcode opcode, const std::vector<uint32_t> &inputs,
          const std::vector<uint32_t> &outputs, const void *params = nullptr,
          size_t paramsSize = 0,
          format::KernelId kernel = format::KernelId::Reference,
          const std::string &name = "");
  template <typename P>
  void op(format::Opcode opcode, const std::vector<uint32_t> &inputs,
          const std::vector<uint32_t> &outputs, const P &params,
          format::KernelId kernel = format::KernelId::Reference,
          const std::string &name = "") {
    op(opcode, inputs, outputs, &params, sizeof(P), kernel, name);
  }

  /// Pins an activation's arena offset (to test aliasing and bounds).
  void setOffset(uint32_t id, uint64_t offset);
  /// Direct access for tests that write odd descriptors.
  format::TensorDesc &tensor(uint32_t id) { return tensors_[id]; }

  std::vector<uint8_t> build() const;

  /// Recomputes bodyCrc32 after a test edited the blob.
  static void fixCrc(std::vector<uint8_t> &blob);
  static format::ProgramHeader header(const std::vector<uint8_t> &blob) {
    format::ProgramHeader h;
    std::memcpy(&h, blob.data(), sizeof(h));
    return h;
  }

private:
  uint32_t addTensor(const std::string &name, DType dtype,
                     format::TensorKind kind, const Dims &dims);
  uint32_t addName(const std::string &name);
  uint64_t addWeightBytes(const void *data, size_t bytes);

  std::string name_;
  std::vector<format::TensorDesc> tensors_;
  std::vector<bool> pinned_;
  std::vector<format::OpDesc> ops_;
  std::vector<uint32_t> operands_;
  std::vector<uint32_t> inputs_, outputs_;
  std::vector<uint8_t> params_;
  std::string names_ = std::string(1, '\0');
  std::vector<uint8_t> weights_;
};

} // namespace test
} // namespace sparseloom

#endif // SPARSELOOM_TEST_UNIT_RUNTIME_PROGRAMBUILDER_H
