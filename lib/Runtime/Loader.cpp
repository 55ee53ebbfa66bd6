//===- Loader.cpp - Verifying and preparing a program blob ----------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The loader trusts nothing in the blob. In order, it checks: the header
// (magic, version, sizes, CRC-32 of the body), that every table lies inside
// the blob at a 64-byte aligned offset, the names blob, every tensor (dtype,
// kind, encoding, rank, dims, storage size, arena or weights bounds and
// alignment, and for encoded weights their headers and arrays: CSR row
// pointers monotonic, column indices in range), the graph inputs and outputs,
// and every op (known opcode and kernel, operand ids, parameter struct size
// and bounds) before handing each op to its kernel's Prepare, which checks
// the op's semantics (operand counts, dtypes, shapes, parameter values).
// Every failure names the table entry, tensor or op at fault; after a
// successful load Eval never meets anything it has to check.
//
// A program from a bundle has its weights outside the blob (format 1.1,
// kProgramFlagExternalWeights): each weight descriptor must then name exactly
// one of the bundle tensors listed for the program, agree with it on bytes,
// dtype, encoding and dims, and the kernels read the pool in place.
//
// The checks are listed in docs/ProgramFormat.md; a unit test flips and
// truncates bytes of real programs at many offsets to keep them honest.
//
//===----------------------------------------------------------------------===//

#include "Bundle.h"
#include "Program.h"

#include "Kernels/FastKernels.h"

#include <cstdio>
#include <cstring>
#include <new>

namespace sparseloom {
namespace runtime {

using namespace format;

namespace {

constexpr uint64_t kAlign = kSectionAlignment;

bool isKnownDType(DType dtype) { return dtypeSize(dtype) != 0; }

/// Checks one table of the blob: `count` entries of `entrySize` bytes at
/// `offset`. An empty table's offset is ignored.
sl_status checkSection(const ProgramHeader &h, const char *what,
                       uint64_t offset, uint64_t bytes) {
  if (bytes == 0)
    return SL_OK;
  if (offset < h.headerSize || !inBounds(offset, bytes, h.totalSize))
    return setError(SL_ERROR_INVALID_PROGRAM,
                    "%s section [%llu, +%llu) lies outside the program "
                    "body [%u, %llu)",
                    what, (unsigned long long)offset, (unsigned long long)bytes,
                    h.headerSize, (unsigned long long)h.totalSize);
  if (offset % kAlign != 0)
    return setError(SL_ERROR_INVALID_PROGRAM,
                    "%s section offset %llu is not %llu-byte aligned", what,
                    (unsigned long long)offset, (unsigned long long)kAlign);
  return SL_OK;
}

sl_status checkName(const sl_program &p, uint32_t offset, const char *what,
                    uint64_t index) {
  if (p.namesSize == 0 ? offset == 0 : offset < p.namesSize)
    return SL_OK;
  return setError(SL_ERROR_INVALID_PROGRAM,
                  "%s %llu: name offset %u is outside the names blob (%llu "
                  "bytes)",
                  what, (unsigned long long)index, offset,
                  (unsigned long long)p.namesSize);
}

sl_status verifyHeader(const ProgramHeader &h, uint64_t size) {
  if (std::memcmp(h.magic, kProgramMagic, sizeof(kProgramMagic)) != 0)
    return setError(SL_ERROR_INVALID_PROGRAM,
                    "not a SparseLoom program (bad magic; expected "
                    "\"SLPROG\")");
  if (h.versionMajor != kProgramVersionMajor)
    return setError(SL_ERROR_UNSUPPORTED,
                    "program format version %u.%u; this runtime reads "
                    "%u.x (recompile the model with a matching compiler)",
                    h.versionMajor, h.versionMinor, kProgramVersionMajor);
  if (h.headerSize < sizeof(ProgramHeader) || h.headerSize % 8 != 0)
    return setError(SL_ERROR_INVALID_PROGRAM,
                    "header size %u is invalid (expected a multiple of 8, "
                    "at least %zu)",
                    h.headerSize, sizeof(ProgramHeader));
  if (h.totalSize > size)
    return setError(SL_ERROR_INVALID_PROGRAM,
                    "program claims %llu bytes but only %llu were given "
                    "(truncated?)",
                    (unsigned long long)h.totalSize, (unsigned long long)size);
  if (h.totalSize < h.headerSize)
    return setError(SL_ERROR_INVALID_PROGRAM,
                    "program size %llu is smaller than its header (%u)",
                    (unsigned long long)h.totalSize, h.headerSize);
  if (h.flags & ~kProgramKnownFlags)
    return setError(SL_ERROR_UNSUPPORTED,
                    "program flags 0x%x include bits this runtime does not "
                    "know (compiled for a newer runtime?)",
                    h.flags);
  return SL_OK;
}

/// Checks a weight of a program with external weights against the bundle
/// tensor it names: its offset must be exactly the start of one of the
/// program's listed tensors, and its bytes, dtype, encoding and dims must
/// equal that entry's (so the bundle's tables and the program agree on what
/// the kernels will read). Returns the tensor's bytes in `data`.
sl_status findExternalWeight(const TensorDesc &t, const ExternalWeights &ext,
                             const uint8_t *&data) {
  // The refs are ascending tensor indices and the tensor table is sorted by
  // offset (both checked by the bundle verifier): a binary search.
  uint32_t lo = 0, hi = ext.numRefs;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (ext.tensors[ext.refs[mid]].offset < t.offset)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == ext.numRefs || ext.tensors[ext.refs[lo]].offset != t.offset)
    return setError(SL_ERROR_INVALID_PROGRAM,
                    "external weight offset %llu is not the start of any of "
                    "the %u bundle tensors this program lists",
                    (unsigned long long)t.offset, ext.numRefs);
  uint32_t index = ext.refs[lo];
  const BundleTensor &b = ext.tensors[index];
  bool same = b.bytes == t.bytes && b.dtype == t.dtype &&
              b.encoding == t.encoding && b.rank == t.rank;
  for (unsigned d = 0; same && d < t.rank && d < kMaxRank; ++d)
    same = b.dims[d] == t.dims[d];
  if (!same)
    return setError(SL_ERROR_INVALID_PROGRAM,
                    "external weight does not match bundle tensor %u (its "
                    "bytes, dtype, encoding or dims differ)",
                    index);
  if (!inBounds(b.offset, b.bytes, ext.size))
    return setError(SL_ERROR_INVALID_PROGRAM,
                    "bundle tensor %u lies outside the tensor data", index);
  data = ext.data + b.offset;
  return SL_OK;
}

/// Checks an encoded (Csr/BlockSparse/PackedPanels) weight's header and
/// arrays. `data` is the tensor's storage, `bytes` long.
sl_status verifyEncodedWeight(const TensorDesc &t, int64_t elements,
                              const uint8_t *data, uint64_t bytes) {
  if (t.dtype != DType::F32)
    return setError(SL_ERROR_INVALID_PROGRAM,
                    "encoded weights must be float32, not %s",
                    dtypeName(t.dtype));
  if (t.encoding == Encoding::PackedPanels) {
    if (bytes < sizeof(PackedMatrixHeader))
      return setError(SL_ERROR_INVALID_PROGRAM,
                      "%llu bytes cannot hold a PackedMatrixHeader",
                      (unsigned long long)bytes);
    PackedMatrixHeader ph;
    std::memcpy(&ph, data, sizeof(ph));
    if (uint64_t(ph.rows) * ph.cols != uint64_t(elements))
      return setError(SL_ERROR_INVALID_PROGRAM,
                      "packed matrix %ux%u does not hold the tensor's %lld "
                      "elements",
                      ph.rows, ph.cols, (long long)elements);
    if (ph.panelWidth == 0 || ph.panelWidth > 64 ||
        ph.layout != ((ph.panelWidth << 16) | 1u))
      return setError(SL_ERROR_INVALID_PROGRAM,
                      "packed matrix has an unknown layout (panel width "
                      "%u, layout tag 0x%x)",
                      ph.panelWidth, ph.layout);
    uint64_t panels = (uint64_t(ph.rows) + ph.panelWidth - 1) / ph.panelWidth;
    uint64_t need = panels * ph.panelWidth * uint64_t(ph.cols) * 4;
    if (ph.dataOffset % kAlign != 0 || ph.dataBytes < need ||
        !inBounds(ph.dataOffset, ph.dataBytes, bytes))
      return setError(SL_ERROR_INVALID_PROGRAM,
                      "packed data [%llu, +%llu) must be 64-byte aligned, "
                      "hold %llu bytes and lie inside the tensor's %llu "
                      "bytes",
                      (unsigned long long)ph.dataOffset,
                      (unsigned long long)ph.dataBytes,
                      (unsigned long long)need, (unsigned long long)bytes);
    return SL_OK;
  }

  if (bytes < sizeof(SparseMatrixHeader))
    return setError(SL_ERROR_INVALID_PROGRAM,
                    "%llu bytes cannot hold a SparseMatrixHeader",
                    (unsigned long long)bytes);
  SparseMatrixHeader sh;
  std::memcpy(&sh, data, sizeof(sh));
  if (uint64_t(sh.rows) * sh.cols != uint64_t(elements))
    return setError(SL_ERROR_INVALID_PROGRAM,
                    "sparse matrix %ux%u does not hold the tensor's %lld "
                    "elements",
                    sh.rows, sh.cols, (long long)elements);
  bool csr = t.encoding == Encoding::Csr;
  if (csr ? (sh.blockRows != 1 || sh.blockCols != 1)
          : (sh.blockRows == 0 || sh.blockCols == 0 ||
             sh.rows % sh.blockRows != 0 || sh.cols % sh.blockCols != 0))
    return setError(SL_ERROR_INVALID_PROGRAM,
                    "%s block %ux%u does not tile the %ux%u matrix",
                    csr ? "CSR" : "block-sparse", sh.blockRows, sh.blockCols,
                    sh.rows, sh.cols);
  uint64_t blockRowCount = sh.rows / sh.blockRows;
  uint64_t blockColCount = sh.cols / sh.blockCols;
  if (sh.numBlocks > blockRowCount * blockColCount)
    return setError(SL_ERROR_INVALID_PROGRAM,
                    "%u nonzero blocks exceed the %llu positions of the "
                    "matrix",
                    sh.numBlocks,
                    (unsigned long long)(blockRowCount * blockColCount));
  uint64_t blockElems = uint64_t(sh.blockRows) * sh.blockCols;
  struct Array {
    const char *name;
    uint64_t offset, bytes;
  } arrays[] = {
      {"rowPtr", sh.rowPtrOffset, (blockRowCount + 1) * 4},
      {"colIdx", sh.colIdxOffset, uint64_t(sh.numBlocks) * 4},
      {"values", sh.valuesOffset, uint64_t(sh.numBlocks) * blockElems * 4},
  };
  for (const Array &a : arrays)
    if (a.offset % 4 != 0 || a.offset < sizeof(SparseMatrixHeader) ||
        !inBounds(a.offset, a.bytes, bytes))
      return setError(SL_ERROR_INVALID_PROGRAM,
                      "sparse %s array [%llu, +%llu) must be 4-byte "
                      "aligned and lie after the header inside the "
                      "tensor's %llu bytes",
                      a.name, (unsigned long long)a.offset,
                      (unsigned long long)a.bytes, (unsigned long long)bytes);
  const auto *rowPtr =
      reinterpret_cast<const uint32_t *>(data + sh.rowPtrOffset);
  const auto *colIdx =
      reinterpret_cast<const uint32_t *>(data + sh.colIdxOffset);
  if (rowPtr[0] != 0 || rowPtr[blockRowCount] != sh.numBlocks)
    return setError(SL_ERROR_INVALID_PROGRAM,
                    "sparse rowPtr must start at 0 and end at numBlocks "
                    "(%u), not %u..%u",
                    sh.numBlocks, rowPtr[0], rowPtr[blockRowCount]);
  for (uint64_t r = 0; r < blockRowCount; ++r)
    if (rowPtr[r + 1] < rowPtr[r])
      return setError(SL_ERROR_INVALID_PROGRAM,
                      "sparse rowPtr decreases at row %llu (%u -> %u)",
                      (unsigned long long)r, rowPtr[r], rowPtr[r + 1]);
  for (uint64_t r = 0; r < blockRowCount; ++r) {
    for (uint32_t i = rowPtr[r]; i < rowPtr[r + 1]; ++i) {
      if (colIdx[i] >= blockColCount)
        return setError(SL_ERROR_INVALID_PROGRAM,
                        "sparse column index %u at entry %u is out of "
                        "range (%llu block columns)",
                        colIdx[i], i, (unsigned long long)blockColCount);
      if (i > rowPtr[r] && colIdx[i] <= colIdx[i - 1])
        return setError(SL_ERROR_INVALID_PROGRAM,
                        "sparse column indices of row %llu are not "
                        "strictly increasing (entry %u)",
                        (unsigned long long)r, i);
    }
  }
  return SL_OK;
}

sl_status verifyTensor(const sl_program &p, uint32_t id,
                       const ExternalWeights *external) {
  const ProgramHeader &h = *p.header;
  const TensorDesc &t = p.tensors[id];
  if (!isKnownDType(t.dtype))
    return setError(SL_ERROR_INVALID_PROGRAM, "unknown dtype %u",
                    unsigned(t.dtype));
  if (t.rank > kMaxRank)
    return setError(SL_ERROR_INVALID_PROGRAM, "rank %u exceeds %u",
                    unsigned(t.rank), kMaxRank);
  for (unsigned i = 0; i < t.rank; ++i)
    if (t.dims[i] < 0)
      return setError(SL_ERROR_INVALID_PROGRAM, "dim %u is negative (%lld)", i,
                      (long long)t.dims[i]);
  int64_t elements = numElements(t);
  if (elements < 0)
    return setError(SL_ERROR_INVALID_PROGRAM, "element count overflows");
  uint64_t denseBytes = uint64_t(elements) * dtypeSize(t.dtype);

  if (t.kind == TensorKind::Activation) {
    uint64_t needed = denseBytes;
    if (t.encoding == Encoding::PaddedPlanes) {
      if (t.rank != 4 || t.dtype != DType::F32)
        return setError(SL_ERROR_INVALID_PROGRAM,
                        "padded planes need a float32 [N, C, H, W] tensor "
                        "(has rank %u, dtype %u)",
                        unsigned(t.rank), unsigned(t.dtype));
      // No overflow: numElements caps a nonzero count at 2^48 (dims after
      // a zero are not capped, hence the test), and padding makes a plane
      // at most 16 times larger.
      needed = elements == 0
                   ? 0
                   : uint64_t(t.dims[0]) * uint64_t(t.dims[1]) *
                         uint64_t(paddedPlaneFloats(t.dims[2] * t.dims[3])) *
                         sizeof(float);
    } else if (t.encoding != Encoding::Dense) {
      return setError(SL_ERROR_INVALID_PROGRAM,
                      "activations must be Dense or PaddedPlanes (encoding "
                      "%u)",
                      unsigned(t.encoding));
    }
    if (t.bytes != needed)
      return setError(SL_ERROR_INVALID_PROGRAM,
                      "stores %llu bytes but its shape and dtype need %llu",
                      (unsigned long long)t.bytes, (unsigned long long)needed);
    if (!inBounds(t.offset, t.bytes, h.arenaSize))
      return setError(SL_ERROR_INVALID_PROGRAM,
                      "arena range [%llu, +%llu) lies outside the %llu-byte "
                      "arena",
                      (unsigned long long)t.offset, (unsigned long long)t.bytes,
                      (unsigned long long)h.arenaSize);
    if (t.offset % kAlign != 0)
      return setError(SL_ERROR_INVALID_PROGRAM,
                      "arena offset %llu is not %llu-byte aligned",
                      (unsigned long long)t.offset, (unsigned long long)kAlign);
    return SL_OK;
  }
  if (t.kind != TensorKind::Weight)
    return setError(SL_ERROR_INVALID_PROGRAM, "unknown tensor kind %u",
                    unsigned(t.kind));
  // The weight's bytes: in the blob's weights section, or in the bundle's
  // pool for a program with external weights.
  const uint8_t *data = nullptr;
  if (external) {
    if (sl_status s = findExternalWeight(t, *external, data))
      return s;
  } else {
    if (!inBounds(t.offset, t.bytes, h.weightsSize))
      return setError(SL_ERROR_INVALID_PROGRAM,
                      "weight range [%llu, +%llu) lies outside the %llu-byte "
                      "weights section",
                      (unsigned long long)t.offset, (unsigned long long)t.bytes,
                      (unsigned long long)h.weightsSize);
    data = p.weights + t.offset;
  }
  if (t.offset % kAlign != 0)
    return setError(SL_ERROR_INVALID_PROGRAM,
                    "weight offset %llu is not %llu-byte aligned",
                    (unsigned long long)t.offset, (unsigned long long)kAlign);
  switch (t.encoding) {
  case Encoding::Dense:
    if (t.bytes != denseBytes)
      return setError(SL_ERROR_INVALID_PROGRAM,
                      "stores %llu bytes but its shape and dtype need %llu",
                      (unsigned long long)t.bytes,
                      (unsigned long long)denseBytes);
    return SL_OK;
  case Encoding::Csr:
  case Encoding::BlockSparse:
  case Encoding::PackedPanels:
    return verifyEncodedWeight(t, elements, data, t.bytes);
  case Encoding::PaddedPlanes:
    return setError(SL_ERROR_INVALID_PROGRAM,
                    "a weight cannot have padded planes (encoding %u is for "
                    "activations)",
                    unsigned(t.encoding));
  }
  return setError(SL_ERROR_INVALID_PROGRAM, "unknown encoding %u",
                  unsigned(t.encoding));
}

sl_status verifyOp(sl_program &p, uint32_t index, const OpResolver &resolver,
                   bool referenceOnly, OpInstance &inst) {
  const ProgramHeader &h = *p.header;
  const OpDesc &op = p.ops[index];
  if (sl_status s = checkName(p, op.nameOffset, "op", index))
    return s;
  const char *name = p.nameAt(op.nameOffset);
  const char *opName = opcodeName(op.opcode);
  if (!opName)
    return setError(SL_ERROR_UNSUPPORTED,
                    "op %u '%s': unknown opcode %u (compiled for a newer "
                    "runtime?)",
                    index, name, unsigned(op.opcode));
  char where[160];
  std::snprintf(where, sizeof(where), "op %u '%s' (%s)", index, name, opName);
  if (!kernelIdName(op.kernel))
    return setError(SL_ERROR_UNSUPPORTED, "%s: unknown kernel id %u", where,
                    unsigned(op.kernel));
  uint64_t operandCount = uint64_t(op.numInputs) + op.numOutputs;
  if (!inBounds(op.firstOperand, operandCount, h.numOperands))
    return setError(SL_ERROR_INVALID_PROGRAM,
                    "%s: operands [%u, +%llu) lie outside the %u-entry "
                    "operand table",
                    where, op.firstOperand, (unsigned long long)operandCount,
                    h.numOperands);
  if (op.numOutputs == 0)
    return setError(SL_ERROR_INVALID_PROGRAM, "%s: has no outputs", where);
  const uint32_t *operands = p.operands + op.firstOperand;
  for (unsigned i = 0; i < operandCount; ++i) {
    bool isInput = i < op.numInputs;
    uint32_t id = operands[i];
    if (isInput && id == kNoTensor)
      continue;
    if (id >= h.numTensors)
      return setError(SL_ERROR_INVALID_PROGRAM,
                      "%s: %s %u names tensor %u, but there are %u", where,
                      isInput ? "input" : "output",
                      isInput ? i : i - op.numInputs, id, h.numTensors);
    if (!isInput && p.tensors[id].kind != TensorKind::Activation)
      return setError(SL_ERROR_INVALID_PROGRAM,
                      "%s: output %u (tensor %u '%s') is a weight", where,
                      i - op.numInputs, id, p.nameAt(p.tensors[id].nameOffset));
    // Only Conv knows the padded layout, as its input X or its output;
    // its Prepare checks that the path it runs reads or writes it.
    if (p.tensors[id].encoding == Encoding::PaddedPlanes &&
        !(op.opcode == Opcode::Conv && (i == 0 || i == op.numInputs)))
      return setError(SL_ERROR_INVALID_PROGRAM,
                      "%s: %s %u (tensor %u '%s') has padded planes, which "
                      "only a Conv's input X or output may have",
                      where, isInput ? "input" : "output",
                      isInput ? i : i - op.numInputs, id,
                      p.nameAt(p.tensors[id].nameOffset));
  }
  int64_t paramsSize = opcodeParamsSize(op.opcode);
  if (int64_t(op.paramsSize) != paramsSize)
    return setError(SL_ERROR_INVALID_PROGRAM,
                    "%s: parameters are %u bytes, the opcode's struct is "
                    "%lld",
                    where, op.paramsSize, (long long)paramsSize);
  if (op.paramsSize != 0 &&
      (op.paramsOffset % 8 != 0 ||
       !inBounds(op.paramsOffset, op.paramsSize, h.paramsSize)))
    return setError(SL_ERROR_INVALID_PROGRAM,
                    "%s: parameters [%u, +%u) must be 8-byte aligned inside "
                    "the %llu-byte params blob",
                    where, op.paramsOffset, op.paramsSize,
                    (unsigned long long)h.paramsSize);

  const OpKernel *kernel = resolver.find(op.opcode);
  if (!kernel || !kernel->prepare || !kernel->eval)
    return setError(SL_ERROR_UNSUPPORTED,
                    "%s: no kernel for this opcode in the op resolver "
                    "(register its family, e.g. registerAllOps)",
                    where);

  // The memory plan may reuse a dying input's slot for an output only where
  // the kernel reads each element before writing it (exact same slot);
  // any other overlap would make Eval read what it already overwrote.
  for (unsigned o = 0; o < op.numOutputs; ++o) {
    const TensorDesc &out = p.tensors[operands[op.numInputs + o]];
    for (unsigned i = 0; i < operandCount; ++i) {
      if (i == op.numInputs + o || operands[i] == kNoTensor)
        continue;
      const TensorDesc &other = p.tensors[operands[i]];
      if (other.kind != TensorKind::Activation || other.bytes == 0 ||
          out.bytes == 0 || other.offset >= out.offset + out.bytes ||
          out.offset >= other.offset + other.bytes)
        continue;
      bool isInput = i < op.numInputs;
      if (isInput && kernel->inPlace && other.offset == out.offset &&
          other.bytes == out.bytes)
        continue;
      return setError(
          SL_ERROR_INVALID_PROGRAM,
          "%s: output %u (tensor '%s') overlaps %s %u (tensor "
          "'%s') in the arena; this op cannot run in place",
          where, o, p.nameAt(out.nameOffset), isInput ? "input" : "output",
          isInput ? i : i - op.numInputs, p.nameAt(other.nameOffset));
    }
  }

  inst.desc = &op;
  inst.tensors = p.tensors;
  inst.inputs = operands;
  inst.outputs = operands + op.numInputs;
  inst.params = op.paramsSize ? p.params + op.paramsOffset : nullptr;
  inst.name = name;
  inst.kernel = kernel;
  // The compiler's choice stands unless this CPU cannot run it; the kernel's
  // Prepare checks that the choice fits the op (weight encoding, shape).
  inst.kernelId = op.kernel;
  if (op.kernel != KernelId::Reference && (referenceOnly || !cpuHasAvx2Fma()))
    inst.kernelId = KernelId::Reference;
  // Most important first: what every Eval reads, then the operands'
  // descriptors (a Concat's many inputs may not all fit), then what Prepare
  // names and its plan.
  OpPrefetch &prefetch = p.prefetch[index];
  prefetch.add(&inst, sizeof(inst));
  prefetch.add(&op, sizeof(op));
  prefetch.add(operands, sizeof(uint32_t) * operandCount);
  prefetch.add(inst.params, op.paramsSize);
  prefetch.add(kernel, sizeof(*kernel));
  prefetch.addCode(codeAddress(kernel->eval));
  for (unsigned i = 0; i < operandCount; ++i)
    if (operands[i] != kNoTensor)
      prefetch.add(&p.tensors[operands[i]], sizeof(TensorDesc));
  PrepareContext ctx(inst, p.weights, p.storage, &prefetch);
  if (sl_status s = kernel->prepare(ctx)) {
    prefixError("op %u", index);
    return s;
  }
  prefetch.add(inst.weight, 1);
  return SL_OK;
}

/// With external weights: every tensor the bundle lists for the program is
/// used by one of its weights (so the bundle's per-program lists, which
/// tools and memory accounting read, are exact).
sl_status checkExternalRefsUsed(const sl_program &p,
                                const ExternalWeights &ext) {
  for (uint32_t r = 0; r < ext.numRefs; ++r) {
    uint64_t offset = ext.tensors[ext.refs[r]].offset;
    bool used = false;
    for (uint32_t i = 0; i < p.header->numTensors && !used; ++i)
      used = p.tensors[i].kind == TensorKind::Weight &&
             p.tensors[i].offset == offset;
    if (!used)
      return setError(SL_ERROR_INVALID_PROGRAM,
                      "the bundle lists tensor %u for this program, but no "
                      "weight of the program uses it",
                      ext.refs[r]);
  }
  return SL_OK;
}

sl_status verifyProgram(sl_program &p, const OpResolver &resolver,
                        bool referenceOnly, const ExternalWeights *external) {
  const ProgramHeader &h = *p.header;
  const uint8_t *base = p.blob;

  uint32_t crc = crc32(base + h.headerSize, h.totalSize - h.headerSize);
  if (crc != h.bodyCrc32)
    return setError(SL_ERROR_INVALID_PROGRAM,
                    "checksum mismatch: body CRC-32 is 0x%08x, header says "
                    "0x%08x (corrupt or truncated program)",
                    crc, h.bodyCrc32);

  struct Section {
    const char *name;
    uint64_t offset, bytes;
  } sections[] = {
      {"tensor table", h.tensorsOffset,
       uint64_t(h.numTensors) * sizeof(TensorDesc)},
      {"op table", h.opsOffset, uint64_t(h.numOps) * sizeof(OpDesc)},
      {"operand table", h.operandsOffset, uint64_t(h.numOperands) * 4},
      {"io table", h.ioOffset, (uint64_t(h.numInputs) + h.numOutputs) * 4},
      {"params", h.paramsOffset, h.paramsSize},
      {"names", h.namesOffset, h.namesSize},
      {"weights", h.weightsOffset, h.weightsSize},
  };
  for (const Section &s : sections)
    if (sl_status st = checkSection(h, s.name, s.offset, s.bytes))
      return st;
  p.tensors = reinterpret_cast<const TensorDesc *>(base + h.tensorsOffset);
  p.ops = reinterpret_cast<const OpDesc *>(base + h.opsOffset);
  p.operands = reinterpret_cast<const uint32_t *>(base + h.operandsOffset);
  p.io = reinterpret_cast<const uint32_t *>(base + h.ioOffset);
  p.params = base + h.paramsOffset;
  p.names = reinterpret_cast<const char *>(base + h.namesOffset);
  p.namesSize = h.namesSize;
  p.weights = base + h.weightsOffset;
  bool externalFlag = h.flags & kProgramFlagExternalWeights;
  if (externalFlag && !external)
    return setError(SL_ERROR_INVALID_ARGUMENT,
                    "the program's weights live in a bundle (external "
                    "weights); load it through its bundle (sl_bundle_open)");
  if (external && !externalFlag)
    return setError(SL_ERROR_INVALID_PROGRAM,
                    "a bundled program must be marked as having external "
                    "weights");
  if (external) {
    if (h.weightsSize != 0)
      return setError(SL_ERROR_INVALID_PROGRAM,
                      "a program with external weights has a %llu-byte "
                      "weights section (must be empty)",
                      (unsigned long long)h.weightsSize);
    // Kernels address a weight as base + TensorDesc::offset, so with the
    // base at the bundle's tensor data they read the pool in place.
    p.weights = external->data;
  }

  if (p.namesSize != 0 && p.names[p.namesSize - 1] != '\0')
    return setError(SL_ERROR_INVALID_PROGRAM,
                    "names blob does not end with a NUL byte");
  if (sl_status s = checkName(p, h.nameOffset, "program", 0))
    return s;
  p.name = p.nameAt(h.nameOffset);

  for (uint32_t i = 0; i < h.numTensors; ++i) {
    const TensorDesc &t = p.tensors[i];
    if (sl_status s = checkName(p, t.nameOffset, "tensor", i))
      return s;
    if (sl_status s = verifyTensor(p, i, external)) {
      prefixError("tensor %u '%s'", i, p.nameAt(t.nameOffset));
      return s;
    }
  }

  // No memory plan needs more than every activation laid end to end (each
  // 64-byte aligned): a larger arena is a corrupt header, and would only
  // make the session allocate memory nothing uses.
  uint64_t endToEnd = 0;
  for (uint32_t i = 0; i < h.numTensors; ++i)
    if (p.tensors[i].kind == TensorKind::Activation)
      endToEnd += (p.tensors[i].bytes + kAlign - 1) / kAlign * kAlign;
  if (h.arenaSize > endToEnd)
    return setError(SL_ERROR_INVALID_PROGRAM,
                    "arena size %llu exceeds the %llu bytes of all "
                    "activations laid end to end (corrupt header)",
                    (unsigned long long)h.arenaSize,
                    (unsigned long long)endToEnd);

  if (external)
    if (sl_status s = checkExternalRefsUsed(p, *external))
      return s;

  for (uint32_t i = 0; i < h.numInputs + h.numOutputs; ++i) {
    bool isInput = i < h.numInputs;
    uint32_t index = isInput ? i : i - h.numInputs;
    uint32_t id = p.io[i];
    if (id >= h.numTensors)
      return setError(SL_ERROR_INVALID_PROGRAM,
                      "graph %s %u names tensor %u, but there are %u",
                      isInput ? "input" : "output", index, id, h.numTensors);
    if (p.tensors[id].kind != TensorKind::Activation)
      return setError(SL_ERROR_INVALID_PROGRAM,
                      "graph %s %u (tensor %u '%s') is a weight, not an "
                      "activation",
                      isInput ? "input" : "output", index, id,
                      p.nameAt(p.tensors[id].nameOffset));
    // Callers read and write graph inputs and outputs as plain arrays.
    if (p.tensors[id].encoding != Encoding::Dense)
      return setError(SL_ERROR_INVALID_PROGRAM,
                      "graph %s %u (tensor %u '%s') must be Dense, not "
                      "padded planes",
                      isInput ? "input" : "output", index, id,
                      p.nameAt(p.tensors[id].nameOffset));
  }

  if (h.numOps != 0) {
    p.instances = static_cast<OpInstance *>(
        p.storage.allocate(sizeof(OpInstance) * size_t(h.numOps), "op table"));
    if (!p.instances)
      return SL_ERROR_OUT_OF_MEMORY;
    for (uint32_t i = 0; i < h.numOps; ++i)
      new (&p.instances[i]) OpInstance();
    p.prefetch = static_cast<OpPrefetch *>(p.storage.allocate(
        sizeof(OpPrefetch) * size_t(h.numOps), "prefetch lists"));
    if (!p.prefetch)
      return SL_ERROR_OUT_OF_MEMORY;
    for (uint32_t i = 0; i < h.numOps; ++i)
      new (&p.prefetch[i]) OpPrefetch();
  }
  for (uint32_t i = 0; i < h.numOps; ++i)
    if (sl_status s = verifyOp(p, i, resolver, referenceOnly, p.instances[i]))
      return s;
  // A program that fits in about half an L2 finds its ops' lines cached from
  // its last run: prefetching them would only cost instructions (on the
  // zoo's models, which all fit, it measured from 3 % faster to 3 % slower,
  // within this host's noise).
  uint64_t footprint = h.arenaSize;
  for (uint32_t i = 0; i < h.numTensors; ++i)
    if (p.tensors[i].kind == TensorKind::Weight)
      footprint += p.tensors[i].bytes;
  p.prefetchOps = footprint >= kPrefetchFootprint;
  return SL_OK;
}

void destroyProgram(sl_program *p) {
  if (!p)
    return;
  sl_allocator allocator = p->storage.allocator;
  p->storage.releaseAll();
  if (p->ownedBlob)
    allocator.free(p->ownedBlob, allocator.user);
  p->~sl_program();
  allocator.free(p, allocator.user);
}

/// loadProgram, with the weights in the blob (`external` null) or in a
/// bundle's tensor pool.
sl_status loadProgramImpl(const void *bytes, size_t size,
                          const sl_load_options *options,
                          const sl_allocator *allocatorIn,
                          const ExternalWeights *external, sl_program **out) {
  if (!out)
    return setError(SL_ERROR_INVALID_ARGUMENT, "out_program is null");
  if (!bytes && size != 0)
    return setError(SL_ERROR_INVALID_ARGUMENT, "program bytes are null");
  if (!options || !options->resolver)
    return setError(SL_ERROR_INVALID_ARGUMENT,
                    "load options need an op resolver (e.g. "
                    "sl_builtin_op_resolver())");
  bool inPlace = options->flags & SL_LOAD_IN_PLACE;
  if (inPlace && reinterpret_cast<uintptr_t>(bytes) % kAlign != 0)
    return setError(SL_ERROR_INVALID_ARGUMENT,
                    "in-place loading needs 64-byte aligned program bytes");
  // Programs are little-endian and read in place, without byte swapping.
  const uint16_t probe = 1;
  if (*reinterpret_cast<const uint8_t *>(&probe) != 1)
    return setError(SL_ERROR_UNSUPPORTED,
                    "this runtime reads little-endian programs in place and "
                    "does not run on big-endian hosts");
  if (size < sizeof(ProgramHeader))
    return setError(SL_ERROR_INVALID_PROGRAM,
                    "program is %zu bytes, smaller than its %zu-byte header "
                    "(truncated?)",
                    size, sizeof(ProgramHeader));
  // Read the header through a copy: the caller's bytes may be unaligned.
  ProgramHeader header;
  std::memcpy(&header, bytes, sizeof(header));
  if (sl_status s = verifyHeader(header, size))
    return s;

  sl_allocator allocator = resolveAllocator(allocatorIn);
  void *mem =
      allocateOrFail(allocator, sizeof(sl_program), 64, "program object");
  if (!mem)
    return SL_ERROR_OUT_OF_MEMORY;
  sl_program *p = new (mem) sl_program();
  p->storage.allocator = allocator;
  p->size = header.totalSize;
  if (inPlace) {
    p->blob = static_cast<const uint8_t *>(bytes);
  } else {
    p->ownedBlob =
        allocateOrFail(allocator, header.totalSize, 64, "program copy");
    if (!p->ownedBlob) {
      destroyProgram(p);
      return SL_ERROR_OUT_OF_MEMORY;
    }
    std::memcpy(p->ownedBlob, bytes, header.totalSize);
    p->blob = static_cast<const uint8_t *>(p->ownedBlob);
  }
  p->header = reinterpret_cast<const ProgramHeader *>(p->blob);
  if (sl_status s =
          verifyProgram(*p, *options->resolver,
                        options->flags & SL_LOAD_REFERENCE_KERNELS, external)) {
    destroyProgram(p);
    return s;
  }
  *out = p;
  return SL_OK;
}

} // namespace

sl_status loadProgram(const void *bytes, size_t size,
                      const sl_load_options *options,
                      const sl_allocator *allocator, sl_program **out) {
  return loadProgramImpl(bytes, size, options, allocator, nullptr, out);
}

sl_status loadProgramWithExternalWeights(const void *bytes, size_t size,
                                         const sl_load_options *options,
                                         const sl_allocator *allocator,
                                         const ExternalWeights &external,
                                         sl_program **out) {
  return loadProgramImpl(bytes, size, options, allocator, &external, out);
}

} // namespace runtime
} // namespace sparseloom

using namespace sparseloom;
using namespace sparseloom::format;

void describeTensor(const sl_program &p, uint32_t id, sl_tensor_info &info) {
  const TensorDesc &t = p.tensors[id];
  info.name = p.nameAt(t.nameOffset);
  info.dtype = static_cast<sl_dtype>(t.dtype);
  info.rank = t.rank;
  for (unsigned i = 0; i < SL_MAX_RANK; ++i)
    info.dims[i] = i < t.rank ? t.dims[i] : 0;
  info.bytes = t.bytes;
}

extern "C" {

sl_status sl_program_load_ex(const void *bytes, size_t size,
                             const sl_load_options *options,
                             const sl_allocator *allocator,
                             sl_program **out_program) {
  return runtime::loadProgram(bytes, size, options, allocator, out_program);
}

void sl_program_destroy(sl_program *program) {
  runtime::destroyProgram(program);
}

const char *sl_program_name(const sl_program *program) {
  return program ? program->name : "";
}

size_t sl_program_input_count(const sl_program *program) {
  return program ? program->numInputs() : 0;
}

size_t sl_program_output_count(const sl_program *program) {
  return program ? program->numOutputs() : 0;
}

sl_status sl_program_input_info(const sl_program *program, size_t index,
                                sl_tensor_info *out_info) {
  if (!program || !out_info)
    return runtime::setError(SL_ERROR_INVALID_ARGUMENT,
                             "program or out_info is null");
  if (index >= program->numInputs())
    return runtime::setError(SL_ERROR_INVALID_ARGUMENT,
                             "input index %zu out of range (%u inputs)", index,
                             program->numInputs());
  describeTensor(*program, program->inputId(index), *out_info);
  return SL_OK;
}

sl_status sl_program_output_info(const sl_program *program, size_t index,
                                 sl_tensor_info *out_info) {
  if (!program || !out_info)
    return runtime::setError(SL_ERROR_INVALID_ARGUMENT,
                             "program or out_info is null");
  if (index >= program->numOutputs())
    return runtime::setError(SL_ERROR_INVALID_ARGUMENT,
                             "output index %zu out of range (%u outputs)",
                             index, program->numOutputs());
  describeTensor(*program, program->outputId(index), *out_info);
  return SL_OK;
}

size_t sl_program_op_count(const sl_program *program) {
  return program ? program->header->numOps : 0;
}

sl_status sl_program_op_info(const sl_program *program, size_t index,
                             sl_op_info *out_info) {
  if (!program || !out_info)
    return runtime::setError(SL_ERROR_INVALID_ARGUMENT,
                             "program or out_info is null");
  if (index >= program->header->numOps)
    return runtime::setError(SL_ERROR_INVALID_ARGUMENT,
                             "op index %zu out of range (%u ops)", index,
                             program->header->numOps);
  const runtime::OpInstance &op = program->instances[index];
  out_info->name = op.name;
  out_info->opcode = runtime::opcodeName(op.desc->opcode);
  out_info->kernel = runtime::kernelIdName(op.kernelId);
  out_info->requested_kernel = runtime::kernelIdName(op.desc->kernel);
  return SL_OK;
}

sl_status sl_program_memory_info(const sl_program *program,
                                 sl_program_memory *out_memory) {
  if (!program || !out_memory)
    return runtime::setError(SL_ERROR_INVALID_ARGUMENT,
                             "program or out_memory is null");
  const ProgramHeader &h = *program->header;
  out_memory->blob_bytes = program->size;
  out_memory->weight_bytes = h.weightsSize;
  if (h.flags & kProgramFlagExternalWeights) {
    // The weights live in the bundle's pool: count each distinct tensor
    // (two descriptors may name the same pooled tensor) once.
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < h.numTensors; ++i) {
      const TensorDesc &t = program->tensors[i];
      bool first = t.kind == TensorKind::Weight;
      for (uint32_t j = 0; first && j < i; ++j)
        first = !(program->tensors[j].kind == TensorKind::Weight &&
                  program->tensors[j].offset == t.offset);
      if (first)
        bytes += t.bytes;
    }
    out_memory->weight_bytes = bytes;
  }
  out_memory->arena_bytes = h.arenaSize;
  out_memory->unplanned_bytes = h.activationBytesUnplanned;
  uint64_t scratch = 0;
  for (uint32_t i = 0; i < h.numOps; ++i) {
    const runtime::OpInstance &op = program->instances[i];
    if (op.kernel->scratch) {
      uint64_t s = op.kernel->scratch(op, op.kernelId, 1);
      scratch = s > scratch ? s : scratch;
    }
  }
  out_memory->scratch_bytes = scratch;
  out_memory->runtime_owned_bytes = program->storage.bytes +
                                    (program->ownedBlob ? program->size : 0) +
                                    sizeof(sl_program);
  return SL_OK;
}

} // extern "C"
