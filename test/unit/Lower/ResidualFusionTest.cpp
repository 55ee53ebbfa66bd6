//===- ResidualFusionTest.cpp - Conv + residual Add (+ Relu) as one op ----===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// fuse-activation marks a residual Add after a Conv (and the Relu/Clip after
// it) and lowering emits one Conv with the Add's other operand Z as its
// fourth input. Small residual blocks (3x3, 1x1, depthwise and 1-D second
// convolutions, with and without bias, no activation, Relu or Clip after
// the Add, batch 1 and 2) are lowered with the marks and with the
// fuse.residual mark erased (the unfused program: Conv, Add, Relu ops), on
// every kernel family (reference, dense, CSR and 4x1 blocks on 80 % sparse
// weights) and run with 1 and 2 threads: the outputs must be bit-identical,
// since the epilogue rounds conv + bias, then + Z, then the activation, as
// the separate ops do. ctest runs these once more with SPARSELOOM_NO_AVX512=1
// so that the AVX2 SGEMM's in-store residual is covered on any CPU.
//
//===----------------------------------------------------------------------===//

#include "FusionTestUtils.h"
#include "ProgramInspector.h"

#include "sparseloom/Pass/PassRegistry.h"

#include <cstdio>
#include <cstring>
#include <random>

using namespace sparseloom;
using namespace sparseloom::testing;
using format::Opcode;

namespace {

/// Which second convolution the block has.
enum class Kind { Conv3x3, Conv1x1, Depthwise, Conv1d };
/// What follows the Add.
enum class Tail { None, Relu, Clip };

constexpr int64_t kChannels = 16;

/// x -> Conv 3x3 (+bias) -> Relu -> second Conv (+bias?) -> Add(., x)
/// [-> Relu | Clip(0, 0.75)]. `swapAdd` puts x first in the Add.
std::string residualBlock(Kind kind, Tail tail, bool bias, int64_t batch,
                          double sparsity, bool swapAdd) {
  const bool oneD = kind == Kind::Conv1d;
  const std::vector<int64_t> act =
      oneD ? std::vector<int64_t>{batch, kChannels, 12}
           : std::vector<int64_t>{batch, kChannels, 10, 10};
  const std::string t = dims(act);
  const std::vector<int64_t> w1 =
      oneD ? std::vector<int64_t>{kChannels, kChannels, 3}
           : std::vector<int64_t>{kChannels, kChannels, 3, 3};
  std::vector<int64_t> w2 = w1;
  std::string attrs2 = oneD ? "{pads = [1, 1]}" : "{pads = [1, 1, 1, 1]}";
  if (kind == Kind::Conv1x1) {
    w2 = {kChannels, kChannels, 1, 1};
    attrs2 = "";
  } else if (kind == Kind::Depthwise) {
    w2 = {kChannels, 1, 3, 3};
    attrs2 = "{group = " + std::to_string(kChannels) + ", pads = [1, 1, 1, 1]}";
  }
  auto count = [](const std::vector<int64_t> &d) {
    size_t n = 1;
    for (int64_t v : d)
      n *= size_t(v);
    return n;
  };
  std::string text =
      "module {\n  opset \"\" = 13\n  graph \"block\" (%x : " + t +
      ") -> (%y) {\n";
  text += "    weight %w1 : " + dims(w1) + " = " +
          values(count(w1), 1, sparsity) + "\n";
  text += "    weight %b1 : f32[16] = " + values(16, 2, 0.0) + "\n";
  text += "    weight %w2 : " + dims(w2) + " = " +
          values(count(w2), 3, sparsity) + "\n";
  text += "    weight %b2 : f32[16] = " + values(16, 4, 0.0) + "\n";
  text += "    weight %lo : f32[] = dense<[0.0]>\n";
  text += "    weight %hi : f32[] = dense<[0.75]>\n";
  text += "    %c1 : " + t + " = Conv(%x, %w1, %b1) " +
          (oneD ? "{pads = [1, 1]}" : "{pads = [1, 1, 1, 1]}") +
          " loc(\"conv1\")\n";
  text += "    %r1 : " + t + " = Relu(%c1) loc(\"relu1\")\n";
  text += "    %c2 : " + t + " = Conv(%r1, %w2" + (bias ? ", %b2" : "") + ") " +
          attrs2 + " loc(\"conv2\")\n";
  const std::string sum = tail == Tail::None ? "%y" : "%s";
  text += "    " + sum + " : " + t + " = Add(" +
          (swapAdd ? "%x, %c2" : "%c2, %x") + ") loc(\"add\")\n";
  if (tail == Tail::Relu)
    text += "    %y : " + t + " = Relu(%s) loc(\"relu2\")\n";
  if (tail == Tail::Clip)
    text += "    %y : " + t + " = Clip(%s, %lo, %hi) loc(\"clip2\")\n";
  return text + "  }\n}\n";
}

/// The module without its residual marks: what lowering did before.
void eraseResidualMarks(Module &module) {
  for (const auto &node : module.graph.nodes())
    node->annotations.erase("fuse.residual");
}

/// The Conv op of the fused program that carries the residual.
int residualConvOp(const ProgramView &view) {
  for (uint32_t i = 0; i < view.header().numOps; ++i)
    if (view.op(i).opcode == Opcode::Conv && view.op(i).numInputs == 4)
      return int(i);
  return -1;
}

struct Case {
  Kind kind;
  Tail tail;
  bool bias;
  int64_t batch;
};

void checkCase(const Case &c, KernelPolicy policy) {
  const bool sparse =
      policy == KernelPolicy::Csr || policy == KernelPolicy::Block4x1;
  const std::string text = residualBlock(c.kind, c.tail, c.bias, c.batch,
                                         sparse ? 0.8 : 0.0, c.batch == 2);
  SCOPED_TRACE(::testing::Message()
               << "kind " << int(c.kind) << " tail " << int(c.tail) << " bias "
               << c.bias << " batch " << c.batch << " kernels "
               << kernelPolicyName(policy).str());
  std::unique_ptr<Module> fusedModule = marked(text);
  std::unique_ptr<Module> plainModule = marked(text);
  ASSERT_TRUE(fusedModule && plainModule);
  eraseResidualMarks(*plainModule);

  LoweringReport report;
  std::vector<uint8_t> fused = lower(*fusedModule, policy, &report);
  std::vector<uint8_t> plain = lower(*plainModule, policy);
  ASSERT_FALSE(fused.empty() || plain.empty());

  // One Conv takes the Add (and the activation): X, W, B or none, Z.
  ProgramView view(fused);
  const uint32_t tailOps = c.tail == Tail::None ? 1 : 2;
  EXPECT_EQ(view.header().numOps + tailOps, ProgramView(plain).header().numOps);
  const int op = residualConvOp(view);
  ASSERT_GE(op, 0);
  std::vector<uint32_t> inputs = view.inputsOf(uint32_t(op));
  EXPECT_EQ(inputs[2] == format::kNoTensor, !c.bias);
  EXPECT_EQ(view.tensorName(inputs[3]),
            c.kind == Kind::Conv1d ? "x.as2d" : "x");
  auto params = view.params<format::ConvParams>(uint32_t(op));
  EXPECT_EQ(params.activation, c.tail == Tail::None ? format::Activation::None
                               : c.tail == Tail::Relu
                                   ? format::Activation::Relu
                                   : format::Activation::Clip);
  const std::string sourceOps = c.tail == Tail::None   ? "Conv+Add"
                                : c.tail == Tail::Relu ? "Conv+Add+Relu"
                                                       : "Conv+Add+Clip";
  EXPECT_EQ(report.ops[size_t(op)].sourceOps, sourceOps);

  const FloatTensor x = input(*fusedModule, 11);
  for (unsigned threads : {1u, 2u}) {
    SCOPED_TRACE(::testing::Message() << "threads " << threads);
    auto want = runProgram(plain, {x}, threads);
    auto got = runProgram(fused, {x}, threads);
    ASSERT_EQ(want.size(), 1u);
    ASSERT_EQ(got.size(), 1u);
    expectBitIdentical(got[0].values, want[0].values);
  }
}

const KernelPolicy kPolicies[] = {KernelPolicy::Reference, KernelPolicy::Dense,
                                  KernelPolicy::Csr, KernelPolicy::Block4x1};

// The full matrix on the 3x3 block (im2col for dense; phase planes for
// sparse; the chunk-per-thread path at batch 2 with 2 threads).
TEST(ResidualFusion, Conv3x3BitIdenticalToUnfused) {
  for (KernelPolicy policy : kPolicies)
    for (Tail tail : {Tail::None, Tail::Relu, Tail::Clip})
      for (bool bias : {false, true})
        for (int64_t batch : {1, 2})
          checkCase({Kind::Conv3x3, tail, bias, batch}, policy);
}

// 1x1 (the product on the image directly), depthwise (its own kernel) and
// 1-D (views of X, Y and Z as 2-D).
TEST(ResidualFusion, OtherConvShapesBitIdenticalToUnfused) {
  for (Kind kind : {Kind::Conv1x1, Kind::Depthwise, Kind::Conv1d})
    for (KernelPolicy policy : kPolicies)
      for (Tail tail : {Tail::None, Tail::Relu})
        for (bool bias : {false, true})
          checkCase({kind, tail, bias, 2}, policy);
}

// A bottleneck's downsample: the shortcut Conv comes after the main path in
// node order, so the Add goes into the shortcut Conv (Z = the main path's
// output, already computed), not into the main path's last Conv.
TEST(ResidualFusion, LaterConvOfTwoTakesTheAdd) {
  const std::string text = R"(
module {
  opset "" = 13
  graph "down" (%x : f32[1,4,6,6]) -> (%y) {
    weight %w1 : f32[8,4,3,3] = )" +
                           values(8 * 4 * 9, 5, 0.0) + R"(
    weight %wd : f32[8,4,1,1] = )" +
                           values(8 * 4, 6, 0.0) + R"(
    %c1 : f32[1,8,6,6] = Conv(%x, %w1) {pads = [1, 1, 1, 1]} loc("main")
    %cd : f32[1,8,6,6] = Conv(%x, %wd) loc("shortcut")
    %s : f32[1,8,6,6] = Add(%c1, %cd) loc("add")
    %y : f32[1,8,6,6] = Relu(%s) loc("relu")
  }
}
)";
  std::unique_ptr<Module> module = marked(text);
  ASSERT_TRUE(module);
  LoweringReport report;
  std::vector<uint8_t> blob = lower(*module, KernelPolicy::Auto, &report);
  ProgramView view(blob);
  ASSERT_EQ(view.header().numOps, 2u);
  EXPECT_EQ(report.ops[0].sourceOps, "Conv");
  EXPECT_EQ(report.ops[1].sourceOps, "Conv+Add+Relu");
  std::vector<uint32_t> inputs = view.inputsOf(1);
  ASSERT_EQ(inputs.size(), 4u);
  EXPECT_EQ(view.tensorName(inputs[3]), "c1");
  EXPECT_EQ(view.tensorName(view.outputsOf(1)[0]), "y");

  std::unique_ptr<Module> plain = marked(text);
  eraseResidualMarks(*plain);
  const FloatTensor x = input(*module, 3);
  auto want = runProgram(lower(*plain, KernelPolicy::Auto), {x});
  auto got = runProgram(blob, {x});
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(want.size(), 1u);
  expectBitIdentical(got[0].values, want[0].values);
}

// A stale mark is ignored: Z no longer an operand of the Add after the
// Conv, or lowering without fusion.
TEST(ResidualFusion, StaleMarksAreIgnored) {
  const std::string text =
      residualBlock(Kind::Conv3x3, Tail::Relu, true, 1, 0.0, false);
  std::unique_ptr<Module> module = marked(text);
  ASSERT_TRUE(module);
  for (const auto &node : module->graph.nodes())
    if (node->annotations.count("fuse.residual"))
      node->annotations["fuse.residual"] = Attribute(std::string("r1"));
  std::vector<uint8_t> blob = lower(*module, KernelPolicy::Auto);
  EXPECT_EQ(ProgramView(blob).header().numOps, 4u);

  std::unique_ptr<Module> again = marked(text);
  LowerOptions options;
  options.fuse = false;
  auto unfused = lowerModule(*again, options);
  ASSERT_TRUE(bool(unfused)) << llvm::toString(unfused.takeError());
  EXPECT_EQ(ProgramView(*unfused).header().numOps, 5u);
}

} // namespace
