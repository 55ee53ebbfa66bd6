//===- Runtime.hpp - Thin C++ wrapper over the runtime's C API --*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// RAII owners for sl_program, sl_session and sl_bundle, and a Status that
// carries the C API's message. Header-only and exception-free, so it adds
// nothing to the runtime library; host tools (sparseloom-run, tests) use it
// instead of pairing every sl_*_create with its destroy by hand.
//
//   Program program;
//   if (Status s = Program::load(bytes.data(), bytes.size(), program); !s)
//     report(s.message());
//   Session session;
//   Session::create(program, session, {/*threads=*/2, 0});
//   session.run(inputs, numInputs, nullptr, 0);
//   sl_tensor_view y;
//   session.output(0, y);
//
//   Bundle bundle;                      // bytes: 64-byte aligned, kept alive
//   Bundle::open(file.data(), file.size(), bundle);
//   Bundle::Pick pick;
//   bundle.pickVariant(task, /*deadlineMs=*/5.0, /*floor=*/0.9, pick);
//   bundle.createSession(task, pick.variant, session);
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_RUNTIME_RUNTIME_HPP
#define SPARSELOOM_RUNTIME_RUNTIME_HPP

#include "sparseloom/Runtime/sparseloom_runtime.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sparseloom {
namespace runtime {

/// A status code and, on failure, the message the runtime gave.
class Status {
public:
  Status() = default;
  /// Captures sl_last_error_message() when `code` is a failure; call it
  /// right after the failing sl_* call.
  static Status fromC(sl_status code) {
    Status s;
    s.code_ = code;
    if (code != SL_OK)
      s.message_ = sl_last_error_message();
    return s;
  }
  bool ok() const { return code_ == SL_OK; }
  explicit operator bool() const { return ok(); }
  sl_status code() const { return code_; }
  const std::string &message() const { return message_; }

private:
  sl_status code_ = SL_OK;
  std::string message_;
};

/// A loaded, verified program.
class Program {
public:
  Program() = default;

  /// Copies and verifies `bytes` with every built-in op kernel.
  static Status load(const void *bytes, size_t size, Program &out,
                     const sl_allocator *allocator = nullptr) {
    sl_program *p = nullptr;
    Status s = Status::fromC(sl_program_load(bytes, size, allocator, &p));
    if (s)
      out.program_.reset(p);
    return s;
  }
  static Status load(const void *bytes, size_t size,
                     const sl_load_options &options, Program &out,
                     const sl_allocator *allocator = nullptr) {
    sl_program *p = nullptr;
    Status s =
        Status::fromC(sl_program_load_ex(bytes, size, &options, allocator, &p));
    if (s)
      out.program_.reset(p);
    return s;
  }

  bool valid() const { return program_ != nullptr; }
  const sl_program *get() const { return program_.get(); }
  const char *name() const { return sl_program_name(get()); }
  size_t inputCount() const { return sl_program_input_count(get()); }
  size_t outputCount() const { return sl_program_output_count(get()); }
  sl_tensor_info inputInfo(size_t index) const {
    sl_tensor_info info{};
    sl_program_input_info(get(), index, &info);
    return info;
  }
  sl_tensor_info outputInfo(size_t index) const {
    sl_tensor_info info{};
    sl_program_output_info(get(), index, &info);
    return info;
  }
  size_t opCount() const { return sl_program_op_count(get()); }
  sl_op_info opInfo(size_t index) const {
    sl_op_info info{};
    sl_program_op_info(get(), index, &info);
    return info;
  }
  sl_program_memory memory() const {
    sl_program_memory m{};
    sl_program_memory_info(get(), &m);
    return m;
  }

private:
  struct Deleter {
    void operator()(sl_program *p) const { sl_program_destroy(p); }
  };
  std::unique_ptr<sl_program, Deleter> program_;
};

/// Memory and threads to run one program or a sequence of programs.
class Session {
public:
  Session() = default;

  static Status create(const Program &program, Session &out,
                       const sl_session_options &options = {1, 0},
                       const sl_allocator *allocator = nullptr) {
    const sl_program *p = program.get();
    return create(&p, 1, out, options, allocator);
  }
  /// A sequence: outputs of programs[i] feed inputs of programs[i+1].
  static Status create(const std::vector<const Program *> &programs,
                       Session &out, const sl_session_options &options = {1, 0},
                       const sl_allocator *allocator = nullptr) {
    std::vector<const sl_program *> raw;
    raw.reserve(programs.size());
    for (const Program *p : programs)
      raw.push_back(p->get());
    return create(raw.data(), raw.size(), out, options, allocator);
  }
  static Status create(const sl_program *const *programs, size_t count,
                       Session &out, const sl_session_options &options = {1, 0},
                       const sl_allocator *allocator = nullptr) {
    sl_session *s = nullptr;
    Status status = Status::fromC(
        sl_session_create(programs, count, &options, allocator, &s));
    if (status)
      out.session_.reset(s);
    return status;
  }

  bool valid() const { return session_ != nullptr; }
  sl_session *get() const { return session_.get(); }
  size_t inputCount() const { return sl_session_input_count(get()); }
  size_t outputCount() const { return sl_session_output_count(get()); }
  sl_tensor_info inputInfo(size_t index) const {
    sl_tensor_info info{};
    sl_session_input_info(get(), index, &info);
    return info;
  }
  sl_tensor_info outputInfo(size_t index) const {
    sl_tensor_info info{};
    sl_session_output_info(get(), index, &info);
    return info;
  }

  /// Runs once; outputs stay in the session (read them with output()) when
  /// `outputs` is null.
  Status run(const sl_tensor_view *inputs, size_t numInputs,
             sl_output_buffer *outputs = nullptr, size_t numOutputs = 0) {
    return Status::fromC(
        sl_session_run(get(), inputs, numInputs, outputs, numOutputs));
  }
  Status run(const std::vector<sl_tensor_view> &inputs) {
    return run(inputs.data(), inputs.size());
  }
  Status output(size_t index, sl_tensor_view &view) const {
    return Status::fromC(sl_session_output(get(), index, &view));
  }

  size_t programCount() const { return sl_session_program_count(get()); }
  /// Nanoseconds program `index` took in the last run.
  uint64_t programTimeNs(size_t index) const {
    uint64_t ns = 0;
    sl_session_program_time_ns(get(), index, &ns);
    return ns;
  }
  /// Needs SL_SESSION_PROFILE_OPS.
  uint64_t opTimeNs(size_t program, size_t op) const {
    uint64_t ns = 0;
    sl_session_op_time_ns(get(), program, op, &ns);
    return ns;
  }
  uint64_t allocatedBytes() const { return sl_session_allocated_bytes(get()); }

  /// Takes ownership of `session` (e.g. from sl_bundle_session_create).
  void reset(sl_session *session = nullptr) { session_.reset(session); }

private:
  struct Deleter {
    void operator()(sl_session *s) const { sl_session_destroy(s); }
  };
  std::unique_ptr<sl_session, Deleter> session_;
};

/// A verified bundle, read in place: the bytes given to open() must stay
/// alive and unchanged as long as the bundle (and its sessions) live.
class Bundle {
public:
  Bundle() = default;

  static Status open(const void *bytes, size_t size, Bundle &out,
                     const sl_allocator *allocator = nullptr) {
    sl_bundle *b = nullptr;
    Status s = Status::fromC(sl_bundle_open(bytes, size, allocator, &b));
    if (s)
      out.bundle_.reset(b);
    return s;
  }

  bool valid() const { return bundle_ != nullptr; }
  const sl_bundle *get() const { return bundle_.get(); }
  sl_bundle_info info() const {
    sl_bundle_info i{};
    sl_bundle_get_info(get(), &i);
    return i;
  }
  size_t taskCount() const { return info().task_count; }
  sl_task_info taskInfo(size_t task) const {
    sl_task_info i{};
    sl_bundle_task_info(get(), task, &i);
    return i;
  }
  size_t variantCount(size_t task) const {
    return taskInfo(task).variant_count;
  }
  sl_variant_info variantInfo(size_t task, size_t variant) const {
    sl_variant_info i{};
    sl_bundle_variant_info(get(), task, variant, &i);
    return i;
  }
  /// The bundle program of each segment of a variant, in order.
  std::vector<size_t> variantPrograms(size_t task, size_t variant) const {
    std::vector<size_t> programs(variantInfo(task, variant).segment_count);
    for (size_t s = 0; s < programs.size(); ++s)
      sl_bundle_variant_segment(get(), task, variant, s, &programs[s], nullptr);
    return programs;
  }
  /// Milliseconds on `processor`; +inf where the variant cannot run.
  double latencyMs(size_t task, size_t variant, size_t processor) const {
    double ms = 0;
    sl_bundle_variant_latency_ms(get(), task, variant, processor, &ms);
    return ms;
  }
  size_t processorCount() const { return info().processor_count; }
  sl_processor_info processorInfo(size_t index) const {
    sl_processor_info i{};
    sl_bundle_processor_info(get(), index, &i);
    return i;
  }
  size_t programCount() const { return info().program_count; }
  sl_bundle_program_info programInfo(size_t index) const {
    sl_bundle_program_info i{};
    sl_bundle_program_info_at(get(), index, &i);
    return i;
  }

  /// sl_bundle_pick_variant's answer.
  struct Pick {
    size_t variant = 0;
    size_t processor = 0;
    uint32_t missed = SL_SLO_MET; // SL_SLO_* bits
  };
  Status pickVariant(size_t task, double latencyDeadlineMs,
                     double accuracyFloor, Pick &out) const {
    Pick p;
    Status s = Status::fromC(
        sl_bundle_pick_variant(get(), task, latencyDeadlineMs, accuracyFloor,
                               &p.variant, &p.processor, &p.missed));
    if (s)
      out = p;
    return s;
  }

  /// A session running the variant's programs in sequence; destroy it
  /// before the bundle.
  Status createSession(size_t task, size_t variant, Session &out,
                       const sl_session_options &options = {1, 0},
                       const sl_allocator *allocator = nullptr) const {
    sl_session *s = nullptr;
    Status status = Status::fromC(sl_bundle_session_create(
        get(), task, variant, &options, allocator, &s));
    if (status)
      out.reset(s);
    return status;
  }

private:
  struct Deleter {
    void operator()(sl_bundle *b) const { sl_bundle_destroy(b); }
  };
  std::unique_ptr<sl_bundle, Deleter> bundle_;
};

/// A view of `bytes` as one input with the given info's dtype and dims.
inline sl_tensor_view makeTensorView(const sl_tensor_info &info,
                                     const void *data, size_t bytes) {
  sl_tensor_view v{};
  v.dtype = info.dtype;
  v.rank = info.rank;
  for (uint32_t i = 0; i < info.rank && i < SL_MAX_RANK; ++i)
    v.dims[i] = info.dims[i];
  v.data = data;
  v.bytes = bytes;
  return v;
}

} // namespace runtime
} // namespace sparseloom

#endif // SPARSELOOM_RUNTIME_RUNTIME_HPP
