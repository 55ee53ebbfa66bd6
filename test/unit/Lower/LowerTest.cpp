//===- LowerTest.cpp - Lowering small modules, byte by byte ---------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Small hand-written modules whose programs are checked through
// ProgramFormat.h alone: the header and sections, resolved attributes,
// weight encodings decoded back to the original matrix, aliasing, fusion,
// errors, and (through the runtime) the numbers a program computes.
//
//===----------------------------------------------------------------------===//

#include "LowerTestUtils.h"
#include "ProgramInspector.h"

#include "sparseloom/Runtime/OpRegistry.h"

#include "Runtime/Kernels/FastKernels.h"

#include <cmath>
#include <cstring>

using namespace sparseloom;
using namespace sparseloom::testing;
using format::Encoding;
using format::KernelId;
using format::Opcode;

namespace {

llvm::Expected<std::vector<uint8_t>>
lowerText(llvm::StringRef text, LowerOptions options = {},
          LoweringReport *report = nullptr) {
  auto module = parseModule(text, "test.slir");
  if (!module)
    return module.takeError();
  return lowerModule(**module, options, report);
}

std::vector<uint8_t> lowerOrDie(llvm::StringRef text, LowerOptions options = {},
                                LoweringReport *report = nullptr) {
  auto blob = lowerText(text, options, report);
  if (!blob) {
    ADD_FAILURE() << llvm::toString(blob.takeError());
    return {};
  }
  return std::move(*blob);
}

const char *kConvRelu = R"(
module {
  opset "" = 13
  graph "conv_relu" (%x : f32[1,2,4,4]) -> (%y) {
    weight %w : f32[4,2,3,3] = dense<[1.0, 0.0, -1.0, 0.5, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5]>
    weight %b : f32[4] = dense<[0.1, -0.2, 0.3, -0.4]>
    %c : f32[1,4,4,4] = Conv(%x, %w, %b) {pads = [1, 1, 1, 1]} loc("conv") annotate {fuse.activation = "Relu"}
    %y : f32[1,4,4,4] = Relu(%c) loc("relu")
  }
}
)";

std::vector<float> iota(size_t n, float scale = 1.0f, float offset = 0.0f) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = float(i) * scale + offset;
  return v;
}

//===----------------------------------------------------------------------===//
// The container
//===----------------------------------------------------------------------===//

// The header, sections and CRC follow ProgramFormat.h.
TEST(LowerTest, HeaderSectionsAndChecksum) {
  std::vector<uint8_t> blob = lowerOrDie(kConvRelu);
  ASSERT_GE(blob.size(), sizeof(format::ProgramHeader));
  ProgramView view(blob);
  const format::ProgramHeader &h = view.header();
  EXPECT_EQ(std::memcmp(h.magic, format::kProgramMagic, 8), 0);
  EXPECT_EQ(h.versionMajor, format::kProgramVersionMajor);
  EXPECT_EQ(h.headerSize, sizeof(format::ProgramHeader));
  EXPECT_EQ(h.totalSize, blob.size());
  for (uint64_t offset :
       {h.tensorsOffset, h.opsOffset, h.operandsOffset, h.ioOffset,
        h.paramsOffset, h.namesOffset, h.weightsOffset})
    EXPECT_EQ(offset % format::kSectionAlignment, 0u);
  EXPECT_EQ(h.bodyCrc32, runtime::crc32(blob.data() + h.headerSize,
                                        blob.size() - h.headerSize));
  EXPECT_EQ(view.name(h.nameOffset), "conv_relu");
  EXPECT_EQ(h.numInputs, 1u);
  EXPECT_EQ(h.numOutputs, 1u);
  EXPECT_EQ(view.tensorName(view.graphInputs()[0]), "x");
  EXPECT_EQ(view.tensorName(view.graphOutputs()[0]), "y");
  EXPECT_EQ(h.arenaSize % 64, 0u);
  EXPECT_LE(h.arenaSize, h.activationBytesUnplanned + 64 * 2);
}

// Equal modules give equal bytes, and the runtime accepts them.
TEST(LowerTest, DeterministicAndLoadable) {
  std::vector<uint8_t> a = lowerOrDie(kConvRelu), b = lowerOrDie(kConvRelu);
  EXPECT_EQ(a, b);
  runtime::Program program;
  runtime::Status s = runtime::Program::load(a.data(), a.size(), program);
  EXPECT_TRUE(s) << s.message();
}

//===----------------------------------------------------------------------===//
// Products
//===----------------------------------------------------------------------===//

// Conv + Relu marked by fuse-activation is one op with a Relu epilogue.
TEST(LowerTest, FusedActivationIsOneOp) {
  LoweringReport report;
  std::vector<uint8_t> blob = lowerOrDie(kConvRelu, {}, &report);
  ProgramView view(blob);
  ASSERT_EQ(view.header().numOps, 1u);
  EXPECT_EQ(view.op(0).opcode, Opcode::Conv);
  auto params = view.params<format::ConvParams>(0);
  EXPECT_EQ(params.activation, format::Activation::Relu);
  EXPECT_EQ(params.pads[0], 1);
  EXPECT_EQ(params.pads[3], 1);
  EXPECT_EQ(params.kernel[0], 3);
  EXPECT_EQ(report.ops[0].sourceOps, "Conv+Relu");
  ASSERT_EQ(report.elidedNodes.size(), 1u);

  // Without the annotation, the Relu stays an op of its own.
  std::string plain = kConvRelu;
  plain.replace(plain.find(" annotate {fuse.activation = \"Relu\"}"),
                std::strlen(" annotate {fuse.activation = \"Relu\"}"), "");
  std::vector<uint8_t> unfused = lowerOrDie(plain);
  EXPECT_EQ(ProgramView(unfused).header().numOps, 2u);

  // Both compute the same numbers, on every kernel family.
  FloatTensor x{{1, 2, 4, 4}, iota(32, 0.25f, -3.0f)};
  auto expected = runProgram(unfused, {x});
  for (KernelPolicy policy : {KernelPolicy::Reference, KernelPolicy::Dense,
                              KernelPolicy::Csr, KernelPolicy::Block4x1}) {
    LowerOptions options;
    options.kernelPolicy = policy;
    auto got = runProgram(lowerOrDie(kConvRelu, options), {x});
    ASSERT_EQ(got.size(), 1u);
    ASSERT_EQ(expected.size(), 1u);
    EXPECT_LT(maxAbsDiff(got[0].values, expected[0].values), 1e-5f)
        << kernelPolicyName(policy).str();
  }
}

const char *kLinear = R"(
module {
  opset "" = 13
  graph "linear" (%x : f32[1,3,4]) -> (%z) {
    weight %w : f32[4,8] = dense<[1.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 4.0, 0.0, 0.0, 0.0, 0.0, -2.0]>
    weight %bias : f32[8] = dense<[0.5, 0.25, -0.5, 1.0, 0.0, 0.0, 2.0, -1.0]>
    %m : f32[1,3,8] = MatMul(%x, %w) loc("fc/MatMul")
    %z : f32[1,3,8] = Add(%bias, %m) loc("fc/Add")
  }
}
)";

// MatMul by a weight plus a bias Add is one Gemm on 2-D views, with the
// weight stored transposed ([N, K]) and the bias fused.
TEST(LowerTest, MatMulWithBiasBecomesGemm) {
  LowerOptions options;
  options.kernelPolicy = KernelPolicy::Reference;
  LoweringReport report;
  std::vector<uint8_t> blob = lowerOrDie(kLinear, options, &report);
  ProgramView view(blob);
  ASSERT_EQ(view.header().numOps, 1u);
  EXPECT_EQ(view.op(0).opcode, Opcode::Gemm);
  EXPECT_EQ(report.ops[0].sourceOps, "MatMul+Add");
  std::vector<uint32_t> in = view.inputsOf(0);
  ASSERT_EQ(in.size(), 3u);
  format::TensorDesc a = view.tensor(in[0]), w = view.tensor(in[1]);
  EXPECT_EQ(a.rank, 2u);
  EXPECT_EQ(a.dims[0], 3);
  EXPECT_EQ(a.dims[1], 4);
  EXPECT_EQ(w.dims[0], 8);
  EXPECT_EQ(w.dims[1], 4);
  EXPECT_EQ(w.encoding, Encoding::Dense);
  auto params = view.params<format::GemmParams>(0);
  EXPECT_EQ(params.transA, 0);
  EXPECT_EQ(params.transB, 1);
  // W^T[n][k] = W[k][n]: element (3, 0) of the stored [8, 4] is W[0][3] = 2.
  const float *stored =
      reinterpret_cast<const float *>(view.weightBytes(in[1]));
  EXPECT_EQ(stored[3 * 4 + 0], 2.0f);
  EXPECT_EQ(stored[1 * 4 + 1], 3.0f);
  // The output view and the graph output share their arena bytes.
  format::TensorDesc y = view.tensor(view.outputsOf(0)[0]);
  format::TensorDesc z = view.tensor(view.graphOutputs()[0]);
  EXPECT_EQ(y.offset, z.offset);
  EXPECT_EQ(y.rank, 2u);
  EXPECT_EQ(z.rank, 3u);

  // Numbers: every kernel family agrees with a plain computation.
  FloatTensor x{{1, 3, 4}, iota(12, 0.5f, -2.0f)};
  std::vector<float> wv = {1, 0, 0, 2, 0,   0, 0, 0, 0, 3, 0, 0, 0, 0, -1, 0,
                           0, 0, 0, 0, 0.5, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0,  -2};
  std::vector<float> bv = {0.5f, 0.25f, -0.5f, 1, 0, 0, 2, -1};
  std::vector<float> want(24);
  for (int r = 0; r < 3; ++r)
    for (int n = 0; n < 8; ++n) {
      float s = bv[size_t(n)];
      for (int k = 0; k < 4; ++k)
        s += x.values[size_t(r * 4 + k)] * wv[size_t(k * 8 + n)];
      want[size_t(r * 8 + n)] = s;
    }
  for (KernelPolicy policy :
       {KernelPolicy::Reference, KernelPolicy::Dense, KernelPolicy::Csr,
        KernelPolicy::Block4x1, KernelPolicy::Auto}) {
    LowerOptions o;
    o.kernelPolicy = policy;
    auto got = runProgram(lowerOrDie(kLinear, o), {x});
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].dims, (std::vector<int64_t>{1, 3, 8}));
    EXPECT_LT(maxAbsDiff(got[0].values, want), 1e-5f)
        << kernelPolicyName(policy).str();
  }
}

// The encodings decode back to the weight: CSR and 4x1 blocks through their
// headers, packed panels by their header fields.
TEST(LowerTest, WeightEncodingsDecode) {
  // The [8, 4] transposed weight of kLinear, row-major.
  std::vector<float> wv = {1, 0, 0, 2, 0,   0, 0, 0, 0, 3, 0, 0, 0, 0, -1, 0,
                           0, 0, 0, 0, 0.5, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0,  -2};
  auto expected = [&](int n, int k) { return wv[size_t(k * 8 + n)]; };

  for (KernelPolicy policy : {KernelPolicy::Csr, KernelPolicy::Block4x1}) {
    LowerOptions options;
    options.kernelPolicy = policy;
    std::vector<uint8_t> blob = lowerOrDie(kLinear, options);
    ProgramView view(blob);
    uint32_t wid = view.inputsOf(0)[1];
    format::TensorDesc w = view.tensor(wid);
    const uint8_t *base = view.weightBytes(wid);
    format::SparseMatrixHeader sh;
    std::memcpy(&sh, base, sizeof(sh));
    EXPECT_EQ(sh.rows, 8u);
    EXPECT_EQ(sh.cols, 4u);
    const uint32_t br = policy == KernelPolicy::Csr ? 1 : 4;
    EXPECT_EQ(sh.blockRows, br);
    EXPECT_EQ(sh.blockCols, 1u);
    EXPECT_EQ(w.encoding, br == 1 ? Encoding::Csr : Encoding::BlockSparse);
    EXPECT_LE(sh.valuesOffset + sh.numBlocks * br * 4, w.bytes);
    const uint32_t *rowPtr =
        reinterpret_cast<const uint32_t *>(base + sh.rowPtrOffset);
    const uint32_t *colIdx =
        reinterpret_cast<const uint32_t *>(base + sh.colIdxOffset);
    const float *values =
        reinterpret_cast<const float *>(base + sh.valuesOffset);
    std::vector<float> decoded(32, 0.0f);
    for (uint32_t r = 0; r < 8 / br; ++r)
      for (uint32_t b = rowPtr[r]; b < rowPtr[r + 1]; ++b)
        for (uint32_t i = 0; i < br; ++i)
          decoded[(r * br + i) * 4 + colIdx[b]] = values[b * br + i];
    for (int n = 0; n < 8; ++n)
      for (int k = 0; k < 4; ++k)
        EXPECT_EQ(decoded[size_t(n * 4 + k)], expected(n, k))
            << kernelPolicyName(policy).str() << " (" << n << ", " << k << ")";
    // CSR stores exactly the non-zeros; blocks store whole 4x1 columns.
    if (br == 1) {
      EXPECT_EQ(sh.numBlocks, 7u);
    }
  }

  LowerOptions dense;
  dense.kernelPolicy = KernelPolicy::Dense;
  std::vector<uint8_t> blob = lowerOrDie(kLinear, dense);
  ProgramView view(blob);
  uint32_t wid = view.inputsOf(0)[1];
  EXPECT_EQ(view.tensor(wid).encoding, Encoding::PackedPanels);
  EXPECT_EQ(view.op(0).kernel, KernelId::DenseGemmAvx2);
  format::PackedMatrixHeader ph;
  std::memcpy(&ph, view.weightBytes(wid), sizeof(ph));
  EXPECT_EQ(ph.rows, 8u);
  EXPECT_EQ(ph.cols, 4u);
  EXPECT_EQ(ph.panelWidth, runtime::packedWeightPanelWidth());
  EXPECT_EQ(ph.layout, runtime::packedWeightLayoutTag());
  EXPECT_EQ(ph.dataOffset % 64, 0u);
  EXPECT_EQ(ph.dataBytes, runtime::packedWeightBytes(8, 4));
}

// Gemm with transB = 0 and alpha/beta: the stored weight is alpha * B^T and
// the bias beta * C, so the fast form needs no scaling.
TEST(LowerTest, GemmFoldsAlphaBetaAndTranspose) {
  const char *text = R"(
module {
  opset "" = 13
  graph "gemm" (%a : f32[2,3]) -> (%y) {
    weight %b : f32[3,2] = dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]>
    weight %c : f32[2] = dense<[1.0, -1.0]>
    %y : f32[2,2] = Gemm(%a, %b, %c) {alpha = 2.0, beta = 0.5} loc("gemm")
  }
}
)";
  LowerOptions options;
  options.kernelPolicy = KernelPolicy::Reference;
  std::vector<uint8_t> blob = lowerOrDie(text, options);
  ProgramView view(blob);
  auto params = view.params<format::GemmParams>(0);
  EXPECT_EQ(params.transB, 1);
  EXPECT_EQ(params.alpha, 1.0f);
  EXPECT_EQ(params.beta, 1.0f);
  std::vector<uint32_t> in = view.inputsOf(0);
  const float *w = reinterpret_cast<const float *>(view.weightBytes(in[1]));
  const float *c = reinterpret_cast<const float *>(view.weightBytes(in[2]));
  EXPECT_EQ(std::vector<float>(w, w + 6),
            (std::vector<float>{2, 6, 10, 4, 8, 12}));
  EXPECT_EQ(std::vector<float>(c, c + 2), (std::vector<float>{0.5f, -0.5f}));
  auto got = runProgram(blob, {{{2, 3}, {1, 0, -1, 0.5f, 2, 1}}});
  ASSERT_EQ(got.size(), 1u);
  // y = 2 * a * b + 0.5 * c
  EXPECT_EQ(got[0].values, (std::vector<float>{-7.5f, -8.5f, 23.5f, 29.5f}));
}

// A depthwise convolution gets the depthwise kernel, a grouped one the
// reference.
TEST(LowerTest, DepthwiseAndGroupedConv) {
  const char *text = R"(
module {
  opset "" = 13
  graph "dw" (%x : f32[1,4,5,5]) -> (%y, %z) {
    weight %dw : f32[4,1,3,3] = dense<[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]>
    weight %gw : f32[4,2,1,1] = dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]>
    %y : f32[1,4,5,5] = Conv(%x, %dw) {group = 4, pads = [1, 1, 1, 1]} loc("dw")
    %z : f32[1,4,5,5] = Conv(%x, %gw) {group = 2} loc("grouped")
  }
}
)";
  LoweringReport report;
  std::vector<uint8_t> blob = lowerOrDie(text, {}, &report);
  ProgramView view(blob);
  ASSERT_EQ(view.header().numOps, 2u);
  EXPECT_EQ(view.op(0).kernel, KernelId::DepthwiseAvx2);
  EXPECT_EQ(view.op(1).kernel, KernelId::Reference);
  EXPECT_NE(report.ops[1].reason.find("grouped"), std::string::npos);
  auto fast = runProgram(blob, {{{1, 4, 5, 5}, iota(100, 0.1f)}});
  LowerOptions ref;
  ref.kernelPolicy = KernelPolicy::Reference;
  auto slow =
      runProgram(lowerOrDie(text, ref), {{{1, 4, 5, 5}, iota(100, 0.1f)}});
  ASSERT_EQ(fast.size(), 2u);
  ASSERT_EQ(slow.size(), 2u);
  EXPECT_LT(maxAbsDiff(fast[0].values, slow[0].values), 1e-5f);
  EXPECT_LT(maxAbsDiff(fast[1].values, slow[1].values), 1e-5f);
}

// A 1-D convolution runs as a 2-D one with H = 1, on views.
TEST(LowerTest, Conv1DBecomes2D) {
  const char *text = R"(
module {
  opset "" = 13
  graph "conv1d" (%x : f32[1,1,6]) -> (%y) {
    weight %w : f32[1,1,3] = dense<[1.0, 2.0, 3.0]>
    %y : f32[1,1,3] = Conv(%x, %w) {strides = [2], pads = [1, 0]} loc("conv")
  }
}
)";
  std::vector<uint8_t> blob = lowerOrDie(text);
  ProgramView view(blob);
  format::TensorDesc x = view.tensor(view.inputsOf(0)[0]);
  EXPECT_EQ(x.rank, 4u);
  EXPECT_EQ(x.dims[2], 1);
  auto p = view.params<format::ConvParams>(0);
  EXPECT_EQ(p.kernel[0], 1);
  EXPECT_EQ(p.kernel[1], 3);
  EXPECT_EQ(p.strides[1], 2);
  EXPECT_EQ(p.pads[1], 1);
  EXPECT_EQ(p.pads[3], 0);
  auto got = runProgram(blob, {{{1, 1, 6}, {1, 2, 3, 4, 5, 6}}});
  ASSERT_EQ(got.size(), 1u);
  // windows [pad,1,2] [2,3,4] [4,5,6]
  EXPECT_EQ(got[0].values, (std::vector<float>{8, 20, 32}));
  EXPECT_EQ(got[0].dims, (std::vector<int64_t>{1, 1, 3}));
}

//===----------------------------------------------------------------------===//
// Attribute resolution
//===----------------------------------------------------------------------===//

// auto_pad SAME_UPPER becomes explicit pads; ceil_mode is carried by the
// output shape, which the runtime accepts between the floor and ceil sizes.
TEST(LowerTest, AutoPadAndCeilMode) {
  const char *text = R"(
module {
  opset "" = 13
  graph "pads" (%x : f32[1,1,4,4], %v : f32[1,1,5,5]) -> (%p, %c) {
    weight %w : f32[1,1,3,3] = dense<[0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]>
    %p : f32[1,1,2,2] = MaxPool(%x) {kernel_shape = [3, 3], strides = [2, 2], ceil_mode = 1} loc("pool")
    %c : f32[1,1,3,3] = Conv(%v, %w) {auto_pad = "SAME_UPPER", strides = [2, 2]} loc("conv")
  }
}
)";
  std::vector<uint8_t> blob = lowerOrDie(text);
  ProgramView view(blob);
  // ceil_mode is in the output shape (2 = ceil((4-3)/2)+1), not the pads.
  auto pool = view.params<format::PoolParams>(0);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(pool.pads[i], 0);
  EXPECT_EQ(view.tensor(view.outputsOf(0)[0]).dims[2], 2);
  auto conv = view.params<format::ConvParams>(1);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(conv.pads[i], 1); // total 2 per axis, split evenly
  auto got =
      runProgram(blob, {{{1, 1, 4, 4}, iota(16)}, {{1, 1, 5, 5}, iota(25)}});
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].values, (std::vector<float>{10, 11, 14, 15}));
  EXPECT_EQ(got[1].values,
            (std::vector<float>{0, 2, 4, 10, 12, 14, 20, 22, 24}));
}

// Slice starts/ends/steps/axes become per-axis starts and steps, clamped and
// with negative positions resolved.
TEST(LowerTest, SliceResolution) {
  const char *text = R"(
module {
  opset "" = 13
  graph "slice" (%x : f32[2,6]) -> (%y) {
    weight %starts : i64[1] = dense<[-1]>
    weight %ends : i64[1] = dense<[-100]>
    weight %axes : i64[1] = dense<[-1]>
    weight %steps : i64[1] = dense<[-2]>
    %y : f32[2,3] = Slice(%x, %starts, %ends, %axes, %steps) loc("slice")
  }
}
)";
  std::vector<uint8_t> blob = lowerOrDie(text);
  ProgramView view(blob);
  EXPECT_EQ(view.inputsOf(0).size(), 1u); // constants folded into params
  auto p = view.params<format::SliceParams>(0);
  EXPECT_EQ(p.starts[0], 0);
  EXPECT_EQ(p.steps[0], 1);
  EXPECT_EQ(p.starts[1], 5);
  EXPECT_EQ(p.steps[1], -2);
  auto got = runProgram(blob, {{{2, 6}, iota(12)}});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].values, (std::vector<float>{5, 3, 1, 11, 9, 7}));
}

// Clip bounds given as inputs, reduction axes as an input, negative axes.
TEST(LowerTest, ConstantOperandsBecomeParams) {
  const char *text = R"(
module {
  opset "" = 13
  graph "params" (%x : f32[2,3]) -> (%c, %s, %m) {
    weight %lo : f32[] = dense<[0.0]>
    weight %hi : f32[] = dense<[6.0]>
    weight %axes : i64[1] = dense<[-1]>
    %c : f32[2,3] = Clip(%x, %lo, %hi) loc("clip")
    %s : f32[2] = ReduceSum(%x, %axes) {keepdims = 0} loc("sum")
    %m : f32[2,3] = Softmax(%x) {axis = -1} loc("softmax")
  }
}
)";
  std::vector<uint8_t> blob = lowerOrDie(text);
  ProgramView view(blob);
  auto clip = view.params<format::ClipParams>(0);
  EXPECT_EQ(clip.min, 0.0f);
  EXPECT_EQ(clip.max, 6.0f);
  EXPECT_EQ(view.inputsOf(0).size(), 1u);
  auto sum = view.params<format::ReduceParams>(1);
  EXPECT_EQ(sum.axesMask, 2u);
  EXPECT_EQ(sum.keepDims, 0);
  EXPECT_EQ(view.params<format::AxisParams>(2).axis, 1);
  auto got = runProgram(blob, {{{2, 3}, {-1, 3, 9, 2, 7, -4}}});
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].values, (std::vector<float>{0, 3, 6, 2, 6, 0}));
  EXPECT_EQ(got[1].values, (std::vector<float>{11, 5}));
}

//===----------------------------------------------------------------------===//
// Views and memory
//===----------------------------------------------------------------------===//

const char *kReshapes = R"(
module {
  opset "" = 13
  graph "views" (%x : f32[2,6]) -> (%z) {
    weight %shape : i64[3] = dense<[3, 2, 2]>
    %a : f32[2,6] = Relu(%x) loc("relu")
    %r : f32[3,2,2] = Reshape(%a, %shape) loc("reshape")
    %f : f32[3,4] = Flatten(%r) loc("flatten")
    %z : f32[3,4] = Neg(%f) loc("neg")
  }
}
)";

// Reshape and Flatten are views of their input's buffer: no op, same offset.
TEST(LowerTest, ReshapesAreAliased) {
  LoweringReport report;
  std::vector<uint8_t> blob = lowerOrDie(kReshapes, {}, &report);
  ProgramView view(blob);
  ASSERT_EQ(view.header().numOps, 2u);
  format::TensorDesc a = view.tensor(view.outputsOf(0)[0]);
  format::TensorDesc f = view.tensor(view.inputsOf(1)[0]);
  EXPECT_EQ(a.offset, f.offset);
  EXPECT_EQ(f.rank, 2u);
  EXPECT_EQ(f.dims[0], 3);
  EXPECT_EQ(report.numAliases, 2u);
  auto module = parseOrDie(kReshapes);
  checkMemoryPlan(blob, *module);

  // With aliasing off, both become Identity copies; same numbers.
  LowerOptions copies;
  copies.aliasReshapes = false;
  std::vector<uint8_t> copied = lowerOrDie(kReshapes, copies);
  ProgramView copiedView(copied);
  ASSERT_EQ(copiedView.header().numOps, 4u);
  EXPECT_EQ(copiedView.op(1).opcode, Opcode::Identity);
  FloatTensor x{{2, 6}, iota(12, 1.0f, -6.0f)};
  auto one = runProgram(blob, {x}), two = runProgram(copied, {x});
  ASSERT_EQ(one.size(), 1u);
  ASSERT_EQ(two.size(), 1u);
  EXPECT_EQ(one[0].values, two[0].values);
}

// A diamond with a long-lived branch: the plan reuses memory and the
// independent checker finds no conflict.
TEST(LowerTest, MemoryPlanOfADiamond) {
  const char *text = R"(
module {
  opset "" = 13
  graph "diamond" (%x : f32[64,64]) -> (%y) {
    %a : f32[64,64] = Relu(%x) loc("a")
    %b : f32[64,64] = Neg(%a) loc("b")
    %c : f32[64,64] = Abs(%b) loc("c")
    %d : f32[64,64] = Exp(%c) loc("d")
    %e : f32[64,64] = Sqrt(%d) loc("e")
    %y : f32[64,64] = Add(%a, %e) loc("y")
  }
}
)";
  auto module = parseOrDie(text);
  LoweringReport report;
  auto blob = lowerModule(*module, {}, &report);
  ASSERT_TRUE(bool(blob)) << llvm::toString(blob.takeError());
  EXPECT_EQ(checkMemoryPlan(*blob, *module), 7u);
  // At most three are live at once (a, and two of the chain).
  EXPECT_EQ(report.unplannedActivationBytes, 7u * 64 * 64 * 4);
  EXPECT_EQ(report.arenaBytes, 3u * 64 * 64 * 4);
}

// A graph output that is a constant is copied into the arena.
TEST(LowerTest, ConstantGraphOutput) {
  const char *text = R"(
module {
  opset "" = 13
  graph "const_out" (%x : f32[2]) -> (%y, %k) {
    weight %k : f32[2] = dense<[7.0, 8.0]>
    %y : f32[2] = Neg(%x) loc("neg")
  }
}
)";
  std::vector<uint8_t> blob = lowerOrDie(text);
  auto got = runProgram(blob, {{{2}, {1, 2}}});
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].values, (std::vector<float>{7, 8}));
}

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

TEST(LowerTest, UnsupportedOpNamesTheNode) {
  std::string error = errorOf(lowerText(R"(
module {
  opset "" = 13
  graph "g" (%x : f32[1,4]) -> (%y) {
    %y : f32[1,4] = Hardmax(%x) loc("/head/Hardmax")
  }
}
)"));
  EXPECT_NE(error.find("node /head/Hardmax"), std::string::npos) << error;
  EXPECT_NE(error.find("'Hardmax' is not supported"), std::string::npos);
}

TEST(LowerTest, SymbolicBatchNamesTheInput) {
  std::string error = errorOf(lowerText(R"(
module {
  opset "" = 13
  graph "g" (%image : f32[N,4]) -> (%y) {
    %y : f32[N,4] = Relu(%image) loc("relu")
  }
}
)"));
  EXPECT_NE(error.find("graph input 'image'"), std::string::npos) << error;
  EXPECT_NE(error.find("symbolic ('N')"), std::string::npos) << error;
  EXPECT_NE(error.find("--input-shape image="), std::string::npos) << error;
}

TEST(LowerTest, RuntimeSliceStartsAreAnError) {
  std::string error = errorOf(lowerText(R"(
module {
  opset "" = 13
  graph "g" (%x : f32[6], %s : i64[1]) -> (%y) {
    weight %e : i64[1] = dense<[4]>
    %y : f32[2] = Slice(%x, %s, %e) loc("slice")
  }
}
)"));
  EXPECT_NE(error.find("node slice"), std::string::npos) << error;
  EXPECT_NE(error.find("Slice's starts"), std::string::npos) << error;
  EXPECT_NE(error.find("computed at run time"), std::string::npos) << error;
}

TEST(LowerTest, Conv3DIsAnError) {
  std::string error = errorOf(lowerText(R"(
module {
  opset "" = 13
  graph "g" (%x : f32[1,1,4,4,4]) -> (%y) {
    weight %w : f32[1,1,1,1,1] = dense<[1.0]>
    %y : f32[1,1,4,4,4] = Conv(%x, %w) loc("conv3d")
  }
}
)"));
  EXPECT_NE(error.find("node conv3d"), std::string::npos) << error;
  EXPECT_NE(error.find("3 spatial dims"), std::string::npos) << error;
}

TEST(LowerTest, UnsupportedAttributeValues) {
  std::string pad = errorOf(lowerText(R"(
module {
  opset "" = 13
  graph "g" (%x : f32[4]) -> (%y) {
    weight %p : i64[2] = dense<[1, 1]>
    %y : f32[6] = Pad(%x, %p) {mode = "reflect"} loc("pad")
  }
}
)"));
  EXPECT_NE(pad.find("mode 'reflect'"), std::string::npos) << pad;
  std::string dtype = errorOf(lowerText(R"(
module {
  opset "" = 13
  graph "g" (%x : f64[4]) -> (%y) {
    %y : f64[4] = Relu(%x) loc("relu")
  }
}
)"));
  EXPECT_NE(dtype.find("element type f64"), std::string::npos) << dtype;
}

} // namespace
