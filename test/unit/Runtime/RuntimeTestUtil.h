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
#include <functional>
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

/// One PointwiseDepthwise op: x [n, k, h, w] -> a 1x1 conv to m channels
/// (Relu; its weight 80 % sparse, in `w1`) -> a 3x3 depthwise conv (pads
/// 1, `stride`) -> y. `w2Dims` replaces the depthwise weight's shape,
/// `withW2 = false` leaves it out and `edit` changes the parameters: the
/// loader tests' bad programs.
struct PointwiseDepthwiseSpec {
  int64_t n = 1, k = 8, h = 6, w = 6, m = 16, stride = 1;
  format::Encoding w1 = format::Encoding::Csr;
  format::Encoding w2 = format::Encoding::Dense;
  format::KernelId kernel = format::KernelId::SpmmCsrAvx2;
  std::vector<int64_t> w2Dims; // default {m, 1, 3, 3}
  bool withW2 = true;
  std::function<void(format::PointwiseDepthwiseParams &)> edit;
};

inline std::vector<uint8_t>
pointwiseDepthwiseProgram(const PointwiseDepthwiseSpec &s) {
  using namespace format;
  ProgramBuilder b("pw-dw");
  const int64_t oh = (s.h - 1) / s.stride + 1, ow = (s.w - 1) / s.stride + 1;
  uint32_t x = b.input("x", DType::F32, {s.n, s.k, s.h, s.w});
  std::vector<float> w = randomFloats(size_t(s.m * s.k), 1);
  sparsify(w, 0.8, 2);
  uint32_t w1 =
      s.w1 == Encoding::Csr
          ? b.csrWeight("w1", {s.m, s.k, 1, 1}, w, uint32_t(s.m), uint32_t(s.k))
          : b.weight("w1", {s.m, s.k, 1, 1}, w);
  uint32_t b1 = b.weight("b1", {s.m}, randomFloats(size_t(s.m), 3));
  const std::vector<int64_t> w2Dims =
      s.w2Dims.empty() ? std::vector<int64_t>{s.m, 1, 3, 3} : s.w2Dims;
  int64_t w2Count = 1;
  for (int64_t d : w2Dims)
    w2Count *= d;
  std::vector<float> dw = randomFloats(size_t(w2Count), 4);
  uint32_t w2 = s.w2 == Encoding::Csr
                    ? b.csrWeight("w2", w2Dims, dw, uint32_t(w2Dims[0]),
                                  uint32_t(w2Count / w2Dims[0]))
                    : b.weight("w2", w2Dims, dw);
  uint32_t b2 = b.weight("b2", {s.m}, randomFloats(size_t(s.m), 5));
  uint32_t y = b.activation("y", DType::F32, {s.n, s.m, oh, ow});
  PointwiseDepthwiseParams p{};
  p.pointwise.kernel[0] = p.pointwise.kernel[1] = 1;
  p.pointwise.strides[0] = p.pointwise.strides[1] = 1;
  p.pointwise.dilations[0] = p.pointwise.dilations[1] = 1;
  p.pointwise.group = 1;
  p.pointwise.activation = Activation::Relu;
  p.depthwise.kernel[0] = p.depthwise.kernel[1] = 3;
  p.depthwise.strides[0] = p.depthwise.strides[1] = int32_t(s.stride);
  p.depthwise.dilations[0] = p.depthwise.dilations[1] = 1;
  for (int &pad : p.depthwise.pads)
    pad = 1;
  p.depthwise.group = int32_t(s.m);
  if (s.edit)
    s.edit(p);
  b.op(Opcode::PointwiseDepthwise, {x, w1, b1, s.withW2 ? w2 : kNoTensor, b2},
       {y}, p, s.kernel, "expand");
  b.output(y);
  return b.build();
}

} // namespace test
} // namespace sparseloom

#endif // SPARSELOOM_TEST_UNIT_RUNTIME_RUNTIMETESTUTIL_H
