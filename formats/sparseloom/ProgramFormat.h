//===- ProgramFormat.h - Binary layout of a runtime program -----*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// A program is the lowered, fixed-layout form of one (sub)graph that the
// embedded runtime executes: ops with every attribute resolved, static
// shapes, a tensor table, an activation memory plan computed by the compiler
// (every activation has a fixed offset in one arena), and weights already
// encoded for the kernel that reads them. The compiler writes it
// (lib/Lower), the runtime reads it in place (lib/Runtime), and the bundle
// stores programs byte for byte, so the layout is stated here once.
//
// Layout of one program blob (all integers little-endian, every offset
// relative to the start of the blob, every section 64-byte aligned):
//
//   ProgramHeader
//   TensorDesc[numTensors]
//   OpDesc[numOps]
//   uint32_t operands[numOperands]     op inputs then outputs, tensor ids
//   uint32_t io[numInputs+numOutputs]  graph inputs then graph outputs
//   params blob                        per-op parameter structs (8-aligned)
//   names blob                         NUL-terminated UTF-8 strings
//   weights blob                       each weight's bytes, 64-byte aligned
//
// The reader trusts nothing: the runtime's loader checks every offset, size,
// count, tensor id and parameter struct against the blob size before the
// first inference (docs/ProgramFormat.md lists the checks).
//
// Rules (formats/README.md): standard headers only, fixed-width fields,
// explicit padding, a static_assert on every struct size.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_FORMATS_PROGRAMFORMAT_H
#define SPARSELOOM_FORMATS_PROGRAMFORMAT_H

#include <cstddef>
#include <cstdint>

namespace sparseloom {
namespace format {

constexpr char kProgramMagic[8] = {'S', 'L', 'P', 'R', 'O', 'G', '\0', '\0'};
/// A reader accepts an equal major version and any minor version; minor
/// versions only add fields in reserved space or new enum values.
constexpr uint16_t kProgramVersionMajor = 1;
/// What the lowering writes: a standalone program is a 1.0 program.
constexpr uint16_t kProgramVersionMinor = 0;
/// 1.1 added kProgramFlagExternalWeights; a program using it says 1.1.
constexpr uint16_t kProgramVersionMinorExternalWeights = 1;
constexpr uint32_t kSectionAlignment = 64;
constexpr uint32_t kMaxRank = 8;
/// ProgramHeader::flags bit (format 1.1): the weights live outside the blob,
/// in a bundle's tensor pool (BundleFormat.h). weightsSize is 0 and a weight
/// TensorDesc's `offset` is relative to the bundle's TensorData section, so
/// kernels still address a weight as base + offset. Such a program loads
/// only through its bundle; a reader rejects flag bits it does not know.
constexpr uint32_t kProgramFlagExternalWeights = 0x1u;
constexpr uint32_t kProgramKnownFlags = kProgramFlagExternalWeights;
/// Marks an absent optional operand (e.g. a Conv without bias).
constexpr uint32_t kNoTensor = 0xFFFFFFFFu;

/// Element types, with ONNX TensorProto codes so both sides agree without a
/// table.
enum class DType : uint8_t {
  F32 = 1,
  U8 = 2,
  I8 = 3,
  I32 = 6,
  I64 = 7,
  Bool = 9, // one byte per element, 0 or 1
};

enum class TensorKind : uint8_t {
  /// Lives in the activation arena at `offset` (inputs and outputs too: the
  /// executor copies graph inputs in and outputs out, so a program never
  /// points at caller memory).
  Activation = 0,
  /// Constant data in the weights blob at `offset`.
  Weight = 1,
};

/// How a tensor's bytes are stored. Weights may use any encoding but
/// PaddedPlanes; activations are Dense or PaddedPlanes.
enum class Encoding : uint8_t {
  /// Row-major elements of `dims`.
  Dense = 0,
  /// A SparseMatrixHeader, then CSR arrays of the 2-D view
  /// [dims[0], product(dims[1:])] (rows are output channels).
  Csr = 1,
  /// A SparseMatrixHeader, then block-sparse rows (BSR) with blocks of
  /// blockRows x blockCols (4x1 = four output channels share a column index).
  BlockSparse = 2,
  /// A PackedMatrixHeader, then the matrix packed in panels for the dense
  /// GEMM kernel named by the op's KernelId (layout in the kernel docs).
  PackedPanels = 3,
  /// An activation [N, C, H, W] (float32) whose H x W planes start
  /// paddedPlaneFloats(H * W) floats apart, so that every plane begins on
  /// a 64-byte boundary; the padding after a plane is never read. The
  /// compiler gives it to a depthwise conv's output that a sparse 1x1 conv
  /// alone reads, so that the sparse kernel reads aligned rows in place
  /// instead of copying them (docs/ProgramFormat.md). Only a Conv's input
  /// X or output may be stored so, never a program input or output.
  PaddedPlanes = 4,
};

/// Floats from one plane of a PaddedPlanes tensor to the next: `plane`
/// rounded up to whole 16-float (64-byte) vectors.
constexpr int64_t paddedPlaneFloats(int64_t plane) {
  return (plane + 15) / 16 * 16;
}

/// Which implementation the compiler chose for an op; Reference is always
/// valid. The runtime falls back to Reference when the CPU lacks the ISA.
enum class KernelId : uint16_t {
  Reference = 0,
  DenseGemmAvx2 = 1, // packed SGEMM (Conv via im2col / 1x1, Gemm, MatMul)
  SpmmCsrAvx2 = 2,   // CSR weights x dense activations
  SpmmBlock4x1Avx2 = 3,
  DepthwiseAvx2 = 4,
};

enum class Opcode : uint16_t {
  // Dense linear algebra.
  Conv = 1,   // inputs X, W, [B], [Z] (Z: fused residual Add); ConvParams
  Gemm = 2,   // inputs A, B, [C]; GemmParams
  MatMul = 3, // inputs A, B (numpy batching); no params
  // A 1x1 Conv and the depthwise Conv that reads its output, in one op:
  // inputs X, W1, B1, W2, B2 (an absent bias is kNoTensor);
  // PointwiseDepthwiseParams. The pointwise output is never stored.
  PointwiseDepthwise = 4,
  // Elementwise binary with numpy broadcasting (shapes give the strides).
  Add = 10,
  Sub = 11,
  Mul = 12,
  Div = 13,
  Pow = 14,
  Equal = 15,
  Less = 16,
  Greater = 17,
  And = 18,
  Or = 19,
  Max = 20,   // variadic, broadcasting
  Min = 21,   // variadic, broadcasting
  Where = 22, // inputs cond, X, Y (three-way broadcasting)
  Mod = 23,   // ModParams
  // Elementwise unary.
  Relu = 40,
  Clip = 41, // ClipParams (min/max resolved to constants)
  Sigmoid = 42,
  HardSigmoid = 43, // AlphaBetaParams
  HardSwish = 44,
  Tanh = 45,
  Erf = 46,
  Gelu = 47, // GeluParams (fused from the Erf pattern or Gelu-20)
  Sqrt = 48,
  Exp = 49,
  Log = 50,
  Abs = 51,
  Neg = 52,
  Reciprocal = 53,
  Not = 54,
  Cast = 55,      // target type = output tensor dtype
  LeakyRelu = 56, // AlphaBetaParams (alpha)
  Floor = 57,
  Ceil = 58,
  Identity = 59, // also Reshape/Flatten/Squeeze/Unsqueeze when not aliased
  Elu = 60,      // AlphaBetaParams (alpha)
  Softplus = 61,
  Sin = 62,
  Cos = 63,
  // Normalisation, reductions.
  Softmax = 80,            // AxisParams
  LogSoftmax = 81,         // AxisParams
  LayerNormalization = 82, // inputs X, scale, [bias]; LayerNormParams
  BatchNormalization = 83, // inputs X, scale, B, mean, var; LayerNormParams
                           // (axis unused, epsilon)
  ReduceMean = 84,         // ReduceParams
  ReduceSum = 85,
  ReduceMax = 86,
  ReduceMin = 87,
  ReduceProd = 88,
  ArgMax = 89, // ReduceParams (one axis, selectLastIndex in flags)
  ArgMin = 90,
  // Pooling.
  MaxPool = 100,           // PoolParams
  AveragePool = 101,       // PoolParams
  GlobalAveragePool = 102, // no params
  GlobalMaxPool = 103,
  // Data movement.
  Transpose = 120, // TransposeParams
  Concat = 121,    // AxisParams
  Split = 122,     // AxisParams (sizes from the output shapes)
  Slice = 123,     // SliceParams (resolved starts/steps; ends from shape)
  Gather = 124,    // AxisParams; inputs data, indices (i64 or i32)
  Expand = 125,    // broadcast input to the output shape
  Pad = 126,       // PadParams (constant mode)
  Tile = 127,      // repeats resolved from the shapes
  // Number of opcodes is not fixed: a reader rejects unknown values.
};

enum class Activation : uint8_t {
  None = 0,
  Relu = 1,
  Clip = 2, // clamp to [actMin, actMax] (Relu6 is Clip 0..6)
};

// --- Header and tables ------------------------------------------------------

struct ProgramHeader {
  char magic[8];
  uint16_t versionMajor;
  uint16_t versionMinor;
  uint32_t headerSize; // sizeof(ProgramHeader) when written
  uint64_t totalSize;  // bytes of the whole blob
  uint32_t numTensors;
  uint32_t numOps;
  uint32_t numOperands;
  uint32_t numInputs;
  uint32_t numOutputs;
  /// CRC-32 (IEEE, as zlib) of bytes [headerSize, totalSize).
  uint32_t bodyCrc32;
  uint64_t tensorsOffset;
  uint64_t opsOffset;
  uint64_t operandsOffset;
  uint64_t ioOffset;
  uint64_t paramsOffset;
  uint64_t paramsSize;
  uint64_t namesOffset;
  uint64_t namesSize;
  uint64_t weightsOffset;
  uint64_t weightsSize;
  /// Bytes of the activation arena the memory plan needs (64-aligned).
  uint64_t arenaSize;
  /// Sum of all activation sizes without reuse, for reports.
  uint64_t activationBytesUnplanned;
  /// Largest per-op scratch the kernels need (im2col, packing), bytes;
  /// computed by the compiler with the runtime's own sizing function.
  uint64_t scratchSize;
  uint32_t nameOffset; // program name (names blob)
  uint32_t flags;      // kProgramFlag* bits; 0 for a standalone program
  uint8_t reserved[32];
};
static_assert(sizeof(ProgramHeader) == 192, "ProgramHeader layout changed");

struct TensorDesc {
  uint32_t nameOffset; // names blob
  DType dtype;
  TensorKind kind;
  Encoding encoding;
  uint8_t rank; // <= kMaxRank; 0 = scalar
  int64_t dims[kMaxRank];
  uint64_t offset; // arena offset (Activation) or weights-blob offset
  uint64_t bytes;  // storage bytes at offset
};
static_assert(sizeof(TensorDesc) == 88, "TensorDesc layout changed");

struct OpDesc {
  Opcode opcode;
  KernelId kernel;
  uint16_t numInputs;
  uint16_t numOutputs;
  uint32_t firstOperand; // operands[firstOperand ...]: inputs, then outputs
  uint32_t paramsOffset; // params blob, 8-aligned; 0 size when none
  uint32_t paramsSize;   // must equal sizeof(the opcode's params struct)
  uint32_t nameOffset;   // the source node's name (for errors and profiles)
  uint32_t reserved[2];
};
static_assert(sizeof(OpDesc) == 32, "OpDesc layout changed");

// --- Encoded weights
// ----------------------------------------------------------

/// At the start of a Csr / BlockSparse weight's bytes. Offsets are relative
/// to the start of this header. rowPtr has rows/blockRows + 1 entries.
struct SparseMatrixHeader {
  uint32_t rows;
  uint32_t cols;
  uint32_t numBlocks;    // nonzero blocks (elements for Csr)
  uint16_t blockRows;    // 1 for Csr
  uint16_t blockCols;    // 1 for Csr
  uint64_t rowPtrOffset; // uint32_t[rows / blockRows + 1]
  uint64_t colIdxOffset; // uint32_t[numBlocks]
  uint64_t valuesOffset; // float[numBlocks * blockRows * blockCols]
};
static_assert(sizeof(SparseMatrixHeader) == 40, "SparseMatrixHeader changed");

/// At the start of a PackedPanels weight's bytes; the packed data follows at
/// dataOffset (relative to this header). The 2-D view is the same as Csr.
struct PackedMatrixHeader {
  uint32_t rows;
  uint32_t cols;
  uint32_t panelWidth; // rows (or columns) per panel, kernel-defined
  uint32_t layout;     // kernel-defined layout tag
  uint64_t dataOffset;
  uint64_t dataBytes;
};
static_assert(sizeof(PackedMatrixHeader) == 32, "PackedMatrixHeader changed");

// --- Op parameters ----------------------------------------------------------
// Every struct is 8-byte aligned; attributes are resolved by the compiler
// (auto_pad turned into explicit pads, ceil_mode into the output shape,
// negative axes normalised), so kernels never interpret ONNX attributes.

/// Conv over N spatial dims (1 or 2 today; 1-D is lowered as H=1).
struct ConvParams {
  int32_t kernel[2]; // kH, kW
  int32_t strides[2];
  int32_t pads[4]; // top, left, bottom, right
  int32_t dilations[2];
  int32_t group;
  Activation activation; // fused by the compiler
  uint8_t reserved[3];
  float actMin;
  float actMax;
};
static_assert(sizeof(ConvParams) == 56, "ConvParams layout changed");

/// Opcode::PointwiseDepthwise: the two convs' parameters. `pointwise` is a
/// 1x1, stride-1, unpadded conv of one group; `depthwise` has group = its
/// channels (= the pointwise's output channels). Each has its activation.
struct PointwiseDepthwiseParams {
  ConvParams pointwise;
  ConvParams depthwise;
};
static_assert(sizeof(PointwiseDepthwiseParams) == 112,
              "PointwiseDepthwiseParams layout changed");

struct GemmParams {
  uint8_t transA;
  uint8_t transB;
  Activation activation;
  uint8_t reserved[5];
  float alpha;
  float beta;
  float actMin;
  float actMax;
};
static_assert(sizeof(GemmParams) == 24, "GemmParams layout changed");

struct PoolParams {
  int32_t kernel[2];
  int32_t strides[2];
  int32_t pads[4]; // top, left, bottom, right (after ceil_mode resolution)
  int32_t dilations[2];
  uint8_t countIncludePad; // AveragePool
  uint8_t reserved[7];
};
static_assert(sizeof(PoolParams) == 48, "PoolParams layout changed");

struct AxisParams {
  int32_t axis; // normalised, >= 0
  int32_t reserved;
};
static_assert(sizeof(AxisParams) == 8, "AxisParams layout changed");

struct ClipParams {
  float min;
  float max;
};
static_assert(sizeof(ClipParams) == 8, "ClipParams layout changed");

struct AlphaBetaParams {
  float alpha;
  float beta;
};
static_assert(sizeof(AlphaBetaParams) == 8, "AlphaBetaParams layout changed");

struct GeluParams {
  uint8_t approximateTanh; // 0: exact (erf), 1: tanh approximation
  uint8_t reserved[7];
};
static_assert(sizeof(GeluParams) == 8, "GeluParams layout changed");

struct LayerNormParams {
  int32_t axis; // first normalised axis, >= 0
  float epsilon;
};
static_assert(sizeof(LayerNormParams) == 8, "LayerNormParams layout changed");

struct ReduceParams {
  uint32_t axesMask; // bit i set: reduce axis i (of the input)
  uint8_t keepDims;
  uint8_t selectLastIndex; // ArgMax/ArgMin
  uint8_t reserved[2];
};
static_assert(sizeof(ReduceParams) == 8, "ReduceParams layout changed");

struct TransposeParams {
  int32_t perm[kMaxRank];
};
static_assert(sizeof(TransposeParams) == 32, "TransposeParams layout changed");

struct SliceParams {
  int64_t starts[kMaxRank]; // resolved, clamped, per input axis
  int64_t steps[kMaxRank];  // non-zero; output dims give the counts
};
static_assert(sizeof(SliceParams) == 128, "SliceParams layout changed");

struct PadParams {
  int64_t pads[2 * kMaxRank]; // begins then ends, per axis (may be negative)
  float value;
  uint32_t reserved;
};
static_assert(sizeof(PadParams) == 136, "PadParams layout changed");

struct ModParams {
  uint8_t fmod;
  uint8_t reserved[7];
};
static_assert(sizeof(ModParams) == 8, "ModParams layout changed");

} // namespace format
} // namespace sparseloom

#endif // SPARSELOOM_FORMATS_PROGRAMFORMAT_H
