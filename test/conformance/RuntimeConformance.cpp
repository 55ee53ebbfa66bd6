//===- RuntimeConformance.cpp - ONNX's node tests on the runtime ----------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// sparseloom-runtime-conformance [--verbose] [--filter TEXT] [DIR]
//
// Runs ONNX's operator conformance tests (DIR/node/<test>/model.onnx with
// test_data_set_*/input_*.pb and output_*.pb, by default from the
// libonnx-testdata package) on the runtime: import, lower, load, run every
// data set, and compare every output with the stored expected output.
//
// A test is applicable when the compiler can lower it: the lowering rejects
// ops, element types and attribute values the runtime does not support with
// a diagnostic, and those tests are skipped, counted by reason. Some
// operators take operands the runtime needs as constants (a Conv's weight,
// a Reshape's shape) while ONNX's node tests feed them as graph inputs; when
// the first lowering fails, the test is lowered again with every input but
// the first bound to its data-set value as a weight (reported as "inputs
// bound as constants"). Everything else is a failure: an import error on a
// model of known ops, a lowering error that is not about support, a
// verification, load or run error, a wrong output dtype or shape, or a
// value outside the tolerance.
//
// Tolerance: ONNX's backend test default, numpy.testing.assert_allclose
// with rtol = 1e-3 and atol = 1e-7: |got - expected| <= atol + rtol *
// |expected|, NaN matches NaN and infinities must match exactly. Integer
// and bool outputs must be equal.
//
// Every applicable test runs twice: with the automatic kernel choice (what
// ships) and with every op on its reference kernel.
//
// Output: per-op counts, skip reasons with counts, failures with the test,
// op, output, the first mismatching element and the largest difference, then
// "N passed, M skipped (unsupported)". Exit status 1 on any failure.
//
//===----------------------------------------------------------------------===//

#include "../../lib/Import/ImportInternal.h"

#include "sparseloom/IR/OpRegistry.h"
#include "sparseloom/Import/OnnxImporter.h"
#include "sparseloom/RunDriver/RunDriver.h"
#include "sparseloom/Support/Diagnostics.h"

#include "onnx/defs/schema.h"
#include "onnx/onnx_pb.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <unistd.h>
#include <vector>

using namespace sparseloom;
using namespace sparseloom::run;

namespace {

constexpr const char *kDefaultDir = "/usr/share/libonnx-testdata/data";
constexpr double kRtol = 1e-3;
constexpr double kAtol = 1e-7;

// --- Crash reporting ---------------------------------------------------------

/// The test being run, for the crash handler (a crash must say where).
char gCurrentTest[512];

void onCrash(int sig) {
  const char prefix[] = "\nsparseloom-runtime-conformance: crashed in test ";
  ssize_t ignored = write(2, prefix, sizeof(prefix) - 1);
  ignored = write(2, gCurrentTest, strnlen(gCurrentTest, sizeof gCurrentTest));
  ignored = write(2, "\n", 1);
  (void)ignored;
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

// --- Reading the test data ---------------------------------------------------

llvm::Expected<onnx::TensorProto> readTensorProto(const std::string &path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  onnx::TensorProto proto;
  if (!buffer || !proto.ParseFromArray((*buffer)->getBufferStart(),
                                       int((*buffer)->getBufferSize())))
    return makeError("cannot read the TensorProto " + path);
  return proto;
}

/// The runtime's element type for an IR one, or 0 when it has none.
sl_dtype runtimeDType(DType type) {
  switch (type) {
  case DType::F32:
    return SL_DTYPE_FLOAT32;
  case DType::U8:
    return SL_DTYPE_UINT8;
  case DType::I8:
    return SL_DTYPE_INT8;
  case DType::I32:
    return SL_DTYPE_INT32;
  case DType::I64:
    return SL_DTYPE_INT64;
  case DType::Bool:
    return SL_DTYPE_BOOL;
  default:
    return sl_dtype(0);
  }
}

struct DataSet {
  std::string dir;
  std::vector<TensorDataRef> inputs;
  std::vector<TensorDataRef> outputs;
};

llvm::Expected<std::vector<TensorDataRef>> readTensors(const std::string &dir,
                                                       llvm::StringRef prefix) {
  std::vector<TensorDataRef> tensors;
  for (unsigned i = 0;; ++i) {
    llvm::SmallString<256> path(dir);
    llvm::sys::path::append(path, prefix + llvm::Twine(i) + ".pb");
    if (!llvm::sys::fs::exists(path))
      return tensors;
    auto proto = readTensorProto(std::string(path));
    if (!proto)
      return proto.takeError();
    auto data = onnx_import::convertTensor(*proto, path.str());
    if (!data)
      return data.takeError();
    tensors.push_back(*data);
  }
}

llvm::Expected<std::vector<DataSet>> readDataSets(const std::string &testDir) {
  std::vector<DataSet> sets;
  for (unsigned i = 0;; ++i) {
    llvm::SmallString<256> dir(testDir);
    llvm::sys::path::append(dir, "test_data_set_" + llvm::Twine(i));
    if (!llvm::sys::fs::is_directory(dir))
      return sets;
    DataSet set;
    set.dir = std::string(dir);
    auto inputs = readTensors(set.dir, "input_");
    if (!inputs)
      return inputs.takeError();
    auto outputs = readTensors(set.dir, "output_");
    if (!outputs)
      return outputs.takeError();
    set.inputs = std::move(*inputs);
    set.outputs = std::move(*outputs);
    sets.push_back(std::move(set));
  }
}

NpyArray toArray(const TensorData &data) {
  NpyArray array;
  array.dtype = runtimeDType(data.dtype());
  array.shape = data.dims();
  std::vector<uint8_t> bytes = data.denseBytes();
  array.data = std::move(bytes);
  return array;
}

// --- Comparing ---------------------------------------------------------------

/// The largest fraction of the tolerance any float output element used
/// (|got - expected| / (atol + rtol |expected|)) over the whole run, and
/// where: how close the passing tests came to failing.
struct ToleranceUse {
  double fraction = 0;
  std::string where;
};
ToleranceUse gWorstUse;
std::string gCurrentWhere;

/// Empty when `got` matches `expected`, else what differs.
std::string compareOutput(const TensorData &expected, const NpyArray &got) {
  std::string text;
  llvm::raw_string_ostream os(text);
  sl_dtype wantType = runtimeDType(expected.dtype());
  if (got.dtype != wantType) {
    os << "dtype " << sl_dtype_name(got.dtype) << ", expected "
       << dtypeName(expected.dtype());
    return os.str();
  }
  if (got.shape != expected.dims()) {
    os << "shape ["
       << llvm::join(
              llvm::map_range(got.shape,
                              [](int64_t d) { return std::to_string(d); }),
              ",")
       << "], expected ["
       << llvm::join(
              llvm::map_range(expected.dims(),
                              [](int64_t d) { return std::to_string(d); }),
              ",")
       << "]";
    return os.str();
  }
  NpyArray want = toArray(expected);
  if (wantType != SL_DTYPE_FLOAT32) {
    size_t width = sl_dtype_size(wantType);
    for (size_t i = 0; i * width < want.data.size(); ++i)
      if (std::memcmp(&want.data[i * width], &got.data[i * width], width)) {
        os << "element " << i << ": got " << elementToString(got, i)
           << ", expected " << elementToString(want, i)
           << " (integer and bool outputs must be equal)";
        return os.str();
      }
    return "";
  }
  const float *w = want.floats();
  const float *g = got.floats();
  size_t count = got.numElements();
  int64_t firstBad = -1;
  size_t bad = 0;
  double maxDiff = 0;
  for (size_t i = 0; i < count; ++i) {
    bool ok;
    if (std::isnan(w[i]))
      ok = std::isnan(g[i]);
    else if (std::isinf(w[i]))
      ok = g[i] == w[i];
    else {
      double diff = std::fabs(double(g[i]) - double(w[i]));
      double allowed = kAtol + kRtol * std::fabs(double(w[i]));
      ok = diff <= allowed;
      if (!std::isnan(diff)) {
        maxDiff = std::max(maxDiff, diff);
        if (ok && diff / allowed > gWorstUse.fraction)
          gWorstUse = {diff / allowed, gCurrentWhere};
      } else {
        ok = false;
      }
    }
    if (!ok) {
      ++bad;
      if (firstBad < 0)
        firstBad = int64_t(i);
    }
  }
  if (!bad)
    return "";
  os << bad << " of " << count << " elements outside rtol " << kRtol << " atol "
     << kAtol << "; first at " << firstBad << ": got "
     << llvm::format("%.9g", double(g[firstBad])) << ", expected "
     << llvm::format("%.9g", double(w[firstBad])) << "; max abs diff "
     << llvm::format("%.3g", maxDiff);
  return os.str();
}

// --- Classifying errors ------------------------------------------------------

/// Import errors that reflect a documented limit of the importer (the same
/// list as the conformance smoke test).
bool isExplainedImportError(llvm::StringRef message) {
  static const char *const explained[] = {
      "unsupported opset",
      "the ONNX checker rejected",
      "cannot convert the model from opset",
      "which SparseLoom does not support",
      "supports tensor values only",
      "is not supported",
  };
  return llvm::any_of(explained,
                      [&](const char *s) { return message.contains(s); });
}

/// True when a lowering error says the runtime lacks support (an op, an
/// element type, an attribute value, a non-constant operand) rather than
/// that the lowering failed.
bool isUnsupportedError(llvm::StringRef message) {
  static const char *const markers[] = {
      "not supported",        "unsupported",
      "does not support",     "must be an integer constant",
      "must be a constant",   "has no kernel",
      "computed at run time", "could not be evaluated at compile time",
  };
  return llvm::any_of(markers,
                      [&](const char *s) { return message.contains(s); });
}

/// The reason of `err` (its DiagnosticError messages without file and
/// node), for grouping skips.
std::string reasonOf(llvm::Error err) {
  std::string reason;
  llvm::handleAllErrors(
      std::move(err),
      [&](const DiagnosticError &diag) {
        if (reason.empty())
          reason = diag.reason();
      },
      [&](const llvm::ErrorInfoBase &other) {
        if (reason.empty())
          reason = other.message();
      });
  return reason;
}

/// A key for grouping skip reasons: the reason with every quoted name
/// ('Foo', not the apostrophe of "Foo's") replaced by 'X', and the first
/// quoted name (an op, a value) separately, so that a reason shared by many
/// ops is one line listing the ops.
std::pair<std::string, std::string> reasonKey(llvm::StringRef reason) {
  std::string key, first;
  size_t i = 0;
  while (i < reason.size()) {
    bool opens = reason[i] == '\'' && (i == 0 || !llvm::isAlnum(reason[i - 1]));
    size_t close = opens ? reason.find('\'', i + 1) : llvm::StringRef::npos;
    if (close == llvm::StringRef::npos) {
      key += reason[i++];
      continue;
    }
    if (first.empty())
      first = reason.slice(i + 1, close).str();
    key += "'X'";
    i = close + 1;
  }
  if (key.size() > 150)
    key = key.substr(0, 150) + "...";
  return {key, first};
}

// --- Running one test --------------------------------------------------------

struct TestResult {
  enum Kind { Passed, Skipped, Failed } kind = Passed;
  std::string reason;
  bool boundConstants = false;
  bool raisedOpset = false;
  /// The program has a product with a constant weight (which the dense and
  /// sparse kernel families can run).
  bool weightedProducts = false;
};

/// Turns graph inputs 1.. of `module` into weights holding `set`'s values.
std::unique_ptr<Module> bindInputsAsConstants(const Module &module,
                                              const DataSet &set) {
  std::unique_ptr<Module> copy = module.clone();
  Graph &graph = copy->graph;
  std::vector<std::string> inputs = graph.inputs;
  for (size_t i = 1; i < inputs.size() && i < set.inputs.size(); ++i) {
    graph.inputs.erase(llvm::find(graph.inputs, inputs[i]));
    graph.setWeight(Weight{inputs[i], set.inputs[i], {}});
  }
  return copy;
}

/// Compiles, loads, runs and compares one data set under `policy`.
TestResult runDataSet(const Module &module, const DataSet &set,
                      KernelPolicy policy, bool constantsBound,
                      const std::string &test) {
  CompileSettings settings;
  settings.kernels = policy;
  auto compiled = compileModule(module, test, settings);
  if (!compiled) {
    std::string reason = reasonOf(compiled.takeError());
    if (isUnsupportedError(reason))
      return {TestResult::Skipped, reason, false};
    // With its inputs bound, a graph may fold away entirely at compile time;
    // then there is nothing left for the runtime to run.
    if (constantsBound && llvm::StringRef(reason).contains("no ops to run"))
      return {TestResult::Skipped,
              "no op left to run once the inputs are bound as constants",
              false};
    return {TestResult::Failed, "lowering: " + reason, false};
  }
  bool weightedProducts =
      llvm::any_of(compiled->report.ops,
                   [](const LoweredOp &op) { return !op.encoding.empty(); });
  auto sequence = ProgramSequence::load({&*compiled}, SequenceOptions());
  if (!sequence)
    return {TestResult::Failed, "load: " + reasonOf(sequence.takeError()),
            false};
  size_t firstInput = constantsBound ? std::min<size_t>(1, set.inputs.size())
                                     : set.inputs.size();
  std::vector<NpyArray> arrays;
  for (size_t i = 0; i < set.inputs.size(); ++i) {
    if (constantsBound && i >= firstInput)
      break;
    if (!runtimeDType(set.inputs[i]->dtype()))
      return {TestResult::Skipped,
              "input element type " + dtypeName(set.inputs[i]->dtype()).str() +
                  " is not supported by the runtime",
              false};
    arrays.push_back(toArray(*set.inputs[i]));
  }
  std::vector<const NpyArray *> pointers;
  for (const NpyArray &a : arrays)
    pointers.push_back(&a);
  if (llvm::Error err = (*sequence)->run(pointers))
    return {TestResult::Failed, "run: " + reasonOf(std::move(err)), false};
  if ((*sequence)->numOutputs() != set.outputs.size())
    return {TestResult::Failed,
            "the program has " + std::to_string((*sequence)->numOutputs()) +
                " outputs, the test expects " +
                std::to_string(set.outputs.size()),
            false};
  for (size_t o = 0; o < set.outputs.size(); ++o) {
    gCurrentWhere = test + " (" + kernelPolicyName(policy).str() +
                    " kernels, output " + std::to_string(o) + ")";
    std::string diff = compareOutput(*set.outputs[o], (*sequence)->output(o));
    if (!diff.empty())
      return {TestResult::Failed,
              std::string(kernelPolicyName(policy)) + " kernels, " +
                  llvm::sys::path::filename(set.dir).str() + ", output " +
                  std::to_string(o) + " '" + compiled->outputNames[o] +
                  "': " + diff,
              false};
  }
  TestResult passed{TestResult::Passed, "", false};
  passed.weightedProducts = weightedProducts;
  return passed;
}

/// ONNX's node tests for ops unchanged since opset 1-6 are stored at those
/// opsets, below what the importer accepts (kMinImportOpset). When every
/// op's definition at kNormalizedOpset dates from the model's opset or
/// earlier, declaring kNormalizedOpset changes nothing about its meaning,
/// so the test can run. Returns false (and leaves `model` alone) otherwise.
bool raiseUnchangedOpset(onnx::ModelProto &model) {
  int64_t opset = onnx_import::defaultOpset(model);
  if (opset == 0 || opset >= kMinImportOpset)
    return false;
  for (const onnx::NodeProto &node : model.graph().node()) {
    const onnx::OpSchema *schema = onnx::OpSchemaRegistry::Schema(
        node.op_type(), int(kNormalizedOpset), node.domain());
    if (!schema || schema->since_version() > opset)
      return false;
  }
  for (onnx::OperatorSetIdProto &import : *model.mutable_opset_import())
    if (import.domain().empty() || import.domain() == "ai.onnx")
      import.set_version(kNormalizedOpset);
  return true;
}

TestResult runTest(const std::string &dir, const std::string &test,
                   onnx::ModelProto proto, std::string bytes) {
  bool knownOps = llvm::all_of(proto.graph().node(), [](const auto &node) {
    return lookupOp(node.domain(), node.op_type()) != nullptr;
  });
  bool raised = raiseUnchangedOpset(proto);
  if (raised)
    bytes = proto.SerializeAsString();
  auto module = importOnnxBytes(bytes, dir);
  if (!module) {
    std::string reason = reasonOf(module.takeError());
    if (isExplainedImportError(reason))
      return {TestResult::Skipped, "import: " + reason, false};
    if (!knownOps)
      return {TestResult::Skipped,
              "import of a model with ops unknown to SparseLoom failed", false};
    return {TestResult::Failed, "import: " + reason, false};
  }
  auto sets = readDataSets(dir);
  if (!sets)
    return {TestResult::Failed, "test data: " + reasonOf(sets.takeError()),
            false};
  if (sets->empty())
    return {TestResult::Skipped, "no test data set", false};
  for (const DataSet &set : *sets)
    for (const TensorDataRef &t : set.inputs)
      if (!runtimeDType(t->dtype()))
        return {TestResult::Skipped,
                "element type " + dtypeName(t->dtype()).str() +
                    " is not supported by the runtime",
                false};

  TestResult result;
  for (const DataSet &set : *sets) {
    // The shipping kernel choice first; it also decides whether the inputs
    // after the first must be bound as constants.
    const Module *subject = module->get();
    TestResult r = runDataSet(*subject, set, KernelPolicy::Auto, false, test);
    std::unique_ptr<Module> bound;
    if (r.kind == TestResult::Skipped && (*module)->graph.inputs.size() > 1) {
      // The runtime may need some operands constant (weights, shapes): bind
      // every input but the first to this data set's values.
      bound = bindInputsAsConstants(**module, set);
      TestResult retry =
          runDataSet(*bound, set, KernelPolicy::Auto, true, test);
      if (retry.kind != TestResult::Skipped) {
        retry.boundConstants = true;
        r = retry;
        subject = bound.get();
      }
    }
    if (r.kind != TestResult::Passed)
      return r;
    result.boundConstants |= r.boundConstants;
    // ONNX's tests feed a Conv's or Gemm's weight as an input, which the
    // runtime runs as a product of two activations. Bound as a constant it
    // becomes a weight the fast kernels pack or encode: run that form too.
    if (!r.boundConstants && (*module)->graph.inputs.size() > 1) {
      bound = bindInputsAsConstants(**module, set);
      TestResult weighted =
          runDataSet(*bound, set, KernelPolicy::Auto, true, test);
      if (weighted.kind == TestResult::Failed)
        return weighted;
      if (weighted.kind == TestResult::Passed && weighted.weightedProducts) {
        subject = bound.get();
        r.boundConstants = true;
        r.weightedProducts = true;
      }
    }
    // Then every op on its reference kernel, and products with a weight on
    // the dense and on the sparse kernels whatever their density.
    std::vector<KernelPolicy> others = {KernelPolicy::Reference};
    if (r.weightedProducts)
      others.insert(others.end(), {KernelPolicy::Dense, KernelPolicy::Sparse});
    for (KernelPolicy policy : others) {
      TestResult o = runDataSet(*subject, set, policy, r.boundConstants, test);
      if (o.kind != TestResult::Passed) {
        if (o.kind == TestResult::Skipped)
          o = {TestResult::Failed,
               std::string(kernelPolicyName(policy)) +
                   " kernels: lowering refused what auto accepted: " + o.reason,
               false};
        return o;
      }
    }
    result.weightedProducts |= r.weightedProducts;
  }
  result.raisedOpset = raised;
  return result;
}

std::vector<std::string> listTestDirs(llvm::StringRef nodeDir) {
  std::vector<std::string> dirs;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(nodeDir, ec), end; it != end && !ec;
       it.increment(ec)) {
    llvm::SmallString<256> model(it->path());
    llvm::sys::path::append(model, "model.onnx");
    if (llvm::sys::fs::exists(model))
      dirs.push_back(it->path());
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

struct OpCounts {
  unsigned passed = 0, failed = 0, skipped = 0;
};

} // namespace

int main(int argc, char **argv) {
  std::string root = kDefaultDir;
  std::string filter;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    llvm::StringRef arg(argv[i]);
    if (arg == "--verbose" || arg == "-v")
      verbose = true;
    else if (arg == "--filter" && i + 1 < argc)
      filter = argv[++i];
    else if (!arg.startswith("-"))
      root = arg.str();
    else {
      llvm::errs() << "usage: sparseloom-runtime-conformance [--verbose] "
                      "[--filter TEXT] [DIR]\n"
                   << "  DIR holds node/<test>/model.onnx (default "
                   << kDefaultDir << ")\n";
      return 2;
    }
  }
  llvm::SmallString<256> nodeDir(root);
  llvm::sys::path::append(nodeDir, "node");
  std::vector<std::string> dirs = listTestDirs(nodeDir);
  if (dirs.empty()) {
    llvm::errs() << "sparseloom-runtime-conformance: error: no models under "
                 << nodeDir << "/*/model.onnx\n";
    return 2;
  }
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT})
    std::signal(sig, onCrash);

  std::map<std::string, OpCounts> perOp;
  struct SkipGroup {
    std::vector<std::string> tests;
    std::set<std::string> names; // the first quoted name of each reason
  };
  std::map<std::string, SkipGroup> skipReasons;
  std::vector<std::pair<std::string, std::string>> failures;
  std::vector<std::string> passedTests, boundTests, raisedTests, productTests;
  unsigned passed = 0, skipped = 0;
  for (const std::string &dir : dirs) {
    std::string test = llvm::sys::path::filename(dir).str();
    if (!filter.empty() && !llvm::StringRef(test).contains(filter))
      continue;
    std::snprintf(gCurrentTest, sizeof gCurrentTest, "%s", test.c_str());
    llvm::SmallString<256> path(dir);
    llvm::sys::path::append(path, "model.onnx");
    auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                              /*RequiresNullTerminator=*/false);
    onnx::ModelProto proto;
    if (!buffer || !proto.ParseFromArray((*buffer)->getBufferStart(),
                                         int((*buffer)->getBufferSize()))) {
      failures.push_back({test, "cannot read the model with protobuf"});
      continue;
    }
    std::set<std::string> ops;
    for (const auto &node : proto.graph().node())
      ops.insert(node.op_type());
    if (verbose) {
      llvm::outs() << test << " ... ";
      llvm::outs().flush();
    }
    TestResult result = runTest(dir, test, proto, (*buffer)->getBuffer().str());
    for (const std::string &op : ops) {
      OpCounts &c = perOp[op];
      (result.kind == TestResult::Passed   ? c.passed
       : result.kind == TestResult::Failed ? c.failed
                                           : c.skipped)++;
    }
    switch (result.kind) {
    case TestResult::Passed:
      ++passed;
      passedTests.push_back(test);
      if (result.boundConstants)
        boundTests.push_back(test);
      if (result.raisedOpset)
        raisedTests.push_back(test);
      if (result.weightedProducts)
        productTests.push_back(test);
      break;
    case TestResult::Skipped:
      ++skipped;
      {
        auto [key, name] = reasonKey(result.reason);
        SkipGroup &group = skipReasons[key];
        group.tests.push_back(test);
        if (!name.empty())
          group.names.insert(name);
      }
      break;
    case TestResult::Failed:
      failures.push_back(
          {test + " [" + llvm::join(ops, ",") + "]", result.reason});
      break;
    }
    if (verbose)
      llvm::outs() << (result.kind == TestResult::Passed    ? "ok"
                       : result.kind == TestResult::Skipped ? "skipped: "
                                                            : "FAILED: ")
                   << result.reason << "\n";
  }

  llvm::outs() << "Per op (a test counts for every op its model uses):\n";
  llvm::outs() << "  op                            passed  failed skipped\n";
  for (const auto &entry : perOp)
    if (entry.second.passed || entry.second.failed)
      llvm::outs() << llvm::format("  %-28s %7u %7u %7u\n", entry.first.c_str(),
                                   entry.second.passed, entry.second.failed,
                                   entry.second.skipped);
  std::vector<std::string> neverRun;
  for (const auto &entry : perOp)
    if (!entry.second.passed && !entry.second.failed)
      neverRun.push_back(entry.first);
  llvm::outs() << "Ops only in skipped tests (" << neverRun.size()
               << "): " << llvm::join(neverRun, " ") << "\n";

  std::vector<std::pair<std::string, SkipGroup>> reasons(skipReasons.begin(),
                                                         skipReasons.end());
  llvm::sort(reasons, [](const auto &a, const auto &b) {
    return a.second.tests.size() > b.second.tests.size();
  });
  llvm::outs() << "Skip reasons (count, reason with names as 'X', the "
                  "names):\n";
  for (const auto &entry : reasons) {
    llvm::outs() << llvm::format("  %4zu  ", entry.second.tests.size())
                 << entry.first << "\n";
    if (!entry.second.names.empty())
      llvm::outs() << "        'X': " << llvm::join(entry.second.names, " ")
                   << "\n";
    if (verbose)
      llvm::outs() << "        tests: " << llvm::join(entry.second.tests, " ")
                   << "\n";
  }
  llvm::outs() << "Inputs bound as constants (" << boundTests.size()
               << " passed tests)"
               << (verbose ? ": " + llvm::join(boundTests, " ") : "") << "\n";
  llvm::outs() << "Products with a weight, also run on the dense and sparse "
                  "kernels ("
               << productTests.size() << " passed tests)"
               << (verbose ? ": " + llvm::join(productTests, " ") : "") << "\n";
  llvm::outs() << "Opset raised to " << kNormalizedOpset
               << " (every op unchanged since the model's opset; "
               << raisedTests.size() << " passed tests)"
               << (verbose ? ": " + llvm::join(raisedTests, " ") : "") << "\n";
  if (verbose)
    llvm::outs() << "Passed: " << llvm::join(passedTests, " ") << "\n";
  llvm::outs() << "Closest pass: " << llvm::format("%.3f", gWorstUse.fraction)
               << " of the tolerance used, in " << gWorstUse.where << "\n";
  if (!failures.empty()) {
    llvm::outs() << "FAILURES (" << failures.size() << "):\n";
    for (const auto &f : failures)
      llvm::outs() << "  " << f.first << ": " << f.second << "\n";
  }
  llvm::outs() << passed << " passed, " << skipped << " skipped (unsupported), "
               << failures.size() << " failed\n";
  return failures.empty() ? 0 : 1;
}
