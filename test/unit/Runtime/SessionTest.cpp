//===- SessionTest.cpp - The executor: inputs, sequences, memory, timing --===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// What a caller can get wrong (input count, dtype, shape, size, NaN/Inf with
// the finiteness check on, output buffers), sequences of programs (the
// stitched-variant case: bit-identical to the whole program, boundary
// mismatches rejected at creation), timing, and the caller's allocator
// failing at every single allocation the runtime makes (clean error, nothing
// leaked).
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestUtil.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <set>

namespace sparseloom {
namespace test {
namespace {

using namespace format;

ConvParams conv3x3() { return squareConv(3, 1, 1, Activation::Relu); }

/// Segment 1: x -> conv -> relu'd features [1,4,6,6], plus a pooled copy.
/// Segment 2: features -> GAP -> flatten -> FC -> logits [1,3].
/// `whole` builds both into one program.
std::vector<uint8_t> segment(int which, KernelId conv = KernelId::Reference,
                             KernelId fc = KernelId::Reference) {
  ProgramBuilder b(which == 0 ? "whole" : "seg" + std::to_string(which));
  uint32_t feat = 0;
  if (which == 0 || which == 1) {
    uint32_t x = b.input("x", DType::F32, {1, 2, 6, 6});
    uint32_t w = b.weight("w", {4, 2, 3, 3}, randomFloats(72, 11));
    uint32_t bias = b.weight("b", {4}, randomFloats(4, 12));
    feat = b.activation("feat", DType::F32, {1, 4, 6, 6});
    b.op(Opcode::Conv, {x, w, bias}, {feat}, conv3x3(), conv, "conv");
    if (which == 1)
      b.output(feat);
  } else {
    feat = b.input("feat", DType::F32, {1, 4, 6, 6});
  }
  if (which == 0 || which == 2) {
    uint32_t gap = b.activation("gap", DType::F32, {1, 4, 1, 1});
    b.op(Opcode::GlobalAveragePool, {feat}, {gap});
    uint32_t flat = b.activation("flat", DType::F32, {1, 4});
    b.op(Opcode::Identity, {gap}, {flat});
    std::vector<float> wm = randomFloats(12, 13);
    uint32_t fw = fc == KernelId::SpmmCsrAvx2
                      ? b.csrWeight("fw", {3, 4}, wm, 3, 4)
                      : b.weight("fw", {3, 4}, wm);
    uint32_t logits = b.activation("logits", DType::F32, {1, 3});
    GemmParams gp{};
    gp.transB = 1;
    gp.alpha = gp.beta = 1;
    b.op(Opcode::Gemm, {flat, fw}, {logits}, gp, fc, "fc");
    b.output(logits);
  }
  return b.build();
}

std::vector<float> inputImage() { return randomFloats(72, 99, -2, 2); }

TEST(Session, RejectsBadInputsWithClearMessages) {
  std::vector<uint8_t> blob = segment(0);
  runtime::Program p;
  ASSERT_TRUE(runtime::Program::load(blob.data(), blob.size(), p));
  runtime::Session s;
  ASSERT_TRUE(runtime::Session::create(p, s));
  std::vector<float> x = inputImage();
  sl_tensor_view v = runtime::makeTensorView(p.inputInfo(0), x.data(),
                                             x.size() * sizeof(float));
  ASSERT_TRUE(s.run(&v, 1));

  runtime::Status st = s.run(nullptr, 0);
  EXPECT_EQ(st.code(), SL_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(st.message().find("0 inputs given, the program 'whole' takes 1"),
            std::string::npos)
      << st.message();

  sl_tensor_view bad = v;
  bad.dtype = SL_DTYPE_INT64;
  st = s.run(&bad, 1);
  EXPECT_EQ(st.code(), SL_ERROR_DTYPE_MISMATCH);
  EXPECT_NE(st.message().find("input 0 'x': got int64 data, the program "
                              "expects float32"),
            std::string::npos)
      << st.message();

  bad = v;
  bad.dims[2] = 7;
  st = s.run(&bad, 1);
  EXPECT_EQ(st.code(), SL_ERROR_SHAPE_MISMATCH);
  EXPECT_NE(st.message().find("got shape [1,2,7,6], the program expects "
                              "[1,2,6,6]"),
            std::string::npos)
      << st.message();

  bad = v;
  bad.rank = 3;
  EXPECT_EQ(s.run(&bad, 1).code(), SL_ERROR_SHAPE_MISMATCH);

  bad = v;
  bad.bytes -= 4;
  st = s.run(&bad, 1);
  EXPECT_EQ(st.code(), SL_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(st.message().find("284 bytes given, its shape needs 288"),
            std::string::npos)
      << st.message();

  bad = v;
  bad.data = nullptr;
  EXPECT_EQ(s.run(&bad, 1).code(), SL_ERROR_INVALID_ARGUMENT);

  // Rejected inputs leave the last successful run's outputs in place; a
  // fresh session has none to read.
  sl_tensor_view out;
  EXPECT_TRUE(s.output(0, out));
  runtime::Session fresh;
  ASSERT_TRUE(runtime::Session::create(p, fresh));
  runtime::Status none = fresh.output(0, out);
  EXPECT_EQ(none.code(), SL_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(none.message().find("no successful run yet"), std::string::npos);
}

TEST(Session, NonFiniteInputsAreRejectedOnlyWhenAsked) {
  std::vector<uint8_t> blob = segment(0);
  std::vector<float> x = inputImage();
  x[17] = std::numeric_limits<float>::quiet_NaN();
  RunResult r = runProgram(blob, {Bytes::of(x)}, 1, SL_SESSION_CHECK_FINITE);
  EXPECT_EQ(r.status, SL_ERROR_NON_FINITE);
  EXPECT_NE(r.message.find("input 0 'x': element 17 is NaN"), std::string::npos)
      << r.message;
  x[17] = -std::numeric_limits<float>::infinity();
  r = runProgram(blob, {Bytes::of(x)}, 1, SL_SESSION_CHECK_FINITE);
  EXPECT_EQ(r.status, SL_ERROR_NON_FINITE);
  EXPECT_NE(r.message.find("element 17 is -Inf"), std::string::npos);
  // Without the flag, IEEE semantics: the NaN reaches the output.
  x[17] = std::numeric_limits<float>::quiet_NaN();
  r = runProgram(blob, {Bytes::of(x)});
  ASSERT_TRUE(r.ok()) << r.message;
  bool anyNan = false;
  for (float v : r.out<float>())
    anyNan |= std::isnan(v);
  EXPECT_TRUE(anyNan);
}

TEST(Session, OutputBuffersAreFilledAndChecked) {
  std::vector<uint8_t> blob = segment(0);
  runtime::Program p;
  ASSERT_TRUE(runtime::Program::load(blob.data(), blob.size(), p));
  runtime::Session s;
  ASSERT_TRUE(runtime::Session::create(p, s));
  std::vector<float> x = inputImage();
  sl_tensor_view v = runtime::makeTensorView(p.inputInfo(0), x.data(),
                                             x.size() * sizeof(float));
  std::vector<float> y(3, -1.f);
  sl_output_buffer out{y.data(), y.size() * sizeof(float)};
  ASSERT_TRUE(s.run(&v, 1, &out, 1));
  sl_tensor_view inPlace;
  ASSERT_TRUE(s.output(0, inPlace));
  EXPECT_EQ(std::memcmp(inPlace.data, y.data(), 12), 0);
  EXPECT_EQ(inPlace.rank, 2u);
  EXPECT_EQ(inPlace.dims[1], 3);
  out.capacity = 8;
  runtime::Status st = s.run(&v, 1, &out, 1);
  EXPECT_EQ(st.code(), SL_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(st.message().find("output 0 'logits' needs 12 bytes"),
            std::string::npos)
      << st.message();
}

TEST(Session, SequenceIsBitIdenticalToTheWholeProgram) {
  for (auto [conv, fc] :
       {std::pair{KernelId::Reference, KernelId::Reference},
        std::pair{KernelId::DenseGemmAvx2, KernelId::SpmmCsrAvx2}}) {
    std::vector<uint8_t> whole = segment(0, conv, fc);
    std::vector<uint8_t> s1 = segment(1, conv, fc), s2 = segment(2, conv, fc);
    runtime::Program pw, p1, p2;
    ASSERT_TRUE(runtime::Program::load(whole.data(), whole.size(), pw));
    ASSERT_TRUE(runtime::Program::load(s1.data(), s1.size(), p1));
    ASSERT_TRUE(runtime::Program::load(s2.data(), s2.size(), p2));
    runtime::Session sw, seq;
    ASSERT_TRUE(runtime::Session::create(pw, sw, {2, SL_SESSION_PROFILE_OPS}));
    ASSERT_TRUE(
        runtime::Session::create({&p1, &p2}, seq, {2, SL_SESSION_PROFILE_OPS}));
    EXPECT_EQ(seq.programCount(), 2u);
    EXPECT_EQ(seq.inputInfo(0).dims[1], 2);
    EXPECT_EQ(seq.outputInfo(0).dims[1], 3);
    for (int run = 0; run < 3; ++run) {
      std::vector<float> x = randomFloats(72, 1000 + run);
      sl_tensor_view v = runtime::makeTensorView(pw.inputInfo(0), x.data(),
                                                 x.size() * sizeof(float));
      ASSERT_TRUE(sw.run(&v, 1));
      runtime::Status st = seq.run(&v, 1);
      ASSERT_TRUE(st) << st.message();
      sl_tensor_view a, b;
      ASSERT_TRUE(sw.output(0, a));
      ASSERT_TRUE(seq.output(0, b));
      ASSERT_EQ(a.bytes, b.bytes);
      EXPECT_EQ(std::memcmp(a.data, b.data, a.bytes), 0);
    }
    // Timing of the last run.
    EXPECT_GT(seq.programTimeNs(0), 0u);
    EXPECT_GT(seq.programTimeNs(1), 0u);
    EXPECT_GT(seq.opTimeNs(0, 0), 0u);
    uint64_t ns;
    EXPECT_EQ(sl_session_op_time_ns(seq.get(), 1, 9, &ns),
              SL_ERROR_INVALID_ARGUMENT);
  }
}

TEST(Session, OpTimingNeedsTheFlag) {
  std::vector<uint8_t> blob = segment(0);
  runtime::Program p;
  ASSERT_TRUE(runtime::Program::load(blob.data(), blob.size(), p));
  runtime::Session s;
  ASSERT_TRUE(runtime::Session::create(p, s));
  uint64_t ns;
  EXPECT_EQ(sl_session_op_time_ns(s.get(), 0, 0, &ns),
            SL_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(sl_last_error_message()).find("SL_SESSION_PROFILE_OPS"),
            std::string::npos);
}

TEST(Session, SequenceBoundaryMismatchesAreRejectedAtCreation) {
  std::vector<uint8_t> s1 = segment(1);
  // A second segment that expects [1,4,5,5].
  ProgramBuilder b("wrong");
  uint32_t f = b.input("feat", DType::F32, {1, 4, 5, 5});
  uint32_t g = b.activation("gap", DType::F32, {1, 4, 1, 1});
  b.op(Opcode::GlobalAveragePool, {f}, {g});
  b.output(g);
  std::vector<uint8_t> s2 = b.build();
  runtime::Program p1, p2;
  ASSERT_TRUE(runtime::Program::load(s1.data(), s1.size(), p1));
  ASSERT_TRUE(runtime::Program::load(s2.data(), s2.size(), p2));
  runtime::Session s;
  runtime::Status st = runtime::Session::create({&p1, &p2}, s);
  EXPECT_EQ(st.code(), SL_ERROR_SHAPE_MISMATCH);
  EXPECT_NE(st.message().find("program 0 output 0 'feat' has shape "
                              "[1,4,6,6] but program 1 input 0 'feat' has "
                              "shape [1,4,5,5]"),
            std::string::npos)
      << st.message();
  // Count mismatch.
  std::vector<uint8_t> whole = segment(0);
  runtime::Program pw;
  ASSERT_TRUE(runtime::Program::load(whole.data(), whole.size(), pw));
  st = runtime::Session::create({&pw, &p2}, s);
  EXPECT_EQ(st.code(), SL_ERROR_SHAPE_MISMATCH);
}

TEST(Session, RunTimeErrorsNameTheProgramOfASequence) {
  ProgramBuilder a("first");
  uint32_t x = a.input("ids", DType::I64, {2});
  uint32_t y = a.activation("ids2", DType::I64, {2});
  a.op(Opcode::Identity, {x}, {y});
  a.output(y);
  ProgramBuilder b("second");
  uint32_t ids = b.input("ids2", DType::I64, {2});
  uint32_t table = b.weight("emb", {3, 2}, {0, 1, 2, 3, 4, 5});
  uint32_t out = b.activation("out", DType::F32, {2, 2});
  b.op(Opcode::Gather, {table, ids}, {out}, AxisParams{0, 0},
       KernelId::Reference, "embed");
  b.output(out);
  std::vector<uint8_t> ba = a.build(), bb = b.build();
  runtime::Program pa, pb;
  ASSERT_TRUE(runtime::Program::load(ba.data(), ba.size(), pa));
  ASSERT_TRUE(runtime::Program::load(bb.data(), bb.size(), pb));
  runtime::Session s;
  ASSERT_TRUE(runtime::Session::create({&pa, &pb}, s));
  std::vector<int64_t> v{1, 3};
  sl_tensor_view view = runtime::makeTensorView(pa.inputInfo(0), v.data(), 16);
  runtime::Status st = s.run(&view, 1);
  EXPECT_EQ(st.code(), SL_ERROR_RUNTIME);
  EXPECT_NE(st.message().find("program 1 'second': op 'embed' (Gather): index "
                              "3"),
            std::string::npos)
      << st.message();
}

/// An allocator that fails the `failAt`-th call and tracks what is live.
struct CountingAllocator {
  int calls = 0;
  int failAt = -1;
  std::set<void *> live;
  static void *alloc(size_t size, size_t alignment, void *user) {
    auto *self = static_cast<CountingAllocator *>(user);
    if (self->calls++ == self->failAt)
      return nullptr;
    EXPECT_TRUE(alignment && (alignment & (alignment - 1)) == 0 &&
                alignment <= 64);
    size_t rounded = (size + alignment - 1) / alignment * alignment;
    void *p = std::aligned_alloc(alignment, rounded ? rounded : alignment);
    self->live.insert(p);
    return p;
  }
  static void free(void *p, void *user) {
    auto *self = static_cast<CountingAllocator *>(user);
    EXPECT_EQ(self->live.erase(p), 1u) << "freed memory it did not allocate";
    std::free(p);
  }
  sl_allocator get() { return {alloc, free, this}; }
};

/// Load + session (2 threads, profiling) + run with `a`; the status of the
/// first failure.
sl_status loadAndRun(const std::vector<uint8_t> &blob, CountingAllocator &a) {
  sl_allocator alloc = a.get();
  runtime::Program p;
  runtime::Status st =
      runtime::Program::load(blob.data(), blob.size(), p, &alloc);
  if (!st)
    return st.code();
  runtime::Session s;
  st = runtime::Session::create(p, s, {2, SL_SESSION_PROFILE_OPS}, &alloc);
  if (!st)
    return st.code();
  std::vector<float> x = inputImage();
  sl_tensor_view v = runtime::makeTensorView(p.inputInfo(0), x.data(),
                                             x.size() * sizeof(float));
  return s.run(&v, 1).code();
}

TEST(Session, AllocatorFailureAtEveryCallIsCleanAndLeakFree) {
  // Dense weights on the dense fast kernel make the loader pack (allocate).
  std::vector<uint8_t> blob = segment(0, KernelId::DenseGemmAvx2);
  CountingAllocator probe;
  ASSERT_EQ(loadAndRun(blob, probe), SL_OK);
  ASSERT_TRUE(probe.live.empty());
  const int total = probe.calls;
  EXPECT_GE(total, 5);
  for (int i = 0; i < total; ++i) {
    CountingAllocator a;
    a.failAt = i;
    sl_status st = loadAndRun(blob, a);
    EXPECT_EQ(st, SL_ERROR_OUT_OF_MEMORY) << "failing call " << i;
    EXPECT_NE(std::string(sl_last_error_message()).find("out of memory"),
              std::string::npos);
    EXPECT_TRUE(a.live.empty()) << "leak after failing call " << i;
  }
}

TEST(Session, RunningAllocatesNothing) {
  std::vector<uint8_t> blob =
      segment(0, KernelId::DenseGemmAvx2, KernelId::SpmmCsrAvx2);
  CountingAllocator a;
  sl_allocator alloc = a.get();
  runtime::Program p;
  ASSERT_TRUE(runtime::Program::load(blob.data(), blob.size(), p, &alloc));
  runtime::Session s;
  ASSERT_TRUE(runtime::Session::create(p, s, {2, 0}, &alloc));
  EXPECT_GT(s.allocatedBytes(), 0u);
  const int before = a.calls;
  std::vector<float> x = inputImage();
  sl_tensor_view v = runtime::makeTensorView(p.inputInfo(0), x.data(),
                                             x.size() * sizeof(float));
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(s.run(&v, 1));
  EXPECT_EQ(a.calls, before);
}

TEST(Session, ThreadCountsGiveTheSameResult) {
  std::vector<uint8_t> blob =
      segment(0, KernelId::DenseGemmAvx2, KernelId::SpmmCsrAvx2);
  std::vector<float> x = inputImage();
  RunResult one = runProgram(blob, {Bytes::of(x)}, 1);
  RunResult three = runProgram(blob, {Bytes::of(x)}, 3);
  ASSERT_TRUE(one.ok() && three.ok());
  EXPECT_EQ(one.outputs[0].data, three.outputs[0].data);
}

TEST(Session, NullArgumentsAreErrorsNotCrashes) {
  sl_session *s = nullptr;
  EXPECT_EQ(sl_session_create(nullptr, 1, nullptr, nullptr, &s),
            SL_ERROR_INVALID_ARGUMENT);
  const sl_program *none[1] = {nullptr};
  EXPECT_EQ(sl_session_create(none, 1, nullptr, nullptr, &s),
            SL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sl_session_run(nullptr, nullptr, 0, nullptr, 0),
            SL_ERROR_INVALID_ARGUMENT);
  sl_program *p = nullptr;
  EXPECT_EQ(sl_program_load(nullptr, 10, nullptr, &p),
            SL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sl_program_load("x", 1, nullptr, nullptr),
            SL_ERROR_INVALID_ARGUMENT);
  sl_program_destroy(nullptr);
  sl_session_destroy(nullptr);
  EXPECT_STREQ(sl_status_name(SL_ERROR_NON_FINITE), "SL_ERROR_NON_FINITE");
  EXPECT_EQ(sl_dtype_size(SL_DTYPE_INT64), 8u);
  EXPECT_STREQ(sl_dtype_name(SL_DTYPE_BOOL), "bool");
}

} // namespace
} // namespace test
} // namespace sparseloom
