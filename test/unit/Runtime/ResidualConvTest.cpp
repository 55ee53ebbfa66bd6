//===- ResidualConvTest.cpp - Conv with a residual input Z ----------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// A Conv's optional fourth input Z (ProgramFormat.h: inputs X, W, [B], [Z])
// is added to the output before the activation. Hand-built programs check
// it on every kernel path, without a bias (input 2 is kNoTensor) and with
// one, against a two-op program (Conv, then Add and Relu) bit for bit; and
// that Prepare rejects a Z that is not float or not of the output's shape,
// naming the op.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestUtil.h"

#include "Runtime/Kernels/FastKernels.h"

#include <gtest/gtest.h>

#include <cstring>

namespace sparseloom {
namespace test {
namespace {

using namespace format;
using Dims = std::vector<int64_t>;

constexpr int64_t kM = 8, kC = 4, kH = 6, kW = 6;

/// Output channels, input channels, height, width of a 3x3 "same" conv.
struct Shape {
  int64_t m, c, h, w;
};
/// The small case every kernel runs, and one that the dense kernel runs as
/// Winograd on an AVX-512 CPU (Ops/ConvWinograd.h: >= 32 channels, output
/// >= 8x8; odd width, so the last tile column is cut).
constexpr Shape kSmall{kM, kC, kH, kW};
constexpr Shape kWinograd{32, 32, 10, 9};

ConvParams convParams(Activation act) { return squareConv(3, 1, 1, act); }

/// A 70 % sparse [M, C*3*3] weight.
std::vector<float> weightMatrix(const Shape &sh = kSmall) {
  std::vector<float> w = randomFloats(size_t(sh.m * sh.c * 9), 3);
  for (size_t i = 0; i < w.size(); ++i)
    if (i % 10 < 7)
      w[i] = 0.f;
  return w;
}

uint32_t addWeight(ProgramBuilder &b, KernelId kernel, const Shape &sh,
                   const std::vector<float> &w) {
  const Dims dims = {sh.m, sh.c, 3, 3};
  const uint32_t rows = uint32_t(sh.m), cols = uint32_t(sh.c * 9);
  switch (kernel) {
  case KernelId::DenseGemmAvx2:
    return b.packedWeight("w", dims, w, rows, cols);
  case KernelId::SpmmCsrAvx2:
    return b.csrWeight("w", dims, w, rows, cols);
  case KernelId::SpmmBlock4x1Avx2:
    return b.blockWeight("w", dims, w, rows, cols);
  default:
    return b.weight("w", dims, w);
  }
}

/// Conv(X, W, [B], Z) with a Relu epilogue, or (fused = false) Conv(X, W,
/// [B]) then Add(., Z) then Relu.
std::vector<uint8_t> program(KernelId kernel, bool bias, bool fused,
                             const Shape &sh = kSmall) {
  ProgramBuilder b;
  const Dims out = {1, sh.m, sh.h, sh.w};
  uint32_t x = b.input("x", DType::F32, {1, sh.c, sh.h, sh.w});
  uint32_t z = b.input("z", DType::F32, out);
  uint32_t w = addWeight(b, kernel, sh, weightMatrix(sh));
  uint32_t bi =
      bias ? b.weight("b", {sh.m}, randomFloats(size_t(sh.m), 4)) : kNoTensor;
  uint32_t y = b.activation("y", DType::F32, out);
  if (fused) {
    b.op(Opcode::Conv, {x, w, bi, z}, {y}, convParams(Activation::Relu), kernel,
         "conv");
  } else {
    uint32_t c = b.activation("c", DType::F32, out);
    uint32_t s = b.activation("s", DType::F32, out);
    std::vector<uint32_t> in = {x, w};
    if (bias)
      in.push_back(bi);
    b.op(Opcode::Conv, in, {c}, convParams(Activation::None), kernel, "conv");
    b.op(Opcode::Add, {c, z}, {s});
    b.op(Opcode::Relu, {s}, {y});
  }
  b.output(y);
  return b.build();
}

TEST(ResidualConv, EveryKernelMatchesConvAddRelu) {
  for (const Shape &sh : {kSmall, kWinograd}) {
    const std::vector<Bytes> inputs = {
        Bytes::of(randomFloats(size_t(sh.c * sh.h * sh.w), 1, -2.f, 2.f)),
        Bytes::of(randomFloats(size_t(sh.m * sh.h * sh.w), 2, -2.f, 2.f))};
    for (KernelId kernel : {KernelId::Reference, KernelId::DenseGemmAvx2,
                            KernelId::SpmmCsrAvx2, KernelId::SpmmBlock4x1Avx2})
      for (bool bias : {false, true})
        for (unsigned threads : {1u, 2u}) {
          SCOPED_TRACE(::testing::Message()
                       << "c " << sh.c << " kernel " << int(kernel) << " bias "
                       << bias << " threads " << threads);
          RunResult want =
              runProgram(program(kernel, bias, false, sh), inputs, threads);
          RunResult got =
              runProgram(program(kernel, bias, true, sh), inputs, threads);
          ASSERT_TRUE(want.ok()) << want.message;
          ASSERT_TRUE(got.ok()) << got.message;
          std::vector<float> a = got.out<float>(), e = want.out<float>();
          ASSERT_EQ(a.size(), e.size());
          EXPECT_EQ(std::memcmp(a.data(), e.data(), a.size() * sizeof(float)),
                    0);
        }
  }
}

/// A fused program whose Z is declared with `zType` and `zDims`.
std::vector<uint8_t> badResidual(DType zType, const Dims &zDims) {
  ProgramBuilder b;
  uint32_t x = b.input("x", DType::F32, {1, kC, kH, kW});
  uint32_t z = b.input("z", zType, zDims);
  uint32_t w = b.weight("w", {kM, kC, 3, 3}, weightMatrix());
  uint32_t y = b.activation("y", DType::F32, {1, kM, kH, kW});
  b.op(Opcode::Conv, {x, w, kNoTensor, z}, {y}, convParams(Activation::None),
       KernelId::Reference, "conv");
  b.output(y);
  return b.build();
}

TEST(ResidualConv, PrepareRejectsAResidualUnlikeTheOutput) {
  RunResult r = runProgram(badResidual(DType::F32, {1, kM, kH, kW - 1}), {});
  EXPECT_EQ(r.status, SL_ERROR_INVALID_PROGRAM);
  EXPECT_NE(r.message.find("op 'conv' (Conv): the residual Z has shape "
                           "[1,8,6,5] but the output has shape [1,8,6,6]"),
            std::string::npos)
      << r.message;

  r = runProgram(badResidual(DType::F32, {kM, kH, kW}), {});
  EXPECT_EQ(r.status, SL_ERROR_INVALID_PROGRAM);
  EXPECT_NE(r.message.find("the residual Z has shape"), std::string::npos)
      << r.message;

  r = runProgram(badResidual(DType::I32, {1, kM, kH, kW}), {});
  EXPECT_EQ(r.status, SL_ERROR_INVALID_PROGRAM);
  EXPECT_NE(r.message.find("the residual Z is int32, expected float32"),
            std::string::npos)
      << r.message;
}

} // namespace
} // namespace test
} // namespace sparseloom
