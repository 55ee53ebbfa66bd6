/*===- sparseloom_runtime.h - C API of the SparseLoom runtime -----*- C -*-===*\
|*                                                                            *|
|* Part of SparseLoom.                                                        *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/
/*
 * The embedded runtime executes *programs*: the lowered, fixed-layout form of
 * one (sub)graph (formats/sparseloom/ProgramFormat.h). This header is its
 * whole public C interface:
 *
 *   sl_program  a verified program. Loading checks every offset, size, tensor
 *               and op of the blob (a corrupt blob is an error, never a
 *               crash) and prepares every op kernel, so running checks
 *               nothing that was known at load time.
 *   sl_session  the memory and threads to run one program, or a sequence of
 *               programs (the segments of a stitched variant: outputs of
 *               program i feed the inputs of program i+1 by position).
 *   sl_bundle   a verified bundle file (formats/sparseloom/BundleFormat.h):
 *               programs sharing one weight pool, the stitched variants of
 *               every task, processors and SLO defaults; sessions per
 *               variant and the simplest variant choice per request.
 *
 * Conventions: every fallible function returns an sl_status and writes its
 * results through `out_` parameters (left untouched on failure);
 * sl_last_error_message() describes the calling thread's last failure. All
 * memory the runtime needs comes from the caller's sl_allocator, at load and
 * at session creation; sl_session_run allocates nothing. The runtime never
 * writes to stdout/stderr.
 *
 * C99; safe to include from C++ (docs/Runtime.md has examples).
 */

#ifndef SPARSELOOM_RUNTIME_SPARSELOOM_RUNTIME_H
#define SPARSELOOM_RUNTIME_SPARSELOOM_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SL_RUNTIME_VERSION_MAJOR 0
#define SL_RUNTIME_VERSION_MINOR 1
/* Mirrors format::kMaxRank. */
#define SL_MAX_RANK 8

/* --- Status ---------------------------------------------------------------*/

typedef enum sl_status {
  SL_OK = 0,
  /* A null pointer, an index out of range, a buffer too small. */
  SL_ERROR_INVALID_ARGUMENT = 1,
  /* The program blob failed verification (names the table, entry, op or
     tensor); also a program stored in a bundle. */
  SL_ERROR_INVALID_PROGRAM = 2,
  /* A newer format major version, or an opcode the resolver lacks. */
  SL_ERROR_UNSUPPORTED = 3,
  /* The caller's allocator returned null. */
  SL_ERROR_OUT_OF_MEMORY = 4,
  /* An input's rank/dims, or two chained programs' boundary tensors. */
  SL_ERROR_SHAPE_MISMATCH = 5,
  /* An input's element type differs from the program's. */
  SL_ERROR_DTYPE_MISMATCH = 6,
  /* A NaN or Inf in a float input (only with SL_SESSION_CHECK_FINITE). */
  SL_ERROR_NON_FINITE = 7,
  /* A data-dependent failure while running (e.g. a Gather index out of
     range); the outputs of that run are unspecified. */
  SL_ERROR_RUNTIME = 8,
  /* A bug in the runtime; please report it. */
  SL_ERROR_INTERNAL = 9,
  /* A bundle's header, section table, checksums or tables failed
     verification (truncated, wrong magic, bad checksum, an offset or index
     out of range; names the section and entry). */
  SL_ERROR_INVALID_BUNDLE = 10
} sl_status;

/* A static string naming `status` ("SL_ERROR_INVALID_PROGRAM", ...). */
const char *sl_status_name(sl_status status);

/* The message of the calling thread's most recent failed call (""
   when none). Valid until the thread's next sl_* call. */
const char *sl_last_error_message(void);

/* --- Memory ---------------------------------------------------------------*/

/* Every byte the runtime allocates comes from here. `alloc` returns memory
   aligned to `alignment` (a power of two, at most 64), or null on failure;
   `free` releases what `alloc` returned (never called with null). A null
   sl_allocator pointer anywhere in this API means the default one
   (aligned_alloc/free). */
typedef struct sl_allocator {
  void *(*alloc)(size_t size, size_t alignment, void *user);
  void (*free)(void *ptr, void *user);
  void *user;
} sl_allocator;

/* --- Tensors ---------------------------------------------------------------*/

/* Element types; the values are ONNX TensorProto codes (format::DType). */
typedef enum sl_dtype {
  SL_DTYPE_FLOAT32 = 1,
  SL_DTYPE_UINT8 = 2,
  SL_DTYPE_INT8 = 3,
  SL_DTYPE_INT32 = 6,
  SL_DTYPE_INT64 = 7,
  SL_DTYPE_BOOL = 9 /* one byte per element, 0 or 1 */
} sl_dtype;

/* Bytes per element of `dtype`, 0 when unknown. */
size_t sl_dtype_size(sl_dtype dtype);
/* "float32", "int64", ...; "unknown" otherwise. */
const char *sl_dtype_name(sl_dtype dtype);

/* A program input or output as the program declares it (static shape). */
typedef struct sl_tensor_info {
  const char *name; /* owned by the program */
  sl_dtype dtype;
  uint32_t rank;
  int64_t dims[SL_MAX_RANK];
  size_t bytes; /* product(dims) * sl_dtype_size(dtype) */
} sl_tensor_info;

/* Caller data for one input: must match the program's input exactly
   (dtype, rank, dims; bytes == the info's bytes). Row-major. */
typedef struct sl_tensor_view {
  sl_dtype dtype;
  uint32_t rank;
  int64_t dims[SL_MAX_RANK];
  const void *data;
  size_t bytes;
} sl_tensor_view;

/* Where sl_session_run copies one output; capacity >= the output's bytes. */
typedef struct sl_output_buffer {
  void *data;
  size_t capacity;
} sl_output_buffer;

/* --- Op resolver -----------------------------------------------------------*/

/* Which op kernels a program may use (opcode -> kernel). The built-in one
   has every op; an application that wants a smaller image builds its own
   from C++ with only the ops it uses (sparseloom/Runtime/OpRegistry.h),
   and loads with sl_program_load_ex. */
typedef struct sl_op_resolver sl_op_resolver;

/* Every built-in op kernel. Using it links every kernel into the image. */
const sl_op_resolver *sl_builtin_op_resolver(void);

/* --- Programs
 * ---------------------------------------------------------------*/

typedef struct sl_program sl_program;

/* Loads, verifies and prepares a program, with every built-in op. The bytes
   are copied (into 64-byte aligned memory from `allocator`), so the caller
   may release them when this returns. */
sl_status sl_program_load(const void *bytes, size_t size,
                          const sl_allocator *allocator,
                          sl_program **out_program);

/* Load flags. */
/* Read the blob where it is (e.g. mmap'ed from a bundle) instead of copying
   it: `bytes` must be 64-byte aligned and outlive the program. */
#define SL_LOAD_IN_PLACE 0x1u
/* Run every op on its portable Reference kernel, as on a CPU without
   AVX2+FMA (to compare paths, or to debug a fast kernel). */
#define SL_LOAD_REFERENCE_KERNELS 0x2u

typedef struct sl_load_options {
  uint32_t flags;                 /* SL_LOAD_* */
  const sl_op_resolver *resolver; /* required */
} sl_load_options;

/* sl_program_load with options: in-place loading, a custom resolver. */
sl_status sl_program_load_ex(const void *bytes, size_t size,
                             const sl_load_options *options,
                             const sl_allocator *allocator,
                             sl_program **out_program);

void sl_program_destroy(sl_program *program);

/* The program's name (from the blob; "" when it has none). */
const char *sl_program_name(const sl_program *program);
size_t sl_program_input_count(const sl_program *program);
size_t sl_program_output_count(const sl_program *program);
sl_status sl_program_input_info(const sl_program *program, size_t index,
                                sl_tensor_info *out_info);
sl_status sl_program_output_info(const sl_program *program, size_t index,
                                 sl_tensor_info *out_info);

/* One op as loaded, for profiles and reports. */
typedef struct sl_op_info {
  const char *name;   /* the source node's name */
  const char *opcode; /* "Conv", "Gemm", ... */
  const char *kernel; /* the kernel that runs: "Reference", "SpmmCsrAvx2" */
  const char *requested_kernel; /* what the compiler chose */
} sl_op_info;

size_t sl_program_op_count(const sl_program *program);
sl_status sl_program_op_info(const sl_program *program, size_t index,
                             sl_op_info *out_info);

/* Memory figures of a program. */
typedef struct sl_program_memory {
  uint64_t blob_bytes;          /* the program blob */
  uint64_t weight_bytes;        /* its weights section */
  uint64_t arena_bytes;         /* planned activation arena */
  uint64_t unplanned_bytes;     /* sum of all activations, no reuse */
  uint64_t scratch_bytes;       /* kernel scratch at 1 thread */
  uint64_t runtime_owned_bytes; /* allocated at load (copy, packed weights,
                                   op tables) */
} sl_program_memory;

sl_status sl_program_memory_info(const sl_program *program,
                                 sl_program_memory *out_memory);

/* --- Sessions
 * ---------------------------------------------------------------*/

typedef struct sl_session sl_session;

/* Session flags. */
/* Reject float inputs holding NaN or +-Inf with SL_ERROR_NON_FINITE (naming
   the input and the first bad element). Off by default: NaN/Inf then flow
   through the kernels with IEEE semantics. */
#define SL_SESSION_CHECK_FINITE 0x1u
/* Time every op of every run (steady clock); see sl_session_op_time_ns.
   Per-program times are always recorded. */
#define SL_SESSION_PROFILE_OPS 0x2u
/* Do not prefetch each op's descriptors, first weight lines and code while
   the op before it runs (on by default for programs whose weights and arena
   reach 1 MiB; docs/Runtime.md, "Prefetching the next op"). For measuring
   what the prefetch gains. */
#define SL_SESSION_NO_PREFETCH 0x4u

typedef struct sl_session_options {
  uint32_t threads; /* worker threads incl. the caller; 0 means 1 */
  uint32_t flags;   /* SL_SESSION_* */
} sl_session_options;

/* A session over `num_programs` programs run in order; program i+1's inputs
   are program i's outputs by position (counts, dtypes and dims must be
   equal, checked here). The programs must outlive the session. Allocates
   the activation arenas (two, alternating, for a sequence), the kernel
   scratch and the thread pool; running allocates nothing. `options` may be
   null (1 thread, no flags). */
sl_status sl_session_create(const sl_program *const *programs,
                            size_t num_programs,
                            const sl_session_options *options,
                            const sl_allocator *allocator,
                            sl_session **out_session);

void sl_session_destroy(sl_session *session);

/* Inputs are the first program's, outputs the last program's. */
size_t sl_session_input_count(const sl_session *session);
size_t sl_session_output_count(const sl_session *session);
sl_status sl_session_input_info(const sl_session *session, size_t index,
                                sl_tensor_info *out_info);
sl_status sl_session_output_info(const sl_session *session, size_t index,
                                 sl_tensor_info *out_info);

/* Runs every program once. `inputs` are checked against the first program's
   inputs (count, dtype, rank, dims, bytes; finiteness with
   SL_SESSION_CHECK_FINITE). When `outputs` is non-null it has
   `num_outputs` == the output count entries and every output is copied
   there; with null outputs (and num_outputs 0) read them in place with
   sl_session_output. Not reentrant: one run per session at a time. */
sl_status sl_session_run(sl_session *session, const sl_tensor_view *inputs,
                         size_t num_inputs, sl_output_buffer *outputs,
                         size_t num_outputs);

/* Output `index` of the last successful run, in place (valid until the next
   run or destroy). */
sl_status sl_session_output(const sl_session *session, size_t index,
                            sl_tensor_view *out_view);

/* Timing of the last run (steady clock, nanoseconds). */
size_t sl_session_program_count(const sl_session *session);
sl_status sl_session_program_time_ns(const sl_session *session,
                                     size_t program_index, uint64_t *out_ns);
/* Requires SL_SESSION_PROFILE_OPS. */
sl_status sl_session_op_time_ns(const sl_session *session, size_t program_index,
                                size_t op_index, uint64_t *out_ns);

/* Bytes the session allocated (arenas, scratch, pool, timing tables). */
uint64_t sl_session_allocated_bytes(const sl_session *session);

/* --- Bundles
 * ---------------------------------------------------------------*/

/* A bundle (`app.loom`, docs/BundleFormat.md) holds every program of an
   application with their weights deduplicated into one tensor pool, the
   stitched-variant table of every task, the processors it was compiled for
   and each task's default SLO. Tasks, variants (per task), processors,
   programs and tensors are addressed by index. */
typedef struct sl_bundle sl_bundle;

/* Opens a bundle in place and verifies everything before returning: the
   header (magic, version, sizes, CRC-32 of header and section table), the
   section table (bounds, alignment, overlap, zero gaps, one section per
   kind), every section's CRC-32, every table entry, index and string
   offset, every tensor's content hash, and every program, loaded and
   prepared with its weights read from the pool. A corrupt bundle is an
   error with a message (SL_ERROR_INVALID_PROGRAM; SL_ERROR_UNSUPPORTED for a
   newer major version), never a crash. `bytes` must be 64-byte aligned
   (mmap'ed files and the compiler's C arrays are) and outlive the bundle:
   nothing is copied. */
sl_status sl_bundle_open(const void *bytes, size_t size,
                         const sl_allocator *allocator, sl_bundle **out_bundle);
/* Destroys the bundle and its programs; sessions made from it must be
   destroyed first. */
void sl_bundle_destroy(sl_bundle *bundle);

typedef struct sl_bundle_info {
  uint32_t version_major;
  uint32_t version_minor;
  uint64_t total_bytes;
  size_t section_count;
  size_t tensor_count;
  size_t program_count;
  size_t processor_count;
  size_t task_count;
  size_t variant_count;         /* over all tasks */
  uint64_t tensor_bytes;        /* the TensorData section */
  uint64_t program_bytes;       /* the ProgramData section */
  uint64_t runtime_owned_bytes; /* what opening allocated */
} sl_bundle_info;

sl_status sl_bundle_get_info(const sl_bundle *bundle, sl_bundle_info *out_info);

typedef struct sl_bundle_section_info {
  uint32_t kind;
  const char *kind_name; /* "tensors", "programs", ...; "unknown" */
  uint64_t offset;
  uint64_t bytes;
  uint64_t count; /* entries (bytes for a blob) */
  uint32_t crc32;
} sl_bundle_section_info;

sl_status sl_bundle_section_info_at(const sl_bundle *bundle, size_t index,
                                    sl_bundle_section_info *out_info);

/* One pooled weight tensor. */
typedef struct sl_bundle_tensor_info {
  uint64_t offset; /* in the tensor data section */
  uint64_t bytes;
  uint64_t content_hash; /* FNV-1a 64 of the bytes */
  sl_dtype dtype;
  const char *encoding; /* "dense", "csr", "block-sparse", "packed" */
  uint32_t rank;
  int64_t dims[SL_MAX_RANK];
} sl_bundle_tensor_info;

sl_status sl_bundle_tensor_info_at(const sl_bundle *bundle, size_t index,
                                   sl_bundle_tensor_info *out_info);

/* One stored program, loaded (name, ops, inputs through sl_program_*). */
typedef struct sl_bundle_program_info {
  const sl_program *program; /* owned by the bundle */
  uint64_t offset;           /* in the program data section */
  uint64_t bytes;            /* the blob, weights excluded */
  size_t tensor_count;       /* distinct pooled tensors its weights use */
  uint64_t weight_bytes;     /* their bytes */
} sl_bundle_program_info;

sl_status sl_bundle_program_info_at(const sl_bundle *bundle, size_t index,
                                    sl_bundle_program_info *out_info);
/* The pooled tensor index of program `index`'s `k`-th tensor (ascending). */
sl_status sl_bundle_program_tensor(const sl_bundle *bundle, size_t index,
                                   size_t k, size_t *out_tensor);

typedef enum sl_processor_kind {
  SL_PROCESSOR_CPU = 0,
  SL_PROCESSOR_GPU = 1,
  SL_PROCESSOR_NPU = 2,
  SL_PROCESSOR_DSP = 3
} sl_processor_kind;

typedef struct sl_processor_info {
  const char *id; /* "cpu", "gpu", ... (unique in the bundle) */
  sl_processor_kind kind;
  const char *kind_name; /* "cpu", "gpu", "npu", "dsp" */
  uint32_t threads;
  double dense_gflops;
  double memory_gbps;
  double invocation_overhead_ms;
  uint64_t memory_capacity_bytes; /* 0: not stated */
} sl_processor_info;

sl_status sl_bundle_processor_info(const sl_bundle *bundle, size_t index,
                                   sl_processor_info *out_info);

typedef struct sl_task_info {
  const char *name;
  size_t input_count;
  size_t output_count;
  size_t variant_count;
  size_t source_variant_count; /* the family members segments come from */
  uint32_t class_count;        /* 0 when not a classifier */
  double latency_deadline_ms;  /* default SLO; +inf for none */
  double accuracy_floor;       /* default SLO, in [0, 1] */
  double request_rate_hz;      /* expected load */
} sl_task_info;

sl_status sl_bundle_task_count(const sl_bundle *bundle, size_t *out_count);
sl_status sl_bundle_task_info(const sl_bundle *bundle, size_t task,
                              sl_task_info *out_info);
/* The task's model inputs/outputs (every variant takes and gives these). */
sl_status sl_bundle_task_input(const sl_bundle *bundle, size_t task,
                               size_t index, sl_tensor_info *out_info);
sl_status sl_bundle_task_output(const sl_bundle *bundle, size_t task,
                                size_t index, sl_tensor_info *out_info);
/* The name of the task's `index`-th source variant ("dense", "s90"). */
sl_status sl_bundle_task_source_variant(const sl_bundle *bundle, size_t task,
                                        size_t index, const char **out_name);

typedef struct sl_variant_info {
  uint32_t id; /* the compiler's id of the stitch */
  const char *name;
  size_t segment_count;
  double estimated_accuracy; /* in [0, 1] */
  double measured_accuracy;  /* in [0, 1]; NaN when not measured */
  uint64_t memory_bytes;
} sl_variant_info;

/* `variant` indexes the task's variants (0 .. variant_count - 1). */
sl_status sl_bundle_variant_info(const sl_bundle *bundle, size_t task,
                                 size_t variant, sl_variant_info *out_info);
/* Segment `segment` of a variant: the bundle program that runs it and the
   index of the source variant it was cut from. */
sl_status sl_bundle_variant_segment(const sl_bundle *bundle, size_t task,
                                    size_t variant, size_t segment,
                                    size_t *out_program,
                                    size_t *out_source_variant);
/* Estimated latency of the whole variant on `processor`, milliseconds;
   +inf where it cannot run there. */
sl_status sl_bundle_variant_latency_ms(const sl_bundle *bundle, size_t task,
                                       size_t variant, size_t processor,
                                       double *out_ms);

sl_status sl_bundle_processor_count(const sl_bundle *bundle, size_t *out_count);

/* A session running the variant's programs in sequence on this host (the
   multi-program session of sl_session_create). Must be destroyed before
   the bundle. `options` and `allocator` may be null. */
sl_status sl_bundle_session_create(const sl_bundle *bundle, size_t task,
                                   size_t variant,
                                   const sl_session_options *options,
                                   const sl_allocator *allocator,
                                   sl_session **out_session);

/* Which parts of an SLO the picked variant misses (bit flags). */
#define SL_SLO_MET 0u
#define SL_SLO_LATENCY_MISSED 0x1u
#define SL_SLO_ACCURACY_MISSED 0x2u

/* The scheduler's simplest rule, per request. A variant *runs* on a
   processor when its latency there is finite; its latency is the best over
   processors (ties: the lower processor index), its accuracy the estimated
   one.
     1. Among variants meeting both the deadline (latency <= deadline) and
        the floor (accuracy >= floor): the most accurate; ties go to the
        lower latency, then the lower index.            -> SL_SLO_MET
     2. Else among variants meeting the floor: the fastest; ties go to the
        higher accuracy, then the lower index.  -> SL_SLO_LATENCY_MISSED
     3. Else: the most accurate; ties go to the lower latency, then the
        lower index. -> SL_SLO_ACCURACY_MISSED, plus SL_SLO_LATENCY_MISSED
        when it also misses the deadline.
   `latency_deadline_ms` > 0 (+inf for none), `accuracy_floor` in [0, 1].
   Writes the task's variant index, the processor index and the missed
   parts (`out_slo_missed` may be null). SL_ERROR_INVALID_ARGUMENT when no
   variant of the task runs on any processor. */
sl_status sl_bundle_pick_variant(const sl_bundle *bundle, size_t task,
                                 double latency_deadline_ms,
                                 double accuracy_floor, size_t *out_variant,
                                 size_t *out_processor,
                                 uint32_t *out_slo_missed);

/* --- Platform
 * ---------------------------------------------------------------*/

/* 1 when the AVX2+FMA kernels can run on this CPU (otherwise every op runs
   its portable reference kernel). */
int sl_cpu_has_avx2_fma(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SPARSELOOM_RUNTIME_SPARSELOOM_RUNTIME_H */
