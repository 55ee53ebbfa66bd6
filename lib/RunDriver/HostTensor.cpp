//===- HostTensor.cpp - Describing host arrays and program tensors
//---------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Text for the arrays the host side passes to the runtime and reads back:
// the `float32[1,3,8,8]` form every message of sparseloom-run and the
// end-to-end tests uses, and single elements for summaries and mismatches.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/RunDriver/RunDriver.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>

using namespace sparseloom;
using namespace sparseloom::run;

namespace {

std::string formatDims(const std::vector<int64_t> &dims) {
  std::string text = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    text += (i ? "," : "") + std::to_string(dims[i]);
  return text + "]";
}

template <typename T> T load(const uint8_t *p) {
  T value;
  std::memcpy(&value, p, sizeof value);
  return value;
}

} // namespace

std::vector<int64_t> sparseloom::run::infoDims(const sl_tensor_info &info) {
  return std::vector<int64_t>(info.dims, info.dims + info.rank);
}

std::string sparseloom::run::describeInfo(const sl_tensor_info &info) {
  return std::string(sl_dtype_name(info.dtype)) + formatDims(infoDims(info));
}

std::string sparseloom::run::describeArray(const NpyArray &array) {
  return std::string(sl_dtype_name(array.dtype)) + formatDims(array.shape);
}

std::string sparseloom::run::elementToString(const NpyArray &array,
                                             size_t index) {
  size_t width = sl_dtype_size(array.dtype);
  assert(width && (index + 1) * width <= array.data.size() &&
         "element index out of range");
  const uint8_t *p = array.data.data() + index * width;
  switch (array.dtype) {
  case SL_DTYPE_FLOAT32: {
    std::string text;
    llvm::raw_string_ostream os(text);
    os << llvm::format("%.6g", double(load<float>(p)));
    return os.str();
  }
  case SL_DTYPE_INT64:
    return std::to_string(load<int64_t>(p));
  case SL_DTYPE_INT32:
    return std::to_string(load<int32_t>(p));
  case SL_DTYPE_INT8:
    return std::to_string(int(load<int8_t>(p)));
  case SL_DTYPE_UINT8:
  case SL_DTYPE_BOOL:
    return std::to_string(unsigned(*p));
  }
  return "?";
}
