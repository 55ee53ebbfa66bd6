//===- BundleApiTest.cpp - The runtime's bundle queries -------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// What sl_bundle_* report about an opened bundle equals what the writer was
// given (tasks, inputs/outputs, SLO defaults, source variants, variants with
// their segments, accuracies and latencies, processors), out-of-range
// indices are errors, programs report their pooled weights, a bundled
// program does not load on its own, and an allocator failing at any point
// of opening gives SL_ERROR_OUT_OF_MEMORY with nothing leaked.
//
//===----------------------------------------------------------------------===//

#include "BundleTestUtils.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstdlib>
#include <cstring>

using namespace sparseloom;
using namespace sparseloom::bundletest;

namespace {

struct Opened {
  BundleContents contents;
  std::vector<uint8_t> bytes;
  std::unique_ptr<AlignedBytes> aligned;
  runtime::Bundle bundle;
};

/// The digits and kws stitched tasks, a second processor that cannot run
/// kws variants, opened.
const Opened &opened() {
  static Opened *o = [] {
    auto *o = new Opened;
    o->contents.processors.push_back(cpuProcessor());
    BundleContents::Processor npu;
    npu.id = "npu";
    npu.kind = format::ProcessorKind::Npu;
    npu.denseGflops = 500;
    npu.memoryGBps = 30;
    npu.invocationOverheadMs = 0.2;
    o->contents.processors.push_back(npu);
    o->contents.tasks.push_back(stitchedTask(digits(), o->contents));
    o->contents.tasks.push_back(stitchedTask(kws(), o->contents));
    for (BundleContents::Variant &v : o->contents.tasks[1].variants)
      v.latencyMs[1] = INFINITY;
    auto bytes = buildBundle(o->contents);
    EXPECT_TRUE(bool(bytes)) << llvm::toString(bytes.takeError());
    if (bytes)
      o->bytes = std::move(*bytes);
    o->aligned = std::make_unique<AlignedBytes>(o->bytes);
    runtime::Status s = runtime::Bundle::open(o->aligned->data(),
                                              o->aligned->size(), o->bundle);
    EXPECT_TRUE(s.ok()) << s.message();
    return o;
  }();
  return *o;
}

// Tasks, their tensors and SLO defaults read back as written.
TEST(BundleApiTest, TasksReadBack) {
  const Opened &o = opened();
  ASSERT_TRUE(o.bundle.valid());
  const runtime::Bundle &b = o.bundle;
  sl_bundle_info info = b.info();
  EXPECT_EQ(info.version_major, 1u);
  EXPECT_EQ(info.version_minor, 0u);
  EXPECT_EQ(info.total_bytes, o.bytes.size());
  EXPECT_EQ(info.section_count, 13u);
  EXPECT_EQ(info.task_count, 2u);
  EXPECT_EQ(info.variant_count, 8u);
  EXPECT_GT(info.runtime_owned_bytes, 0u);
  for (size_t t = 0; t < 2; ++t) {
    const BundleContents::Task &want = o.contents.tasks[t];
    sl_task_info task = b.taskInfo(t);
    EXPECT_EQ(std::string(task.name), want.name);
    EXPECT_EQ(task.input_count, 1u);
    EXPECT_EQ(task.output_count, 1u);
    EXPECT_EQ(task.variant_count, want.variants.size());
    EXPECT_EQ(task.class_count, want.numClasses);
    EXPECT_EQ(task.latency_deadline_ms, want.latencyDeadlineMs);
    EXPECT_EQ(task.accuracy_floor, want.accuracyFloor);
    EXPECT_EQ(task.request_rate_hz, want.requestRateHz);
    ASSERT_EQ(task.source_variant_count, want.sourceVariants.size());
    for (size_t s = 0; s < task.source_variant_count; ++s) {
      const char *name = nullptr;
      ASSERT_EQ(sl_bundle_task_source_variant(b.get(), t, s, &name), SL_OK);
      EXPECT_EQ(std::string(name), want.sourceVariants[s]);
    }
    sl_tensor_info in{}, out{};
    ASSERT_EQ(sl_bundle_task_input(b.get(), t, 0, &in), SL_OK);
    ASSERT_EQ(sl_bundle_task_output(b.get(), t, 0, &out), SL_OK);
    EXPECT_EQ(std::string(in.name), want.inputs[0].name);
    EXPECT_EQ(std::vector<int64_t>(in.dims, in.dims + in.rank),
              want.inputs[0].dims);
    size_t inElements = 1, outElements = 1;
    for (int64_t d : want.inputs[0].dims)
      inElements *= size_t(d);
    for (int64_t d : want.outputs[0].dims)
      outElements *= size_t(d);
    EXPECT_EQ(in.bytes, inElements * 4);
    EXPECT_EQ(out.bytes, outElements * 4);
    EXPECT_EQ(out.dtype, SL_DTYPE_FLOAT32);
  }
}

// Variants, segments, latencies and processors read back as written.
TEST(BundleApiTest, VariantsAndProcessorsReadBack) {
  const Opened &o = opened();
  ASSERT_TRUE(o.bundle.valid());
  const runtime::Bundle &b = o.bundle;
  ASSERT_EQ(b.processorCount(), 2u);
  sl_processor_info npu = b.processorInfo(1);
  EXPECT_EQ(std::string(npu.id), "npu");
  EXPECT_EQ(npu.kind, SL_PROCESSOR_NPU);
  EXPECT_EQ(std::string(npu.kind_name), "npu");
  EXPECT_EQ(npu.threads, 1u);
  EXPECT_EQ(npu.dense_gflops, 500);
  EXPECT_EQ(npu.invocation_overhead_ms, 0.2);
  EXPECT_EQ(b.processorInfo(0).memory_capacity_bytes, uint64_t(1) << 30);

  for (size_t t = 0; t < 2; ++t)
    for (size_t v = 0; v < b.variantCount(t); ++v) {
      const BundleContents::Variant &want = o.contents.tasks[t].variants[v];
      sl_variant_info info = b.variantInfo(t, v);
      EXPECT_EQ(info.id, want.id);
      EXPECT_EQ(std::string(info.name), want.name);
      EXPECT_EQ(info.estimated_accuracy, want.estimatedAccuracy);
      if (std::isnan(want.measuredAccuracy))
        EXPECT_TRUE(std::isnan(info.measured_accuracy));
      else
        EXPECT_EQ(info.measured_accuracy, want.measuredAccuracy);
      EXPECT_EQ(info.memory_bytes, want.memoryBytes);
      ASSERT_EQ(info.segment_count, want.programs.size());
      for (size_t s = 0; s < info.segment_count; ++s) {
        size_t program = 0, source = 0;
        ASSERT_EQ(
            sl_bundle_variant_segment(b.get(), t, v, s, &program, &source),
            SL_OK);
        // No dedup happens here: stored programs keep the input order.
        EXPECT_EQ(program, want.programs[s]);
        EXPECT_EQ(source, want.sourceVariants[s]);
        EXPECT_EQ(std::string(sl_program_name(b.programInfo(program).program)),
                  o.contents.programs[program].name);
      }
      for (size_t p = 0; p < 2; ++p)
        EXPECT_EQ(b.latencyMs(t, v, p), want.latencyMs[p]);
    }
  EXPECT_TRUE(std::isinf(b.latencyMs(1, 0, 1)));
}

// Every index is checked.
TEST(BundleApiTest, IndicesOutOfRangeAreErrors) {
  const Opened &o = opened();
  ASSERT_TRUE(o.bundle.valid());
  const sl_bundle *b = o.bundle.get();
  sl_task_info task;
  sl_variant_info variant;
  sl_processor_info processor;
  sl_tensor_info tensor;
  sl_bundle_section_info section;
  sl_bundle_tensor_info pooled;
  sl_bundle_program_info program;
  size_t index = 0;
  double ms = 0;
  EXPECT_EQ(sl_bundle_task_info(b, 2, &task), SL_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(sl_last_error_message()).find("task index 2"),
            std::string::npos);
  EXPECT_EQ(sl_bundle_variant_info(b, 0, 4, &variant),
            SL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sl_bundle_variant_segment(b, 0, 0, 2, &index, nullptr),
            SL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sl_bundle_variant_latency_ms(b, 0, 0, 2, &ms),
            SL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sl_bundle_processor_info(b, 2, &processor),
            SL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sl_bundle_task_input(b, 0, 1, &tensor), SL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sl_bundle_task_output(b, 1, 1, &tensor), SL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sl_bundle_section_info_at(b, 13, &section),
            SL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sl_bundle_tensor_info_at(b, o.bundle.info().tensor_count, &pooled),
            SL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sl_bundle_program_info_at(b, 8, &program),
            SL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sl_bundle_program_tensor(b, 0, 1000, &index),
            SL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sl_bundle_task_info(nullptr, 0, &task), SL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sl_bundle_task_info(b, 0, nullptr), SL_ERROR_INVALID_ARGUMENT);
  sl_session *session = nullptr;
  EXPECT_EQ(sl_bundle_session_create(b, 0, 9, nullptr, nullptr, &session),
            SL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(session, nullptr);
  sl_bundle_destroy(nullptr); // allowed, like the other destroys
}

// Programs report the pooled weights they use; a bundled program does not
// load on its own, while its standalone original still does.
TEST(BundleApiTest, ProgramsUseThePool) {
  const Opened &o = opened();
  ASSERT_TRUE(o.bundle.valid());
  const runtime::Bundle &b = o.bundle;
  uint64_t pooled = 0;
  for (size_t t = 0; t < b.info().tensor_count; ++t) {
    sl_bundle_tensor_info info{};
    ASSERT_EQ(sl_bundle_tensor_info_at(b.get(), t, &info), SL_OK);
    EXPECT_EQ(info.offset % 64, 0u);
    pooled += info.bytes;
  }
  uint64_t used = 0;
  for (size_t p = 0; p < b.programCount(); ++p) {
    sl_bundle_program_info info = b.programInfo(p);
    sl_program_memory memory{};
    ASSERT_EQ(sl_program_memory_info(info.program, &memory), SL_OK);
    EXPECT_EQ(memory.weight_bytes, info.weight_bytes);
    EXPECT_EQ(memory.blob_bytes, info.bytes);
    // The standalone blob held the same weights (plus alignment padding).
    runtime::Program standalone;
    const std::vector<uint8_t> &blob = o.contents.programs[p].blob;
    ASSERT_TRUE(runtime::Program::load(blob.data(), blob.size(), standalone));
    EXPECT_GT(info.weight_bytes, 0u);
    EXPECT_LE(info.weight_bytes, standalone.memory().weight_bytes);
    EXPECT_GT(info.weight_bytes + 64 * info.tensor_count,
              standalone.memory().weight_bytes);
    // The bundled blob is the standalone one without its weights section.
    EXPECT_LE(info.bytes + standalone.memory().weight_bytes, blob.size());
    EXPECT_GT(info.bytes + standalone.memory().weight_bytes + 64, blob.size());
    used += info.weight_bytes;

    sl_program *alone = nullptr;
    const uint8_t *at = nullptr;
    for (size_t i = 0; i < b.info().section_count; ++i) {
      sl_bundle_section_info s{};
      sl_bundle_section_info_at(b.get(), i, &s);
      if (std::string(s.kind_name) == "program-data")
        at = o.aligned->data() + s.offset + info.offset;
    }
    ASSERT_NE(at, nullptr);
    EXPECT_EQ(sl_program_load(at, info.bytes, nullptr, &alone),
              SL_ERROR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(sl_last_error_message()).find("sl_bundle_open"),
              std::string::npos)
        << sl_last_error_message();
  }
  // Every pooled tensor is some program's (shared ones count per user).
  EXPECT_LE(pooled, used);
}

/// An allocator that fails from the `failAt`-th allocation on and counts
/// what is still outstanding.
struct FailingAllocator {
  int calls = 0;
  int failAt = -1;
  int outstanding = 0;
  static void *alloc(size_t size, size_t alignment, void *user) {
    auto *self = static_cast<FailingAllocator *>(user);
    if (self->failAt >= 0 && self->calls++ >= self->failAt)
      return nullptr;
    ++self->outstanding;
    size_t rounded = (size + alignment - 1) / alignment * alignment;
    return std::aligned_alloc(alignment, rounded ? rounded : alignment);
  }
  static void free(void *ptr, void *user) {
    --static_cast<FailingAllocator *>(user)->outstanding;
    std::free(ptr);
  }
};

// Every allocation of sl_bundle_open may fail: the result is
// SL_ERROR_OUT_OF_MEMORY and nothing is left allocated.
TEST(BundleApiTest, AllocationFailuresLeakNothing) {
  const Opened &o = opened();
  ASSERT_TRUE(o.bundle.valid());
  FailingAllocator counter;
  sl_allocator allocator = {FailingAllocator::alloc, FailingAllocator::free,
                            &counter};
  sl_bundle *bundle = nullptr;
  ASSERT_EQ(
      sl_bundle_open(o.aligned->data(), o.aligned->size(), &allocator, &bundle),
      SL_OK);
  int total = counter.outstanding;
  sl_bundle_destroy(bundle);
  EXPECT_EQ(counter.outstanding, 0);
  ASSERT_GT(total, 2);
  for (int failAt = 0; failAt < total; ++failAt) {
    FailingAllocator failing;
    failing.failAt = failAt;
    sl_allocator a = {FailingAllocator::alloc, FailingAllocator::free,
                      &failing};
    sl_bundle *b = nullptr;
    EXPECT_EQ(sl_bundle_open(o.aligned->data(), o.aligned->size(), &a, &b),
              SL_ERROR_OUT_OF_MEMORY)
        << "failing allocation " << failAt;
    EXPECT_EQ(b, nullptr);
    EXPECT_EQ(failing.outstanding, 0) << "failing allocation " << failAt;
  }
}

} // namespace
