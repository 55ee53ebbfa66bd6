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
  /* The program blob failed verification (names the table, op or tensor). */
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
  SL_ERROR_INTERNAL = 9
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

/* --- Platform
 * ---------------------------------------------------------------*/

/* 1 when the AVX2+FMA kernels can run on this CPU (otherwise every op runs
   its portable reference kernel). */
int sl_cpu_has_avx2_fma(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SPARSELOOM_RUNTIME_SPARSELOOM_RUNTIME_H */
