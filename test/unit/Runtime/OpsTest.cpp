//===- OpsTest.cpp - Every non-product op against a naive expectation -----===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Each test builds a one- or two-op program, runs it, and compares with an
// expectation computed here by the most direct index arithmetic (N-D index
// vectors, no strides tricks), so a bug in the kernels' iterators cannot
// hide in the expectation too. Products (Conv, Gemm, MatMul) have their own
// file.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestUtil.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

namespace sparseloom {
namespace test {
namespace {

using namespace format;
using Dims = std::vector<int64_t>;
using Index = std::vector<int64_t>;

int64_t product(const Dims &d) {
  int64_t p = 1;
  for (int64_t x : d)
    p *= x;
  return p;
}

/// Calls f(index) for every index of `dims` in row-major order.
void forEachIndex(const Dims &dims,
                  const std::function<void(const Index &)> &f) {
  if (product(dims) == 0)
    return;
  Index idx(dims.size(), 0);
  while (true) {
    f(idx);
    int a = int(dims.size()) - 1;
    for (; a >= 0; --a) {
      if (++idx[a] < dims[a])
        break;
      idx[a] = 0;
    }
    if (a < 0)
      return;
  }
}

/// Row-major offset of `idx` (aligned right) in a tensor of `dims`, with
/// broadcasting: size-1 dims read index 0.
int64_t offsetOf(const Dims &dims, const Index &idx) {
  int64_t off = 0;
  size_t shift = idx.size() - dims.size();
  for (size_t a = 0; a < dims.size(); ++a)
    off = off * dims[a] + (dims[a] == 1 ? 0 : idx[a + shift]);
  return off;
}

/// A one-op program: inputs (activations, in order), one output.
struct OneOp {
  ProgramBuilder b;
  std::vector<uint32_t> ins;
  std::vector<uint32_t> outs;
  uint32_t in(DType t, const Dims &d) {
    ins.push_back(b.input("in" + std::to_string(ins.size()), t, d));
    return ins.back();
  }
  uint32_t out(DType t, const Dims &d) {
    outs.push_back(b.activation("out" + std::to_string(outs.size()), t, d));
    b.output(outs.back());
    return outs.back();
  }
  template <typename P> void op(Opcode code, const P &params) {
    b.op(code, ins, outs, params);
  }
  void op(Opcode code) { b.op(code, ins, outs); }
};

void expectNear(const std::vector<float> &got, const std::vector<float> &want,
                float tol = 1e-5f) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i] == want[i])
      continue; // also equal infinities
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << "at " << i;
      continue;
    }
    EXPECT_NEAR(got[i], want[i], tol * std::max(1.f, std::fabs(want[i])))
        << "at " << i;
  }
}

// --- Binary
// ---------------------------------------------------------------------

template <typename T>
std::vector<T> broadcastBinary(const Dims &da, const std::vector<T> &a,
                               const Dims &db, const std::vector<T> &b,
                               const Dims &dout,
                               const std::function<T(T, T)> &f) {
  std::vector<T> out;
  forEachIndex(dout, [&](const Index &i) {
    out.push_back(f(a[offsetOf(da, i)], b[offsetOf(db, i)]));
  });
  return out;
}

TEST(Ops, ArithmeticBroadcastsLikeNumpy) {
  struct Case {
    Dims a, b, out;
  } cases[] = {
      {{2, 3, 4}, {4}, {2, 3, 4}},        {{2, 1, 4}, {3, 1}, {2, 3, 4}},
      {{1, 128, 16}, {16}, {1, 128, 16}}, {{5}, {}, {5}},
      {{3, 1}, {1, 5}, {3, 5}},           {{2, 3, 4}, {2, 3, 4}, {2, 3, 4}},
      {{4, 1, 1}, {1, 3, 2}, {4, 3, 2}},
  };
  const std::pair<Opcode, std::function<float(float, float)>> ops[] = {
      {Opcode::Add, [](float x, float y) { return x + y; }},
      {Opcode::Sub, [](float x, float y) { return x - y; }},
      {Opcode::Mul, [](float x, float y) { return x * y; }},
      {Opcode::Div, [](float x, float y) { return x / y; }},
  };
  uint32_t seed = 10;
  for (const Case &c : cases) {
    for (const auto &[code, f] : ops) {
      OneOp p;
      p.in(DType::F32, c.a);
      p.in(DType::F32, c.b);
      p.out(DType::F32, c.out);
      p.op(code);
      auto a = randomFloats(product(c.a), seed++);
      auto b = randomFloats(product(c.b), seed++, 0.5f, 2.f);
      RunResult r = runProgram(p.b.build(), {Bytes::of(a), Bytes::of(b)});
      ASSERT_TRUE(r.ok()) << r.message;
      expectNear(r.out<float>(),
                 broadcastBinary<float>(c.a, a, c.b, b, c.out, f));
    }
  }
}

TEST(Ops, BroadcastShapeMismatchIsALoadError) {
  OneOp p;
  p.in(DType::F32, {2, 3});
  p.in(DType::F32, {4});
  p.out(DType::F32, {2, 3});
  p.op(Opcode::Add);
  RunResult r = runProgram(p.b.build(), {});
  EXPECT_EQ(r.status, SL_ERROR_INVALID_PROGRAM);
  EXPECT_NE(r.message.find("not the broadcast of the inputs"),
            std::string::npos)
      << r.message;
}

TEST(Ops, IntegerArithmeticWrapsAndDivisionByZeroIsReported) {
  OneOp p;
  p.in(DType::I32, {4});
  p.in(DType::I32, {4});
  p.out(DType::I32, {4});
  p.op(Opcode::Div);
  std::vector<uint8_t> blob = p.b.build();
  const int32_t lo = std::numeric_limits<int32_t>::min();
  RunResult r =
      runProgram(blob, {Bytes::of(std::vector<int32_t>{7, -7, lo, 9}),
                        Bytes::of(std::vector<int32_t>{2, 2, -1, -3})});
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.out<int32_t>(), (std::vector<int32_t>{3, -3, lo, -3}));
  r = runProgram(blob, {Bytes::of(std::vector<int32_t>{1, 2, 3, 4}),
                        Bytes::of(std::vector<int32_t>{1, 0, 1, 1})});
  EXPECT_EQ(r.status, SL_ERROR_RUNTIME);
  EXPECT_NE(r.message.find("integer division by zero"), std::string::npos);

  OneOp q;
  q.in(DType::I64, {3});
  q.in(DType::I64, {1});
  q.out(DType::I64, {3});
  q.op(Opcode::Add);
  const int64_t hi = std::numeric_limits<int64_t>::max();
  r = runProgram(q.b.build(), {Bytes::of(std::vector<int64_t>{1, hi, -5}),
                               Bytes::of(std::vector<int64_t>{1})});
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.out<int64_t>(),
            (std::vector<int64_t>{2, std::numeric_limits<int64_t>::min(), -4}));
}

TEST(Ops, PowModAndComparisons) {
  {
    OneOp p;
    p.in(DType::F32, {4});
    p.in(DType::I64, {1});
    p.out(DType::F32, {4});
    p.op(Opcode::Pow);
    RunResult r =
        runProgram(p.b.build(), {Bytes::of(std::vector<float>{1, 2, -3, 0.5f}),
                                 Bytes::of(std::vector<int64_t>{2})});
    ASSERT_TRUE(r.ok()) << r.message;
    expectNear(r.out<float>(), {1, 4, 9, 0.25f});
  }
  {
    OneOp p;
    p.in(DType::F32, {3});
    p.in(DType::F32, {3});
    p.out(DType::F32, {3});
    p.op(Opcode::Pow);
    RunResult r = runProgram(p.b.build(),
                             {Bytes::of(std::vector<float>{4, 2, 9}),
                              Bytes::of(std::vector<float>{0.5f, -1, 1.5f})});
    ASSERT_TRUE(r.ok()) << r.message;
    expectNear(r.out<float>(), {2, 0.5f, 27});
  }
  for (uint8_t fmod : {0, 1}) {
    OneOp p;
    p.in(DType::I32, {4});
    p.in(DType::I32, {4});
    p.out(DType::I32, {4});
    ModParams mp{};
    mp.fmod = fmod;
    p.op(Opcode::Mod, mp);
    RunResult r = runProgram(p.b.build(),
                             {Bytes::of(std::vector<int32_t>{7, -7, 7, -7}),
                              Bytes::of(std::vector<int32_t>{3, 3, -3, -3})});
    ASSERT_TRUE(r.ok()) << r.message;
    // Python's % takes the divisor's sign; C's fmod the dividend's.
    EXPECT_EQ(r.out<int32_t>(), fmod ? (std::vector<int32_t>{1, -1, 1, -1})
                                     : (std::vector<int32_t>{1, 2, -2, -1}));
  }
  {
    OneOp p;
    p.in(DType::F32, {4});
    p.in(DType::F32, {1});
    p.out(DType::F32, {4});
    p.op(Opcode::Mod, ModParams{});
    RunResult r = runProgram(p.b.build(), {});
    EXPECT_EQ(r.status, SL_ERROR_INVALID_PROGRAM);
    EXPECT_NE(r.message.find("fmod = 1"), std::string::npos);
  }
  const std::pair<Opcode, std::vector<uint8_t>> compares[] = {
      {Opcode::Equal, {0, 1, 0}},
      {Opcode::Less, {1, 0, 0}},
      {Opcode::Greater, {0, 0, 1}},
  };
  for (const auto &[code, want] : compares) {
    OneOp p;
    p.in(DType::I64, {3});
    p.in(DType::I64, {3});
    p.out(DType::Bool, {3});
    p.op(code);
    RunResult r =
        runProgram(p.b.build(), {Bytes::of(std::vector<int64_t>{1, 5, 9}),
                                 Bytes::of(std::vector<int64_t>{2, 5, 8})});
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.out<uint8_t>(), want);
  }
  for (Opcode code : {Opcode::And, Opcode::Or}) {
    OneOp p;
    p.in(DType::Bool, {2, 2});
    p.in(DType::Bool, {2});
    p.out(DType::Bool, {2, 2});
    p.op(code);
    RunResult r =
        runProgram(p.b.build(), {Bytes::of(std::vector<uint8_t>{0, 0, 1, 1}),
                                 Bytes::of(std::vector<uint8_t>{0, 1})});
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.out<uint8_t>(), code == Opcode::And
                                    ? (std::vector<uint8_t>{0, 0, 0, 1})
                                    : (std::vector<uint8_t>{0, 1, 1, 1}));
  }
}

TEST(Ops, VariadicMaxMinAndWhere) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (Opcode code : {Opcode::Max, Opcode::Min}) {
    OneOp p;
    p.in(DType::F32, {2, 3});
    p.in(DType::F32, {3});
    p.in(DType::F32, {2, 1});
    p.out(DType::F32, {2, 3});
    p.op(code);
    std::vector<float> a{1, 5, -2, 0, nan, 3}, b{2, 2, 2}, c{-1, 4};
    RunResult r =
        runProgram(p.b.build(), {Bytes::of(a), Bytes::of(b), Bytes::of(c)});
    ASSERT_TRUE(r.ok()) << r.message;
    std::vector<float> want;
    forEachIndex({2, 3}, [&](const Index &i) {
      float v[3] = {a[offsetOf({2, 3}, i)], b[offsetOf({3}, i)],
                    c[offsetOf({2, 1}, i)]};
      float m = v[0];
      for (float x : v)
        m = std::isnan(m) || std::isnan(x)
                ? nan
                : (code == Opcode::Max ? std::max(m, x) : std::min(m, x));
      want.push_back(m);
    });
    expectNear(r.out<float>(), want);
  }
  OneOp p;
  p.in(DType::Bool, {2, 1});
  p.in(DType::I64, {3});
  p.in(DType::I64, {2, 3});
  p.out(DType::I64, {2, 3});
  p.op(Opcode::Where);
  RunResult r = runProgram(p.b.build(),
                           {Bytes::of(std::vector<uint8_t>{1, 0}),
                            Bytes::of(std::vector<int64_t>{1, 2, 3}),
                            Bytes::of(std::vector<int64_t>{4, 5, 6, 7, 8, 9})});
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.out<int64_t>(), (std::vector<int64_t>{1, 2, 3, 7, 8, 9}));
}

// --- Unary
// -------------------------------------------------------------------------

TEST(Ops, FloatUnaryOpsMatchTheirDefinitions) {
  const std::vector<float> x{-3.f, -1.f, -0.25f, 0.f, 0.3f, 1.f, 2.5f, 7.f};
  struct Case {
    Opcode code;
    std::function<float(float)> f;
  } cases[] = {
      {Opcode::Relu, [](float v) { return v > 0 ? v : 0.f; }},
      {Opcode::Sigmoid, [](float v) { return 1.f / (1.f + std::exp(-v)); }},
      {Opcode::HardSwish,
       [](float v) { return v * std::max(0.f, std::min(1.f, v / 6 + 0.5f)); }},
      {Opcode::Tanh, [](float v) { return std::tanh(v); }},
      {Opcode::Erf, [](float v) { return std::erf(v); }},
      {Opcode::Exp, [](float v) { return std::exp(v); }},
      {Opcode::Abs, [](float v) { return std::fabs(v); }},
      {Opcode::Neg, [](float v) { return -v; }},
      {Opcode::Floor, [](float v) { return std::floor(v); }},
      {Opcode::Ceil, [](float v) { return std::ceil(v); }},
      {Opcode::Softplus, [](float v) { return std::log(std::exp(v) + 1.f); }},
      {Opcode::Sin, [](float v) { return std::sin(v); }},
      {Opcode::Cos, [](float v) { return std::cos(v); }},
      {Opcode::Reciprocal, [](float v) { return 1.f / v; }},
  };
  for (const Case &c : cases) {
    OneOp p;
    p.in(DType::F32, {8});
    p.out(DType::F32, {8});
    p.op(c.code);
    RunResult r = runProgram(p.b.build(), {Bytes::of(x)});
    ASSERT_TRUE(r.ok()) << r.message;
    std::vector<float> want;
    for (float v : x)
      want.push_back(c.f(v));
    SCOPED_TRACE(int(c.code));
    expectNear(r.out<float>(), want, 1e-5f);
  }
  const std::vector<float> pos{0.25f, 1.f, 4.f, 9.f};
  for (Opcode code : {Opcode::Sqrt, Opcode::Log}) {
    OneOp p;
    p.in(DType::F32, {4});
    p.out(DType::F32, {4});
    p.op(code);
    RunResult r = runProgram(p.b.build(), {Bytes::of(pos)});
    ASSERT_TRUE(r.ok()) << r.message;
    std::vector<float> want;
    for (float v : pos)
      want.push_back(code == Opcode::Sqrt ? std::sqrt(v) : std::log(v));
    expectNear(r.out<float>(), want);
  }
}

TEST(Ops, ErfTanhAndGeluAreAccurateOverTheirWholeRange) {
  // The kernels use their own erf/tanh (glibc's are slow); sweep densely,
  // including tiny and huge magnitudes, against double precision.
  std::vector<float> x;
  for (double v = -9; v <= 9; v += 1.0 / 512)
    x.push_back(float(v));
  for (double v = 1e-12; v < 1; v *= 1.3) {
    x.push_back(float(v));
    x.push_back(float(-v));
  }
  x.push_back(std::numeric_limits<float>::infinity());
  x.push_back(-std::numeric_limits<float>::infinity());
  const int64_t n = int64_t(x.size());
  for (Opcode code : {Opcode::Erf, Opcode::Tanh, Opcode::Gelu}) {
    ProgramBuilder b;
    uint32_t in = b.input("x", DType::F32, {n});
    uint32_t out = b.activation("y", DType::F32, {n});
    GeluParams g{};
    if (code == Opcode::Gelu)
      b.op(code, {in}, {out}, g);
    else
      b.op(code, {in}, {out});
    b.output(out);
    RunResult r = runProgram(b.build(), {Bytes::of(x)});
    ASSERT_TRUE(r.ok()) << r.message;
    std::vector<float> y = r.out<float>();
    double worst = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      double v = x[i];
      double want = code == Opcode::Erf ? std::erf(v)
                    : code == Opcode::Tanh
                        ? std::tanh(v)
                        : 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
      if (std::isinf(v) && code == Opcode::Gelu)
        continue;
      // Relative, except that GELU's far negative tail (1 + erf(x) cancels
      // in float, in every float implementation) is judged against |x|.
      double scale = std::fabs(want);
      if (code == Opcode::Gelu)
        scale = std::max(scale, std::fabs(v));
      double err =
          scale > 0 ? std::fabs(y[i] - want) / scale : std::fabs(y[i] - want);
      worst = std::max(worst, err);
    }
    EXPECT_LT(worst, 1e-6) << "opcode " << int(code);
  }
  // NaN propagates.
  OneOp p;
  p.in(DType::F32, {2});
  p.out(DType::F32, {2});
  p.op(Opcode::Erf);
  RunResult r = runProgram(p.b.build(),
                           {Bytes::of(std::vector<float>{
                               std::numeric_limits<float>::quiet_NaN(), 0.f})});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(std::isnan(r.out<float>()[0]));
}

TEST(Ops, LargeElementwiseOpsGiveTheSameResultOnAnyThreadCount) {
  // Big enough to be split over the pool.
  const Dims dims{4, 128, 768};
  auto a = randomFloats(size_t(product(dims)), 70);
  auto bias = randomFloats(768, 71);
  ProgramBuilder b;
  uint32_t x = b.input("x", DType::F32, dims);
  uint32_t w = b.weight("bias", {768}, bias);
  uint32_t s = b.activation("sum", DType::F32, dims);
  b.op(Opcode::Add, {x, w}, {s});
  uint32_t g = b.activation("gelu", DType::F32, dims);
  b.op(Opcode::Gelu, {s}, {g}, GeluParams{});
  uint32_t ln = b.activation("ln", DType::F32, dims);
  uint32_t scale = b.weight("scale", {768}, randomFloats(768, 72));
  b.op(Opcode::LayerNormalization, {g, scale}, {ln}, LayerNormParams{2, 1e-5f});
  uint32_t sm = b.activation("sm", DType::F32, dims);
  b.op(Opcode::Softmax, {ln}, {sm}, AxisParams{1, 0});
  b.output(sm);
  std::vector<uint8_t> blob = b.build();
  RunResult one = runProgram(blob, {Bytes::of(a)}, 1);
  RunResult two = runProgram(blob, {Bytes::of(a)}, 2);
  RunResult four = runProgram(blob, {Bytes::of(a)}, 4);
  ASSERT_TRUE(one.ok() && two.ok() && four.ok()) << one.message;
  EXPECT_EQ(one.outputs[0].data, two.outputs[0].data);
  EXPECT_EQ(one.outputs[0].data, four.outputs[0].data);
}

TEST(Ops, ParameterisedActivations) {
  const std::vector<float> x{-4.f, -1.f, 0.f, 0.5f, 2.f, 8.f};
  auto run = [&](Opcode code, const void *params, size_t size) {
    ProgramBuilder b;
    uint32_t in = b.input("x", DType::F32, {6});
    uint32_t out = b.activation("y", DType::F32, {6});
    b.op(code, {in}, {out}, params, size);
    b.output(out);
    return runProgram(b.build(), {Bytes::of(x)});
  };
  ClipParams clip{-1.f, 6.f};
  RunResult r = run(Opcode::Clip, &clip, sizeof(clip));
  ASSERT_TRUE(r.ok()) << r.message;
  expectNear(r.out<float>(), {-1, -1, 0, 0.5f, 2, 6});
  AlphaBetaParams hs{0.2f, 0.5f};
  r = run(Opcode::HardSigmoid, &hs, sizeof(hs));
  ASSERT_TRUE(r.ok());
  expectNear(r.out<float>(), {0, 0.3f, 0.5f, 0.6f, 0.9f, 1});
  AlphaBetaParams leaky{0.1f, 0.f};
  r = run(Opcode::LeakyRelu, &leaky, sizeof(leaky));
  ASSERT_TRUE(r.ok());
  expectNear(r.out<float>(), {-0.4f, -0.1f, 0, 0.5f, 2, 8});
  AlphaBetaParams elu{2.f, 0.f};
  r = run(Opcode::Elu, &elu, sizeof(elu));
  ASSERT_TRUE(r.ok());
  expectNear(r.out<float>(), {2 * (std::exp(-4.f) - 1),
                              2 * (std::exp(-1.f) - 1), 0, 0.5f, 2, 8});
  for (uint8_t approx : {0, 1}) {
    GeluParams g{};
    g.approximateTanh = approx;
    r = run(Opcode::Gelu, &g, sizeof(g));
    ASSERT_TRUE(r.ok());
    std::vector<float> want;
    for (float v : x)
      want.push_back(approx ? 0.5f * v *
                                  (1 + std::tanh(std::sqrt(2 / M_PI) *
                                                 (v + 0.044715 * v * v * v)))
                            : 0.5f * v * (1 + std::erf(v / std::sqrt(2.f))));
    expectNear(r.out<float>(), want, 1e-5f);
  }
}

TEST(Ops, IntegerUnaryOpsAndNot) {
  const int64_t lo = std::numeric_limits<int64_t>::min();
  const std::pair<Opcode, std::vector<int64_t>> cases[] = {
      {Opcode::Relu, {0, 0, 3}},
      {Opcode::Abs, {lo, 2, 3}},
      {Opcode::Neg, {lo, 2, -3}},
  };
  for (const auto &[code, want] : cases) {
    OneOp p;
    p.in(DType::I64, {3});
    p.out(DType::I64, {3});
    p.op(code);
    RunResult r =
        runProgram(p.b.build(), {Bytes::of(std::vector<int64_t>{lo, -2, 3})});
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.out<int64_t>(), want);
  }
  OneOp p;
  p.in(DType::Bool, {3});
  p.out(DType::Bool, {3});
  p.op(Opcode::Not);
  RunResult r =
      runProgram(p.b.build(), {Bytes::of(std::vector<uint8_t>{0, 1, 7})});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.out<uint8_t>(), (std::vector<uint8_t>{1, 0, 0}));
  OneOp q;
  q.in(DType::F32, {3});
  q.out(DType::F32, {3});
  q.op(Opcode::Not);
  EXPECT_EQ(runProgram(q.b.build(), {}).status, SL_ERROR_INVALID_PROGRAM);
}

TEST(Ops, CastIsDefinedEverywhere) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> x{1.9f, -1.9f, 300.f, -300.f, nan, 0.f};
  auto cast = [&](DType to) {
    OneOp p;
    p.in(DType::F32, {6});
    p.out(to, {6});
    p.op(Opcode::Cast);
    return runProgram(p.b.build(), {Bytes::of(x)});
  };
  RunResult r = cast(DType::I32);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.out<int32_t>(), (std::vector<int32_t>{1, -1, 300, -300, 0, 0}));
  r = cast(DType::U8);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.out<uint8_t>(), (std::vector<uint8_t>{1, 0, 255, 0, 0, 0}));
  r = cast(DType::Bool);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.out<uint8_t>(), (std::vector<uint8_t>{1, 1, 1, 1, 1, 0}));
  OneOp p;
  p.in(DType::I64, {3});
  p.out(DType::F32, {3});
  p.op(Opcode::Cast);
  r = runProgram(p.b.build(),
                 {Bytes::of(std::vector<int64_t>{-5, 0, 1 << 20})});
  ASSERT_TRUE(r.ok());
  expectNear(r.out<float>(), {-5, 0, float(1 << 20)});
}

TEST(Ops, IdentityReshapesButChecksTheElementCount) {
  OneOp p;
  p.in(DType::I64, {2, 3});
  p.out(DType::I64, {3, 2});
  p.op(Opcode::Identity);
  std::vector<int64_t> v{1, 2, 3, 4, 5, 6};
  RunResult r = runProgram(p.b.build(), {Bytes::of(v)});
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.out<int64_t>(), v);
  OneOp q;
  q.in(DType::I64, {2, 3});
  q.out(DType::I64, {2, 2});
  q.op(Opcode::Identity);
  r = runProgram(q.b.build(), {});
  EXPECT_EQ(r.status, SL_ERROR_INVALID_PROGRAM);
  EXPECT_NE(r.message.find("differ in element count"), std::string::npos);
}

// --- Normalisation
// ------------------------------------------------------------------

TEST(Ops, SoftmaxAndLogSoftmaxAlongAnyAxis) {
  const Dims dims{2, 3, 4};
  auto x = randomFloats(24, 30, -3, 3);
  for (int axis = 0; axis < 3; ++axis) {
    for (bool log : {false, true}) {
      OneOp p;
      p.in(DType::F32, dims);
      p.out(DType::F32, dims);
      p.op(log ? Opcode::LogSoftmax : Opcode::Softmax, AxisParams{axis, 0});
      RunResult r = runProgram(p.b.build(), {Bytes::of(x)});
      ASSERT_TRUE(r.ok()) << r.message;
      std::vector<float> want(24);
      forEachIndex(dims, [&](const Index &i) {
        double sum = 0;
        Index j = i;
        for (j[axis] = 0; j[axis] < dims[axis]; ++j[axis])
          sum += std::exp(double(x[offsetOf(dims, j)]));
        double v = std::exp(double(x[offsetOf(dims, i)])) / sum;
        want[offsetOf(dims, i)] = float(log ? std::log(v) : v);
      });
      expectNear(r.out<float>(), want);
    }
  }
}

TEST(Ops, SoftmaxWithMaskedAndExtremeLogits) {
  // An attention row with masked (-inf) and far-apart logits.
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x{0.f, -inf, 3.f, -200.f, 1.f, -1e4f, 2.5f};
  OneOp p;
  p.in(DType::F32, {1, 7});
  p.out(DType::F32, {1, 7});
  p.op(Opcode::Softmax, AxisParams{1, 0});
  RunResult r = runProgram(p.b.build(), {Bytes::of(x)});
  ASSERT_TRUE(r.ok()) << r.message;
  std::vector<float> y = r.out<float>();
  double sum = 0;
  for (float v : x)
    sum += std::exp(double(v) - 3.0);
  for (size_t i = 0; i < x.size(); ++i) {
    double want = std::exp(double(x[i]) - 3.0) / sum;
    EXPECT_NEAR(y[i], want, 1e-6 * std::max(want, 1e-30) + 1e-30) << i;
  }
}

TEST(Ops, LayerNormalizationWithStatistics) {
  const Dims dims{2, 3, 4};
  auto x = randomFloats(24, 31, -2, 2);
  auto scale = randomFloats(12, 32);
  auto bias = randomFloats(12, 33);
  ProgramBuilder b;
  uint32_t in = b.input("x", DType::F32, dims);
  uint32_t s = b.weight("scale", {3, 4}, scale);
  uint32_t bi = b.weight("bias", {3, 4}, bias);
  uint32_t y = b.activation("y", DType::F32, dims);
  uint32_t mean = b.activation("mean", DType::F32, {2, 1, 1});
  uint32_t inv = b.activation("inv", DType::F32, {2, 1, 1});
  b.op(Opcode::LayerNormalization, {in, s, bi}, {y, mean, inv},
       LayerNormParams{1, 1e-5f});
  b.output(y);
  b.output(mean);
  b.output(inv);
  RunResult r = runProgram(b.build(), {Bytes::of(x)});
  ASSERT_TRUE(r.ok()) << r.message;
  std::vector<float> want(24), wantMean(2), wantInv(2);
  for (int n = 0; n < 2; ++n) {
    double m = 0, v = 0;
    for (int i = 0; i < 12; ++i)
      m += x[n * 12 + i];
    m /= 12;
    for (int i = 0; i < 12; ++i)
      v += (x[n * 12 + i] - m) * (x[n * 12 + i] - m);
    v /= 12;
    double is = 1 / std::sqrt(v + 1e-5);
    for (int i = 0; i < 12; ++i)
      want[n * 12 + i] = float((x[n * 12 + i] - m) * is * scale[i] + bias[i]);
    wantMean[n] = float(m);
    wantInv[n] = float(is);
  }
  expectNear(r.out<float>(0), want);
  expectNear(r.out<float>(1), wantMean);
  expectNear(r.out<float>(2), wantInv);
}

TEST(Ops, BatchNormalizationInference) {
  const Dims dims{2, 3, 2, 2};
  auto x = randomFloats(24, 40);
  std::vector<float> scale{1, 2, 3}, bias{0, 1, -1}, mean{0.1f, 0.2f, 0.3f},
      var{1, 4, 0.5f};
  ProgramBuilder b;
  uint32_t in = b.input("x", DType::F32, dims);
  uint32_t ids[4] = {b.weight("s", {3}, scale), b.weight("b", {3}, bias),
                     b.weight("m", {3}, mean), b.weight("v", {3}, var)};
  uint32_t y = b.activation("y", DType::F32, dims);
  b.op(Opcode::BatchNormalization, {in, ids[0], ids[1], ids[2], ids[3]}, {y},
       LayerNormParams{0, 1e-3f});
  b.output(y);
  RunResult r = runProgram(b.build(), {Bytes::of(x)});
  ASSERT_TRUE(r.ok()) << r.message;
  std::vector<float> want(24);
  forEachIndex(dims, [&](const Index &i) {
    int64_t c = i[1], o = offsetOf(dims, i);
    want[o] = (x[o] - mean[c]) / std::sqrt(var[c] + 1e-3f) * scale[c] + bias[c];
  });
  expectNear(r.out<float>(), want);
}

// --- Reductions
// -----------------------------------------------------------------------

TEST(Ops, ReductionsOverAnyAxes) {
  const Dims dims{2, 3, 4};
  auto x = randomFloats(24, 50, 0.5f, 1.5f);
  const Opcode codes[] = {Opcode::ReduceSum, Opcode::ReduceMean,
                          Opcode::ReduceMax, Opcode::ReduceMin,
                          Opcode::ReduceProd};
  for (uint32_t mask : {0x1u, 0x2u, 0x4u, 0x5u, 0x7u, 0x6u}) {
    for (uint8_t keep : {0, 1}) {
      Dims out;
      for (int a = 0; a < 3; ++a)
        if (!(mask >> a & 1))
          out.push_back(dims[a]);
        else if (keep)
          out.push_back(1);
      Dims keptDims;
      for (int a = 0; a < 3; ++a)
        keptDims.push_back(mask >> a & 1 ? 1 : dims[a]);
      for (Opcode code : codes) {
        OneOp p;
        p.in(DType::F32, dims);
        p.out(DType::F32, out);
        ReduceParams rp{};
        rp.axesMask = mask;
        rp.keepDims = keep;
        p.op(code, rp);
        RunResult r = runProgram(p.b.build(), {Bytes::of(x)});
        ASSERT_TRUE(r.ok()) << r.message;
        int64_t n = product(keptDims);
        std::vector<double> acc(n, code == Opcode::ReduceProd  ? 1.0
                                   : code == Opcode::ReduceMax ? -1e30
                                   : code == Opcode::ReduceMin ? 1e30
                                                               : 0.0);
        forEachIndex(dims, [&](const Index &i) {
          Index k = i;
          for (int a = 0; a < 3; ++a)
            if (mask >> a & 1)
              k[a] = 0;
          double &d = acc[offsetOf(keptDims, k)];
          double v = x[offsetOf(dims, i)];
          switch (code) {
          case Opcode::ReduceMax:
            d = std::max(d, v);
            break;
          case Opcode::ReduceMin:
            d = std::min(d, v);
            break;
          case Opcode::ReduceProd:
            d *= v;
            break;
          default:
            d += v;
          }
        });
        std::vector<float> want;
        for (double d : acc)
          want.push_back(float(
              code == Opcode::ReduceMean ? d / double(product(dims) / n) : d));
        SCOPED_TRACE(testing::Message() << "mask " << mask << " op "
                                        << int(code) << " keep " << int(keep));
        expectNear(r.out<float>(), want);
      }
    }
  }
}

TEST(Ops, ReduceWithEmptyMaskIsIdentityAndIntSumsWork) {
  OneOp p;
  p.in(DType::I64, {2, 2});
  p.out(DType::I64, {2, 2});
  p.op(Opcode::ReduceSum, ReduceParams{});
  RunResult r =
      runProgram(p.b.build(), {Bytes::of(std::vector<int64_t>{1, 2, 3, 4})});
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.out<int64_t>(), (std::vector<int64_t>{1, 2, 3, 4}));
  OneOp q;
  q.in(DType::I64, {2, 2});
  q.out(DType::I64, {2});
  ReduceParams rp{};
  rp.axesMask = 1;
  q.op(Opcode::ReduceSum, rp);
  r = runProgram(q.b.build(), {Bytes::of(std::vector<int64_t>{1, 2, 3, 4})});
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.out<int64_t>(), (std::vector<int64_t>{4, 6}));
}

TEST(Ops, ArgMaxArgMinWithTies) {
  std::vector<float> x{1, 3, 3, 0, 5, 5, 2, 5, 0, 0, 0, 0};
  for (uint8_t last : {0, 1}) {
    for (Opcode code : {Opcode::ArgMax, Opcode::ArgMin}) {
      OneOp p;
      p.in(DType::F32, {3, 4});
      p.out(DType::I64, {3, 1});
      ReduceParams rp{};
      rp.axesMask = 2;
      rp.keepDims = 1;
      rp.selectLastIndex = last;
      p.op(code, rp);
      RunResult r = runProgram(p.b.build(), {Bytes::of(x)});
      ASSERT_TRUE(r.ok()) << r.message;
      std::vector<int64_t> want = code == Opcode::ArgMax
                                      ? (last ? std::vector<int64_t>{2, 3, 3}
                                              : std::vector<int64_t>{1, 0, 0})
                                      : (last ? std::vector<int64_t>{3, 2, 3}
                                              : std::vector<int64_t>{3, 2, 0});
      EXPECT_EQ(r.out<int64_t>(), want);
    }
  }
}

// --- Pooling
// ----------------------------------------------------------------------------

std::vector<float> naivePool(bool max, const std::vector<float> &x, Dims in,
                             Dims out, const PoolParams &p) {
  std::vector<float> y;
  forEachIndex(out, [&](const Index &o) {
    float best = -INFINITY, sum = 0;
    int valid = 0, padded = 0;
    for (int i = 0; i < p.kernel[0]; ++i)
      for (int j = 0; j < p.kernel[1]; ++j) {
        int64_t h = o[2] * p.strides[0] - p.pads[0] + i * p.dilations[0];
        int64_t w = o[3] * p.strides[1] - p.pads[1] + j * p.dilations[1];
        if (h >= -p.pads[0] && h < in[2] + p.pads[2] && w >= -p.pads[1] &&
            w < in[3] + p.pads[3])
          ++padded;
        if (h < 0 || h >= in[2] || w < 0 || w >= in[3])
          continue;
        float v = x[offsetOf(in, {o[0], o[1], h, w})];
        best = std::max(best, v);
        sum += v;
        ++valid;
      }
    y.push_back(max ? best : sum / (p.countIncludePad ? padded : valid));
  });
  return y;
}

TEST(Ops, MaxAndAveragePoolWithPadsStridesDilations) {
  struct Case {
    int k0, k1, s0, s1, d0, d1, pt, pl, pb, pr;
    bool ceil;
  } cases[] = {
      {3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false},
      {2, 2, 2, 2, 1, 1, 0, 0, 0, 0, false},
      {3, 2, 1, 2, 2, 1, 2, 0, 1, 1, false},
      {3, 3, 2, 2, 1, 1, 0, 0, 0, 0, true},
      {2, 3, 3, 1, 1, 2, 1, 1, 0, 2, true},
  };
  const Dims in{1, 2, 7, 8};
  auto x = randomFloats(product(in), 60);
  for (const Case &c : cases) {
    PoolParams p{};
    p.kernel[0] = c.k0;
    p.kernel[1] = c.k1;
    p.strides[0] = c.s0;
    p.strides[1] = c.s1;
    p.dilations[0] = c.d0;
    p.dilations[1] = c.d1;
    p.pads[0] = c.pt;
    p.pads[1] = c.pl;
    p.pads[2] = c.pb;
    p.pads[3] = c.pr;
    auto outSize = [&](int64_t n, int k, int s, int d, int a, int b) {
      int64_t span = (k - 1) * d + 1, padded = n + a + b;
      int64_t o =
          c.ceil ? (padded - span + s - 1) / s + 1 : (padded - span) / s + 1;
      if (c.ceil && (o - 1) * s >= n + a)
        --o;
      return o;
    };
    Dims out{1, 2, outSize(7, c.k0, c.s0, c.d0, c.pt, c.pb),
             outSize(8, c.k1, c.s1, c.d1, c.pl, c.pr)};
    for (int kind = 0; kind < 3; ++kind) {
      p.countIncludePad = kind == 2;
      OneOp q;
      q.in(DType::F32, in);
      q.out(DType::F32, out);
      q.op(kind == 0 ? Opcode::MaxPool : Opcode::AveragePool, p);
      RunResult r = runProgram(q.b.build(), {Bytes::of(x)});
      ASSERT_TRUE(r.ok()) << r.message;
      expectNear(r.out<float>(), naivePool(kind == 0, x, in, out, p));
    }
  }
}

TEST(Ops, MaxPoolPropagatesNaNAndWorksOnBytes) {
  PoolParams p{};
  p.kernel[0] = p.kernel[1] = 2;
  p.strides[0] = p.strides[1] = 2;
  p.dilations[0] = p.dilations[1] = 1;
  // Plane 0 holds a NaN in its first window; plane 1 has none.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> x{1, nan, 5, 2, 3, 4, 6, 0, 9, 8, 7, 6, 5, 4, 3, 2,
                       1, 2,   3, 4, 5, 6, 7, 8, 9, 8, 7, 6, 5, 4, 3, 2};
  OneOp q;
  q.in(DType::F32, {1, 2, 4, 4});
  q.out(DType::F32, {1, 2, 2, 2});
  q.op(Opcode::MaxPool, p);
  RunResult r = runProgram(q.b.build(), {Bytes::of(x)});
  ASSERT_TRUE(r.ok()) << r.message;
  std::vector<float> y = r.out<float>();
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_EQ(std::vector<float>(y.begin() + 1, y.end()),
            (std::vector<float>{6, 9, 7, 6, 8, 9, 7}));
  OneOp b;
  b.in(DType::I8, {1, 1, 2, 4});
  b.out(DType::I8, {1, 1, 1, 2});
  b.op(Opcode::MaxPool, p);
  r = runProgram(b.b.build(), {Bytes::of(std::vector<int8_t>{-5, -7, 3, -128,
                                                             -9, -6, 2, 127})});
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.out<int8_t>(), (std::vector<int8_t>{-5, 127}));
}

TEST(Ops, PoolRejectsAnOutputShapeThatDoesNotFit) {
  PoolParams p{};
  p.kernel[0] = p.kernel[1] = 2;
  p.strides[0] = p.strides[1] = 2;
  p.dilations[0] = p.dilations[1] = 1;
  OneOp q;
  q.in(DType::F32, {1, 1, 8, 8});
  q.out(DType::F32, {1, 1, 5, 4});
  q.op(Opcode::MaxPool, p);
  RunResult r = runProgram(q.b.build(), {});
  EXPECT_EQ(r.status, SL_ERROR_INVALID_PROGRAM);
  EXPECT_NE(r.message.find("H: output size 5 does not fit"), std::string::npos)
      << r.message;
}

TEST(Ops, OneDimensionalAndGlobalPools) {
  PoolParams p{};
  p.kernel[0] = 1;
  p.kernel[1] = 3;
  p.strides[0] = 1;
  p.strides[1] = 1;
  p.dilations[0] = p.dilations[1] = 1;
  OneOp q;
  q.in(DType::F32, {1, 1, 5});
  q.out(DType::F32, {1, 1, 3});
  q.op(Opcode::MaxPool, p);
  RunResult r =
      runProgram(q.b.build(), {Bytes::of(std::vector<float>{1, 4, 2, 0, 3})});
  ASSERT_TRUE(r.ok()) << r.message;
  expectNear(r.out<float>(), {4, 4, 3});
  for (bool max : {false, true}) {
    OneOp g;
    g.in(DType::F32, {2, 2, 2, 3});
    g.out(DType::F32, {2, 2, 1, 1});
    g.op(max ? Opcode::GlobalMaxPool : Opcode::GlobalAveragePool);
    auto x = randomFloats(24, 61);
    r = runProgram(g.b.build(), {Bytes::of(x)});
    ASSERT_TRUE(r.ok()) << r.message;
    std::vector<float> want;
    for (int pl = 0; pl < 4; ++pl) {
      float m = -INFINITY, s = 0;
      for (int i = 0; i < 6; ++i) {
        m = std::max(m, x[pl * 6 + i]);
        s += x[pl * 6 + i];
      }
      want.push_back(max ? m : s / 6);
    }
    expectNear(r.out<float>(), want);
  }
}

// --- Data movement
// ---------------------------------------------------------------------

TEST(Ops, TransposeAnyPermutation) {
  const Dims dims{2, 3, 4, 5};
  std::vector<int32_t> x(product(dims));
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = int32_t(i);
  const int32_t perms[][4] = {
      {0, 1, 2, 3}, {3, 2, 1, 0}, {0, 2, 3, 1}, {1, 0, 3, 2}, {2, 0, 1, 3}};
  for (const auto &perm : perms) {
    Dims out;
    for (int a = 0; a < 4; ++a)
      out.push_back(dims[perm[a]]);
    OneOp p;
    p.in(DType::I32, dims);
    p.out(DType::I32, out);
    TransposeParams tp{};
    for (int a = 0; a < 4; ++a)
      tp.perm[a] = perm[a];
    p.op(Opcode::Transpose, tp);
    RunResult r = runProgram(p.b.build(), {Bytes::of(x)});
    ASSERT_TRUE(r.ok()) << r.message;
    std::vector<int32_t> want;
    forEachIndex(out, [&](const Index &o) {
      Index i(4);
      for (int a = 0; a < 4; ++a)
        i[perm[a]] = o[a];
      want.push_back(x[offsetOf(dims, i)]);
    });
    EXPECT_EQ(r.out<int32_t>(), want);
  }
}

TEST(Ops, ConcatAndSplitRoundTrip) {
  ProgramBuilder b;
  uint32_t x = b.input("x", DType::F32, {2, 2, 3});
  uint32_t w = b.weight("w", {2, 1, 3}, {10, 11, 12, 13, 14, 15});
  uint32_t cat = b.activation("cat", DType::F32, {2, 3, 3});
  b.op(Opcode::Concat, {x, w}, {cat}, AxisParams{1, 0});
  uint32_t s0 = b.activation("s0", DType::F32, {2, 3, 1});
  uint32_t s1 = b.activation("s1", DType::F32, {2, 3, 2});
  b.op(Opcode::Split, {cat}, {s0, s1}, AxisParams{2, 0});
  b.output(cat);
  b.output(s0);
  b.output(s1);
  std::vector<float> xv{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 20, 21};
  RunResult r = runProgram(b.build(), {Bytes::of(xv)});
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.out<float>(0),
            (std::vector<float>{0, 1, 2, 3, 4, 5, 10, 11, 12, 6, 7, 8, 9, 20,
                                21, 13, 14, 15}));
  EXPECT_EQ(r.out<float>(1), (std::vector<float>{0, 3, 10, 6, 9, 13}));
  EXPECT_EQ(r.out<float>(2),
            (std::vector<float>{1, 2, 4, 5, 11, 12, 7, 8, 20, 21, 14, 15}));
}

TEST(Ops, SliceWithNegativeStepsAndBoundsChecks) {
  const Dims dims{4, 6};
  std::vector<int64_t> x(24);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = int64_t(i);
  SliceParams sp{};
  sp.starts[0] = 3;
  sp.steps[0] = -2; // rows 3, 1
  sp.starts[1] = 1;
  sp.steps[1] = 2; // cols 1, 3, 5
  OneOp p;
  p.in(DType::I64, dims);
  p.out(DType::I64, {2, 3});
  p.op(Opcode::Slice, sp);
  RunResult r = runProgram(p.b.build(), {Bytes::of(x)});
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.out<int64_t>(), (std::vector<int64_t>{19, 21, 23, 7, 9, 11}));
  sp.starts[1] = 2; // cols 2, 4, 6: out of range
  OneOp q;
  q.in(DType::I64, dims);
  q.out(DType::I64, {2, 3});
  q.op(Opcode::Slice, sp);
  r = runProgram(q.b.build(), {});
  EXPECT_EQ(r.status, SL_ERROR_INVALID_PROGRAM);
  EXPECT_NE(r.message.find("axis 1: start 2, step 2 and 3 elements"),
            std::string::npos)
      << r.message;
}

TEST(Ops, GatherWithNegativeIndicesAndRangeErrors) {
  ProgramBuilder b;
  uint32_t table =
      b.weight("emb", {4, 3}, {0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32});
  uint32_t ids = b.input("ids", DType::I64, {1, 3});
  uint32_t out = b.activation("out", DType::F32, {1, 3, 3});
  b.op(Opcode::Gather, {table, ids}, {out}, AxisParams{0, 0});
  b.output(out);
  std::vector<uint8_t> blob = b.build();
  RunResult r = runProgram(blob, {Bytes::of(std::vector<int64_t>{2, -1, 0})});
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.out<float>(),
            (std::vector<float>{20, 21, 22, 30, 31, 32, 0, 1, 2}));
  r = runProgram(blob, {Bytes::of(std::vector<int64_t>{0, 4, 0})});
  EXPECT_EQ(r.status, SL_ERROR_RUNTIME);
  EXPECT_NE(r.message.find("index 4 (element 1 of the indices) is out of "
                           "range [-4, 4)"),
            std::string::npos)
      << r.message;
  // Axis 1 with int32 indices.
  OneOp p;
  p.in(DType::F32, {2, 3});
  p.in(DType::I32, {2});
  p.out(DType::F32, {2, 2});
  p.op(Opcode::Gather, AxisParams{1, 0});
  r = runProgram(p.b.build(), {Bytes::of(std::vector<float>{0, 1, 2, 3, 4, 5}),
                               Bytes::of(std::vector<int32_t>{-1, 0})});
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.out<float>(), (std::vector<float>{2, 0, 5, 3}));
}

TEST(Ops, ExpandPadTile) {
  {
    OneOp p;
    p.in(DType::Bool, {1, 3});
    p.out(DType::Bool, {2, 2, 3});
    p.op(Opcode::Expand);
    RunResult r =
        runProgram(p.b.build(), {Bytes::of(std::vector<uint8_t>{1, 0, 1})});
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.out<uint8_t>(),
              (std::vector<uint8_t>{1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1}));
  }
  {
    PadParams pp{};
    pp.pads[0] = 1;            // axis 0 begin
    pp.pads[1] = -1;           // axis 1 begin (crop)
    pp.pads[kMaxRank + 0] = 0; // axis 0 end
    pp.pads[kMaxRank + 1] = 2; // axis 1 end
    pp.value = 9.f;
    OneOp p;
    p.in(DType::F32, {2, 3});
    p.out(DType::F32, {3, 4});
    p.op(Opcode::Pad, pp);
    RunResult r = runProgram(p.b.build(),
                             {Bytes::of(std::vector<float>{1, 2, 3, 4, 5, 6})});
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.out<float>(),
              (std::vector<float>{9, 9, 9, 9, 2, 3, 9, 9, 5, 6, 9, 9}));
  }
  {
    OneOp p;
    p.in(DType::I32, {2, 2});
    p.out(DType::I32, {4, 6});
    p.op(Opcode::Tile);
    RunResult r =
        runProgram(p.b.build(), {Bytes::of(std::vector<int32_t>{1, 2, 3, 4})});
    ASSERT_TRUE(r.ok()) << r.message;
    std::vector<int32_t> want;
    forEachIndex({4, 6}, [&](const Index &i) {
      want.push_back(1 + (i[0] % 2) * 2 + (i[1] % 2));
    });
    EXPECT_EQ(r.out<int32_t>(), want);
  }
}

} // namespace
} // namespace test
} // namespace sparseloom
