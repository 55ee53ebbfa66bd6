//===- RunDriverTests.cpp - Bad input end to end: compiler + runtime ------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// What the runtime does with input it must refuse, tested through the real
// pipeline (ONNX text -> compileForRuntime -> program blob -> loader ->
// session): inputs of the wrong element type or shape, a missing input,
// NaN/Inf with the finite check on and off, programs patched after lowering
// (a tensor outside the arena or the weights, a bad checksum, truncation),
// an allocator that fails at every possible call, and an op the runtime has
// no kernel for (a compile-time error naming the node). The runtime's own
// unit tests check these on hand-built blobs; these check that the
// compiler's real output and the host driver report them.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/ProgramFormat.h"
#include "sparseloom/RunDriver/RunDriver.h"
#include "sparseloom/Support/Diagnostics.h"
#include "sparseloom/Tool/ModelLoader.h"

#include "gtest/gtest.h"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>

using namespace sparseloom;
using namespace sparseloom::run;

// Counts global operator new calls while gCountNew is set: a run must not
// allocate (the runtime's rule: all memory is taken at load and session
// creation, from the caller's allocator).
static std::atomic<bool> gCountNew{false};
static std::atomic<long> gNewCalls{0};

void *operator new(size_t size) {
  if (gCountNew)
    ++gNewCalls;
  if (void *p = std::malloc(size ? size : 1))
    return p;
  throw std::bad_alloc();
}
// The nothrow form too (std::stable_sort's temporary buffer uses it): left to
// the sanitizer's own, its blocks would reach the deletes below, which free
// them with std::free, and ASan reports the mismatch.
void *operator new(size_t size, const std::nothrow_t &) noexcept {
  if (gCountNew)
    ++gNewCalls;
  return std::malloc(size ? size : 1);
}
// GCC cannot see that this operator new pairs with these deletes.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void *p) noexcept { std::free(p); }
void operator delete(void *p, size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace {

// Y = Relu(Conv(X + Z)) where the Conv is the identity plus a bias of +0.5 on
// channel 0 and -0.5 on channel 1: Y = max(X + Z + b[c], 0).
constexpr const char *kModel = R"(
<ir_version: 8, opset_import: ["" : 13]>
addconv (float[1,2,4,4] X, float[1,2,4,4] Z) => (float[1,2,4,4] Y)
<float[2,2,3,3] W = {0,0,0,0,1,0,0,0,0, 0,0,0,0,0,0,0,0,0,
                     0,0,0,0,0,0,0,0,0, 0,0,0,0,1,0,0,0,0},
 float[2] B = {0.5, -0.5}>
{
  S = Add(X, Z)
  C = Conv <pads = [1,1,1,1], kernel_shape = [3,3]> (S, W, B)
  Y = Relu(C)
}
)";

std::string message(llvm::Error err) {
  std::string text;
  llvm::handleAllErrors(std::move(err), [&](const llvm::ErrorInfoBase &e) {
    text += e.message();
  });
  return text;
}

CompiledModel compileText(const char *text,
                          const CompileSettings &settings = CompileSettings()) {
  auto module =
      loadModelFromText(text, InputFormat::OnnxText, "model.onnxtext");
  EXPECT_TRUE(bool(module)) << message(module.takeError());
  auto compiled = compileModule(**module, "model.onnxtext", settings);
  EXPECT_TRUE(bool(compiled)) << message(compiled.takeError());
  return std::move(*compiled);
}

NpyArray ramp(std::vector<int64_t> shape, float scale) {
  size_t n = 1;
  for (int64_t d : shape)
    n *= size_t(d);
  std::vector<float> values(n);
  for (size_t i = 0; i < n; ++i)
    values[i] = scale * (float(i % 7) - 3.f);
  return NpyArray::fromFloats(std::move(shape), values);
}

class RunDriverTest : public ::testing::Test {
protected:
  void SetUp() override {
    program = compileText(kModel);
    auto loaded = ProgramSequence::load({&program}, SequenceOptions());
    ASSERT_TRUE(bool(loaded)) << message(loaded.takeError());
    sequence = std::move(*loaded);
  }
  CompiledModel program;
  std::unique_ptr<ProgramSequence> sequence;
  NpyArray x = ramp({1, 2, 4, 4}, 1.f);
  NpyArray z = ramp({1, 2, 4, 4}, 0.25f);
};

TEST_F(RunDriverTest, RunsTheCompiledModel) {
  ASSERT_FALSE(bool(sequence->run({&x, &z}))) << "valid inputs must run";
  NpyArray y = sequence->output(0);
  ASSERT_EQ(y.shape, (std::vector<int64_t>{1, 2, 4, 4}));
  for (size_t i = 0; i < 32; ++i) {
    float bias = i < 16 ? 0.5f : -0.5f;
    EXPECT_FLOAT_EQ(y.floats()[i],
                    std::max(x.floats()[i] + z.floats()[i] + bias, 0.f))
        << "element " << i;
  }
}

TEST_F(RunDriverTest, WrongElementTypeIsRejected) {
  NpyArray wrong;
  wrong.dtype = SL_DTYPE_INT64;
  wrong.shape = {1, 2, 4, 4};
  wrong.data.assign(32 * 8, 0);
  std::string text = message(sequence->run({&x, &wrong}, {"x.npy", "z.npy"}));
  EXPECT_NE(text.find("SL_ERROR_DTYPE_MISMATCH"), std::string::npos) << text;
  EXPECT_NE(text.find("z.npy"), std::string::npos) << text;
  EXPECT_NE(text.find("'Z'"), std::string::npos) << text;
}

TEST_F(RunDriverTest, WrongShapeIsRejected) {
  NpyArray wrong = ramp({1, 2, 4, 5}, 1.f);
  std::string text = message(sequence->run({&wrong, &z}, {"x.npy", "z.npy"}));
  EXPECT_NE(text.find("SL_ERROR_SHAPE_MISMATCH"), std::string::npos) << text;
  EXPECT_NE(text.find("x.npy"), std::string::npos) << text;
  NpyArray rank3 = ramp({2, 4, 4}, 1.f);
  text = message(sequence->run({&x, &rank3}));
  EXPECT_NE(text.find("SL_ERROR_SHAPE_MISMATCH"), std::string::npos) << text;
}

TEST_F(RunDriverTest, MissingInputIsRejected) {
  std::string text = message(sequence->run({&x}));
  EXPECT_NE(text.find("2 input(s) but 1"), std::string::npos) << text;
  // The C API itself refuses a short input list.
  sl_tensor_view one = x.view();
  EXPECT_NE(sl_session_run(sequence->session().get(), &one, 1, nullptr, 0),
            SL_OK);
}

TEST_F(RunDriverTest, NonFiniteInputsFollowTheFiniteCheck) {
  SequenceOptions checked;
  checked.checkFinite = true;
  auto strict = ProgramSequence::load({&program}, checked);
  ASSERT_TRUE(bool(strict)) << message(strict.takeError());
  CompileSettings portable;
  portable.kernels = KernelPolicy::Reference;
  CompiledModel referenceProgram = compileText(kModel, portable);
  auto reference =
      ProgramSequence::load({&referenceProgram}, SequenceOptions());
  ASSERT_TRUE(bool(reference)) << message(reference.takeError());
  for (float bad : {std::numeric_limits<float>::quiet_NaN(),
                    std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    NpyArray poisoned = z;
    reinterpret_cast<float *>(poisoned.data.data())[5] = bad;
    std::string text =
        message((*strict)->run({&x, &poisoned}, {"x.npy", "z.npy"}));
    EXPECT_NE(text.find("SL_ERROR_NON_FINITE"), std::string::npos) << text;
    EXPECT_NE(text.find("z.npy"), std::string::npos) << text;
    // Without the check the run succeeds, and on the reference kernels the
    // value flows through with IEEE semantics. (The fast kernels' fused
    // Relu may turn NaN into 0, and a sparse kernel never multiplies by the
    // zeros it skips, so only the reference result is pinned down here.)
    ASSERT_FALSE(bool(sequence->run({&x, &poisoned})));
    ASSERT_FALSE(bool((*reference)->run({&x, &poisoned})));
    float y = (*reference)->output(0).floats()[5];
    if (std::isnan(bad))
      EXPECT_TRUE(std::isnan(y));
    else
      EXPECT_EQ(y, bad > 0 ? bad : 0.f) << "Relu of " << bad;
  }
}

TEST_F(RunDriverTest, RunningAllocatesNothing) {
  SequenceOptions options;
  options.threads = 2;
  options.checkFinite = true;
  auto loaded = ProgramSequence::load({&program}, options);
  ASSERT_TRUE(bool(loaded)) << message(loaded.takeError());
  std::vector<const NpyArray *> inputs = {&x, &z};
  ASSERT_FALSE(bool((*loaded)->run(inputs))); // first run outside the count
  gNewCalls = 0;
  gCountNew = true;
  bool failed = false;
  for (int i = 0; i < 5; ++i)
    failed |= bool((*loaded)->run(inputs));
  gCountNew = false;
  EXPECT_FALSE(failed);
  EXPECT_EQ(gNewCalls.load(), 0) << "operator new called during runs";
}

// --- Corrupt programs --------------------------------------------------------

uint32_t crc32(const uint8_t *data, size_t size) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) {
    crc ^= data[i];
    for (int b = 0; b < 8; ++b)
      crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

format::ProgramHeader header(const std::vector<uint8_t> &blob) {
  format::ProgramHeader h;
  std::memcpy(&h, blob.data(), sizeof h);
  return h;
}

/// Rewrites the body checksum so the loader gets past it to the tables.
void resealChecksum(std::vector<uint8_t> &blob) {
  format::ProgramHeader h = header(blob);
  h.bodyCrc32 = crc32(blob.data() + h.headerSize, h.totalSize - h.headerSize);
  std::memcpy(blob.data(), &h, sizeof h);
}

/// Applies `edit` to the first tensor of `kind`, reseals, and loads.
runtime::Status loadPatched(std::vector<uint8_t> blob, format::TensorKind kind,
                            void (*edit)(format::TensorDesc &,
                                         const format::ProgramHeader &)) {
  format::ProgramHeader h = header(blob);
  bool patched = false;
  for (uint32_t i = 0; i < h.numTensors && !patched; ++i) {
    uint8_t *at =
        blob.data() + h.tensorsOffset + i * sizeof(format::TensorDesc);
    format::TensorDesc t;
    std::memcpy(&t, at, sizeof t);
    if (t.kind != kind)
      continue;
    edit(t, h);
    std::memcpy(at, &t, sizeof t);
    patched = true;
  }
  EXPECT_TRUE(patched) << "no tensor of the requested kind";
  resealChecksum(blob);
  runtime::Program program;
  return runtime::Program::load(blob.data(), blob.size(), program);
}

TEST_F(RunDriverTest, CompiledProgramLoadsAsIs) {
  runtime::Program loaded;
  runtime::Status s =
      runtime::Program::load(program.blob.data(), program.blob.size(), loaded);
  EXPECT_TRUE(s.ok()) << s.message();
  // Resealing an unchanged blob must not change it.
  std::vector<uint8_t> copy = program.blob;
  resealChecksum(copy);
  EXPECT_EQ(copy, program.blob) << "the test's CRC-32 disagrees with the "
                                   "compiler's";
}

TEST_F(RunDriverTest, ActivationOutsideTheArenaIsRejected) {
  runtime::Status s =
      loadPatched(program.blob, format::TensorKind::Activation,
                  [](format::TensorDesc &t, const format::ProgramHeader &h) {
                    t.offset = h.arenaSize; // starts at the arena's end
                  });
  EXPECT_EQ(s.code(), SL_ERROR_INVALID_PROGRAM) << s.message();
  EXPECT_NE(s.message().find("arena"), std::string::npos) << s.message();
  s = loadPatched(program.blob, format::TensorKind::Activation,
                  [](format::TensorDesc &t, const format::ProgramHeader &) {
                    t.offset = ~uint64_t(0) - 63; // offset + bytes overflows
                  });
  EXPECT_EQ(s.code(), SL_ERROR_INVALID_PROGRAM) << s.message();
}

TEST_F(RunDriverTest, WeightOutsideTheWeightsIsRejected) {
  runtime::Status s =
      loadPatched(program.blob, format::TensorKind::Weight,
                  [](format::TensorDesc &t, const format::ProgramHeader &h) {
                    t.offset = h.weightsSize;
                  });
  EXPECT_EQ(s.code(), SL_ERROR_INVALID_PROGRAM) << s.message();
}

TEST_F(RunDriverTest, BytesThatDisagreeWithTheDimsAreRejected) {
  // A tensor whose bytes do not match its dims.
  runtime::Status s =
      loadPatched(program.blob, format::TensorKind::Activation,
                  [](format::TensorDesc &t, const format::ProgramHeader &) {
                    t.bytes += 4;
                  });
  EXPECT_EQ(s.code(), SL_ERROR_INVALID_PROGRAM) << s.message();
}

TEST_F(RunDriverTest, ChecksumAndTruncationAreChecked) {
  std::vector<uint8_t> blob = program.blob;
  format::ProgramHeader h = header(blob);
  blob[h.weightsOffset] ^= 0x40; // a weight bit, checksum not resealed
  runtime::Program loaded;
  runtime::Status s = runtime::Program::load(blob.data(), blob.size(), loaded);
  EXPECT_EQ(s.code(), SL_ERROR_INVALID_PROGRAM) << s.message();
  for (size_t size : {size_t(0), size_t(16), sizeof(format::ProgramHeader),
                      program.blob.size() / 2, program.blob.size() - 1}) {
    runtime::Program truncated;
    s = runtime::Program::load(program.blob.data(), size, truncated);
    EXPECT_NE(s.code(), SL_OK) << "truncated to " << size;
  }
}

// --- Allocation failure ------------------------------------------------------

/// Fails the `failAt`-th allocation (0-based; never when negative) and
/// counts what is live, so a leak on any failure path shows.
struct FailingAllocator {
  int failAt = -1;
  int calls = 0;
  int live = 0;
  static void *alloc(size_t size, size_t alignment, void *user) {
    auto *self = static_cast<FailingAllocator *>(user);
    if (self->calls++ == self->failAt)
      return nullptr;
    void *p = std::aligned_alloc(
        alignment < sizeof(void *) ? sizeof(void *) : alignment,
        (size + alignment - 1) / alignment * alignment);
    if (p)
      ++self->live;
    return p;
  }
  static void free(void *ptr, void *user) {
    --static_cast<FailingAllocator *>(user)->live;
    std::free(ptr);
  }
  sl_allocator c() { return {&alloc, &free, this}; }
};

TEST_F(RunDriverTest, EveryAllocationFailureIsACleanError) {
  // First count the allocations a successful load + session + run makes.
  FailingAllocator counting;
  sl_allocator a = counting.c();
  SequenceOptions options;
  options.allocator = &a;
  options.threads = 2;
  {
    auto ok = ProgramSequence::load({&program}, options);
    ASSERT_TRUE(bool(ok)) << message(ok.takeError());
    ASSERT_FALSE(bool((*ok)->run({&x, &z})));
  }
  ASSERT_EQ(counting.live, 0) << "the runtime leaked with a working allocator";
  int total = counting.calls;
  ASSERT_GT(total, 0) << "the runtime must allocate from the caller";

  for (int failAt = 0; failAt < total; ++failAt) {
    FailingAllocator failing;
    failing.failAt = failAt;
    sl_allocator f = failing.c();
    options.allocator = &f;
    {
      auto loaded = ProgramSequence::load({&program}, options);
      if (loaded) {
        // Running allocates nothing, so a later failure is impossible.
        EXPECT_FALSE(bool((*loaded)->run({&x, &z})))
            << "run failed after allocation " << failAt << " failed";
      } else {
        std::string text = message(loaded.takeError());
        EXPECT_NE(text.find("SL_ERROR_OUT_OF_MEMORY"), std::string::npos)
            << "allocation " << failAt << ": " << text;
      }
    }
    EXPECT_EQ(failing.live, 0)
        << "leak when allocation " << failAt << " of " << total << " failed";
  }
}

TEST_F(RunDriverTest, LoadingUsesOnlyTheCallersAllocator) {
  // With one thread (no worker threads to start), loading a program and
  // creating a session take every byte from the caller's allocator.
  FailingAllocator counting;
  sl_allocator a = counting.c();
  sl_program *loaded = nullptr;
  sl_session *session = nullptr;
  sl_session_options options{1, SL_SESSION_CHECK_FINITE};
  gNewCalls = 0;
  gCountNew = true;
  sl_status load =
      sl_program_load(program.blob.data(), program.blob.size(), &a, &loaded);
  sl_status create = load == SL_OK
                         ? sl_session_create(&loaded, 1, &options, &a, &session)
                         : load;
  gCountNew = false;
  EXPECT_EQ(load, SL_OK);
  EXPECT_EQ(create, SL_OK);
  EXPECT_EQ(gNewCalls.load(), 0) << "operator new called while loading";
  EXPECT_GT(counting.calls, 0);
  sl_session_destroy(session);
  sl_program_destroy(loaded);
  EXPECT_EQ(counting.live, 0);
}

// --- Compile-time errors -----------------------------------------------------

TEST(RunDriverCompile, UnsupportedOpNamesTheNode) {
  auto module = loadModelFromText(R"(
<ir_version: 8, opset_import: ["" : 13]>
rounding (float[1,4] X) => (float[1,4] Y)
{
  R = Relu(X)
  Y = Round(R)
}
)",
                                  InputFormat::OnnxText, "round.onnxtext");
  ASSERT_TRUE(bool(module)) << message(module.takeError());
  auto compiled = compileModule(**module, "round.onnxtext", CompileSettings());
  ASSERT_FALSE(bool(compiled));
  std::string text = message(compiled.takeError());
  EXPECT_NE(text.find("round.onnxtext"), std::string::npos) << text;
  EXPECT_NE(text.find("Round"), std::string::npos) << text;
  EXPECT_NE(text.find("not supported"), std::string::npos) << text;
}

TEST(RunDriverCompile, SymbolicBatchMustBeBound) {
  constexpr const char *text = R"(
<ir_version: 8, opset_import: ["" : 13]>
batched (float[N,4] X) => (float[N,4] Y)
{
  Y = Relu(X)
}
)";
  auto module = loadModelFromText(text, InputFormat::OnnxText, "b.onnxtext");
  ASSERT_TRUE(bool(module));
  auto unbound = compileModule(**module, "b.onnxtext", CompileSettings());
  ASSERT_FALSE(bool(unbound));
  std::string error = message(unbound.takeError());
  EXPECT_NE(error.find("'X'"), std::string::npos) << error;
  CompileSettings settings;
  settings.inputShapes["X"] = {3, 4};
  auto bound = compileModule(**module, "b.onnxtext", settings);
  ASSERT_TRUE(bool(bound)) << message(bound.takeError());
  EXPECT_EQ(bound->inputTypes[0].sizes(), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(bound->outputTypes[0].sizes(), (std::vector<int64_t>{3, 4}));
}

TEST(RunDriverCompile, SequenceChecksBoundaryCounts) {
  auto first = loadModelFromText(R"(
<ir_version: 8, opset_import: ["" : 13]>
first (float[2,4] X) => (float[2,4] A, float[2,4] B)
{
  A = Relu(X)
  B = Neg(X)
}
)",
                                 InputFormat::OnnxText, "first.onnxtext");
  auto second = loadModelFromText(R"(
<ir_version: 8, opset_import: ["" : 13]>
second (float[2,4] A) => (float[2,4] Y)
{
  Y = Relu(A)
}
)",
                                  InputFormat::OnnxText, "second.onnxtext");
  ASSERT_TRUE(first && second);
  auto chained =
      compileSequence({first->get(), second->get()},
                      {"first.onnxtext", "second.onnxtext"}, CompileSettings());
  ASSERT_FALSE(bool(chained));
  std::string error = message(chained.takeError());
  EXPECT_NE(error.find("second.onnxtext"), std::string::npos) << error;
  EXPECT_NE(error.find("chained by position"), std::string::npos) << error;
}

} // namespace
