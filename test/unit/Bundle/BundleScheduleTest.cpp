//===- BundleScheduleTest.cpp - sl_bundle_pick_variant's rule -------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// One case per clause of the rule (sparseloom_runtime.h): meeting both SLO
// parts at the highest accuracy, the tie-breaks, keeping the floor and
// missing the deadline by the least, the most accurate when no variant
// reaches the floor, variants that run nowhere, the processor choice, and
// bad arguments. Each case writes a real bundle (the digits stitched task
// with two processors) whose accuracies and latencies it sets by hand.
//
//===----------------------------------------------------------------------===//

#include "BundleTestUtils.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace sparseloom;
using namespace sparseloom::bundletest;

namespace {

/// Accuracy and per-processor latency (cpu, gpu) of the four variants.
struct Figures {
  double accuracy[4];
  double latency[4][2];
};

/// A bundle with the digits task carrying `figures`, opened.
class PickFixture {
public:
  explicit PickFixture(const Figures &figures) {
    BundleContents contents;
    contents.processors.push_back(cpuProcessor());
    BundleContents::Processor gpu = cpuProcessor();
    gpu.id = "gpu";
    gpu.kind = format::ProcessorKind::Gpu;
    contents.processors.push_back(gpu);
    contents.tasks.push_back(stitchedTask(digits(), contents));
    for (size_t v = 0; v < 4; ++v) {
      BundleContents::Variant &variant = contents.tasks[0].variants[v];
      variant.estimatedAccuracy = figures.accuracy[v];
      variant.latencyMs = {figures.latency[v][0], figures.latency[v][1]};
    }
    auto bytes = buildBundle(contents);
    EXPECT_TRUE(bool(bytes)) << llvm::toString(bytes.takeError());
    if (!bytes)
      return;
    aligned_ = std::make_unique<AlignedBytes>(*bytes);
    runtime::Status s =
        runtime::Bundle::open(aligned_->data(), aligned_->size(), bundle_);
    EXPECT_TRUE(s.ok()) << s.message();
  }

  /// "v<variant>@<processor> missed <bits>", or the error message.
  std::string pick(double deadline, double floor) const {
    runtime::Bundle::Pick p;
    runtime::Status s = bundle_.pickVariant(0, deadline, floor, p);
    if (!s)
      return "error: " + s.message();
    return "v" + std::to_string(p.variant) + "@" + std::to_string(p.processor) +
           " missed " + std::to_string(p.missed);
  }

  const runtime::Bundle &bundle() const { return bundle_; }

private:
  std::unique_ptr<AlignedBytes> aligned_;
  runtime::Bundle bundle_;
};

const double kInf = INFINITY;

// Among variants meeting both parts, the most accurate wins, on its fastest
// processor.
TEST(BundleScheduleTest, MeetsBothPicksMostAccurate) {
  PickFixture f({{0.95, 0.90, 0.85, 0.80}, {{9, 8}, {4, 3}, {2, 3}, {1, 1}}});
  EXPECT_EQ(f.pick(10, 0.8), "v0@1 missed 0");
  EXPECT_EQ(f.pick(5, 0.8), "v1@1 missed 0");
  EXPECT_EQ(f.pick(2, 0.8), "v2@0 missed 0");
  EXPECT_EQ(f.pick(kInf, 0), "v0@1 missed 0");
}

// Equal accuracy: the faster; equal again: the lower index. Equal latency on
// two processors: the lower processor index.
TEST(BundleScheduleTest, TiesGoToLowerLatencyThenLowerIndex) {
  PickFixture f({{0.9, 0.9, 0.95, 0.7}, {{2, 5}, {3, 2}, {4, 4}, {1, 1}}});
  EXPECT_EQ(f.pick(10, 0.8), "v2@0 missed 0"); // processors tie at 4 ms
  EXPECT_EQ(f.pick(3, 0.8), "v0@0 missed 0");  // v0 and v1 tie at 2 ms
  PickFixture g({{0.9, 0.9, 0.5, 0.5}, {{3, 3}, {2, 5}, {1, 1}, {1, 1}}});
  EXPECT_EQ(g.pick(10, 0.8), "v1@0 missed 0"); // faster beats lower index
}

// No variant meets both: keep the floor and take the fastest of those that
// reach it; the deadline is reported missed.
TEST(BundleScheduleTest, KeepsTheFloorAndMissesTheDeadlineByTheLeast) {
  PickFixture f({{0.95, 0.90, 0.85, 0.60}, {{9, 8}, {6, 7}, {6, 5.5}, {1, 1}}});
  EXPECT_EQ(f.pick(5, 0.8), "v2@1 missed 1");
  // Equal latency among floor-meeting variants: the more accurate.
  PickFixture g({{0.85, 0.90, 0.95, 0.60}, {{6, 9}, {6, 9}, {7, 9}, {1, 1}}});
  EXPECT_EQ(g.pick(5, 0.8), "v1@0 missed 1");
}

// No variant reaches the floor: the most accurate, with the accuracy (and,
// when late too, the latency) reported missed.
TEST(BundleScheduleTest, NoVariantReachesTheFloor) {
  PickFixture f({{0.70, 0.75, 0.60, 0.50}, {{1, 2}, {3, 4}, {1, 1}, {1, 1}}});
  EXPECT_EQ(f.pick(5, 0.8), "v1@0 missed 2");
  EXPECT_EQ(f.pick(2, 0.8), "v1@0 missed 3");
}

// A variant that runs on no processor is never picked; when none runs the
// call fails naming the task.
TEST(BundleScheduleTest, VariantsThatRunNowhereAreSkipped) {
  PickFixture f(
      {{0.99, 0.90, 0.85, 0.80}, {{kInf, kInf}, {kInf, 4}, {2, kInf}, {1, 1}}});
  EXPECT_EQ(f.pick(10, 0.8), "v1@1 missed 0");
  EXPECT_EQ(f.pick(3, 0.8), "v2@0 missed 0");
  PickFixture none({{0.99, 0.90, 0.85, 0.80},
                    {{kInf, kInf}, {kInf, kInf}, {kInf, kInf}, {kInf, kInf}}});
  EXPECT_EQ(none.pick(10, 0.8),
            "error: no variant of task 0 'digits' runs on any processor");
}

// Deadlines must be > 0 (inf allowed), floors in [0, 1], the task in range.
TEST(BundleScheduleTest, BadArgumentsAreErrors) {
  PickFixture f({{0.9, 0.8, 0.7, 0.6}, {{1, 1}, {1, 1}, {1, 1}, {1, 1}}});
  EXPECT_EQ(f.pick(0, 0.5).rfind("error: latency deadline 0 ms", 0), 0u);
  EXPECT_EQ(f.pick(std::nan(""), 0.5).rfind("error: latency deadline", 0), 0u);
  EXPECT_EQ(f.pick(5, 1.5).rfind("error: accuracy floor 1.5", 0), 0u);
  EXPECT_EQ(f.pick(5, -0.1).rfind("error: accuracy floor", 0), 0u);
  size_t variant = 0, processor = 0;
  EXPECT_EQ(sl_bundle_pick_variant(f.bundle().get(), 1, 5, 0.5, &variant,
                                   &processor, nullptr),
            SL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sl_bundle_pick_variant(f.bundle().get(), 0, 5, 0.5, nullptr,
                                   &processor, nullptr),
            SL_ERROR_INVALID_ARGUMENT);
  // out_slo_missed is optional.
  EXPECT_EQ(sl_bundle_pick_variant(f.bundle().get(), 0, 5, 0.5, &variant,
                                   &processor, nullptr),
            SL_OK);
  EXPECT_EQ(variant, 0u);
}

// The picked variant runs through a session on this host.
TEST(BundleScheduleTest, PickedVariantRuns) {
  PickFixture f({{0.95, 0.90, 0.85, 0.80}, {{9, 8}, {4, 3}, {2, 3}, {1, 1}}});
  runtime::Bundle::Pick pick;
  ASSERT_TRUE(f.bundle().pickVariant(0, 5, 0.8, pick));
  auto outputs = runVariant(f.bundle(), 0, pick.variant, digits().sample);
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].shape, digits().output.dims);
}

} // namespace
