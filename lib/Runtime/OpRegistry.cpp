//===- OpRegistry.cpp - The resolver, opcode facts, kernel contexts -------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Facts about opcodes that do not depend on any kernel (names, the size of
// each opcode's parameter struct) live here, so the loader can check a
// program's op table before asking the resolver for kernels, and so this file
// pulls no kernel into the link.
//
//===----------------------------------------------------------------------===//

#include "Program.h"

#include <cstdio>

namespace sparseloom {
namespace runtime {

using format::Opcode;

const char *opcodeName(Opcode opcode) {
  switch (opcode) {
#define SL_OPCODE(NAME)                                                        \
  case Opcode::NAME:                                                           \
    return #NAME;
    SL_OPCODE(Conv)
    SL_OPCODE(Gemm)
    SL_OPCODE(MatMul)
    SL_OPCODE(PointwiseDepthwise)
    SL_OPCODE(Add)
    SL_OPCODE(Sub)
    SL_OPCODE(Mul)
    SL_OPCODE(Div)
    SL_OPCODE(Pow)
    SL_OPCODE(Equal)
    SL_OPCODE(Less)
    SL_OPCODE(Greater)
    SL_OPCODE(And)
    SL_OPCODE(Or)
    SL_OPCODE(Max)
    SL_OPCODE(Min)
    SL_OPCODE(Where)
    SL_OPCODE(Mod)
    SL_OPCODE(Relu)
    SL_OPCODE(Clip)
    SL_OPCODE(Sigmoid)
    SL_OPCODE(HardSigmoid)
    SL_OPCODE(HardSwish)
    SL_OPCODE(Tanh)
    SL_OPCODE(Erf)
    SL_OPCODE(Gelu)
    SL_OPCODE(Sqrt)
    SL_OPCODE(Exp)
    SL_OPCODE(Log)
    SL_OPCODE(Abs)
    SL_OPCODE(Neg)
    SL_OPCODE(Reciprocal)
    SL_OPCODE(Not)
    SL_OPCODE(Cast)
    SL_OPCODE(LeakyRelu)
    SL_OPCODE(Floor)
    SL_OPCODE(Ceil)
    SL_OPCODE(Identity)
    SL_OPCODE(Elu)
    SL_OPCODE(Softplus)
    SL_OPCODE(Sin)
    SL_OPCODE(Cos)
    SL_OPCODE(Softmax)
    SL_OPCODE(LogSoftmax)
    SL_OPCODE(LayerNormalization)
    SL_OPCODE(BatchNormalization)
    SL_OPCODE(ReduceMean)
    SL_OPCODE(ReduceSum)
    SL_OPCODE(ReduceMax)
    SL_OPCODE(ReduceMin)
    SL_OPCODE(ReduceProd)
    SL_OPCODE(ArgMax)
    SL_OPCODE(ArgMin)
    SL_OPCODE(MaxPool)
    SL_OPCODE(AveragePool)
    SL_OPCODE(GlobalAveragePool)
    SL_OPCODE(GlobalMaxPool)
    SL_OPCODE(Transpose)
    SL_OPCODE(Concat)
    SL_OPCODE(Split)
    SL_OPCODE(Slice)
    SL_OPCODE(Gather)
    SL_OPCODE(Expand)
    SL_OPCODE(Pad)
    SL_OPCODE(Tile)
#undef SL_OPCODE
  }
  return nullptr;
}

const char *kernelIdName(format::KernelId kernel) {
  switch (kernel) {
  case format::KernelId::Reference:
    return "Reference";
  case format::KernelId::DenseGemmAvx2:
    return "DenseGemmAvx2";
  case format::KernelId::SpmmCsrAvx2:
    return "SpmmCsrAvx2";
  case format::KernelId::SpmmBlock4x1Avx2:
    return "SpmmBlock4x1Avx2";
  case format::KernelId::DepthwiseAvx2:
    return "DepthwiseAvx2";
  }
  return nullptr;
}

int64_t opcodeParamsSize(Opcode opcode) {
  switch (opcode) {
  case Opcode::Conv:
    return sizeof(format::ConvParams);
  case Opcode::PointwiseDepthwise:
    return sizeof(format::PointwiseDepthwiseParams);
  case Opcode::Gemm:
    return sizeof(format::GemmParams);
  case Opcode::Mod:
    return sizeof(format::ModParams);
  case Opcode::Clip:
    return sizeof(format::ClipParams);
  case Opcode::HardSigmoid:
  case Opcode::LeakyRelu:
  case Opcode::Elu:
    return sizeof(format::AlphaBetaParams);
  case Opcode::Gelu:
    return sizeof(format::GeluParams);
  case Opcode::Softmax:
  case Opcode::LogSoftmax:
  case Opcode::Concat:
  case Opcode::Split:
  case Opcode::Gather:
    return sizeof(format::AxisParams);
  case Opcode::LayerNormalization:
  case Opcode::BatchNormalization:
    return sizeof(format::LayerNormParams);
  case Opcode::ReduceMean:
  case Opcode::ReduceSum:
  case Opcode::ReduceMax:
  case Opcode::ReduceMin:
  case Opcode::ReduceProd:
  case Opcode::ArgMax:
  case Opcode::ArgMin:
    return sizeof(format::ReduceParams);
  case Opcode::MaxPool:
  case Opcode::AveragePool:
    return sizeof(format::PoolParams);
  case Opcode::Transpose:
    return sizeof(format::TransposeParams);
  case Opcode::Slice:
    return sizeof(format::SliceParams);
  case Opcode::Pad:
    return sizeof(format::PadParams);
  default:
    return opcodeName(opcode) ? 0 : -1;
  }
}

void *PrepareContext::allocate(size_t bytes) {
  return storage_.allocate(bytes, "op kernel state");
}

void *PrepareContext::allocateTemporary(size_t bytes) {
  return allocateOrFail(storage_.allocator, bytes, 64, "op preparation");
}

void PrepareContext::releaseTemporary(void *ptr) {
  if (ptr)
    storage_.allocator.free(ptr, storage_.allocator.user);
}

void PrepareContext::prefetchBeforeEval(const void *address, size_t bytes) {
  if (prefetch_)
    prefetch_->add(address, bytes);
}

void PrepareContext::prefetchCodeBeforeEval(const void *entry) {
  if (prefetch_)
    prefetch_->addCode(entry);
}

sl_status PrepareContext::fail(sl_status status, const char *format, ...) {
  va_list args;
  va_start(args, format);
  setErrorV(status, format, args);
  va_end(args);
  const char *opName = opcodeName(op.desc->opcode);
  prefixError("op '%s' (%s)", op.name, opName ? opName : "?");
  return status;
}

sl_status ExecContext::fail(const OpView &op, sl_status status,
                            const char *format, ...) {
  va_list args;
  va_start(args, format);
  setErrorV(status, format, args);
  va_end(args);
  const char *opName = opcodeName(op.desc->opcode);
  prefixError("op '%s' (%s)", op.name, opName ? opName : "?");
  return status;
}

} // namespace runtime
} // namespace sparseloom

using namespace sparseloom;

bool sl_op_resolver::add(const runtime::OpKernel &kernel) {
  for (unsigned i = 0; i < count_; ++i) {
    if (entries_[i].opcode == kernel.opcode) {
      entries_[i] = kernel;
      return true;
    }
  }
  if (count_ == kCapacity)
    return false;
  entries_[count_++] = kernel;
  return true;
}

const runtime::OpKernel *sl_op_resolver::find(format::Opcode opcode) const {
  for (unsigned i = 0; i < count_; ++i)
    if (entries_[i].opcode == opcode)
      return &entries_[i];
  return nullptr;
}
