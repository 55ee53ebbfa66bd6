//===- FastOpsUnavailable.cpp - FastOps.h entry points off x86 ------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Built instead of the AVX-512 files on other architectures, where
// cpuHasAvx512Ops() is false and the op kernels never call these: they
// exist so that the portable callers link, and abort if reached.
//
//===----------------------------------------------------------------------===//

#include "FastOps.h"

#include <cstdio>
#include <cstdlib>

namespace sparseloom {
namespace runtime {

namespace {
[[noreturn]] void unavailable(const char *name) {
  std::fprintf(stderr, "sparseloom: %s called without AVX-512\n", name);
  std::abort();
}
} // namespace

void spmmCsrRowsAvx512(const SparseMatrixView &, size_t, size_t, const float *,
                       size_t, float *, size_t, size_t, size_t,
                       const Epilogue &, const float *) {
  unavailable("spmmCsrRowsAvx512");
}
void vectorFunctionAvx512(FastFunction, const float *, float *, int64_t) {
  unavailable("vectorFunctionAvx512");
}
void binaryAvx512(FastBinary, const float *, int64_t, const float *, int64_t,
                  float *, int64_t) {
  unavailable("binaryAvx512");
}
void clampAvx512(const float *, float *, int64_t, float, float) {
  unavailable("clampAvx512");
}
void addClampAvx512(const float *, const float *, float *, int64_t, float,
                    float) {
  unavailable("addClampAvx512");
}
void softmaxRowAvx512(const float *, float *, int64_t) {
  unavailable("softmaxRowAvx512");
}
void layerNormRowAvx512(const float *, float *, int64_t, float, const float *,
                        bool, const float *, bool, float &, float &) {
  unavailable("layerNormRowAvx512");
}
bool maxPoolPlaneAvx512(const float *, int64_t, int64_t, float *, int64_t,
                        int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                        int64_t) {
  unavailable("maxPoolPlaneAvx512");
}

void unfoldSegmentAvx512(const float *, int64_t, int64_t, int64_t, float *,
                         int64_t) {
  unavailable("unfoldSegmentAvx512");
}

void unfoldRowsStride2Avx512(const float *, int64_t, int64_t, int64_t, int64_t,
                             float *, int64_t) {
  unavailable("unfoldRowsStride2Avx512");
}

void im2colAvx512(const UnfoldGeom &, const float *, int64_t, int64_t, int64_t,
                  int64_t, float *) {
  unavailable("im2colAvx512");
}

void winogradInputAvx512(const WinogradTiles &, const float *, int64_t, int64_t,
                         int64_t, int64_t, float *, size_t, size_t) {
  unavailable("winogradInputAvx512");
}
void winogradOutputAvx512(const WinogradTiles &, const float *, int64_t,
                          int64_t, int64_t, int64_t, size_t, size_t,
                          const Epilogue &, float *) {
  unavailable("winogradOutputAvx512");
}

} // namespace runtime
} // namespace sparseloom
