//===- PlatformTest.cpp - Platform files and the modeled latency ----------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Space/Platform.h"
#include "sparseloom/Pass/PassManager.h"
#include "sparseloom/Pass/PassRegistry.h"
#include "sparseloom/Space/LatencyModel.h"
#include "sparseloom/Tool/ModelLoader.h"

#include "llvm/Support/Error.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace sparseloom;

namespace {

const char *kTwoProcessors = R"({
  "name": "test",
  "allow_split_placement": true,
  "processors": [
    {"id": "cpu", "kind": "cpu", "threads": 2, "dense_gflops": 100,
     "memory_bandwidth_gbs": 10, "memory_mib": 1024,
     "sparse_efficiency": {"unstructured": 0.5},
     "invocation_overhead_us": 10},
    {"id": "npu", "kind": "npu", "dense_gflops": 1000,
     "memory_bandwidth_gbs": 20, "memory_mib": 64,
     "unsupported_ops": ["Erf"], "invocation_overhead_us": 100}
  ],
  "links": [{"from": "cpu", "to": "npu", "bandwidth_gbs": 4,
             "latency_us": 50}]
})";

std::string errorOf(const std::string &json) {
  auto platform = parsePlatformJson(json, "p.json");
  if (platform)
    return "";
  return llvm::toString(platform.takeError());
}

} // namespace

TEST(Platform, ParsesProcessorsAndLinks) {
  auto platform = parsePlatformJson(kTwoProcessors, "p.json");
  ASSERT_TRUE(bool(platform)) << llvm::toString(platform.takeError());
  ASSERT_EQ(platform->processors.size(), 2u);
  EXPECT_EQ(platform->processors[1].kind, ProcessorKind::Npu);
  EXPECT_EQ(platform->processors[0].threads, 2u);
  EXPECT_TRUE(platform->allowSplitPlacement);
  // 50 us + 4 MB at 4 GB/s = 1 ms; links are bidirectional by default.
  EXPECT_NEAR(platform->transferMs(0, 1, 4e6), 1.05, 1e-9);
  EXPECT_NEAR(platform->transferMs(1, 0, 4e6), 1.05, 1e-9);
  EXPECT_EQ(platform->transferMs(0, 0, 4e6), 0);
}

TEST(Platform, ErrorsNameTheFileAndField) {
  std::string empty = errorOf("{\"name\": \"x\", \"processors\": []}");
  EXPECT_NE(empty.find("p.json"), std::string::npos) << empty;
  EXPECT_NE(empty.find("processors: expected a non-empty array"),
            std::string::npos)
      << empty;
  std::string typo = kTwoProcessors;
  typo.replace(typo.find("dense_gflops\": 1000"), 12, "dense_glops");
  std::string err = errorOf(typo);
  EXPECT_NE(err.find("processors[1].dense_gflops: required field is missing"),
            std::string::npos)
      << err;
  std::string wrongType = kTwoProcessors;
  wrongType.replace(wrongType.find("\"threads\": 2"), 12, "\"threads\": \"2\"");
  err = errorOf(wrongType);
  EXPECT_NE(err.find("processors[0].threads: expected an integer"),
            std::string::npos)
      << err;
  std::string unknown = kTwoProcessors;
  unknown.replace(unknown.find("\"threads\""), 9, "\"cores\"");
  err = errorOf(unknown);
  EXPECT_NE(err.find("processors[0].cores: unknown field"), std::string::npos)
      << err;
  std::string badLink = kTwoProcessors;
  badLink.replace(badLink.find("\"to\": \"npu\""), 11, "\"to\": \"gpu\"");
  err = errorOf(badLink);
  EXPECT_NE(err.find("links[0].to: no processor has id \"gpu\""),
            std::string::npos)
      << err;
  err = errorOf("{\"name\": \"x\",\n \"processors\": [}");
  EXPECT_NE(err.find("p.json:2:"), std::string::npos) << err;
  EXPECT_NE(err.find("invalid JSON"), std::string::npos) << err;
}

// The model must reward sparsity on the CPU (it has a sparse kernel) and
// not on the NPU, and refuse ops a processor lacks.
TEST(LatencyModel, SparsityHelpsOnlyWhereKernelsExist) {
  auto platform = parsePlatformJson(kTwoProcessors, "p.json");
  ASSERT_TRUE(bool(platform));
  ModeledLatency model(*platform);
  NodeWork dense;
  dense.opType = "Conv";
  dense.flops = 2e9;
  dense.linearWithWeight = true;
  dense.weightParameters = 1000000;
  dense.weightNonzeros = 1000000;
  NodeWork sparse = dense;
  sparse.weightNonzeros = 100000; // 90 % sparse
  sparse.pattern = "unstructured";
  EXPECT_NEAR(model.nodeLatencyMs(dense, 0), 20.0, 1e-9); // 2e9 / 100 GF
  // density 0.1 / efficiency 0.5 = 0.2 of dense time.
  EXPECT_NEAR(model.nodeLatencyMs(sparse, 0), 4.0, 1e-9);
  EXPECT_NEAR(model.nodeLatencyMs(sparse, 1), model.nodeLatencyMs(dense, 1),
              1e-12);
  SegmentWork segment;
  segment.nodes = {sparse};
  segment.opTypes = {"Conv", "Erf"};
  EXPECT_TRUE(std::isinf(model.segmentLatencyMs(segment, 1)));
  EXPECT_NE(model.infeasibleReason(segment, 1).find("cannot run Erf"),
            std::string::npos);
  EXPECT_NEAR(model.segmentLatencyMs(segment, 0), 4.0 + 0.01, 1e-9);
}

// Real models: a sparser zoo variant must be modeled faster on a CPU with
// sparse kernels, and the shipped platform files must parse.
TEST(LatencyModel, ZooVariantsAndShippedPlatforms) {
  for (const char *file : {"host.json", "soc-modeled.json"}) {
    auto platform = loadPlatformFile(std::string(SPARSELOOM_SOURCE_DIR) +
                                     "/platforms/" + file);
    ASSERT_TRUE(bool(platform)) << llvm::toString(platform.takeError());
  }
  // A fast memory makes the tiny model compute-bound, so the comparison
  // is about the sparse kernels, not about bandwidth.
  std::string json = kTwoProcessors;
  const std::string slow = "\"memory_bandwidth_gbs\": 10,";
  json.replace(json.find(slow), slow.size(),
               "\"memory_bandwidth_gbs\": 10000,");
  auto platform = parsePlatformJson(json, "p.json");
  ASSERT_TRUE(bool(platform)) << llvm::toString(platform.takeError());
  ModeledLatency model(*platform);
  std::string zoo = std::string(SPARSELOOM_SOURCE_DIR) + "/examples/zoo/";
  auto dense = loadModel(zoo + "kws/kws.dense.onnx", {});
  auto s90 = loadModel(zoo + "kws/kws.s90.onnx", {});
  ASSERT_TRUE(bool(dense)) << llvm::toString(dense.takeError());
  ASSERT_TRUE(bool(s90)) << llvm::toString(s90.takeError());
  // Without sparsity annotations the pattern is unknown: no speed-up.
  EXPECT_DOUBLE_EQ(model.segmentLatencyMs(describeSegment(**dense), 0),
                   model.segmentLatencyMs(describeSegment(**s90), 0));
  for (Module *module : {dense->get(), s90->get()}) {
    auto passes = createPassPipeline("sparsity-analysis");
    ASSERT_TRUE(bool(passes));
    PassManager pm;
    for (auto &pass : *passes)
      pm.addPass(std::move(pass));
    ASSERT_FALSE(bool(pm.run(*module)));
  }
  SegmentWork denseWork = describeSegment(**dense);
  SegmentWork s90Work = describeSegment(**s90);
  EXPECT_GT(denseWork.nodes.size(), 5u);
  EXPECT_DOUBLE_EQ(denseWork.weightBytes, s90Work.weightBytes);
  double denseMs = model.segmentLatencyMs(denseWork, 0);
  double s90Ms = model.segmentLatencyMs(s90Work, 0);
  EXPECT_LT(s90Ms, 0.6 * denseMs) << denseMs << " vs " << s90Ms;
  // The NPU has no sparse kernels: both variants cost the same there.
  EXPECT_DOUBLE_EQ(model.segmentLatencyMs(denseWork, 1),
                   model.segmentLatencyMs(s90Work, 1));
}
