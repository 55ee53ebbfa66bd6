//===- Npy.h - .npy arrays for host tools -----------------------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Host utilities of the runtime (lib/Runtime/Host, standard library only):
// reading and writing NumPy .npy files (format versions 1.0, 2.0 and 3.0;
// little-endian float32, int64, int32, int8, uint8 and bool; C order), and
// whole-file reads and atomic writes. They serve sparseloom-run, the tests
// and applications that feed the runtime from files; the embedded runtime
// itself never touches files.
//
// Errors are returned as text ("PATH: what is wrong"), never thrown, so a
// tool can print them in its own `tool: error: ...` form.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_RUNTIME_NPY_H
#define SPARSELOOM_RUNTIME_NPY_H

#include "sparseloom/Runtime/sparseloom_runtime.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sparseloom {
namespace runtime {

/// A dense row-major array with its element type. `data` holds
/// product(shape) * sl_dtype_size(dtype) bytes in little-endian order.
struct NpyArray {
  sl_dtype dtype = SL_DTYPE_FLOAT32;
  std::vector<int64_t> shape; // empty: a scalar
  std::vector<uint8_t> data;

  size_t numElements() const;
  /// A view for sl_session_run (valid while this array lives and is not
  /// resized). Fails (returns rank > SL_MAX_RANK) for rank > 8 arrays, so
  /// callers check rank first.
  sl_tensor_view view() const;
  /// A copy of a runtime tensor (e.g. a session output).
  static NpyArray fromView(const sl_tensor_view &view);
  /// A float32 array of the given shape, copying `values`.
  static NpyArray fromFloats(std::vector<int64_t> shape,
                             const std::vector<float> &values);
  /// The elements as float (float32 data only; asserts otherwise).
  const float *floats() const;
};

/// Parses the bytes of a .npy file. On failure returns false with `error`
/// saying what is wrong (Fortran order, big-endian, an unsupported dtype, a
/// truncated or malformed header, data shorter than the shape needs).
bool parseNpy(const void *bytes, size_t size, NpyArray &out,
              std::string &error);
/// The .npy encoding of `array` (format 1.0, or 2.0 when the header needs
/// it).
std::vector<uint8_t> serializeNpy(const NpyArray &array);

/// readBinaryFile + parseNpy; `error` starts with the path.
bool readNpy(const std::string &path, NpyArray &out, std::string &error);
/// serializeNpy + writeFileAtomically; `error` starts with the path.
bool writeNpy(const std::string &path, const NpyArray &array,
              std::string &error);

/// The whole file. `error` is "PATH: cannot open: REASON" on failure.
bool readBinaryFile(const std::string &path, std::vector<uint8_t> &out,
                    std::string &error);
/// Writes to a temporary file next to `path` and renames it into place, so
/// a failure never leaves a half-written file.
bool writeFileAtomically(const std::string &path, const void *data, size_t size,
                         std::string &error);

/// The .npy descr for `dtype` ("<f4", "<i8", "|b1", ...), or null.
const char *npyDescr(sl_dtype dtype);

} // namespace runtime
} // namespace sparseloom

#endif // SPARSELOOM_RUNTIME_NPY_H
