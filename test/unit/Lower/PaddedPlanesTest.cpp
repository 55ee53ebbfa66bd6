//===- PaddedPlanesTest.cpp - Aligned planes from depthwise to 1x1 conv ---===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Lowering stores a depthwise conv's output that a sparse 1x1 conv alone
// reads with padded planes (PaddedPlanes.cpp). Small projection tails (x ->
// depthwise 3x3 -> Clip -> 1x1 conv, 90 % sparse) on planes of 7x7 (49 ->
// 64 floats), 14x14 (196 -> 208), 14x14 at stride 2 and 10x10, batch 1
// and 2, are lowered with and without the padding and run with 1, 2 and 3
// threads and on the Reference kernels: the outputs must be bit-identical,
// and the padded tensor must be sized for its padded planes. ctest runs
// these once more with SPARSELOOM_NO_AVX512=1 (the AVX2 CSR rows).
//
//===----------------------------------------------------------------------===//

#include "FusionTestUtils.h"
#include "ProgramInspector.h"

using namespace sparseloom;
using namespace sparseloom::testing;
using format::Encoding;

namespace {

struct Tail {
  int64_t batch = 1, k = 24, m = 40, size = 14, stride = 1;
  bool dwIsOutput = false; // the depthwise output is also a graph output
};

std::string tailText(const Tail &t) {
  const int64_t out = (t.size + 2 - 3) / t.stride + 1;
  const std::string x = dims({t.batch, t.k, t.size, t.size});
  const std::string d = dims({t.batch, t.k, out, out});
  const std::string y = dims({t.batch, t.m, out, out});
  std::string text =
      "module {\n  opset \"\" = 13\n  graph \"tail\" (%x : " + x + ") -> (%y" +
      (t.dwIsOutput ? ", %da" : "") + ") {\n";
  text += "    weight %w1 : " + dims({t.k, 1, 3, 3}) + " = " +
          values(size_t(t.k * 9), 1, 0.0) + "\n";
  text += "    weight %b1 : f32[" + std::to_string(t.k) +
          "] = " + values(size_t(t.k), 2, 0.0) + "\n";
  text += "    weight %w2 : " + dims({t.m, t.k, 1, 1}) + " = " +
          values(size_t(t.m * t.k), 3, 0.9) + "\n";
  text += "    weight %b2 : f32[" + std::to_string(t.m) +
          "] = " + values(size_t(t.m), 4, 0.0) + "\n";
  text += "    weight %lo : f32[] = dense<[0.0]>\n";
  text += "    weight %hi : f32[] = dense<[0.5]>\n";
  text += "    %d : " + d +
          " = Conv(%x, %w1, %b1) {group = " + std::to_string(t.k) +
          ", pads = [1, 1, 1, 1], strides = [" + std::to_string(t.stride) +
          ", " + std::to_string(t.stride) + "]} loc(\"dw\")\n";
  text += "    %da : " + d + " = Clip(%d, %lo, %hi) loc(\"dw_act\")\n";
  text += "    %y : " + y + " = Conv(%da, %w2, %b2) loc(\"project\")\n";
  return text + "  }\n}\n";
}

LowerOptions padding(bool pad) {
  LowerOptions options;
  options.padPlanes = pad;
  return options;
}

/// The ids of the program's PaddedPlanes tensors.
std::vector<uint32_t> paddedTensors(const std::vector<uint8_t> &blob) {
  ProgramView view(blob);
  std::vector<uint32_t> ids;
  for (uint32_t i = 0; i < view.header().numTensors; ++i)
    if (view.tensor(i).encoding == Encoding::PaddedPlanes)
      ids.push_back(i);
  return ids;
}

void checkTail(const Tail &t) {
  SCOPED_TRACE(::testing::Message() << "batch " << t.batch << " size " << t.size
                                    << " stride " << t.stride);
  std::unique_ptr<Module> module = marked(tailText(t));
  ASSERT_TRUE(module);
  LoweringReport report;
  std::vector<uint8_t> padded =
      lower(*module, KernelPolicy::Auto, &report, padding(true));
  std::vector<uint8_t> dense =
      lower(*module, KernelPolicy::Auto, nullptr, padding(false));
  ASSERT_FALSE(padded.empty() || dense.empty());
  EXPECT_TRUE(paddedTensors(dense).empty());

  const int64_t out = (t.size + 2 - 3) / t.stride + 1;
  const int64_t plane = out * out;
  const std::vector<uint32_t> ids = paddedTensors(padded);
  if (plane % 16 == 0) {
    EXPECT_TRUE(ids.empty()) << "planes already aligned";
  } else {
    ASSERT_EQ(ids.size(), 1u);
    const format::TensorDesc d = ProgramView(padded).tensor(ids[0]);
    EXPECT_EQ(d.bytes,
              uint64_t(t.batch * t.k * format::paddedPlaneFloats(plane) * 4));
    ASSERT_EQ(report.ops.size(), 2u);
    EXPECT_NE(report.ops[0].reason.find("writes its planes 64-byte aligned"),
              std::string::npos)
        << report.ops[0].reason;
    EXPECT_NE(report.ops[1].reason.find("in place (no copy)"),
              std::string::npos)
        << report.ops[1].reason;
  }

  expectSameBitsEverywhere(dense, padded, input(*module, 7));
}

TEST(PaddedPlanes, BitIdenticalToDensePlanes) {
  for (int64_t size : {7, 14, 16})
    for (int64_t stride : {1, 2}) {
      Tail t;
      t.size = size;
      t.stride = stride;
      checkTail(t);
    }
  Tail wide;
  wide.batch = 2;
  wide.size = 10;
  wide.k = 96;
  wide.m = 24;
  checkTail(wide);
}

// Where the planes stay dense: the depthwise output is also a graph
// output, the 1x1 conv runs dense, or padding is off.
TEST(PaddedPlanes, DenseWhereItDoesNotApply) {
  Tail t;
  std::unique_ptr<Module> module = marked(tailText(t));
  ASSERT_TRUE(module);
  EXPECT_EQ(paddedTensors(lower(*module, KernelPolicy::Auto)).size(), 1u);
  EXPECT_TRUE(paddedTensors(lower(*module, KernelPolicy::Dense)).empty());
  EXPECT_TRUE(paddedTensors(lower(*module, KernelPolicy::Reference)).empty());
  EXPECT_TRUE(
      paddedTensors(lower(*module, KernelPolicy::Auto, nullptr, padding(false)))
          .empty());

  t.dwIsOutput = true;
  std::unique_ptr<Module> shared = marked(tailText(t));
  ASSERT_TRUE(shared);
  EXPECT_TRUE(paddedTensors(lower(*shared, KernelPolicy::Auto)).empty());
}

} // namespace
