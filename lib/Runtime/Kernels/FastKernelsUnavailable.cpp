//===- FastKernelsUnavailable.cpp - Fast kernels on non-x86 hosts ---------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Built instead of the AVX2 files when the target is not x86: there,
// cpuHasAvx2Fma() is false, so the runtime only ever calls the reference
// kernels and reaching one of these entry points is a programming error.
// They exist so that code dispatching on cpuHasAvx2Fma() links everywhere.
//
//===----------------------------------------------------------------------===//

#include "FastKernels.h"

#include <cstdio>
#include <cstdlib>

namespace sparseloom {
namespace runtime {

namespace {
[[noreturn]] void unavailable(const char *name) {
  std::fprintf(stderr,
               "sparseloom runtime: %s called on a CPU without AVX2+FMA "
               "(callers must check cpuHasAvx2Fma())\n",
               name);
  std::abort();
}
} // namespace

const void *spmmColumnCode(bool) { return nullptr; }
const void *sgemvCode() { return nullptr; }

void sgemmPackedAvx2(const float *, uint32_t, uint32_t, uint32_t, const float *,
                     size_t, float *, size_t, const Epilogue &, float *,
                     ThreadPool *) {
  unavailable("sgemmPackedAvx2");
}

void sgemmPackedTransAvx2(const float *, uint32_t, uint32_t, uint32_t,
                          const float *, size_t, bool, float *, size_t, bool,
                          const Epilogue &, float *, ThreadPool *) {
  unavailable("sgemmPackedTransAvx2");
}

void sgemmAvx2(uint32_t, uint32_t, uint32_t, const float *, size_t, bool,
               const float *, size_t, bool, float *, size_t, float, float,
               float *, ThreadPool *) {
  unavailable("sgemmAvx2");
}

void sgemmPackedTransAvx512(const float *, uint32_t, uint32_t, uint32_t,
                            const float *, size_t, bool, float *, size_t, bool,
                            const Epilogue &, float *, ThreadPool *) {
  unavailable("sgemmPackedTransAvx512");
}

void sgemmAvx512(uint32_t, uint32_t, uint32_t, const float *, size_t, bool,
                 const float *, size_t, bool, float *, size_t, float, float,
                 float *, ThreadPool *) {
  unavailable("sgemmAvx512");
}

void spmmCsrAvx2(const SparseMatrixView &, uint32_t, const float *, size_t,
                 float *, size_t, const Epilogue &, ThreadPool *, float *) {
  unavailable("spmmCsrAvx2");
}

CsrOperand alignCsrOperand(uint32_t, uint32_t, const float *b, size_t ldb,
                           float *, bool, ThreadPool *) {
  return CsrOperand{b, ldb, nullptr};
}

void spmmCsrRowsAvx2(const SparseMatrixView &, size_t, size_t,
                     const CsrOperand &, uint32_t, float *, size_t,
                     const Epilogue &) {
  unavailable("spmmCsrRowsAvx2");
}

void spmmBlock4x1Avx2(const SparseMatrixView &, uint32_t, const float *, size_t,
                      float *, size_t, const Epilogue &, ThreadPool *) {
  unavailable("spmmBlock4x1Avx2");
}

void transposeAvx2(const float *, uint32_t, uint32_t, size_t, float *, size_t,
                   ThreadPool *) {
  unavailable("transposeAvx2");
}

void depthwiseConvAvx2(const float *, uint32_t, uint32_t, uint32_t,
                       const float *, const format::ConvParams &, uint32_t,
                       uint32_t, float *, size_t, const Epilogue &,
                       ThreadPool *) {
  unavailable("depthwiseConvAvx2");
}

} // namespace runtime
} // namespace sparseloom
