//===- RunTool.cpp - What sparseloom-run does -----------------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// sparseloom-run's behaviour behind its thin main: read the .npy inputs,
// bind them to the first model's inputs (by name or position) and compile
// every model with its input shapes bound (a later model's from the previous
// one's outputs: subgraphs are chained by position), load them as one
// sequence, run (or benchmark), and print or write the outputs.
//
// Every check that can fail happens before anything is written: outputs are
// written only after the last run succeeded, each atomically.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/RunDriver/RunDriver.h"
#include "sparseloom/Support/Diagnostics.h"
#include "sparseloom/Tool/ModelLoader.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>

using namespace sparseloom;
using namespace sparseloom::run;

namespace {

/// "NAME=PATH" or "PATH". A spec is named when it has a '=' whose left side
/// looks like a tensor name (no path separator) and the whole spec is not an
/// existing file.
struct FileSpec {
  std::string name; // empty: by position
  std::string path;
};

FileSpec parseFileSpec(llvm::StringRef spec) {
  size_t eq = spec.find('=');
  if (eq == llvm::StringRef::npos || eq == 0 ||
      spec.take_front(eq).contains('/') || llvm::sys::fs::exists(spec))
    return {"", spec.str()};
  return {spec.take_front(eq).str(), spec.drop_front(eq + 1).str()};
}

/// The runtime's npy errors start with "PATH: "; a DiagnosticError carries
/// the file separately.
/// CPU time of the process so far, all threads, in ms.
double processCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) * 1e-6;
}

/// Adds the last run's per-op times (SPARSELOOM_PROFILE_OPS) to `opNs`.
void accumulateOpTimes(ProgramSequence &sequence,
                       std::vector<std::vector<uint64_t>> &opNs) {
  opNs.resize(sequence.numPrograms());
  for (size_t p = 0; p < sequence.numPrograms(); ++p) {
    size_t ops = sequence.program(p).opCount();
    opNs[p].resize(ops, 0);
    for (size_t i = 0; i < ops; ++i)
      opNs[p][i] += sequence.session().opTimeNs(p, i);
  }
}

/// Per (opcode, kernel): total ms per run, share, op count; then the ten
/// slowest ops. Means over the timed runs.
void printOpProfile(llvm::raw_ostream &os, ProgramSequence &sequence,
                    const std::vector<std::vector<uint64_t>> &opNs,
                    unsigned runs) {
  struct Row {
    std::string key;
    double ms = 0;
    unsigned count = 0;
  };
  std::vector<Row> byType;
  std::vector<std::pair<double, std::string>> byOp;
  double total = 0;
  for (size_t p = 0; p < opNs.size(); ++p)
    for (size_t i = 0; i < opNs[p].size(); ++i) {
      sl_op_info info = sequence.program(p).opInfo(i);
      std::string key = std::string(info.opcode) + " " + info.kernel;
      double ms = double(opNs[p][i]) * 1e-6 / runs;
      total += ms;
      auto it =
          llvm::find_if(byType, [&](const Row &r) { return r.key == key; });
      if (it == byType.end()) {
        byType.push_back({key});
        it = byType.end() - 1;
      }
      it->ms += ms;
      ++it->count;
      byOp.push_back({ms, key + " " + info.name});
    }
  llvm::sort(byType, [](const Row &a, const Row &b) { return a.ms > b.ms; });
  os << "op profile (mean of " << runs << " runs, ms):\n";
  for (const Row &r : byType)
    os << llvm::format("  %-36s %9.3f %5.1f%% %4u ops\n", r.key.c_str(), r.ms,
                       total > 0 ? 100 * r.ms / total : 0.0, r.count);
  os << llvm::format("  %-36s %9.3f\n", static_cast<const char *>("sum of ops"),
                     total);
  // SPARSELOOM_PROFILE_OPS=all lists every op, in program order.
  const char *env = std::getenv("SPARSELOOM_PROFILE_OPS");
  const bool all = env && std::strcmp(env, "all") == 0;
  if (!all)
    llvm::sort(byOp,
               [](const auto &a, const auto &b) { return a.first > b.first; });
  os << (all ? "every op:\n" : "slowest ops:\n");
  for (size_t i = 0; i < byOp.size() && (all || i < 10); ++i)
    os << llvm::format("  %10.4f  %s\n", byOp[i].first, byOp[i].second.c_str());
}

llvm::Error npyError(const std::string &path, const std::string &error) {
  llvm::StringRef message(error);
  message.consume_front(path + ": ");
  return llvm::make_error<DiagnosticError>(path, "", message.str());
}

std::string joinNames(const std::vector<std::string> &names) {
  return llvm::join(names, ", ");
}

/// Assigns each spec to a tensor of `names` (named specs by name, the others
/// in order to the names left). `what` is "--input" or "--output".
llvm::Expected<std::vector<int>>
assignSpecs(const std::vector<FileSpec> &specs,
            const std::vector<std::string> &names, llvm::StringRef what,
            llvm::StringRef file) {
  std::vector<int> owner(names.size(), -1); // tensor -> spec index
  for (size_t s = 0; s < specs.size(); ++s) {
    if (specs[s].name.empty())
      continue;
    auto it = llvm::find(names, specs[s].name);
    if (it == names.end())
      return llvm::make_error<DiagnosticError>(
          file.str(), "",
          (what + ": the model has no " +
           (what == "--input" ? "input" : "output") + " named '" +
           specs[s].name + "' (" + (what == "--input" ? "inputs" : "outputs") +
           ": " + joinNames(names) + ")")
              .str());
    size_t index = it - names.begin();
    if (owner[index] >= 0)
      return llvm::make_error<DiagnosticError>(
          file.str(), "",
          (what + ": '" + specs[s].name + "' is given twice").str());
    owner[index] = int(s);
  }
  size_t next = 0;
  for (size_t s = 0; s < specs.size(); ++s) {
    if (!specs[s].name.empty())
      continue;
    while (next < names.size() && owner[next] >= 0)
      ++next;
    if (next == names.size())
      return llvm::make_error<DiagnosticError>(
          file.str(), "",
          (what + ": " + llvm::Twine(specs.size()) +
           " files given but the model has " + llvm::Twine(names.size()) +
           (what == "--input" ? " input(s): " : " output(s): ") +
           joinNames(names))
              .str());
    owner[next] = int(s);
  }
  return owner;
}

/// True when `shape` may be bound to a value of type `declared`: same rank
/// and equal sizes where the model knows them.
bool fits(const TensorType &declared, const std::vector<int64_t> &shape) {
  if (!declared.hasRank())
    return true;
  if (declared.rank() != shape.size())
    return false;
  for (size_t d = 0; d < shape.size(); ++d)
    if ((*declared.dims)[d].isKnown() && (*declared.dims)[d].size() != shape[d])
      return false;
  return true;
}

double percentile(std::vector<double> sorted, double p) {
  assert(!sorted.empty());
  double pos = p * double(sorted.size() - 1);
  size_t lo = size_t(std::floor(pos));
  size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - double(lo)) * (sorted[hi] - sorted[lo]);
}

void printTimingRow(llvm::raw_ostream &out, llvm::StringRef label,
                    std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  out << "  " << llvm::left_justify(label, 28)
      << llvm::format("%10.3f %10.3f %10.3f %10.3f %10.3f\n",
                      percentile(ms, 0.5), ms.front(), ms.back(),
                      percentile(ms, 0.1), percentile(ms, 0.9));
}

constexpr size_t kSummaryValues = 8;

/// Shape, the first values and, for float outputs, the argmax over the last
/// axis of the first rows (the predicted class of a classifier).
void printSummary(llvm::raw_ostream &out, llvm::StringRef name,
                  const NpyArray &array) {
  out << "output '" << name << "': " << describeArray(array) << "\n";
  size_t count = array.numElements();
  out << "  values:";
  for (size_t i = 0; i < std::min(count, kSummaryValues); ++i)
    out << " " << elementToString(array, i);
  if (count > kSummaryValues)
    out << " ... (" << count << " in all)";
  out << "\n";
  if (array.dtype != SL_DTYPE_FLOAT32 || count == 0)
    return;
  size_t cols = array.shape.empty() ? 1 : size_t(array.shape.back());
  if (cols == 0)
    return;
  size_t rows = count / cols;
  const float *v = array.floats();
  out << "  argmax" << (array.shape.size() > 1 ? " (last axis)" : "") << ":";
  for (size_t r = 0; r < std::min(rows, kSummaryValues); ++r) {
    size_t best = 0;
    for (size_t c = 1; c < cols; ++c)
      if (v[r * cols + c] > v[r * cols + best])
        best = c;
    out << " " << best;
  }
  if (rows > kSummaryValues)
    out << " ... (" << rows << " rows)";
  out << "\n";
}

} // namespace

llvm::Error sparseloom::run::runModels(const RunRequest &request,
                                       llvm::raw_ostream &out) {
  assert(!request.models.empty() && "the command line requires a model");
  CompileSettings settings;
  auto policy = parseKernelPolicy(request.kernels);
  if (!policy)
    return makeError("--kernels: unknown kernel choice '" + request.kernels +
                     "'; expected auto, reference, dense, sparse, csr or "
                     "block4x1");
  settings.kernels = *policy;
  settings.fuseDepthwise = request.fuseDepthwise;
  settings.padPlanes = request.padPlanes;
  settings.threads = std::max(1u, request.threads);
  const std::string &firstModel = request.models.front();
  const std::string &lastModel = request.models.back();

  // Inputs: read every file, then bind them to the first model's inputs.
  std::vector<FileSpec> inputSpecs;
  std::vector<NpyArray> inputArrays;
  for (const std::string &spec : request.inputs) {
    inputSpecs.push_back(parseFileSpec(spec));
    NpyArray array;
    std::string error;
    if (!runtime::readNpy(inputSpecs.back().path, array, error))
      return npyError(inputSpecs.back().path, error);
    inputArrays.push_back(std::move(array));
  }
  // Import every model first: a wrong file fails before any compile work.
  std::vector<std::unique_ptr<Module>> modules;
  for (const std::string &model : request.models) {
    auto module = loadModel(model);
    if (!module)
      return module.takeError();
    modules.push_back(std::move(*module));
  }
  std::vector<std::string> inputNames = modules.front()->graph.inputs;
  auto inputOwner = assignSpecs(inputSpecs, inputNames, "--input", firstModel);
  if (!inputOwner)
    return inputOwner.takeError();
  for (size_t i = 0; i < inputNames.size(); ++i) {
    int spec = (*inputOwner)[i];
    if (spec < 0)
      return llvm::make_error<DiagnosticError>(
          firstModel, "",
          "input '" + inputNames[i] + "' has no value: pass --input " +
              inputNames[i] + "=FILE.npy (inputs: " + joinNames(inputNames) +
              ")");
    TensorType declared = modules.front()->graph.getType(inputNames[i]);
    if (!fits(declared, inputArrays[spec].shape))
      return llvm::make_error<DiagnosticError>(
          inputSpecs[spec].path, "",
          "holds " +
              formatType(TensorType::get(DType(inputArrays[spec].dtype),
                                         inputArrays[spec].shape)) +
              " but input '" + inputNames[i] + "' of " + firstModel + " is " +
              formatType(declared));
    settings.inputShapes[inputNames[i]] = inputArrays[spec].shape;
  }

  // Outputs are the last model's graph outputs; check the names now, before
  // any work.
  std::vector<FileSpec> outputSpecs;
  for (const std::string &spec : request.outputs)
    outputSpecs.push_back(parseFileSpec(spec));
  std::vector<std::string> outputNames = modules.back()->graph.outputs;
  auto outputOwner =
      assignSpecs(outputSpecs, outputNames, "--output", lastModel);
  if (!outputOwner)
    return outputOwner.takeError();

  // Compile every model; a later one's inputs take the previous outputs'
  // shapes by position.
  std::vector<const Module *> pointers;
  for (const auto &module : modules)
    pointers.push_back(module.get());
  auto compiled = compileSequence(pointers, request.models, settings);
  if (!compiled)
    return compiled.takeError();
  std::vector<CompiledModel> programs = std::move(*compiled);
  modules.clear(); // the programs hold what is needed now

  if (request.printPlan)
    for (const CompiledModel &program : programs) {
      out << "plan of " << program.source << ":\n";
      program.report.print(out, /*perOp=*/true);
    }

  SequenceOptions options;
  options.threads = settings.threads;
  options.checkFinite = request.checkFinite;
  options.prefetchOps = request.prefetchOps;
  // SPARSELOOM_PROFILE_OPS=1 times every op and prints per-op-type totals
  // on stderr after the runs (stdout stays what scripts parse). Off, the
  // session does not read the clock per op.
  const char *profileEnv = std::getenv("SPARSELOOM_PROFILE_OPS");
  options.profileOps = profileEnv && *profileEnv && *profileEnv != '0';
  std::vector<const CompiledModel *> programPointers;
  for (const CompiledModel &program : programs)
    programPointers.push_back(&program);
  auto sequence = ProgramSequence::load(programPointers, options);
  if (!sequence)
    return sequence.takeError();
  if (request.printPlan)
    for (size_t p = 0; p < (*sequence)->numPrograms(); ++p) {
      // The runtime may run another kernel than the compiler chose (the
      // reference one on a CPU without AVX2+FMA).
      const runtime::Program &program = (*sequence)->program(p);
      for (size_t i = 0; i < program.opCount(); ++i) {
        sl_op_info info = program.opInfo(i);
        if (std::strcmp(info.kernel, info.requested_kernel) != 0)
          out << "note: " << programs[p].source << ": op " << info.name
              << " runs " << info.kernel << " instead of "
              << info.requested_kernel << "\n";
      }
    }

  std::vector<const NpyArray *> runInputs;
  std::vector<std::string> runSources;
  for (size_t i = 0; i < inputNames.size(); ++i) {
    int spec = (*inputOwner)[i];
    runInputs.push_back(&inputArrays[spec]);
    runSources.push_back(inputSpecs[spec].path);
  }

  // Warm-up runs are not timed; with --bench each timed run records the
  // wall time and every program's own time.
  unsigned timedRuns = std::max(1u, request.benchRuns);
  unsigned warmups = request.benchRuns ? request.warmupRuns : 0;
  size_t numPrograms = programs.size();
  std::vector<double> totalMs;
  std::vector<std::vector<double>> programMs(numPrograms);
  std::vector<std::vector<uint64_t>> opNs; // [program][op], summed over runs
  std::vector<double> cpuMs;               // process CPU time per timed run
  for (unsigned r = 0; r < warmups + timedRuns; ++r) {
    const double cpuStart = options.profileOps ? processCpuMs() : 0;
    auto start = std::chrono::steady_clock::now();
    if (llvm::Error err = (*sequence)->run(runInputs, runSources))
      return err;
    auto end = std::chrono::steady_clock::now();
    if (r < warmups)
      continue;
    if (options.profileOps)
      cpuMs.push_back(processCpuMs() - cpuStart);
    totalMs.push_back(
        std::chrono::duration<double, std::milli>(end - start).count());
    for (size_t p = 0; p < numPrograms; ++p)
      programMs[p].push_back(double((*sequence)->programTimeNs(p)) * 1e-6);
    if (options.profileOps)
      accumulateOpTimes(**sequence, opNs);
  }
  if (options.profileOps) {
    printOpProfile(llvm::errs(), **sequence, opNs, timedRuns);
    // CPU time of the whole process per run (all threads): on a loaded
    // machine it moves much less than wall time.
    printTimingRow(llvm::errs(), "process CPU time", cpuMs);
  }

  // Outputs: write the requested files, or summarise every output.
  assert(outputNames == programs.back().outputNames &&
         "compiling keeps the graph's output names");
  for (size_t i = 0; i < outputNames.size(); ++i) {
    NpyArray array = (*sequence)->output(i);
    int spec = (*outputOwner)[i];
    if (spec >= 0) {
      std::string error;
      if (!runtime::writeNpy(outputSpecs[spec].path, array, error))
        return npyError(outputSpecs[spec].path, error);
    } else if (request.outputs.empty()) {
      printSummary(out, outputNames[i], array);
    }
  }

  if (request.benchRuns) {
    out << "bench: " << timedRuns << " runs after " << warmups
        << " warm-up, threads " << settings.threads << " (ms)\n";
    out << "  " << llvm::left_justify("", 28)
        << "    median        min        max        p10        p90\n";
    printTimingRow(out, "total", totalMs);
    for (size_t p = 0; p < numPrograms; ++p)
      printTimingRow(out, llvm::sys::path::filename(programs[p].source),
                     programMs[p]);
  }
  return llvm::Error::success();
}
