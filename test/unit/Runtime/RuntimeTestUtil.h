//===- RuntimeTestUtil.h - Running hand-built programs in tests -*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Load a built program, run it once on typed inputs and return its outputs
// (or the status and message of the first failure), so each op test is a
// few lines: build, run, compare with a naive expectation.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_TEST_UNIT_RUNTIME_RUNTIMETESTUTIL_H
#define SPARSELOOM_TEST_UNIT_RUNTIME_RUNTIMETESTUTIL_H

#include "ProgramBuilder.h"

#include "sparseloom/Runtime/Runtime.hpp"

#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace sparseloom {
namespace test {

/// One input's bytes, in program input order.
struct Bytes {
  std::vector<uint8_t> data;
  template <typename T> static Bytes of(const std::vector<T> &values) {
    Bytes b;
    b.data.resize(values.size() * sizeof(T));
    if (!values.empty())
      std::memcpy(b.data.data(), values.data(), b.data.size());
    return b;
  }
  template <typename T> std::vector<T> as() const {
    std::vector<T> v(data.size() / sizeof(T));
    if (!v.empty())
      std::memcpy(v.data(), data.data(), v.size() * sizeof(T));
    return v;
  }
};

struct RunResult {
  sl_status status = SL_OK;
  std::string message;
  std::vector<Bytes> outputs;
  bool ok() const { return status == SL_OK; }
  template <typename T> std::vector<T> out(size_t i = 0) const {
    return outputs.at(i).as<T>();
  }
};

/// Loads `blob` (with `loadFlags`, SL_LOAD_*), runs it once on `inputs`
/// with `threads` and session `flags` and returns the outputs (or the
/// failing status and message). `allocator` (or the default one) serves
/// the program and the session, both freed before this returns.
inline RunResult runProgram(const std::vector<uint8_t> &blob,
                            const std::vector<Bytes> &inputs,
                            unsigned threads = 1, uint32_t flags = 0,
                            uint32_t loadFlags = 0,
                            const sl_allocator *allocator = nullptr) {
  RunResult r;
  runtime::Program program;
  sl_load_options options = {loadFlags, sl_builtin_op_resolver()};
  runtime::Status s = runtime::Program::load(blob.data(), blob.size(), options,
                                             program, allocator);
  if (!s) {
    r.status = s.code();
    r.message = s.message();
    return r;
  }
  runtime::Session session;
  s = runtime::Session::create(program, session, {threads, flags}, allocator);
  if (!s) {
    r.status = s.code();
    r.message = s.message();
    return r;
  }
  std::vector<sl_tensor_view> views;
  for (size_t i = 0; i < inputs.size(); ++i)
    views.push_back(runtime::makeTensorView(
        program.inputInfo(i), inputs[i].data.data(), inputs[i].data.size()));
  s = session.run(views);
  if (!s) {
    r.status = s.code();
    r.message = s.message();
    return r;
  }
  for (size_t i = 0; i < session.outputCount(); ++i) {
    sl_tensor_view v;
    session.output(i, v);
    Bytes b;
    const auto *p = static_cast<const uint8_t *>(v.data);
    b.data.assign(p, p + v.bytes);
    r.outputs.push_back(std::move(b));
  }
  return r;
}

inline std::vector<float> randomFloats(size_t n, uint32_t seed, float lo = -1.f,
                                       float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(rng);
  return v;
}

/// Zeros a fraction `sparsity` of `v` (deterministically).
inline void sparsify(std::vector<float> &v, double sparsity, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(0, 1);
  for (float &x : v)
    if (dist(rng) < sparsity)
      x = 0.f;
}

} // namespace test
} // namespace sparseloom

#endif // SPARSELOOM_TEST_UNIT_RUNTIME_RUNTIMETESTUTIL_H
