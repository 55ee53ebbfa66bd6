//===- LoaderTest.cpp - The program verifier rejects what it must ---------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// One test per class of corruption, each checking the status and that the
// message names what is wrong; then a fuzzer that flips and truncates bytes
// of real programs at many offsets (with the CRC recomputed, so corruption
// reaches the checks behind it) and runs whatever still loads. Under the
// sanitizer build any out-of-bounds read would fail it.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestUtil.h"

#include "sparseloom/Runtime/OpRegistry.h"

#include <gtest/gtest.h>

#include <functional>

namespace sparseloom {
namespace test {
namespace {

using namespace format;

/// Conv(+bias, Relu) -> GlobalAveragePool -> Flatten(Identity) -> Gemm ->
/// Softmax, with the Conv weight in `convEncoding` and the FC in
/// `fcEncoding`.
std::vector<uint8_t> smallCnn(Encoding convEncoding = Encoding::Dense,
                              Encoding fcEncoding = Encoding::Dense,
                              KernelId convKernel = KernelId::Reference,
                              KernelId fcKernel = KernelId::Reference) {
  ProgramBuilder b("small-cnn");
  uint32_t x = b.input("x", DType::F32, {1, 3, 8, 8});
  std::vector<float> wc = randomFloats(8 * 3 * 3 * 3, 1);
  sparsify(wc, 0.5, 2);
  uint32_t w;
  switch (convEncoding) {
  case Encoding::Csr:
    w = b.csrWeight("conv.w", {8, 3, 3, 3}, wc, 8, 27);
    break;
  case Encoding::BlockSparse:
    w = b.blockWeight("conv.w", {8, 3, 3, 3}, wc, 8, 27);
    break;
  case Encoding::PackedPanels:
    w = b.packedWeight("conv.w", {8, 3, 3, 3}, wc, 8, 27);
    break;
  default:
    w = b.weight("conv.w", {8, 3, 3, 3}, wc);
  }
  uint32_t bias = b.weight("conv.b", {8}, randomFloats(8, 3));
  uint32_t c = b.activation("conv", DType::F32, {1, 8, 8, 8});
  b.op(Opcode::Conv, {x, w, bias}, {c}, squareConv(3, 1, 1, Activation::Relu),
       convKernel, "conv");
  uint32_t g = b.activation("gap", DType::F32, {1, 8, 1, 1});
  b.op(Opcode::GlobalAveragePool, {c}, {g}, nullptr, 0, KernelId::Reference,
       "gap");
  uint32_t f = b.activation("flat", DType::F32, {1, 8});
  b.op(Opcode::Identity, {g}, {f}, nullptr, 0, KernelId::Reference, "flatten");
  std::vector<float> wf = randomFloats(4 * 8, 4);
  sparsify(wf, 0.5, 5);
  uint32_t fw;
  switch (fcEncoding) {
  case Encoding::Csr:
    fw = b.csrWeight("fc.w", {4, 8}, wf, 4, 8);
    break;
  case Encoding::BlockSparse:
    fw = b.blockWeight("fc.w", {4, 8}, wf, 4, 8);
    break;
  case Encoding::PackedPanels:
    fw = b.packedWeight("fc.w", {4, 8}, wf, 4, 8);
    break;
  default:
    fw = b.weight("fc.w", {4, 8}, wf);
  }
  uint32_t fb = b.weight("fc.b", {4}, randomFloats(4, 6));
  uint32_t logits = b.activation("logits", DType::F32, {1, 4});
  GemmParams gp{};
  gp.transB = 1;
  gp.alpha = gp.beta = 1.f;
  b.op(Opcode::Gemm, {f, fw, fb}, {logits}, gp, fcKernel, "fc");
  uint32_t prob = b.activation("prob", DType::F32, {1, 4});
  AxisParams ap{1, 0};
  b.op(Opcode::Softmax, {logits}, {prob}, ap, KernelId::Reference, "softmax");
  b.output(prob);
  return b.build();
}

struct LoadResult {
  sl_status status;
  std::string message;
};

LoadResult load(const std::vector<uint8_t> &blob) {
  runtime::Program p;
  runtime::Status s = runtime::Program::load(blob.data(), blob.size(), p);
  return {s.code(), s.message()};
}

void editTensor(std::vector<uint8_t> &blob, uint32_t id,
                const std::function<void(TensorDesc &)> &edit) {
  ProgramHeader h = ProgramBuilder::header(blob);
  TensorDesc t;
  uint8_t *at = blob.data() + h.tensorsOffset + id * sizeof(TensorDesc);
  std::memcpy(&t, at, sizeof(t));
  edit(t);
  std::memcpy(at, &t, sizeof(t));
  ProgramBuilder::fixCrc(blob);
}

void editOp(std::vector<uint8_t> &blob, uint32_t id,
            const std::function<void(OpDesc &)> &edit) {
  ProgramHeader h = ProgramBuilder::header(blob);
  OpDesc d;
  uint8_t *at = blob.data() + h.opsOffset + id * sizeof(OpDesc);
  std::memcpy(&d, at, sizeof(d));
  edit(d);
  std::memcpy(at, &d, sizeof(d));
  ProgramBuilder::fixCrc(blob);
}

void editHeader(std::vector<uint8_t> &blob,
                const std::function<void(ProgramHeader &)> &edit,
                bool fixCrc = true) {
  ProgramHeader h = ProgramBuilder::header(blob);
  edit(h);
  std::memcpy(blob.data(), &h, sizeof(h));
  if (fixCrc)
    ProgramBuilder::fixCrc(blob);
}

#define EXPECT_LOAD_ERROR(blob, code, text)                                    \
  do {                                                                         \
    LoadResult r_ = load(blob);                                                \
    EXPECT_EQ(r_.status, code) << r_.message;                                  \
    EXPECT_NE(r_.message.find(text), std::string::npos) << r_.message;         \
  } while (0)

TEST(Loader, ValidProgramLoadsAndDescribesItself) {
  std::vector<uint8_t> blob = smallCnn();
  runtime::Program p;
  ASSERT_TRUE(runtime::Program::load(blob.data(), blob.size(), p).ok());
  EXPECT_STREQ(p.name(), "small-cnn");
  ASSERT_EQ(p.inputCount(), 1u);
  sl_tensor_info in = p.inputInfo(0);
  EXPECT_STREQ(in.name, "x");
  EXPECT_EQ(in.dtype, SL_DTYPE_FLOAT32);
  EXPECT_EQ(in.rank, 4u);
  EXPECT_EQ(in.bytes, 3u * 8 * 8 * 4);
  ASSERT_EQ(p.opCount(), 5u);
  EXPECT_STREQ(p.opInfo(0).name, "conv");
  EXPECT_STREQ(p.opInfo(0).opcode, "Conv");
  EXPECT_STREQ(p.opInfo(0).kernel, "Reference");
  sl_program_memory m = p.memory();
  EXPECT_EQ(m.blob_bytes, blob.size());
  EXPECT_GT(m.arena_bytes, 0u);
  EXPECT_GE(m.unplanned_bytes, 4u * 4);
}

TEST(Loader, RejectsBadHeaders) {
  std::vector<uint8_t> blob = smallCnn();
  EXPECT_LOAD_ERROR(std::vector<uint8_t>(blob.begin(), blob.begin() + 100),
                    SL_ERROR_INVALID_PROGRAM, "smaller than its 192-byte");
  std::vector<uint8_t> b = blob;
  b[0] = 'X';
  EXPECT_LOAD_ERROR(b, SL_ERROR_INVALID_PROGRAM, "bad magic");
  b = blob;
  editHeader(b, [](ProgramHeader &h) { h.versionMajor = 2; });
  EXPECT_LOAD_ERROR(b, SL_ERROR_UNSUPPORTED, "version 2.0");
  b = blob;
  editHeader(b, [](ProgramHeader &h) { h.versionMinor = 7; });
  EXPECT_EQ(load(b).status, SL_OK) << "newer minor versions are accepted";
  b = blob;
  editHeader(b, [](ProgramHeader &h) { h.totalSize += 64; });
  EXPECT_LOAD_ERROR(b, SL_ERROR_INVALID_PROGRAM, "truncated?");
  b = blob;
  editHeader(b, [](ProgramHeader &h) { h.headerSize = 100; });
  EXPECT_LOAD_ERROR(b, SL_ERROR_INVALID_PROGRAM, "header size 100");
  b = blob;
  b[b.size() - 70] ^= 0x40; // a weight byte, CRC not fixed
  EXPECT_LOAD_ERROR(b, SL_ERROR_INVALID_PROGRAM, "checksum mismatch");
}

TEST(Loader, RejectsSectionsOutsideTheBlob) {
  std::vector<uint8_t> b = smallCnn();
  editHeader(b, [](ProgramHeader &h) { h.numTensors = 1000000; });
  EXPECT_LOAD_ERROR(b, SL_ERROR_INVALID_PROGRAM, "tensor table section");
  b = smallCnn();
  editHeader(b, [](ProgramHeader &h) { h.opsOffset += 8; });
  EXPECT_LOAD_ERROR(b, SL_ERROR_INVALID_PROGRAM, "not 64-byte aligned");
  b = smallCnn();
  editHeader(b, [](ProgramHeader &h) { h.weightsSize = h.totalSize; });
  EXPECT_LOAD_ERROR(b, SL_ERROR_INVALID_PROGRAM, "weights section");
  b = smallCnn();
  editHeader(b, [](ProgramHeader &h) { h.arenaSize = 1ull << 40; });
  EXPECT_LOAD_ERROR(b, SL_ERROR_INVALID_PROGRAM,
                    "bytes of all activations laid end to end");
  b = smallCnn();
  editHeader(b, [](ProgramHeader &h) { h.nameOffset = 1u << 30; });
  EXPECT_LOAD_ERROR(b, SL_ERROR_INVALID_PROGRAM, "name offset");
}

TEST(Loader, RejectsBadTensors) {
  // Tensor 0 is the input x; 1 is the conv weight.
  std::vector<uint8_t> b = smallCnn();
  editTensor(b, 0, [](TensorDesc &t) { t.offset = 1u << 20; });
  EXPECT_LOAD_ERROR(b, SL_ERROR_INVALID_PROGRAM,
                    "tensor 0 'x': arena range [1048576");
  b = smallCnn();
  editTensor(b, 0, [](TensorDesc &t) { t.offset = 4; });
  EXPECT_LOAD_ERROR(b, SL_ERROR_INVALID_PROGRAM, "not 64-byte aligned");
  b = smallCnn();
  editTensor(b, 0, [](TensorDesc &t) { t.rank = 9; });
  EXPECT_LOAD_ERROR(b, SL_ERROR_INVALID_PROGRAM, "rank 9 exceeds 8");
  b = smallCnn();
  editTensor(b, 0, [](TensorDesc &t) { t.dims[2] = -1; });
  EXPECT_LOAD_ERROR(b, SL_ERROR_INVALID_PROGRAM, "dim 2 is negative");
  b = smallCnn();
  editTensor(b, 0, [](TensorDesc &t) { t.bytes -= 4; });
  EXPECT_LOAD_ERROR(b, SL_ERROR_INVALID_PROGRAM, "stores 764 bytes");
  b = smallCnn();
  editTensor(b, 0, [](TensorDesc &t) { t.dtype = DType(42); });
  EXPECT_LOAD_ERROR(b, SL_ERROR_INVALID_PROGRAM, "unknown dtype 42");
  b = smallCnn();
  editTensor(b, 1, [](TensorDesc &t) { t.offset = 1u << 24; });
  EXPECT_LOAD_ERROR(b, SL_ERROR_INVALID_PROGRAM,
                    "tensor 1 'conv.w': weight range");
  b = smallCnn();
  editTensor(b, 0, [](TensorDesc &t) {
    for (int i = 0; i < 4; ++i)
      t.dims[i] = int64_t(1) << 20;
  });
  EXPECT_LOAD_ERROR(b, SL_ERROR_INVALID_PROGRAM, "element count overflows");
}

/// The Csr conv weight's bytes inside the blob: header, rowPtr, colIdx.
SparseMatrixHeader csrHeader(std::vector<uint8_t> &b, uint8_t *&base) {
  ProgramHeader h = ProgramBuilder::header(b);
  TensorDesc t;
  std::memcpy(&t, b.data() + h.tensorsOffset + sizeof(TensorDesc), sizeof(t));
  base = b.data() + h.weightsOffset + t.offset;
  SparseMatrixHeader s;
  std::memcpy(&s, base, sizeof(s));
  return s;
}

TEST(Loader, RejectsBadSparseWeights) {
  std::vector<uint8_t> b = smallCnn(Encoding::Csr);
  EXPECT_EQ(load(b).status, SL_OK) << load(b).message;
  uint8_t *base;
  SparseMatrixHeader s = csrHeader(b, base);
  // rowPtr decreasing.
  uint32_t *rowPtr = reinterpret_cast<uint32_t *>(base + s.rowPtrOffset);
  std::swap(rowPtr[2], rowPtr[3]);
  ProgramBuilder::fixCrc(b);
  EXPECT_LOAD_ERROR(b, SL_ERROR_INVALID_PROGRAM, "rowPtr decreases at row");
  // Column index out of range.
  b = smallCnn(Encoding::Csr);
  s = csrHeader(b, base);
  reinterpret_cast<uint32_t *>(base + s.colIdxOffset)[0] = 27;
  ProgramBuilder::fixCrc(b);
  EXPECT_LOAD_ERROR(b, SL_ERROR_INVALID_PROGRAM,
                    "column index 27 at entry 0 is out of range");
  // Arrays outside the tensor.
  b = smallCnn(Encoding::Csr);
  s = csrHeader(b, base);
  s.valuesOffset = 1u << 20;
  std::memcpy(base, &s, sizeof(s));
  ProgramBuilder::fixCrc(b);
  EXPECT_LOAD_ERROR(b, SL_ERROR_INVALID_PROGRAM, "sparse values array");
  // Wrong matrix shape for the tensor.
  b = smallCnn(Encoding::Csr);
  s = csrHeader(b, base);
  s.cols = 26;
  std::memcpy(base, &s, sizeof(s));
  ProgramBuilder::fixCrc(b);
  EXPECT_LOAD_ERROR(b, SL_ERROR_INVALID_PROGRAM, "does not hold the tensor");
  // Too many nonzeros for the matrix.
  b = smallCnn(Encoding::Csr);
  s = csrHeader(b, base);
  s.numBlocks = 8 * 27 + 1;
  std::memcpy(base, &s, sizeof(s));
  ProgramBuilder::fixCrc(b);
  EXPECT_LOAD_ERROR(b, SL_ERROR_INVALID_PROGRAM, "exceed the");
}

TEST(Loader, RejectsBadOps) {
  // Ops: 0 conv, 1 gap, 2 flatten, 3 fc, 4 softmax.
  std::vector<uint8_t> b = smallCnn();
  editOp(b, 4, [](OpDesc &d) { d.opcode = Opcode(999); });
  EXPECT_LOAD_ERROR(b, SL_ERROR_UNSUPPORTED, "unknown opcode 999");
  b = smallCnn();
  editOp(b, 0, [](OpDesc &d) { d.kernel = KernelId(77); });
  EXPECT_LOAD_ERROR(b, SL_ERROR_UNSUPPORTED, "unknown kernel id 77");
  b = smallCnn();
  editOp(b, 3, [](OpDesc &d) { d.firstOperand = 1000; });
  EXPECT_LOAD_ERROR(b, SL_ERROR_INVALID_PROGRAM, "op 3 'fc' (Gemm): operands");
  b = smallCnn();
  editOp(b, 0, [](OpDesc &d) { d.paramsSize = 48; });
  EXPECT_LOAD_ERROR(b, SL_ERROR_INVALID_PROGRAM,
                    "parameters are 48 bytes, the opcode's struct is 56");
  b = smallCnn();
  editOp(b, 0, [](OpDesc &d) { d.paramsOffset += 4; });
  EXPECT_LOAD_ERROR(b, SL_ERROR_INVALID_PROGRAM, "8-byte aligned");
  b = smallCnn();
  editOp(b, 1, [](OpDesc &d) { d.numOutputs = 0; });
  EXPECT_LOAD_ERROR(b, SL_ERROR_INVALID_PROGRAM, "has no outputs");
  // Wrong output shape for the conv: Prepare names the op.
  b = smallCnn();
  editTensor(b, 3, [](TensorDesc &t) {
    t.dims[3] = 9;
    t.bytes = 8 * 8 * 9 * 4;
  });
  EXPECT_LOAD_ERROR(b, SL_ERROR_INVALID_PROGRAM,
                    "op 0: op 'conv' (Conv): W: output size 9, expected 8");
}

TEST(Loader, RejectsOperandIdsAndWeightOutputs) {
  ProgramBuilder b;
  uint32_t x = b.input("x", DType::F32, {4});
  uint32_t w = b.weight("w", {4}, {1, 2, 3, 4});
  b.op(Opcode::Relu, {x}, {w});
  b.output(x);
  EXPECT_LOAD_ERROR(b.build(), SL_ERROR_INVALID_PROGRAM,
                    "output 0 (tensor 1 'w') is a weight");

  ProgramBuilder c;
  uint32_t y = c.input("y", DType::F32, {4});
  uint32_t z = c.activation("z", DType::F32, {4});
  c.op(Opcode::Relu, {17}, {z});
  c.output(z);
  (void)y;
  EXPECT_LOAD_ERROR(c.build(), SL_ERROR_INVALID_PROGRAM,
                    "input 0 names tensor 17, but there are 2");
}

TEST(Loader, ChecksArenaOverlapsAgainstInPlaceSupport) {
  // Relu may write over its input's exact slot...
  ProgramBuilder a;
  uint32_t x = a.input("x", DType::F32, {16});
  uint32_t y = a.activation("y", DType::F32, {16});
  a.setOffset(x, 0);
  a.setOffset(y, 0);
  a.op(Opcode::Relu, {x}, {y});
  a.output(y);
  RunResult r = runProgram(a.build(), {Bytes::of(std::vector<float>(16, -1))});
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.out<float>()[0], 0.f);
  // ...Softmax may not, nor may anything overlap partially.
  ProgramBuilder b;
  x = b.input("x", DType::F32, {1, 16});
  y = b.activation("y", DType::F32, {1, 16});
  b.setOffset(x, 0);
  b.setOffset(y, 0);
  b.op(Opcode::Softmax, {x}, {y}, AxisParams{1, 0});
  b.output(y);
  EXPECT_LOAD_ERROR(b.build(), SL_ERROR_INVALID_PROGRAM,
                    "overlaps input 0 (tensor 'x')");
  ProgramBuilder c;
  x = c.input("x", DType::F32, {32});
  y = c.activation("y", DType::F32, {32});
  c.setOffset(x, 0);
  c.setOffset(y, 64);
  c.op(Opcode::Relu, {x}, {y});
  c.output(y);
  EXPECT_LOAD_ERROR(c.build(), SL_ERROR_INVALID_PROGRAM, "cannot run in place");
}

TEST(Loader, RejectsKernelsThatDoNotFitTheWeight) {
  // A CSR weight with the dense kernel.
  std::vector<uint8_t> b =
      smallCnn(Encoding::Csr, Encoding::Dense, KernelId::DenseGemmAvx2);
  EXPECT_LOAD_ERROR(b, SL_ERROR_INVALID_PROGRAM,
                    "kernel DenseGemmAvx2 cannot read a Csr weight");
  b = smallCnn(Encoding::Dense, Encoding::Dense, KernelId::SpmmCsrAvx2);
  EXPECT_LOAD_ERROR(b, SL_ERROR_INVALID_PROGRAM,
                    "kernel SpmmCsrAvx2 cannot read a Dense weight");
  b = smallCnn(Encoding::Dense, Encoding::Dense, KernelId::DepthwiseAvx2);
  EXPECT_LOAD_ERROR(b, SL_ERROR_INVALID_PROGRAM,
                    "DepthwiseAvx2 needs group == input channels");
}

TEST(Loader, RejectsBadPointwiseDepthwise) {
  using Spec = PointwiseDepthwiseSpec;
  auto edited = [](std::function<void(PointwiseDepthwiseParams &)> edit) {
    Spec s;
    s.edit = std::move(edit);
    return pointwiseDepthwiseProgram(s);
  };
  auto with = [](auto change) {
    Spec s;
    change(s);
    return pointwiseDepthwiseProgram(s);
  };
  EXPECT_EQ(load(pointwiseDepthwiseProgram(Spec())).status, SL_OK);
  EXPECT_EQ(load(with([](Spec &s) {
              s.w1 = Encoding::Dense;
              s.kernel = KernelId::Reference;
            })).status,
            SL_OK);
  EXPECT_LOAD_ERROR(edited([](auto &p) { p.pointwise.kernel[0] = 3; }),
                    SL_ERROR_INVALID_PROGRAM, "the pointwise conv must be 1x1");
  EXPECT_LOAD_ERROR(edited([](auto &p) { p.pointwise.pads[2] = 1; }),
                    SL_ERROR_INVALID_PROGRAM, "the pointwise conv must be 1x1");
  EXPECT_LOAD_ERROR(edited([](auto &p) { p.depthwise.group = 8; }),
                    SL_ERROR_INVALID_PROGRAM,
                    "the depthwise conv's group 8 must equal its channels 16");
  EXPECT_LOAD_ERROR(edited([](auto &p) { p.depthwise.pads[3] = 0; }),
                    SL_ERROR_INVALID_PROGRAM, "W: output size 6, expected 5");
  EXPECT_LOAD_ERROR(edited([](auto &p) {
                      p.depthwise.activation = Activation::Clip;
                      p.depthwise.actMin = 1.f;
                    }),
                    SL_ERROR_INVALID_PROGRAM, "fused Clip needs min <= max");
  EXPECT_LOAD_ERROR(with([](Spec &s) {
                      s.w2Dims = {16, 2, 3, 3};
                    }),
                    SL_ERROR_INVALID_PROGRAM, "the depthwise weight");
  EXPECT_LOAD_ERROR(with([](Spec &s) { s.w2 = Encoding::Csr; }),
                    SL_ERROR_INVALID_PROGRAM,
                    "the depthwise weight must be Dense");
  EXPECT_LOAD_ERROR(with([](Spec &s) { s.w1 = Encoding::Dense; }),
                    SL_ERROR_INVALID_PROGRAM,
                    "kernel SpmmCsrAvx2 cannot read a Dense weight");
  EXPECT_LOAD_ERROR(with([](Spec &s) {
                      s.w1 = Encoding::Dense;
                      s.kernel = KernelId::DenseGemmAvx2;
                    }),
                    SL_ERROR_INVALID_PROGRAM,
                    "kernel DenseGemmAvx2 cannot run PointwiseDepthwise");
  EXPECT_LOAD_ERROR(with([](Spec &s) { s.withW2 = false; }),
                    SL_ERROR_INVALID_PROGRAM,
                    "needs the depthwise weight (input 3)");
}

TEST(Loader, RejectsBadPaddedPlanes) {
  using Spec = PaddedTailSpec;
  auto with = [](auto change) {
    Spec s;
    change(s);
    return paddedTail(s);
  };
  EXPECT_EQ(load(paddedTail()).status, SL_OK) << load(paddedTail()).message;
  EXPECT_EQ(load(with([](Spec &s) {
              s.dwKernel = s.pwKernel = KernelId::Reference;
              s.pwSize = 3;
            })).status,
            SL_OK);
  EXPECT_LOAD_ERROR(with([](Spec &s) { s.padBytes = false; }),
                    SL_ERROR_INVALID_PROGRAM,
                    "stores 1568 bytes but its shape and dtype need 2048");
  EXPECT_LOAD_ERROR(with([](Spec &s) { s.paddedOutput = true; }),
                    SL_ERROR_INVALID_PROGRAM,
                    "graph output 1 (tensor 2 'd') must be Dense");
  EXPECT_LOAD_ERROR(with([](Spec &s) { s.reluReads = true; }),
                    SL_ERROR_INVALID_PROGRAM,
                    "'relu' (Relu): input 0 (tensor 2 'd') has padded "
                    "planes, which only a Conv's input X or output may have");
  EXPECT_LOAD_ERROR(with([](Spec &s) { s.residualReads = true; }),
                    SL_ERROR_INVALID_PROGRAM,
                    "'pw' (Conv): input 3 (tensor 2 'd') has padded planes");
  EXPECT_LOAD_ERROR(with([](Spec &s) { s.pwSize = 3; }),
                    SL_ERROR_INVALID_PROGRAM,
                    "kernel SpmmCsrAvx2 cannot read padded planes here");
  EXPECT_LOAD_ERROR(with([](Spec &s) { s.dwReadsPadded = true; }),
                    SL_ERROR_INVALID_PROGRAM,
                    "op 'dw2' (Conv): kernel DepthwiseAvx2 cannot read "
                    "padded planes here");
  EXPECT_LOAD_ERROR(with([](Spec &s) { s.dwResidual = true; }),
                    SL_ERROR_INVALID_PROGRAM,
                    "a Conv with a residual Z cannot write padded planes");
  // Only activations can be padded, and only as [N, C, H, W] float32.
  std::vector<uint8_t> blob = paddedTail();
  editTensor(blob, 1,
             [](TensorDesc &t) { t.encoding = Encoding::PaddedPlanes; });
  EXPECT_LOAD_ERROR(blob, SL_ERROR_INVALID_PROGRAM,
                    "a weight cannot have padded planes");
  blob = paddedTail();
  editTensor(blob, 2, [](TensorDesc &t) {
    t.rank = 3;
    t.dims[2] = 49;
  });
  EXPECT_LOAD_ERROR(blob, SL_ERROR_INVALID_PROGRAM,
                    "padded planes need a float32 [N, C, H, W] tensor");
}

TEST(Loader, OnlyProductsReadEncodedWeights) {
  // Every other kernel reads its inputs as plain elements: an encoded
  // weight there would be read past its stored bytes.
  ProgramBuilder b;
  uint32_t w = b.csrWeight("w", {4, 4}, std::vector<float>(16, 0.f), 4, 4);
  uint32_t x = b.input("x", DType::F32, {4, 4});
  uint32_t y = b.activation("y", DType::F32, {4, 4});
  b.op(Opcode::Pow, {x, w}, {y}, nullptr, 0, KernelId::Reference, "pow");
  b.output(y);
  EXPECT_LOAD_ERROR(b.build(), SL_ERROR_INVALID_PROGRAM,
                    "op 'pow' (Pow): an input must be stored Dense");
}

TEST(Loader, ResolverWithoutTheOpRejectsTheProgram) {
  std::vector<uint8_t> blob = smallCnn();
  runtime::OpResolver resolver;
  runtime::registerConvOps(resolver);
  runtime::registerPoolingOps(resolver);
  sl_load_options options = {0, &resolver};
  runtime::Program p;
  runtime::Status s =
      runtime::Program::load(blob.data(), blob.size(), options, p);
  EXPECT_EQ(s.code(), SL_ERROR_UNSUPPORTED);
  EXPECT_NE(s.message().find("op 2 'flatten' (Identity): no kernel for this "
                             "opcode"),
            std::string::npos)
      << s.message();
  runtime::registerUnaryOps(resolver);
  runtime::registerGemmOps(resolver);
  runtime::registerNormalizationOps(resolver);
  EXPECT_TRUE(
      runtime::Program::load(blob.data(), blob.size(), options, p).ok());
}

TEST(Loader, InPlaceLoadingNeedsAlignment) {
  std::vector<uint8_t> blob = smallCnn();
  // 64-byte aligned copy, and one at +1.
  std::vector<uint8_t> storage(blob.size() + 128);
  uint8_t *aligned = storage.data() + (64 - uintptr_t(storage.data()) % 64);
  std::memcpy(aligned, blob.data(), blob.size());
  sl_load_options options = {SL_LOAD_IN_PLACE, sl_builtin_op_resolver()};
  sl_program *p = nullptr;
  ASSERT_EQ(sl_program_load_ex(aligned, blob.size(), &options, nullptr, &p),
            SL_OK)
      << sl_last_error_message();
  sl_program_memory m;
  sl_program_memory_info(p, &m);
  EXPECT_LT(m.runtime_owned_bytes, blob.size()) << "the blob was copied";
  sl_program_destroy(p);
  std::memmove(aligned + 1, aligned, blob.size());
  EXPECT_EQ(sl_program_load_ex(aligned + 1, blob.size(), &options, nullptr, &p),
            SL_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(sl_last_error_message()).find("64-byte aligned"),
            std::string::npos);
}

/// Loads `blob`; when it loads, runs it on a fixed input. Returns whether it
/// loaded. A crash or sanitizer report is the failure this guards against.
bool loadAndMaybeRun(const std::vector<uint8_t> &blob) {
  runtime::Program p;
  if (!runtime::Program::load(blob.data(), blob.size(), p))
    return false;
  runtime::Session s;
  if (!runtime::Session::create(p, s))
    return true;
  std::vector<std::vector<uint8_t>> data;
  std::vector<sl_tensor_view> views;
  for (size_t i = 0; i < p.inputCount(); ++i) {
    sl_tensor_info info = p.inputInfo(i);
    data.emplace_back(info.bytes, 0x3f);
  }
  for (size_t i = 0; i < p.inputCount(); ++i)
    views.push_back(runtime::makeTensorView(p.inputInfo(i), data[i].data(),
                                            data[i].size()));
  (void)s.run(views);
  return true;
}

TEST(Loader, FuzzFlippedBytesNeverCrash) {
  const std::vector<std::vector<uint8_t>> programs = {
      smallCnn(),
      smallCnn(Encoding::Csr, Encoding::BlockSparse),
      smallCnn(Encoding::PackedPanels, Encoding::Csr, KernelId::DenseGemmAvx2,
               KernelId::SpmmCsrAvx2),
  };
  size_t loaded = 0, rejected = 0;
  std::mt19937 rng(7);
  for (const std::vector<uint8_t> &original : programs) {
    ASSERT_TRUE(loadAndMaybeRun(original));
    // Every byte of the header and tables, then a sample of the rest.
    ProgramHeader h = ProgramBuilder::header(original);
    size_t dense = h.paramsOffset + h.paramsSize;
    for (size_t at = 0; at < original.size();
         at += at < dense ? 1 : 1 + rng() % 7) {
      for (uint8_t mask : {uint8_t(0x01), uint8_t(0x80), uint8_t(0xFF)}) {
        std::vector<uint8_t> b = original;
        b[at] ^= mask;
        if (at >= sizeof(ProgramHeader) || rng() % 2)
          ProgramBuilder::fixCrc(b);
        (loadAndMaybeRun(b) ? loaded : rejected)++;
      }
    }
    // Truncations: always rejected.
    for (size_t len = 0; len < original.size(); len += 1 + rng() % 13) {
      std::vector<uint8_t> b(original.begin(), original.begin() + len);
      EXPECT_FALSE(loadAndMaybeRun(b)) << "truncated at " << len;
    }
  }
  // Both outcomes must occur: flips in weight values load, flips in tables
  // are caught.
  EXPECT_GT(loaded, 100u);
  EXPECT_GT(rejected, 1000u);
}

TEST(Loader, Crc32MatchesZlib) {
  // The standard check value of CRC-32/IEEE.
  EXPECT_EQ(runtime::crc32("123456789", 9), 0xCBF43926u);
  EXPECT_EQ(runtime::crc32("", 0), 0u);
  // Streaming gives the same result.
  uint32_t c = runtime::crc32("12345", 5);
  EXPECT_EQ(runtime::crc32("6789", 4, c), 0xCBF43926u);
}

} // namespace
} // namespace test
} // namespace sparseloom
