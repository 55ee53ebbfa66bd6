//===- OpUtil.h - Helpers shared by the op kernels --------------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The checks every Prepare repeats (operand counts, dtypes, exact shapes,
// broadcast compatibility) with messages that name the operand, and the
// broadcasting iterator the elementwise, Expand and reduction kernels share.
//
// The iterator walks the output in row-major order one innermost row at a
// time, handing the callback each operand's offset and its stride along the
// row (0 for a broadcast axis). Adjacent axes that every operand reads
// contiguously are merged first, so same-shape operands become one long row
// and a [1,128,768] + [768] bias add becomes 128 rows of 768.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_LIB_RUNTIME_OPS_OPUTIL_H
#define SPARSELOOM_LIB_RUNTIME_OPS_OPUTIL_H

#include "Program.h"

#include "Kernels/ThreadPool.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

namespace sparseloom {
namespace runtime {
namespace ops {

using format::DType;
using format::Encoding;
using format::KernelId;
using format::kMaxRank;
using format::Opcode;
using format::TensorDesc;
using format::TensorKind;

/// A set of dtypes, for "expects one of" checks.
using DTypeMask = uint32_t;
constexpr DTypeMask bit(DType d) { return 1u << unsigned(d); }
constexpr DTypeMask kFloat = bit(DType::F32);
constexpr DTypeMask kInts = bit(DType::I32) | bit(DType::I64);
constexpr DTypeMask kSmallInts = bit(DType::U8) | bit(DType::I8);
constexpr DTypeMask kNumeric = kFloat | kInts | kSmallInts;
constexpr DTypeMask kBool = bit(DType::Bool);
constexpr DTypeMask kAny = kNumeric | kBool;

inline int64_t count(const TensorDesc &t) { return numElements(t); }

inline bool sameDims(const TensorDesc &a, const TensorDesc &b) {
  if (a.rank != b.rank)
    return false;
  for (unsigned i = 0; i < a.rank; ++i)
    if (a.dims[i] != b.dims[i])
      return false;
  return true;
}

/// "[1,3,224,224]" into `buffer` (returns it).
const char *shapeString(const TensorDesc &t, char *buffer, size_t size);

/// Operand counts: numInputs in [minIn, maxIn], numOutputs in
/// [minOut, maxOut]; every input below minIn must be present.
sl_status expectOperands(PrepareContext &ctx, unsigned minIn, unsigned maxIn,
                         unsigned minOut = 1, unsigned maxOut = 1);
/// `t` (called `what`, e.g. "input 1") has a dtype in `allowed`.
sl_status expectDType(PrepareContext &ctx, const TensorDesc &t,
                      const char *what, DTypeMask allowed);
sl_status expectSameDType(PrepareContext &ctx, const TensorDesc &a,
                          const char *whatA, const TensorDesc &b,
                          const char *whatB);
/// `t` has exactly `rank` dims `dims`.
sl_status expectShape(PrepareContext &ctx, const TensorDesc &t,
                      const char *what, unsigned rank, const int64_t *dims);
sl_status expectSameShape(PrepareContext &ctx, const TensorDesc &a,
                          const char *whatA, const TensorDesc &b,
                          const char *whatB);
/// Element counts equal (reshape-like ops).
sl_status expectSameCount(PrepareContext &ctx, const TensorDesc &a,
                          const char *whatA, const TensorDesc &b,
                          const char *whatB);
/// `out` is the numpy broadcast of `ins` (multidirectional).
sl_status expectBroadcast(PrepareContext &ctx, const TensorDesc *const *ins,
                          unsigned n, const TensorDesc &out);
/// `in` broadcasts to `out` (unidirectional: out's shape wins).
bool broadcastsTo(const TensorDesc &in, const TensorDesc &out);
/// The input is an activation or a Dense weight (kernels that read it as
/// plain row-major data).
sl_status expectDenseData(PrepareContext &ctx, const TensorDesc &t,
                          const char *what);
/// Copies a window's parameters (ConvParams or PoolParams: kernel, strides,
/// dilations, pads top/left/bottom/right) into the fields of the same names
/// of a conv's or pool's geometry.
template <typename Geom, typename Params>
void setWindow(Geom &g, const Params &p) {
  g.kh = p.kernel[0];
  g.kw = p.kernel[1];
  g.sh = p.strides[0];
  g.sw = p.strides[1];
  g.dh = p.dilations[0];
  g.dw = p.dilations[1];
  g.pt = p.pads[0];
  g.pl = p.pads[1];
  g.pb = p.pads[2];
  g.pr = p.pads[3];
}

/// A window along spatial axis `axis` ("H", "W"): kernel size `k`, stride
/// `s` and dilation `d` at least 1, pads `p0`, `p1` not negative (Conv and
/// the pools check their output sizes themselves).
sl_status expectWindow(PrepareContext &ctx, const char *axis, int64_t k,
                       int64_t s, int64_t d, int64_t p0, int64_t p1);

// --- Broadcasting iteration -------------------------------------------------

constexpr unsigned kMaxOperands = 4;

/// Strides (in elements) of up to kMaxOperands operands over an output
/// shape, with broadcast axes at stride 0, after merging mergeable axes.
struct Broadcast {
  unsigned rank = 0;
  unsigned operands = 0;
  int64_t dims[kMaxRank] = {};
  int64_t strides[kMaxOperands][kMaxRank] = {};
  int64_t total = 0; // output elements
};

/// Operand k reads `ins[k]` broadcast over `out`'s shape.
void makeBroadcast(const TensorDesc &out, const TensorDesc *const *ins,
                   unsigned n, Broadcast &b);
/// Operand strides given explicitly over `rank` dims `dims` (used by
/// reductions: the output's strides are 0 on reduced axes).
void makeStrided(unsigned rank, const int64_t *dims,
                 const int64_t (*strides)[kMaxRank], unsigned n, Broadcast &b);

/// Calls f(outOffset, inOffsets, count, innerStrides) for the innermost
/// rows [rowBegin, rowEnd) of the (merged) output; the output is contiguous,
/// so element i of a row is out[outOffset + i] and operand k's is
/// in_k[inOffsets[k] + i * innerStrides[k]].
template <typename F>
void forEachRowRange(const Broadcast &b, int64_t rowBegin, int64_t rowEnd,
                     F &&f) {
  int64_t inOff[kMaxOperands] = {0, 0, 0, 0};
  if (b.total == 0 || rowBegin >= rowEnd)
    return;
  if (b.rank == 0) {
    int64_t zero[kMaxOperands] = {0, 0, 0, 0};
    f(int64_t(0), static_cast<const int64_t *>(inOff), int64_t(1),
      static_cast<const int64_t *>(zero));
    return;
  }
  const unsigned r = b.rank;
  const int64_t inner = b.dims[r - 1];
  int64_t innerStride[kMaxOperands] = {0, 0, 0, 0};
  for (unsigned k = 0; k < b.operands; ++k)
    innerStride[k] = b.strides[k][r - 1];
  // The multi-index of the first row, and each operand's offset there.
  int64_t idx[kMaxRank] = {};
  int64_t rest = rowBegin;
  for (int d = int(r) - 2; d >= 0; --d) {
    idx[d] = rest % b.dims[d];
    rest /= b.dims[d];
    for (unsigned k = 0; k < b.operands; ++k)
      inOff[k] += idx[d] * b.strides[k][d];
  }
  int64_t outOff = rowBegin * inner;
  for (int64_t row = rowBegin; row < rowEnd; ++row) {
    f(outOff, static_cast<const int64_t *>(inOff), inner,
      static_cast<const int64_t *>(innerStride));
    outOff += inner;
    for (int d = int(r) - 2; d >= 0; --d) {
      for (unsigned k = 0; k < b.operands; ++k)
        inOff[k] += b.strides[k][d];
      if (++idx[d] < b.dims[d])
        break;
      for (unsigned k = 0; k < b.operands; ++k)
        inOff[k] -= b.strides[k][d] * b.dims[d];
      idx[d] = 0;
    }
  }
}

/// Rows of the merged output.
inline int64_t rowCount(const Broadcast &b) {
  return b.total == 0 ? 0 : (b.rank == 0 ? 1 : b.total / b.dims[b.rank - 1]);
}

template <typename F> void forEachRow(const Broadcast &b, F &&f) {
  forEachRowRange(b, 0, rowCount(b), f);
}

/// Below this many elements an op runs on the calling thread: waking the
/// pool costs more than the work.
constexpr int64_t kParallelElements = 1 << 15;

/// Calls f(begin, end) on disjoint ranges covering [0, count), split over
/// `pool` when `work` (elements touched) is large enough. Each index must
/// be independent of the others, so results never depend on the split.
template <typename F>
void parallelRange(ThreadPool *pool, int64_t count, int64_t work, F &&f) {
  if (!pool || pool->threads() < 2 || work < kParallelElements || count < 2) {
    if (count > 0)
      f(int64_t(0), count);
    return;
  }
  pool->parallelFor(size_t(count), [&](size_t begin, size_t end) {
    f(int64_t(begin), int64_t(end));
  });
}

/// forEachRow, split over the pool by rows (a single long row is split
/// along its length).
template <typename F>
void forEachRowParallel(const Broadcast &b, ThreadPool *pool, F &&f) {
  const int64_t rows = rowCount(b);
  if (rows == 1 && b.rank == 1) {
    const int64_t n = b.dims[0];
    parallelRange(pool, n, n, [&](int64_t begin, int64_t end) {
      int64_t off[kMaxOperands] = {0, 0, 0, 0};
      int64_t stride[kMaxOperands] = {0, 0, 0, 0};
      for (unsigned k = 0; k < b.operands; ++k) {
        stride[k] = b.strides[k][0];
        off[k] = begin * stride[k];
      }
      f(begin, static_cast<const int64_t *>(off), end - begin,
        static_cast<const int64_t *>(stride));
    });
    return;
  }
  parallelRange(pool, rows, b.total, [&](int64_t begin, int64_t end) {
    forEachRowRange(b, begin, end, f);
  });
}

/// For a sliding window along one axis: the outputs [lo, hi) whose input
/// position out * stride - pad + offset lies in [0, size) (offset is the
/// tap's dilated position). Lets convolution and pooling loops run without
/// a bounds check per element.
inline void validOutputRange(int64_t outSize, int64_t size, int64_t stride,
                             int64_t pad, int64_t offset, int64_t &lo,
                             int64_t &hi) {
  const int64_t first = pad - offset; // out * stride >= first
  lo = first <= 0 ? 0 : (first + stride - 1) / stride;
  const int64_t last = size - 1 + pad - offset; // out * stride <= last
  hi = last < 0 ? 0
                : (last / stride + 1 < outSize ? last / stride + 1 : outSize);
  lo = lo < hi ? lo : hi;
}

/// Row-major strides of `t` (elements).
void contiguousStrides(const TensorDesc &t, int64_t *strides);

// --- Element conversion -----------------------------------------------------

/// Converts a double to T, saturating to T's range (NaN becomes 0) so that
/// out-of-range values never invoke undefined behaviour.
template <typename T> T saturateCast(double v) {
  if constexpr (std::is_floating_point<T>::value) {
    return static_cast<T>(v);
  } else if constexpr (std::is_same<T, bool>::value) {
    return v != 0;
  } else {
    if (std::isnan(v))
      return 0;
    constexpr double lo = double(std::numeric_limits<T>::lowest());
    constexpr double hi = double(std::numeric_limits<T>::max());
    if (v <= lo)
      return std::numeric_limits<T>::lowest();
    if (v >= hi)
      return std::numeric_limits<T>::max();
    return static_cast<T>(v);
  }
}

/// Calls f(T{}) with T the C++ type of `dtype`. Bool tensors are handled
/// as uint8_t (a caller's bool input may hold any byte; kernels that care
/// test != 0 and write 0 or 1), so no kernel ever loads an invalid bool.
template <typename F> void dispatchDType(DType dtype, F &&f) {
  switch (dtype) {
  case DType::F32:
    f(float{});
    return;
  case DType::I32:
    f(int32_t{});
    return;
  case DType::I64:
    f(int64_t{});
    return;
  case DType::I8:
    f(int8_t{});
    return;
  case DType::U8:
  case DType::Bool:
    f(uint8_t{});
    return;
  }
}

/// Calls f(T{}) with an unsigned integer type of the dtype's size, for
/// kernels that only move elements.
template <typename F> void dispatchBySize(size_t size, F &&f) {
  switch (size) {
  case 1:
    f(uint8_t{});
    return;
  case 4:
    f(uint32_t{});
    return;
  case 8:
    f(uint64_t{});
    return;
  default:
    return;
  }
}

} // namespace ops
} // namespace runtime
} // namespace sparseloom

#endif // SPARSELOOM_LIB_RUNTIME_OPS_OPUTIL_H
