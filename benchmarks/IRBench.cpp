//===- IRBench.cpp - Throughput of the IR foundation ----------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Measures the stages every compile goes through, on a synthetic deep CNN
// whose size is a parameter (so the cost per node is visible), against a
// reference, ONNX's own parse + checker + shape inference on the same
// bytes: ONNX import, export, textual print and parse, structural hashing,
// liveness, and the first passes. Run (one line):
//   build/benchmarks/bench-ir --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Export/OnnxExporter.h"
#include "sparseloom/IR/Analysis.h"
#include "sparseloom/IR/Parser.h"
#include "sparseloom/IR/Printer.h"
#include "sparseloom/Import/OnnxImporter.h"
#include "sparseloom/Pass/PassManager.h"
#include "sparseloom/Pass/PassRegistry.h"

#include "benchmark/benchmark.h"
#include "onnx/checker.h"
#include "onnx/onnx_pb.h"
#include "onnx/shape_inference/implementation.h"

#include <cstdlib>

using namespace sparseloom;

namespace {

/// A chain of `layers` 3x3 convolutions (16 channels, half the weights zero)
/// with ReLUs, on a 1x16x32x32 input.
std::unique_ptr<Module> makeConvChain(int layers) {
  auto m = std::make_unique<Module>();
  m->opsetImports[""] = 13;
  m->producerName = "bench";
  Graph &g = m->graph;
  g.name = "chain";
  g.inputs = {"x"};
  TensorType act = TensorType::get(DType::F32, {1, 16, 32, 32});
  g.setType("x", act);
  std::string prev = "x";
  unsigned seed = 1;
  for (int i = 0; i < layers; ++i) {
    std::vector<float> w(16 * 16 * 9);
    for (size_t k = 0; k < w.size(); ++k) {
      seed = seed * 1103515245u + 12345u;
      w[k] = (k % 2) ? 0.f : float(int(seed >> 16) % 200 - 100) / 100.f;
    }
    std::string wName = "w" + std::to_string(i);
    g.setWeight({wName, TensorData::fromFloats({16, 16, 3, 3}, w), {}});
    Node conv;
    conv.opType = "Conv";
    conv.name = "conv" + std::to_string(i);
    conv.inputs = {prev, wName};
    conv.outputs = {"c" + std::to_string(i)};
    conv.attributes["kernel_shape"] = std::vector<int64_t>{3, 3};
    conv.attributes["pads"] = std::vector<int64_t>{1, 1, 1, 1};
    g.addNode(conv);
    g.setType(conv.outputs[0], act);
    Node relu;
    relu.opType = "Relu";
    relu.name = "relu" + std::to_string(i);
    relu.inputs = {conv.outputs[0]};
    relu.outputs = {"r" + std::to_string(i)};
    g.addNode(relu);
    g.setType(relu.outputs[0], act);
    prev = relu.outputs[0];
  }
  g.outputs = {prev};
  return m;
}

void BM_ImportOnnx(benchmark::State &state) {
  auto bytes = exportOnnxBytes(*makeConvChain(int(state.range(0))));
  if (!bytes)
    std::abort();
  for (auto _ : state) {
    auto m = importOnnxBytes(*bytes, ".");
    if (!m)
      std::abort();
    benchmark::DoNotOptimize(m->get());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0) * 2);
}
BENCHMARK(BM_ImportOnnx)->Arg(16)->Arg(128)->Unit(benchmark::kMillisecond);

// The reference for BM_ImportOnnx: what ONNX's own work costs on the same
// bytes (protobuf parse, checker, strict shape inference), without building
// any IR. import / reference is the overhead of SparseLoom's import.
void BM_OnnxParseCheckInferReference(benchmark::State &state) {
  auto bytes = exportOnnxBytes(*makeConvChain(int(state.range(0))));
  if (!bytes)
    std::abort();
  for (auto _ : state) {
    onnx::ModelProto model;
    if (!model.ParseFromString(*bytes))
      std::abort();
    onnx::checker::check_model(model);
    onnx::ShapeInferenceOptions options{true, 1, false};
    onnx::shape_inference::InferShapes(
        model, onnx::OpSchemaRegistry::Instance(), options);
    benchmark::DoNotOptimize(model.graph().node_size());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0) * 2);
}
BENCHMARK(BM_OnnxParseCheckInferReference)
    ->Arg(16)
    ->Arg(128)
    ->Unit(benchmark::kMillisecond);

void BM_ExportOnnx(benchmark::State &state) {
  auto m = makeConvChain(int(state.range(0)));
  for (auto _ : state) {
    auto bytes = exportOnnxBytes(*m);
    if (!bytes)
      std::abort();
    benchmark::DoNotOptimize(bytes->data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0) * 2);
}
BENCHMARK(BM_ExportOnnx)->Arg(16)->Arg(128)->Unit(benchmark::kMillisecond);

void BM_PrintAndParseText(benchmark::State &state) {
  auto m = makeConvChain(int(state.range(0)));
  PrintOptions all;
  all.elideWeightsAbove = -1;
  for (auto _ : state) {
    std::string text = printModuleToString(*m, all);
    auto parsed = parseModule(text, "bench");
    if (!parsed)
      std::abort();
    benchmark::DoNotOptimize(parsed->get());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0) * 2);
}
BENCHMARK(BM_PrintAndParseText)
    ->Arg(16)
    ->Arg(128)
    ->Unit(benchmark::kMillisecond);

void BM_StructuralHashAndLiveness(benchmark::State &state) {
  auto m = makeConvChain(int(state.range(0)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(structuralHash(m->graph));
    Liveness live(m->graph);
    benchmark::DoNotOptimize(live.numGaps());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0) * 2);
}
BENCHMARK(BM_StructuralHashAndLiveness)
    ->Arg(128)
    ->Arg(1024)
    ->Unit(benchmark::kMicrosecond);

void BM_CanonicalizeAndSparsity(benchmark::State &state) {
  auto base = makeConvChain(int(state.range(0)));
  for (auto _ : state) {
    state.PauseTiming();
    auto m = base->clone();
    auto passes = createPassPipeline("canonicalize,sparsity-analysis");
    if (!passes)
      std::abort();
    PassManager pm;
    for (auto &p : *passes)
      pm.addPass(std::move(p));
    state.ResumeTiming();
    if (pm.run(*m))
      std::abort();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0) * 2);
}
BENCHMARK(BM_CanonicalizeAndSparsity)
    ->Arg(16)
    ->Arg(128)
    ->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
