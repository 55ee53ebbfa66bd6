//===- Session.cpp - Running programs and sequences of programs -----------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// A session owns everything a run needs, allocated once at creation from the
// caller's allocator: the activation arena(s), the kernel scratch, the thread
// pool and the timing tables. A run then only copies inputs into the arena,
// calls each op's Eval in program order and copies outputs out.
//
// A sequence (the segments of a stitched variant) alternates between two
// arenas: program i runs in arena i % 2, and its outputs are copied into
// program i+1's input slots in the other arena. Two arenas sized for the
// largest even and odd program cost less than one per program, and the copy
// can never overlap the tensors it reads.
//
//===----------------------------------------------------------------------===//

#include "Program.h"

#include "Kernels/ThreadPool.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <new>

using namespace sparseloom;
using namespace sparseloom::runtime;
using format::DType;
using format::TensorDesc;

struct sl_session {
  sl_allocator allocator{};
  const sl_program **programs = nullptr;
  size_t numPrograms = 0;
  uint8_t *arenas[2] = {nullptr, nullptr};
  void *scratch = nullptr;
  size_t scratchBytes = 0;
  ThreadPool *pool = nullptr;
  unsigned threads = 1;
  uint32_t flags = 0;
  uint64_t *programNs = nullptr; // numPrograms
  uint64_t *opNs = nullptr;      // sum of op counts (SL_SESSION_PROFILE_OPS)
  size_t *opBase = nullptr;      // numPrograms: first opNs entry per program
  bool hasRun = false;
  uint64_t allocatedBytes = 0;

  const sl_program &first() const { return *programs[0]; }
  const sl_program &last() const { return *programs[numPrograms - 1]; }
  uint8_t *arenaOf(size_t program) const { return arenas[program % 2]; }
};

namespace {

void *sessionAlloc(sl_session &s, size_t bytes, const char *what) {
  void *p = allocateOrFail(s.allocator, bytes, 64, what);
  if (p)
    s.allocatedBytes += bytes;
  return p;
}

void sessionFree(sl_session &s, void *p) {
  if (p)
    s.allocator.free(p, s.allocator.user);
}

void destroySession(sl_session *s) {
  if (!s)
    return;
  if (s->pool) {
    s->pool->~ThreadPool();
    sessionFree(*s, s->pool);
  }
  sessionFree(*s, s->arenas[0]);
  sessionFree(*s, s->arenas[1]);
  sessionFree(*s, s->scratch);
  sessionFree(*s, s->programNs);
  sessionFree(*s, s->opNs);
  sessionFree(*s, s->opBase);
  sessionFree(*s, s->programs);
  sl_allocator allocator = s->allocator;
  s->~sl_session();
  allocator.free(s, allocator.user);
}

/// "[1,3,224,224]" into `buffer`.
const char *formatDims(char *buffer, size_t size, uint32_t rank,
                       const int64_t *dims) {
  size_t used = std::snprintf(buffer, size, "[");
  for (uint32_t i = 0; i < rank && used < size; ++i)
    used += std::snprintf(buffer + used, size - used, i ? ",%lld" : "%lld",
                          (long long)dims[i]);
  if (used < size)
    std::snprintf(buffer + used, size - used, "]");
  return buffer;
}

/// Checks that program `i`'s outputs can feed program `i + 1`'s inputs.
sl_status checkBoundary(const sl_program &from, size_t fromIndex,
                        const sl_program &to) {
  if (from.numOutputs() != to.numInputs())
    return setError(SL_ERROR_SHAPE_MISMATCH,
                    "program %zu '%s' has %u outputs but program %zu '%s' "
                    "takes %u inputs",
                    fromIndex, from.name, from.numOutputs(), fromIndex + 1,
                    to.name, to.numInputs());
  for (uint32_t k = 0; k < from.numOutputs(); ++k) {
    const TensorDesc &a = from.tensors[from.outputId(k)];
    const TensorDesc &b = to.tensors[to.inputId(k)];
    if (a.dtype != b.dtype)
      return setError(SL_ERROR_DTYPE_MISMATCH,
                      "program %zu output %u '%s' is %s but program %zu "
                      "input %u '%s' is %s",
                      fromIndex, k, from.nameAt(a.nameOffset),
                      dtypeName(a.dtype), fromIndex + 1, k,
                      to.nameAt(b.nameOffset), dtypeName(b.dtype));
    bool same = a.rank == b.rank;
    for (unsigned d = 0; same && d < a.rank; ++d)
      same = a.dims[d] == b.dims[d];
    if (!same) {
      char da[128], db[128];
      return setError(SL_ERROR_SHAPE_MISMATCH,
                      "program %zu output %u '%s' has shape %s but program "
                      "%zu input %u '%s' has shape %s",
                      fromIndex, k, from.nameAt(a.nameOffset),
                      formatDims(da, sizeof(da), a.rank, a.dims), fromIndex + 1,
                      k, to.nameAt(b.nameOffset),
                      formatDims(db, sizeof(db), b.rank, b.dims));
    }
  }
  return SL_OK;
}

sl_status checkInput(const sl_session &s, size_t index,
                     const sl_tensor_view &in) {
  const sl_program &p = s.first();
  const TensorDesc &t = p.tensors[p.inputId(index)];
  const char *name = p.nameAt(t.nameOffset);
  if (static_cast<DType>(in.dtype) != t.dtype)
    return setError(SL_ERROR_DTYPE_MISMATCH,
                    "input %zu '%s': got %s data, the program expects %s",
                    index, name, sl_dtype_name(in.dtype), dtypeName(t.dtype));
  bool same = in.rank == t.rank;
  for (unsigned d = 0; same && d < t.rank; ++d)
    same = in.dims[d] == t.dims[d];
  if (!same) {
    char got[160], want[160];
    return setError(SL_ERROR_SHAPE_MISMATCH,
                    "input %zu '%s': got shape %s, the program expects %s "
                    "(shapes are fixed when the model is compiled)",
                    index, name,
                    formatDims(got, sizeof(got),
                               in.rank <= SL_MAX_RANK ? in.rank : SL_MAX_RANK,
                               in.dims),
                    formatDims(want, sizeof(want), t.rank, t.dims));
  }
  if (in.bytes != t.bytes)
    return setError(SL_ERROR_INVALID_ARGUMENT,
                    "input %zu '%s': %zu bytes given, its shape needs %llu",
                    index, name, in.bytes, (unsigned long long)t.bytes);
  if (!in.data && in.bytes != 0)
    return setError(SL_ERROR_INVALID_ARGUMENT, "input %zu '%s': data is null",
                    index, name);
  if ((s.flags & SL_SESSION_CHECK_FINITE) && t.dtype == DType::F32) {
    const auto *values = static_cast<const float *>(in.data);
    size_t count = in.bytes / sizeof(float);
    for (size_t i = 0; i < count; ++i) {
      float v;
      std::memcpy(&v, values + i, sizeof(v)); // the caller's data may be
                                              // unaligned
      if (!std::isfinite(v))
        return setError(SL_ERROR_NON_FINITE,
                        "input %zu '%s': element %zu is %s (this session "
                        "rejects non-finite inputs)",
                        index, name, i,
                        std::isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf"));
    }
  }
  return SL_OK;
}

sl_status runProgram(sl_session &s, size_t index) {
  const sl_program &p = *s.programs[index];
  ExecContext ctx;
  ctx.arena = s.arenaOf(index);
  ctx.weights = p.weights;
  ctx.scratch = s.scratch;
  ctx.scratchBytes = s.scratchBytes;
  ctx.pool = s.pool;
  ctx.threads = s.threads;
  const bool profile = s.flags & SL_SESSION_PROFILE_OPS;
  const bool prefetch = p.prefetchOps && !(s.flags & SL_SESSION_NO_PREFETCH);
  using Clock = std::chrono::steady_clock;
  const uint32_t numOps = p.header->numOps;
  // The first op's lines at least miss in parallel rather than one after
  // another; each later op's lines arrive while the op before it runs.
  if (prefetch && numOps > 0)
    prefetchLines(p.prefetch[0]);
  for (uint32_t i = 0; i < numOps; ++i) {
    const OpInstance &op = p.instances[i];
    if (prefetch && i + 1 < numOps)
      prefetchLines(p.prefetch[i + 1]);
    Clock::time_point start;
    if (profile)
      start = Clock::now();
    if (sl_status st = op.kernel->eval(op, ctx)) {
      if (s.numPrograms > 1)
        prefixError("program %zu '%s'", index, p.name);
      return st;
    }
    if (profile)
      s.opNs[s.opBase[index] + i] =
          uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                       Clock::now() - start)
                       .count());
  }
  return SL_OK;
}

} // namespace

extern "C" {

sl_status sl_session_create(const sl_program *const *programs,
                            size_t num_programs,
                            const sl_session_options *options,
                            const sl_allocator *allocatorIn,
                            sl_session **out_session) {
  if (!out_session)
    return setError(SL_ERROR_INVALID_ARGUMENT, "out_session is null");
  if (!programs || num_programs == 0)
    return setError(SL_ERROR_INVALID_ARGUMENT,
                    "a session needs at least one program");
  for (size_t i = 0; i < num_programs; ++i)
    if (!programs[i])
      return setError(SL_ERROR_INVALID_ARGUMENT, "program %zu is null", i);
  for (size_t i = 0; i + 1 < num_programs; ++i)
    if (sl_status st = checkBoundary(*programs[i], i, *programs[i + 1]))
      return st;

  sl_allocator allocator = resolveAllocator(allocatorIn);
  void *mem =
      allocateOrFail(allocator, sizeof(sl_session), 64, "session object");
  if (!mem)
    return SL_ERROR_OUT_OF_MEMORY;
  sl_session *s = new (mem) sl_session();
  s->allocator = allocator;
  s->allocatedBytes = sizeof(sl_session);
  s->numPrograms = num_programs;
  s->flags = options ? options->flags : 0;
  unsigned threads = options && options->threads ? options->threads : 1;
  s->threads =
      threads < ThreadPool::kMaxThreads ? threads : ThreadPool::kMaxThreads;

  auto fail = [&](sl_status st) {
    destroySession(s);
    return st;
  };

  s->programs = static_cast<const sl_program **>(
      sessionAlloc(*s, sizeof(sl_program *) * num_programs, "program list"));
  if (!s->programs)
    return fail(SL_ERROR_OUT_OF_MEMORY);
  uint64_t arenaBytes[2] = {0, 0};
  size_t scratch = 0, totalOps = 0;
  for (size_t i = 0; i < num_programs; ++i) {
    const sl_program &p = *programs[i];
    s->programs[i] = &p;
    uint64_t &a = arenaBytes[i % 2];
    a = p.header->arenaSize > a ? p.header->arenaSize : a;
    for (uint32_t k = 0; k < p.header->numOps; ++k) {
      const OpInstance &op = p.instances[k];
      if (op.kernel->scratch) {
        size_t need = op.kernel->scratch(op, op.kernelId, s->threads);
        scratch = need > scratch ? need : scratch;
      }
    }
    totalOps += p.header->numOps;
  }
  for (int i = 0; i < 2; ++i) {
    if (arenaBytes[i] == 0)
      continue;
    s->arenas[i] = static_cast<uint8_t *>(
        sessionAlloc(*s, arenaBytes[i], "activation arena"));
    if (!s->arenas[i])
      return fail(SL_ERROR_OUT_OF_MEMORY);
  }
  if (scratch) {
    s->scratch = sessionAlloc(*s, scratch, "kernel scratch");
    if (!s->scratch)
      return fail(SL_ERROR_OUT_OF_MEMORY);
    s->scratchBytes = scratch;
  }
  s->programNs = static_cast<uint64_t *>(
      sessionAlloc(*s, sizeof(uint64_t) * num_programs, "timing table"));
  if (!s->programNs)
    return fail(SL_ERROR_OUT_OF_MEMORY);
  std::memset(s->programNs, 0, sizeof(uint64_t) * num_programs);
  if (s->flags & SL_SESSION_PROFILE_OPS) {
    s->opBase = static_cast<size_t *>(
        sessionAlloc(*s, sizeof(size_t) * num_programs, "op timing table"));
    s->opNs = static_cast<uint64_t *>(sessionAlloc(
        *s, sizeof(uint64_t) * (totalOps ? totalOps : 1), "op timing table"));
    if (!s->opBase || !s->opNs)
      return fail(SL_ERROR_OUT_OF_MEMORY);
    std::memset(s->opNs, 0, sizeof(uint64_t) * (totalOps ? totalOps : 1));
    size_t base = 0;
    for (size_t i = 0; i < num_programs; ++i) {
      s->opBase[i] = base;
      base += programs[i]->header->numOps;
    }
  }
  if (s->threads > 1) {
    void *poolMem = sessionAlloc(*s, sizeof(ThreadPool), "thread pool");
    if (!poolMem)
      return fail(SL_ERROR_OUT_OF_MEMORY);
#if defined(__cpp_exceptions)
    try {
      s->pool = new (poolMem) ThreadPool(s->threads);
    } catch (...) {
      sessionFree(*s, poolMem);
      return fail(setError(SL_ERROR_OUT_OF_MEMORY,
                           "cannot start %u worker threads", s->threads - 1));
    }
#else
    s->pool = new (poolMem) ThreadPool(s->threads);
#endif
  }
  *out_session = s;
  return SL_OK;
}

void sl_session_destroy(sl_session *session) { destroySession(session); }

size_t sl_session_input_count(const sl_session *session) {
  return session ? session->first().numInputs() : 0;
}

size_t sl_session_output_count(const sl_session *session) {
  return session ? session->last().numOutputs() : 0;
}

sl_status sl_session_input_info(const sl_session *session, size_t index,
                                sl_tensor_info *out_info) {
  if (!session)
    return setError(SL_ERROR_INVALID_ARGUMENT, "session is null");
  return sl_program_input_info(&session->first(), index, out_info);
}

sl_status sl_session_output_info(const sl_session *session, size_t index,
                                 sl_tensor_info *out_info) {
  if (!session)
    return setError(SL_ERROR_INVALID_ARGUMENT, "session is null");
  return sl_program_output_info(&session->last(), index, out_info);
}

sl_status sl_session_run(sl_session *session, const sl_tensor_view *inputs,
                         size_t num_inputs, sl_output_buffer *outputs,
                         size_t num_outputs) {
  if (!session)
    return setError(SL_ERROR_INVALID_ARGUMENT, "session is null");
  sl_session &s = *session;
  const sl_program &first = s.first();
  const sl_program &last = s.last();
  if (num_inputs != first.numInputs())
    return setError(SL_ERROR_INVALID_ARGUMENT,
                    "%zu inputs given, the program '%s' takes %u", num_inputs,
                    first.name, first.numInputs());
  if (num_inputs && !inputs)
    return setError(SL_ERROR_INVALID_ARGUMENT, "inputs is null");
  if (outputs && num_outputs != last.numOutputs())
    return setError(SL_ERROR_INVALID_ARGUMENT,
                    "%zu output buffers given, the program '%s' has %u "
                    "outputs",
                    num_outputs, last.name, last.numOutputs());
  for (size_t i = 0; i < num_inputs; ++i)
    if (sl_status st = checkInput(s, i, inputs[i]))
      return st;
  if (outputs) {
    for (size_t i = 0; i < num_outputs; ++i) {
      const TensorDesc &t = last.tensors[last.outputId(i)];
      if (outputs[i].capacity < t.bytes || (!outputs[i].data && t.bytes))
        return setError(SL_ERROR_INVALID_ARGUMENT,
                        "output %zu '%s' needs %llu bytes, its buffer has "
                        "%zu%s",
                        i, last.nameAt(t.nameOffset),
                        (unsigned long long)t.bytes, outputs[i].capacity,
                        outputs[i].data ? "" : " (null)");
    }
  }

  s.hasRun = false;
  for (size_t i = 0; i < num_inputs; ++i) {
    const TensorDesc &t = first.tensors[first.inputId(i)];
    if (t.bytes)
      std::memcpy(s.arenaOf(0) + t.offset, inputs[i].data, t.bytes);
  }
  using Clock = std::chrono::steady_clock;
  for (size_t p = 0; p < s.numPrograms; ++p) {
    Clock::time_point start = Clock::now();
    if (sl_status st = runProgram(s, p))
      return st;
    if (p + 1 < s.numPrograms) {
      const sl_program &from = *s.programs[p];
      const sl_program &to = *s.programs[p + 1];
      for (uint32_t k = 0; k < from.numOutputs(); ++k) {
        const TensorDesc &a = from.tensors[from.outputId(k)];
        const TensorDesc &b = to.tensors[to.inputId(k)];
        if (a.bytes)
          std::memcpy(s.arenaOf(p + 1) + b.offset, s.arenaOf(p) + a.offset,
                      a.bytes);
      }
    }
    s.programNs[p] =
        uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                     Clock::now() - start)
                     .count());
  }
  if (outputs) {
    for (size_t i = 0; i < num_outputs; ++i) {
      const TensorDesc &t = last.tensors[last.outputId(i)];
      if (t.bytes)
        std::memcpy(outputs[i].data, s.arenaOf(s.numPrograms - 1) + t.offset,
                    t.bytes);
    }
  }
  s.hasRun = true;
  return SL_OK;
}

sl_status sl_session_output(const sl_session *session, size_t index,
                            sl_tensor_view *out_view) {
  if (!session || !out_view)
    return setError(SL_ERROR_INVALID_ARGUMENT, "session or out_view is null");
  const sl_program &last = session->last();
  if (index >= last.numOutputs())
    return setError(SL_ERROR_INVALID_ARGUMENT,
                    "output index %zu out of range (%u outputs)", index,
                    last.numOutputs());
  if (!session->hasRun)
    return setError(SL_ERROR_INVALID_ARGUMENT,
                    "no successful run yet: outputs are not available");
  const TensorDesc &t = last.tensors[last.outputId(index)];
  out_view->dtype = static_cast<sl_dtype>(t.dtype);
  out_view->rank = t.rank;
  for (unsigned i = 0; i < SL_MAX_RANK; ++i)
    out_view->dims[i] = i < t.rank ? t.dims[i] : 0;
  out_view->data = session->arenaOf(session->numPrograms - 1) + t.offset;
  out_view->bytes = t.bytes;
  return SL_OK;
}

size_t sl_session_program_count(const sl_session *session) {
  return session ? session->numPrograms : 0;
}

sl_status sl_session_program_time_ns(const sl_session *session,
                                     size_t program_index, uint64_t *out_ns) {
  if (!session || !out_ns)
    return setError(SL_ERROR_INVALID_ARGUMENT, "session or out_ns is null");
  if (program_index >= session->numPrograms)
    return setError(SL_ERROR_INVALID_ARGUMENT,
                    "program index %zu out of range (%zu programs)",
                    program_index, session->numPrograms);
  *out_ns = session->programNs[program_index];
  return SL_OK;
}

sl_status sl_session_op_time_ns(const sl_session *session, size_t program_index,
                                size_t op_index, uint64_t *out_ns) {
  if (!session || !out_ns)
    return setError(SL_ERROR_INVALID_ARGUMENT, "session or out_ns is null");
  if (!(session->flags & SL_SESSION_PROFILE_OPS))
    return setError(SL_ERROR_INVALID_ARGUMENT,
                    "op timing needs a session created with "
                    "SL_SESSION_PROFILE_OPS");
  if (program_index >= session->numPrograms ||
      op_index >= session->programs[program_index]->header->numOps)
    return setError(SL_ERROR_INVALID_ARGUMENT,
                    "program %zu op %zu is out of range", program_index,
                    op_index);
  *out_ns = session->opNs[session->opBase[program_index] + op_index];
  return SL_OK;
}

uint64_t sl_session_allocated_bytes(const sl_session *session) {
  return session ? session->allocatedBytes : 0;
}

} // extern "C"
