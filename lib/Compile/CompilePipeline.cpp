//===- CompilePipeline.cpp - Manifest to bundle, stage by stage -----------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Per task, the family passes run through the pass manager exactly as
// sparseloom-opt runs them (so --print-ir-after-all and pass statistics
// work the same); selection then sees all tasks at once, and the bundle
// writer deduplicates across them. enumerate-stitches records each
// subgraph's program hash, the content identity that lets selection count a
// subgraph shared by two variants or tasks once; only the subgraphs the
// selection uses are lowered again for the bundle.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/Compile/CompilePipeline.h"

#include "sparseloom/Bundle/BundleAssembly.h"
#include "sparseloom/Pass/PassRegistry.h"
#include "sparseloom/Space/FamilySelection.h"
#include "sparseloom/Support/Diagnostics.h"
#include "sparseloom/Tool/FamilyLoader.h"

#include "llvm/Support/raw_ostream.h"

#include <chrono>

namespace sparseloom {

namespace {

constexpr CompileStage kStages[] = {
    CompileStage::Import, CompileStage::Align,  CompileStage::Boundaries,
    CompileStage::Compat, CompileStage::Stitch, CompileStage::Select,
    CompileStage::Dedup,  CompileStage::Emit};

/// Pass options are `key=value` lists inside parentheses: a path holding
/// one of these characters would be cut in the wrong place.
llvm::Error checkPassArgument(llvm::StringRef what, llvm::StringRef value) {
  if (value.find_first_of(",()=") != llvm::StringRef::npos)
    return makeError(what + " '" + value +
                     "' contains one of , ( ) = which pass options cannot "
                     "carry; rename or move the file");
  return llvm::Error::success();
}

llvm::Error runPasses(Family &family, const std::string &pipeline,
                      const CompilePipelineOptions &options,
                      std::string &statistics) {
  auto passes = createPassPipeline(pipeline);
  if (!passes)
    return passes.takeError();
  PassManager pm(options.passManager);
  for (auto &pass : *passes)
    pm.addPass(std::move(pass));
  if (llvm::Error err = pm.run(family))
    return err;
  llvm::raw_string_ostream os(statistics);
  pm.printStatistics(os);
  return llvm::Error::success();
}

/// The pass pipeline of one per-task stage.
llvm::Expected<std::string> stagePipeline(CompileStage stage,
                                          const Manifest &manifest,
                                          const ManifestTask &task,
                                          unsigned threads) {
  const ManifestOptions &o = manifest.options;
  switch (stage) {
  case CompileStage::Align:
    return std::string("align-family");
  case CompileStage::Boundaries:
    return "detect-boundaries(segments=" +
           std::to_string(task.segments.value_or(o.segments)) +
           ",max-live-tensors=" + std::to_string(o.maxLiveTensors) + ")";
  case CompileStage::Compat:
    return std::string("check-compat");
  case CompileStage::Stitch: {
    std::vector<std::pair<std::string, std::string>> files = {
        {"calib-inputs", task.calibration.inputs},
        {"calib-labels", task.calibration.labels}};
    if (task.test)
      files.insert(files.end(), {{"test-inputs", task.test->inputs},
                                 {"test-labels", task.test->labels}});
    std::string profile = "profile-accuracy(";
    for (const auto &[key, path] : files) {
      if (path.empty())
        continue;
      if (llvm::Error err = checkPassArgument("data file", path))
        return llvm::Expected<std::string>(std::move(err));
      profile += key + "=" + path + ",";
    }
    // Exhaustive only where the space is small enough; larger tasks are
    // estimated rather than refused.
    uint64_t total = 1;
    unsigned n = task.segments.value_or(o.segments);
    for (unsigned s = 0; s < n && total <= o.exhaustiveLimit; ++s)
      total *= task.variants.size();
    bool exhaustive = o.exhaustive && total <= o.exhaustiveLimit;
    profile += std::string("exhaustive=") + (exhaustive ? "true" : "false") +
               ",exhaustive-limit=" + std::to_string(o.exhaustiveLimit) +
               ",validation-sample=" + std::to_string(o.validationSample) +
               ",threads=" + std::to_string(threads) + ")";
    if (llvm::Error err = checkPassArgument("platform file", manifest.platform))
      return llvm::Expected<std::string>(std::move(err));
    char resolution[32];
    std::snprintf(resolution, sizeof(resolution), "%.6g", o.frontResolution);
    return "split," + profile +
           ",enumerate-stitches(platform=" + manifest.platform +
           ",resolution=" + resolution + ")";
  }
  default:
    return makeError("stage is not a per-task stage");
  }
}

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

} // namespace

const char *compileStageName(CompileStage stage) {
  switch (stage) {
  case CompileStage::Import:
    return "import";
  case CompileStage::Align:
    return "align";
  case CompileStage::Boundaries:
    return "boundaries";
  case CompileStage::Compat:
    return "compat";
  case CompileStage::Stitch:
    return "stitch";
  case CompileStage::Select:
    return "select";
  case CompileStage::Dedup:
    return "dedup";
  case CompileStage::Emit:
    return "emit";
  }
  return "?";
}

std::optional<CompileStage> parseCompileStage(llvm::StringRef name) {
  for (CompileStage stage : kStages)
    if (name == compileStageName(stage))
      return stage;
  return std::nullopt;
}

std::string compileStageList() {
  std::string list;
  for (CompileStage stage : kStages)
    list += std::string(list.empty() ? "" : "|") + compileStageName(stage);
  return list;
}

llvm::Expected<CompileResult>
runCompilePipeline(const Manifest &manifest,
                   const CompilePipelineOptions &options) {
  CompileResult result;
  const unsigned threads =
      options.threads ? options.threads : manifest.options.threads;
  auto reach = [&](CompileStage stage) { return stage <= options.stopAfter; };
  auto timed = [&](CompileStage stage, const std::string &task,
                   auto &&body) -> llvm::Error {
    if (options.progress)
      options.progress(stage, task, false, 0);
    auto start = std::chrono::steady_clock::now();
    llvm::Error err = body();
    double seconds = secondsSince(start);
    bool found = false;
    for (StageTime &t : result.times)
      if (t.stage == stage) {
        t.seconds += seconds;
        found = true;
      }
    if (!found)
      result.times.push_back({stage, seconds});
    if (!err && options.progress)
      options.progress(stage, task, true, seconds);
    return err;
  };
  auto inTask = [&](const ManifestTask &task, llvm::Error err) {
    return makeError(manifest.file + ": task '" + task.name +
                     "': " + llvm::toString(std::move(err)));
  };

  // Per task: import .. stitch.
  for (const ManifestTask &task : manifest.tasks) {
    llvm::Error err =
        timed(CompileStage::Import, task.name, [&]() -> llvm::Error {
          auto family = loadFamily(task.variants, task.name);
          if (!family)
            return family.takeError();
          result.families.push_back(std::move(*family));
          return llvm::Error::success();
        });
    if (err)
      return inTask(task, std::move(err));
    Family &family = result.families.back();
    for (CompileStage stage : {CompileStage::Align, CompileStage::Boundaries,
                               CompileStage::Compat, CompileStage::Stitch}) {
      if (!reach(stage))
        break;
      if (llvm::Error err = timed(stage, task.name, [&]() -> llvm::Error {
            auto pipeline = stagePipeline(stage, manifest, task, threads);
            if (!pipeline)
              return pipeline.takeError();
            return runPasses(family, *pipeline, options, result.passStatistics);
          }))
        return inTask(task, std::move(err));
    }
  }
  if (!reach(CompileStage::Select))
    return result;

  // All tasks together: select under one budget, then lower the subgraphs
  // the selected variants use into the bundle's contents.
  if (llvm::Error err = timed(CompileStage::Select, "", [&]() -> llvm::Error {
        std::vector<Family *> families;
        for (Family &f : result.families)
          families.push_back(&f);
        FamilySelectionOptions selection;
        selection.budgetBytes = double(manifest.memoryBudgetBytes);
        selection.gridSize = manifest.options.sloGrid;
        selection.maxPerTask = manifest.options.maxVariantsPerTask;
        if (llvm::Error err = selectFamilyVariants(families, selection))
          return err;
        auto platform = loadPlatformFile(manifest.platform);
        if (!platform)
          return platform.takeError();
        std::vector<BundleTaskSpec> tasks;
        for (size_t t = 0; t < manifest.tasks.size(); ++t) {
          const ManifestTask &spec = manifest.tasks[t];
          tasks.push_back({&result.families[t], spec.slo.latencyMs,
                           spec.slo.accuracy, spec.requestRateHz});
        }
        auto contents = assembleBundleContents(*platform, tasks);
        if (!contents)
          return contents.takeError();
        result.contents = std::move(*contents);
        return llvm::Error::success();
      }))
    return makeError(manifest.file + ": " + llvm::toString(std::move(err)));
  if (!reach(CompileStage::Dedup))
    return result;

  if (llvm::Error err = timed(CompileStage::Dedup, "", [&]() -> llvm::Error {
        // Within each task, the dedup pass marks the copies in the IR (for
        // --print-ir-after-all and --stats); the bundle writer then stores
        // each distinct tensor and program once across all tasks.
        for (Family &family : result.families)
          if (llvm::Error err =
                  runPasses(family, "dedup", options, result.passStatistics))
            return err;
        auto bytes = buildBundle(*result.contents, {}, &result.stats);
        if (!bytes)
          return bytes.takeError();
        result.bundle = std::move(*bytes);
        return llvm::Error::success();
      }))
    return makeError(manifest.file + ": " + llvm::toString(std::move(err)));
  return result;
}

} // namespace sparseloom
