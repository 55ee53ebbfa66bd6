//===- ContentsCheck.cpp - Is a BundleContents writable? ------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The writer refuses what the runtime's verifier would refuse, and says so
// in the compiler's terms (task, variant and program names instead of table
// indices): every index in range, every count non-zero where the format
// needs one, every figure finite where it must be, ids and names unique,
// every program used by some variant (a stored program nobody runs is
// dead weight the runtime would still verify and keep resident). Whether a
// variant's programs chain is checked when the runtime opens the result
// (BundleWriteOptions::verifyWithRuntime), since that needs the programs
// loaded.
//
//===----------------------------------------------------------------------===//

#include "BundleInternal.h"

#include "sparseloom/Support/Diagnostics.h"

#include "llvm/ADT/Twine.h"

#include <cmath>
#include <cstdio>
#include <set>

using namespace sparseloom;
using namespace sparseloom::bundle;

namespace {

/// "1.5", "nan": for messages (Twine has no double).
std::string number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%g", value);
  return buffer;
}

bool finiteAtLeast(double value, double low) {
  return std::isfinite(value) && value >= low;
}

llvm::Error checkTensor(const BundleContents::Tensor &t,
                        const llvm::Twine &where) {
  if (t.dims.size() > format::kMaxRank)
    return makeError(where + ": rank " + llvm::Twine(t.dims.size()) +
                     " exceeds " + llvm::Twine(format::kMaxRank));
  for (int64_t d : t.dims)
    if (d < 0)
      return makeError(where + ": shapes must be static (a dimension is " +
                       llvm::Twine(d) + ")");
  return llvm::Error::success();
}

llvm::Error checkVariant(const BundleContents &contents,
                         const BundleContents::Task &task,
                         const BundleContents::Variant &v,
                         const llvm::Twine &where,
                         std::vector<bool> &programUsed) {
  if (v.programs.empty())
    return makeError(where + ": has no segments");
  if (v.sourceVariants.size() != v.programs.size())
    return makeError(where + ": " + llvm::Twine(v.programs.size()) +
                     " segments but " + llvm::Twine(v.sourceVariants.size()) +
                     " source variant indices");
  for (size_t s = 0; s < v.programs.size(); ++s) {
    if (v.programs[s] >= contents.programs.size())
      return makeError(where + ": segment " + llvm::Twine(s) +
                       " names program " + llvm::Twine(v.programs[s]) +
                       ", but there are " +
                       llvm::Twine(contents.programs.size()));
    if (v.sourceVariants[s] >= task.sourceVariants.size())
      return makeError(
          where + ": segment " + llvm::Twine(s) + " names source variant " +
          llvm::Twine(v.sourceVariants[s]) + ", but the task has " +
          llvm::Twine(task.sourceVariants.size()));
    programUsed[v.programs[s]] = true;
  }
  if (!(v.estimatedAccuracy >= 0 && v.estimatedAccuracy <= 1))
    return makeError(where + ": estimated accuracy " +
                     number(v.estimatedAccuracy) + " is not in [0, 1]");
  if (!std::isnan(v.measuredAccuracy) &&
      !(v.measuredAccuracy >= 0 && v.measuredAccuracy <= 1))
    return makeError(where + ": measured accuracy " +
                     number(v.measuredAccuracy) +
                     " is neither NaN (not measured) nor in [0, 1]");
  if (v.latencyMs.size() != contents.processors.size())
    return makeError(where + ": " + llvm::Twine(v.latencyMs.size()) +
                     " latencies for " +
                     llvm::Twine(contents.processors.size()) + " processors");
  for (size_t p = 0; p < v.latencyMs.size(); ++p)
    if (std::isnan(v.latencyMs[p]) || v.latencyMs[p] < 0)
      return makeError(where + ": latency on processor '" +
                       contents.processors[p].id +
                       "' must be >= 0 ms (+inf where it cannot run)");
  return llvm::Error::success();
}

llvm::Error checkTask(const BundleContents &contents,
                      const BundleContents::Task &task,
                      std::vector<bool> &programUsed) {
  std::string where = "task '" + task.name + "'";
  if (task.inputs.empty() || task.outputs.empty())
    return makeError(where + ": needs at least one input and one output");
  for (const BundleContents::Tensor &t : task.inputs)
    if (llvm::Error err = checkTensor(t, where + ": input '" + t.name + "'"))
      return err;
  for (const BundleContents::Tensor &t : task.outputs)
    if (llvm::Error err = checkTensor(t, where + ": output '" + t.name + "'"))
      return err;
  if (task.sourceVariants.empty())
    return makeError(where + ": names no source variants");
  if (task.variants.empty())
    return makeError(where + ": has no variants");
  if (!(task.latencyDeadlineMs > 0))
    return makeError(where + ": latency deadline must be > 0 ms (+inf for "
                             "none)");
  if (!(task.accuracyFloor >= 0 && task.accuracyFloor <= 1))
    return makeError(where + ": accuracy floor must be in [0, 1]");
  if (!finiteAtLeast(task.requestRateHz, 0))
    return makeError(where + ": request rate must be finite and >= 0");
  std::set<uint32_t> ids;
  for (size_t v = 0; v < task.variants.size(); ++v) {
    const BundleContents::Variant &variant = task.variants[v];
    std::string variantWhere =
        where + ": variant " + std::to_string(v) + " '" + variant.name + "'";
    if (!ids.insert(variant.id).second)
      return makeError(variantWhere + ": id " + llvm::Twine(variant.id) +
                       " is not unique within the task");
    if (llvm::Error err =
            checkVariant(contents, task, variant, variantWhere, programUsed))
      return err;
  }
  return llvm::Error::success();
}

} // namespace

llvm::Error sparseloom::bundle::checkContents(const BundleContents &contents) {
  if (contents.tasks.empty())
    return makeError("a bundle needs at least one task");
  if (contents.processors.empty())
    return makeError("a bundle needs at least one processor");
  std::set<std::string> ids;
  for (const BundleContents::Processor &p : contents.processors) {
    std::string where = "processor '" + p.id + "'";
    if (p.id.empty())
      return makeError("a processor has an empty id");
    if (!ids.insert(p.id).second)
      return makeError(where + ": id is not unique");
    if (p.threads == 0)
      return makeError(where + ": needs at least one thread");
    if (!(finiteAtLeast(p.denseGflops, 0) && p.denseGflops > 0 &&
          finiteAtLeast(p.memoryGBps, 0) && p.memoryGBps > 0 &&
          finiteAtLeast(p.invocationOverheadMs, 0)))
      return makeError(where + ": throughput and bandwidth must be finite and "
                               "> 0, the overhead finite and >= 0");
  }
  std::set<std::string> names;
  std::vector<bool> programUsed(contents.programs.size(), false);
  for (const BundleContents::Task &task : contents.tasks) {
    if (task.name.empty())
      return makeError("a task has an empty name");
    if (!names.insert(task.name).second)
      return makeError("task '" + task.name + "': name is not unique");
    if (llvm::Error err = checkTask(contents, task, programUsed))
      return err;
  }
  for (size_t i = 0; i < programUsed.size(); ++i)
    if (!programUsed[i])
      return makeError("program " + llvm::Twine(i) + " '" +
                       contents.programs[i].name +
                       "' is used by no variant (remove it)");
  return llvm::Error::success();
}
