//===- Npy.cpp - .npy arrays and file helpers for host tools --------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The .npy format: the magic "\x93NUMPY", a version (1.0: 2-byte header
// length; 2.0/3.0: 4-byte), then a Python dict literal such as
// {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 32, 32), }
// padded with spaces and a newline so the data starts 64-byte aligned, then
// the raw elements. The parser accepts exactly what NumPy writes for our
// dtypes and explains everything else instead of guessing: a big-endian or
// unsupported dtype names the dtype and what to convert to; Fortran order
// names np.ascontiguousarray.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Runtime/Npy.h"

#include <cassert>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace sparseloom {
namespace runtime {

namespace {

const char kMagic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

struct DTypeName {
  const char *descr; // without the byte-order character
  sl_dtype dtype;
};
const DTypeName kDTypes[] = {
    {"f4", SL_DTYPE_FLOAT32}, {"i8", SL_DTYPE_INT64}, {"i4", SL_DTYPE_INT32},
    {"b1", SL_DTYPE_BOOL},    {"u1", SL_DTYPE_UINT8}, {"i1", SL_DTYPE_INT8},
};

/// A tiny cursor over the header dict.
struct Cursor {
  const char *p, *end;
  void skipSpace() {
    while (p < end && std::isspace(static_cast<unsigned char>(*p)))
      ++p;
  }
  bool consume(char c) {
    skipSpace();
    if (p < end && *p == c) {
      ++p;
      return true;
    }
    return false;
  }
  bool string(std::string &out) {
    skipSpace();
    if (p >= end || (*p != '\'' && *p != '"'))
      return false;
    char quote = *p++;
    const char *start = p;
    while (p < end && *p != quote)
      ++p;
    if (p >= end)
      return false;
    out.assign(start, p);
    ++p;
    return true;
  }
  bool word(std::string &out) {
    skipSpace();
    const char *start = p;
    while (p < end &&
           (std::isalnum(static_cast<unsigned char>(*p)) || *p == '_'))
      ++p;
    out.assign(start, p);
    return !out.empty();
  }
  bool integer(int64_t &out) {
    skipSpace();
    if (p >= end || !std::isdigit(static_cast<unsigned char>(*p)))
      return false;
    out = 0;
    while (p < end && std::isdigit(static_cast<unsigned char>(*p))) {
      if (out > (int64_t(1) << 48))
        return false;
      out = out * 10 + (*p++ - '0');
    }
    // Python 2 long suffix, as in old files.
    if (p < end && (*p == 'L' || *p == 'l'))
      ++p;
    return true;
  }
};

bool parseHeader(const char *text, size_t size, NpyArray &out, bool &fortran,
                 std::string &descr, std::string &error) {
  Cursor c{text, text + size};
  bool haveDescr = false, haveOrder = false, haveShape = false;
  if (!c.consume('{')) {
    error = "malformed header: expected a dict";
    return false;
  }
  while (!c.consume('}')) {
    std::string key;
    if (!c.string(key) || !c.consume(':')) {
      error = "malformed header: expected 'key': value";
      return false;
    }
    if (key == "descr") {
      if (!c.string(descr)) {
        error = "malformed header: 'descr' is not a string (structured "
                "dtypes are not supported)";
        return false;
      }
      haveDescr = true;
    } else if (key == "fortran_order") {
      std::string value;
      if (!c.word(value) || (value != "True" && value != "False")) {
        error = "malformed header: 'fortran_order' is not True/False";
        return false;
      }
      fortran = value == "True";
      haveOrder = true;
    } else if (key == "shape") {
      if (!c.consume('(')) {
        error = "malformed header: 'shape' is not a tuple";
        return false;
      }
      out.shape.clear();
      while (!c.consume(')')) {
        int64_t dim;
        if (!c.integer(dim)) {
          error = "malformed header: bad dimension in 'shape'";
          return false;
        }
        out.shape.push_back(dim);
        if (out.shape.size() > 32) {
          error = "malformed header: too many dimensions";
          return false;
        }
        if (!c.consume(',')) {
          if (!c.consume(')')) {
            error = "malformed header: bad 'shape' tuple";
            return false;
          }
          break;
        }
      }
      haveShape = true;
    } else {
      error = "malformed header: unknown key '" + key + "'";
      return false;
    }
    if (!c.consume(',')) {
      if (!c.consume('}')) {
        error = "malformed header: expected ',' or '}'";
        return false;
      }
      break;
    }
  }
  if (!haveDescr || !haveOrder || !haveShape) {
    error = "malformed header: needs 'descr', 'fortran_order' and 'shape'";
    return false;
  }
  return true;
}

bool resolveDescr(const std::string &descr, sl_dtype &dtype,
                  std::string &error) {
  if (descr.size() >= 2) {
    char order = descr[0];
    std::string rest = descr.substr(1);
    for (const DTypeName &d : kDTypes) {
      if (rest != d.descr)
        continue;
      bool oneByte = rest[1] == '1';
      if (order == '<' || order == '|' || order == '=' ||
          (order == '>' && oneByte)) {
        dtype = d.dtype;
        return true;
      }
      if (order == '>') {
        error = "big-endian data ('" + descr +
                "') is not supported (save it little-endian, e.g. "
                "a.astype(a.dtype.newbyteorder('<')))";
        return false;
      }
    }
  }
  error = "unsupported dtype '" + descr +
          "' (use float32, int64, int32, int8, uint8 or bool; e.g. "
          "a.astype(np.float32))";
  return false;
}

} // namespace

const char *npyDescr(sl_dtype dtype) {
  switch (dtype) {
  case SL_DTYPE_FLOAT32:
    return "<f4";
  case SL_DTYPE_INT64:
    return "<i8";
  case SL_DTYPE_INT32:
    return "<i4";
  case SL_DTYPE_BOOL:
    return "|b1";
  case SL_DTYPE_UINT8:
    return "|u1";
  case SL_DTYPE_INT8:
    return "|i1";
  }
  return nullptr;
}

size_t NpyArray::numElements() const {
  size_t n = 1;
  for (int64_t d : shape)
    n *= size_t(d);
  return n;
}

sl_tensor_view NpyArray::view() const {
  sl_tensor_view v{};
  v.dtype = dtype;
  v.rank = uint32_t(shape.size());
  for (size_t i = 0; i < shape.size() && i < SL_MAX_RANK; ++i)
    v.dims[i] = shape[i];
  v.data = data.data();
  v.bytes = data.size();
  return v;
}

NpyArray NpyArray::fromView(const sl_tensor_view &view) {
  NpyArray a;
  a.dtype = view.dtype;
  a.shape.assign(view.dims, view.dims + view.rank);
  const auto *bytes = static_cast<const uint8_t *>(view.data);
  a.data.assign(bytes, bytes + view.bytes);
  return a;
}

NpyArray NpyArray::fromFloats(std::vector<int64_t> shape,
                              const std::vector<float> &values) {
  NpyArray a;
  a.dtype = SL_DTYPE_FLOAT32;
  a.shape = std::move(shape);
  a.data.resize(values.size() * sizeof(float));
  if (!values.empty())
    std::memcpy(a.data.data(), values.data(), a.data.size());
  return a;
}

const float *NpyArray::floats() const {
  assert(dtype == SL_DTYPE_FLOAT32 && "not a float32 array");
  return reinterpret_cast<const float *>(data.data());
}

bool parseNpy(const void *bytes, size_t size, NpyArray &out,
              std::string &error) {
  const auto *p = static_cast<const uint8_t *>(bytes);
  if (size < 10 || std::memcmp(p, kMagic, sizeof(kMagic)) != 0) {
    error = "not a .npy file (bad magic)";
    return false;
  }
  unsigned major = p[6];
  size_t headerLen, headerStart;
  if (major == 1) {
    headerLen = size_t(p[8]) | size_t(p[9]) << 8;
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) {
      error = "truncated .npy header";
      return false;
    }
    headerLen = size_t(p[8]) | size_t(p[9]) << 8 | size_t(p[10]) << 16 |
                size_t(p[11]) << 24;
    headerStart = 12;
  } else {
    error = "unsupported .npy format version " + std::to_string(major) + "." +
            std::to_string(p[7]);
    return false;
  }
  if (headerLen > size - headerStart) {
    error = "truncated .npy header (" + std::to_string(headerLen) +
            " header bytes announced, " + std::to_string(size - headerStart) +
            " present)";
    return false;
  }
  NpyArray array;
  bool fortran = false;
  std::string descr;
  if (!parseHeader(reinterpret_cast<const char *>(p + headerStart), headerLen,
                   array, fortran, descr, error))
    return false;
  if (!resolveDescr(descr, array.dtype, error))
    return false;
  size_t bigDims = 0;
  for (int64_t d : array.shape)
    bigDims += d > 1;
  if (fortran && bigDims > 1) {
    error = "Fortran-order arrays are not supported (save a C-order copy, "
            "e.g. np.ascontiguousarray(a))";
    return false;
  }
  size_t elems = 1;
  for (int64_t d : array.shape) {
    if (d != 0 && elems > (size_t(1) << 48) / size_t(d)) {
      error = "shape is too large";
      return false;
    }
    elems *= size_t(d);
  }
  size_t need = elems * sl_dtype_size(array.dtype);
  size_t dataStart = headerStart + headerLen;
  if (size - dataStart < need) {
    error = "truncated data: " + std::to_string(size - dataStart) +
            " bytes present, the shape needs " + std::to_string(need);
    return false;
  }
  array.data.assign(p + dataStart, p + dataStart + need);
  out = std::move(array);
  return true;
}

std::vector<uint8_t> serializeNpy(const NpyArray &array) {
  std::string header = "{'descr': '";
  const char *descr = npyDescr(array.dtype);
  header += descr ? descr : "<f4";
  header += "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < array.shape.size(); ++i) {
    header += std::to_string(array.shape[i]);
    if (i + 1 < array.shape.size() || array.shape.size() == 1)
      header += i + 1 < array.shape.size() ? ", " : ",";
  }
  header += "), }";
  // Pad with spaces and end with '\n' so the data starts 64-byte aligned.
  size_t prefix = 10;
  size_t total = prefix + header.size() + 1;
  if ((total + 63) / 64 * 64 - prefix > 65535) {
    prefix = 12;
    total = prefix + header.size() + 1;
  }
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::vector<uint8_t> out(kMagic, kMagic + sizeof(kMagic));
  out.push_back(prefix == 10 ? 1 : 2);
  out.push_back(0);
  size_t len = header.size();
  out.push_back(uint8_t(len));
  out.push_back(uint8_t(len >> 8));
  if (prefix == 12) {
    out.push_back(uint8_t(len >> 16));
    out.push_back(uint8_t(len >> 24));
  }
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), array.data.begin(), array.data.end());
  return out;
}

bool readBinaryFile(const std::string &path, std::vector<uint8_t> &out,
                    std::string &error) {
  std::FILE *f = std::fopen(path.c_str(), "rb");
  if (!f) {
    error = path + ": cannot open: " + std::strerror(errno);
    return false;
  }
  std::vector<uint8_t> bytes;
  uint8_t chunk[1 << 16];
  size_t n;
  while ((n = std::fread(chunk, 1, sizeof(chunk), f)) > 0)
    bytes.insert(bytes.end(), chunk, chunk + n);
  bool failed = std::ferror(f);
  int err = errno;
  std::fclose(f);
  if (failed) {
    error = path + ": cannot read: " + std::strerror(err);
    return false;
  }
  out = std::move(bytes);
  return true;
}

bool writeFileAtomically(const std::string &path, const void *data, size_t size,
                         std::string &error) {
  // A unique temporary next to the target (same file system, so the final
  // rename is atomic); "x" refuses to reuse an existing name.
  std::FILE *f = nullptr;
  std::string temp;
  auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
  for (int attempt = 0; attempt < 100 && !f; ++attempt) {
    temp = path + ".tmp" + std::to_string((stamp + attempt) % 1000000007);
    f = std::fopen(temp.c_str(), "wbx");
    if (!f && errno != EEXIST)
      break;
  }
  if (!f) {
    error = path + ": cannot write: " + std::strerror(errno);
    return false;
  }
  bool ok = size == 0 || std::fwrite(data, 1, size, f) == size;
  int err = errno;
  ok = (std::fclose(f) == 0) && ok;
  if (ok && std::rename(temp.c_str(), path.c_str()) != 0) {
    err = errno;
    ok = false;
  }
  if (!ok) {
    std::remove(temp.c_str());
    error = path + ": cannot write: " + std::strerror(err ? err : EIO);
    return false;
  }
  return true;
}

bool readNpy(const std::string &path, NpyArray &out, std::string &error) {
  std::vector<uint8_t> bytes;
  if (!readBinaryFile(path, bytes, error))
    return false;
  if (!parseNpy(bytes.data(), bytes.size(), out, error)) {
    error = path + ": " + error;
    return false;
  }
  return true;
}

bool writeNpy(const std::string &path, const NpyArray &array,
              std::string &error) {
  std::vector<uint8_t> bytes = serializeNpy(array);
  return writeFileAtomically(path, bytes.data(), bytes.size(), error);
}

} // namespace runtime
} // namespace sparseloom
