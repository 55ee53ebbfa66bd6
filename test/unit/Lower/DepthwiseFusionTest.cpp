//===- DepthwiseFusionTest.cpp - Sparse 1x1 conv + depthwise as one op ----===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Lowering emits a sparse 1x1 conv and the depthwise conv that alone reads
// its output as one PointwiseDepthwise op (LowerFusedConv.cpp). Small
// inverted-residual heads (x -> 1x1 conv, 90 % sparse -> [Relu|Clip] ->
// depthwise 3x3 -> [Clip]) on planes that exercise every path of the CSR
// rows (7x7: the tail column; 14x14: rows of B realigned; 16x16: aligned),
// depthwise strides 1 and 2, with and without biases, batch 1 and 2, are
// lowered fused and apart (LowerOptions::fuseDepthwise) and run with 1, 2
// and 3 threads and on the Reference kernels: the outputs must be
// bit-identical. ctest runs these once more with SPARSELOOM_NO_AVX512=1.
//
//===----------------------------------------------------------------------===//

#include "FusionTestUtils.h"
#include "ProgramInspector.h"

using namespace sparseloom;
using namespace sparseloom::testing;
using format::Opcode;

namespace {

enum class Act { None, Relu, Clip };

struct Head {
  int64_t batch = 1, k = 24, m = 40, size = 14, stride = 1;
  Act expandAct = Act::Clip, dwAct = Act::Clip;
  bool bias1 = true, bias2 = true;
  bool secondReader = false; // the expanded value is also a graph output
};

std::string activation(Act act, const std::string &in, const std::string &out,
                       const std::string &type, const char *loc) {
  if (act == Act::None)
    return "";
  if (act == Act::Relu)
    return "    " + out + " : " + type + " = Relu(" + in + ") loc(\"" + loc +
           "\")\n";
  return "    " + out + " : " + type + " = Clip(" + in + ", %lo, %hi) loc(\"" +
         loc + "\")\n";
}

std::string headText(const Head &h) {
  const int64_t out = (h.size + 2 - 3) / h.stride + 1;
  const std::string x = dims({h.batch, h.k, h.size, h.size});
  const std::string e = dims({h.batch, h.m, h.size, h.size});
  const std::string y = dims({h.batch, h.m, out, out});
  const std::string expanded = h.expandAct == Act::None ? "%e" : "%ea";
  const std::string result = h.dwAct == Act::None ? "%y" : "%d";
  std::string text =
      "module {\n  opset \"\" = 13\n  graph \"head\" (%x : " + x + ") -> (%y" +
      (h.secondReader ? ", " + expanded : "") + ") {\n";
  text += "    weight %w1 : " + dims({h.m, h.k, 1, 1}) + " = " +
          values(size_t(h.m * h.k), 1, 0.9) + "\n";
  text += "    weight %b1 : f32[" + std::to_string(h.m) +
          "] = " + values(size_t(h.m), 2, 0.0) + "\n";
  text += "    weight %w2 : " + dims({h.m, 1, 3, 3}) + " = " +
          values(size_t(h.m * 9), 3, 0.0) + "\n";
  text += "    weight %b2 : f32[" + std::to_string(h.m) +
          "] = " + values(size_t(h.m), 4, 0.0) + "\n";
  text += "    weight %lo : f32[] = dense<[0.0]>\n";
  text += "    weight %hi : f32[] = dense<[0.5]>\n";
  text += "    %e : " + e + " = Conv(%x, %w1" + (h.bias1 ? ", %b1" : "") +
          ") loc(\"expand\")\n";
  text += activation(h.expandAct, "%e", "%ea", e, "expand_act");
  text += "    " + (h.dwAct == Act::None ? std::string("%y") : "%d") + " : " +
          y + " = Conv(" + expanded + ", %w2" + (h.bias2 ? ", %b2" : "") +
          ") {group = " + std::to_string(h.m) +
          ", pads = [1, 1, 1, 1], strides = [" + std::to_string(h.stride) +
          ", " + std::to_string(h.stride) + "]} loc(\"dw\")\n";
  text += activation(h.dwAct, result, "%y", y, "dw_act");
  return text + "  }\n}\n";
}

/// Lowering options that fuse whatever the pattern allows (the size rule
/// off), or keep the pair apart.
LowerOptions fusing(bool fuse) {
  LowerOptions options;
  options.fuseDepthwise = fuse;
  options.fuseDepthwiseMinBytes = 0;
  options.fuseStridedDepthwiseMinBytes = 0;
  return options;
}

int fusedOp(const ProgramView &view) {
  for (uint32_t i = 0; i < view.header().numOps; ++i)
    if (view.op(i).opcode == Opcode::PointwiseDepthwise)
      return int(i);
  return -1;
}

void checkHead(const Head &h) {
  SCOPED_TRACE(::testing::Message()
               << "batch " << h.batch << " size " << h.size << " stride "
               << h.stride << " acts " << int(h.expandAct) << "/"
               << int(h.dwAct) << " biases " << h.bias1 << h.bias2);
  std::unique_ptr<Module> module = marked(headText(h));
  ASSERT_TRUE(module);
  LoweringReport report;
  std::vector<uint8_t> fused =
      lower(*module, KernelPolicy::Auto, &report, fusing(true));
  std::vector<uint8_t> apart =
      lower(*module, KernelPolicy::Auto, nullptr, fusing(false));
  ASSERT_FALSE(fused.empty() || apart.empty());

  ProgramView view(fused);
  const int op = fusedOp(view);
  ASSERT_GE(op, 0);
  EXPECT_EQ(view.header().numOps, 1u);
  EXPECT_EQ(view.op(uint32_t(op)).kernel, format::KernelId::SpmmCsrAvx2);
  std::string sourceOps = "Conv";
  if (h.expandAct != Act::None)
    sourceOps += h.expandAct == Act::Relu ? "+Relu" : "+Clip";
  sourceOps += "+Conv";
  if (h.dwAct != Act::None)
    sourceOps += h.dwAct == Act::Relu ? "+Relu" : "+Clip";
  EXPECT_EQ(report.ops[size_t(op)].sourceOps, sourceOps);
  const std::vector<uint32_t> inputs = view.inputsOf(uint32_t(op));
  ASSERT_GE(inputs.size(), 4u);
  EXPECT_EQ(inputs[2] == format::kNoTensor, !h.bias1);
  EXPECT_EQ(inputs.size() == 5, h.bias2);
  auto params = view.params<format::PointwiseDepthwiseParams>(uint32_t(op));
  EXPECT_EQ(params.depthwise.strides[0], h.stride);
  EXPECT_EQ(params.depthwise.group, h.m);
  // The expanded tensor is gone from the arena.
  EXPECT_LT(ProgramView(fused).header().numTensors,
            ProgramView(apart).header().numTensors);

  expectSameBitsEverywhere(apart, fused, input(*module, 7));
}

TEST(DepthwiseFusion, BitIdenticalToTheTwoConvs) {
  for (int64_t size : {7, 14, 16})
    for (int64_t stride : {1, 2}) {
      Head h;
      h.size = size;
      h.stride = stride;
      checkHead(h);
    }
}

TEST(DepthwiseFusion, ActivationsBiasesAndBatches) {
  Head h;
  h.batch = 2;
  h.expandAct = Act::Relu;
  h.dwAct = Act::None;
  h.bias1 = false;
  checkHead(h);
  h.batch = 1;
  h.expandAct = Act::None;
  h.dwAct = Act::Relu;
  h.bias1 = true;
  h.bias2 = false;
  checkHead(h);
  // Many channels and a wide plane: blocks of one channel, several per
  // thread.
  h = Head();
  h.m = 96;
  h.k = 16;
  h.size = 48;
  h.stride = 2;
  checkHead(h);
}

/// How many PointwiseDepthwise ops `module` lowers to with `options`.
int fusedCount(const Module &module, LowerOptions options,
               KernelPolicy policy = KernelPolicy::Auto) {
  std::vector<uint8_t> blob = lower(module, policy, nullptr, options);
  ProgramView view(blob);
  int count = 0;
  for (uint32_t i = 0; i < view.header().numOps; ++i)
    count += view.op(i).opcode == Opcode::PointwiseDepthwise;
  return count;
}

// Where the pair stays apart: the expanded value has another reader, the
// 1x1 conv runs dense, fusion is off, or the expanded tensor is below the
// size rule (2 MiB by default; 40 x 14 x 14 floats is 31 KiB).
TEST(DepthwiseFusion, KeptApartWhereItDoesNotApply) {
  Head h;
  std::unique_ptr<Module> module = marked(headText(h));
  ASSERT_TRUE(module);
  EXPECT_EQ(fusedCount(*module, fusing(true)), 1);
  EXPECT_EQ(fusedCount(*module, fusing(true), KernelPolicy::Dense), 0);
  EXPECT_EQ(fusedCount(*module, fusing(true), KernelPolicy::Reference), 0);
  EXPECT_EQ(fusedCount(*module, fusing(false)), 0);
  EXPECT_EQ(fusedCount(*module, LowerOptions()), 0);
  LowerOptions noFuse = fusing(true);
  noFuse.fuse = false;
  EXPECT_EQ(fusedCount(*module, noFuse), 0);
  LowerOptions atSize = LowerOptions();
  atSize.fuseDepthwiseMinBytes = 40 * 14 * 14 * 4;
  EXPECT_EQ(fusedCount(*module, atSize), 1);

  // A strided depthwise reader has its own, lower bar.
  LowerOptions stridedBar = LowerOptions();
  stridedBar.fuseDepthwiseMinBytes = 40 * 14 * 14 * 4 + 4;
  stridedBar.fuseStridedDepthwiseMinBytes = 40 * 14 * 14 * 4;
  EXPECT_EQ(fusedCount(*module, stridedBar), 0);
  Head s2 = h;
  s2.stride = 2;
  std::unique_ptr<Module> strided = marked(headText(s2));
  ASSERT_TRUE(strided);
  EXPECT_EQ(fusedCount(*strided, stridedBar), 1);
  stridedBar.fuseStridedDepthwiseMinBytes += 4;
  EXPECT_EQ(fusedCount(*strided, stridedBar), 0);
  EXPECT_EQ(fusedCount(*strided, LowerOptions()), 0); // 31 KiB < 1 MiB

  h.secondReader = true;
  std::unique_ptr<Module> shared = marked(headText(h));
  ASSERT_TRUE(shared);
  EXPECT_EQ(fusedCount(*shared, fusing(true)), 0);
}

} // namespace
