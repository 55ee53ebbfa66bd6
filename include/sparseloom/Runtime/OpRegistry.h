//===- OpRegistry.h - Op kernels and the resolver ---------------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Every op the runtime can run is an OpKernel: an opcode, a Prepare function
// that checks everything about the op against the program's descriptors at
// load time (operand counts, dtypes, shapes, parameters, the weight
// encoding) and records what Eval needs, and an Eval function that only
// computes. A resolver maps opcodes to kernels; the loader asks it for every
// op and rejects a program whose op it lacks.
//
// The built-in kernels come in families, one object file each, so an
// application that registers only the families it uses (instead of
// registerAllOps) links only those kernels, as in TensorFlow Lite Micro:
//
//   sparseloom::runtime::OpResolver resolver;
//   sparseloom::runtime::registerConvOps(resolver);
//   sparseloom::runtime::registerUnaryOps(resolver);
//   sl_load_options options = {0, &resolver};
//   sl_program_load_ex(bytes, size, &options, nullptr, &program);
//
// Adding a kernel (docs/Runtime.md): write Prepare/Eval in the family's file
// under lib/Runtime/Ops/, add an OpKernel entry to its register function.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_RUNTIME_OPREGISTRY_H
#define SPARSELOOM_RUNTIME_OPREGISTRY_H

#include "sparseloom/ProgramFormat.h"
#include "sparseloom/Runtime/sparseloom_runtime.h"

#include <cstddef>
#include <cstdint>

namespace sparseloom {
namespace runtime {

class ThreadPool;

/// One op as the descriptors state it. Everything here was bounds-checked by
/// the loader before Prepare sees it: operand ids index the tensor table (or
/// are format::kNoTensor for an absent optional input), `params` holds
/// desc->paramsSize bytes, every tensor's dims and storage are consistent.
struct OpView {
  const format::OpDesc *desc = nullptr;
  const format::TensorDesc *tensors = nullptr; // the program's tensor table
  const uint32_t *inputs = nullptr;            // desc->numInputs tensor ids
  const uint32_t *outputs = nullptr;           // desc->numOutputs tensor ids
  const void *params = nullptr;                // null when paramsSize is 0
  const char *name = "";                       // the source node's name

  unsigned numInputs() const { return desc->numInputs; }
  unsigned numOutputs() const { return desc->numOutputs; }
  bool hasInput(unsigned i) const {
    return i < desc->numInputs && inputs[i] != format::kNoTensor;
  }
  const format::TensorDesc &input(unsigned i) const {
    return tensors[inputs[i]];
  }
  const format::TensorDesc &output(unsigned i) const {
    return tensors[outputs[i]];
  }
  /// The op's parameter struct; Prepare checks paramsSize == sizeof(T)
  /// (the loader already checked it against the opcode's struct).
  template <typename T> const T &paramsAs() const {
    return *static_cast<const T *>(params);
  }
};

struct OpKernel;

/// An op after Prepare: its view, the kernel, and what Prepare decided.
struct OpInstance : OpView {
  const OpKernel *kernel = nullptr;
  /// The path that runs: desc->kernel, or Reference when the CPU lacks the
  /// ISA of the requested fast kernel.
  format::KernelId kernelId = format::KernelId::Reference;
  /// For products (Conv/Gemm/MatMul): the weight in the form the chosen path
  /// reads (packed panels the runtime made at load, or the blob's bytes).
  const void *weight = nullptr;
  /// Free-form values Prepare computes once for Eval (sizes, flags).
  int64_t state[6] = {0, 0, 0, 0, 0, 0};
};

/// The program's load-time allocations (internal to lib/Runtime).
struct ProgramStorage;
/// The cache lines the executor prefetches for an op (internal).
struct OpPrefetch;

/// What Prepare may do besides reading the op: allocate program-lifetime
/// memory (from the program's allocator) and fail with a message.
class PrepareContext {
public:
  PrepareContext(OpInstance &op, const uint8_t *weightsBase,
                 ProgramStorage &storage, OpPrefetch *prefetch = nullptr)
      : op(op), weightsBase_(weightsBase), storage_(storage),
        prefetch_(prefetch) {}

  OpInstance &op;

  /// The stored bytes of Weight tensor `tensorId` (inside the blob).
  const uint8_t *weightBytes(uint32_t tensorId) const {
    return weightsBase_ + op.tensors[tensorId].offset;
  }
  /// 64-byte aligned memory that lives as long as the program; null (with
  /// the error already set) when the allocator fails.
  void *allocate(size_t bytes);
  /// 64-byte aligned memory for use within Prepare only (e.g. a transposed
  /// copy before packing); release it before returning. Null (error set)
  /// when the allocator fails.
  void *allocateTemporary(size_t bytes);
  void releaseTemporary(void *ptr);
  /// Names memory Eval reads before its first arithmetic (its own state,
  /// the first bytes of its weight arrays), beyond the descriptors the
  /// loader already lists: the executor prefetches it while the op before
  /// runs. Only the first cache lines of each range are worth naming; the
  /// list is short and keeps what fits.
  void prefetchBeforeEval(const void *address, size_t bytes);
  /// Names a function Eval calls on the path Prepare chose (its address as
  /// a data pointer), so that its code is prefetched with the rest.
  void prefetchCodeBeforeEval(const void *entry);
  /// Sets the thread's error message to "op 'NAME' (OPCODE): <message>"
  /// and returns `status`.
  sl_status fail(sl_status status, const char *format, ...)
#if defined(__GNUC__)
      __attribute__((format(printf, 3, 4)))
#endif
      ;

private:
  const uint8_t *weightsBase_;
  ProgramStorage &storage_;
  OpPrefetch *prefetch_;
};

/// What Eval sees: where tensors live for this run, the scratch buffer
/// (at least the op's ScratchFn bytes, 64-byte aligned) and the pool.
class ExecContext {
public:
  uint8_t *arena = nullptr;
  const uint8_t *weights = nullptr; // the blob's weights section
  void *scratch = nullptr;
  size_t scratchBytes = 0;
  ThreadPool *pool = nullptr; // null: run on the calling thread
  unsigned threads = 1;

  const void *data(const OpView &op, uint32_t tensorId) const {
    const format::TensorDesc &t = op.tensors[tensorId];
    return t.kind == format::TensorKind::Weight
               ? static_cast<const void *>(weights + t.offset)
               : static_cast<const void *>(arena + t.offset);
  }
  template <typename T> const T *in(const OpView &op, unsigned i) const {
    return static_cast<const T *>(data(op, op.inputs[i]));
  }
  template <typename T> T *out(const OpView &op, unsigned i) const {
    return reinterpret_cast<T *>(arena + op.tensors[op.outputs[i]].offset);
  }
  /// Sets the thread's error message (prefixed with the op) and returns
  /// `status`; for data-dependent failures only (e.g. an index out of
  /// range), everything static was checked in Prepare.
  sl_status fail(const OpView &op, sl_status status, const char *format, ...)
#if defined(__GNUC__)
      __attribute__((format(printf, 4, 5)))
#endif
      ;
};

using PrepareFn = sl_status (*)(PrepareContext &ctx);
using EvalFn = sl_status (*)(const OpInstance &op, ExecContext &ctx);
/// Scratch bytes for `op` run by `kernel` with `threads` workers; may be
/// null (no scratch). Depends on descriptors only, so the compiler can call
/// it (through opScratchBytes) before the program exists.
using ScratchFn = size_t (*)(const OpView &op, format::KernelId kernel,
                             unsigned threads);

struct OpKernel {
  format::Opcode opcode = format::Opcode(0);
  PrepareFn prepare = nullptr;
  EvalFn eval = nullptr;
  ScratchFn scratch = nullptr;
  /// True when Eval tolerates an output that occupies exactly an input's
  /// arena slot (same offset and size: elementwise kernels). Any other
  /// overlap between an op's inputs and outputs is a load error.
  bool inPlace = false;
};

} // namespace runtime
} // namespace sparseloom

/// The resolver: a fixed-capacity opcode -> kernel table (no allocation).
/// Declared at global scope because the C API names it sl_op_resolver.
struct sl_op_resolver {
  static constexpr unsigned kCapacity = 128;

  /// Adds `kernel`, replacing an existing entry for the same opcode (so an
  /// application can override a built-in kernel). False when full.
  bool add(const sparseloom::runtime::OpKernel &kernel);
  const sparseloom::runtime::OpKernel *
  find(sparseloom::format::Opcode opcode) const;
  unsigned size() const { return count_; }

private:
  sparseloom::runtime::OpKernel entries_[kCapacity];
  unsigned count_ = 0;
};

namespace sparseloom {
namespace runtime {

using OpResolver = ::sl_op_resolver;

// Built-in kernel families (lib/Runtime/Ops/<Family>.cpp).
void registerConvOps(OpResolver &resolver);   // Conv, PointwiseDepthwise
void registerGemmOps(OpResolver &resolver);   // Gemm, MatMul
void registerBinaryOps(OpResolver &resolver); // Add..Mod, Where, Max, Min
void registerUnaryOps(OpResolver &resolver);  // Relu..Cos, Cast, Identity
void registerNormalizationOps(OpResolver &resolver); // Softmax, LogSoftmax,
                                                     // LayerNorm, BatchNorm
void registerReductionOps(OpResolver &resolver);     // Reduce*, ArgMax, ArgMin
void registerPoolingOps(OpResolver &resolver);       // Max/Average/Global pools
void registerDataMovementOps(OpResolver &resolver);  // Transpose, Concat,
                                                     // Split, Slice, Gather,
                                                     // Expand, Pad, Tile
/// Every family above.
void registerAllOps(OpResolver &resolver);

/// "Conv", "Add", ...; null for an unknown value.
const char *opcodeName(format::Opcode opcode);
/// "Reference", "DenseGemmAvx2", ...; null for an unknown value.
const char *kernelIdName(format::KernelId kernel);
/// sizeof the opcode's params struct (0 when it takes none), or -1 for an
/// unknown opcode. The loader checks OpDesc::paramsSize against it.
int64_t opcodeParamsSize(format::Opcode opcode);

/// Scratch bytes the built-in kernel of `op` needs for desc->kernel with
/// `threads` workers (0 for an unknown opcode). The compiler stores the
/// maximum over a program's ops in ProgramHeader::scratchSize; the runtime
/// recomputes it per session for its actual thread count and path, so the
/// header's figure is a report, not a trust boundary.
size_t opScratchBytes(const OpView &op, unsigned threads);

/// CRC-32 (IEEE 802.3, as zlib's crc32) of `size` bytes, continuing from
/// `crc` (0 to start). The compiler uses it to fill bodyCrc32.
uint32_t crc32(const void *data, size_t size, uint32_t crc = 0);

} // namespace runtime
} // namespace sparseloom

#endif // SPARSELOOM_RUNTIME_OPREGISTRY_H
