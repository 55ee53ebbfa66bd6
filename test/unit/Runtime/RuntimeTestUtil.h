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

/// A k x k, stride-1, undilated conv's parameters with `pad` on every side.
inline format::ConvParams
squareConv(int k, int pad, int group,
           format::Activation act = format::Activation::None) {
  format::ConvParams p{};
  p.kernel[0] = p.kernel[1] = k;
  p.strides[0] = p.strides[1] = 1;
  p.dilations[0] = p.dilations[1] = 1;
  for (int32_t &x : p.pads)
    x = pad;
  p.group = group;
  p.activation = act;
  return p;
}

/// What paddedTail builds differently: the loader tests' bad programs, the
/// product kernels, a dense-plane baseline.
struct PaddedTailSpec {
  format::KernelId dwKernel = format::KernelId::DepthwiseAvx2;
  /// The 1x1 conv's kernel; its weight is encoded for it (Csr for
  /// SpmmCsrAvx2 and Reference).
  format::KernelId pwKernel = format::KernelId::SpmmCsrAvx2;
  int pwSize = 1;             // the reading conv's kernel (1: 1x1)
  bool padded = true;         // false: every activation Dense (the baseline)
  bool padBytes = true;       // size the padded tensor for its padded planes
  bool chain = false;         // the 1x1 conv writes padded planes for a
                              // second one (same kernel), whose output is y
  bool dwResidual = false;    // the depthwise conv adds a residual (x)
  bool paddedOutput = false;  // the padded tensor is also a graph output
  bool reluReads = false;     // a Relu reads the padded tensor too
  bool residualReads = false; // the 1x1 conv reads it as its residual too
  bool dwReadsPadded = false; // a second depthwise conv reads it
};

/// x [1, 8, 7, 7] -> depthwise 3x3 -> d (PaddedPlanes: planes of 49
/// floats 64 apart) -> 1x1 conv -> y [1, 8, 7, 7].
inline std::vector<uint8_t> paddedTail(const PaddedTailSpec &s = {}) {
  using namespace format;
  ProgramBuilder b("padded-tail");
  auto pad = [&](uint32_t id) {
    if (!s.padded)
      return;
    b.tensor(id).encoding = Encoding::PaddedPlanes;
    if (s.padBytes)
      b.tensor(id).bytes = 8 * 64 * sizeof(float);
  };
  uint32_t x = b.input("x", DType::F32, {1, 8, 7, 7});
  uint32_t dw = b.weight("dw.w", {8, 1, 3, 3}, randomFloats(72, 1));
  uint32_t d = b.activation("d", DType::F32, {1, 8, 7, 7});
  pad(d);
  const ConvParams dp = squareConv(3, 1, 8);
  b.op(Opcode::Conv, {x, dw, kNoTensor, s.dwResidual ? x : kNoTensor}, {d}, dp,
       s.dwKernel, "dw");
  const ConvParams pp = squareConv(s.pwSize, s.pwSize / 2, 1);
  // A 1x1 conv `name` from `in` to a new activation, its weight encoded
  // for s.pwKernel.
  auto pointwise = [&](const char *name, uint32_t in, uint32_t residual,
                       uint32_t seed) {
    const uint32_t cols = uint32_t(8 * s.pwSize * s.pwSize);
    std::vector<float> wp = randomFloats(8 * cols, seed);
    sparsify(wp, 0.8, seed + 1);
    const std::vector<int64_t> dims = {8, 8, s.pwSize, s.pwSize};
    const std::string wname = std::string(name) + ".w";
    uint32_t w = s.pwKernel == KernelId::SpmmBlock4x1Avx2
                     ? b.blockWeight(wname, dims, wp, 8, cols)
                 : s.pwKernel == KernelId::DenseGemmAvx2
                     ? b.packedWeight(wname, dims, wp, 8, cols)
                     : b.csrWeight(wname, dims, wp, 8, cols);
    uint32_t out = b.activation(name, DType::F32, {1, 8, 7, 7});
    b.op(Opcode::Conv, {in, w, kNoTensor, residual}, {out}, pp, s.pwKernel,
         name);
    return out;
  };
  uint32_t y = pointwise("pw", d, s.residualReads ? d : kNoTensor, 2);
  if (s.chain) {
    pad(y);
    y = pointwise("pw2", y, kNoTensor, 4);
  }
  b.output(y);
  if (s.paddedOutput)
    b.output(d);
  if (s.reluReads) {
    uint32_t r = b.activation("r", DType::F32, {1, 8, 7, 7});
    b.op(Opcode::Relu, {d}, {r}, nullptr, 0, KernelId::Reference, "relu");
    b.output(r);
  }
  if (s.dwReadsPadded) {
    uint32_t e = b.activation("e", DType::F32, {1, 8, 7, 7});
    b.op(Opcode::Conv, {d, dw}, {e}, dp, KernelId::DepthwiseAvx2, "dw2");
    b.output(e);
  }
  return b.build();
}

} // namespace test
} // namespace sparseloom

#endif // SPARSELOOM_TEST_UNIT_RUNTIME_RUNTIMETESTUTIL_H
