//===- StitchBench.cpp - Cost of the family pipeline ----------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Times what `sparseloom-opt --family ... --pass-pipeline=align-family,
// detect-boundaries,check-compat,split` does on the performance families
// (4 variants each: dense, s50, s70, s90), split into its two parts so the
// figures say where the time goes:
//   Import/<model>   loading the 4 ONNX files (parse, checker, shape
//                    inference, conversion to the IR);
//   Passes/<model>   the four family passes on the loaded family (each
//                    iteration on fresh copies of the members);
//   Pipeline/<model> both, as the tool runs them.
// Models grow from ResNet-18 over ResNet-50 to BERT-base, which shows how the
// cost scales with model size; the `nodes` and `MB` counters give the size.
// The families are made by scripts/zoo/perf_families.py into /tmp/perf (or
// $SPARSELOOM_PERF_DIR); a missing family is skipped. Run:
//   build/benchmarks/bench-stitch --benchmark_repetitions=3
//       --benchmark_report_aggregates_only=true
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Pass/PassManager.h"
#include "sparseloom/Pass/PassRegistry.h"
#include "sparseloom/Tool/FamilyLoader.h"

#include "benchmark/benchmark.h"
#include "llvm/Support/FileSystem.h"

#include <cstdlib>
#include <string>
#include <vector>

using namespace sparseloom;

namespace {

constexpr const char *kPipeline =
    "align-family,detect-boundaries(segments=4),check-compat,split";

std::string perfDir() {
  const char *dir = std::getenv("SPARSELOOM_PERF_DIR");
  return dir ? dir : "/tmp/perf";
}

/// The 4 files of a performance family, or empty when one is missing.
std::vector<std::string> familyFiles(const std::string &model) {
  std::vector<std::string> files;
  for (const char *suffix : {"", ".s50", ".s70", ".s90"}) {
    std::string path = perfDir() + "/" + model + ".dense" + suffix + ".onnx";
    if (!llvm::sys::fs::exists(path))
      return {};
    files.push_back(path);
  }
  return files;
}

double megabytes(const std::vector<std::string> &files) {
  uint64_t total = 0;
  for (const std::string &file : files) {
    uint64_t size = 0;
    if (!llvm::sys::fs::file_size(file, size))
      total += size;
  }
  return double(total) / (1024.0 * 1024.0);
}

bool loadOrSkip(benchmark::State &state, const std::vector<std::string> &files,
                Family &family) {
  auto loaded = loadFamily(files, "");
  if (!loaded) {
    state.SkipWithError(llvm::toString(loaded.takeError()).c_str());
    return false;
  }
  family = std::move(*loaded);
  return true;
}

bool runPasses(benchmark::State &state, Family &family) {
  auto passes = createPassPipeline(kPipeline);
  if (!passes) {
    state.SkipWithError(llvm::toString(passes.takeError()).c_str());
    return false;
  }
  PassManager pm;
  for (auto &pass : *passes)
    pm.addPass(std::move(pass));
  if (llvm::Error err = pm.run(family)) {
    state.SkipWithError(llvm::toString(std::move(err)).c_str());
    return false;
  }
  return true;
}

void setCounters(benchmark::State &state, const Family &family,
                 const std::vector<std::string> &files) {
  state.counters["nodes"] = double(family.reference().graph.numNodes());
  state.counters["MB"] = megabytes(files);
  state.counters["segments"] =
      family.state.segments
          ? double(family.state.segments->perMember.front().size())
          : 0.0;
}

void BM_Import(benchmark::State &state, const std::string &model) {
  std::vector<std::string> files = familyFiles(model);
  if (files.empty()) {
    state.SkipWithError(("family not generated in " + perfDir()).c_str());
    return;
  }
  Family family;
  for (auto _ : state) {
    if (!loadOrSkip(state, files, family))
      return;
    benchmark::DoNotOptimize(family.members.data());
  }
  setCounters(state, family, files);
}

void BM_Passes(benchmark::State &state, const std::string &model) {
  std::vector<std::string> files = familyFiles(model);
  if (files.empty()) {
    state.SkipWithError(("family not generated in " + perfDir()).c_str());
    return;
  }
  Family loaded;
  if (!loadOrSkip(state, files, loaded))
    return;
  Family family;
  for (auto _ : state) {
    // Fresh members each time (clones share the immutable weight storage,
    // so this copies the graphs, not the tensors).
    state.PauseTiming();
    family = Family();
    family.task = loaded.task;
    for (const FamilyMember &member : loaded.members)
      family.members.push_back(
          FamilyMember{member.variant, member.file, member.module->clone()});
    state.ResumeTiming();
    if (!runPasses(state, family))
      return;
  }
  setCounters(state, family, files);
}

void BM_Pipeline(benchmark::State &state, const std::string &model) {
  std::vector<std::string> files = familyFiles(model);
  if (files.empty()) {
    state.SkipWithError(("family not generated in " + perfDir()).c_str());
    return;
  }
  Family family;
  for (auto _ : state) {
    if (!loadOrSkip(state, files, family) || !runPasses(state, family))
      return;
  }
  setCounters(state, family, files);
}

} // namespace

// Whole seconds per iteration: one iteration each, repetitions give the
// spread (--benchmark_repetitions).
#define STITCH_BENCH(fn, name, model)                                          \
  BENCHMARK_CAPTURE(fn, name, model)                                           \
      ->Unit(benchmark::kMillisecond)                                          \
      ->Iterations(1)                                                          \
      ->UseRealTime()

STITCH_BENCH(BM_Import, resnet18, "resnet18");
STITCH_BENCH(BM_Passes, resnet18, "resnet18");
STITCH_BENCH(BM_Pipeline, resnet18, "resnet18");
STITCH_BENCH(BM_Import, resnet50, "resnet50");
STITCH_BENCH(BM_Passes, resnet50, "resnet50");
STITCH_BENCH(BM_Pipeline, resnet50, "resnet50");
STITCH_BENCH(BM_Import, bert_base, "bert-base");
STITCH_BENCH(BM_Passes, bert_base, "bert-base");
STITCH_BENCH(BM_Pipeline, bert_base, "bert-base");

BENCHMARK_MAIN();
