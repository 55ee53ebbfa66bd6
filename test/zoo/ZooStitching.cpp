//===- ZooStitching.cpp - Segments in sequence equal the whole model ------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// sparseloom-zoo-stitching ZOO_DIR [--segments S] [--batch B] [--threads T]
//
// For every zoo family (examples/zoo/<task>, the variants its card lists):
// aligns the variants, chooses S segments and splits every variant with
// issue 4's family passes (align-family, detect-boundaries, check-compat,
// split), then checks on the first B test samples that
//  1. for every variant, running its segments in sequence on the runtime
//     (one session, boundary tensors passed by position) gives outputs
//     bit-identical to running the whole variant;
//  2. for stitched variants mixing members (segment s from member
//     (r + s) mod k, for every rotation r that check-compat allows), the
//     segments in sequence are bit-identical to the stitched model composed
//     as one graph (composeStitched) and run whole.
// Both sides are compiled with the same kernel rule; a difference means the
// executor's hand-over of boundary tensors, or the lowering of a segment,
// changed a result. A control (the first variant whole against the last
// one's segments) must differ, so the comparison is known to be able to fail.
// Prints one row per check; exit status 1 on any difference or error.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/IR/Family.h"
#include "sparseloom/Pass/PassManager.h"
#include "sparseloom/Pass/PassRegistry.h"
#include "sparseloom/RunDriver/RunDriver.h"
#include "sparseloom/Stitch/Splitting.h"
#include "sparseloom/Support/Diagnostics.h"
#include "sparseloom/Support/FileIO.h"
#include "sparseloom/Tool/ModelLoader.h"

#include "ZooTestUtils.h"

#include "nlohmann/json.hpp"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

using namespace sparseloom;
using namespace sparseloom::run;

using zootest::join;

namespace {

constexpr const char *kTool = "sparseloom-zoo-stitching";

struct Settings {
  std::string zooDir;
  unsigned segments = 3;
  int64_t batch = 16;
  unsigned threads = 2;
};

/// Runs `modules` in sequence on `input`; returns the last one's outputs.
llvm::Expected<std::vector<NpyArray>>
runSequence(const std::vector<const Module *> &modules,
            const std::vector<std::string> &names, const NpyArray &input,
            const Settings &settings) {
  CompileSettings compile;
  compile.inputShapes[modules.front()->graph.inputs.front()] = input.shape;
  compile.threads = settings.threads;
  auto programs = compileSequence(modules, names, compile);
  if (!programs)
    return programs.takeError();
  std::vector<const CompiledModel *> pointers;
  for (const CompiledModel &p : *programs)
    pointers.push_back(&p);
  SequenceOptions options;
  options.threads = settings.threads;
  auto sequence = ProgramSequence::load(pointers, options);
  if (!sequence)
    return sequence.takeError();
  if (llvm::Error err = (*sequence)->run({&input}))
    return err;
  std::vector<NpyArray> outputs;
  for (size_t i = 0; i < (*sequence)->numOutputs(); ++i)
    outputs.push_back((*sequence)->output(i));
  return outputs;
}

/// "" when bit-identical, else what differs.
std::string difference(const std::vector<NpyArray> &whole,
                       const std::vector<NpyArray> &pieces) {
  if (whole.size() != pieces.size())
    return std::to_string(pieces.size()) + " outputs instead of " +
           std::to_string(whole.size());
  for (size_t i = 0; i < whole.size(); ++i) {
    const NpyArray &a = whole[i], &b = pieces[i];
    if (a.dtype != b.dtype || a.shape != b.shape)
      return "output " + std::to_string(i) + " is " + describeArray(b) +
             " instead of " + describeArray(a);
    if (a.data == b.data)
      continue;
    size_t differing = 0;
    double maxDiff = 0;
    if (a.dtype == SL_DTYPE_FLOAT32)
      for (size_t e = 0; e < a.numElements(); ++e) {
        float x = a.floats()[e], y = b.floats()[e];
        if (std::memcmp(&x, &y, sizeof x)) {
          ++differing;
          maxDiff = std::max(maxDiff, double(std::fabs(x - y)));
        }
      }
    std::string text;
    llvm::raw_string_ostream os(text);
    os << "output " << i << ": " << differing << " of " << a.numElements()
       << " elements differ, max abs diff " << llvm::format("%.3g", maxDiff);
    return os.str();
  }
  return "";
}

llvm::Error runFamilyPasses(Family &family, unsigned segments) {
  std::string pipeline =
      "align-family,detect-boundaries(segments=" + std::to_string(segments) +
      "),check-compat,split";
  auto passes = createPassPipeline(pipeline);
  if (!passes)
    return passes.takeError();
  PassManager pm;
  for (auto &pass : *passes)
    pm.addPass(std::move(pass));
  return pm.run(family);
}

struct Row {
  std::string what;
  std::string result; // "" = bit-identical
};

/// Checks one family; returns the number of problems.
int checkTask(const std::string &taskDir, const Settings &settings) {
  std::string task = llvm::sys::path::filename(taskDir).str();
  auto fail = [&](llvm::Error err) {
    reportError(kTool, std::move(err));
    return 1;
  };
  auto card = readFile(join(taskDir, "card.json"));
  if (!card)
    return fail(card.takeError());
  nlohmann::json json = nlohmann::json::parse(*card, nullptr, false);
  if (json.is_discarded() || !json.contains("variants"))
    return fail(llvm::make_error<DiagnosticError>(join(taskDir, "card.json"),
                                                  "", "not a model card"));

  NpyArray samples, input;
  std::string error;
  if (!runtime::readNpy(join(taskDir, "test.inputs.npy"), samples, error))
    return fail(makeError(error));
  input.dtype = samples.dtype;
  input.shape = samples.shape;
  input.shape[0] = std::min(settings.batch, samples.shape[0]);
  input.data.assign(samples.data.begin(),
                    samples.data.begin() + samples.data.size() /
                                               size_t(samples.shape[0]) *
                                               size_t(input.shape[0]));

  Family family;
  family.task = task;
  for (const nlohmann::json &variant : json["variants"]) {
    std::string file = variant.at("file").get<std::string>();
    std::string path = join(taskDir, file);
    auto module = loadModel(path);
    if (!module)
      return fail(module.takeError());
    llvm::StringRef name(file);
    name.consume_front(task + ".");
    name.consume_back(".onnx");
    family.members.push_back({name.str(), path, std::move(*module)});
  }
  // Fewer cut points than asked for: take as many segments as there are.
  unsigned segments = settings.segments;
  llvm::Error err = runFamilyPasses(family, segments);
  while (err && segments > 2) {
    llvm::consumeError(std::move(err));
    family.state = FamilyState();
    err = runFamilyPasses(family, --segments);
  }
  if (err)
    return fail(withFile(std::move(err), taskDir));
  const FamilySegments &split = *family.state.segments;
  size_t k = family.size();

  std::vector<Row> rows;
  auto segmentsOf = [&](const std::vector<unsigned> &memberPerSegment,
                        std::vector<const Module *> &modules,
                        std::vector<std::string> &names) {
    for (unsigned s = 0; s < segments; ++s) {
      modules.push_back(split.perMember[memberPerSegment[s]][s].get());
      names.push_back(segmentName(family, memberPerSegment[s], s));
    }
  };
  auto check = [&](const std::string &what, const Module &whole,
                   const std::vector<unsigned> &memberPerSegment) {
    std::vector<const Module *> modules;
    std::vector<std::string> names;
    segmentsOf(memberPerSegment, modules, names);
    auto expected = runSequence({&whole}, {what}, input, settings);
    if (!expected) {
      rows.push_back({what, "whole model: " + toString(expected.takeError())});
      return;
    }
    auto got = runSequence(modules, names, input, settings);
    if (!got) {
      rows.push_back({what, "segments: " + toString(got.takeError())});
      return;
    }
    rows.push_back({what, difference(*expected, *got)});
  };

  // 1. Each variant, split, against itself whole.
  for (unsigned m = 0; m < k; ++m)
    check(family.members[m].variant, *family.members[m].module,
          std::vector<unsigned>(segments, m));
  // 2. Stitched variants against their composition.
  unsigned skipped = 0;
  for (unsigned r = 0; r < k; ++r) {
    std::vector<unsigned> members;
    std::vector<std::string> variants;
    for (unsigned s = 0; s < segments; ++s) {
      members.push_back((r + s) % k);
      variants.push_back(family.members[members.back()].variant);
    }
    auto stitched = composeStitched(family, members);
    if (!stitched) {
      // check-compat forbids it (e.g. a channel-pruned member's shapes).
      llvm::consumeError(stitched.takeError());
      ++skipped;
      continue;
    }
    check("stitched " + llvm::join(variants, "+"), **stitched, members);
  }

  // Control: the comparison must be able to fail. The first variant whole
  // against the last one's segments (other weights) has to differ.
  int problems = 0;
  if (k > 1) {
    std::vector<const Module *> modules;
    std::vector<std::string> names;
    segmentsOf(std::vector<unsigned>(segments, unsigned(k - 1)), modules,
               names);
    auto whole = runSequence({family.members[0].module.get()},
                             {family.members[0].variant}, input, settings);
    auto other = runSequence(modules, names, input, settings);
    if (!whole || !other) {
      reportError(
          kTool,
          llvm::joinErrors(whole ? llvm::Error::success() : whole.takeError(),
                           other ? llvm::Error::success() : other.takeError()));
      ++problems;
    } else if (difference(*whole, *other).empty()) {
      llvm::outs() << "  " << task
                   << ": CONTROL FAILED: " << family.members[0].variant
                   << " and the segments of " << family.members[k - 1].variant
                   << " give identical outputs; the check cannot tell "
                      "variants apart\n";
      ++problems;
    }
  }
  for (const Row &row : rows) {
    problems += !row.result.empty();
    llvm::outs() << llvm::format("  %-7s %-30s %u segments  ", task.c_str(),
                                 row.what.c_str(), segments)
                 << (row.result.empty() ? "bit-identical"
                                        : "DIFFERENT: " + row.result)
                 << "\n";
  }
  if (skipped)
    llvm::outs() << "  " << task << ": " << skipped
                 << " rotation(s) not stitchable (check-compat)\n";
  return problems;
}

} // namespace

int main(int argc, char **argv) {
  Settings settings;
  for (int i = 1; i < argc; ++i) {
    llvm::StringRef arg(argv[i]);
    bool hasValue = i + 1 < argc;
    if (arg == "--segments" && hasValue)
      settings.segments = unsigned(std::max(2, std::atoi(argv[++i])));
    else if (arg == "--batch" && hasValue)
      settings.batch = std::max(1, std::atoi(argv[++i]));
    else if (arg == "--threads" && hasValue)
      settings.threads = unsigned(std::max(1, std::atoi(argv[++i])));
    else if (!arg.startswith("-") && settings.zooDir.empty())
      settings.zooDir = arg.str();
    else {
      llvm::errs() << "usage: " << kTool
                   << " ZOO_DIR [--segments S] [--batch B] [--threads T]\n";
      return 2;
    }
  }
  if (settings.zooDir.empty()) {
    llvm::errs() << "usage: " << kTool << " ZOO_DIR ...\n";
    return 2;
  }
  std::vector<std::string> tasks = zootest::listZooTasks(settings.zooDir);
  if (tasks.empty()) {
    llvm::errs() << kTool << ": error: " << settings.zooDir
                 << ": no <task>/card.json found\n";
    return 2;
  }
  llvm::outs() << "Segments run in sequence vs the whole model (first "
               << settings.batch << " test samples, threads "
               << settings.threads << ")\n";
  int problems = 0;
  for (const std::string &task : tasks)
    problems += checkTask(task, settings);
  llvm::outs() << (problems ? "FAIL" : "PASS") << ": " << problems
               << " difference(s) or error(s)\n";
  return problems ? 1 : 0;
}
