//===- PaddedPlanes.cpp - Aligned planes between depthwise and 1x1 convs --===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The sparse CSR kernel reads rows of its activation operand with 16-float
// vector loads. A 14x14 or 7x7 plane (196 or 49 floats) starts off a cache
// line three times in four, so spmmCsrAvx2 first copies the operand into
// 64-byte aligned rows: split loads cost more than the copy. For
// MobileNetV2's 14x14 and 7x7 projects that copy was 30-45 % of the layer.
//
// When the operand is a depthwise conv's output that the 1x1 conv alone
// reads, the depthwise conv can write those aligned rows itself: the
// tensor gets Encoding::PaddedPlanes (each plane starts
// paddedPlaneFloats(H * W) floats after the last), the depthwise kernel
// writes planes that far apart, and the 1x1 conv's product reads them in
// place with ldb = the padded plane. Same values, same order: the output
// bits do not change. LowerOptions::padPlanes turns it off.
//
// Runs on the finished op list, before the memory plan sizes the buffers.
//
//===----------------------------------------------------------------------===//

#include "LowerInternal.h"
#include "Lowerer.h"

#include <cstring>

namespace sparseloom {

using format::Encoding;
using format::KernelId;
using format::Opcode;

namespace lower {

namespace {

format::ConvParams convParams(const ProgramOp &op) {
  format::ConvParams p;
  assert(op.params.size() == sizeof(p) && "not a Conv");
  std::memcpy(&p, op.params.data(), sizeof(p));
  return p;
}

bool hasResidual(const ProgramOp &op) {
  return op.inputs.size() > 3 && op.inputs[3] != format::kNoTensor;
}

} // namespace

void Lowerer::padPlanesForSparseReaders() {
  if (!options_.padPlanes)
    return;
  const size_t numTensors = draft_.tensors.size();
  // Per tensor: the op writing it, its readers, the tensors on its storage.
  std::vector<int64_t> writer(numTensors, -1);
  std::vector<std::vector<size_t>> readers(numTensors);
  std::vector<unsigned> sharing(draft_.storages.size(), 0);
  for (size_t i = 0; i < draft_.ops.size(); ++i) {
    for (uint32_t t : draft_.ops[i].inputs)
      if (t != format::kNoTensor)
        readers[t].push_back(i);
    for (uint32_t t : draft_.ops[i].outputs)
      writer[t] = int64_t(i);
  }
  for (const ProgramTensor &t : draft_.tensors)
    if (t.storage >= 0)
      ++sharing[size_t(t.storage)];
  std::vector<bool> io(numTensors, false);
  for (uint32_t t : draft_.inputs)
    io[t] = true;
  for (uint32_t t : draft_.outputs)
    io[t] = true;

  for (uint32_t id = 0; id < numTensors; ++id) {
    ProgramTensor &t = draft_.tensors[id];
    if (t.kind != format::TensorKind::Activation ||
        t.encoding != Encoding::Dense || t.dtype != format::DType::F32 ||
        t.dims.size() != 4 || io[id] || writer[id] < 0 ||
        readers[id].size() != 1 || sharing[size_t(t.storage)] != 1)
      continue;
    const int64_t plane = t.dims[2] * t.dims[3];
    if (plane % 16 == 0)
      continue; // already aligned
    const ProgramOp &producer = draft_.ops[size_t(writer[id])];
    const ProgramOp &reader = draft_.ops[readers[id].front()];
    if (producer.opcode != Opcode::Conv ||
        producer.kernel != KernelId::DepthwiseAvx2 ||
        producer.outputs[0] != id || hasResidual(producer))
      continue;
    if (reader.opcode != Opcode::Conv ||
        reader.kernel != KernelId::SpmmCsrAvx2 || reader.inputs[0] != id ||
        !isPointwise(convParams(reader)))
      continue;
    t.encoding = Encoding::PaddedPlanes;
    t.bytes =
        uint64_t(t.dims[0] * t.dims[1] * format::paddedPlaneFloats(plane)) *
        sizeof(float);
    draft_.storages[size_t(t.storage)].bytes = t.bytes;
    const std::string padded =
        std::to_string(plane) + " -> " +
        std::to_string(format::paddedPlaneFloats(plane)) + " floats";
    LoweredOp &wrote = report_.ops[size_t(writer[id])];
    LoweredOp &read = report_.ops[readers[id].front()];
    wrote.reason +=
        "; writes its planes 64-byte aligned (" + padded + ") for " + read.node;
    read.reason +=
        "; reads the aligned planes of " + wrote.node + " in place (no copy)";
  }
}

} // namespace lower
} // namespace sparseloom
